/**
 * Shared pieces of the training tests: a tiny iResNet configuration, small synthetic sets and an inline
 * verification of a model on held-out pairs.
 */
import * as tf from "@tensorflow/tfjs-core";
import { SyntheticFaces } from "../lib/data/mod.ts";
import { createNetwork, type FaceEmbedder, type FaceNetwork, iresnetConfig } from "../lib/models/mod.ts";
import type { TensorMasker } from "../lib/masks/mod.ts";
import { SortedScores, verificationMetrics } from "../lib/metrics/mod.ts";
import { openMasker, type TrainConfig, trainRecipe } from "../lib/train/mod.ts";

/** A tiny iResNet on 32x32 views: fast enough for hundreds of steps in a test. */
export const TINY_ARCHITECTURE = iresnetConfig("iresnet18", {
  layers: [1, 1, 1, 1],
  widths: [8, 8, 16, 16],
  embeddingSize: 32,
  inputSize: [32, 32],
});

/** The quick baseline recipe on the tiny network, with test-sized bookkeeping. */
export function tinyConfig(overrides: Partial<TrainConfig> = {}): TrainConfig {
  return {
    ...trainRecipe("baseline", "quick").train,
    name: "tiny",
    architecture: TINY_ARCHITECTURE,
    batchSize: 8,
    steps: 6,
    logEvery: 1,
    checkpointEvery: 0,
    keepCheckpoints: 2,
    validateEvery: 0,
    ...overrides,
  };
}

/** Synthetic training identities. */
export function tinyFaces(identities = 8, imagesPerIdentity = 4, size = 112): SyntheticFaces {
  return new SyntheticFaces({ seed: 3, identities, imagesPerIdentity, size, pairs: 0 });
}

/** Every variable of a network or head as a plain array, by name. */
export function snapshot(tensors: ReadonlyMap<string, tf.Tensor>): Map<string, Float32Array> {
  return new Map([...tensors].map(([name, t]) => [name, Float32Array.from(t.dataSync())]));
}

/** Largest absolute difference between two snapshots with the same names. */
export function maxDifference(a: Map<string, Float32Array>, b: Map<string, Float32Array>): number {
  let worst = 0;
  for (const [name, values] of a) {
    const other = b.get(name);
    if (other == null || other.length !== values.length) return Infinity;
    for (let i = 0; i < values.length; i++) {
      const d = Math.abs(values[i] - other[i]);
      if (!(d <= worst)) worst = Number.isNaN(d) ? Infinity : d;
    }
  }
  return worst;
}

/** EER of a model on the genuine/impostor pairs of a synthetic evaluation set (unmasked). */
export async function heldOutEer(model: FaceEmbedder, faces: SyntheticFaces): Promise<number> {
  const embeddings: Float32Array[] = [];
  for (let start = 0; start < faces.imageCount; start += 32) {
    const count = Math.min(32, faces.imageCount - start);
    const pixels = Array.from({ length: count }, (_, i) => faces.render(start + i).pixels);
    const size = pixels[0].width;
    const batch = new Float32Array(count * size * size * 3);
    pixels.forEach((p, i) => batch.set(p.data, i * size * size * 3));
    const input = tf.tensor4d(batch, [count, size, size, 3]);
    const out = model.embed(input);
    const values = await out.data();
    tf.dispose([input, out]);
    for (let i = 0; i < count; i++) {
      embeddings.push(values.slice(i * model.embeddingSize, (i + 1) * model.embeddingSize) as Float32Array);
    }
  }
  const cosine = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + v * b[i], 0);
  const scores = faces.pairs.map((p) => cosine(embeddings[p.first], embeddings[p.second]));
  return verificationMetrics(SortedScores.fromPairs(scores, faces.pairs.map((p) => p.genuine))).eer;
}

/** The run the kill-and-resume tests interrupt: distillation with masks, 12 steps over three epochs. */
export async function resumeScenario(checkpointEvery: number): Promise<{
  config: TrainConfig;
  source: SyntheticFaces;
  masker: TensorMasker;
  teacher: FaceNetwork;
}> {
  return {
    config: tinyConfig({
      name: "resume",
      steps: 12,
      checkpointEvery,
      keepCheckpoints: 2,
      maskProbability: 0.5,
      kdWeight: 100,
      learningRate: 0.8,
    }),
    source: tinyFaces(8, 4),
    masker: await openMasker({ mode: "clean", textureProbability: 0.5 }),
    teacher: createNetwork(TINY_ARCHITECTURE, { seed: 77 }),
  };
}
