/**
 * `DepthwiseConv2dNativeBackpropFilter` for the wasm backend (wasm has none), as one pass over the data.
 *
 * `dW[kh, kw, c, m] = Σ_{n,i,j} x[n, i·s + kh·d − pad, j·s + kw·d − pad, c] · dy[n, i, j, c·M + m]`: every
 * output gradient value meets the `kh·kw` input values its filter taps read, straight from the wasm heap,
 * with no im2col copies (which would be `kh·kw` times the size of `dy`). Sums are accumulated in float64.
 *
 * @module
 */
import {
  backend_util,
  DepthwiseConv2dNativeBackpropFilter,
  type DepthwiseConv2dNativeBackpropFilterAttrs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from "@tensorflow/tfjs-core";
import type { KernelArgs } from "./kernel_calls.ts";
import { addressOf, floatView, wasmHeap, wasmMemory } from "./heap.ts";
import { simdKernels } from "./simd.ts";

function depthwiseBackpropFilter(
  args: KernelArgs<DepthwiseConv2dNativeBackpropFilterAttrs>,
): TensorInfo {
  const { inputs, attrs, backend } = args;
  const x = inputs.x as TensorInfo;
  const dy = inputs.dy as TensorInfo;
  const { strides, pad, dilations, dimRoundingMode, filterShape } = attrs;
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    strides,
    dilations,
    pad,
    dimRoundingMode,
    true,
  );
  const [filterHeight, filterWidth, channels, multiplier] = filterShape;
  const [batch, inHeight, inWidth] = x.shape;
  const { outHeight, outWidth, strideHeight, strideWidth, dilationHeight, dilationWidth } = info;
  const { top, left } = info.padInfo;
  const outChannels = channels * multiplier;
  const heap = wasmHeap(backend);
  const out = heap.makeOutput([...filterShape], "float32");
  const xs = floatView(heap, x);
  const dys = floatView(heap, dy);
  const sums = new Float64Array(filterHeight * filterWidth * outChannels);
  const memory = wasmMemory(heap);
  const kernels = memory != null && multiplier === 1 && channels % 4 === 0 && x.dtype === "float32"
    ? simdKernels(memory)
    : null;
  if (kernels != null) {
    // SIMD over channels, one image at a time into float32 sums, gathered in float64 across images.
    const imageSums = heap.makeOutput([filterHeight * filterWidth * channels], "float32");
    try {
      const xBytes = inHeight * inWidth * channels * 4;
      const dyBytes = outHeight * outWidth * channels * 4;
      for (let b = 0; b < batch; b++) {
        floatView(heap, imageSums).fill(0);
        kernels.depthwiseFilterGradient(
          addressOf(heap, x) + b * xBytes,
          addressOf(heap, dy) + b * dyBytes,
          addressOf(heap, imageSums),
          inHeight,
          inWidth,
          channels,
          outHeight,
          outWidth,
          strideHeight,
          strideWidth,
          top,
          left,
          filterHeight,
          filterWidth,
          dilationHeight,
          dilationWidth,
        );
        const values = floatView(heap, imageSums);
        for (let k = 0; k < values.length; k++) sums[k] += values[k];
      }
    } finally {
      backend.disposeData(imageSums.dataId);
    }
    floatView(heap, out).set(sums);
    return out;
  }
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < outHeight; i++) {
      for (let kh = 0; kh < filterHeight; kh++) {
        const row = i * strideHeight + kh * dilationHeight - top;
        if (row < 0 || row >= inHeight) continue;
        const xRow = (b * inHeight + row) * inWidth;
        for (let j = 0; j < outWidth; j++) {
          const dyBase = ((b * outHeight + i) * outWidth + j) * outChannels;
          for (let kw = 0; kw < filterWidth; kw++) {
            const col = j * strideWidth + kw * dilationWidth - left;
            if (col < 0 || col >= inWidth) continue;
            const xBase = (xRow + col) * channels;
            const sumBase = (kh * filterWidth + kw) * outChannels;
            if (multiplier === 1) {
              for (let c = 0; c < channels; c++) sums[sumBase + c] += xs[xBase + c] * dys[dyBase + c];
            } else {
              for (let c = 0; c < channels; c++) {
                const value = xs[xBase + c];
                const base = c * multiplier;
                for (let m = 0; m < multiplier; m++) {
                  sums[sumBase + base + m] += value * dys[dyBase + base + m];
                }
              }
            }
          }
        }
      }
    }
  }
  floatView(heap, out).set(sums);
  return out;
}

/** Kernel registration for `DepthwiseConv2dNativeBackpropFilter` on wasm. */
export const depthwiseBackpropFilterConfig: KernelConfig = {
  kernelName: DepthwiseConv2dNativeBackpropFilter,
  backendName: "wasm",
  kernelFunc: depthwiseBackpropFilter as unknown as KernelFunc,
};
