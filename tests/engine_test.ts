/**
 * The engine: backend choice, and maskinv's wasm gradient kernels checked against the plain cpu backend.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { BackendUnavailableError, useBackend, wasmTrainingKernelNames } from "../lib/engine/mod.ts";
import { Rng } from "../lib/util/random.ts";

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

function maxRelativeError(actual: Float32Array, expected: Float32Array): number {
  let maxDiff = 0;
  let maxRef = 0;
  for (let i = 0; i < expected.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(actual[i] - expected[i]));
    maxRef = Math.max(maxRef, Math.abs(expected[i]));
  }
  return maxDiff / Math.max(maxRef, 1e-12);
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

Deno.test("every stand-in kernel is exercised by the parity cases", () => {
  const covered = new Set(kernelCases.map((c) => c.kernel));
  for (const name of wasmTrainingKernelNames) assert.ok(covered.has(name), `no parity case for ${name}`);
});

Deno.test(`wasm gradient kernels match the cpu backend to 1e-4 relative (${kernelCases.length} cases)`, async () => {
  const failures: string[] = [];
  for (const c of kernelCases) {
    const expected = await runOn("cpu", c);
    const actual = await runOn("wasm", c);
    assert.deepEqual(actual.shape, expected.shape, `${c.label}: shape`);
    const error = maxRelativeError(actual.values, expected.values);
    if (!(error <= 1e-4)) failures.push(`${c.label}: relative error ${error.toExponential(2)}`);
  }
  assert.deepEqual(failures, []);
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
    for (const shape of [[4, 5, 3, 6], [7, 9]]) {
      const channels = shape[shape.length - 1];
      const x = tf.tensor(randomValues(shape, 1), shape);
      const gamma = tf.tensor1d(randomValues([channels], 2));
      const beta = tf.tensor1d(randomValues([channels], 3));
      const dy = tf.tensor(randomValues(shape, 4), shape);
      const axes = shape.slice(0, -1).map((_, i) => i);
      const reference = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
        const { mean, variance } = tf.moments(a, axes);
        return tf.add(tf.mul(tf.div(tf.sub(a, mean), tf.sqrt(tf.add(variance, 1e-5))), g), b);
      };
      let seenMean: number[] = [];
      const ours = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
        batchNormTrain(a, g as tf.Tensor1D, b as tf.Tensor1D, {
          onStats: (mean) => (seenMean = Array.from(mean.dataSync())),
        });
      const expected = tf.grads((a, g, b) => tf.sum(tf.mul(reference(a, g, b), dy)))([x, gamma, beta]);
      const actual = tf.grads((a, g, b) => tf.sum(tf.mul(ours(a, g, b), dy)))([x, gamma, beta]);
      const forward = [ours(x, gamma, beta), reference(x, gamma, beta)];
      assert.ok(
        maxRelativeError(forward[0].dataSync() as Float32Array, forward[1].dataSync() as Float32Array) < 1e-5,
      );
      for (let i = 0; i < 3; i++) {
        const error = maxRelativeError(
          actual[i].dataSync() as Float32Array,
          expected[i].dataSync() as Float32Array,
        );
        assert.ok(error < 1e-4, `${backend} ${shape} gradient ${i}: ${error}`);
      }
      const meanExpected = Array.from(tf.mean(x, axes).dataSync());
      seenMean.forEach((m, i) => assert.ok(Math.abs(m - meanExpected[i]) < 1e-5));
      tf.dispose([x, gamma, beta, dy, ...expected, ...actual, ...forward]);
    }
  }
});
