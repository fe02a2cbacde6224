import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { useBackend } from "../lib/engine/mod.ts";
import type { BatchMasker } from "../lib/data/mod.ts";
import { createNetwork, type FaceEmbedder } from "../lib/models/mod.ts";
import { distill } from "../lib/train/mod.ts";
import { maxDifference, snapshot, TINY_ARCHITECTURE, tinyConfig, tinyFaces } from "./train_helpers.ts";

/** A teacher that records every batch it is shown and embeds by a fixed projection of the mean colour. */
class SpyTeacher implements FaceEmbedder {
  readonly name = "spy-teacher";
  readonly inputSize = [32, 32] as const;
  readonly embeddingSize = TINY_ARCHITECTURE.embeddingSize;
  readonly seen: Float32Array[] = [];
  readonly #projection = tf.randomNormal(
    [3, TINY_ARCHITECTURE.embeddingSize],
    0,
    1,
    "float32",
    4,
  ) as tf.Tensor2D;

  embed(images: tf.Tensor4D): tf.Tensor2D {
    this.seen.push(Float32Array.from(images.dataSync()));
    return tf.tidy(() => {
      const colour = tf.reshape(tf.mean(images, [1, 2]), [images.shape[0], 3]) as tf.Tensor2D;
      const raw = tf.matMul(colour, this.#projection);
      return tf.div(raw, tf.norm(raw, 2, 1, true)) as tf.Tensor2D;
    });
  }

  dispose(): void {
    this.#projection.dispose();
  }
}

/** Paints the lower half of masked rows white and records what it was given and what it returned. */
class RecordingMasker implements BatchMasker {
  readonly calls: { input: Float32Array; output: Float32Array; masked: boolean[] }[] = [];

  maskBatch(images: tf.Tensor4D, masked: readonly boolean[]): tf.Tensor4D {
    const [n, h] = images.shape;
    const out = tf.tidy(() => {
      const rows = tf.reshape(tf.tensor1d(masked.map((m) => (m ? 1 : 0))), [n, 1, 1, 1]);
      const lower = tf.reshape(tf.tensor1d(Array.from({ length: h }, (_, y) => (y >= h / 2 ? 1 : 0))), [
        1,
        h,
        1,
        1,
      ]);
      const cover = tf.mul(rows, lower);
      return tf.add(tf.mul(images, tf.sub(1, cover)), tf.mul(cover, 255)) as tf.Tensor4D;
    });
    this.calls.push({
      input: Float32Array.from(images.dataSync()),
      output: Float32Array.from(out.dataSync()),
      masked: [...masked],
    });
    return out;
  }
}

Deno.test("distill: the teacher sees the unmasked copy, the student the masked view", async () => {
  await useBackend("wasm");
  const teacher = new SpyTeacher();
  const masker = new RecordingMasker();
  const result = await distill({
    config: tinyConfig({ steps: 4, maskProbability: 0.5, kdWeight: 100 }),
    data: { source: tinyFaces(), masker },
    teacher,
    outDir: await Deno.makeTempDir(),
    progress: "none",
  });
  // One teacher batch per step; the masker also prepared batches ahead, in the same order.
  assert.equal(teacher.seen.length, 4);
  const plane = 112 * 112 * 3;
  let maskedRows = 0, unmaskedRows = 0;
  for (let step = 0; step < 4; step++) {
    const { input, output, masked } = masker.calls[step];
    const seen = teacher.seen[step];
    assert.deepEqual(seen, input, `step ${step}: the teacher got exactly the unmasked images`);
    masked.forEach((isMasked, row) => {
      const rowOf = (a: Float32Array) => a.subarray(row * plane, (row + 1) * plane);
      const differs = rowOf(seen).some((v, i) => v !== rowOf(output)[i]);
      assert.equal(
        differs,
        isMasked,
        `step ${step} row ${row}: teacher row differs from the student's iff masked`,
      );
      if (isMasked) maskedRows++;
      else unmaskedRows++;
    });
  }
  assert.ok(maskedRows > 0 && unmaskedRows > 0, `${maskedRows} masked, ${unmaskedRows} unmasked rows`);
  result.dispose();
  teacher.dispose();
});

Deno.test("distill: the teacher's weights and running statistics are bit-identical after 10 steps", async () => {
  await useBackend("wasm");
  const teacher = createNetwork(TINY_ARCHITECTURE, { seed: 77 });
  // Give the teacher non-trivial running statistics, as a trained model has.
  for (const [name, v] of teacher.params) {
    if (name.endsWith("running_mean")) v.assign(tf.randomNormal(v.shape, 0, 0.1, "float32", 1));
  }
  const before = snapshot(teacher.params);
  const result = await distill({
    config: tinyConfig({ steps: 10, maskProbability: 0, kdWeight: 3000 }),
    data: { source: tinyFaces() },
    teacher,
    studentInit: "scratch",
    outDir: await Deno.makeTempDir(),
    progress: "none",
  });
  assert.equal(maxDifference(before, snapshot(teacher.params)), 0);
  // …while the student, trained against it, did change.
  const start = createNetwork(TINY_ARCHITECTURE, { seed: tinyConfig().seed });
  assert.ok(maxDifference(snapshot(start.params), snapshot(result.network.params)) > 1e-4);
  start.dispose();
  result.dispose();
  teacher.dispose();
});

Deno.test("distill: the logged loss is L_margin + λ·KD, and the KD term pulls the student toward the teacher", async () => {
  await useBackend("wasm");
  const teacher = createNetwork(TINY_ARCHITECTURE, { seed: 77 });
  const run = async (lambda: number) => {
    const result = await distill({
      config: tinyConfig({ steps: 12, maskProbability: 0, kdWeight: lambda, learningRate: 8 }),
      data: { source: tinyFaces() },
      teacher,
      studentInit: "scratch",
      outDir: await Deno.makeTempDir(),
      progress: "none",
    });
    const metrics = result.history.flatMap((e) => e.kind === "metrics" ? [e] : []);
    result.dispose();
    assert.equal(metrics.length, 12);
    for (const m of metrics) {
      assert.ok(m.distillation != null && m.distillation > 0);
      const total = m.classification + lambda * m.distillation;
      assert.ok(Math.abs(m.loss - total) <= 1e-5 * total, `step ${m.step}: ${m.loss} vs ${total}`);
    }
    return metrics.slice(-3).reduce((s, m) => s + m.distillation!, 0) / 3;
  };
  // The same run with a negligible and with a strong distillation weight: only the gradient of the KD term
  // can make the second student's embeddings closer to the teacher's.
  const weak = await run(1e-9);
  const strong = await run(3000);
  assert.ok(strong < 0.7 * weak, `distillation loss after 12 steps: λ≈0 ${weak}, λ=3000 ${strong}`);
  teacher.dispose();
});

Deno.test("distill: λ = 0 is masked training without a teacher forward", async () => {
  await useBackend("wasm");
  const teacher = new SpyTeacher();
  const result = await distill({
    config: tinyConfig({ steps: 2, maskProbability: 0.5, kdWeight: 0 }),
    data: { source: tinyFaces(), masker: new RecordingMasker() },
    teacher,
    outDir: await Deno.makeTempDir(),
    progress: "none",
  });
  assert.equal(teacher.seen.length, 0);
  for (const e of result.history) if (e.kind === "metrics") assert.equal(e.distillation, null);
  result.dispose();
  teacher.dispose();
});

Deno.test("distill: the student starts from the teacher's weights when the architectures match", async () => {
  await useBackend("wasm");
  const teacher = createNetwork(TINY_ARCHITECTURE, { seed: 77 });
  const trainable = (net: { params: ReadonlyMap<string, tf.Variable> }) =>
    new Map([...net.params].filter(([name]) => !name.includes("running_")));
  // A vanishing learning rate: after one step the weights are still where they started (to 1e-20; two random
  // initialisations differ by more than 1e-3).
  const config = tinyConfig({ steps: 1, maskProbability: 0, kdWeight: 100, learningRate: 1e-30 });
  const fromTeacher = await distill({
    config,
    data: { source: tinyFaces() },
    teacher,
    outDir: await Deno.makeTempDir(),
    progress: "none",
  });
  assert.ok(maxDifference(snapshot(trainable(teacher)), snapshot(trainable(fromTeacher.network))) < 1e-20);
  const start = fromTeacher.history.find((e) => e.kind === "event" && e.event === "start");
  assert.match(start?.kind === "event" ? start.message : "", /initialised from the network/);
  fromTeacher.dispose();
  const scratch = await distill({
    config,
    data: { source: tinyFaces() },
    teacher,
    studentInit: "scratch",
    outDir: await Deno.makeTempDir(),
    progress: "none",
  });
  assert.ok(maxDifference(snapshot(trainable(teacher)), snapshot(trainable(scratch.network))) > 1e-3);
  scratch.dispose();
  const spy = new SpyTeacher();
  await assert.rejects(
    () =>
      distill({
        config,
        data: { source: tinyFaces() },
        teacher: spy,
        studentInit: "teacher",
        outDir: Deno.makeTempDirSync(),
      }),
    /cannot start from the teacher spy-teacher/,
  );
  const wide = createNetwork({ ...TINY_ARCHITECTURE, embeddingSize: 16 }, { seed: 1 });
  await assert.rejects(
    () => distill({ config, data: { source: tinyFaces() }, teacher: wide, outDir: Deno.makeTempDirSync() }),
    /embeds to 16 values, the student to 32/,
  );
  wide.dispose();
  spy.dispose();
  teacher.dispose();
});
