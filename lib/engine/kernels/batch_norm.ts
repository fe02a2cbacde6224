/**
 * Training-mode batch normalisation as two fused kernels, for the `wasm` (SIMD on the heap) and `cpu`
 * backends; {@linkcode batchNormTrain} in `ops.ts` uses them where they are registered.
 *
 * - `MaskinvBatchNormForward(x, gamma, beta; epsilon) → [y, mean, variance, invStd]`: one pass for the
 *   per-channel sums of `x − s` and `(x − s)²` (`s` the first row, close to the mean, so large means lose no
 *   precision), one for
 *   `y = x·(γ·invStd) + (β − mean·γ·invStd)`.
 * - `MaskinvBatchNormBackward(dy, x, mean, invStd, gamma) → [dx, dγ, dβ]`: one pass for `Σdy` and
 *   `Σdy·(x − mean)`, one for `dx = a·dy + b·x + c` with per-channel `a, b, c` from the closed form.
 *
 * Four passes over the activations instead of the dozen kernels of the composed formula, and nothing
 * activation-sized is kept for the backward pass but the input itself. Sums are gathered in float64 (blocks of
 * rows in float32 on wasm).
 *
 * @module
 */
import {
  type KernelBackend,
  type KernelConfig,
  type KernelFunc,
  type NamedAttrMap,
  type TensorInfo,
  util,
} from "@tensorflow/tfjs-core";
import type { KernelArgs } from "./kernel_calls.ts";
import { addressOf, floatView, wasmHeap, type WasmHeapBackend, wasmMemory } from "./heap.ts";
import { type SimdKernels, simdKernels } from "./simd.ts";

/** Kernel name of the fused forward pass. */
export const BATCH_NORM_FORWARD = "MaskinvBatchNormForward";
/** Kernel name of the fused backward pass. */
export const BATCH_NORM_BACKWARD = "MaskinvBatchNormBackward";

/** Attributes of {@linkcode BATCH_NORM_FORWARD}. */
export interface BatchNormForwardAttrs extends NamedAttrMap {
  /** Added to the variance. */
  epsilon: number;
}

/** Rows per float32 block of the SIMD sums. */
const BLOCK_ROWS = 256;

/** Storage-independent access to the values of the tensors a kernel reads and writes. */
interface Storage {
  read(info: TensorInfo): Float32Array;
  /** A new float32 tensor; `fill` writes its values (views are valid only inside `fill`). */
  make(shape: number[], fill: (values: Float32Array) => void): TensorInfo;
}

/** Per-channel sums `Σ (y − shiftY)` and `Σ (y − shiftY)·(x − shiftX)` over `rows` rows, in float64. */
function momentsJs(
  y: Float32Array,
  x: Float32Array,
  shiftY: Float64Array,
  shiftX: Float64Array,
  rows: number,
  channels: number,
) {
  const s1 = new Float64Array(channels);
  const s2 = new Float64Array(channels);
  for (let r = 0, base = 0; r < rows; r++, base += channels) {
    for (let c = 0; c < channels; c++) {
      const value = y[base + c] - shiftY[c];
      s1[c] += value;
      s2[c] += value * (x[base + c] - shiftX[c]);
    }
  }
  return { s1, s2 };
}

/** The same sums with the SIMD kernel, in float32 blocks of rows gathered in float64. */
function momentsSimd(
  heap: WasmHeapBackend,
  kernels: SimdKernels,
  backend: KernelBackend,
  y: TensorInfo,
  x: TensorInfo,
  shiftY: Float64Array,
  shiftX: Float64Array,
  rows: number,
  channels: number,
) {
  const s1 = new Float64Array(channels);
  const s2 = new Float64Array(channels);
  const scratch = heap.makeOutput([4 * channels], "float32");
  try {
    floatView(heap, scratch).set(shiftY, 2 * channels);
    floatView(heap, scratch).set(shiftX, 3 * channels);
    const base = addressOf(heap, scratch);
    const rowBytes = channels * 4;
    for (let first = 0; first < rows; first += BLOCK_ROWS) {
      const count = Math.min(BLOCK_ROWS, rows - first);
      floatView(heap, scratch).fill(0, 0, 2 * channels);
      kernels.channelMoments(
        addressOf(heap, y) + first * rowBytes,
        addressOf(heap, x) + first * rowBytes,
        base + 2 * rowBytes,
        base + 3 * rowBytes,
        count,
        channels,
        base,
        base + rowBytes,
      );
      const sums = floatView(heap, scratch);
      for (let c = 0; c < channels; c++) {
        s1[c] += sums[c];
        s2[c] += sums[channels + c];
      }
    }
  } finally {
    backend.disposeData(scratch.dataId);
  }
  return { s1, s2 };
}

/** `out = a·u + b·v + c` per channel (`v` omitted: `a·u + c`). */
function affineJs(
  out: Float32Array,
  rows: number,
  channels: number,
  a: Float64Array,
  u: Float32Array,
  c: Float64Array,
  b?: Float64Array,
  v?: Float32Array,
): void {
  for (let r = 0, base = 0; r < rows; r++, base += channels) {
    if (b == null || v == null) {
      for (let k = 0; k < channels; k++) out[base + k] = a[k] * u[base + k] + c[k];
    } else {
      for (let k = 0; k < channels; k++) out[base + k] = a[k] * u[base + k] + b[k] * v[base + k] + c[k];
    }
  }
}

/** The forward and backward passes, on any storage (SIMD where `simd` is given). */
function forward(
  x: TensorInfo,
  gamma: TensorInfo,
  beta: TensorInfo,
  epsilon: number,
  storage: Storage,
  simd?: { heap: WasmHeapBackend; kernels: SimdKernels; backend: KernelBackend },
): TensorInfo[] {
  const channels = x.shape[x.shape.length - 1];
  const rows = util.sizeFromShape(x.shape) / channels;
  const xs = storage.read(x);
  const shift = Float64Array.from(xs.subarray(0, channels));
  const { s1, s2 } = simd == null
    ? momentsJs(xs, xs, shift, shift, rows, channels)
    : momentsSimd(simd.heap, simd.kernels, simd.backend, x, x, shift, shift, rows, channels);
  const mean = new Float64Array(channels);
  const variance = new Float64Array(channels);
  const invStd = new Float64Array(channels);
  const scale = new Float64Array(channels);
  const offset = new Float64Array(channels);
  const g = storage.read(gamma);
  const b = storage.read(beta);
  for (let c = 0; c < channels; c++) {
    // With d = x − s: mean = s + Σd/n, Σ(x − mean)² = Σd² − (Σd)²/n.
    mean[c] = shift[c] + s1[c] / rows;
    variance[c] = Math.max(0, (s2[c] - s1[c] * s1[c] / rows) / rows);
    invStd[c] = 1 / Math.sqrt(variance[c] + epsilon);
    scale[c] = g[c] * invStd[c];
    offset[c] = b[c] - mean[c] * scale[c];
  }
  const y = simd == null
    ? storage.make([...x.shape], (out) => affineJs(out, rows, channels, scale, storage.read(x), offset))
    : affineSimd(simd, x.shape, rows, channels, [scale, x, offset]);
  return [
    y,
    storage.make([channels], (v) => v.set(mean)),
    storage.make([channels], (v) => v.set(variance)),
    storage.make([channels], (v) => v.set(invStd)),
  ];
}

function backward(
  dy: TensorInfo,
  x: TensorInfo,
  meanInfo: TensorInfo,
  invStdInfo: TensorInfo,
  gamma: TensorInfo,
  storage: Storage,
  simd?: { heap: WasmHeapBackend; kernels: SimdKernels; backend: KernelBackend },
): TensorInfo[] {
  const channels = x.shape[x.shape.length - 1];
  const rows = util.sizeFromShape(x.shape) / channels;
  const mean = Float64Array.from(storage.read(meanInfo));
  const invStd = Float64Array.from(storage.read(invStdInfo));
  const g = Float64Array.from(storage.read(gamma));
  const zero = new Float64Array(channels);
  const { s1, s2 } = simd == null
    ? momentsJs(storage.read(dy), storage.read(x), zero, mean, rows, channels)
    : momentsSimd(simd.heap, simd.kernels, simd.backend, dy, x, zero, mean, rows, channels);
  const a = new Float64Array(channels);
  const b = new Float64Array(channels);
  const c = new Float64Array(channels);
  const dGamma = new Float64Array(channels);
  for (let k = 0; k < channels; k++) {
    a[k] = g[k] * invStd[k];
    b[k] = -g[k] * invStd[k] ** 3 * s2[k] / rows;
    c[k] = -a[k] * s1[k] / rows - b[k] * mean[k];
    dGamma[k] = invStd[k] * s2[k];
  }
  const dx = simd == null
    ? storage.make(
      [...x.shape],
      (out) => affineJs(out, rows, channels, a, storage.read(dy), c, b, storage.read(x)),
    )
    : affineSimd(simd, x.shape, rows, channels, [a, dy, c], [b, x]);
  return [dx, storage.make([channels], (v) => v.set(dGamma)), storage.make([channels], (v) => v.set(s1))];
}

/** `a·u + c` (and `+ b·v`) with the SIMD kernel; the per-channel vectors go to the heap first. */
function affineSimd(
  simd: { heap: WasmHeapBackend; kernels: SimdKernels; backend: KernelBackend },
  shape: number[],
  rows: number,
  channels: number,
  [a, u, c]: [Float64Array, TensorInfo, Float64Array],
  second?: [Float64Array, TensorInfo],
): TensorInfo {
  const { heap, kernels, backend } = simd;
  const out = heap.makeOutput([...shape], "float32");
  const vectors = heap.makeOutput([3 * channels], "float32");
  try {
    const view = floatView(heap, vectors);
    view.set(a, 0);
    view.set(c, channels);
    if (second != null) view.set(second[0], 2 * channels);
    const base = addressOf(heap, vectors);
    kernels.channelAffine(
      addressOf(heap, out),
      rows,
      channels,
      base,
      addressOf(heap, u),
      base + 8 * channels,
      second == null ? 0 : addressOf(heap, second[1]),
      base + 4 * channels,
    );
  } finally {
    backend.disposeData(vectors.dataId);
  }
  return out;
}

function wasmStorage(heap: WasmHeapBackend): Storage {
  return {
    read: (info) => floatView(heap, info),
    make: (shape, fill) => {
      const out = heap.makeOutput(shape, "float32");
      fill(floatView(heap, out));
      return out;
    },
  };
}

/** SIMD kernels for `x` on the wasm heap, when they apply (float32, channels a multiple of 4). */
function simdFor(backend: KernelBackend, x: TensorInfo) {
  const heap = wasmHeap(backend);
  const memory = wasmMemory(heap);
  const channels = x.shape[x.shape.length - 1];
  const kernels = memory != null && x.dtype === "float32" && channels % 4 === 0 ? simdKernels(memory) : null;
  return kernels == null ? undefined : { heap, kernels, backend };
}

interface CpuBackend {
  data: { get(dataId: object): { values: Float32Array } };
  makeTensorInfo(shape: number[], dtype: "float32", values: Float32Array): TensorInfo;
}

function cpuStorage(backend: KernelBackend): Storage {
  const cpu = backend as unknown as CpuBackend;
  return {
    read: (info) => cpu.data.get(info.dataId).values,
    make: (shape, fill) => {
      const values = new Float32Array(util.sizeFromShape(shape));
      fill(values);
      return cpu.makeTensorInfo(shape, "float32", values);
    },
  };
}

type Args = KernelArgs<BatchNormForwardAttrs>;

/** Kernel registrations of the fused batch-norm passes on `wasm` and `cpu`. */
export const batchNormConfigs: KernelConfig[] = [
  {
    kernelName: BATCH_NORM_FORWARD,
    backendName: "wasm",
    kernelFunc: ((args: Args) => {
      const { x, gamma, beta } = args.inputs as Record<string, TensorInfo>;
      const simd = simdFor(args.backend, x);
      return forward(x, gamma, beta, args.attrs.epsilon, wasmStorage(wasmHeap(args.backend)), simd);
    }) as unknown as KernelFunc,
  },
  {
    kernelName: BATCH_NORM_BACKWARD,
    backendName: "wasm",
    kernelFunc: ((args: Args) => {
      const { dy, x, mean, invStd, gamma } = args.inputs as Record<string, TensorInfo>;
      const simd = simdFor(args.backend, x);
      return backward(dy, x, mean, invStd, gamma, wasmStorage(wasmHeap(args.backend)), simd);
    }) as unknown as KernelFunc,
  },
  {
    kernelName: BATCH_NORM_FORWARD,
    backendName: "cpu",
    kernelFunc: ((args: Args) => {
      const { x, gamma, beta } = args.inputs as Record<string, TensorInfo>;
      return forward(x, gamma, beta, args.attrs.epsilon, cpuStorage(args.backend));
    }) as unknown as KernelFunc,
  },
  {
    kernelName: BATCH_NORM_BACKWARD,
    backendName: "cpu",
    kernelFunc: ((args: Args) => {
      const { dy, x, mean, invStd, gamma } = args.inputs as Record<string, TensorInfo>;
      return backward(dy, x, mean, invStd, gamma, cpuStorage(args.backend));
    }) as unknown as KernelFunc,
  },
];
