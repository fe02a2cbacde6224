// SyntheticFaces: determinism, disjoint identity pools, ArcFace-aligned landmarks, balanced pairs, and a mask
// that hides a substantial part (not all) of the identity.
import assert from "node:assert/strict";
import { decodeImage } from "../lib/image/codec.ts";
import {
  identitySeed,
  NEUTRAL_NUISANCE,
  sampleIdentity,
  SYNTHETIC_TRAITS,
  syntheticContactSheet,
  SyntheticFaceRenderer,
  SyntheticFaces,
  syntheticFaceSplits,
} from "../lib/data/mod.ts";
import { Rng } from "../lib/util/random.ts";

/** insightface's ArcFace reference points for 112x112 (facts, copied from `arcface_src`). */
const ARCFACE = [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [
  70.7299,
  92.2041,
]];

Deno.test("traits: at least 24 continuous traits over the whole face, most of them below the nose bridge", () => {
  assert.ok(SYNTHETIC_TRAITS.length >= 24);
  assert.equal(new Set(SYNTHETIC_TRAITS.map((t) => t.name)).size, SYNTHETIC_TRAITS.length);
  const count = (region: string) => SYNTHETIC_TRAITS.filter((t) => t.region === region).length;
  assert.ok(count("upper") >= 10, "upper face carries identity");
  assert.ok(count("lower") > count("upper"), "lower face carries more identity traits than the upper face");
  const identity = sampleIdentity(new Rng(4));
  assert.ok(identity.traits.every((v) => v >= 0 && v <= 1));
  assert.ok(
    new Set(identity.traits).size > SYNTHETIC_TRAITS.length / 2,
    "continuous values, not a few levels",
  );
});

Deno.test("rendering is fully determined by the seed and independent of the order of access", () => {
  const options = { seed: 11, identities: 5, imagesPerIdentity: 4, pairs: 0 };
  const a = new SyntheticFaces(options), b = new SyntheticFaces(options);
  const first = a.render(9), second = a.render(2);
  assert.deepEqual(b.render(2).pixels.data, second.pixels.data);
  assert.deepEqual(b.render(9).pixels.data, first.pixels.data);
  assert.deepEqual(b.render(9).landmarks, first.landmarks);
  const other = new SyntheticFaces({ ...options, seed: 12 }).render(9);
  assert.notDeepEqual(other.pixels.data, first.pixels.data);
  assert.notDeepEqual(a.render(8).pixels.data, first.pixels.data, "two photos of one identity differ");
  assert.equal(first.label, 2);
  assert.equal(first.photo, 1);
  assert.equal(a.imageName(9), "synthetic-train#2/1");
});

Deno.test("training and evaluation identities are disjoint", () => {
  const train = Array.from({ length: 20000 }, (_, i) => identitySeed(5, "train", i));
  const evaluation = Array.from({ length: 20000 }, (_, i) => identitySeed(5, "eval", i));
  assert.equal(new Set([...train, ...evaluation]).size, 40000, "no two identities share a seed");
  const { train: t, evaluation: e } = syntheticFaceSplits({
    seed: 5,
    train: { identities: 50, imagesPerIdentity: 2 },
    eval: { identities: 50, imagesPerIdentity: 2, pairs: 20 },
  });
  const key = (traits: Float64Array) => Array.from(traits).join(",");
  const trainKeys = new Set(Array.from({ length: 50 }, (_, i) => key(t.identity(i).traits)));
  for (let i = 0; i < 50; i++) assert.ok(!trainKeys.has(key(e.identity(i).traits)));
  assert.equal(t.pairs.length, 0);
  assert.equal(e.pairs.length, 20);
});

Deno.test("faces come out ArcFace-aligned and expose their true landmarks", () => {
  const renderer = new SyntheticFaceRenderer(112);
  for (let i = 0; i < 20; i++) {
    const face = renderer.render(sampleIdentity(new Rng(100 + i)), NEUTRAL_NUISANCE);
    ARCFACE.forEach(([x, y], p) => {
      const error = Math.hypot(face.landmarks[2 * p] - x, face.landmarks[2 * p + 1] - y);
      assert.ok(error < 3.5, `neutral face ${i}, point ${p}: ${error.toFixed(2)} px from the template`);
    });
  }
  const faces = new SyntheticFaces({ seed: 2, identities: 40, imagesPerIdentity: 5, pairs: 0 });
  const errors: number[] = [];
  for (let i = 0; i < faces.length; i++) {
    const { landmarks } = faces.render(i);
    ARCFACE.forEach(([x, y], p) => errors.push(Math.hypot(landmarks[2 * p] - x, landmarks[2 * p + 1] - y)));
  }
  const mean = errors.reduce((a, b) => a + b) / errors.length;
  assert.ok(mean < 4, `mean landmark offset ${mean.toFixed(2)} px`);
  assert.ok(mean > 0.5, "pose and expression do move the landmarks");
  assert.ok(Math.max(...errors) < 12, `largest landmark offset ${Math.max(...errors).toFixed(2)} px`);
  // Landmarks follow the pixels: the darkest spot near each eye landmark is the pupil, within 2.5 px.
  const face = new SyntheticFaceRenderer(112).render(sampleIdentity(new Rng(7)), NEUTRAL_NUISANCE);
  for (const p of [0, 1]) {
    const lx = face.landmarks[2 * p], ly = face.landmarks[2 * p + 1];
    let best = Infinity, bx = 0, by = 0;
    for (let y = Math.round(ly) - 6; y <= Math.round(ly) + 6; y++) {
      for (let x = Math.round(lx) - 6; x <= Math.round(lx) + 6; x++) {
        const i = (y * 112 + x) * 3;
        const v = face.pixels.data[i] + face.pixels.data[i + 1] + face.pixels.data[i + 2];
        if (v < best) [best, bx, by] = [v, x, y];
      }
    }
    assert.ok(
      Math.hypot(bx + 0.5 - lx, by + 0.5 - ly) < 2.5,
      `eye ${p}: pupil at ${bx},${by}, landmark ${lx},${ly}`,
    );
  }
});

Deno.test("output size is a parameter; landmarks scale with it", () => {
  const identity = sampleIdentity(new Rng(9));
  const big = new SyntheticFaceRenderer(112).render(identity, NEUTRAL_NUISANCE);
  const small = new SyntheticFaceRenderer(64).render(identity, NEUTRAL_NUISANCE);
  assert.deepEqual([small.pixels.width, small.pixels.height, small.pixels.data.length], [
    64,
    64,
    64 * 64 * 3,
  ]);
  big.landmarks.forEach((v, i) => assert.ok(Math.abs(small.landmarks[i] - (v * 64) / 112) < 1e-3));
  assert.throws(() => new SyntheticFaceRenderer(8), /size must be an integer in \[16, 1024\]/);
});

Deno.test("evaluation pairs are balanced, alternating, distinct and correct", () => {
  const faces = new SyntheticFaces({
    seed: 3,
    split: "eval",
    identities: 30,
    imagesPerIdentity: 5,
    pairs: 400,
  });
  const label = (i: number) => Math.floor(i / 5);
  assert.equal(faces.pairs.length, 400);
  faces.pairs.forEach((pair, i) => {
    assert.equal(pair.genuine, i % 2 === 0);
    assert.equal(label(pair.first) === label(pair.second), pair.genuine);
    assert.notEqual(pair.first, pair.second);
  });
  const keys = faces.pairs.map((p) => `${Math.min(p.first, p.second)}-${Math.max(p.first, p.second)}`);
  assert.equal(new Set(keys).size, keys.length, "no pair repeats");
  const again = new SyntheticFaces({
    seed: 3,
    split: "eval",
    identities: 30,
    imagesPerIdentity: 5,
    pairs: 400,
  });
  assert.deepEqual(again.pairs, faces.pairs);
  assert.throws(
    () => new SyntheticFaces({ identities: 3, imagesPerIdentity: 2, pairs: 10 }),
    /10 pairs need 5 genuine and 5 impostor pairs; only 3 genuine/,
  );
  assert.equal(
    new SyntheticFaces({ identities: 1, imagesPerIdentity: 3 }).pairs.length,
    0,
    "no impostors exist",
  );
});

/**
 * A classical learned face verifier for the identity-share test: 8x8 block means (14x14x3 features),
 * within-class covariance normalisation learned on training identities, cosine score.
 */
function blockFeatures(pixels: Uint8Array, rows: [number, number]): Float64Array {
  const out = new Float64Array(14 * 14 * 3);
  for (let y = rows[0]; y < rows[1]; y++) {
    for (let x = 0; x < 112; x++) {
      for (let c = 0; c < 3; c++) {
        out[((y >> 3) * 14 + (x >> 3)) * 3 + c] += pixels[(y * 112 + x) * 3 + c] / 64;
      }
    }
  }
  return out;
}

function verificationAuc(
  train: SyntheticFaces,
  trainPixels: Uint8Array[],
  test: SyntheticFaces,
  testPixels: Uint8Array[],
  rows: [number, number],
): { auc: number; eer: number } {
  const d = 14 * 14 * 3, per = train.imagesPerIdentity;
  const features = trainPixels.map((p) => blockFeatures(p, rows));
  const mean = new Float64Array(d);
  for (const f of features) for (let k = 0; k < d; k++) mean[k] += f[k] / features.length;
  const within = new Float64Array(d * d);
  for (let id = 0; id < train.classCount; id++) {
    const centre = new Float64Array(d);
    for (let j = 0; j < per; j++) for (let k = 0; k < d; k++) centre[k] += features[id * per + j][k] / per;
    for (let j = 0; j < per; j++) {
      const diff = features[id * per + j].map((v, k) => v - centre[k]);
      for (let a = 0; a < d; a++) {
        if (diff[a] === 0) continue;
        for (let b = 0; b < d; b++) within[a * d + b] += diff[a] * diff[b];
      }
    }
  }
  let trace = 0;
  for (let a = 0; a < d; a++) trace += within[a * d + a];
  for (let a = 0; a < d; a++) within[a * d + a] += (0.05 * trace) / d + 1e-6;
  const chol = new Float64Array(d * d); // within = L Lᵀ
  for (let j = 0; j < d; j++) {
    let s = within[j * d + j];
    for (let k = 0; k < j; k++) s -= chol[j * d + k] ** 2;
    chol[j * d + j] = Math.sqrt(s);
    for (let i = j + 1; i < d; i++) {
      let t = within[i * d + j];
      for (let k = 0; k < j; k++) t -= chol[i * d + k] * chol[j * d + k];
      chol[i * d + j] = t / chol[j * d + j];
    }
  }
  const embed = (pixels: Uint8Array) => {
    const f = blockFeatures(pixels, rows), z = new Float64Array(d);
    for (let i = 0; i < d; i++) {
      let t = f[i] - mean[i];
      for (let k = 0; k < i; k++) t -= chol[i * d + k] * z[k];
      z[i] = t / chol[i * d + i];
    }
    const norm = Math.hypot(...z);
    return z.map((v) => v / norm);
  };
  const z = testPixels.map(embed);
  const score = (a: number, b: number) => z[a].reduce((s, v, k) => s + v * z[b][k], 0);
  const genuine: number[] = [], impostor: number[] = [];
  for (const p of test.pairs) (p.genuine ? genuine : impostor).push(score(p.first, p.second));
  let auc = 0;
  for (const g of genuine) for (const i of impostor) auc += g > i ? 1 : g === i ? 0.5 : 0;
  let eer = 1;
  for (const t of [...genuine, ...impostor]) {
    const frr = genuine.filter((v) => v < t).length / genuine.length;
    const far = impostor.filter((v) => v >= t).length / impostor.length;
    eer = Math.min(eer, Math.max(frr, far));
  }
  return { auc: auc / (genuine.length * impostor.length), eer };
}

Deno.test("a mask hides a substantial part of the identity, the upper face still carries enough", () => {
  const { train, evaluation } = syntheticFaceSplits({
    seed: 1,
    train: { identities: 120, imagesPerIdentity: 6 },
    eval: { identities: 60, imagesPerIdentity: 6, pairs: 1000 },
  });
  const trainPixels = Array.from({ length: train.length }, (_, i) => train.render(i).pixels.data);
  const testPixels = Array.from({ length: evaluation.length }, (_, i) => evaluation.render(i).pixels.data);
  // Rows 62+ are what a mask covers (from just below the nose bridge down).
  const full = verificationAuc(train, trainPixels, evaluation, testPixels, [0, 112]);
  const upper = verificationAuc(train, trainPixels, evaluation, testPixels, [0, 62]);
  const lower = verificationAuc(train, trainPixels, evaluation, testPixels, [62, 112]);
  const summary = `full ${JSON.stringify(full)} upper ${JSON.stringify(upper)} lower ${
    JSON.stringify(lower)
  }`;
  assert.ok(full.auc > 0.95, summary);
  assert.ok(upper.eer > 1.4 * full.eer, `hiding the lower face must cost accuracy: ${summary}`);
  assert.ok(upper.auc > 0.88, `the upper face alone must still identify: ${summary}`);
  assert.ok(lower.auc > upper.auc, `the lower face carries more identity than the upper: ${summary}`);
});

Deno.test("the contact sheet holds 8 identities x 6 photos", async () => {
  const faces = new SyntheticFaces({ identities: 8, imagesPerIdentity: 6, pairs: 0 });
  const png = syntheticContactSheet(faces);
  const sheet = await decodeImage(png, "sheet.png");
  assert.deepEqual([sheet.width, sheet.height], [6 * 114 + 2, 8 * 114 + 2]);
  // Tile (row 3, column 4) is face 3·6+4.
  const face = faces.render(3 * 6 + 4).pixels.data;
  for (const [x, y] of [[10, 10], [56, 60], [100, 100]]) {
    for (let c = 0; c < 3; c++) {
      const inSheet = sheet.data[((2 + 3 * 114 + y) * sheet.width + 2 + 4 * 114 + x) * 3 + c];
      assert.equal(inSheet, face[(y * 112 + x) * 3 + c]);
    }
  }
  const committed = new URL("../docs/synthetic_faces.png", import.meta.url);
  const doc = await decodeImage(await Deno.readFile(committed), committed.pathname);
  assert.deepEqual([doc.width, doc.height], [sheet.width, sheet.height]);
});
