/**
 * Gradient kernels the wasm backend lacks or runs slowly, composed from its fast XNNPACK kernels.
 *
 * @module
 */
import { getKernel, type KernelConfig, registerKernel, unregisterKernel } from "@tensorflow/tfjs-core";
import { conv2dBackpropFilterConfig } from "./conv2d_backprop_filter.ts";
import { conv2dBackpropInputConfig } from "./conv2d_backprop_input.ts";
import { depthwiseBackpropFilterConfig } from "./depthwise_backprop_filter.ts";
import { depthwiseBackpropInputConfig } from "./depthwise_backprop_input.ts";

export { composeKernels, type KernelCall, type KernelScope } from "./kernel_calls.ts";

/** The kernels {@linkcode registerWasmTrainingKernels} installs, in registration order. */
const WASM_TRAINING_KERNELS: readonly KernelConfig[] = [
  conv2dBackpropFilterConfig,
  conv2dBackpropInputConfig,
  depthwiseBackpropFilterConfig,
  depthwiseBackpropInputConfig,
];

/** Names of the kernels maskinv registers on the wasm backend. */
export const wasmTrainingKernelNames: readonly string[] = WASM_TRAINING_KERNELS.map((k) => k.kernelName);

/**
 * Registers maskinv's gradient kernels on the wasm backend, replacing any earlier registration (wasm's own
 * loop-based `Conv2DBackpropInput` included). Idempotent.
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
      replaced.set(config.kernelName, existing);
      unregisterKernel(config.kernelName, "wasm");
    }
    registerKernel(config);
  }
}

/** The wasm package's own kernels that {@linkcode registerWasmTrainingKernels} replaced. */
const replaced = new Map<string, KernelConfig>();

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
    const original = replaced.get(config.kernelName);
    if (original != null) registerKernel(original);
  }
}
