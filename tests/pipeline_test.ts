// The MaskInv batch pipeline: the teacher never sees a mask, ~p of the students do, shuffling is seeded and
// resumable, and tensors never pile up.
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { useBackend } from "../lib/engine/mod.ts";
import { decodeImage, encodePng } from "../lib/image/codec.ts";
import {
  type BatchMasker,
  type LabelledSample,
  type MaskInvBatch,
  MaskInvPipeline,
  type Pixels,
  SyntheticFaces,
  type TrainingSource,
} from "../lib/data/mod.ts";
import { Rng } from "../lib/util/random.ts";

await useBackend("cpu");

/** Paints the lower half of every masked row with −1, a value no image can hold. */
class LowerHalfMasker implements BatchMasker {
  calls = 0;
  maskBatch(images: tf.Tensor4D, masked: readonly boolean[], rng: Rng): tf.Tensor4D {
    this.calls++;
    rng.uniform(); // a masker draws its parameters from the batch generator
    return tf.tidy(() => {
      const [n, h] = images.shape;
      const rows = tf.reshape(tf.tensor1d(masked.map((m) => (m ? 1 : 0)), "float32"), [n, 1, 1, 1]);
      const lower = tf.reshape(tf.tensor1d(Array.from({ length: h }, (_, y) => (y >= h / 2 ? 1 : 0))), [
        1,
        h,
        1,
        1,
      ]);
      const cover = tf.mul(rows, lower);
      return tf.sub(tf.mul(images, tf.sub(1, cover)), cover) as tf.Tensor4D;
    });
  }
}

/** The image of `source` at `index` as float RGB, mirrored when `flip`. */
function expected(image: Pixels, flip: boolean): Float32Array {
  const { width, height, data } = image;
  const out = new Float32Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const sx = flip ? width - 1 - x : x;
      for (let c = 0; c < 3; c++) out[(y * width + x) * 3 + c] = data[(y * width + sx) * 3 + c];
    }
  }
  return out;
}

/** Row `i` of a batch tensor. */
function row(values: Float32Array, shape: number[], i: number): Float32Array {
  const size = shape[1] * shape[2] * shape[3];
  return values.subarray(i * size, (i + 1) * size);
}

/** A small in-memory source of random pixels (or their PNG encoding). */
class RandomSource implements TrainingSource {
  readonly name = "random";
  readonly images: Pixels[];
  encoded: Uint8Array[] | null = null;
  constructor(readonly length: number, readonly classCount: number, readonly size: number, seed = 1) {
    const rng = new Rng(seed);
    this.images = Array.from({ length }, () => ({
      width: size,
      height: size,
      channels: 3 as const,
      data: Uint8Array.from({ length: size * size * 3 }, () => rng.int(0, 256)),
    }));
  }
  sample(index: number): Promise<LabelledSample> {
    const image = this.encoded ? this.encoded[index] : this.images[index];
    return Promise.resolve({ image, label: index % this.classCount, name: `random#${index}` });
  }
}

Deno.test("the teacher never sees a mask; about p of the student views are masked", async () => {
  const source = new SyntheticFaces({ seed: 4, identities: 10, imagesPerIdentity: 8, size: 16, pairs: 0 });
  const masker = new LowerHalfMasker();
  const pipeline = new MaskInvPipeline(source, { batchSize: 10, maskProbability: 0.5, masker, seed: 3 });
  let maskedRows = 0, rows = 0;
  for (let b = 0; b < 100; b++) {
    const batch = await pipeline.next();
    const student = batch.studentView.dataSync() as Float32Array;
    const teacher = batch.teacherView.dataSync() as Float32Array;
    const labels = batch.label.dataSync();
    assert.equal(batch.label.dtype, "int32");
    assert.deepEqual(batch.studentView.shape, [10, 16, 16, 3]);
    batch.indices.forEach((index, i) => {
      const image = source.render(index).pixels;
      assert.equal(labels[i], source.render(index).label);
      assert.deepEqual(batch.teacherFlipped[i], batch.studentFlipped[i], "same flip by default");
      const teacherRow = row(teacher, batch.teacherView.shape, i);
      assert.deepEqual(teacherRow, expected(image, batch.teacherFlipped[i]), "teacher = unmasked source");
      assert.ok(!teacherRow.includes(-1));
      const studentRow = row(student, batch.studentView.shape, i);
      const clean = expected(image, batch.studentFlipped[i]);
      const half = clean.length / 2;
      assert.deepEqual(studentRow.subarray(0, half), clean.subarray(0, half), "upper half never touched");
      if (batch.masked[i]) {
        assert.ok(studentRow.subarray(half).every((v) => v === -1), "masked row is masked");
      } else assert.deepEqual(studentRow.subarray(half), clean.subarray(half), "unmasked row is the source");
    });
    maskedRows += batch.masked.filter((m) => m).length;
    rows += batch.masked.length;
    batch.dispose();
  }
  await pipeline.close();
  const fraction = maskedRows / rows;
  assert.ok(Math.abs(fraction - 0.5) < 0.055, `masked fraction ${fraction}`); // > 3 sigma for 1000 rows
  assert.ok(masker.calls > 90);
});

Deno.test("mask probability is honoured at 0, 0.2 and 1", async () => {
  const source = new RandomSource(64, 4, 4);
  for (const p of [0, 0.2, 1]) {
    const masker = new LowerHalfMasker();
    const pipeline = new MaskInvPipeline(source, { batchSize: 16, maskProbability: p, masker, seed: 9 });
    let masked = 0;
    for (let b = 0; b < 100; b++) {
      const batch = await pipeline.next();
      masked += batch.masked.filter((m) => m).length;
      if (p === 0) {
        assert.notEqual(batch.studentView, batch.teacherView, "two tensors, even without masks");
        assert.deepEqual(batch.studentView.dataSync(), batch.teacherView.dataSync());
      }
      batch.dispose();
    }
    await pipeline.close();
    const fraction = masked / 1600;
    assert.ok(Math.abs(fraction - p) < 0.04, `p=${p}: masked fraction ${fraction}`);
    if (p === 0) assert.equal(masker.calls, 0);
  }
  assert.throws(
    () => new MaskInvPipeline(source, { batchSize: 4 }),
    /maskProbability is 0.5 but no masker was given/,
  );
});

Deno.test("flip modes: same, independent (as the released code), none", async () => {
  const source = new RandomSource(40, 4, 4);
  const run = async (flip: "same" | "independent" | "none") => {
    const pipeline = new MaskInvPipeline(source, { batchSize: 20, maskProbability: 0, flip, seed: 2 });
    const batches: MaskInvBatch[] = [];
    for (let i = 0; i < 10; i++) batches.push(await pipeline.next());
    await pipeline.close();
    return batches;
  };
  const independent = await run("independent");
  const differing = independent.flatMap((b) => b.studentFlipped.map((f, i) => f !== b.teacherFlipped[i]));
  assert.ok(differing.filter(Boolean).length > 50, "independent flips often differ");
  for (const batch of independent) {
    const student = batch.studentView.dataSync() as Float32Array;
    const teacher = batch.teacherView.dataSync() as Float32Array;
    batch.indices.forEach((index, i) => {
      assert.deepEqual(
        row(student, batch.studentView.shape, i),
        expected(source.images[index], batch.studentFlipped[i]),
      );
      assert.deepEqual(
        row(teacher, batch.teacherView.shape, i),
        expected(source.images[index], batch.teacherFlipped[i]),
      );
    });
    batch.dispose();
  }
  const none = await run("none");
  assert.ok(none.every((b) => b.studentFlipped.every((f) => !f) && b.teacherFlipped.every((f) => !f)));
  none.forEach((b) => b.dispose());
  const same = await run("same");
  const flipped = same.flatMap((b) => b.studentFlipped).filter(Boolean).length;
  assert.ok(flipped > 60 && flipped < 140, `about half flipped: ${flipped} of 200`);
  same.forEach((b) => b.dispose());
});

Deno.test("epochs are seeded permutations; dropLast drops the incomplete batch", async () => {
  const source = new RandomSource(23, 5, 2);
  const pipeline = new MaskInvPipeline(source, { batchSize: 5, maskProbability: 0, seed: 7 });
  assert.equal(pipeline.batchesPerEpoch, 4);
  const epochs: number[][] = [[], [], []];
  for (let b = 0; b < 12; b++) {
    const batch = await pipeline.next();
    assert.equal(batch.epoch, Math.floor(b / 4));
    assert.equal(batch.position, (b % 4) * 5);
    epochs[batch.epoch].push(...batch.indices);
    batch.dispose();
  }
  await pipeline.close();
  for (const order of epochs) {
    assert.equal(order.length, 20);
    assert.equal(new Set(order).size, 20, "no image twice in an epoch");
  }
  assert.notDeepEqual(epochs[0], epochs[1], "each epoch is reshuffled");
  const keepLast = new MaskInvPipeline(source, {
    batchSize: 5,
    maskProbability: 0,
    seed: 7,
    dropLast: false,
  });
  const sizes = [];
  for (let b = 0; b < 6; b++) {
    const batch = await keepLast.next();
    sizes.push(batch.indices.length);
    batch.dispose();
  }
  await keepLast.close();
  assert.deepEqual(sizes, [5, 5, 5, 5, 3, 5]);
  const other = new MaskInvPipeline(source, { batchSize: 5, maskProbability: 0, seed: 8 });
  const first = await other.next();
  assert.notDeepEqual(first.indices, epochs[0].slice(0, 5), "another seed, another order");
  first.dispose();
  await other.close();
});

Deno.test("a pipeline resumed from its saved state repeats the same batches exactly", async () => {
  const source = new RandomSource(30, 6, 3);
  const options = {
    batchSize: 7,
    maskProbability: 0.5,
    masker: new LowerHalfMasker(),
    flip: "independent" as const,
  };
  const reference = new MaskInvPipeline(source, { ...options, seed: 5 });
  const snapshot = async (batch: MaskInvBatch) => {
    const out = {
      epoch: batch.epoch,
      indices: batch.indices,
      masked: batch.masked,
      flips: [batch.studentFlipped, batch.teacherFlipped],
      student: Array.from(batch.studentView.dataSync()),
      teacher: Array.from(batch.teacherView.dataSync()),
    };
    batch.dispose();
    return await Promise.resolve(out);
  };
  const all = [];
  let saved = reference.state;
  for (let b = 0; b < 11; b++) {
    if (b === 6) saved = reference.state; // mid-way through the second epoch (4 batches per epoch)
    all.push(await snapshot(await reference.next()));
  }
  await reference.close();
  assert.deepEqual(saved.epoch, 1);
  // Signed or unsigned words describe the same generator state; JSON keeps either.
  const roundTrip = JSON.parse(JSON.stringify({ ...saved, rng: saved.rng.map((v) => v | 0) }));
  assert.ok(roundTrip.rng.some((v: number) => v < 0) || saved.rng.every((v) => v < 2 ** 31));
  const resumed = new MaskInvPipeline(source, {
    ...options,
    seed: 999,
    resume: roundTrip,
  });
  for (let b = 6; b < 11; b++) assert.deepEqual(await snapshot(await resumed.next()), all[b], `batch ${b}`);
  await resumed.close();
  assert.throws(
    () =>
      new MaskInvPipeline(source, { ...options, resume: { epoch: 0, position: 0, rng: [1, 2, 3] as never } }),
    /invalid resume state/,
  );
});

Deno.test("no growth of tf.memory().numTensors over 1,000 batches; close() frees prefetched batches", async () => {
  const source = new RandomSource(50, 5, 4);
  const before = tf.memory().numTensors;
  const masker = new LowerHalfMasker();
  const pipeline = new MaskInvPipeline(source, {
    batchSize: 4,
    maskProbability: 0.5,
    masker,
    prefetch: 3,
    seed: 1,
  });
  let peak = 0;
  for (let b = 0; b < 1000; b++) {
    const batch = await pipeline.next();
    peak = Math.max(peak, tf.memory().numTensors - before);
    batch.dispose();
  }
  assert.ok(peak <= 3 * 4, `at most (prefetch + 1) batches of 3 tensors alive, saw ${peak}`);
  assert.ok(masker.calls > 850, `the masker ran on most batches (${masker.calls})`);
  await pipeline.close();
  assert.equal(tf.memory().numTensors, before);
  // Prefetched but never taken: close() must dispose them.
  const idle = new MaskInvPipeline(source, { batchSize: 4, maskProbability: 0, prefetch: 4, seed: 1 });
  (await idle.next()).dispose();
  await new Promise((resolve) => setTimeout(resolve, 10));
  await idle.close();
  assert.equal(tf.memory().numTensors, before);
  await assert.rejects(() => idle.next(), /closed/);
});

Deno.test("errors name the image and leak no tensors: masker failure, wrong size, missing decoder", async () => {
  const before = tf.memory().numTensors;
  const source = new RandomSource(8, 2, 4);
  const broken: BatchMasker = {
    maskBatch: () => {
      throw new Error("mask template missing");
    },
  };
  const failing = new MaskInvPipeline(source, { batchSize: 4, maskProbability: 1, masker: broken });
  await assert.rejects(() => failing.next(), /mask template missing/);
  await failing.close();
  assert.equal(tf.memory().numTensors, before);
  const mixed = new RandomSource(8, 2, 4);
  mixed.images[5] = { width: 3, height: 4, channels: 3, data: new Uint8Array(36) };
  const wrong = new MaskInvPipeline(mixed, { batchSize: 8, maskProbability: 0, imageSize: [4, 4] });
  await assert.rejects(() => wrong.next(), /random#5: image is 3x4, the pipeline expects 4x4/);
  await wrong.close();
  const encoded = new RandomSource(8, 2, 4);
  encoded.encoded = await Promise.all(encoded.images.map((image) => encodePng(image)));
  const noDecoder = new MaskInvPipeline(encoded, { batchSize: 4, maskProbability: 0 });
  await assert.rejects(
    () => noDecoder.next(),
    /random#\d: the image is encoded \(\d+ bytes\) and no decoder was given/,
  );
  await noDecoder.close();
  const withDecoder = new MaskInvPipeline(encoded, {
    batchSize: 4,
    maskProbability: 0,
    decode: decodeImage,
    flip: "none",
  });
  const batch = await withDecoder.next();
  const values = batch.teacherView.dataSync() as Float32Array;
  batch.indices.forEach((index, i) => {
    assert.deepEqual(row(values, batch.teacherView.shape, i), expected(encoded.images[index], false));
  });
  batch.dispose();
  await withDecoder.close();
  assert.equal(tf.memory().numTensors, before);
});
