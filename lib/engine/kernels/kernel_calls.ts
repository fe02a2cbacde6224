/**
 * Calling one backend's kernels directly from inside another kernel.
 *
 * A gradient kernel built from other kernels must not go through `tf.*` ops: those would be recorded on an
 * active gradient tape and counted twice. Calling the registered kernel functions directly (as the
 * TensorFlow.js backends do internally) keeps the composition invisible to the engine; every intermediate
 * result is released when the composed kernel returns.
 *
 * @module
 */
import {
  type backend_util,
  getKernel,
  type KernelBackend,
  type NamedAttrMap,
  type NamedTensorInfoMap,
  type TensorInfo,
} from "@tensorflow/tfjs-core";

/** Runs a named kernel of the current backend and returns its single output. */
export type KernelCall = (kernelName: string, inputs: NamedTensorInfoMap, attrs?: NamedAttrMap) => TensorInfo;

/** What a composed kernel sees: its backend name and a way to call sibling kernels. */
export interface KernelScope {
  /** Calls a sibling kernel; the result is released automatically unless it is the composed result. */
  call: KernelCall;
  /** Releases `info` (made directly on the backend) with the other intermediate results; returns it. */
  track(info: TensorInfo): TensorInfo;
}

/**
 * Runs `body` with a {@linkcode KernelCall} bound to `backend`, then releases every intermediate result
 * except the one `body` returns.
 *
 * @example Compose a reshape and a transpose on the cpu backend
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { composeKernels } from "./kernel_calls.ts";
 * await tf.setBackend("cpu");
 * const x = tf.tensor2d([[1, 2], [3, 4]]);
 * const info = composeKernels(tf.backend(), "cpu", ({ call }) => call("Transpose", { x }, { perm: [1, 0] }));
 * const y = tf.engine().makeTensorFromTensorInfo(info);
 * console.log(await y.data()); // 1, 3, 2, 4
 * ```
 */
export function composeKernels(
  backend: KernelBackend,
  backendName: string,
  body: (scope: KernelScope) => TensorInfo,
): TensorInfo {
  const made: TensorInfo[] = [];
  const call: KernelCall = (kernelName, inputs, attrs = {}) => {
    const config = getKernel(kernelName, backendName);
    if (config == null) throw new Error(`kernel ${kernelName} is not registered for backend ${backendName}`);
    const out = config.kernelFunc({ inputs, attrs, backend });
    const info = Array.isArray(out) ? out[0] : out;
    made.push(info);
    return info;
  };
  const track = (info: TensorInfo) => {
    made.push(info);
    return info;
  };
  let result: TensorInfo | undefined;
  try {
    result = body({ call, track });
    return result;
  } finally {
    for (const info of made) {
      if (info !== result) backend.disposeData(info.dataId);
    }
  }
}

/** Explicit padding `[top, bottom, left, right]` of a convolution, as TensorFlow.js resolved it. */
export function explicitPadding(info: backend_util.Conv2DInfo): [number, number, number, number] {
  return [info.padInfo.top, info.padInfo.bottom, info.padInfo.left, info.padInfo.right];
}

/** The arguments TensorFlow.js passes to a kernel function, with typed attributes. */
export interface KernelArgs<Attrs> {
  /** The kernel's named inputs. */
  inputs: NamedTensorInfoMap;
  /** The backend the kernel runs on. */
  backend: KernelBackend;
  /** The kernel's attributes. */
  attrs: Attrs;
}
