/**
 * `Identity` for the wasm backend, sharing the input's data as the other backends do.
 *
 * TensorFlow.js clones every tensor a gradient saves for the backward pass (through `Identity`); the wasm
 * package's kernel copies the data, which doubles the memory of a training step's saved activations. Tensor
 * data is never written in place, so sharing it (with a reference count) is safe.
 *
 * @module
 */
import { Identity, type KernelConfig, type KernelFunc, type TensorInfo } from "@tensorflow/tfjs-core";
import type { KernelArgs } from "./kernel_calls.ts";
import { replacedKernel } from "./registry.ts";

function identity(args: KernelArgs<Record<string, never>>): TensorInfo {
  const { inputs, backend } = args;
  const x = inputs.x as TensorInfo;
  if (x.dtype === "string") return replacedKernel(Identity, "wasm")(args as never) as TensorInfo;
  (backend as unknown as { incRef(dataId: object): void }).incRef(x.dataId);
  return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
}

/** Kernel registration for `Identity` on wasm. */
export const identityConfig: KernelConfig = {
  kernelName: Identity,
  backendName: "wasm",
  kernelFunc: identity as unknown as KernelFunc,
};
