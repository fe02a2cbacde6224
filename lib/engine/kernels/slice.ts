/**
 * `Slice` for the wasm backend, copying only the slice.
 *
 * tfjs-backend-wasm's own `Slice` first copies the whole input out of the wasm heap into a JavaScript array
 * (`readSync`), so slicing a little out of a big tensor costs the big tensor, every time. This one copies the
 * slice's contiguous runs straight from heap to heap.
 *
 * @module
 */
import {
  type KernelConfig,
  type KernelFunc,
  Slice,
  slice_util,
  type SliceAttrs,
  type TensorInfo,
  util,
} from "@tensorflow/tfjs-core";
import type { KernelArgs } from "./kernel_calls.ts";
import { wasmHeap } from "./heap.ts";
import { replacedKernel } from "./registry.ts";

function slice(args: KernelArgs<SliceAttrs>): TensorInfo {
  const { inputs, attrs, backend } = args;
  const x = inputs.x as TensorInfo;
  if (x.dtype === "string" || x.dtype === "complex64") {
    return replacedKernel("Slice", "wasm")(args as never) as TensorInfo;
  }
  const [begin, size] = slice_util.parseSliceParams(x as never, attrs.begin, attrs.size);
  const heap = wasmHeap(backend);
  const out = heap.makeOutput(size, x.dtype);
  const total = util.sizeFromShape(size);
  if (total === 0) return out;
  const source = heap.typedArrayFromHeap(x);
  const target = heap.typedArrayFromHeap(out);
  const shape = x.shape;
  const rank = shape.length;
  if (rank === 0) {
    target.set(source.subarray(0, 1));
    return out;
  }
  // The slice is a set of contiguous runs: everything after the last axis that is cut is taken whole.
  let cut = rank - 1;
  while (cut > 0 && begin[cut] === 0 && size[cut] === shape[cut]) cut--;
  let run = size[cut];
  for (let axis = cut + 1; axis < rank; axis++) run *= shape[axis];
  const strides = util.computeStrides(shape);
  const stride = (axis: number) => (axis < rank - 1 ? strides[axis] : 1);
  const index = new Array<number>(cut).fill(0);
  for (let to = 0; to < total; to += run) {
    let from = begin[cut] * stride(cut);
    for (let axis = 0; axis < cut; axis++) from += (begin[axis] + index[axis]) * stride(axis);
    target.set(source.subarray(from, from + run), to);
    for (let axis = cut - 1; axis >= 0; axis--) {
      if (++index[axis] < size[axis]) break;
      index[axis] = 0;
    }
  }
  return out;
}

/** Kernel registration for `Slice` on wasm. */
export const sliceConfig: KernelConfig = {
  kernelName: Slice,
  backendName: "wasm",
  kernelFunc: slice as unknown as KernelFunc,
};
