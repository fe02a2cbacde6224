// Real faces: PGM/ORL readers, the landmark cache, face alignment with reported failures, MFR2 split by real
// mask state, reproducible synthetic masks, the synthetic-vs-real design, the eval CLI — and, with
// ../shared, MFR2 and ORL themselves with a pretrained model's sanity bound.
//
// The MFR2 tests share the landmark cache of `deno task eval:mfr2` (.maskinv-cache/landmarks/mfr2.json):
// the first run on a machine detects the landmarks of all 269 faces (one to three minutes on two CPU
// cores), later runs only warp.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import {
  allPairs,
  decodePgm,
  greyToRgb,
  Mfr2,
  Orl,
  PgmError,
  type Pixels,
  readPgm,
  type VerificationSet,
} from "../lib/data/mod.ts";
import { useBackend } from "../lib/engine/mod.ts";
import { ARCFACE_112, encodePng, type FaceLandmarker, type LandmarkResult } from "../lib/image/mod.ts";
import { loadTemplateFolder } from "../lib/masks/mod.ts";
import {
  alignedFaceViews,
  alignVerificationFaces,
  CachedLandmarker,
  calibrationTableMarkdown,
  evaluateVerification,
  LANDMARK_CACHE_VERSION,
  maskShiftDesign,
  maskShiftRows,
  maskShiftTableMarkdown,
  mfr2ImageName,
  prepareMfr2,
  syntheticMaskAppliers,
  type VerificationEvaluation,
} from "../lib/metrics/mod.ts";
import { loadEmbedder } from "../lib/models/mod.ts";
import { runCli } from "./cli_helpers.ts";

const shared = new URL("../../shared/", import.meta.url);
const mfr2Dir = new URL("data/mfr2", shared).pathname;
const orlDir = new URL("data/orl", shared).pathname;
const hasShared = existsSync(`${mfr2Dir}/mfr2_labels.txt`) && existsSync(`${orlDir}/s1/1.pgm`);
if (!hasShared) console.warn("skipping the MFR2 and ORL tests: ../shared not found");
const cacheDir = new URL("../.maskinv-cache/landmarks/", import.meta.url).pathname;

await useBackend("wasm");

const encoder = new TextEncoder();
const pgm = (header: string, samples: number[] | Uint8Array) =>
  new Uint8Array([...encoder.encode(header), ...samples]);

/** A landmarker that "finds" the ArcFace points of a 112 square, or fails on images whose first byte is 0. */
const fakeDetector = (calls: { count: number }): FaceLandmarker => ({
  detect(image: Pixels): Promise<LandmarkResult> {
    calls.count++;
    if (image.data[0] === 0) {
      return Promise.resolve({
        ok: false,
        reason: "low-confidence",
        message: "landmark confidence 0.001 < 0.01",
        detectorScore: 0,
        score: 0.001,
      });
    }
    const s = image.width / 112;
    return Promise.resolve({
      ok: true,
      points: ARCFACE_112.map(([x, y]) => [x * s, y * s] as const) as unknown as typeof ARCFACE_112,
      score: 0.9,
      detectorScore: null,
      box: { x: 0, y: 0, width: image.width, height: image.height },
      mesh: [],
    });
  },
});

/** A face-like square: byte 0 decides whether the fake detector fails. */
function square(size: number, fill: number, first = fill): Pixels {
  const data = new Uint8Array(size * size * 3).fill(fill);
  data[0] = first;
  return { width: size, height: size, channels: 3, data };
}

// ---------------------------------------------------------------------------------------- PGM and ORL

Deno.test("decodePgm reads binary 8- and 16-bit and plain PGM, with comments", () => {
  const binary = decodePgm(pgm("P5\n# made by hand\n3 2\n255\n", [0, 1, 2, 3, 254, 255]), "a.pgm");
  assert.deepEqual([binary.width, binary.height, binary.channels], [3, 2, 1]);
  assert.deepEqual([...binary.data], [0, 1, 2, 3, 254, 255]);
  const wide = decodePgm(pgm("P5 2 1 65535\n", [0xff, 0xff, 0x80, 0x00]), "b.pgm");
  assert.deepEqual([...wide.data], [255, 128]);
  const plain = decodePgm(encoder.encode("P2\n2 2\n15\n0 15\n# mid\n5 10\n"), "c.pgm");
  assert.deepEqual([...plain.data], [0, 255, 85, 170]);
  assert.deepEqual([...greyToRgb(plain).data.subarray(0, 6)], [0, 0, 0, 255, 255, 255]);
});

Deno.test("decodePgm names the file and the problem for bad input", () => {
  assert.throws(() => decodePgm(new Uint8Array(), "empty.pgm"), /empty\.pgm: the file is empty/);
  assert.throws(() => decodePgm(encoder.encode("P6\n1 1\n255\nabc"), "rgb.ppm"), /rgb\.ppm: not a PGM image/);
  assert.throws(
    () => decodePgm(pgm("P5\n4 4\n255\n", [1, 2, 3]), "short.pgm"),
    /short\.pgm: truncated PGM data/,
  );
  assert.throws(
    () => decodePgm(pgm("P5\n4 x\n255\n", []), "bad.pgm"),
    /bad\.pgm: malformed PGM header: expected the height/,
  );
  assert.throws(() => decodePgm(pgm("P5\n1 1\n0\n", [0]), "zero.pgm"), /invalid PGM maximum value 0/);
  assert.throws(
    () => decodePgm(encoder.encode("P2 1 1 9 12"), "over.pgm"),
    /sample 0 is 12, above the maximum value 9/,
  );
  assert.throws(
    () => decodePgm(encoder.encode("P2 2 1 9 1"), "cut.pgm"),
    /truncated PGM data: 1 of 2 samples/,
  );
  assert.rejects(
    () => readPgm("no/such/file.pgm"),
    (e: Error) => e instanceof PgmError && /file not found/.test(e.message),
  );
});

Deno.test("Orl.open lists s<k>/<n>.pgm in numeric order with all pairs", async () => {
  const root = await Deno.makeTempDir();
  for (const folder of ["s1", "s2", "s10"]) {
    await Deno.mkdir(`${root}/${folder}`);
    for (const n of [1, 2, 10]) {
      await Deno.writeFile(`${root}/${folder}/${n}.pgm`, pgm("P5 2 2 255\n", [n, n, n, n]));
    }
  }
  await Deno.writeTextFile(`${root}/README`, "not a folder of faces");
  const orl = await Orl.open(root);
  assert.deepEqual(orl.identities, ["s1", "s2", "s10"]);
  assert.equal(orl.imageCount, 9);
  assert.equal(orl.imageName(8), "s10/10.pgm");
  assert.equal(orl.pairs.length, 36);
  assert.equal(orl.pairs.filter((p) => p.genuine).length, 3 * 3);
  assert.ok(orl.pairs.every((p) => p.genuine === (orl.images[p.first].label === orl.images[p.second].label)));
  const image = (await orl.image(5)) as Pixels;
  assert.deepEqual([image.channels, image.data[0]], [1, 10]);
  await assert.rejects(() => Orl.open(`${root}/none`), /cannot read the ORL folder \(folder not found\)/);
  await assert.rejects(() => Orl.open(`${root}/s1`), /no ORL images/);
  assert.deepEqual(allPairs([4, 4, 4]).map((p) => [p.first, p.second]), [[0, 1], [0, 2], [1, 2]]);
});

// ------------------------------------------------------------------------------------------- landmarks

Deno.test("CachedLandmarker answers repeats from its file and ignores other versions", async () => {
  const path = `${await Deno.makeTempDir()}/sub/landmarks.json`;
  const calls = { count: 0 };
  const first = await CachedLandmarker.open(path, fakeDetector(calls));
  const ok = square(112, 50), bad = square(112, 50, 0);
  const found = await first.detect(ok, { faceCrop: true });
  const failed = await first.detect(bad, { faceCrop: true });
  await first.detect(ok, { faceCrop: true });
  await first.detect(ok, { faceCrop: false }); // other options: another entry
  assert.deepEqual(first.stats, { hits: 1, misses: 3 });
  await first.save();
  const again = await CachedLandmarker.open(path, fakeDetector(calls));
  assert.equal(again.size, 3);
  assert.deepEqual(await again.detect(ok, { faceCrop: true }), { ...found, mesh: [] });
  assert.deepEqual(await again.detect(bad, { faceCrop: true }), failed);
  assert.equal(calls.count, 3);
  const file = JSON.parse(await Deno.readTextFile(path));
  assert.equal(file.version, LANDMARK_CACHE_VERSION);
  await Deno.writeTextFile(path, JSON.stringify({ ...file, version: "older" }));
  assert.equal((await CachedLandmarker.open(path)).size, 0);
  await Deno.writeTextFile(path, "{ not json");
  await assert.rejects(
    () => CachedLandmarker.open(path),
    /landmarks\.json: the landmark cache is not valid JSON/,
  );
});

function memorySet(images: Pixels[], name = "mem"): VerificationSet {
  return {
    name,
    imageCount: images.length,
    pairs: [],
    image: (
      i,
    ) => (images[i] ? Promise.resolve(images[i]) : Promise.reject(new Error(`${name}#${i}: broken`))),
    imageName: (i) => `${name}#${i}`,
  };
}

Deno.test("alignVerificationFaces reports every face without landmarks: mean fallback or left out", async () => {
  const images = [square(224, 90), square(224, 91, 0), square(224, 92), square(224, 93)];
  const broken = [...images.slice(0, 3), undefined as unknown as Pixels];
  const detector = fakeDetector({ count: 0 });
  const mean = await alignVerificationFaces(memorySet(broken), { detector, progress: "none" });
  assert.deepEqual(mean.origins, ["detected", "mean", "detected", null]);
  assert.deepEqual(
    mean.summary.problems.map((p) => [p.image, p.reason, p.handled]),
    [[1, "low-confidence", "mean-landmarks"], [3, "unreadable", "not-aligned"]],
  );
  assert.match(mean.summary.problems[1].message, /mem#3: broken/);
  assert.deepEqual([mean.summary.detected, mean.summary.meanFallback, mean.summary.notAligned], [2, 1, 1]);
  assert.equal(mean.faces[0]!.width, 112);
  // Mean landmarks of faces framed alike are the detected ones: the same warp.
  assert.equal(mean.faces[1]!.data[112 * 56 * 3 + 56 * 3], 91);
  const none = await alignVerificationFaces(memorySet(images), {
    detector,
    fallback: "none",
    progress: "none",
  });
  assert.deepEqual(none.faces.map((f) => f !== null), [true, false, true, true]);
  assert.deepEqual(none.summary.byReason, { "low-confidence": 1 });
  const views = alignedFaceViews(none.faces);
  await assert.rejects(() => views({ image: 1, mask: null }), /image 1 was not aligned/);
  await assert.rejects(() => views({ image: 0, mask: "paper" }), /no mask variant "paper"/);
});

// ------------------------------------------------------------------------------------------------ MFR2

/** A tiny MFR2 folder: 3 identities; faces whose first byte is 0 make the fake detector fail. */
async function tinyMfr2(): Promise<string> {
  const root = await Deno.makeTempDir();
  const people: [string, string[]][] = [
    ["Ann", ["no-mask", "no-mask", "surgical_blue", "cloth_black"]],
    ["Bob", ["no-mask", "no-mask", "KN95"]],
    ["Cid", ["no-mask", "N95"]],
  ];
  const labels: string[] = [];
  for (const [name, masks] of people) {
    await Deno.mkdir(`${root}/${name}`);
    for (const [k, mask] of masks.entries()) {
      labels.push(`${name}, ${k + 1}, ${mask}`);
      const failing = name === "Bob" && mask === "KN95";
      await Deno.writeFile(
        `${root}/${name}/${name}_000${k + 1}.png`,
        await encodePng(square(160, 60 + 10 * k, failing ? 0 : 60 + 10 * k)),
      );
    }
  }
  await Deno.writeTextFile(`${root}/mfr2_labels.txt`, labels.join("\n") + "\n");
  const pairs = [
    "Ann 1 2", // UM-UM genuine
    "Ann 1 3", // M-UM genuine
    "Ann 3 4", // M-M genuine
    "Bob 1 3", // M-UM genuine, Bob 3 fails
    "Ann 3 Bob 3", // M-M impostor, Bob 3 fails
    "Ann 1 Bob 1", // UM-UM impostor
    "Cid 2 Bob 2", // M-UM impostor (masked first: turned round)
    "Cid 2 Ann 4", // M-M impostor
  ];
  await Deno.writeTextFile(`${root}/pairs.txt`, pairs.join("\n") + "\n");
  return root;
}

Deno.test("prepareMfr2 splits pairs by real masks and lists the pairs of faces it cannot align", async () => {
  const mfr2 = await Mfr2.open(await tinyMfr2());
  const detector = fakeDetector({ count: 0 });
  const mean = await prepareMfr2(mfr2, { detector, progress: "none" });
  const counts = (c: { pairs: number; genuine: number }) => [c.pairs, c.genuine];
  assert.deepEqual(
    ["UM-UM", "M-UM", "M-M"].map((s) => counts(mean.officialCounts[s as "M-M"])),
    [[2, 1], [3, 2], [3, 1]],
  );
  assert.deepEqual(mean.counts, mean.officialCounts);
  assert.deepEqual(mean.problems.map((p) => [p.name, p.maskType, p.masked, p.pairs, p.handled]), [
    ["Bob/Bob_0003.png", "KN95", true, 2, "mean-landmarks"],
  ]);
  // The masked image of a M-UM pair is the probe.
  assert.ok(
    mean.scenarios["M-UM"].every((p) =>
      mfr2.images[p.second.image].masked && !mfr2.images[p.first.image].masked
    ),
  );
  const none = await prepareMfr2(mfr2, { detector, fallback: "none", progress: "none" });
  assert.deepEqual(none.excludedPairs.map((p) => [p.pair, p.scenario, p.first, p.second, p.genuine]), [
    [3, "M-UM", "Bob/Bob_0001.png", "Bob/Bob_0003.png", true],
    [4, "M-M", "Ann/Ann_0003.png", "Bob/Bob_0003.png", false],
  ]);
  for (const s of ["UM-UM", "M-UM", "M-M"] as const) {
    const excluded = none.excludedPairs.filter((p) => p.scenario === s).length;
    assert.equal(none.counts[s].pairs, none.officialCounts[s].pairs - excluded);
    assert.ok(
      none.scenarios[s].every((p) => none.aligned.faces[p.first.image] && none.aligned.faces[p.second.image]),
    );
  }
  assert.equal(mfr2ImageName(mfr2.images[0]), "Ann/Ann_0001.png");

  // Synthetic vs real: Ann and Bob have two unmasked photos and a masked one; Cid has one unmasked photo.
  const design = maskShiftDesign(mfr2, (i) => mean.aligned.faces[i] !== null, ["clean"]);
  assert.deepEqual(design.identities, ["Ann", "Bob"]);
  assert.deepEqual(design.conditions.map((c) => c.name), [
    "UM-UM",
    "M-UM real",
    "M-UM clean",
    "M-M real",
    "M-M clean",
  ]);
  const s = design.scenarios;
  const g = (name: string) => [s[name].length, s[name].filter((p) => p.genuine).length];
  assert.deepEqual(g("UM-UM"), [6, 2]); // C(4,2); Ann 1-2, Bob 1-2
  assert.deepEqual(g("M-UM real"), [4 * 3, 2 * 2 + 2 * 1]); // 4 unmasked x 3 masked
  assert.deepEqual(g("M-UM clean"), [4 * 3, 4]); // ordered pairs of distinct unmasked photos
  assert.deepEqual(g("M-M real"), [3, 1]);
  assert.deepEqual(g("M-M clean"), [6, 2]);
  assert.ok(
    s["M-UM clean"].every((p) =>
      p.first.mask === null && p.second.mask === "clean" && p.first.image !== p.second.image
    ),
  );
  assert.ok(
    s["M-UM real"].every((p) => !mfr2.images[p.first.image].masked && mfr2.images[p.second.image].masked),
  );
  const dropBob = maskShiftDesign(
    mfr2,
    (i) => mfr2.images[i].identity !== "Bob" || !mfr2.images[i].masked,
    [],
  );
  assert.deepEqual(dropBob.identities, ["Ann"]);
  assert.throws(() => maskShiftDesign(mfr2, () => true, ["real"]), /given twice/);
});

Deno.test("syntheticMaskAppliers: the same key gets the same mask on every run, keys differ", async () => {
  const templates = await loadTemplateFolder();
  const options = { templates, keyOf: (i: number) => `face-${i}`, perTemplate: true, seed: 3 };
  const a = await syntheticMaskAppliers(options);
  const b = await syntheticMaskAppliers(options);
  assert.deepEqual(Object.keys(a), ["clean", ...templates.map((t) => `clean:${t.name}`)]);
  const face = square(112, 170);
  const first = await a.clean(face, 7);
  assert.deepEqual((await b.clean(face, 7)).data, first.data);
  assert.notDeepEqual((await a.clean(face, 8)).data, first.data);
  const other = await syntheticMaskAppliers({ ...options, seed: 4 });
  const differs = await Promise.all(
    [0, 1, 2, 3, 4, 5].map(async (i) =>
      JSON.stringify((await a.clean(face, i)).data) !== JSON.stringify((await other.clean(face, i)).data)
    ),
  );
  assert.ok(differs.some((d) => d), "another seed draws other masks");
  // The lower face is covered, the eyes are not.
  const at = (img: Pixels, x: number, y: number) => img.data[(y * 112 + x) * 3];
  assert.notEqual(at(first, 56, 95), 170);
  assert.equal(at(first, 38, 40), 170);
});

// --------------------------------------------------------------------------------------------- the CLI

Deno.test("deno task eval on synthetic faces writes every scenario, thresholds and pair counts as JSON", async () => {
  const json = `${await Deno.makeTempDir()}/out/eval.json`;
  const run = await runCli("eval.ts", [
    "--model",
    "npm:mobileface",
    "--data",
    "synthetic",
    "--identities",
    "6",
    "--images-per-identity",
    "3",
    "--backend",
    "wasm",
    "--mask",
    "surgical",
    "--json",
    json,
  ]);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /Operational thresholds/);
  const report = JSON.parse(await Deno.readTextFile(json));
  assert.equal(report.data.kind, "synthetic");
  assert.equal(report.masks.variant, "clean:surgical");
  const evaluation: VerificationEvaluation = report.models[0].evaluation;
  assert.deepEqual(Object.keys(evaluation.scenarios), ["UM-UM", "M-UM", "M-M"]);
  for (const [name, scenario] of Object.entries(evaluation.scenarios)) {
    assert.equal(scenario.pairCount, report.pairCounts[name].pairs);
    assert.equal(scenario.genuineCount, report.pairCounts[name].genuine);
    assert.ok(scenario.metrics.eer >= 0 && scenario.metrics.eer <= 1);
  }
  assert.deepEqual(evaluation.calibration!.points.map((p) => p.targetFmr), [0.01, 0.001]);
  const bad = await runCli("eval.ts", ["--model", "npm:mobileface", "--data", "x"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /x: not an MFR2 folder/);
});

// ---------------------------------------------------------------------------------- MFR2 and ORL themselves

Deno.test({
  name: "MFR2: 69/383/396 pairs by real masks, alignment failures reported, mobileface UM-UM EER < 15%",
  ignore: !hasShared,
  fn: async () => {
    const mfr2 = await Mfr2.open(mfr2Dir);
    const cacheFile = `${cacheDir}mfr2.json`;
    const prepared = await prepareMfr2(mfr2, { cacheFile, progress: "none" });
    const summary = prepared.aligned.summary;
    assert.equal(summary.total, 269);
    assert.equal(summary.detected + summary.meanFallback + summary.notAligned, 269);
    assert.equal(summary.notAligned, 0);
    assert.equal(summary.meanFallback, prepared.problems.length);
    // Masks hide the landmarks the detector relies on: some masked faces fail, and each is reported.
    assert.ok(
      prepared.problems.length > 0 && prepared.problems.length < 27,
      `${prepared.problems.length} failures`,
    );
    for (const problem of prepared.problems) {
      assert.equal(prepared.aligned.origins[problem.image], "mean");
      assert.ok(["no-face", "low-confidence"].includes(problem.reason));
      assert.ok(problem.message.length > 0 && problem.pairs > 0);
    }
    const counts = (
      s: "UM-UM" | "M-UM" | "M-M",
    ) => [prepared.counts[s].pairs, prepared.officialCounts[s].pairs];
    assert.deepEqual([counts("UM-UM"), counts("M-UM"), counts("M-M")], [[69, 69], [383, 383], [396, 396]]);
    assert.deepEqual(prepared.excludedPairs, []);

    // Without the fallback, the same faces are left out, and exactly their pairs with them.
    const strict = await prepareMfr2(mfr2, { cacheFile, fallback: "none", progress: "none" });
    assert.deepEqual(strict.problems.map((p) => p.name), prepared.problems.map((p) => p.name));
    const failed = new Set(strict.problems.map((p) => p.image));
    const touching = mfr2.pairs.filter((p) => failed.has(p.first) || failed.has(p.second)).length;
    assert.equal(strict.excludedPairs.length, touching);
    for (const s of ["UM-UM", "M-UM", "M-M"] as const) {
      const excluded = strict.excludedPairs.filter((p) => p.scenario === s).length;
      assert.equal(strict.counts[s].pairs, strict.officialCounts[s].pairs - excluded);
    }

    // The sanity bound of a working pipeline: a pretrained model verifies unmasked pairs far above chance,
    // on the official pairs (8 genuine) and on all pairs of unmasked photos (45 genuine).
    const model = await loadEmbedder("npm:mobileface");
    try {
      const design = maskShiftDesign(mfr2, () => true, []);
      const result = await evaluateVerification({
        embedder: model,
        views: alignedFaceViews(prepared.aligned.faces),
        scenarios: { "UM-UM": prepared.scenarios["UM-UM"], "UM-UM all": design.scenarios["UM-UM"] },
        progress: "none",
      });
      const official = result.scenarios["UM-UM"].metrics, all = result.scenarios["UM-UM all"].metrics;
      assert.equal(result.scenarios["UM-UM all"].genuineCount, 45);
      assert.ok(official.eer < 0.15, `official UM-UM EER ${official.eer}`);
      assert.ok(all.eer < 0.15, `all-pairs UM-UM EER ${all.eer}`);
      assert.ok(all.gMean - all.iMean > 0.3, `G-mean ${all.gMean}, I-mean ${all.iMean}`);
    } finally {
      model.dispose();
    }
  },
});

Deno.test({
  name: "ORL: 39 people x 10 grey 92x112 PGM photos decode; all pairs are 1,755 genuine and 74,100 impostor",
  ignore: !hasShared,
  fn: async () => {
    const orl = await Orl.open(orlDir);
    assert.equal(orl.classCount, 39);
    assert.equal(orl.imageCount, 390);
    assert.equal(orl.pairs.filter((p) => p.genuine).length, 1755);
    assert.equal(orl.pairs.filter((p) => !p.genuine).length, 74100);
    const photo = (await orl.image(0)) as Pixels;
    assert.deepEqual([photo.width, photo.height, photo.channels], [92, 112, 1]);
    let lo = 255, hi = 0;
    for (const v of photo.data) lo = Math.min(lo, v), hi = Math.max(hi, v);
    assert.ok(hi - lo > 100, `a photo, not a flat image (${lo}..${hi})`);
  },
});

Deno.test("tables: calibration and synthetic-vs-real shift", () => {
  const scenario = (scores: number[], genuine: boolean[]) => ({
    name: "",
    pairCount: scores.length,
    genuineCount: genuine.filter((g) => g).length,
    impostorCount: genuine.filter((g) => !g).length,
    metrics: {
      genuineCount: 0,
      impostorCount: 0,
      eer: 0.1,
      eerThreshold: 0,
      fmr100: 0.2,
      fmr100Threshold: 0,
      fmr1000: 0.3,
      fmr1000Threshold: 0,
      gMean: scores[0],
      iMean: scores[1],
      gStd: 0,
      iStd: 0,
      fdr: 1,
    },
    accuracy: null,
    tarAtFar: [],
    scores,
    genuine,
  });
  const evaluation: VerificationEvaluation = {
    model: "m",
    embeddingSize: 1,
    flip: true,
    viewCount: 2,
    seconds: 0,
    scenarios: {
      "UM-UM": scenario([0.6, 0.1], [true, false]),
      "M-UM real": scenario([0.4, 0.15], [true, false]),
    },
    calibration: {
      referenceName: "UM-UM",
      points: [{
        targetFmr: 0.01,
        reference: { targetFmr: 0.01, threshold: 0.5, fmr: 0, fnmr: 0.25, tar: 0.75 },
        scenarios: { "M-UM real": { threshold: 0.5, fmr: 0.005, fnmr: 0.6 } },
      }],
    },
  };
  const table = calibrationTableMarkdown([evaluation]);
  assert.match(table, /\| m \| 0\.01 \| 0\.500000 \| 0\.00 \/ 25\.00 \| 0\.50 \/ 60\.00 \|/);
  const design = {
    identities: [],
    unmasked: [],
    realMasked: [],
    scenarios: {},
    conditions: [
      { name: "UM-UM", scenario: "UM-UM" as const, masks: "none" },
      { name: "M-UM real", scenario: "M-UM" as const, masks: "real" },
    ],
  };
  const rows = maskShiftRows(evaluation, design);
  assert.ok(Math.abs(rows[1].shift.gMean - -0.2) < 1e-12 && Math.abs(rows[1].shift.iMean - 0.05) < 1e-12);
  assert.match(
    maskShiftTableMarkdown([{ model: "m", rows }]),
    /\| m \| M-UM \| real \| 1 \/ 1 \| 0\.400 \(−0\.200\) \| 0\.150 \(\+0\.050\)/,
  );
  assert.throws(() => maskShiftRows({ ...evaluation, scenarios: {} }, design), /no scenario "UM-UM"/);
});
