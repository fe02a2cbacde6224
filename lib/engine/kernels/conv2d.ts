/**
 * `Conv2D` for the wasm backend: 3x3 stride-1 convolutions by Winograd's F(2x2, 3x3) algorithm, the rest by
 * the package's XNNPACK kernel.
 *
 * Winograd's minimal filtering computes each 2x2 output tile from its 4x4 input patch with 16 multiplications
 * per channel pair instead of 36: the input patches and the filters are transformed (`Bᵀ·d·B`, `G·g·Gᵀ`, SIMD
 * kernels on the heap), the 16 transformed positions become 16 independent matrix products
 * `[tiles, in] · [in, out]` (threaded XNNPACK GEMMs), and the output transform `Aᵀ·m·A` assembles the tiles.
 * That is 2.25 times fewer multiply-adds than the direct convolution, at a rounding error of a few float32
 * ulps. Images are processed in chunks so the transformed data stays at tens of megabytes.
 *
 * @module
 */
import {
  backend_util,
  Conv2D,
  type Conv2DAttrs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from "@tensorflow/tfjs-core";
import { composeKernels, type KernelArgs } from "./kernel_calls.ts";
import { addressOf, wasmHeap, wasmMemory } from "./heap.ts";
import { replacedKernel } from "./registry.ts";
import { simdKernels } from "./simd.ts";

/** Below this many multiply-adds the transforms cost more than they save. */
const WINOGRAD_MIN_MULTIPLY_ADDS = 4e6;
/** Transformed input values per chunk (16 matrices of tiles × channels). */
const VALUES_PER_CHUNK = 1 << 20;

let winogradEnabled = true;

/**
 * Turns the Winograd path of 3x3 stride-1 convolutions on or off (for comparisons; on by default).
 *
 * @example
 * ```ts
 * import { setWinograd } from "./conv2d.ts";
 * setWinograd(true);
 * ```
 */
export function setWinograd(enabled: boolean): void {
  winogradEnabled = enabled;
}

function conv2d(args: KernelArgs<Conv2DAttrs>): TensorInfo {
  const { inputs, attrs, backend } = args;
  const x = inputs.x as TensorInfo;
  const filter = inputs.filter as TensorInfo;
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filter.shape as [number, number, number, number],
    attrs.strides,
    attrs.dilations,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    backend_util.convertConv2DDataFormat(attrs.dataFormat),
  );
  const heap = wasmHeap(backend);
  const memory = wasmMemory(heap);
  const kernels = winogradEnabled && memory != null ? simdKernels(memory) : null;
  const eligible = kernels != null && info.dataFormat === "channelsLast" && x.dtype === "float32" &&
    info.filterHeight === 3 && info.filterWidth === 3 && info.strideHeight === 1 && info.strideWidth === 1 &&
    info.dilationHeight === 1 && info.dilationWidth === 1 && info.inChannels % 4 === 0 &&
    info.outChannels % 4 === 0 &&
    info.batchSize * info.outHeight * info.outWidth * 9 * info.inChannels * info.outChannels >=
      WINOGRAD_MIN_MULTIPLY_ADDS;
  if (!eligible) return replacedKernel(Conv2D, "wasm")(args as never) as TensorInfo;

  const { batchSize, inHeight, inWidth, inChannels, outChannels, outHeight, outWidth } = info;
  const { top, left } = info.padInfo;
  const tilesH = Math.ceil(outHeight / 2);
  const tilesW = Math.ceil(outWidth / 2);
  const paddedHeight = 2 * tilesH + 2;
  const paddedWidth = 2 * tilesW + 2;
  const exact = outHeight === 2 * tilesH && outWidth === 2 * tilesW;
  return composeKernels(backend, "wasm", ({ call, track }) => {
    // Every 4x4 patch lies inside the padded input; the border rows beyond the convolution's own padding
    // only feed output rows that are cropped.
    const padded = call("PadV2", { x }, {
      paddings: [[0, 0], [top, paddedHeight - inHeight - top], [left, paddedWidth - inWidth - left], [0, 0]],
      constantValue: 0,
    });
    const transformed = (rows: number, cols: number) =>
      Array.from({ length: 16 }, () => track(heap.makeOutput([1, 1, rows, cols], "float32")));
    const filters = transformed(inChannels, outChannels);
    kernels.winogradFilter(
      addressOf(heap, filter),
      inChannels * outChannels,
      ...filters.map((u) => addressOf(heap, u)),
    );
    const out = heap.makeOutput([batchSize, 2 * tilesH, 2 * tilesW, outChannels], "float32");
    if (!exact) track(out);
    const tilesPerImage = tilesH * tilesW;
    const imagesPerChunk = Math.max(
      1,
      Math.min(batchSize, Math.floor(VALUES_PER_CHUNK / (tilesPerImage * inChannels))),
    );
    const inputImageBytes = paddedHeight * paddedWidth * inChannels * 4;
    const outputImageBytes = 4 * tilesPerImage * outChannels * 4;
    for (let first = 0; first < batchSize; first += imagesPerChunk) {
      const images = Math.min(imagesPerChunk, batchSize - first);
      const tiles = images * tilesPerImage;
      // The chunk's transformed inputs and products are large: released as soon as the chunk is done.
      const chunk: TensorInfo[] = [];
      try {
        const patches = Array.from({ length: 16 }, () => {
          const v = heap.makeOutput([1, 1, tiles, inChannels], "float32");
          chunk.push(v);
          return v;
        });
        kernels.winogradInput(
          addressOf(heap, padded) + first * inputImageBytes,
          paddedWidth * inChannels * 4,
          images,
          tilesH,
          tilesW,
          inChannels,
          ...patches.map((v) => addressOf(heap, v)),
        );
        const products = patches.map((v, k) => {
          const m = call("Conv2D", { x: v, filter: filters[k] }, {
            strides: [1, 1],
            pad: "valid",
            dataFormat: "NHWC",
            dilations: [1, 1],
          });
          chunk.push(m);
          return m;
        });
        kernels.winogradOutput(
          addressOf(heap, out) + first * outputImageBytes,
          2 * tilesW * outChannels * 4,
          images,
          tilesH,
          tilesW,
          outChannels,
          ...products.map((m) => addressOf(heap, m)),
        );
      } finally {
        for (const info of chunk) backend.disposeData(info.dataId);
      }
    }
    if (exact) return out;
    return call("Slice", { x: out }, {
      begin: [0, 0, 0, 0],
      size: [batchSize, outHeight, outWidth, outChannels],
    });
  });
}

/** Kernel registration for `Conv2D` on wasm. */
export const conv2dConfig: KernelConfig = {
  kernelName: Conv2D,
  backendName: "wasm",
  kernelFunc: conv2d as unknown as KernelFunc,
};
