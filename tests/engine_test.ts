/**
 * The engine: backend choice, and maskinv's wasm gradient kernels checked against the plain cpu backend.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import {
  BackendUnavailableError,
  installLeanGradients,
  profileKernels,
  useBackend,
  wasmTrainingKernelNames,
} from "../lib/engine/mod.ts";
import { findThreadpoolAddress } from "../lib/engine/wasm_threads.ts";
import { Rng } from "../lib/util/random.ts";
import { scaledError } from "./numeric_helpers.ts";

type Attrs = Record<string, unknown>;
interface KernelCase {
  label: string;
  kernel: string;
  inputs: Record<string, { shape: number[]; seed: number }>;
  attrs: Attrs;
}

function randomValues(shape: number[], seed: number): Float32Array {
  const rng = new Rng(seed);
  const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < values.length; i++) values[i] = rng.range(-1, 1);
  return values;
}

/** Runs one kernel on `backend` with fresh inputs and returns its output values and shape. */
async function runOn(
  backend: "cpu" | "wasm",
  c: KernelCase,
): Promise<{ values: Float32Array; shape: number[] }> {
  await useBackend(backend);
  return tf.tidy(() => {
    const inputs: Record<string, tf.Tensor> = {};
    for (const [name, spec] of Object.entries(c.inputs)) {
      inputs[name] = tf.tensor(randomValues(spec.shape, spec.seed), spec.shape);
    }
    const out = tf.engine().runKernel(c.kernel, inputs, c.attrs as tf.NamedAttrMap) as tf.Tensor;
    return { values: out.dataSync() as Float32Array, shape: out.shape };
  });
}

function outSize(size: number, filter: number, stride: number, pad: "same" | "valid"): number {
  return pad === "same" ? Math.ceil(size / stride) : Math.ceil((size - filter + 1) / stride);
}

const kernelCases: KernelCase[] = [];
let seed = 1;
for (const [n, h, w] of [[2, 7, 9], [1, 8, 8], [3, 5, 6]]) {
  for (const [k, stride] of [[1, 1], [3, 1], [3, 2], [5, 2], [2, 2]]) {
    for (const pad of ["same", "valid"] as const) {
      if (pad === "valid" && (k > h || k > w)) continue;
      const oh = outSize(h, k, stride, pad);
      const ow = outSize(w, k, stride, pad);
      const ci = 3 + (seed % 3);
      const co = 4 + (seed % 4);
      const tag = `n${n} ${h}x${w} k${k} s${stride} ${pad}`;
      kernelCases.push({
        label: `Conv2DBackpropFilter ${tag} ci${ci} co${co}`,
        kernel: "Conv2DBackpropFilter",
        inputs: { x: { shape: [n, h, w, ci], seed: seed++ }, dy: { shape: [n, oh, ow, co], seed: seed++ } },
        attrs: { strides: [stride, stride], pad, dataFormat: "NHWC", filterShape: [k, k, ci, co] },
      });
      kernelCases.push({
        label: `Conv2DBackpropInput ${tag} ci${ci} co${co}`,
        kernel: "Conv2DBackpropInput",
        inputs: {
          dy: { shape: [n, oh, ow, co], seed: seed++ },
          filter: { shape: [k, k, ci, co], seed: seed++ },
        },
        attrs: { strides: [stride, stride], pad, dataFormat: "NHWC", inputShape: [n, h, w, ci] },
      });
      for (const multiplier of [1, 2]) {
        const c = 2 + (seed % 5);
        kernelCases.push({
          label: `DepthwiseConv2dNativeBackpropFilter ${tag} c${c} m${multiplier}`,
          kernel: "DepthwiseConv2dNativeBackpropFilter",
          inputs: {
            x: { shape: [n, h, w, c], seed: seed++ },
            dy: { shape: [n, oh, ow, c * multiplier], seed: seed++ },
          },
          attrs: { strides: [stride, stride], pad, dilations: [1, 1], filterShape: [k, k, c, multiplier] },
        });
        kernelCases.push({
          label: `DepthwiseConv2dNativeBackpropInput ${tag} c${c} m${multiplier}`,
          kernel: "DepthwiseConv2dNativeBackpropInput",
          inputs: {
            dy: { shape: [n, oh, ow, c * multiplier], seed: seed++ },
            filter: { shape: [k, k, c, multiplier], seed: seed++ },
          },
          attrs: { strides: [stride, stride], pad, dilations: [1, 1], inputShape: [n, h, w, c] },
        });
      }
    }
  }
}
// Explicit, asymmetric padding (as PyTorch-style padding=1 with stride 2 resolves to).
kernelCases.push({
  label: "Conv2DBackpropFilter explicit padding [[0,0],[1,0],[0,1],[0,0]] s2",
  kernel: "Conv2DBackpropFilter",
  inputs: { x: { shape: [2, 8, 7, 3], seed: seed++ }, dy: { shape: [2, 4, 3, 5], seed: seed++ } },
  attrs: {
    strides: [2, 2],
    pad: [[0, 0], [1, 0], [0, 1], [0, 0]],
    dataFormat: "NHWC",
    filterShape: [3, 3, 3, 5],
  },
});
kernelCases.push({
  label: "Conv2DBackpropInput explicit padding [[0,0],[1,1],[1,1],[0,0]] s2",
  kernel: "Conv2DBackpropInput",
  inputs: { dy: { shape: [2, 4, 4, 5], seed: seed++ }, filter: { shape: [3, 3, 3, 5], seed: seed++ } },
  attrs: {
    strides: [2, 2],
    pad: [[0, 0], [1, 1], [1, 1], [0, 0]],
    dataFormat: "NHWC",
    inputShape: [2, 8, 7, 3],
  },
});
// The 7x7 "GDC" depthwise layer of MobileFaceNet: valid padding, output 1x1.
kernelCases.push({
  label: "DepthwiseConv2dNativeBackpropFilter GDC 7x7 valid",
  kernel: "DepthwiseConv2dNativeBackpropFilter",
  inputs: { x: { shape: [4, 7, 7, 16], seed: seed++ }, dy: { shape: [4, 1, 1, 16], seed: seed++ } },
  attrs: { strides: [1, 1], pad: "valid", dilations: [1, 1], filterShape: [7, 7, 16, 1] },
});
kernelCases.push({
  label: "DepthwiseConv2dNativeBackpropInput GDC 7x7 valid",
  kernel: "DepthwiseConv2dNativeBackpropInput",
  inputs: { dy: { shape: [4, 1, 1, 16], seed: seed++ }, filter: { shape: [7, 7, 16, 1], seed: seed++ } },
  attrs: { strides: [1, 1], pad: "valid", dilations: [1, 1], inputShape: [4, 7, 7, 16] },
});

// Transposed convolutions whose filter is smaller than the stride (phases without taps) or the stride 3.
for (
  const [k, stride, pad, h, w] of [[1, 2, "valid", 8, 7], [1, 2, "same", 7, 9], [3, 3, "same", 10, 8], [
    2,
    3,
    "valid",
    9,
    11,
  ]] as const
) {
  const oh = outSize(h, k, stride, pad);
  const ow = outSize(w, k, stride, pad);
  const tag = `n2 ${h}x${w} k${k} s${stride} ${pad}`;
  kernelCases.push({
    label: `Conv2DBackpropInput ${tag}`,
    kernel: "Conv2DBackpropInput",
    inputs: { dy: { shape: [2, oh, ow, 6], seed: seed++ }, filter: { shape: [k, k, 5, 6], seed: seed++ } },
    attrs: { strides: [stride, stride], pad, dataFormat: "NHWC", inputShape: [2, h, w, 5] },
  });
  kernelCases.push({
    label: `Conv2DBackpropFilter ${tag}`,
    kernel: "Conv2DBackpropFilter",
    inputs: { x: { shape: [2, h, w, 5], seed: seed++ }, dy: { shape: [2, oh, ow, 6], seed: seed++ } },
    attrs: { strides: [stride, stride], pad, dataFormat: "NHWC", filterShape: [k, k, 5, 6] },
  });
}
// Wider channels (more input than output channels, and the reverse) as the networks use them.
kernelCases.push({
  label: "Conv2DBackpropFilter 3x3 s1 same ci24 co40",
  kernel: "Conv2DBackpropFilter",
  inputs: { x: { shape: [3, 9, 9, 24], seed: seed++ }, dy: { shape: [3, 9, 9, 40], seed: seed++ } },
  attrs: {
    strides: [1, 1],
    pad: [[0, 0], [1, 1], [1, 1], [0, 0]],
    dataFormat: "NHWC",
    filterShape: [3, 3, 24, 40],
  },
});
kernelCases.push({
  label: "Conv2DBackpropFilter 1x1 s1 ci40 co24",
  kernel: "Conv2DBackpropFilter",
  inputs: { x: { shape: [3, 6, 5, 40], seed: seed++ }, dy: { shape: [3, 6, 5, 24], seed: seed++ } },
  attrs: { strides: [1, 1], pad: "valid", dataFormat: "NHWC", filterShape: [1, 1, 40, 24] },
});
kernelCases.push({
  label: "Conv2DBackpropInput 3x3 s2 pad 1 ci24 co40",
  kernel: "Conv2DBackpropInput",
  inputs: { dy: { shape: [3, 5, 5, 40], seed: seed++ }, filter: { shape: [3, 3, 24, 40], seed: seed++ } },
  attrs: {
    strides: [2, 2],
    pad: [[0, 0], [1, 1], [1, 1], [0, 0]],
    dataFormat: "NHWC",
    inputShape: [3, 9, 10, 24],
  },
});
// The forward kernels maskinv replaces on wasm (copies, reductions, products).
for (
  const [begin, size, shape] of [
    [[1, 0, 2, 0], [2, 4, 3, 5], [3, 4, 6, 5]],
    [[0, 1, 0, 1], [3, 2, 6, 3], [3, 4, 6, 5]],
    [[0, 0, 0, 0], [1, 4, 6, 5], [3, 4, 6, 5]],
    [[2, 3], [1, 4], [4, 7]],
    [[1], [5], [9]],
  ] as const
) {
  kernelCases.push({
    label: `Slice [${shape}] begin [${begin}] size [${size}]`,
    kernel: "Slice",
    inputs: { x: { shape: [...shape], seed: seed++ } },
    attrs: { begin: [...begin], size: [...size] },
  });
}
for (const kernel of ["Sum", "Mean"]) {
  for (
    const [shape, axis, keepDims] of [
      [[6, 5, 4, 7], [0, 1, 2], false],
      [[6, 5, 4, 7], [0, 1, 2], true],
      [[37, 9], [0], false],
      [[6, 5, 4, 7], [1, 2], false],
      [[6, 5, 4, 7], [3], true],
      [[8, 3], [0, 1], false],
    ] as const
  ) {
    kernelCases.push({
      label: `${kernel} [${shape}] axis [${axis}] keepDims ${keepDims}`,
      kernel,
      inputs: { x: { shape: [...shape], seed: seed++ } },
      attrs: { axis: [...axis], keepDims },
    });
  }
}
kernelCases.push({
  label: "Identity [3, 4, 5]",
  kernel: "Identity",
  inputs: { x: { shape: [3, 4, 5], seed: seed++ } },
  attrs: {},
});
for (const [transposeA, transposeB] of [[false, false], [true, false], [false, true], [true, true]]) {
  for (const [m, k, n] of [[7, 13, 5], [40, 3, 9], [2, 50, 33], [1, 30, 7], [9, 40, 1], [1, 5, 1]]) {
    kernelCases.push({
      label: `BatchMatMul m${m} k${k} n${n} transposeA ${transposeA} transposeB ${transposeB}`,
      kernel: "BatchMatMul",
      inputs: {
        a: { shape: transposeA ? [1, k, m] : [1, m, k], seed: seed++ },
        b: { shape: transposeB ? [1, n, k] : [1, k, n], seed: seed++ },
      },
      attrs: { transposeA, transposeB },
    });
  }
}
kernelCases.push({
  label: "BatchMatMul batched [3, 4, 6] x [3, 6, 5] (the package's kernel)",
  kernel: "BatchMatMul",
  inputs: { a: { shape: [3, 4, 6], seed: seed++ }, b: { shape: [3, 6, 5], seed: seed++ } },
  attrs: { transposeA: false, transposeB: false },
});

// 3x3 stride-1 convolutions large enough for the Winograd path: same, valid and asymmetric padding, odd
// and even output sizes, input and output channels both multiples of 4.
for (
  const [h, w, pad] of [[30, 28, "same"], [29, 31, "valid"], [27, 26, [[0, 0], [2, 0], [0, 1], [
    0,
    0,
  ]]]] as const
) {
  kernelCases.push({
    label: `Conv2D (Winograd) ${h}x${w} 3x3 pad ${JSON.stringify(pad)} ci16 co24`,
    kernel: "Conv2D",
    inputs: { x: { shape: [3, h, w, 16], seed: seed++ }, filter: { shape: [3, 3, 16, 24], seed: seed++ } },
    attrs: { strides: [1, 1], pad, dataFormat: "NHWC", dilations: [1, 1] },
  });
}
kernelCases.push({
  label: "Conv2D 3x3 stride 2 (XNNPACK) ci5 co6",
  kernel: "Conv2D",
  inputs: { x: { shape: [2, 9, 8, 5], seed: seed++ }, filter: { shape: [3, 3, 5, 6], seed: seed++ } },
  attrs: { strides: [2, 2], pad: "same", dataFormat: "NHWC", dilations: [1, 1] },
});
kernelCases.push({
  label: "Conv2DBackpropInput 3x3 s1 (Winograd on the rotated filter) ci20 co16",
  kernel: "Conv2DBackpropInput",
  inputs: { dy: { shape: [3, 28, 26, 16], seed: seed++ }, filter: { shape: [3, 3, 20, 16], seed: seed++ } },
  attrs: { strides: [1, 1], pad: "same", dataFormat: "NHWC", inputShape: [3, 28, 26, 20] },
});

// Depthwise filter gradients with channels a multiple of 4 (the SIMD kernel), strides 1 and 2.
for (
  const [h, w, k, stride, pad, c] of [[9, 8, 3, 1, "same", 8], [11, 10, 3, 2, "valid", 12], [
    7,
    9,
    5,
    2,
    "same",
    4,
  ]] as const
) {
  const oh = outSize(h, k, stride, pad);
  const ow = outSize(w, k, stride, pad);
  kernelCases.push({
    label: `DepthwiseConv2dNativeBackpropFilter SIMD ${h}x${w} k${k} s${stride} ${pad} c${c}`,
    kernel: "DepthwiseConv2dNativeBackpropFilter",
    inputs: { x: { shape: [3, h, w, c], seed: seed++ }, dy: { shape: [3, oh, ow, c], seed: seed++ } },
    attrs: { strides: [stride, stride], pad, dilations: [1, 1], filterShape: [k, k, c, 1] },
  });
}

Deno.test("every stand-in kernel is exercised by the parity cases", () => {
  const covered = new Set(kernelCases.map((c) => c.kernel));
  covered.add("OneHot"); // its own test below (integer indices)
  for (const name of wasmTrainingKernelNames) assert.ok(covered.has(name), `no parity case for ${name}`);
});

Deno.test(`maskinv's wasm kernels match the cpu backend to 1e-4 relative (${kernelCases.length} cases)`, async () => {
  const failures: string[] = [];
  for (const c of kernelCases) {
    const expected = await runOn("cpu", c);
    const actual = await runOn("wasm", c);
    assert.deepEqual(actual.shape, expected.shape, `${c.label}: shape`);
    const error = scaledError(actual.values, expected.values);
    if (!(error <= 1e-4)) failures.push(`${c.label}: relative error ${error.toExponential(2)}`);
  }
  assert.deepEqual(failures, []);
});

Deno.test("the filter gradient gives the same values when its positions are cut into many chunks", async () => {
  const { setFilterGradientChunk } = await import("../lib/engine/kernels/conv2d_backprop_filter.ts");
  const chunked = kernelCases.filter((c) => c.kernel === "Conv2DBackpropFilter").slice(0, 12);
  try {
    setFilterGradientChunk(1); // one image per GEMM
    for (const c of chunked) {
      const expected = await runOn("cpu", c);
      const actual = await runOn("wasm", c);
      const error = scaledError(actual.values, expected.values);
      assert.ok(error <= 1e-4, `${c.label}: relative error ${error.toExponential(2)}`);
    }
  } finally {
    setFilterGradientChunk(4096);
  }
});

/** A small conv net: conv3x3(c→8,s1)+relu, depthwise3x3(s2)+relu, conv3x3(→16,s2)+relu, mean-pool, dense. */
function makeSmallNet(seed: number, channels = 3, classes = 5) {
  const rng = new Rng(seed);
  const init = (shape: number[], scale: number) => {
    const v = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < v.length; i++) v[i] = rng.normal(0, scale);
    return tf.variable(tf.tensor(v, shape));
  };
  const params = {
    w1: init([3, 3, channels, 8], 0.3),
    dw: init([3, 3, 8, 1], 0.3),
    w2: init([3, 3, 8, 16], 0.2),
    fc: init([16, classes], 0.3),
  };
  const forward = (x: tf.Tensor4D) =>
    tf.tidy(() => {
      let h = tf.relu(tf.conv2d(x, params.w1 as tf.Tensor4D, 1, "same"));
      h = tf.relu(tf.depthwiseConv2d(h, params.dw as tf.Tensor4D, 2, "same"));
      h = tf.relu(tf.conv2d(h, params.w2 as tf.Tensor4D, 2, "same"));
      return tf.matMul(tf.mean(h, [1, 2]), params.fc as tf.Tensor2D);
    });
  return { params, forward };
}

function syntheticBatch(seed: number, n = 16, size = 12, classes = 5) {
  const rng = new Rng(seed);
  const labels = Array.from({ length: n }, () => rng.int(0, classes));
  const values = new Float32Array(n * size * size * 3);
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < size * size * 3; p++) {
      // Each class lights up its own channel/stripe pattern plus noise, so the task is learnable.
      const row = Math.floor(p / (size * 3));
      values[i * size * size * 3 + p] = ((row + labels[i]) % classes === 0 ? 1 : 0) + rng.normal(0, 0.3);
    }
  }
  return { x: tf.tensor4d(values, [n, size, size, 3]), y: tf.oneHot(tf.tensor1d(labels, "int32"), classes) };
}

async function trainLosses(backend: "cpu" | "wasm", steps: number): Promise<number[]> {
  await useBackend(backend);
  const net = makeSmallNet(11);
  const { x, y } = syntheticBatch(5);
  const vars = Object.values(net.params);
  const losses: number[] = [];
  for (let step = 0; step < steps; step++) {
    const loss = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(
        () => tf.losses.softmaxCrossEntropy(y, net.forward(x)) as tf.Scalar,
        vars,
      );
      for (const v of vars) v.assign(tf.sub(v, tf.mul(grads[v.name], 0.1)));
      return value.dataSync()[0];
    });
    losses.push(loss);
  }
  tf.dispose([x, y, ...vars]);
  return losses;
}

Deno.test("a 20-step training run of a small conv net on wasm lowers the loss", async () => {
  const losses = await trainLosses("wasm", 20);
  assert.ok(losses.every(Number.isFinite), "finite losses");
  assert.ok(losses[19] < 0.7 * losses[0], `loss ${losses[0].toFixed(4)} → ${losses[19].toFixed(4)}`);
});

Deno.test("a 50-step loss curve on wasm equals the cpu backend's to 1e-3", async () => {
  const onCpu = await trainLosses("cpu", 50);
  const onWasm = await trainLosses("wasm", 50);
  const worst = Math.max(...onCpu.map((l, i) => Math.abs(l - onWasm[i]) / Math.max(1e-6, Math.abs(l))));
  assert.ok(worst <= 1e-3, `largest relative loss difference ${worst.toExponential(2)}`);
});

Deno.test("training on wasm does not leak tensors", async () => {
  await useBackend("wasm");
  const net = makeSmallNet(3);
  const { x, y } = syntheticBatch(9);
  const vars = Object.values(net.params);
  const step = () =>
    tf.tidy(() => {
      const { grads } = tf.variableGrads(
        () => tf.losses.softmaxCrossEntropy(y, net.forward(x)) as tf.Scalar,
        vars,
      );
      for (const v of vars) v.assign(tf.sub(v, tf.mul(grads[v.name], 0.01)));
    });
  step();
  const before = tf.memory().numTensors;
  for (let i = 0; i < 25; i++) step();
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([x, y, ...vars]);
});

Deno.test("MASKINV_BACKEND=bogus fails with an error naming the variable and the choices", async () => {
  const saved = Deno.env.get("MASKINV_BACKEND");
  Deno.env.set("MASKINV_BACKEND", "bogus");
  try {
    await assert.rejects(() => useBackend("auto"), (error: unknown) => {
      assert.ok(error instanceof BackendUnavailableError);
      assert.match(error.message, /MASKINV_BACKEND "bogus"/);
      assert.match(error.message, /wasm/);
      return true;
    });
  } finally {
    if (saved === undefined) Deno.env.delete("MASKINV_BACKEND");
    else Deno.env.set("MASKINV_BACKEND", saved);
  }
});

Deno.test("an unknown explicit engine is an error, never a silent fallback", async () => {
  await assert.rejects(() => useBackend("tpu"), BackendUnavailableError);
});

Deno.test("the tensorflow engine, when not installed, names what to install", async () => {
  let installed = true;
  try {
    await Deno.stat("node_modules/@tensorflow/tfjs-node");
  } catch {
    installed = false;
  }
  if (installed) return;
  await assert.rejects(() => useBackend("tensorflow"), /setup:gpu/);
});

Deno.test("auto picks a working engine and reports it", async () => {
  const saved = Deno.env.get("MASKINV_BACKEND");
  Deno.env.delete("MASKINV_BACKEND");
  try {
    const info = await useBackend("auto");
    assert.equal(tf.getBackend(), info.name);
    assert.ok(info.canTrain);
    // auto never takes a software WebGPU adapter
    assert.ok(!(info.name === "webgpu" && info.device.includes("fallback")));
  } finally {
    if (saved !== undefined) Deno.env.set("MASKINV_BACKEND", saved);
  }
});

Deno.test("batchNormTrain matches automatic differentiation of the textbook formula (values and gradients)", async () => {
  const { batchNormTrain } = await import("../lib/engine/ops.ts");
  for (const backend of ["cpu", "wasm"] as const) {
    await useBackend(backend);
    for (const shape of [[4, 5, 3, 6], [7, 9], [4, 7, 5, 8], [300, 12]]) {
      const channels = shape[shape.length - 1];
      // A large mean on the wide cases: the fused kernels shift their sums. Batch norm ignores a constant
      // shift, and `x − offset` is exact, so the float32 reference runs on the centred values.
      const offset = channels % 4 === 0 ? 100 : 0;
      const x = tf.add(tf.tensor(randomValues(shape, 1), shape), offset);
      const gamma = tf.tensor1d(randomValues([channels], 2));
      const beta = tf.tensor1d(randomValues([channels], 3));
      const dy = tf.tensor(randomValues(shape, 4), shape);
      const axes = shape.slice(0, -1).map((_, i) => i);
      const reference = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
        const centred = tf.sub(a, offset);
        const { mean, variance } = tf.moments(centred, axes);
        return tf.add(tf.mul(tf.div(tf.sub(centred, mean), tf.sqrt(tf.add(variance, 1e-5))), g), b);
      };
      let seenMean: number[] = [];
      const ours = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
        batchNormTrain(a, g as tf.Tensor1D, b as tf.Tensor1D, {
          onStats: (mean) => (seenMean = Array.from(mean.dataSync())),
        });
      const expected = tf.grads((a, g, b) => tf.sum(tf.mul(reference(a, g, b), dy)))([x, gamma, beta]);
      const actual = tf.grads((a, g, b) => tf.sum(tf.mul(ours(a, g, b), dy)))([x, gamma, beta]);
      const forward = [ours(x, gamma, beta), reference(x, gamma, beta)];
      const forwardError = scaledError(
        forward[0].dataSync() as Float32Array,
        forward[1].dataSync() as Float32Array,
      );
      assert.ok(forwardError < 1e-5, `${backend} ${shape} forward: ${forwardError}`);
      for (let i = 0; i < 3; i++) {
        const error = scaledError(
          actual[i].dataSync() as Float32Array,
          expected[i].dataSync() as Float32Array,
        );
        assert.ok(error < 1e-4, `${backend} ${shape} gradient ${i}: ${error}`);
      }
      const meanExpected = Array.from(tf.add(tf.mean(tf.sub(x, offset), axes), offset).dataSync());
      seenMean.forEach((m, i) => assert.ok(Math.abs(m - meanExpected[i]) < 1e-5 * (1 + offset)));
      tf.dispose([x, gamma, beta, dy, ...expected, ...actual, ...forward]);
    }
  }
});

/** A net that exercises custom gradients, shared inputs and residual sums (dy passed to two inputs). */
function residualLoss(x: tf.Tensor4D, w: tf.Variable, gamma: tf.Variable, dw: tf.Variable) {
  return async () => {
    const { batchNormTrain } = await import("../lib/engine/ops.ts");
    return () => {
      const h = tf.conv2d(x, w as unknown as tf.Tensor4D, 1, "same");
      const normed = batchNormTrain(h, gamma as unknown as tf.Tensor1D, tf.zerosLike(gamma) as tf.Tensor1D);
      const branch = tf.depthwiseConv2d(tf.relu(normed), dw as unknown as tf.Tensor4D, 2, "same");
      const shortcut = tf.avgPool(h, 2, 2, "same");
      const sum = tf.add(branch, shortcut);
      return tf.mean(tf.square(tf.add(sum, tf.mul(sum, sum)))) as tf.Scalar;
    };
  };
}

Deno.test("lean back-propagation gives TensorFlow.js's gradients exactly, with less memory held", async () => {
  await useBackend("wasm");
  const rng = new Rng(21);
  const values = (n: number) => Float32Array.from({ length: n }, () => rng.range(-1, 1));
  const x = tf.tensor4d(values(4 * 12 * 12 * 3), [4, 12, 12, 3]);
  const w = tf.variable(tf.tensor4d(values(3 * 3 * 3 * 6), [3, 3, 3, 6]));
  const gamma = tf.variable(tf.tensor1d(values(6)));
  const dw = tf.variable(tf.tensor4d(values(3 * 3 * 6 * 1), [3, 3, 6, 1]));
  const loss = await residualLoss(x, w, gamma, dw)();
  const run = (lean: boolean) => {
    installLeanGradients(lean);
    let peak = 0;
    const profiler = profileKernels();
    const probe = tf.getKernel("Add", "wasm")!;
    const add = probe.kernelFunc;
    (probe as { kernelFunc: tf.KernelFunc }).kernelFunc = (args) => {
      peak = Math.max(peak, tf.memory().numBytes);
      return add(args);
    };
    try {
      const { value, grads } = tf.variableGrads(loss, [w, gamma, dw]);
      const result = {
        loss: value.dataSync()[0],
        grads: [w, gamma, dw].map((v) => Array.from(grads[v.name].dataSync())),
      };
      tf.dispose([value, ...Object.values(grads)]);
      return { ...result, peak };
    } finally {
      (probe as { kernelFunc: tf.KernelFunc }).kernelFunc = add;
      profiler.stop();
    }
  };
  try {
    const before = tf.memory().numTensors;
    const original = run(false);
    const lean = run(true);
    assert.equal(tf.memory().numTensors, before, "no tensor left behind");
    assert.equal(lean.loss, original.loss);
    assert.deepEqual(lean.grads, original.grads);
    assert.ok(
      lean.peak < original.peak,
      `peak bytes during backward: lean ${lean.peak}, original ${original.peak}`,
    );
    // Higher-order gradients keep TensorFlow.js's implementation and still work.
    const second = tf.grad((v: tf.Tensor) => tf.grad((u: tf.Tensor) => tf.sum(tf.pow(u, 3)))(v))(
      tf.tensor1d([2]),
    );
    assert.deepEqual(Array.from(second.dataSync()), [12]);
    second.dispose();
  } finally {
    installLeanGradients(true);
    tf.dispose([x, w, gamma, dw]);
  }
});

Deno.test("the kernel profiler times kernels, names nested calls after their caller, and restores them", async () => {
  await useBackend("wasm");
  const before = tf.getKernel("Conv2DBackpropFilter", "wasm")!.kernelFunc;
  const profiler = profileKernels({ nested: true, clock: "cpu" });
  tf.tidy(() => {
    const x = tf.ones([2, 6, 6, 3]) as tf.Tensor4D;
    tf.grad((f: tf.Tensor) => tf.sum(tf.conv2d(x, f as tf.Tensor4D, 1, "same")))(tf.ones([3, 3, 3, 4]))
      .dataSync();
  });
  profiler.stop();
  const names = profiler.table().map((t) => t.kernel);
  assert.ok(names.includes("Conv2DBackpropFilter"), names.join());
  assert.ok(names.some((n) => n.startsWith("Conv2DBackpropFilter>")), names.join());
  assert.ok(profiler.table().every((t) => t.calls > 0 && t.selfMs >= 0 && t.totalMs >= t.selfMs - 1e-9));
  assert.equal(tf.getKernel("Conv2DBackpropFilter", "wasm")!.kernelFunc, before);
});

const threaded = navigator.hardwareConcurrency > 1;
if (!threaded) console.warn("skipping the multi-threaded wasm checks: this machine has one logical core");

Deno.test({
  name: "wasm runs on several threads and computes exactly what one thread computes",
  ignore: !threaded,
  fn: async () => {
    const info = await useBackend("wasm");
    assert.equal(info.threads, Math.min(navigator.hardwareConcurrency, 8), info.device);
    // Big enough for XNNPACK's pool (convolutions of ≥ 32M multiply-adds), in fresh processes.
    const script = `
      import * as tf from "@tensorflow/tfjs-core";
      import { useBackend } from "${new URL("../lib/engine/mod.ts", import.meta.url).href}";
      const info = await useBackend("wasm");
      const x = tf.randomUniform([8, 32, 32, 32], -1, 1, "float32", 1) as tf.Tensor4D;
      const w = tf.variable(tf.randomUniform([3, 3, 32, 64], -0.1, 0.1, "float32", 2));
      const losses = [];
      for (let i = 0; i < 3; i++) {
        losses.push(tf.tidy(() => {
          const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(tf.conv2d(x, w as tf.Tensor4D, 1, "same"))) as tf.Scalar, [w]);
          w.assign(tf.sub(w, tf.mul(grads[w.name], 0.5)));
          return value.dataSync()[0];
        }));
      }
      console.log(JSON.stringify({ threads: info.threads, losses, sum: tf.sum(w).dataSync()[0] }));
    `;
    const file = await Deno.makeTempFile({ suffix: ".ts" });
    await Deno.writeTextFile(file, script);
    const config = new URL("../deno.json", import.meta.url).pathname;
    const runWith = async (threads: string) => {
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--config", config, file],
        env: { MASKINV_THREADS: threads },
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.ok(out.success, new TextDecoder().decode(out.stderr));
      return JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").pop()!);
    };
    try {
      const one = await runWith("1");
      const two = await runWith("2");
      assert.equal(one.threads, 1);
      assert.equal(two.threads, 2);
      assert.deepEqual(two.losses, one.losses);
      assert.equal(two.sum, one.sum);
    } finally {
      await Deno.remove(file);
    }
  },
});

Deno.test("the thread pool's address is found in the shipped threaded binary", async () => {
  const { createRequire } = await import("node:module");
  const path = createRequire(import.meta.url).resolve(
    "@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.wasm",
  );
  const address = findThreadpoolAddress(await Deno.readFile(path));
  assert.ok(address != null && address > 0 && address % 4 === 0, `address ${address}`);
  assert.equal(findThreadpoolAddress(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0])), undefined);
});

Deno.test("OneHot on wasm honours the dtype and the on/off values, as the cpu backend", async () => {
  const run = async (backend: "cpu" | "wasm") => {
    await useBackend(backend);
    return tf.tidy(() => {
      const indices = tf.tensor1d([0, 3, 1, -1, 7], "int32");
      const asFloat = tf.oneHot(indices, 4, 2.5, -1, "float32");
      const asInt = tf.oneHot(indices, 4, 1, 0, "int32");
      return {
        float: Array.from(asFloat.dataSync()),
        int: Array.from(asInt.dataSync()),
        dtype: asFloat.dtype,
      };
    });
  };
  assert.deepEqual(await run("wasm"), await run("cpu"));
});

Deno.test("the SIMD kernel module assembles, on plain and on shared memory, and its kernels compute", async () => {
  const { simdKernels } = await import("../lib/engine/kernels/simd.ts");
  for (const shared of [false, true]) {
    const memory = new WebAssembly.Memory(
      shared ? { initial: 1, maximum: 65536, shared: true } : { initial: 1 },
    );
    const kernels = simdKernels(memory);
    assert.ok(kernels != null, `SIMD kernels on ${shared ? "shared" : "plain"} memory`);
    const heap = new Float32Array(memory.buffer);
    // channelAffine: out = a·u + b·v + c over 2 rows of 4 channels.
    heap.set([1, 2, 3, 4, 5, 6, 7, 8], 0); // u
    heap.set([1, 1, 1, 1, 2, 2, 2, 2], 8); // v
    heap.set([2, 2, 2, 2], 16); // a
    heap.set([10, 20, 30, 40], 20); // b
    heap.set([0.5, 0.5, 0.5, 0.5], 24); // c
    kernels.channelAffine(112, 2, 4, 64, 0, 80, 32, 96);
    assert.deepEqual(Array.from(heap.subarray(28, 36)), [12.5, 24.5, 36.5, 48.5, 30.5, 52.5, 74.5, 96.5]);
    kernels.channelAffine(112, 2, 4, 64, 0, 80, 0, 96); // no second term
    assert.deepEqual(Array.from(heap.subarray(28, 36)), [2.5, 4.5, 6.5, 8.5, 10.5, 12.5, 14.5, 16.5]);
    // channelMoments: s1 = Σ(u − 1), s2 = Σ(u − 1)·(v − 1).
    heap.set([1, 1, 1, 1], 40);
    heap.fill(0, 44, 52);
    kernels.channelMoments(0, 32, 160, 160, 2, 4, 176, 192);
    assert.deepEqual(Array.from(heap.subarray(44, 52)), [4, 6, 8, 10, 4, 5, 6, 7]);
  }
});

Deno.test("preluTrain matches TensorFlow.js's own PReLU gradient (values and gradients)", async () => {
  const { preluTrain } = await import("../lib/engine/ops.ts");
  for (const backend of ["cpu", "wasm"] as const) {
    await useBackend(backend);
    for (const shape of [[3, 5, 4, 6], [300, 8], [2, 9, 7, 16]]) {
      const channels = shape[shape.length - 1];
      const x = tf.tensor(randomValues(shape, 7), shape);
      const alpha = tf.tensor1d(randomValues([channels], 8));
      const dy = tf.tensor(randomValues(shape, 9), shape);
      const withKernel = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(preluTrain(a, b as tf.Tensor1D), dy));
      const reference = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.prelu(a, b), dy));
      const actual = tf.grads(withKernel)([x, alpha]);
      const expected = tf.grads(reference)([x, alpha]);
      assert.deepEqual(preluTrain(x, alpha).dataSync(), tf.prelu(x, alpha).dataSync());
      for (let i = 0; i < 2; i++) {
        const error = scaledError(
          actual[i].dataSync() as Float32Array,
          expected[i].dataSync() as Float32Array,
        );
        assert.ok(error < 1e-5, `${backend} [${shape}] gradient ${i}: ${error}`);
      }
      tf.dispose([x, alpha, dy, ...actual, ...expected]);
    }
  }
});
