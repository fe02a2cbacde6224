/**
 * Kernels the wasm backend lacks or runs slowly for training, built on its fast XNNPACK kernels: the
 * convolution gradients (as GEMMs and sub-pixel convolutions), the depthwise filter gradient (one pass), and
 * the forward kernels a training step leans on — `Slice` (without copying its whole input), `Sum`/`Mean` over
 * leading axes (without a transpose), `Identity` (shared, not copied) and `BatchMatMul` (threaded GEMMs for
 * transposed operands).
 *
 * @module
 */
import { getKernel, type KernelConfig, registerKernel, unregisterKernel } from "@tensorflow/tfjs-core";
import { conv2dBackpropFilterConfig } from "./conv2d_backprop_filter.ts";
import { conv2dBackpropInputConfig } from "./conv2d_backprop_input.ts";
import { depthwiseBackpropFilterConfig } from "./depthwise_backprop_filter.ts";
import { depthwiseBackpropInputConfig } from "./depthwise_backprop_input.ts";
import { sliceConfig } from "./slice.ts";
import { meanConfig, sumConfig } from "./reduce.ts";
import { identityConfig } from "./identity.ts";
import { batchMatMulConfig } from "./batch_mat_mul.ts";
import { conv2dConfig } from "./conv2d.ts";
import { oneHotConfig } from "./one_hot.ts";
import { rememberReplaced, replacedConfig } from "./registry.ts";

export { composeKernels, type KernelCall, type KernelScope } from "./kernel_calls.ts";

/** The kernels {@linkcode registerWasmTrainingKernels} installs, in registration order. */
const WASM_TRAINING_KERNELS: readonly KernelConfig[] = [
  conv2dBackpropFilterConfig,
  conv2dBackpropInputConfig,
  depthwiseBackpropFilterConfig,
  depthwiseBackpropInputConfig,
  sliceConfig,
  sumConfig,
  meanConfig,
  identityConfig,
  batchMatMulConfig,
  oneHotConfig,
  conv2dConfig,
];

/**
 * Names of the kernels maskinv registers on the wasm backend.
 *
 * @example
 * ```ts
 * import { wasmTrainingKernelNames } from "./mod.ts";
 * const names = wasmTrainingKernelNames;
 * console.log(names.length, names.includes("Conv2DBackpropFilter")); // 11 true
 * ```
 */
export const wasmTrainingKernelNames: readonly string[] = WASM_TRAINING_KERNELS.map((k) => k.kernelName);

/**
 * Registers maskinv's wasm kernels, replacing any earlier registration (the package's own loop-based
 * `Conv2DBackpropInput`, `Slice`, `Sum`, … included; the replaced ones stay available as fallbacks). Idempotent.
 *
 * @example
 * ```ts
 * import "@tensorflow/tfjs-backend-wasm";
 * import { getKernel } from "@tensorflow/tfjs-core";
 * import { registerWasmTrainingKernels } from "./mod.ts";
 * registerWasmTrainingKernels();
 * console.log(getKernel("Conv2DBackpropFilter", "wasm") != null); // true
 * ```
 */
export function registerWasmTrainingKernels(): void {
  for (const config of WASM_TRAINING_KERNELS) {
    const existing = getKernel(config.kernelName, "wasm");
    if (existing === config) continue;
    if (existing != null) {
      rememberReplaced(existing);
      unregisterKernel(config.kernelName, "wasm");
    }
    registerKernel(config);
  }
}

/**
 * Removes maskinv's wasm gradient kernels and puts back whatever the wasm package registered itself
 * (e.g. its loop-based `Conv2DBackpropInput`). For benchmarks of the "before" state and for debugging.
 *
 * @example
 * ```ts
 * import "@tensorflow/tfjs-backend-wasm";
 * import { getKernel } from "@tensorflow/tfjs-core";
 * import { registerWasmTrainingKernels, unregisterWasmTrainingKernels } from "./mod.ts";
 * registerWasmTrainingKernels();
 * unregisterWasmTrainingKernels();
 * console.log(getKernel("Conv2DBackpropFilter", "wasm") == null); // true: wasm has none of its own
 * ```
 */
export function unregisterWasmTrainingKernels(): void {
  for (const config of WASM_TRAINING_KERNELS) {
    if (getKernel(config.kernelName, "wasm") !== config) continue;
    unregisterKernel(config.kernelName, "wasm");
    const original = replacedConfig(config.kernelName, "wasm");
    if (original != null) registerKernel(original);
  }
}
