/**
 * Data-layer throughput: synthetic face rendering (faces/s at 112x112) and the MaskInv batch pipeline
 * (batches/s at 112x112, batch 64, p = 0.5) with a masker that blends a soft, shaded mask of a random colour
 * into every masked image pixel by pixel — the same arithmetic as the paper's compositing — on the chosen
 * engine.
 *
 * Run: `deno run -A tests/data_bench.ts [--faces 2000] [--batches 30] [--engine wasm]`
 * Prints one JSON line per measurement.
 */
import * as tf from "@tensorflow/tfjs-core";
import { parseArgs } from "node:util";
import { useBackend } from "../lib/engine/mod.ts";
import { type BatchMasker, MaskInvPipeline, SyntheticFaces } from "../lib/data/mod.ts";
import type { Rng } from "../lib/util/random.ts";
import { taskArgs } from "../cli/common.ts";

const { values: args } = parseArgs({
  args: taskArgs(),
  options: {
    faces: { type: "string", default: "2000" },
    batches: { type: "string", default: "30" },
    engine: { type: "string", default: "wasm" },
  },
});
const faceCount = Number(args.faces), batchCount = Number(args.batches);
const engine = await useBackend(args.engine);

/**
 * Blends a mask into masked rows: a soft-edged lower-face shape (alpha), a vertical shading ramp and a random
 * colour per image (0–149 per channel, as the released MaskInv code draws it): out = img·(1−α) + α·shade·colour.
 */
class ShadedColourMasker implements BatchMasker {
  readonly #alpha: tf.Tensor4D;
  readonly #shade: tf.Tensor4D;
  constructor(size: number) {
    const alpha = new Float32Array(size * size), shade = new Float32Array(size * size);
    const k = size / 112;
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        // An ellipse over nose, mouth, cheeks and chin, with a 3 px soft edge.
        const dx = (x / k - 56) / 44, dy = (y / k - 92) / 36;
        const r = Math.hypot(dx, dy);
        const top = y / k - 62;
        alpha[y * size + x] = Math.max(0, Math.min(1, (1 - r) * 12)) * Math.max(0, Math.min(1, top / 3));
        shade[y * size + x] = 0.75 + 0.25 * Math.cos((x / k - 56) / 30);
      }
    }
    this.#alpha = tf.tensor4d(alpha, [1, size, size, 1]);
    this.#shade = tf.tensor4d(shade, [1, size, size, 1]);
  }
  maskBatch(images: tf.Tensor4D, masked: readonly boolean[], rng: Rng): tf.Tensor4D {
    const n = images.shape[0];
    const colours = new Float32Array(n * 3).map(() => rng.int(0, 150));
    return tf.tidy(() => {
      const rows = tf.reshape(tf.tensor1d(masked.map((m) => (m ? 1 : 0)), "float32"), [n, 1, 1, 1]);
      const alpha = tf.mul(this.#alpha, rows); // [n, h, w, 1]
      const paint = tf.mul(this.#shade, tf.reshape(tf.tensor2d(colours, [n, 3]), [n, 1, 1, 3]));
      return tf.add(tf.mul(images, tf.sub(1, alpha)), tf.mul(alpha, paint)) as tf.Tensor4D;
    });
  }
  dispose(): void {
    tf.dispose([this.#alpha, this.#shade]);
  }
}

const note = "shared 2-core machine; figures vary with load";

// 1. Rendering.
{
  const faces = new SyntheticFaces({
    seed: 0,
    identities: Math.ceil(faceCount / 10),
    imagesPerIdentity: 10,
    pairs: 0,
  });
  faces.render(0); // canvas and gradients warm up
  const start = performance.now();
  for (let i = 0; i < faceCount; i++) faces.render(i % faces.length);
  const seconds = (performance.now() - start) / 1000;
  console.log(
    JSON.stringify({
      bench: "synthetic-render",
      size: 112,
      faces: faceCount,
      faces_per_s: faceCount / seconds,
      note,
    }),
  );
}

// 2. Pipeline, without and with masking.
for (const maskProbability of [0, 0.5]) {
  const faces = new SyntheticFaces({ seed: 1, identities: 400, imagesPerIdentity: 10, pairs: 0 });
  const before = tf.memory().numTensors;
  const masker = new ShadedColourMasker(112);
  const pipeline = new MaskInvPipeline(faces, {
    batchSize: 64,
    maskProbability,
    masker,
    prefetch: 2,
    seed: 1,
  });
  (await pipeline.next()).dispose(); // warm-up (kernels, first allocations)
  const start = performance.now();
  let maskedRows = 0;
  for (let b = 0; b < batchCount; b++) {
    const batch = await pipeline.next();
    // Touch the tensors as a training step would, so lazily computed masks are really computed.
    const sums = tf.tidy(() => tf.add(tf.sum(batch.studentView), tf.sum(batch.teacherView)));
    await sums.data();
    sums.dispose();
    maskedRows += batch.masked.filter((m) => m).length;
    batch.dispose();
  }
  const seconds = (performance.now() - start) / 1000;
  await pipeline.close();
  masker.dispose();
  console.log(JSON.stringify({
    bench: "maskinv-pipeline",
    engine: engine.name,
    size: 112,
    batch: 64,
    mask_probability: maskProbability,
    masked_fraction: maskedRows / (64 * batchCount),
    batches: batchCount,
    batches_per_s: batchCount / seconds,
    images_per_s: (64 * batchCount) / seconds,
    tensor_growth: tf.memory().numTensors - before,
    note,
  }));
}
