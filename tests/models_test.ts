/**
 * Networks, layers and checkpoints: parameter counts against `iresnet.json`, `state_dict` names, closed-form
 * batch-norm and PReLU gradients against TensorFlow.js autodiff, training-mode forward and gradients against
 * PyTorch (float64) on the tiny reference iResNet, embeddings, checkpoints.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { batchNormTrain, preluTrain, useBackend } from "../lib/engine/mod.ts";
import {
  architectureName,
  CHECKPOINT_MANIFEST,
  createNetwork,
  FaceNetwork,
  importTorchCheckpoint,
  type IResNetConfig,
  iresnetConfig,
  loadCheckpoint,
  loadEmbedder,
  loadNetworkCheckpoint,
  mobileFaceNetConfig,
  networkSpecs,
  networkState,
  readNpy,
  restoreNetwork,
  saveCheckpoint,
  updateRunningStatistics,
} from "../lib/models/mod.ts";
import { scaledError } from "./numeric_helpers.ts";

const shared = new URL("../../shared/", import.meta.url);
const hasShared = await Deno.stat(shared).then(() => true, () => false);
if (!hasShared) console.warn("skipping the PyTorch training-mode parity test: ../shared not found");

const TINY: IResNetConfig = {
  kind: "iresnet",
  layers: [1, 1, 1, 1],
  widths: [8, 8, 16, 16],
  embeddingSize: 16,
  inputSize: [32, 32],
  dropout: 0,
};

function trainableCount(specs: ReturnType<typeof networkSpecs>): number {
  return specs.filter((s) => s.trainable).reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
}

Deno.test("iResNet-18/34/50/100 have exactly the reference parameter counts", () => {
  // ../shared/reference/iresnet.json, "parameters" (PyTorch: sum(p.numel() for p in model.parameters())).
  const expected = {
    iresnet18: 24025600,
    iresnet34: 34139328,
    iresnet50: 43590848,
    iresnet100: 65156160,
  } as const;
  for (const [depth, count] of Object.entries(expected)) {
    assert.equal(trainableCount(networkSpecs(iresnetConfig(depth as keyof typeof expected))), count, depth);
  }
});

Deno.test("MobileFaceNet has the peer benchmark's 1,200,512 parameters and 283 state_dict tensors", () => {
  // ../shared/bench/torch_train_step.py MobileFaceNet(): 1,200,512 parameters; 333 state_dict entries of which
  // 50 are num_batches_tracked counters (not used by maskinv).
  const specs = networkSpecs(mobileFaceNetConfig());
  assert.equal(trainableCount(specs), 1200512);
  assert.equal(specs.length, 283);
  assert.deepEqual(specs.slice(0, 7).map((s) => s.name), [
    "body.0.0.weight",
    "body.0.1.weight",
    "body.0.1.bias",
    "body.0.1.running_mean",
    "body.0.1.running_var",
    "body.0.2.weight",
    "body.1.0.weight",
  ]);
});

Deno.test("iResNet parameters carry insightface's state_dict names, in state_dict order", () => {
  const names = networkSpecs({ ...TINY, layers: [1, 2, 1, 1], widths: [8, 16, 24, 32] }).map((s) => s.name);
  // ../shared/reference/iresnet.json tiny.state_dict_keys without the num_batches_tracked counters.
  assert.deepEqual(names.slice(0, 9), [
    "conv1.weight",
    "bn1.weight",
    "bn1.bias",
    "bn1.running_mean",
    "bn1.running_var",
    "prelu.weight",
    "layer1.0.bn1.weight",
    "layer1.0.bn1.bias",
    "layer1.0.bn1.running_mean",
  ]);
  for (
    const key of [
      "layer2.1.prelu.weight",
      "layer1.0.downsample.0.weight",
      "fc.weight",
      "features.running_var",
    ]
  ) {
    assert.ok(names.includes(key), key);
  }
  assert.ok(!names.includes("layer2.1.downsample.0.weight"), "no shortcut conv when the shape is kept");
  assert.equal(architectureName(iresnetConfig("iresnet100")), "iresnet100");
  assert.match(architectureName(TINY), /^iresnet\(layers 1-1-1-1, widths 8-8-16-16, emb 16, 32x32\)$/);
});

Deno.test("closed-form batch-norm and PReLU gradients equal TensorFlow.js autodiff (cpu, 1e-5)", async () => {
  await useBackend("cpu");
  tf.tidy(() => {
    const x = tf.randomNormal([3, 5, 4, 6], 0.3, 2, "float32", 1);
    const gamma = tf.randomUniform([6], 0.5, 1.5, "float32", 2) as tf.Tensor1D;
    const beta = tf.randomNormal([6], 0, 0.1, "float32", 3) as tf.Tensor1D;
    const upstream = tf.randomNormal([3, 5, 4, 6], 0, 1, "float32", 4);
    const ours = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(batchNormTrain(a, g as tf.Tensor1D, b as tf.Tensor1D), upstream)) as tf.Scalar;
    const composed = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
      const { mean, variance } = tf.moments(a, [0, 1, 2]);
      const y = tf.add(tf.mul(tf.div(tf.sub(a, mean), tf.sqrt(tf.add(variance, 1e-5))), g), b);
      return tf.sum(tf.mul(y, upstream)) as tf.Scalar;
    };
    const mine = tf.valueAndGrads(ours)([x, gamma, beta]);
    const reference = tf.valueAndGrads(composed)([x, gamma, beta]);
    assert.ok(scaledError(mine.value.dataSync(), reference.value.dataSync()) < 1e-5);
    mine.grads.forEach((g, i) => {
      const error = scaledError(g.dataSync(), reference.grads[i].dataSync());
      assert.ok(error < 1e-5, `batch norm gradient ${i}: ${error}`);
    });
    const alpha = tf.tensor1d([0.1, 0.25, -0.3, 0.5, 1, 0]);
    const p1 = tf.valueAndGrads((a: tf.Tensor, s: tf.Tensor) =>
      tf.sum(tf.mul(preluTrain(a, s as tf.Tensor1D), upstream))
    )([
      x,
      alpha,
    ]);
    const p2 = tf.valueAndGrads((a: tf.Tensor, s: tf.Tensor) => tf.sum(tf.mul(tf.prelu(a, s), upstream)))([
      x,
      alpha,
    ]);
    p1.grads.forEach((g, i) =>
      assert.ok(scaledError(g.dataSync(), p2.grads[i].dataSync()) < 1e-5, `prelu ${i}`)
    );
  });
});

Deno.test("running statistics follow PyTorch: momentum 0.1, unbiased variance", async () => {
  await useBackend("cpu");
  const mean = tf.variable(tf.tensor1d([1, 2]), false);
  const variance = tf.variable(tf.tensor1d([1, 1]), false);
  updateRunningStatistics(mean, variance, tf.tensor1d([3, 0]), tf.tensor1d([2, 4]), 5, 0.1);
  assert.deepEqual(Array.from(mean.dataSync()).map((v) => +v.toFixed(6)), [1.2, 1.8]);
  // 0.9·1 + 0.1·(5/4)·[2, 4]
  assert.deepEqual(Array.from(variance.dataSync()).map((v) => +v.toFixed(6)), [1.15, 1.4]);
  tf.dispose([mean, variance]);
});

Deno.test({
  name:
    "training mode matches PyTorch float64 on the tiny reference iResNet (output, gradients, running stats)",
  ignore: !hasShared,
  fn: async () => {
    await useBackend("cpu");
    const fixture = JSON.parse(
      await Deno.readTextFile(new URL("./fixtures/iresnet_tiny_train.json", import.meta.url)),
    ) as {
      R: number[][];
      y_train: number[][];
      grads: Record<string, number[] | number[][][][]>;
      running_stats: Record<string, number[]>;
    };
    const net = await importTorchCheckpoint(new URL("reference/iresnet_tiny.pth", shared).pathname);
    const npy = await readNpy(new URL("reference/iresnet_tiny_input.npy", shared).pathname);
    const x = tf.tidy(() =>
      tf.transpose(tf.tensor4d(npy.data, npy.shape as [number, number, number, number]), [0, 2, 3, 1])
    );
    const r = tf.tensor2d(fixture.R);
    const vars = net.trainableVariables();
    let output: Float32Array | undefined;
    const { grads, value } = tf.variableGrads(() => {
      const y = net.forward(x as tf.Tensor4D, { training: true });
      output = y.dataSync() as Float32Array;
      return tf.sum(tf.mul(y, r)) as tf.Scalar;
    }, vars);
    // PyTorch's own float32 result differs from its float64 one by up to 3e-5 of each gradient's scale here
    // (batch norm over a batch of 2 is ill-conditioned), so 1e-4 is the float32 bound.
    assert.ok(scaledError(output!, fixture.y_train.flat()) < 1e-4, "training-mode output");
    for (const [name, expected] of Object.entries(fixture.grads)) {
      let g = grads[net.params.get(name)!.name];
      if (name === "conv1.weight") g = tf.transpose(g, [3, 2, 0, 1]); // HWIO → PyTorch OIHW
      const error = scaledError(g.dataSync(), (expected as number[]).flat(3) as number[]);
      assert.ok(error < 1e-4, `gradient of ${name}: ${error.toExponential(2)}`);
    }
    for (const [name, expected] of Object.entries(fixture.running_stats)) {
      const error = scaledError(net.params.get(name)!.dataSync(), expected);
      assert.ok(error < 1e-4, `${name}: ${error.toExponential(2)}`);
    }
    tf.dispose([x, r, value, ...Object.values(grads)]);
    net.dispose();
  },
});

Deno.test("embed: unit rows, [0,255] input normalised inside, resize, flip-sum is mirror-invariant", async () => {
  await useBackend("cpu");
  const net = createNetwork(TINY, { seed: 4 });
  tf.tidy(() => {
    const images = tf.randomUniform([3, 32, 32, 3], 0, 255, "float32", 5) as tf.Tensor4D;
    const unit = net.embed(images);
    assert.deepEqual(unit.shape, [3, 16]);
    for (const n of tf.norm(unit, 2, 1).dataSync()) assert.ok(Math.abs(n - 1) < 1e-5);
    const raw = net.forward(tf.sub(tf.div(images, 127.5), 1) as tf.Tensor4D);
    assert.ok(scaledError(unit.dataSync(), tf.div(raw, tf.norm(raw, 2, 1, true)).dataSync()) < 1e-6);
    const mirrored = tf.reverse(images, 2) as tf.Tensor4D;
    assert.ok(
      scaledError(
        net.embed(mirrored, { flip: true }).dataSync(),
        net.embed(images, { flip: true }).dataSync(),
      ) < 1e-5,
    );
    assert.ok(
      scaledError(net.embed(mirrored).dataSync(), unit.dataSync()) > 1e-3,
      "flip changes a plain embedding",
    );
    assert.deepEqual(net.embed(tf.image.resizeBilinear(images, [64, 64]) as tf.Tensor4D).shape, [3, 16]);
    assert.throws(() => net.embed(tf.zeros([1, 32, 32, 1])), /expected RGB images/);
    assert.throws(() => net.forward(tf.zeros([1, 30, 32, 3])), /forward expects \[n, 32, 32, 3\]/);
  });
  net.dispose();
});

Deno.test("training step: finite gradients for every trainable variable, eval mode unchanged, no leaks", async () => {
  await useBackend("cpu");
  for (const config of [TINY, { ...TINY, dropout: 0.3 }]) {
    const net = createNetwork(config, { seed: 2 });
    const x = tf.randomUniform([4, 32, 32, 3], -1, 1, "float32", 3) as tf.Tensor4D;
    const vars = net.trainableVariables();
    const step = () =>
      tf.tidy(() => {
        const { grads } = tf.variableGrads(
          () => tf.sum(tf.square(net.forward(x, { training: true }))) as tf.Scalar,
          vars,
        );
        for (const v of vars) assert.ok(grads[v.name].dataSync().every(Number.isFinite), v.name);
      });
    step();
    const before = tf.memory().numTensors;
    step();
    step();
    assert.equal(tf.memory().numTensors, before, "training steps do not grow the tensor count");
    const evalA = net.forward(x), evalB = net.forward(x);
    assert.deepEqual(
      evalA.dataSync(),
      evalB.dataSync(),
      "inference is deterministic (no dropout, fixed stats)",
    );
    const stats = net.params.get("bn1.running_mean")!.dataSync();
    assert.ok(stats.some((v) => v !== 0), "running means moved in training mode");
    if (config.dropout > 0) {
      const a = net.forward(x, { training: true, updateStatistics: false });
      const b = net.forward(x, { training: true, updateStatistics: false });
      assert.notDeepEqual(a.dataSync(), b.dataSync(), "dropout draws a new mask each step");
      tf.dispose([a, b]);
    }
    assert.throws(() => net.forward(tf.zeros([1, 32, 32, 3]), { training: true }), /at least 2/);
    tf.dispose([x, evalA, evalB]);
    net.dispose();
  }
});

Deno.test("the same seed gives the same weights; different seeds differ", () => {
  const a = createNetwork(TINY, { seed: 1 }),
    b = createNetwork(TINY, { seed: 1 }),
    c = createNetwork(TINY, { seed: 2 });
  assert.deepEqual(a.params.get("conv1.weight")!.dataSync(), b.params.get("conv1.weight")!.dataSync());
  assert.notDeepEqual(a.params.get("conv1.weight")!.dataSync(), c.params.get("conv1.weight")!.dataSync());
  assert.equal(a.parameterCount(), trainableCount(networkSpecs(TINY)));
  const conv = a.params.get("conv1.weight")!;
  assert.notEqual(conv.name, b.params.get("conv1.weight")!.name, "variable names are unique per instance");
  assert.equal(a.stateDictName(conv), "conv1.weight");
  assert.throws(() => a.stateDictName(c.params.get("conv1.weight")!), /does not belong/);
  for (const n of [a, b, c]) n.dispose();
});

Deno.test("checkpoints: model + head + optimizer + metadata round trip; architecture mismatch names both", async () => {
  await useBackend("cpu");
  const dir = await Deno.makeTempDir();
  const net = createNetwork(TINY, { seed: 7 });
  // Move the running statistics away from their initial values so they are part of what is checked.
  tf.tidy(() =>
    void net.forward(tf.randomUniform([4, 32, 32, 3], -1, 1, "float32", 1) as tf.Tensor4D, { training: true })
  );
  const head = new Map([["kernel", tf.randomNormal([16, 10], 0, 0.01, "float32", 2)]]);
  const optimizer = new Map([["conv1.weight/momentum", tf.randomNormal([3, 3, 3, 8], 0, 1, "float32", 3)], [
    "iterations",
    tf.scalar(42, "int32"),
  ]]);
  await saveCheckpoint(dir, {
    architecture: net.config,
    groups: { model: networkState(net), head, optimizer },
    metadata: { step: 10, rng: [1, 2, 3, 4], loss: "elastic-arc" },
  });
  await saveCheckpoint(dir, {
    architecture: net.config,
    groups: { model: networkState(net), head, optimizer },
  });
  const files = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
  assert.equal(files.length, 2, `one data file and the manifest: ${files}`);
  assert.ok(files.includes(CHECKPOINT_MANIFEST));

  const loaded = await loadCheckpoint(dir);
  assert.deepEqual(loaded.groups.head.get("kernel")!.dataSync(), head.get("kernel")!.dataSync());
  assert.deepEqual(loaded.groups.optimizer.get("iterations")!.dataSync(), new Int32Array([42]));
  assert.equal(loaded.groups.optimizer.get("iterations")!.dtype, "int32");
  assert.deepEqual(loaded.metadata, {}, "the second save replaced the metadata");

  const images = tf.randomUniform([2, 32, 32, 3], 0, 255, "float32", 4) as tf.Tensor4D;
  const original = net.embed(images).dataSync();
  const fresh = createNetwork(TINY, { seed: 99 });
  restoreNetwork(fresh, loaded);
  assert.deepEqual(fresh.embed(images).dataSync(), original);
  const rebuilt = await loadNetworkCheckpoint(dir);
  assert.ok(rebuilt instanceof FaceNetwork);
  assert.deepEqual(rebuilt.embed(images).dataSync(), original);
  const viaEntryPoint = await loadEmbedder(dir);
  assert.deepEqual(viaEntryPoint.embed(images).dataSync(), original);

  const other = createNetwork({ ...TINY, widths: [8, 8, 16, 32] });
  assert.throws(
    () => restoreNetwork(other, loaded),
    (e: Error) =>
      e.message.includes(dir) && e.message.includes("holds iresnet(layers 1-1-1-1, widths 8-8-16-16") &&
      e.message.includes("but the network is iresnet(layers 1-1-1-1, widths 8-8-16-32"),
  );
  for (const group of Object.values(loaded.groups)) tf.dispose([...group.values()]);
  tf.dispose([images, ...head.values(), ...optimizer.values()]);
  for (const n of [net, fresh, rebuilt, other]) n.dispose();
  viaEntryPoint.dispose();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("checkpoints: truncated, corrupt or missing files are errors naming the file", async () => {
  await useBackend("cpu");
  const dir = await Deno.makeTempDir();
  const net = createNetwork(TINY);
  await saveCheckpoint(dir, { architecture: net.config, groups: { model: networkState(net) } });
  net.dispose();
  const manifest = JSON.parse(await Deno.readTextFile(`${dir}/${CHECKPOINT_MANIFEST}`));
  const dataPath = `${dir}/${manifest.data.file}`;
  const bytes = await Deno.readFile(dataPath);
  await Deno.writeFile(dataPath, bytes.subarray(0, bytes.length - 4));
  await assert.rejects(
    loadCheckpoint(dir),
    (e: Error) => e.message.includes(dataPath) && /truncated/.test(e.message),
  );
  const flipped = bytes.slice();
  flipped[100] ^= 1;
  await Deno.writeFile(dataPath, flipped);
  await assert.rejects(
    loadCheckpoint(dir),
    (e: Error) => e.message.includes(dataPath) && /SHA-256/.test(e.message),
  );
  await Deno.remove(dataPath);
  await assert.rejects(loadCheckpoint(dir), (e: Error) => e.message.includes(dataPath));
  await Deno.writeTextFile(`${dir}/${CHECKPOINT_MANIFEST}`, "{not json");
  await assert.rejects(loadCheckpoint(dir), (e: Error) => e.message.includes(CHECKPOINT_MANIFEST));
  await assert.rejects(loadCheckpoint(`${dir}/nothing`), /not a maskinv checkpoint/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("MobileFaceNet: 112x112 → 512-d forward in both modes", async () => {
  await useBackend("cpu");
  const net = createNetwork(mobileFaceNetConfig(), { seed: 1 });
  tf.tidy(() => {
    const x = tf.randomUniform([2, 112, 112, 3], -1, 1, "float32", 1) as tf.Tensor4D;
    assert.deepEqual(net.forward(x).shape, [2, 512]);
    assert.deepEqual(net.forward(x, { training: true }).shape, [2, 512]);
  });
  net.dispose();
});

Deno.test("MobileFaceNet inference: batch norms folded into fused kernels match the layer-by-layer pass", async () => {
  for (const engine of ["cpu", "wasm"] as const) {
    await useBackend(engine);
    const net = createNetwork(mobileFaceNetConfig(), { seed: 2 });
    // Non-trivial running statistics, so the folding has something to fold.
    for (const [name, v] of net.params) {
      if (name.endsWith("running_mean")) v.assign(tf.randomNormal(v.shape, 0, 0.3, "float32", 5));
      if (name.endsWith("running_var")) v.assign(tf.randomUniform(v.shape, 0.5, 2, "float32", 6));
    }
    const x = tf.randomUniform([2, 112, 112, 3], -1, 1, "float32", 3) as tf.Tensor4D;
    // Inside a gradient tape the network runs the layers one by one.
    const layered = (): tf.Tensor2D => {
      let output: tf.Tensor2D | undefined;
      const { value, grads } = tf.variableGrads(() => {
        output = tf.keep(net.forward(x));
        return tf.sum(output);
      }, net.trainableVariables().slice(0, 1));
      tf.dispose([value, ...Object.values(grads)]);
      return output!;
    };
    const maxDifference = (a: tf.Tensor, b: tf.Tensor): number =>
      tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
    const fused = net.forward(x), reference = layered();
    const scale = tf.tidy(() => tf.max(tf.abs(reference)).dataSync()[0]);
    const difference = maxDifference(fused, reference);
    assert.ok(difference <= 1e-4 * scale, `${engine}: max |fused − layered| ${difference} (scale ${scale})`);
    // The folded weights follow the variables: an assignment rebuilds them, and none leak.
    const before = tf.memory().numTensors;
    const gdcScale = net.params.get("body.18.1.weight")!;
    tf.tidy(() => gdcScale.assign(tf.mul(gdcScale, 2)));
    const refolded = net.forward(x), rereference = layered();
    assert.ok(maxDifference(rereference, reference) > 1e-2 * scale, "the assignment changes the network");
    assert.ok(maxDifference(refolded, rereference) <= 1e-4 * scale, `${engine}: refolded after assignment`);
    assert.equal(tf.memory().numTensors, before + 2, "two outputs, no leaked folded weights");
    tf.dispose([x, fused, reference, refolded, rereference]);
    net.dispose();
  }
});
