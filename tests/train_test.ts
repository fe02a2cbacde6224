import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { useBackend } from "../lib/engine/mod.ts";
import { SyntheticFaces } from "../lib/data/mod.ts";
import type { BatchMasker } from "../lib/data/mod.ts";
import { architectureName, createNetwork, networkState, saveCheckpoint } from "../lib/models/mod.ts";
import {
  ABLATION_STEPS,
  CachedSource,
  CheckpointStore,
  CheckpointWriteError,
  type CheckpointWriter,
  clipCoefficient,
  distill,
  globalNorm,
  learningRateAt,
  openTrainingData,
  RECIPE_SIZES,
  SgdMomentum,
  train,
  TRAIN_RECIPES,
  type TrainConfig,
  TrainingDivergedError,
  TrainLog,
  trainRecipe,
  type TrainResult,
  validateTrainConfig,
} from "../lib/train/mod.ts";
import { validationCallback } from "../lib/ablation/mod.ts";
import {
  heldOutEer,
  maxDifference,
  snapshot,
  TINY_ARCHITECTURE,
  tinyConfig,
  tinyFaces,
} from "./train_helpers.ts";

const reference = JSON.parse(
  await Deno.readTextFile(new URL("./fixtures/sgd_reference.json", import.meta.url)),
) as {
  initial: Record<string, number[] | number[][]>;
  steps: {
    lr: number;
    gradients: Record<string, number[] | number[][]>;
    backboneNorm: number;
    after: Record<string, number[] | number[][]>;
  }[];
};

Deno.test("learning rate: ElasticFace's step schedule, batch scaling and warm-up", () => {
  const paper = trainRecipe("baseline", "paper").train;
  // lr_step_func: 0.1 ** len([m for m in [8, 14, 20, 25] if m - 1 <= epoch]) for 0-based epochs.
  const expected = (epoch: number) => 0.1 * 0.1 ** [8, 14, 20, 25].filter((m) => m - 1 <= epoch).length;
  for (let epoch = 0; epoch < 26; epoch++) {
    assert.ok(Math.abs(learningRateAt(paper, 512, 1000, epoch) - expected(epoch)) < 1e-15, `epoch ${epoch}`);
  }
  assert.equal(learningRateAt(paper, 512, 0, 6), 0.1);
  assert.ok(Math.abs(learningRateAt(paper, 512, 0, 7) - 0.01) < 1e-15);
  assert.equal(learningRateAt(paper, 128, 0, 0), 0.025);
  const warm = { ...paper, warmupSteps: 4 };
  const warmRates = [0, 1, 2, 3, 4].map((s) => learningRateAt(warm, 512, s, 0));
  [0.025, 0.05, 0.075, 0.1, 0.1].forEach((want, s) =>
    assert.ok(Math.abs(warmRates[s] - want) < 1e-15, `step ${s}`)
  );
});

Deno.test("SGD: momentum, weight decay and backbone clipping match PyTorch step by step", async () => {
  await useBackend("cpu");
  const names = ["backbone.0", "backbone.1", "head"];
  const variables = new Map(names.map((n) => [n, tf.variable(tf.tensor(reference.initial[n]), true)]));
  const sgd = new SgdMomentum(variables, { momentum: 0.9, weightDecay: 5e-4 });
  for (const [i, step] of reference.steps.entries()) {
    const gradients = new Map(names.map((n) => [n, tf.tensor(step.gradients[n])]));
    const norm = globalNorm(names.slice(0, 2).map((n) => gradients.get(n)!));
    const backboneNorm = norm.dataSync()[0];
    assert.ok(Math.abs(backboneNorm - step.backboneNorm) < 1e-4 * step.backboneNorm, `norm at step ${i}`);
    const coefficient = clipCoefficient(backboneNorm, 5);
    sgd.step(gradients, step.lr, (name) => name.startsWith("backbone") ? coefficient : 1);
    for (const n of names) {
      const got = variables.get(n)!.dataSync();
      const want = (step.after[n] as number[]).flat();
      for (let k = 0; k < want.length; k++) {
        assert.ok(Math.abs(got[k] - want[k]) < 1e-5, `${n}[${k}] after step ${i}: ${got[k]} vs ${want[k]}`);
      }
    }
    tf.dispose([...gradients.values(), norm]);
  }
  assert.ok(
    reference.steps.some((s) => s.backboneNorm > 5) && reference.steps.some((s) => s.backboneNorm < 5),
  );
  // The state round-trips: a fresh optimiser with restored buffers continues identically.
  const copy = new Map(names.map((n) => [n, tf.variable(variables.get(n)!.clone(), true)]));
  const resumed = new SgdMomentum(copy, { momentum: 0.9, weightDecay: 5e-4 });
  resumed.restore(sgd.state);
  const g = new Map(names.map((n) => [n, tf.onesLike(variables.get(n)!)]));
  sgd.step(g, 0.1);
  resumed.step(g, 0.1);
  for (const n of names) assert.deepEqual(copy.get(n)!.dataSync(), variables.get(n)!.dataSync());
  assert.throws(() => resumed.restore(new Map()), /no momentum buffer for backbone\.0/);
  sgd.dispose();
  resumed.dispose();
  tf.dispose([...variables.values(), ...copy.values(), ...g.values()]);
});

Deno.test("clipping: clip_grad_norm_'s coefficient", () => {
  assert.equal(clipCoefficient(3, 5), 1);
  assert.ok(Math.abs(clipCoefficient(10, 5) - 5 / (10 + 1e-6)) < 1e-15);
  assert.equal(clipCoefficient(10, 0), 1);
});

Deno.test("recipes: every step and size is valid and carries the paper's numbers", () => {
  for (const size of RECIPE_SIZES) {
    for (const step of ABLATION_STEPS) {
      const recipe = TRAIN_RECIPES[size][step];
      validateTrainConfig(recipe.train);
      assert.equal(recipe.train.name, step);
      assert.equal(recipe.train.kdWeight > 0, recipe.teacher != null, `${size}/${step}: teacher iff λ > 0`);
      assert.equal(recipe.masks != null, recipe.train.maskProbability > 0);
    }
  }
  const paper = TRAIN_RECIPES.paper;
  assert.equal(architectureName(paper.baseline.train.architecture), "iresnet100");
  assert.equal(paper.baseline.train.batchSize, 512);
  assert.equal(paper.baseline.train.epochs, 26);
  assert.deepEqual(paper.baseline.train.decayEpochs, [8, 14, 20, 25]);
  assert.equal(paper.baseline.train.loss.name, "elastic-arc");
  assert.equal(paper.masked.train.maskProbability, 0.5);
  assert.equal(paper.masked.train.kdWeight, 0);
  assert.equal(paper["maskinv-lg"].train.kdWeight, 100);
  assert.equal(paper["maskinv-hg"].train.kdWeight, 3000);
  assert.equal(paper["maskinv-hg"].train.learningRate, 1);
  assert.equal(paper["maskinv-hg"].initFrom, "maskinv-lg");
  assert.equal(paper.masked.initFrom, "baseline");
  assert.deepEqual(
    [paper.baseline.train.momentum, paper.baseline.train.weightDecay, paper.baseline.train.clipNorm],
    [0.9, 5e-4, 5],
  );
  assert.throws(
    () => validateTrainConfig({ ...paper.baseline.train, momentum: 1, batchSize: 0 }),
    /batchSize.*momentum/,
  );
});

Deno.test("checkpoint store: keeps the newest K, ignores torn saves, and a failing write keeps the previous one", async () => {
  await useBackend("cpu");
  const dir = await Deno.makeTempDir();
  const net = createNetwork(tinyConfig().architecture, { seed: 1 });
  const contents = (step: number) => ({
    architecture: net.config,
    groups: { model: networkState(net) },
    metadata: { step },
  });
  const store = new CheckpointStore(dir, { keep: 2 });
  for (const step of [5, 10, 15]) await store.save(step, contents(step));
  assert.deepEqual((await store.list()).map((e) => e.step), [10, 15]);
  // A save killed mid-way leaves a hidden temporary folder or a folder without a manifest: both ignored.
  await Deno.mkdir(`${dir}/.step-00000020.dead.tmp`);
  await Deno.mkdir(`${dir}/step-00000025`);
  assert.equal((await store.latest())?.step, 15);
  // A writer that fails half-way (a full disk) leaves the earlier checkpoints intact and says so.
  const failing = new CheckpointStore(dir, {
    keep: 2,
    writer: async (directory) => {
      await Deno.mkdir(directory, { recursive: true });
      await Deno.writeFile(`${directory}/tensors-partial.bin`, new Uint8Array(100));
      throw new Error("No space left on device (os error 28)");
    },
  });
  await assert.rejects(() => failing.save(30, contents(30)), (error: unknown) => {
    assert.ok(error instanceof CheckpointWriteError);
    assert.match(
      error.message,
      /step 30.*No space left on device.*previous checkpoint \(step 15.*\) is intact/,
    );
    assert.equal(error.previous?.step, 15);
    return true;
  });
  assert.deepEqual((await store.list()).map((e) => e.step), [10, 15]);
  assert.ok(
    ![...Deno.readDirSync(dir)].some((e) => e.name.startsWith(".step-00000030")),
    "temporary removed",
  );
  // A corrupt newest checkpoint is skipped in favour of the previous one.
  const newest = (await store.latest())!;
  const data = [...Deno.readDirSync(newest.directory)].find((e) => e.name.endsWith(".bin"))!;
  await Deno.writeFile(`${newest.directory}/${data.name}`, new Uint8Array(3));
  const skipped: number[] = [];
  const loaded = await store.loadLatest((entry) => skipped.push(entry.step));
  assert.equal(loaded?.entry.step, 10);
  assert.deepEqual(skipped, [15]);
  for (const group of Object.values(loaded!.checkpoint.groups)) tf.dispose([...group.values()]);
  net.dispose();
});

Deno.test("log: JSON lines, a torn last line skipped, trimmed back on resume", async () => {
  const log = new TrainLog(`${await Deno.makeTempDir()}/log.jsonl`);
  for (const step of [1, 2, 3]) {
    await log.append({ kind: "event", step, event: "checkpoint", message: "", time: "" });
  }
  await Deno.writeTextFile(log.path, '{"kind":"metr', { append: true });
  assert.deepEqual((await log.read()).map((e) => e.step), [1, 2, 3]);
  await log.truncateAfter(2);
  assert.deepEqual((await log.read()).map((e) => e.step), [1, 2]);
});

Deno.test("train: deterministic for a seed, tensors do not leak, the log and checkpoints are written", async () => {
  await useBackend("wasm");
  const source = tinyFaces();
  const run = async (outDir: string) => {
    const counts: number[] = [];
    const result = await train({
      config: tinyConfig({ steps: 6, checkpointEvery: 2 }),
      data: { source },
      outDir,
      progress: "none",
      onLog: (entry) => {
        if (entry.kind === "metrics") counts.push(tf.memory().numTensors);
      },
    });
    return { result, counts };
  };
  const before = tf.memory().numTensors;
  const a = await run(await Deno.makeTempDir());
  const b = await run(await Deno.makeTempDir());
  assert.equal(a.result.step, 6);
  assert.equal(a.result.stopped, "finished");
  assert.equal(maxDifference(snapshot(a.result.network.params), snapshot(b.result.network.params)), 0);
  assert.equal(maxDifference(snapshot(a.result.head.variables), snapshot(b.result.head.variables)), 0);
  assert.ok(a.counts.every((c) => c === a.counts[0]), `tensor count changed during training: ${a.counts}`);
  const metrics = a.result.history.filter((e) => e.kind === "metrics");
  assert.equal(metrics.length, 6);
  for (const m of metrics) {
    assert.ok(Number.isFinite(m.loss) && m.loss > 0 && m.imagesPerSecond > 0 && m.learningRate > 0);
    assert.equal(m.distillation, null);
    assert.equal(m.loss, m.classification);
  }
  const onDisk = await new TrainLog(`${a.result.checkpoint!.directory}/../../train_log.jsonl`).read();
  assert.deepEqual(onDisk, a.result.history);
  const store = new CheckpointStore(`${a.result.checkpoint!.directory}/..`);
  assert.deepEqual((await store.list()).map((e) => e.step), [4, 6]);
  a.result.dispose();
  b.result.dispose();
  assert.equal(tf.memory().numTensors, before);
});

Deno.test("train: refuses a folder with checkpoints unless resuming, and a changed configuration", async () => {
  await useBackend("wasm");
  const source = tinyFaces();
  const outDir = await Deno.makeTempDir();
  const first = await train({ config: tinyConfig({ steps: 2 }), data: { source }, outDir, progress: "none" });
  first.dispose();
  await assert.rejects(
    () => train({ config: tinyConfig({ steps: 2 }), data: { source }, outDir, progress: "none" }),
    /already holds checkpoints \(newest: step 2\)/,
  );
  await assert.rejects(
    () =>
      train({
        config: tinyConfig({ steps: 2, learningRate: 0.5 }),
        data: { source },
        outDir,
        resume: true,
        progress: "none",
      }),
    /another configuration \(learningRate differ/,
  );
  // A finished run resumes to the same weights without training again.
  const again = await train({
    config: tinyConfig({ steps: 2, logEvery: 5 }),
    data: { source },
    outDir,
    resume: true,
    progress: "none",
  });
  assert.equal(again.step, 2);
  assert.equal(again.history.filter((e) => e.kind === "metrics").length, 0);
  again.dispose();
});

Deno.test("train: a checkpoint that cannot be written stops the run and keeps the previous checkpoint", async () => {
  await useBackend("wasm");
  const outDir = await Deno.makeTempDir();
  let saves = 0;
  const failSecond: CheckpointWriter = async (directory, contents) => {
    if (++saves === 2) throw new Error("No space left on device (os error 28)");
    await saveCheckpoint(directory, contents);
  };
  const config = tinyConfig({ steps: 6, checkpointEvery: 2 });
  await assert.rejects(
    () =>
      train({
        config,
        data: { source: tinyFaces() },
        outDir,
        progress: "none",
        checkpointWriter: failSecond,
      }),
    (error: unknown) => {
      assert.ok(error instanceof CheckpointWriteError);
      assert.match(
        error.message,
        /step 4 .*No space left on device.*previous checkpoint \(step 2, .*\) is intact/,
      );
      return true;
    },
  );
  assert.deepEqual((await new CheckpointStore(`${outDir}/checkpoints`).list()).map((e) => e.step), [2]);
  // …and the run resumes from it.
  const resumed = await train({
    config,
    data: { source: tinyFaces() },
    outDir,
    resume: true,
    progress: "none",
  });
  assert.equal(resumed.step, 6);
  resumed.dispose();
});

/** A masker that returns NaN images from its `failAt`-th call on. */
function poisonedMasker(failAt: number): BatchMasker {
  let calls = 0;
  return {
    maskBatch(images) {
      calls++;
      return calls >= failAt ? tf.mul(images, NaN) as tf.Tensor4D : tf.clone(images);
    },
  };
}

Deno.test("train: a NaN loss stops with a clear message and keeps the last good checkpoint", async () => {
  await useBackend("wasm");
  const source = tinyFaces();
  const outDir = await Deno.makeTempDir();
  // The masker is called once per batch, in batch order: its 6th call poisons the 6th step.
  const masker = poisonedMasker(6);
  const config = tinyConfig({ steps: 8, checkpointEvery: 2, maskProbability: 1 });
  await assert.rejects(
    () => train({ config, data: { source, masker }, outDir, progress: "none" }),
    (error: unknown) => {
      assert.ok(error instanceof TrainingDivergedError, String(error));
      assert.match(
        error.message,
        /step 6 .*(loss is NaN|gradients contain NaN).*the student input images contain NaN/,
      );
      assert.match(error.message, /last good checkpoint is .*step-00000004 \(step 4\)/);
      assert.equal(error.step, 6);
      assert.equal(error.lastCheckpoint?.step, 4);
      return true;
    },
  );
  const store = new CheckpointStore(`${outDir}/checkpoints`);
  const latest = await store.loadLatest();
  assert.ok(latest != null);
  for (const [name, tensor] of latest.checkpoint.groups.model) {
    assert.ok(tensor.dataSync().every(Number.isFinite), `${name} is finite in the kept checkpoint`);
  }
  for (const group of Object.values(latest.checkpoint.groups)) tf.dispose([...group.values()]);
  const events = (await new TrainLog(`${outDir}/train_log.jsonl`).read()).filter((e) => e.kind === "event");
  assert.equal(events.at(-1)?.kind === "event" && events.at(-1)!.event, "diverged");
});

Deno.test("train: exploding weights (gradients or loss not finite) also stop cleanly", async () => {
  await useBackend("wasm");
  const config = tinyConfig({ steps: 20, learningRate: 1e30, clipNorm: 0 });
  await assert.rejects(
    () => train({ config, data: { source: tinyFaces() }, outDir: Deno.makeTempDirSync(), progress: "none" }),
    (error: unknown) =>
      error instanceof TrainingDivergedError &&
      /(loss is|gradients contain) (NaN|Infinity)/.test(error.message),
  );
});

Deno.test("train: 300 steps on synthetic identities lower the loss and the held-out EER", async () => {
  await useBackend("wasm");
  const source = new CachedSource(
    new SyntheticFaces({ seed: 5, identities: 64, imagesPerIdentity: 6, size: 56, pairs: 0 }),
  );
  const heldOut = new SyntheticFaces({
    seed: 5,
    split: "eval",
    identities: 50,
    imagesPerIdentity: 4,
    size: 56,
    pairs: 400,
  });
  const config = tinyConfig({ steps: 300, batchSize: 16, logEvery: 25, learningRate: 0.8, decayEpochs: [] });
  // The trainer's starting point: the network initialised from the same seed.
  const untrained = createNetwork(config.architecture, { seed: config.seed });
  const eerBefore = await heldOutEer(untrained, heldOut);
  untrained.dispose();
  const result = await train({ config, data: { source }, outDir: Deno.makeTempDirSync(), progress: "none" });
  const losses = result.history.filter((e) => e.kind === "metrics").map((e) =>
    e.kind === "metrics" ? e.loss : NaN
  );
  const eerAfter = await heldOutEer(result.network, heldOut);
  console.log(
    `300 steps: loss ${losses[0].toFixed(2)} → ${losses.at(-1)!.toFixed(2)}, held-out EER ${
      eerBefore.toFixed(3)
    } → ` +
      `${eerAfter.toFixed(3)}, ${result.imagesPerSecond.toFixed(0)} img/s`,
  );
  assert.ok(losses.at(-1)! < 0.8 * losses[0], `loss ${losses[0]} → ${losses.at(-1)}`);
  assert.ok(eerAfter < eerBefore - 0.05, `held-out EER ${eerBefore} → ${eerAfter}`);
  result.dispose();
});

const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
const hasWebgpu = gpu != null && await gpu.requestAdapter().then((a) => a != null, () => false);
if (!hasWebgpu) console.warn("skipping the webgpu training test: no WebGPU adapter");

Deno.test({
  name: "train: the same code trains on webgpu, matching the cpu engine's losses",
  ignore: !hasWebgpu,
  fn: async () => {
    const losses = async (engine: string) => {
      await useBackend(engine);
      const result = await train({
        config: tinyConfig({ steps: 2 }),
        data: { source: tinyFaces() },
        outDir: await Deno.makeTempDir(),
        progress: "none",
      });
      result.dispose();
      return result.history.flatMap((e) => e.kind === "metrics" ? [e.loss] : []);
    };
    const onGpu = await losses("webgpu");
    const onCpu = await losses("cpu");
    assert.equal(onGpu.length, 2);
    onGpu.forEach((loss, i) =>
      assert.ok(
        Math.abs(loss - onCpu[i]) <= 1e-3 * onCpu[i],
        `step ${i + 1}: webgpu ${loss}, cpu ${onCpu[i]}`,
      )
    );
    await useBackend("wasm");
  },
});

const shared = new URL("../../shared/", import.meta.url);
const hasShared = await Deno.stat(shared).then(() => true, () => false);
if (!hasShared) console.warn("skipping the paper-recipe smoke test: ../shared not found");

Deno.test({
  name:
    "paper recipe shrunk to a tiny iResNet: 2 steps of baseline and MaskInv-LG on faces_emore_tiny (RecordIO + .bin)",
  ignore: !hasShared,
  fn: async () => {
    await useBackend("wasm");
    const faces = new URL("reference/faces_emore_tiny/", shared).pathname;
    const locations = {
      data: faces,
      maskTemplate: new URL("data/maskinv/mask_img.png", shared).pathname,
    };
    const bench = [`${faces}tiny_pairs.bin`];
    const runs = await Deno.makeTempDir();
    const shrink = (config: TrainConfig): TrainConfig => ({
      ...config,
      architecture: { ...TINY_ARCHITECTURE, inputSize: [112, 112] },
      batchSize: 4,
      steps: 2,
      logEvery: 1,
      checkpointEvery: 1,
    });
    const results: TrainResult[] = [];
    for (const step of ["baseline", "maskinv-lg"] as const) {
      const recipe = trainRecipe(step, "paper");
      assert.equal(recipe.data.kind, "recordio");
      const data = await openTrainingData(recipe.data, recipe.masks, locations);
      const validate = await validationCallback(recipe.validation, recipe.evaluationMasks, {
        bench,
        ...locations,
      });
      const options = {
        config: shrink(recipe.train),
        data,
        outDir: `${runs}/${step}`,
        init: recipe.initFrom ? `${runs}/${recipe.initFrom}` : undefined,
        validate,
        progress: "none" as const,
      };
      const result = recipe.teacher
        ? await distill({ ...options, teacher: results[0].network })
        : await train(options);
      data.close();
      results.push(result);
      assert.equal(result.step, 2);
      assert.equal(result.checkpoint?.step, 2);
      const metrics = result.history.flatMap((e) => e.kind === "metrics" ? [e] : []);
      assert.equal(metrics.length, 2);
      for (const m of metrics) {
        assert.ok(Number.isFinite(m.loss));
        assert.equal(m.distillation != null, step === "maskinv-lg");
      }
      for (const scenario of ["UM-UM", "M-UM", "M-M"]) {
        const eer = result.validation?.[`${scenario}/eer`];
        assert.ok(eer != null && eer >= 0 && eer <= 1, `${step} ${scenario} EER ${eer}`);
      }
    }
    const start = results[1].history.find((e) => e.kind === "event" && e.event === "start");
    assert.match(
      start?.kind === "event" ? start.message : "",
      /initialised from .*baseline.*network and head.*teacher/,
    );
    for (const r of results) r.dispose();
  },
});
