/**
 * The compute engine: choose a TensorFlow.js backend (`tensorflow`, `webgpu`, `wasm`, `cpu`) and make the
 * wasm backend able to train CNNs fast with gradient kernels built on XNNPACK.
 *
 * @module
 */
export * from "./backend.ts";
export * from "./ops.ts";
export * from "./profile.ts";
export * from "./gradients.ts";
export {
  composeKernels,
  type KernelCall,
  type KernelScope,
  registerWasmTrainingKernels,
  unregisterWasmTrainingKernels,
  wasmTrainingKernelNames,
} from "./kernels/mod.ts";
