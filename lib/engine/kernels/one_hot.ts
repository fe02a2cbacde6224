/**
 * `OneHot` for the wasm backend. The wasm package's own kernel writes 32-bit integers whatever `dtype`
 * asks for, so a float32 one-hot reads back as denormals (1 → 1.4e-45) and a margin loss built on it
 * silently trains on nothing. This kernel honours the dtype and the on/off values.
 *
 * @module
 */
import {
  type KernelConfig,
  type KernelFunc,
  OneHot,
  type OneHotAttrs,
  type TensorInfo,
} from "@tensorflow/tfjs-core";
import type { KernelArgs } from "./kernel_calls.ts";

function oneHot(args: KernelArgs<OneHotAttrs>): TensorInfo {
  const { inputs, attrs, backend } = args;
  const indices = inputs.indices as TensorInfo;
  const { depth, onValue, offValue, dtype } = attrs;
  const positions = backend.readSync(indices.dataId) as ArrayLike<number>;
  const values = dtype === "int32"
    ? new Int32Array(positions.length * depth)
    : new Float32Array(positions.length * depth);
  values.fill(offValue);
  for (let i = 0; i < positions.length; i++) {
    const index = positions[i];
    // Out-of-range indices give an all-off row, as on every other backend.
    if (index >= 0 && index < depth) values[i * depth + index] = onValue;
  }
  const shape = [...indices.shape, depth];
  return { dataId: backend.write(values, shape, dtype), shape, dtype };
}

/** Kernel registration for `OneHot` on wasm. */
export const oneHotConfig: KernelConfig = {
  kernelName: OneHot,
  backendName: "wasm",
  kernelFunc: oneHot as unknown as KernelFunc,
};
