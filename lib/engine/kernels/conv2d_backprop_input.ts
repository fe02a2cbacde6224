/**
 * `Conv2DBackpropInput` for the wasm backend, as XNNPACK convolutions of the output gradient.
 *
 * Stride 1: the input gradient is a full correlation of `dy` with the filter rotated by 180° and its channel
 * axes swapped — one convolution whose zero border is XNNPACK's own padding.
 *
 * Stride `s > 1` (the transposed convolution): instead of spreading `dy` with `s − 1` zeros between values
 * (which makes `s²` times the work, almost all of it multiplications by zero), the gradient is split into its
 * `s²` sub-pixel phases. Input rows `r = m·s + φ` only receive the filter taps `kh ≡ φ + pad (mod s)`, so each
 * phase `(φ, φ')` is a stride-1 convolution of `dy` with the sub-filter of those taps; together the phases use
 * every tap exactly once, as the forward convolution does. The phases are then interleaved into the result.
 * Replaces wasm's own loop-based kernel, which is an order of magnitude slower.
 *
 * @module
 */
import {
  backend_util,
  Conv2DBackpropInput,
  type Conv2DBackpropInputAttrs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from "@tensorflow/tfjs-core";
import { composeKernels, type KernelArgs, type KernelCall } from "./kernel_calls.ts";
import { floatView, wasmHeap, type WasmHeapBackend } from "./heap.ts";
import { padOrCrop } from "./geometry.ts";

/** The taps of one sub-pixel phase along one axis, and how `dy` must be padded for it. */
interface AxisPhase {
  /** Filter taps used by this phase, in the order the (stride-1) correlation visits them. */
  taps: number[];
  /** Rows of zeros before `dy` (negative: rows of `dy` to drop). */
  before: number;
  /** Rows of zeros after `dy` (negative: rows of `dy` to drop). */
  after: number;
}

/**
 * Phase `φ` of one axis: input positions `r = m·s + φ` (`m = 0 … outCount − 1`) receive
 * `Σ_t dy[m + c − t] · W[p + s·t]` with `p = (φ + pad) mod s`, `c = ⌊(φ + pad)/s⌋`; as a correlation with the
 * reversed taps it reads `dy` padded by `T − 1 − c` before.
 */
function axisPhase(
  phase: number,
  stride: number,
  filterSize: number,
  pad: number,
  dySize: number,
  outCount: number,
): AxisPhase {
  const p = (phase + pad) % stride;
  const c = Math.floor((phase + pad) / stride);
  const count = p < filterSize ? Math.ceil((filterSize - p) / stride) : 0;
  const taps = Array.from({ length: count }, (_, t) => p + stride * (count - 1 - t));
  const before = count - 1 - c;
  return { taps, before, after: outCount + count - 1 - before - dySize };
}

/**
 * Writes `filter[rows[a], cols[b], ci, co]` to `[a, b, co, ci]` of a new tensor: the rotated, channel-swapped
 * (sub-)filter of a transposed convolution.
 */
function gatherFilter(
  heap: WasmHeapBackend,
  filter: TensorInfo,
  rows: readonly number[],
  cols: readonly number[],
): TensorInfo {
  const [, filterWidth, inChannels, outChannels] = filter.shape;
  const out = heap.makeOutput([rows.length, cols.length, outChannels, inChannels], "float32");
  const source = floatView(heap, filter);
  const target = floatView(heap, out);
  let index = 0;
  for (const row of rows) {
    for (const col of cols) {
      const base = (row * filterWidth + col) * inChannels * outChannels;
      for (let co = 0; co < outChannels; co++) {
        for (let ci = 0; ci < inChannels; ci++) target[index++] = source[base + ci * outChannels + co];
      }
    }
  }
  return out;
}

/** A stride-1 `valid` convolution of `x` padded (or cropped) by `rows` and `cols`. */
function paddedConv(
  call: KernelCall,
  x: TensorInfo,
  filter: TensorInfo,
  rows: readonly [number, number],
  cols: readonly [number, number],
): TensorInfo {
  // Positive amounts are XNNPACK's implicit zero padding; only crops need a copy.
  const crop = (v: number) => Math.min(0, v);
  const cropped = padOrCrop(call, x, [[crop(rows[0]), crop(rows[1])], [crop(cols[0]), crop(cols[1])]]);
  const keep = (v: number) => Math.max(0, v);
  return call("Conv2D", { x: cropped, filter }, {
    strides: [1, 1],
    pad: [[0, 0], [keep(rows[0]), keep(rows[1])], [keep(cols[0]), keep(cols[1])], [0, 0]],
    dataFormat: "NHWC",
    dilations: [1, 1],
  });
}

function conv2dBackpropInput(
  args: KernelArgs<Conv2DBackpropInputAttrs>,
): TensorInfo {
  const { inputs, attrs, backend } = args;
  const dy = inputs.dy as TensorInfo;
  const filter = inputs.filter as TensorInfo;
  const { inputShape, strides, pad, dataFormat, dimRoundingMode } = attrs;
  if (backend_util.convertConv2DDataFormat(dataFormat) !== "channelsLast") {
    throw new Error(`Conv2DBackpropInput on wasm supports NHWC only, got ${dataFormat}`);
  }
  const info = backend_util.computeConv2DInfo(
    inputShape,
    filter.shape as [number, number, number, number],
    strides,
    1,
    pad,
    dimRoundingMode,
  );
  const heap = wasmHeap(backend);
  const [batch, inHeight, inWidth, inChannels] = inputShape;
  const [, outHeight, outWidth] = dy.shape;
  const { filterHeight, filterWidth, strideHeight: sh, strideWidth: sw } = info;
  const { top, left } = info.padInfo;
  const rowsOf = Math.ceil(inHeight / sh);
  const colsOf = Math.ceil(inWidth / sw);
  return composeKernels(backend, "wasm", ({ call, track }) => {
    if (sh === 1 && sw === 1) {
      const rowPhase = axisPhase(0, 1, filterHeight, top, outHeight, inHeight);
      const colPhase = axisPhase(0, 1, filterWidth, left, outWidth, inWidth);
      const rotated = track(gatherFilter(heap, filter, rowPhase.taps, colPhase.taps));
      return paddedConv(call, dy, rotated, [rowPhase.before, rowPhase.after], [
        colPhase.before,
        colPhase.after,
      ]);
    }
    const phases: (TensorInfo | null)[] = [];
    for (let phi = 0; phi < sh; phi++) {
      const rowPhase = axisPhase(phi, sh, filterHeight, top, outHeight, rowsOf);
      for (let psi = 0; psi < sw; psi++) {
        const colPhase = axisPhase(psi, sw, filterWidth, left, outWidth, colsOf);
        if (rowPhase.taps.length === 0 || colPhase.taps.length === 0) {
          phases.push(null);
          continue;
        }
        const subFilter = track(gatherFilter(heap, filter, rowPhase.taps, colPhase.taps));
        phases.push(
          paddedConv(call, dy, subFilter, [rowPhase.before, rowPhase.after], [
            colPhase.before,
            colPhase.after,
          ]),
        );
      }
    }
    return interleave(heap, phases, [batch, inHeight, inWidth, inChannels], sh, sw, rowsOf, colsOf);
  });
}

/**
 * Assembles `dx[n, m·sh + φ, m'·sw + ψ, c] = phases[φ·sw + ψ][n, m, m', c]` (zeros for `null` phases).
 */
function interleave(
  heap: WasmHeapBackend,
  phases: (TensorInfo | null)[],
  shape: [number, number, number, number],
  sh: number,
  sw: number,
  rowsOf: number,
  colsOf: number,
): TensorInfo {
  const [batch, height, width, channels] = shape;
  const out = heap.makeOutput(shape, "float32");
  const target = floatView(heap, out);
  for (let phi = 0; phi < sh; phi++) {
    for (let psi = 0; psi < sw; psi++) {
      const phase = phases[phi * sw + psi];
      const source = phase == null ? null : floatView(heap, phase);
      for (let b = 0; b < batch; b++) {
        for (let m = 0; m * sh + phi < height; m++) {
          const row = m * sh + phi;
          for (let n = 0; n * sw + psi < width; n++) {
            const to = ((b * height + row) * width + n * sw + psi) * channels;
            if (source == null) {
              target.fill(0, to, to + channels);
            } else {
              const from = ((b * rowsOf + m) * colsOf + n) * channels;
              target.set(source.subarray(from, from + channels), to);
            }
          }
        }
      }
    }
  }
  return out;
}

/** Kernel registration for `Conv2DBackpropInput` on wasm. */
export const conv2dBackpropInputConfig: KernelConfig = {
  kernelName: Conv2DBackpropInput,
  backendName: "wasm",
  kernelFunc: conv2dBackpropInput as unknown as KernelFunc,
};
