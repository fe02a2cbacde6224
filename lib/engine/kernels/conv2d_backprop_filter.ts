/**
 * `Conv2DBackpropFilter` for the wasm backend, as cache-sized matrix products on XNNPACK.
 *
 * The filter gradient is one matrix product over all output positions `p`:
 * `dW[(kh, kw, ci), co] = Σ_p X[(kh, kw, ci), p] · dY[p, co]`, where column `p` of `X` holds the input values
 * the filter taps read for output position `p` (zero in the padding). Its inner dimension (`n·oh·ow`, up to
 * hundreds of thousands) is far longer than its outputs, and XNNPACK's GEMM streams the whole inner dimension
 * for every block of rows; so the positions are cut into chunks of a few thousand (whole images), each chunk
 * is one 1x1 XNNPACK convolution (a threaded GEMM whose operands stay in cache), and the chunks' small
 * `[kh·kw·ci, co]` products are summed. `X` of a chunk is gathered from the channel-major input
 * (`[ci, n, h, w]`, one transpose per chunk) in a single pass; 1x1 stride-1 unpadded convolutions use the
 * transposed input as it is.
 *
 * @module
 */
import {
  backend_util,
  Conv2DBackpropFilter,
  type Conv2DBackpropFilterAttrs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from "@tensorflow/tfjs-core";
import { composeKernels, type KernelArgs } from "./kernel_calls.ts";
import { floatView, wasmHeap, type WasmHeapBackend } from "./heap.ts";

/** Output positions per GEMM: enough to amortise a call, few enough for the operands to stay in cache. */
let positionsPerChunk = 4096;

/**
 * Sets the output positions per GEMM of the filter gradient (a tuning knob for benchmarks and tests).
 *
 * @example
 * ```ts
 * import { setFilterGradientChunk } from "./conv2d_backprop_filter.ts";
 * setFilterGradientChunk(4096); // the default
 * ```
 */
export function setFilterGradientChunk(positions: number): void {
  positionsPerChunk = Math.max(1, Math.floor(positions));
}

/** The convolution's geometry as the gather needs it. */
interface Geometry {
  inHeight: number;
  inWidth: number;
  outHeight: number;
  outWidth: number;
  strideHeight: number;
  strideWidth: number;
  padTop: number;
  padLeft: number;
  filterHeight: number;
  filterWidth: number;
}

/**
 * `X[(kh, kw, c), (n, i, j)] = x[c, n, i·sh + kh − top, j·sw + kw − left]` (zero outside) from a channel-major
 * chunk `[c, n, h, w]`.
 */
function gatherColumns(heap: WasmHeapBackend, channelMajor: TensorInfo, g: Geometry): TensorInfo {
  const [channels, images] = channelMajor.shape;
  const { inHeight, inWidth, outHeight, outWidth, strideHeight, strideWidth } = g;
  const positions = images * outHeight * outWidth;
  const out = heap.makeOutput([1, 1, g.filterHeight * g.filterWidth * channels, positions], "float32");
  const source = floatView(heap, channelMajor);
  const target = floatView(heap, out);
  let to = 0;
  for (let kh = 0; kh < g.filterHeight; kh++) {
    for (let kw = 0; kw < g.filterWidth; kw++) {
      const top = kh - g.padTop;
      const left = kw - g.padLeft;
      // Output columns whose input column lies inside the image: j in [first, last).
      const first = Math.min(outWidth, Math.max(0, Math.ceil(-left / strideWidth)));
      const last = Math.max(first, Math.min(outWidth, Math.floor((inWidth - 1 - left) / strideWidth) + 1));
      for (let plane = 0; plane < channels * images; plane++) {
        const planeBase = plane * inHeight * inWidth;
        for (let i = 0; i < outHeight; i++, to += outWidth) {
          const row = i * strideHeight + top;
          if (row < 0 || row >= inHeight) {
            target.fill(0, to, to + outWidth);
            continue;
          }
          if (first > 0) target.fill(0, to, to + first);
          if (last < outWidth) target.fill(0, to + last, to + outWidth);
          const rowBase = planeBase + row * inWidth + left;
          if (strideWidth === 1) {
            target.set(source.subarray(rowBase + first, rowBase + last), to + first);
          } else {
            for (let j = first; j < last; j++) target[to + j] = source[rowBase + j * strideWidth];
          }
        }
      }
    }
  }
  return out;
}

/** `[n, oh, ow, c]`: the input values a 1x1 filter reads (stride and padding applied; zero in the padding). */
function subsample(heap: WasmHeapBackend, x: TensorInfo, g: Geometry): TensorInfo {
  const [images, , , channels] = x.shape;
  const { inHeight, inWidth, outHeight, outWidth, strideHeight, strideWidth } = g;
  const out = heap.makeOutput([images, outHeight, outWidth, channels], "float32");
  const source = floatView(heap, x);
  const target = floatView(heap, out);
  let to = 0;
  for (let b = 0; b < images; b++) {
    for (let i = 0; i < outHeight; i++) {
      const row = i * strideHeight - g.padTop;
      for (let j = 0; j < outWidth; j++, to += channels) {
        const col = j * strideWidth - g.padLeft;
        if (row < 0 || row >= inHeight || col < 0 || col >= inWidth) {
          target.fill(0, to, to + channels);
        } else {
          const from = ((b * inHeight + row) * inWidth + col) * channels;
          target.set(source.subarray(from, from + channels), to);
        }
      }
    }
  }
  return out;
}

function conv2dBackpropFilter(
  args: KernelArgs<Conv2DBackpropFilterAttrs>,
): TensorInfo {
  const { inputs, attrs, backend } = args;
  const x = inputs.x as TensorInfo;
  const dy = inputs.dy as TensorInfo;
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs;
  if (backend_util.convertConv2DDataFormat(dataFormat) !== "channelsLast") {
    throw new Error(`Conv2DBackpropFilter on wasm supports NHWC only, got ${dataFormat}`);
  }
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    strides,
    1,
    pad,
    dimRoundingMode,
  );
  const [filterHeight, filterWidth, inChannels, outChannels] = filterShape;
  const [batch, inHeight, inWidth] = x.shape;
  const { outHeight, outWidth, strideHeight, strideWidth } = info;
  const geometry: Geometry = {
    inHeight,
    inWidth,
    outHeight,
    outWidth,
    strideHeight,
    strideWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
    filterHeight,
    filterWidth,
  };
  // A 1x1, stride-1, unpadded convolution reads the input as it is: no gather needed.
  const direct = filterHeight === 1 && filterWidth === 1 && strideHeight === 1 && strideWidth === 1 &&
    info.padInfo.top === 0 && info.padInfo.left === 0;
  const rows = filterHeight * filterWidth * inChannels;
  // XNNPACK repacks the filter operand of every call (a slow transposing copy), which for a 1x1 filter costs
  // more than the product unless the filter operand is the one with fewer channels: then the output gradient
  // becomes the channel-major operand and the (subsampled) input the filter, giving dWᵀ.
  const swap = filterHeight === 1 && filterWidth === 1 && outChannels > inChannels;
  const imagesPerChunk = Math.max(1, Math.min(batch, Math.round(positionsPerChunk / (outHeight * outWidth))));
  const heap = wasmHeap(backend);
  const sums = new Float64Array(rows * outChannels);
  for (let first = 0; first < batch; first += imagesPerChunk) {
    const images = Math.min(imagesPerChunk, batch - first);
    const positions = images * outHeight * outWidth;
    const product = composeKernels(backend, "wasm", ({ call, track }) => {
      const whole = images === batch;
      const xChunk = whole
        ? x
        : call("Slice", { x }, { begin: [first, 0, 0, 0], size: [images, inHeight, inWidth, inChannels] });
      const dyChunk = whole ? dy : call("Slice", { x: dy }, {
        begin: [first, 0, 0, 0],
        size: [images, outHeight, outWidth, outChannels],
      });
      if (swap) {
        const dyRows = call("Reshape", { x: dyChunk }, { shape: [positions, outChannels] });
        const dyChannelMajor = call("Transpose", { x: dyRows }, { perm: [1, 0] }); // [co, positions]
        const taps = direct ? xChunk : track(subsample(heap, xChunk, geometry));
        return call("Conv2D", {
          x: call("Reshape", { x: dyChannelMajor }, { shape: [1, 1, outChannels, positions] }),
          filter: call("Reshape", { x: taps }, { shape: [1, 1, positions, inChannels] }),
        }, { strides: [1, 1], pad: "valid", dataFormat: "NHWC", dilations: [1, 1] }); // [1, 1, co, ci]
      }
      const channelMajor = call("Transpose", { x: xChunk }, { perm: [3, 0, 1, 2] }); // [ci, n, h, w]
      const columns = direct
        ? call("Reshape", { x: channelMajor }, { shape: [1, 1, rows, positions] })
        : track(gatherColumns(heap, channelMajor, geometry));
      const filter = call("Reshape", { x: dyChunk }, { shape: [1, 1, positions, outChannels] });
      return call("Conv2D", { x: columns, filter }, {
        strides: [1, 1],
        pad: "valid",
        dataFormat: "NHWC",
        dilations: [1, 1],
      }); // [1, 1, kh·kw·ci, co]
    });
    const values = floatView(heap, product);
    if (swap) {
      for (let co = 0, i = 0; co < outChannels; co++) {
        for (let ci = 0; ci < inChannels; ci++, i++) sums[ci * outChannels + co] += values[i];
      }
    } else {
      for (let i = 0; i < values.length; i++) sums[i] += values[i];
    }
    backend.disposeData(product.dataId);
  }
  const out = heap.makeOutput([...filterShape], "float32");
  floatView(heap, out).set(sums);
  return out;
}

/** Kernel registration for `Conv2DBackpropFilter` on wasm. */
export const conv2dBackpropFilterConfig: KernelConfig = {
  kernelName: Conv2DBackpropFilter,
  backendName: "wasm",
  kernelFunc: conv2dBackpropFilter as unknown as KernelFunc,
};
