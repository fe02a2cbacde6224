/**
 * `BatchMatMul` for the wasm backend, as XNNPACK GEMMs on the thread pool.
 *
 * tfjs-backend-wasm runs a product through XNNPACK only when neither operand is transposed, and then on one
 * thread; every transposed product (all of a dense layer's gradients) falls to a scalar triple loop. Here a
 * single (unbatched) product is a 1x1 XNNPACK convolution — `input[m, k] · filter[k, n]` — computed either as
 * `C` or as `Cᵀ = op(B)ᵀ · op(A)ᵀ`, whichever needs fewer values transposed. Matrix-vector products (one
 * output row or column) are a single pass over the matrix with float64 sums, cheaper than any copy XNNPACK
 * would need. Batched products go to the package's own kernel.
 *
 * @module
 */
import {
  BatchMatMul,
  type BatchMatMulAttrs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from "@tensorflow/tfjs-core";
import { composeKernels, type KernelArgs, type KernelCall } from "./kernel_calls.ts";
import { replacedKernel } from "./registry.ts";
import { floatView, wasmHeap } from "./heap.ts";

/**
 * `op(A)·op(B)` when `m = 1` or `n = 1`, as one sequential pass over the matrix operand: every case reduces to
 * `y = M·v` (rows of `M` dotted with `v`) or `y = Mᵀ·v` (rows of `M` scaled by `v` and summed).
 */
function matrixVector(
  args: KernelArgs<BatchMatMulAttrs>,
  m: number,
  k: number,
  n: number,
  outShape: number[],
): TensorInfo {
  const { inputs, attrs, backend } = args;
  const a = inputs.a as TensorInfo;
  const b = inputs.b as TensorInfo;
  const heap = wasmHeap(backend);
  const out = heap.makeOutput(outShape, "float32");
  const av = floatView(heap, a);
  const bv = floatView(heap, b);
  const target = floatView(heap, out);
  // n = 1: y[m] = op(A)[m, k]·b[k]; A is stored [m, k] (rows · v) or [k, m] (transposed: Σ rows·v).
  // m = 1: y[n] = a[k]·op(B)[k, n]; B is stored [n, k] (transposed: rows · v) or [k, n] (Σ rows·v).
  const [matrix, vector, rows, cols, dotRows] = n === 1
    ? [av, bv, attrs.transposeA ? k : m, attrs.transposeA ? m : k, !attrs.transposeA]
    : [bv, av, attrs.transposeB ? n : k, attrs.transposeB ? k : n, attrs.transposeB];
  if (dotRows) {
    for (let r = 0; r < rows; r++) {
      let sum = 0;
      for (let c = 0, base = r * cols; c < cols; c++) sum += matrix[base + c] * vector[c];
      target[r] = sum;
    }
  } else {
    const sums = new Float64Array(cols);
    for (let r = 0; r < rows; r++) {
      const scale = vector[r];
      for (let c = 0, base = r * cols; c < cols; c++) sums[c] += matrix[base + c] * scale;
    }
    target.set(sums);
  }
  return out;
}

/** `x` (`[r, c]` stored row-major) as a `[r, c]` matrix, or as its transpose `[c, r]` when `transpose`. */
function matrix(call: KernelCall, x: TensorInfo, rows: number, cols: number, transpose: boolean): TensorInfo {
  const flat = call("Reshape", { x }, { shape: [rows, cols] });
  return transpose ? call("Transpose", { x: flat }, { perm: [1, 0] }) : flat;
}

function gemm(
  call: KernelCall,
  input: TensorInfo,
  filter: TensorInfo,
  m: number,
  k: number,
  n: number,
): TensorInfo {
  const product = call("Conv2D", {
    x: call("Reshape", { x: input }, { shape: [1, 1, m, k] }),
    filter: call("Reshape", { x: filter }, { shape: [1, 1, k, n] }),
  }, { strides: [1, 1], pad: "valid", dataFormat: "NHWC", dilations: [1, 1] });
  return call("Reshape", { x: product }, { shape: [m, n] });
}

function batchMatMul(args: KernelArgs<BatchMatMulAttrs>): TensorInfo {
  const { inputs, attrs, backend } = args;
  const a = inputs.a as TensorInfo;
  const b = inputs.b as TensorInfo;
  const { transposeA, transposeB } = attrs;
  const batchA = a.shape.slice(0, -2).reduce((p, v) => p * v, 1);
  const batchB = b.shape.slice(0, -2).reduce((p, v) => p * v, 1);
  if (batchA !== 1 || batchB !== 1 || a.dtype !== "float32" || b.dtype !== "float32") {
    return replacedKernel(BatchMatMul, "wasm")(args as never) as TensorInfo;
  }
  const [aRows, aCols] = a.shape.slice(-2);
  const [bRows, bCols] = b.shape.slice(-2);
  const m = transposeA ? aCols : aRows;
  const k = transposeA ? aRows : aCols;
  const n = transposeB ? bRows : bCols;
  const outShape = [...(a.shape.length >= b.shape.length ? a.shape : b.shape).slice(0, -2), m, n];
  if (m === 1 || n === 1) return matrixVector(args, m, k, n, outShape);
  // Values transposed by each orientation: C = op(A)·op(B) needs A stored [m, k] and B stored [k, n];
  // Cᵀ = op(B)ᵀ·op(A)ᵀ needs B stored [n, k], A stored [k, m], and the [n, m] result transposed.
  const direct = (transposeA ? m * k : 0) + (transposeB ? k * n : 0);
  const swapped = (transposeB ? 0 : k * n) + (transposeA ? 0 : m * k) + m * n;
  return composeKernels(backend, "wasm", ({ call }) => {
    let product: TensorInfo;
    if (direct <= swapped) {
      product = gemm(
        call,
        matrix(call, a, aRows, aCols, transposeA),
        matrix(call, b, bRows, bCols, transposeB),
        m,
        k,
        n,
      );
    } else {
      const transposed = gemm(
        call,
        matrix(call, b, bRows, bCols, !transposeB),
        matrix(call, a, aRows, aCols, !transposeA),
        n,
        k,
        m,
      );
      product = call("Transpose", { x: transposed }, { perm: [1, 0] });
    }
    return call("Reshape", { x: product }, { shape: outShape });
  });
}

/** Kernel registration for `BatchMatMul` on wasm. */
export const batchMatMulConfig: KernelConfig = {
  kernelName: BatchMatMul,
  backendName: "wasm",
  kernelFunc: batchMatMul as unknown as KernelFunc,
};
