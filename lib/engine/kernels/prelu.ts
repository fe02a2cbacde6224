/**
 * The PReLU gradient as one fused kernel for the `wasm` (SIMD on the heap) and `cpu` backends;
 * {@linkcode preluTrain} in `ops.ts` uses it where it is registered.
 *
 * `MaskinvPreluBackward(dy, x, alpha) → [dx, dα]`: `dx = dy · (x > 0 ? 1 : α)` and `dα = Σ dy · min(x, 0)`
 * (PyTorch's convention at `x = 0`), one pass instead of the five kernels of the composed formula. Sums are
 * gathered in float64 (blocks of rows in float32 on wasm).
 *
 * @module
 */
import {
  type KernelBackend,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
  util,
} from "@tensorflow/tfjs-core";
import type { KernelArgs } from "./kernel_calls.ts";
import { addressOf, floatView, wasmHeap, wasmMemory } from "./heap.ts";
import { simdKernels } from "./simd.ts";

/** Kernel name of the fused PReLU gradient. */
export const PRELU_BACKWARD = "MaskinvPreluBackward";

/** Rows per float32 block of the SIMD sums. */
const BLOCK_ROWS = 256;

/** The gradient with plain loops over float32 views (`dx` is written in place). */
function preluBackwardJs(
  dy: Float32Array,
  x: Float32Array,
  alpha: Float32Array,
  dx: Float32Array,
  rows: number,
  channels: number,
): Float64Array {
  const sums = new Float64Array(channels);
  for (let r = 0, base = 0; r < rows; r++, base += channels) {
    for (let c = 0; c < channels; c++) {
      const value = x[base + c];
      const g = dy[base + c];
      if (value > 0) {
        dx[base + c] = g;
      } else {
        dx[base + c] = g * alpha[c];
        sums[c] += g * value;
      }
    }
  }
  return sums;
}

function wasmPreluBackward(args: KernelArgs<Record<string, never>>): TensorInfo[] {
  const { dy, x, alpha } = args.inputs as Record<string, TensorInfo>;
  const backend = args.backend;
  const heap = wasmHeap(backend);
  const channels = x.shape[x.shape.length - 1];
  const rows = util.sizeFromShape(x.shape) / channels;
  const dx = heap.makeOutput([...x.shape], "float32");
  const memory = wasmMemory(heap);
  const kernels = memory != null && channels % 4 === 0 && x.dtype === "float32" ? simdKernels(memory) : null;
  let sums: Float64Array;
  if (kernels == null) {
    sums = preluBackwardJs(
      floatView(heap, dy),
      floatView(heap, x),
      floatView(heap, alpha),
      floatView(heap, dx),
      rows,
      channels,
    );
  } else {
    sums = new Float64Array(channels);
    const scratch = heap.makeOutput([channels], "float32");
    try {
      const rowBytes = channels * 4;
      for (let first = 0; first < rows; first += BLOCK_ROWS) {
        const count = Math.min(BLOCK_ROWS, rows - first);
        floatView(heap, scratch).fill(0);
        kernels.preluBackward(
          addressOf(heap, dy) + first * rowBytes,
          addressOf(heap, x) + first * rowBytes,
          addressOf(heap, alpha),
          count,
          channels,
          addressOf(heap, dx) + first * rowBytes,
          addressOf(heap, scratch),
        );
        const block = floatView(heap, scratch);
        for (let c = 0; c < channels; c++) sums[c] += block[c];
      }
    } finally {
      backend.disposeData(scratch.dataId);
    }
  }
  const dAlpha = heap.makeOutput([channels], "float32");
  floatView(heap, dAlpha).set(sums);
  return [dx, dAlpha];
}

interface CpuBackend {
  data: { get(dataId: object): { values: Float32Array } };
  makeTensorInfo(shape: number[], dtype: "float32", values: Float32Array): TensorInfo;
}

function cpuPreluBackward(args: KernelArgs<Record<string, never>>): TensorInfo[] {
  const { dy, x, alpha } = args.inputs as Record<string, TensorInfo>;
  const cpu = args.backend as unknown as CpuBackend & KernelBackend;
  const channels = x.shape[x.shape.length - 1];
  const rows = util.sizeFromShape(x.shape) / channels;
  const dx = new Float32Array(rows * channels);
  const sums = preluBackwardJs(
    cpu.data.get(dy.dataId).values,
    cpu.data.get(x.dataId).values,
    cpu.data.get(alpha.dataId).values,
    dx,
    rows,
    channels,
  );
  return [
    cpu.makeTensorInfo([...x.shape], "float32", dx),
    cpu.makeTensorInfo([channels], "float32", Float32Array.from(sums)),
  ];
}

/** Kernel registrations of the fused PReLU gradient on `wasm` and `cpu`. */
export const preluConfigs: KernelConfig[] = [
  { kernelName: PRELU_BACKWARD, backendName: "wasm", kernelFunc: wasmPreluBackward as unknown as KernelFunc },
  { kernelName: PRELU_BACKWARD, backendName: "cpu", kernelFunc: cpuPreluBackward as unknown as KernelFunc },
];
