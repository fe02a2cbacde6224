/**
 * Direct access to the wasm backend's memory, for kernels written as plain loops over tensor data.
 *
 * @module
 */
import type { DataType, KernelBackend, TensorInfo } from "@tensorflow/tfjs-core";

/** The parts of tfjs-backend-wasm's `BackendWasm` that loop kernels use. */
export interface WasmHeapBackend {
  /** The Emscripten module: its memory is `asm.memory` (exported) or `wasmMemory` (imported, threaded). */
  wasm: { asm?: { memory?: WebAssembly.Memory }; wasmMemory?: WebAssembly.Memory };
  /** Where each tensor's data lives on the heap. */
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  /** Allocates an output tensor on the wasm heap (contents undefined). */
  makeOutput(shape: number[], dtype: DataType): TensorInfo;
  /** A typed-array view of a tensor's data on the heap; create views after the last allocation. */
  typedArrayFromHeap(info: TensorInfo): Float32Array | Int32Array | Uint8Array;
}

/**
 * The wasm backend behind `backend`, with its heap accessors.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-wasm";
 * import { floatView, wasmHeap } from "./heap.ts";
 * await tf.setBackend("wasm");
 * const heap = wasmHeap(tf.backend());
 * const out = heap.makeOutput([2], "float32");
 * floatView(heap, out).set([1, 2]);
 * console.log(tf.engine().makeTensorFromTensorInfo(out).dataSync()); // 1, 2
 * ```
 */
export function wasmHeap(backend: KernelBackend): WasmHeapBackend {
  return backend as unknown as WasmHeapBackend;
}

/**
 * A float32 view of `info`'s data (the wasm heap grows, so take views after allocating outputs).
 *
 * @example See {@linkcode wasmHeap}.
 * ```ts
 * import { floatView } from "./heap.ts";
 * console.log(typeof floatView); // function
 * ```
 */
export function floatView(heap: WasmHeapBackend, info: TensorInfo): Float32Array {
  if (info.dtype !== "float32") throw new Error(`expected a float32 tensor, got ${info.dtype}`);
  return heap.typedArrayFromHeap(info) as Float32Array;
}

/**
 * The WebAssembly memory behind the wasm backend's heap, for SIMD kernels that import it.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-wasm";
 * import { wasmHeap, wasmMemory } from "./heap.ts";
 * await tf.setBackend("wasm");
 * console.log(wasmMemory(wasmHeap(tf.backend())) instanceof WebAssembly.Memory); // true
 * ```
 */
export function wasmMemory(heap: WasmHeapBackend): WebAssembly.Memory | undefined {
  return heap.wasm.asm?.memory ?? heap.wasm.wasmMemory;
}

/**
 * The heap address (in bytes) of a tensor's data.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-wasm";
 * import { addressOf, wasmHeap } from "./heap.ts";
 * await tf.setBackend("wasm");
 * console.log(addressOf(wasmHeap(tf.backend()), tf.ones([4])) > 0); // true
 * ```
 */
export function addressOf(heap: WasmHeapBackend, info: TensorInfo): number {
  const data = heap.dataIdMap.get(info.dataId);
  if (data == null) throw new Error("tensor data is not on this wasm backend");
  return data.memoryOffset;
}
