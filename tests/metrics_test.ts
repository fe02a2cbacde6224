import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { type Pixels, planScenarios, type VerificationSet } from "../lib/data/mod.ts";
import { encodePng } from "../lib/image/mod.ts";
import type { EmbedOptions, FaceEmbedder } from "../lib/models/mod.ts";
import { Rng } from "../lib/util/random.ts";
import {
  calibrateThresholds,
  evaluateVerification,
  evaluationTableRow,
  kFoldRanges,
  lfwThresholds,
  maskedScenarios,
  pairDistances,
  realMaskScenarios,
  resultsTableHtml,
  resultsTableMarkdown,
  rocCurve,
  scenarioScores,
  scenariosFromPlans,
  SortedScores,
  sortFloat64,
  tarAtFar,
  tenFoldAccuracy,
  tenFoldAccuracyFromDistances,
  thinCurve,
  verificationMetrics,
  verificationSetViews,
  viewId,
  type ViewKey,
} from "../lib/metrics/mod.ts";

interface ScoreCase {
  name: string;
  genuine: number[];
  impostor: number[];
  eer: number;
  eer_threshold: number;
  fmr100: number;
  fmr1000: number;
  g_mean: number;
  i_mean: number;
  fdr: number;
}
interface Reference {
  note: string;
  score_cases: ScoreCase[];
  ten_fold: {
    emb1: number[][];
    emb2: number[][];
    issame: boolean[];
    fold_accuracies: number[];
    fold_thresholds: number[];
    mean_accuracy: number;
    std_accuracy: number;
  };
}

// The numbers of ../shared/reference/metrics.json, copied as a fixture so the parity tests run everywhere.
const fixtureUrl = new URL("./fixtures/metrics_reference.json", import.meta.url);
const reference: Reference = JSON.parse(await Deno.readTextFile(fixtureUrl));
const sharedUrl = new URL("../../shared/reference/metrics.json", import.meta.url);
const hasShared = await Deno.stat(sharedUrl).then(() => true, () => false);
if (!hasShared) console.warn("skipping metrics fixture-vs-shared check: ../shared not found");

/** Reference oracle written straight from the note's definitions, O(n · thresholds). */
function bruteForce(genuine: number[], impostor: number[]) {
  // -0 and 0 are one threshold (numpy's unique); keep +0.
  const thresholds = [...new Set([...genuine, ...impostor].map((s) => s + 0))].sort((a, b) => a - b);
  const fmr = thresholds.map((t) => impostor.filter((s) => s >= t).length / impostor.length);
  const fnmr = thresholds.map((t) => genuine.filter((s) => s < t).length / genuine.length);
  const lowestFnmr = (target: number) => {
    const ok = fnmr.filter((_, k) => fmr[k] <= target);
    return ok.length ? Math.min(...ok) : 1;
  };
  return { thresholds, fmr, fnmr, lowestFnmr };
}

Deno.test({
  name: "fixture equals ../shared/reference/metrics.json",
  ignore: !hasShared,
  fn: async () => {
    assert.deepEqual(JSON.parse(await Deno.readTextFile(sharedUrl)), reference);
  },
});

Deno.test("the reference covers a case with tied scores", () => {
  const ties = reference.score_cases.find((c) => c.name === "with_ties");
  assert.ok(ties);
  const all = [...ties.genuine, ...ties.impostor];
  assert.ok(new Set(all).size < all.length / 10, "the tie case must have many repeated scores");
});

for (const c of reference.score_cases) {
  Deno.test(`verificationMetrics matches metrics.json case ${c.name}`, () => {
    const m = verificationMetrics(c.genuine, c.impostor);
    assert.equal(m.genuineCount, c.genuine.length);
    assert.equal(m.impostorCount, c.impostor.length);
    // Discrete quantities (ratios of counts, a chosen score): 1e-9.
    assert.ok(Math.abs(m.eer - c.eer) <= 1e-9, `eer ${m.eer} vs ${c.eer}`);
    assert.ok(Math.abs(m.eerThreshold - c.eer_threshold) <= 1e-9, `eer threshold ${m.eerThreshold}`);
    assert.ok(Math.abs(m.fmr100 - c.fmr100) <= 1e-9, `fmr100 ${m.fmr100} vs ${c.fmr100}`);
    assert.ok(Math.abs(m.fmr1000 - c.fmr1000) <= 1e-9, `fmr1000 ${m.fmr1000} vs ${c.fmr1000}`);
    // Means of scores rounded to 1e-10 in the JSON: the mean moves by at most 5e-11.
    assert.ok(Math.abs(m.gMean - c.g_mean) <= 1e-9, `g-mean ${m.gMean} vs ${c.g_mean}`);
    assert.ok(Math.abs(m.iMean - c.i_mean) <= 1e-9, `i-mean ${m.iMean} vs ${c.i_mean}`);
    assert.ok(Math.abs(m.fdr - c.fdr) <= 1e-9 * Math.max(1, c.fdr), `fdr ${m.fdr} vs ${c.fdr}`);
  });

  Deno.test(`rocCurve, tarAtFar and thresholdAtFmr agree with a brute-force oracle on ${c.name}`, () => {
    const scores = SortedScores.from(c.genuine, c.impostor);
    const oracle = bruteForce(c.genuine, c.impostor);
    const curve = rocCurve(scores);
    assert.deepEqual([...curve.thresholds], oracle.thresholds);
    assert.deepEqual([...curve.fmr], oracle.fmr);
    assert.deepEqual([...curve.fnmr], oracle.fnmr);
    for (const far of [0, 1e-4, 1e-3, 2.5e-3, 1e-2, 0.05, 0.1, 0.5, 1]) {
      const point = tarAtFar(scores, far);
      assert.equal(point.fnmr, oracle.lowestFnmr(far), `FNMR at FAR ${far}`);
      assert.equal(point.tar, 1 - point.fnmr);
      if (point.threshold !== null) {
        assert.ok(point.fmr <= far);
        assert.equal(point.fmr, scores.fmrAt(point.threshold));
        // The threshold is the lowest distinct score reaching the target.
        const k = oracle.thresholds.indexOf(point.threshold);
        assert.ok(k >= 0);
        if (k > 0) assert.ok(oracle.fmr[k - 1] > far);
      }
    }
    const m = verificationMetrics(scores);
    assert.equal(m.fmr100, oracle.lowestFnmr(0.01));
    assert.equal(m.fmr1000, oracle.lowestFnmr(0.001));
    assert.equal(m.fmr100Threshold, scores.thresholdAtFmr(0.01));
    assert.equal(m.fmr1000Threshold, scores.thresholdAtFmr(0.001));
  });
}

Deno.test("Float32Array inputs and unsorted order give the same metrics", () => {
  const c = reference.score_cases[2];
  const reversed = verificationMetrics([...c.genuine].reverse(), [...c.impostor].reverse());
  const plain = verificationMetrics(c.genuine, c.impostor);
  assert.deepEqual(reversed.eer, plain.eer);
  assert.deepEqual(reversed.fmr1000, plain.fmr1000);
  // Float32 scores are read exactly: the threshold is the float32 value, widened.
  const m = verificationMetrics(new Float32Array([0.9, 0.7, 0.4]), new Float32Array([0.1, 0.55, 0.2, 0.3]));
  assert.equal(m.eerThreshold, Math.fround(0.55));
  // t = 0.4: FMR 1/4 (0.5), FNMR 0 → gap 0.25; t = 0.5: FMR 1/4, FNMR 1/3 → gap 1/12, the minimum.
  assert.equal(verificationMetrics([0.9, 0.7, 0.4], [0.1, 0.5, 0.2, 0.3]).eerThreshold, 0.5);
});

Deno.test("sortFloat64 (radix) orders exactly as the built-in numeric sort", () => {
  const rng = new Rng(7);
  for (const n of [10, 40_000, 300_000]) {
    const values = Float64Array.from({ length: n }, (_, i) => rng.normal(0, 0.2) * (i % 5 === 0 ? -1e6 : 1));
    values[1] = Infinity;
    values[2] = -Infinity;
    values[3] = 0;
    values[4] = -5e-324;
    values[5] = 5e-324;
    values[6] = values[7];
    // Widened float32 scores share their low mantissa bits: the radix sort skips those digits.
    const widened = Float64Array.from(new Float32Array(values));
    for (const input of [values, widened]) {
      const expected = input.slice().sort();
      assert.deepEqual(sortFloat64(input.slice()), expected);
    }
  }
});

Deno.test("SortedScores.fromPairs splits by label", () => {
  const scores = SortedScores.fromPairs([0.9, 0.1, 0.8, 0.2], [true, false, true, false]);
  assert.deepEqual([...scores.genuine], [0.8, 0.9]);
  assert.deepEqual([...scores.impostor], [0.1, 0.2]);
  assert.throws(() => SortedScores.fromPairs([0.9, 0.1], [true]), /2 scores but 1/);
  assert.throws(() => SortedScores.fromPairs([0.9, 0.1], [true, true]), /impostor scores: no pair/);
  assert.throws(() => SortedScores.fromPairs([0.9, 0.1], [false, false]), /genuine scores: no pair/);
  assert.throws(() => SortedScores.fromPairs([0.9, NaN], [true, false]), /score 1 is NaN/);
});

Deno.test("NaN, infinite and empty score sets are rejected with clear errors", () => {
  assert.throws(() => verificationMetrics([0.5, NaN], [0.1]), /genuine scores: score 1 is NaN/);
  assert.throws(
    () => verificationMetrics([0.5], [0.1, 0.2, Infinity]),
    /impostor scores: score 2 is Infinity/,
  );
  assert.throws(() => verificationMetrics([], [0.1]), /genuine scores: the list is empty/);
  assert.throws(() => verificationMetrics([0.3], []), /impostor scores: the list is empty/);
  assert.throws(() => SortedScores.from(new Float32Array([NaN]), [1]), /genuine scores: score 0 is NaN/);
  const scores = SortedScores.from([0.5], [0.1]);
  assert.throws(() => tarAtFar(scores, 1.5), /FAR must be in \[0, 1\]/);
  assert.throws(() => tarAtFar(scores, NaN), /FAR must be in \[0, 1\]/);
});

Deno.test("unreachable FMR targets give FNMR 1 and a null threshold", () => {
  // The highest score is an impostor: no distinct score gives FMR below 1/3.
  const scores = SortedScores.from([0.2, 0.3], [0.1, 0.5, 0.9]);
  const m = verificationMetrics(scores);
  assert.equal(m.fmr100, 1);
  assert.equal(m.fmr100Threshold, null);
  assert.deepEqual(tarAtFar(scores, 0.01), { targetFmr: 0.01, threshold: null, fmr: 0, fnmr: 1, tar: 0 });
  // A target reached by every threshold: the lowest score, nothing rejected.
  assert.deepEqual(tarAtFar(scores, 1), { targetFmr: 1, threshold: 0.1, fmr: 1, fnmr: 0, tar: 1 });
});

Deno.test("FDR of identical constant sets is NaN, of separated constant sets Infinity", () => {
  assert.ok(Number.isNaN(verificationMetrics([1, 1], [1]).fdr));
  assert.equal(verificationMetrics([1, 1], [0]).fdr, Infinity);
});

Deno.test("thinCurve keeps exact points, both ends, monotone rates and at most maxPoints", () => {
  const genuine = Float64Array.from({ length: 20000 }, (_, i) => Math.sin(i) * 0.3 + 0.5);
  const impostor = Float64Array.from({ length: 50000 }, (_, i) => Math.cos(i * 1.7) * 0.3);
  const curve = rocCurve(SortedScores.from(genuine, impostor));
  const thin = thinCurve(curve, 500);
  assert.ok(thin.thresholds.length <= 500 && thin.thresholds.length >= 100, `${thin.thresholds.length}`);
  assert.equal(thin.thresholds[0], curve.thresholds[0]);
  assert.equal(thin.thresholds.at(-1), curve.thresholds.at(-1));
  for (let k = 1; k < thin.thresholds.length; k++) {
    assert.ok(thin.thresholds[k] > thin.thresholds[k - 1]);
    assert.ok(thin.fmr[k] <= thin.fmr[k - 1] && thin.fnmr[k] >= thin.fnmr[k - 1]);
  }
  const index = curve.thresholds.indexOf(thin.thresholds[57]);
  assert.equal(thin.fmr[57], curve.fmr[index]);
  assert.equal(thin.fnmr[57], curve.fnmr[index]);
  // FMR decades down to 1/50000 are all represented.
  for (const decade of [1e-1, 1e-2, 1e-3, 1e-4]) {
    assert.ok(
      [...thin.fmr].some((v) => v > 0 && v <= decade && v > decade / 3),
      `no point near FMR ${decade}`,
    );
  }
});

Deno.test("10-fold accuracy matches metrics.json (folds, thresholds, mean, std)", () => {
  const t = reference.ten_fold;
  const result = tenFoldAccuracy(t.emb1, t.emb2, t.issame);
  assert.deepEqual(result.foldThresholds, t.fold_thresholds);
  assert.deepEqual(result.foldAccuracies, t.fold_accuracies);
  assert.ok(Math.abs(result.meanAccuracy - t.mean_accuracy) <= 1e-12);
  assert.ok(Math.abs(result.stdAccuracy - t.std_accuracy) <= 1e-12);
});

Deno.test("10-fold accuracy takes tf tensors and Float32Array rows alike", () => {
  const t = reference.ten_fold;
  const first = tf.tensor2d(t.emb1);
  const second = tf.tensor2d(t.emb2);
  try {
    const fromTensors = tenFoldAccuracy(first, second, t.issame);
    const fromRows = tenFoldAccuracy(
      t.emb1.map((r) => Float32Array.from(r)),
      t.emb2.map((r) => Float32Array.from(r)),
      t.issame,
    );
    assert.deepEqual(fromTensors, fromRows);
    assert.deepEqual(fromTensors.foldThresholds, t.fold_thresholds);
  } finally {
    tf.dispose([first, second]);
  }
});

Deno.test("flip-summing adds the mirrored embeddings before normalising", () => {
  const d = pairDistances([[1, 0]], [[1, 0]], { flippedFirst: [[-1, 2]], flippedSecond: [[0, 0]] });
  // (0, 2) normalised is (0, 1); against (1, 0): squared distance 2.
  assert.ok(Math.abs(d[0] - 2) < 1e-15);
  assert.throws(() => pairDistances([[1, 0]], [[1, 0, 0]]), /1x2 but second embeddings are 1x3/);
  assert.throws(() => pairDistances([[0, 0]], [[1, 0]]), /first embeddings: row 0 has norm 0/);
  assert.throws(() => pairDistances([[1, 0], [1]], [[1, 0], [1, 0]]), /row 1 has 1 values/);
});

Deno.test("10-fold: folds as KFold, first maximum, argument checks", () => {
  assert.deepEqual(kFoldRanges(23, 10).map(([a, b]) => b - a), [3, 3, 3, 2, 2, 2, 2, 2, 2, 2]);
  assert.equal(lfwThresholds()[399], 399 * 0.01);
  // Perfectly separable at 1: every threshold in (0.5, 1.5] is best; the first one, 0.51, wins.
  const distances = Array.from({ length: 40 }, (_, i) => (i % 2 ? 1.5 : 0.5));
  const issame = distances.map((d) => d < 1);
  const result = tenFoldAccuracyFromDistances(distances, issame);
  assert.deepEqual(result.foldThresholds, Array(10).fill(51 * 0.01));
  assert.equal(result.meanAccuracy, 1);
  assert.throws(() => tenFoldAccuracyFromDistances([1, 2], [true]), /2 distances but 1/);
  assert.throws(
    () => tenFoldAccuracyFromDistances([1, 2, 3], [true, false, true]),
    /3 pairs cannot be split/,
  );
  assert.throws(() => tenFoldAccuracyFromDistances(distances, issame, { thresholds: [1, 0] }), /ascending/);
  assert.throws(() => tenFoldAccuracyFromDistances([NaN, ...distances.slice(1)], issame), /entry 0 is NaN/);
});

Deno.test("calibration: thresholds fixed on UM-UM, rates read on the other scenarios", () => {
  const [umum, mum, mm] = reference.score_cases.map((c) => SortedScores.from(c.genuine, c.impostor));
  const calibration = calibrateThresholds("UM-UM", umum, { "M-UM": mum, "M-M": mm });
  assert.equal(calibration.points.length, 2);
  const oracleMum = bruteForce(reference.score_cases[1].genuine, reference.score_cases[1].impostor);
  for (const point of calibration.points) {
    assert.equal(point.reference.threshold, umum.thresholdAtFmr(point.targetFmr));
    assert.ok(point.reference.fmr <= point.targetFmr);
    const t = point.reference.threshold!;
    const transferred = point.scenarios["M-UM"];
    assert.equal(transferred.threshold, t);
    const genuine = reference.score_cases[1].genuine;
    const impostor = reference.score_cases[1].impostor;
    assert.equal(transferred.fmr, impostor.filter((s) => s >= t).length / impostor.length);
    assert.equal(transferred.fnmr, genuine.filter((s) => s < t).length / genuine.length);
    assert.ok(oracleMum.thresholds.length > 0);
  }
  assert.equal(calibration.points[0].reference.fnmr, reference.score_cases[0].fmr100);
  assert.equal(calibration.points[1].reference.fnmr, reference.score_cases[0].fmr1000);
});

Deno.test("tables: Markdown and HTML in the paper's layout", () => {
  const summary = { eer: 0.012345, fmr100: 0.02, fmr1000: 0.5, gMean: 0.61234567, iMean: -0.001, fdr: 12.3 };
  const rows = [
    { name: "baseline", scenarios: { "M-M": { ...summary, accuracy: 0.9917 }, "UM-UM": summary } },
    { name: "MaskInv-LG | λ=100", scenarios: { "UM-UM": { ...summary, fdr: Infinity } } },
  ];
  const markdown = resultsTableMarkdown(rows, { columns: ["eer", "fmr1000", "gMean", "fdr", "accuracy"] });
  const lines = markdown.trim().split("\n");
  assert.equal(lines.length, 4);
  assert.equal(
    lines[0],
    "| Model | UM-UM EER (%) | UM-UM FMR1000 (%) | UM-UM G-mean | UM-UM FDR | UM-UM Acc. (%) | M-M EER (%) | M-M FMR1000 (%) | M-M G-mean | M-M FDR | M-M Acc. (%) |",
  );
  assert.equal(
    lines[2],
    "| baseline | 1.23 | 50.00 | 0.6123 | 12.3000 |  | 1.23 | 50.00 | 0.6123 | 12.3000 | 99.17 |",
  );
  assert.ok(lines[3].startsWith("| MaskInv-LG \\| λ=100 | 1.23 | 50.00 | 0.6123 | ∞ |"));
  const html = resultsTableHtml(rows, { caption: "MFR2 <real masks>", scenarios: ["UM-UM", "M-UM", "M-M"] });
  assert.match(html, /<caption>MFR2 &lt;real masks&gt;<\/caption>/);
  assert.equal(html.match(/colspan="7"/g)?.length, 3);
  assert.equal(html.match(/<tr>/g)?.length, 4);
  assert.match(html, /<td style="text-align:right">99\.17<\/td>/);
});

// ---------------------------------------------------------------- evaluation runner

/**
 * A test double for the model only: a real, deterministic embedding (per-channel mean colour of the top
 * and bottom halves, centred on grey), recording what it was asked to embed.
 */
class MeanColourEmbedder implements FaceEmbedder {
  readonly name = "mean-colour";
  readonly inputSize = [8, 8] as const;
  readonly embeddingSize = 6;
  readonly batches: number[][] = [];
  readonly flips: boolean[] = [];

  embed(images: tf.Tensor4D, options: EmbedOptions = {}): tf.Tensor2D {
    this.batches.push(images.shape);
    this.flips.push(options.flip ?? false);
    return tf.tidy(() => {
      const [n, h, w] = images.shape;
      const half = Math.floor(h / 2);
      const top = tf.mean(tf.slice(images, [0, 0, 0, 0], [n, half, w, 3]), [1, 2]);
      const bottom = tf.mean(tf.slice(images, [0, half, 0, 0], [n, h - half, w, 3]), [1, 2]);
      const features = tf.sub(tf.concat([top, bottom], 1), 128) as tf.Tensor2D;
      return tf.div(features, tf.norm(features, 2, 1, true)) as tf.Tensor2D;
    });
  }

  dispose(): void {}
}

/** The same features in plain JS, as the oracle of the runner's scores. */
function meanColourFeatures(pixels: Pixels): number[] {
  const { width, height, data } = pixels;
  const half = Math.floor(height / 2);
  const sums = new Array(6).fill(0);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) sums[(y < half ? 0 : 3) + c] += data[(y * width + x) * 3 + c];
    }
  }
  const features = sums.map((s, k) => s / ((k < 3 ? half : height - half) * width) - 128);
  const norm = Math.hypot(...features);
  return features.map((f) => f / norm);
}

function syntheticFaces(identities: number, perIdentity: number, size = 8): Pixels[] {
  const rng = new Rng(42);
  const faces: Pixels[] = [];
  for (let id = 0; id < identities; id++) {
    const base = [
      rng.int(0, 256),
      rng.int(0, 256),
      rng.int(0, 256),
      rng.int(0, 256),
      rng.int(0, 256),
      rng.int(0, 256),
    ];
    for (let k = 0; k < perIdentity; k++) {
      const data = new Uint8Array(size * size * 3);
      for (let y = 0; y < size; y++) {
        for (let x = 0; x < size; x++) {
          for (let c = 0; c < 3; c++) {
            const value = base[(y < size / 2 ? 0 : 3) + c] + rng.normal(0, 25);
            data[(y * size + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(value)));
          }
        }
      }
      faces.push({ width: size, height: size, channels: 3, data });
    }
  }
  return faces;
}

/** A synthetic "mask": the lower half painted one colour. */
function paintLowerHalf(face: Pixels, colour: readonly number[]): Pixels {
  const data = face.data.slice();
  for (let y = face.height / 2; y < face.height; y++) {
    for (let x = 0; x < face.width; x++) data.set(colour, (y * face.width + x) * 3);
  }
  return { ...face, data };
}

const faces = syntheticFaces(6, 2);
const allPairs: Array<{ first: number; second: number; genuine: boolean }> = [];
for (let i = 0; i < faces.length; i++) {
  for (let j = i + 1; j < faces.length; j++) {
    allPairs.push({ first: i, second: j, genuine: Math.floor(i / 2) === Math.floor(j / 2) });
  }
}

Deno.test("maskedScenarios: UM-UM unmasked, M-UM masks only the probe, M-M both", () => {
  const s = maskedScenarios([{ first: 3, second: 8, genuine: false }], { mask: "maskinv" });
  assert.deepEqual(Object.keys(s), ["UM-UM", "M-UM", "M-M"]);
  assert.deepEqual(s["UM-UM"][0], {
    first: { image: 3, mask: null },
    second: { image: 8, mask: null },
    genuine: false,
  });
  assert.deepEqual(s["M-UM"][0], {
    first: { image: 3, mask: null },
    second: { image: 8, mask: "maskinv" },
    genuine: false,
  });
  assert.deepEqual(s["M-M"][0].first, { image: 3, mask: "maskinv" });
  assert.deepEqual(Object.keys(maskedScenarios([], { scenarios: ["M-M"] })), ["M-M"]);
  assert.throws(() => maskedScenarios([], { mask: "" }), /must not be empty/);
  assert.equal(viewId({ image: 4, mask: null }), "4");
  assert.equal(viewId({ image: 4, mask: "maskinv" }), "4:maskinv");
});

Deno.test("scenariosFromPlans agrees with maskedScenarios on the data layer's plans", () => {
  const plans = planScenarios(allPairs, 3);
  assert.deepEqual(scenariosFromPlans(plans, "maskinv"), maskedScenarios(allPairs, { mask: "maskinv" }));
  const broken = [{ ...plans[0], pairs: [{ first: 0, second: 99, genuine: true }] }];
  assert.throws(() => scenariosFromPlans(broken), /scenario UM-UM: pair refers to missing view 99/);
});

Deno.test("realMaskScenarios groups by real masks and puts the masked image second in M-UM", () => {
  const masked = [false, true, true, false];
  const s = realMaskScenarios([
    { first: 0, second: 3, genuine: true },
    { first: 1, second: 0, genuine: false },
    { first: 3, second: 2, genuine: true },
    { first: 1, second: 2, genuine: true },
  ], (i) => masked[i]);
  assert.deepEqual(s["UM-UM"].map((p) => [p.first.image, p.second.image]), [[0, 3]]);
  assert.deepEqual(s["M-UM"].map((p) => [p.first.image, p.second.image, p.genuine]), [[0, 1, false], [
    3,
    2,
    true,
  ]]);
  assert.deepEqual(s["M-M"].map((p) => [p.first.image, p.second.image]), [[1, 2]]);
  assert.ok(s["M-M"].every((p) => p.first.mask === null && p.second.mask === null));
});

Deno.test("evaluateVerification embeds each view once, in batches, and scores every scenario", async () => {
  await tf.setBackend("cpu");
  const embedder = new MeanColourEmbedder();
  const loads: string[] = [];
  const grey = [128, 128, 128];
  const views = (view: ViewKey) => {
    loads.push(viewId(view));
    return view.mask === null ? faces[view.image] : paintLowerHalf(faces[view.image], grey);
  };
  const scenarios = maskedScenarios(allPairs, { mask: "grey" });
  const before = tf.memory().numTensors;
  const result = await evaluateVerification({ embedder, views, scenarios, batchSize: 5, progress: "none" });
  assert.equal(tf.memory().numTensors, before, "no tensors leaked");
  assert.equal(result.viewCount, 24);
  assert.equal(loads.length, 24);
  assert.equal(new Set(loads).size, 24);
  assert.deepEqual(embedder.batches.map((shape) => shape[0]), [5, 5, 5, 5, 4]);
  assert.ok(embedder.batches.every((shape) => shape[1] === 8 && shape[2] === 8 && shape[3] === 3));
  assert.deepEqual(embedder.flips, [true, true, true, true, true]);
  assert.deepEqual(Object.keys(result.scenarios), ["UM-UM", "M-UM", "M-M"]);
  for (const [name, pairs] of Object.entries(scenarios)) {
    const evaluation = result.scenarios[name];
    assert.equal(evaluation.pairCount, 66);
    assert.equal(evaluation.genuineCount, 6);
    assert.equal(evaluation.impostorCount, 60);
    const load = (view: ViewKey) =>
      view.mask === null ? faces[view.image] : paintLowerHalf(faces[view.image], grey);
    pairs.forEach((pair, p) => {
      const a = meanColourFeatures(load(pair.first));
      const b = meanColourFeatures(load(pair.second));
      const cosine = a.reduce((sum, v, k) => sum + v * b[k], 0);
      assert.ok(Math.abs(evaluation.scores[p] - cosine) < 1e-5, `${name} pair ${p}`);
    });
    assert.deepEqual(
      evaluation.metrics,
      verificationMetrics(SortedScores.fromPairs(evaluation.scores, evaluation.genuine)),
    );
    assert.ok(evaluation.accuracy !== null && evaluation.accuracy.foldAccuracies.length === 10);
    assert.deepEqual(evaluation.tarAtFar.map((point) => point.targetFmr), [1e-2, 1e-3, 1e-4]);
  }
  // Unmasked identities are told apart perfectly by their colours; painting the lower half hurts.
  assert.equal(result.scenarios["UM-UM"].metrics.eer, 0);
  assert.ok(result.scenarios["M-M"].metrics.gMean > result.scenarios["M-M"].metrics.iMean);
  assert.ok(result.scenarios["M-UM"].metrics.gMean < result.scenarios["UM-UM"].metrics.gMean);
  assert.equal(result.calibration?.referenceName, "UM-UM");
  assert.deepEqual(Object.keys(result.calibration!.points[0].scenarios), ["M-UM", "M-M"]);
  const roundTrip = JSON.parse(JSON.stringify(result));
  assert.deepEqual(roundTrip, result);
  const markdown = resultsTableMarkdown([evaluationTableRow(result, "mean colour")]);
  assert.match(markdown, /\| mean colour \| 0\.00 \|/);
  assert.deepEqual(scenarioScores(result.scenarios["M-M"]).genuine.length, 6);
});

Deno.test("evaluateVerification resizes mixed-size batches to the model input and reports bad views", async () => {
  await tf.setBackend("cpu");
  const embedder = new MeanColourEmbedder();
  const big = syntheticFaces(1, 1, 16)[0];
  const scenarios = {
    "UM-UM": [{ first: { image: 0, mask: null }, second: { image: 1, mask: null }, genuine: true }],
  };
  await assert.rejects(
    () =>
      evaluateVerification({
        embedder,
        views: (v) => (v.image === 0 ? faces[0] : big),
        scenarios,
        progress: "none",
      }),
    /scenario UM-UM: impostor scores: no pair is labelled different/,
  );
  assert.deepEqual(embedder.batches[0], [2, 8, 8, 3]);
  const mixed = {
    "M-M": [
      { first: { image: 0, mask: "m" }, second: { image: 1, mask: "m" }, genuine: true },
      { first: { image: 0, mask: "m" }, second: { image: 2, mask: "m" }, genuine: false },
    ],
  };
  await assert.rejects(
    () =>
      evaluateVerification({
        embedder,
        views: (v) => {
          if (v.image === 2) throw new Error("file missing");
          return faces[v.image];
        },
        scenarios: mixed,
        progress: "none",
      }),
    /could not load view 2:m: file missing/,
  );
  const wrong: FaceEmbedder = {
    name: "wrong",
    inputSize: [8, 8],
    embeddingSize: 3,
    embed: (images) => tf.zeros([images.shape[0], 4]) as tf.Tensor2D,
    dispose: () => {},
  };
  const before = tf.memory().numTensors;
  await assert.rejects(
    () =>
      evaluateVerification({
        embedder: wrong,
        views: (v) => faces[v.image],
        scenarios: mixed,
        progress: "none",
      }),
    /wrong returned embeddings of shape \[3,4\], expected \[3, 3\]/,
  );
  assert.equal(tf.memory().numTensors, before, "no tensors leaked on error");
  await assert.rejects(
    () =>
      evaluateVerification({
        embedder,
        views: (v) => faces[v.image],
        scenarios: { "M-M": [] },
        progress: "none",
      }),
    /scenario M-M has no pairs/,
  );
  await assert.rejects(
    () =>
      evaluateVerification({
        embedder,
        views: () => ({ width: 2, height: 2, channels: 3, data: new Uint8Array(5) }),
        scenarios: mixed,
        progress: "none",
      }),
    /view 0:m: buffer holds 5 bytes/,
  );
});

Deno.test("verificationSetViews decodes, prepares and masks a set's images; evaluation runs on it", async () => {
  await tf.setBackend("cpu");
  const encoded = await Promise.all(faces.map((face) => encodePng(face)));
  const set: VerificationSet = {
    name: "tiny",
    imageCount: faces.length,
    pairs: allPairs,
    image: (index) => Promise.resolve(index % 2 === 0 ? encoded[index] : faces[index]),
    imageName: (index) => `tiny#${index}`,
  };
  const prepared: number[] = [];
  const views = verificationSetViews(set, {
    prepare: (face, image) => {
      prepared.push(image);
      return face;
    },
    masks: { grey: (face) => paintLowerHalf(face, [128, 128, 128]) },
  });
  assert.deepEqual(await views({ image: 2, mask: null }), faces[2]); // PNG round trip is lossless
  assert.deepEqual(await views({ image: 3, mask: "grey" }), paintLowerHalf(faces[3], [128, 128, 128]));
  assert.deepEqual(prepared, [2, 3]);
  await assert.rejects(
    () => views({ image: 1, mask: "cloth" }),
    /tiny#1: no mask variant "cloth" \(known: grey\)/,
  );
  await assert.rejects(
    () => views({ image: 12, mask: null }),
    /tiny: image 12 does not exist \(12 images\)/,
  );
  const result = await evaluateVerification({
    embedder: new MeanColourEmbedder(),
    views,
    scenarios: scenariosFromPlans(planScenarios(set.pairs), "grey"),
    progress: "none",
  });
  assert.equal(result.viewCount, 24);
  assert.equal(result.scenarios["UM-UM"].metrics.eer, 0);
});
