/**
 * `Sum` and `Mean` for the wasm backend when they reduce the leading axes (batch statistics, bias and
 * batch-norm gradients: `[n, h, w, c] → [c]`).
 *
 * tfjs-backend-wasm reduces only innermost axes, so it first transposes the whole tensor to bring the
 * reduced axes last. Here the `[rows, channels]` view is averaged by XNNPACK's average pooling (multi-threaded,
 * SIMD) in two levels — windows of up to 1024 rows, then the window means — which keeps float32 rounding near
 * that of a pairwise sum. Every other reduction goes to the package's own kernel.
 *
 * @module
 */
import {
  type KernelConfig,
  type KernelFunc,
  Mean,
  type MeanAttrs,
  Sum,
  type SumAttrs,
  type TensorInfo,
  util,
} from "@tensorflow/tfjs-core";
import { composeKernels, type KernelArgs, type KernelCall } from "./kernel_calls.ts";
import { floatView, wasmHeap } from "./heap.ts";
import { replacedKernel } from "./registry.ts";

/** How many leading axes `axis` names, when it names exactly the first few axes (and not all); else 0. */
function leadingAxes(axis: number | number[], rank: number): number {
  const axes = [...new Set(util.parseAxisParam(axis, new Array(rank).fill(1)))].sort((a, b) => a - b);
  if (axes.length === 0 || axes.length >= rank) return 0;
  return axes.every((a, i) => a === i) ? axes.length : 0;
}

/** The largest divisor of `rows` that is at most `limit`. */
function windowFor(rows: number, limit: number): number {
  for (let size = Math.min(rows, limit); size > 1; size--) if (rows % size === 0) return size;
  return 1;
}

/** Column means of `[rows, width]` data as `[1, 1, 1, width]`, by average pooling over the rows. */
function columnMeans(call: KernelCall, x: TensorInfo, rows: number, width: number): TensorInfo {
  const pool = (input: TensorInfo, size: number) =>
    call("AvgPool", { x: input }, { filterSize: [size, 1], strides: [size, 1], pad: "valid" });
  let image = call("Reshape", { x }, { shape: [1, rows, 1, width] });
  let remaining = rows;
  const first = windowFor(rows, 1024);
  if (first > 1 && first < rows) {
    image = pool(image, first);
    remaining = rows / first;
  }
  return remaining === 1 ? image : pool(image, remaining);
}

function reduceLeading(kernelName: string, average: boolean) {
  return (args: KernelArgs<SumAttrs | MeanAttrs>): TensorInfo => {
    const { inputs, attrs, backend } = args;
    const x = inputs.x as TensorInfo;
    const rank = x.shape.length;
    const count = x.dtype === "float32" ? leadingAxes(attrs.axis, rank) : 0;
    if (count === 0 || util.sizeFromShape(x.shape) === 0) {
      return replacedKernel(kernelName, "wasm")(args as never) as TensorInfo;
    }
    const rows = util.sizeFromShape(x.shape.slice(0, count));
    const width = util.sizeFromShape(x.shape.slice(count));
    const outShape = attrs.keepDims ? x.shape.map((size, i) => (i < count ? 1 : size)) : x.shape.slice(count);
    const heap = wasmHeap(backend);
    const means = composeKernels(backend, "wasm", ({ call }) => columnMeans(call, x, rows, width));
    const out = heap.makeOutput(outShape, "float32");
    const target = floatView(heap, out);
    const source = floatView(heap, means);
    const scale = average ? 1 : rows;
    for (let i = 0; i < width; i++) target[i] = source[i] * scale;
    backend.disposeData(means.dataId);
    return out;
  };
}

/** Kernel registration for `Sum` on wasm. */
export const sumConfig: KernelConfig = {
  kernelName: Sum,
  backendName: "wasm",
  kernelFunc: reduceLeading(Sum, false) as unknown as KernelFunc,
};

/** Kernel registration for `Mean` on wasm. */
export const meanConfig: KernelConfig = {
  kernelName: Mean,
  backendName: "wasm",
  kernelFunc: reduceLeading(Mean, true) as unknown as KernelFunc,
};
