// Dataset readers: RecordIO (faces_emore), verification .bin, MFR2, image folders and LFW pairs.
import assert from "node:assert/strict";
import { decodeImage, encodePng, resizeImage } from "../lib/image/codec.ts";
import {
  encodeRecordIO,
  ImageFolder,
  Mfr2,
  packRecord,
  parsePairs,
  parseVerificationBin,
  PickleError,
  planScenario,
  planScenarios,
  readRecordIndex,
  readVerificationBin,
  realMaskScenario,
  RECORDIO_MAGIC,
  RecordIODataset,
  RecordIOFile,
  unpackRecord,
  writeRecordIO,
} from "../lib/data/mod.ts";
import type { Pixels } from "../lib/data/pixels.ts";

const shared = new URL("../../shared/", import.meta.url);
const hasShared = await Deno.stat(shared).then(() => true, () => false);
if (!hasShared) console.warn("skipping the dataset tests on real files: ../shared not found");
const tinyDir = new URL("reference/faces_emore_tiny/", shared).pathname;
const mfr2Dir = new URL("data/mfr2/", shared).pathname;
const fixtures = new URL("./fixtures/pickle/", import.meta.url);

interface Manifest {
  identities: string[];
  images: { key: number; label: number; source: string }[];
  pairs: number;
  issame: boolean[];
}
const manifest = (): Promise<Manifest> => Deno.readTextFile(`${tinyDir}manifest.json`).then(JSON.parse);

function meanAbsDiff(a: Pixels, b: Pixels): number {
  assert.equal(a.data.length, b.data.length);
  let sum = 0;
  for (let i = 0; i < a.data.length; i++) sum += Math.abs(a.data[i] - b.data[i]);
  return sum / a.data.length;
}

async function copyDir(from: string, to: string): Promise<void> {
  for await (const entry of Deno.readDir(from)) {
    await Deno.copyFile(`${from}${entry.name}`, `${to}/${entry.name}`);
  }
}

// ---------------------------------------------------------------- RecordIO

Deno.test({
  name: "faces_emore_tiny: counts, header, labels and keys match the manifest",
  ignore: !hasShared,
  fn: async () => {
    const m = await manifest();
    const data = await RecordIODataset.open(tinyDir);
    try {
      assert.equal(data.length, m.images.length);
      assert.equal(data.classCount, m.identities.length);
      assert.deepEqual(data.imageSize, [112, 112]);
      assert.deepEqual(Array.from(data.headerLabel!), [m.images.length + 1, m.images.length + 1]);
      assert.deepEqual(Array.from(data.imageKeys), m.images.map((im) => im.key));
      for (let i = 0; i < data.length; i++) {
        const sample = await data.sample(i);
        assert.equal(sample.label, m.images[i].label, `label of image ${i}`);
        assert.ok(sample.image instanceof Uint8Array);
        assert.deepEqual(Array.from(sample.image.subarray(0, 2)), [0xff, 0xd8], "a JPEG");
        assert.equal(sample.name, `${tinyDir}train.rec#${m.images[i].key}`);
        const { header } = await data.record(m.images[i].key);
        assert.equal(header.flag, 0);
        assert.equal(header.id, m.images[i].key);
      }
    } finally {
      data.close();
    }
  },
});

Deno.test({
  name: "faces_emore_tiny: decoded pixels are the MFR2 photos they were made from",
  ignore: !hasShared,
  fn: async () => {
    const m = await manifest();
    const data = await RecordIODataset.open(tinyDir);
    try {
      const decoded = await Promise.all(m.images.map(async (_, i) => {
        const sample = await data.sample(i);
        return await decodeImage(sample.image as Uint8Array, sample.name);
      }));
      for (const [i, image] of decoded.entries()) {
        assert.deepEqual([image.width, image.height, image.channels], [112, 112, 3]);
        const [name, number] = m.images[i].source.split("_");
        const source = await decodeImage(
          await Deno.readFile(`${mfr2Dir}${name}/${m.images[i].source}.png`),
          name,
        );
        const resized = await resizeImage(source, 112, 112);
        const own = meanAbsDiff(image, resized);
        const other = meanAbsDiff(image, decoded[(i + 3) % decoded.length]);
        assert.ok(own < 8, `image ${i} (${name} ${number}) differs from its source by ${own.toFixed(2)}`);
        assert.ok(other > 3 * own, `image ${i}: another image is not clearly further (${other.toFixed(2)})`);
      }
    } finally {
      data.close();
    }
  },
});

Deno.test({
  name: "a truncated .rec fails with a clear error naming the file; earlier records still read",
  ignore: !hasShared,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    await copyDir(tinyDir, dir);
    const rec = `${dir}/train.rec`;
    const full = await Deno.readFile(rec);
    const index = await readRecordIndex(`${dir}/train.idx`);
    const lastOffset = index.offsetOf(11)!;
    await Deno.writeFile(rec, full.subarray(0, lastOffset + 100)); // cut inside the last image
    const data = await RecordIODataset.open(dir);
    try {
      assert.equal((await data.sample(9)).label, 5);
      await assert.rejects(
        () => data.sample(10),
        (error: Error) => {
          assert.ok(error.message.startsWith(`${rec}: truncated RecordIO file`), error.message);
          assert.match(
            error.message,
            new RegExp(`record part at byte ${lastOffset} declares \\d+ bytes, only 92 remain`),
          );
          return true;
        },
      );
    } finally {
      data.close();
    }
    // Cut inside a record header: the index points past the end of the data.
    await Deno.writeFile(rec, full.subarray(0, lastOffset + 4));
    const cut = await RecordIOFile.open(rec);
    await assert.rejects(
      () => cut.read(lastOffset),
      new RegExp(`^RecordIOError: ${rec}: truncated RecordIO file`),
    );
    await assert.rejects(() => cut.read(lastOffset + 40), /outside the file .*truncated file\?/);
    cut.close();
  },
});

Deno.test({
  name: "a corrupt magic word is reported with the file and byte offset",
  ignore: !hasShared,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    await copyDir(tinyDir, dir);
    const rec = `${dir}/train.rec`;
    const bytes = await Deno.readFile(rec);
    const offset = (await readRecordIndex(`${dir}/train.idx`)).offsetOf(3)!;
    bytes[offset] ^= 0xff;
    await Deno.writeFile(rec, bytes);
    const data = await RecordIODataset.open(dir);
    try {
      await assert.rejects(
        () => data.sample(2),
        new RegExp(`${rec}: bad RecordIO magic 0xced723f5 at byte ${offset} \\(expected 0xced7230a\\)`),
      );
    } finally {
      data.close();
    }
  },
});

Deno.test("records holding the magic word are split as dmlc-core does and joined back on reading", async () => {
  const magic = new Uint8Array(4);
  new DataView(magic.buffer).setUint32(0, RECORDIO_MAGIC, true);
  const payload = new Uint8Array(30).map((_, i) => i + 1);
  payload.set(magic, 0); // aligned: split
  payload.set(magic, 12); // aligned: split
  payload.set(magic, 20); // aligned: split (two parts in a row)
  payload.set(magic, 25); // unaligned: kept inside a part
  const records = [new Uint8Array([9, 8, 7]), payload, new Uint8Array(magic), new Uint8Array()];
  const { bytes, offsets } = encodeRecordIO(records);
  // Walk the parts independently of the reader: flags 0 | 1 2 2 3 | 1 3 | 0.
  const flags: number[] = [];
  const view = new DataView(bytes.buffer);
  for (let at = 0; at < bytes.length;) {
    assert.equal(view.getUint32(at, true), RECORDIO_MAGIC);
    const word = view.getUint32(at + 4, true);
    flags.push(word >>> 29);
    at += 8 + (((word & 0x1fffffff) + 3) & ~3);
  }
  assert.deepEqual(flags, [0, 1, 2, 2, 3, 1, 3, 0]);
  const path = `${await Deno.makeTempDir()}/split.rec`;
  await Deno.writeFile(path, bytes);
  const file = await RecordIOFile.open(path);
  try {
    for (const [i, offset] of offsets.entries()) {
      const { record, next } = await file.read(offset);
      assert.deepEqual(Array.from(record), Array.from(records[i]), `record ${i}`);
      assert.equal(next, offsets[i + 1] ?? bytes.length);
    }
    const all = [];
    for await (const { record } of file.records()) all.push(Array.from(record));
    assert.deepEqual(all, records.map((r) => Array.from(r)));
    await assert.rejects(() => file.read(offsets[1] + 8), /is inside a split record|bad RecordIO magic/);
  } finally {
    file.close();
  }
});

Deno.test("IRHeader: scalar and multi-float labels, and a header-less set uses every key", async () => {
  const multi = packRecord({ label: [4, 0.5, -1], id: 17, id2: 3 }, new Uint8Array([1, 2]));
  const { header, payload } = unpackRecord(multi, "multi");
  assert.equal(header.flag, 3);
  assert.deepEqual(Array.from(header.label as Float32Array), [4, 0.5, -1]);
  assert.deepEqual([header.id, header.id2], [17, 3]);
  assert.deepEqual(Array.from(payload), [1, 2]);
  assert.throws(() => unpackRecord(multi.subarray(0, 30), "short"), /short: IRHeader declares 3 labels/);
  assert.throws(() => unpackRecord(multi.subarray(0, 10), "tiny"), /tiny: record of 10 bytes is shorter/);

  const dir = await Deno.makeTempDir();
  const records = [0, 1, 1, 2].map((label, i) =>
    packRecord(i === 1 ? { label: [label, 9], id: i } : { label, id: i }, new Uint8Array([i]))
  );
  await writeRecordIO(`${dir}/train`, records);
  await Deno.writeTextFile(`${dir}/property`, "3,1,1");
  const data = await RecordIODataset.open(dir);
  try {
    assert.equal(data.length, 4, "no header record: every key is an image");
    assert.deepEqual(await Promise.all([0, 1, 2, 3].map(async (i) => (await data.sample(i)).label)), [
      0,
      1,
      1,
      2,
    ]);
  } finally {
    data.close();
  }
  await Deno.writeTextFile(`${dir}/property`, "2,1,1");
  const narrow = await RecordIODataset.open(dir);
  try {
    await assert.rejects(() => narrow.sample(3), /train\.rec#3: label 2 is outside \[0, 2\)/);
  } finally {
    narrow.close();
  }
  await Deno.writeTextFile(`${dir}/property`, "two,1,1");
  await assert.rejects(() => RecordIODataset.open(dir), /property: expected "classes,height,width"/);
  await Deno.writeTextFile(`${dir}/train.idx`, "0\t0\nx\t5\n");
  await assert.rejects(
    () => readRecordIndex(`${dir}/train.idx`),
    /train\.idx: line 2 is not "key<TAB>offset"/,
  );
  await assert.rejects(
    () => RecordIODataset.open(`${dir}/missing`),
    /missing\/train\.idx: cannot open RecordIO index \(file not found\)/,
  );
});

// ---------------------------------------------------------------- verification .bin

Deno.test({
  name: "tiny_pairs.bin: interleaved pairs, issame and images identical to the .rec's",
  ignore: !hasShared,
  fn: async () => {
    const m = await manifest();
    const bin = await readVerificationBin(`${tinyDir}tiny_pairs.bin`);
    assert.equal(bin.name, "tiny_pairs");
    assert.equal(bin.pairs.length, m.pairs);
    assert.equal(bin.imageCount, 2 * m.pairs);
    assert.deepEqual(bin.issame, m.issame);
    assert.deepEqual(bin.pairs.map((p) => [p.first, p.second]), m.issame.map((_, i) => [2 * i, 2 * i + 1]));
    // make_reference.py pairs image i with i+1 and with (i+5) mod n, for even i.
    const data = await RecordIODataset.open(tinyDir);
    try {
      const n = data.length;
      const rec = await Promise.all(Array.from({ length: n }, async (_, i) => (await data.sample(i)).image));
      const expected: (typeof rec)[number][] = [];
      for (let i = 0; i < n - 1; i += 2) expected.push(rec[i], rec[i + 1], rec[i], rec[(i + 5) % n]);
      assert.equal(bin.images.length, expected.length);
      bin.images.forEach((image, i) => assert.deepEqual(image, expected[i], `bin image ${i}`));
      const pixels = await decodeImage(await bin.image(1) as Uint8Array, bin.imageName(1));
      assert.deepEqual([pixels.width, pixels.height], [112, 112]);
    } finally {
      data.close();
    }
  },
});

Deno.test({
  name: "a malformed .bin (bad opcode, truncated) fails naming the file and the problem",
  ignore: !hasShared,
  fn: async () => {
    const path = `${tinyDir}tiny_pairs.bin`;
    const bytes = await Deno.readFile(path);
    const badOpcode = bytes.slice();
    badOpcode[11] = 0x69; // EMPTY_LIST → INST
    assert.throws(
      () => parseVerificationBin(badOpcode, "bad.bin"),
      (error: Error) =>
        error instanceof PickleError &&
        error.message ===
          "bad.bin: pickle opcode INST (0x69) at byte 11 is not allowed: this reader accepts only " +
            "plain data (protocol 2-5) and whitelisted globals",
    );
    const badBytes = bytes.slice();
    badBytes[12] = 0xfe;
    assert.throws(
      () => parseVerificationBin(badBytes, "odd.bin"),
      /^PickleError: odd\.bin: pickle opcode unknown \(0xfe\) at byte 12 is not allowed/,
    );
    for (const cut of [5, 12, 5000, bytes.length - 1]) {
      assert.throws(
        () => parseVerificationBin(bytes.subarray(0, cut), "cut.bin"),
        (error: Error) => error instanceof PickleError && /^cut\.bin: truncated pickle/.test(error.message),
        `cut at ${cut}`,
      );
    }
    const dir = await Deno.makeTempDir();
    await Deno.writeFile(`${dir}/short.bin`, bytes.subarray(0, 2000));
    await assert.rejects(
      () => readVerificationBin(`${dir}/short.bin`),
      new RegExp(`^PickleError: ${dir}/short\\.bin: truncated`),
    );
  },
});

Deno.test("verification .bin: structure errors, Python 2 strings and numpy uint8 images", async () => {
  // ([b"a", b"b", b"c"], [True]) — three images for one pair
  const odd = new Uint8Array([
    0x80,
    4,
    0x5d,
    0x28,
    0x43,
    1,
    97,
    0x43,
    1,
    98,
    0x43,
    1,
    99,
    0x65,
    0x5d,
    0x88,
    0x61,
    0x86,
    0x2e,
  ]);
  assert.throws(() => parseVerificationBin(odd, "odd.bin"), /odd\.bin: 3 images for 1 pairs/);
  // Python 2 str (SHORT_BINSTRING) images: ("xy", "zw") with [False]
  const py2 = new Uint8Array([
    0x80,
    2,
    0x5d,
    0x28,
    0x55,
    2,
    120,
    121,
    0x55,
    2,
    122,
    119,
    0x65,
    0x5d,
    0x89,
    0x61,
    0x86,
    0x2e,
  ]);
  const bin = parseVerificationBin(py2, "py2.bin");
  assert.deepEqual(bin.images.map((b) => Array.from(b)), [[120, 121], [122, 119]]);
  assert.deepEqual(bin.issame, [false]);
  const expected = JSON.parse(await Deno.readTextFile(new URL("expected.json", fixtures)));
  for (const file of ["numpy1_bins.bin", "numpy2_bins.bin"]) {
    const numpy = await readVerificationBin(new URL(file, fixtures).pathname);
    assert.deepEqual(numpy.images.map((b) => Array.from(b)), expected.numpy_bins, file);
    assert.deepEqual(numpy.issame, expected.numpy_issame);
  }
  assert.throws(
    () => parseVerificationBin(new Uint8Array([0x80, 2, 0x4e, 0x2e]), "none.bin"),
    /none\.bin: expected a pickled pair/,
  );
});

// ---------------------------------------------------------------- MFR2, folders, pairs

Deno.test({
  name: "MFR2: 53 identities, 269 images, 848 pairs, 98 unmasked; pairs and mask types match the files",
  ignore: !hasShared,
  fn: async () => {
    const mfr2 = await Mfr2.open(mfr2Dir);
    assert.equal(mfr2.classCount, 53);
    assert.equal(mfr2.imageCount, 269);
    assert.equal(mfr2.pairs.length, 848);
    assert.equal(mfr2.images.filter((im) => !im.masked).length, 98);
    assert.equal(mfr2.images.filter((im) => im.maskType === "no-mask").length, 98);
    // Independent reading of the text files.
    const labels = (await Deno.readTextFile(`${mfr2Dir}mfr2_labels.txt`)).trim().split("\n").map((l) =>
      l.split(", ")
    );
    assert.deepEqual(mfr2.images.map((im) => [im.identity, String(im.number), im.maskType]), labels);
    const lines = (await Deno.readTextFile(`${mfr2Dir}pairs.txt`)).trim().split("\n").map((l) =>
      l.trim().split(/\s+/)
    );
    assert.equal(mfr2.pairs.filter((p) => p.genuine).length, lines.filter((l) => l.length === 3).length);
    mfr2.pairs.forEach((pair, i) => {
      const f = lines[i];
      const [a, ka, b, kb] = f.length === 3 ? [f[0], f[1], f[0], f[2]] : f;
      const first = mfr2.images[pair.first], second = mfr2.images[pair.second];
      assert.deepEqual([first.identity, String(first.number), second.identity, String(second.number)], [
        a,
        ka,
        b,
        kb,
      ]);
      assert.equal(pair.genuine, first.label === second.label);
      const masks = new Map(labels.map(([n, k, t]) => [`${n}/${k}`, t !== "no-mask"]));
      assert.equal(
        mfr2.pairScenarios()[i],
        realMaskScenario(masks.get(`${a}/${ka}`)!, masks.get(`${b}/${kb}`)!),
      );
    });
    const sample = await mfr2.sample(1);
    assert.equal(sample.label, mfr2.identities.indexOf("AdrianDunbar"));
    const pixels = await decodeImage(sample.image as Uint8Array, sample.name);
    assert.deepEqual([pixels.width, pixels.height, pixels.channels], [160, 160, 3]);
    const fromFile = await decodeImage(
      await Deno.readFile(`${mfr2Dir}AdrianDunbar/AdrianDunbar_0002.png`),
      "direct",
    );
    assert.deepEqual(pixels.data, fromFile.data);
    assert.ok(new Set(pixels.data).size > 100, "a photo, not a flat image");
  },
});

Deno.test({
  name: "MFR2 as a plain image folder with its LFW-style pairs.txt",
  ignore: !hasShared,
  fn: async () => {
    const folder = await ImageFolder.open(mfr2Dir);
    const mfr2 = await Mfr2.open(mfr2Dir);
    assert.equal(folder.classCount, 53);
    assert.equal(folder.length, 269);
    const set = await folder.withPairs(`${mfr2Dir}pairs.txt`);
    assert.equal(set.pairs.length, 848);
    set.pairs.forEach((pair, i) => {
      assert.equal(set.imageName(pair.first), mfr2.imageName(mfr2.pairs[i].first));
      assert.equal(set.imageName(pair.second), mfr2.imageName(mfr2.pairs[i].second));
      assert.equal(pair.genuine, mfr2.pairs[i].genuine);
    });
  },
});

Deno.test("image folder: labels by sorted identity, LFW pairs resolution and errors", async () => {
  const root = await Deno.makeTempDir();
  const png = await encodePng({ width: 2, height: 2, channels: 3, data: new Uint8Array(12).fill(7) });
  for (const [identity, numbers] of [["Zed", [1, 2]], ["Ann", [1, 2, 3]], ["Empty", []]] as const) {
    await Deno.mkdir(`${root}/${identity}`);
    for (const k of numbers) {
      await Deno.writeFile(`${root}/${identity}/${identity}_${String(k).padStart(4, "0")}.png`, png);
    }
  }
  await Deno.writeTextFile(`${root}/Ann/notes.txt`, "not an image");
  const folder = await ImageFolder.open(root);
  assert.deepEqual(folder.identities, ["Ann", "Zed"]);
  assert.deepEqual(folder.images.map((im) => [im.file, im.label]), [
    ["Ann_0001.png", 0],
    ["Ann_0002.png", 0],
    ["Ann_0003.png", 0],
    ["Zed_0001.png", 1],
    ["Zed_0002.png", 1],
  ]);
  const sample = await folder.sample(3);
  assert.equal(sample.label, 1);
  assert.deepEqual(sample.image, png);
  const set = await folder.withPairs(parsePairs("1\t2\nAnn 1 3\nAnn 2 Zed 2\n", "p.txt"));
  assert.deepEqual(set.pairs, [{ first: 0, second: 2, genuine: true }, {
    first: 1,
    second: 4,
    genuine: false,
  }]);
  await Deno.writeTextFile(`${root}/pairs.txt`, "Ann 1 2\nAnn 1 Zed 9\n");
  await assert.rejects(
    () => folder.withPairs(`${root}/pairs.txt`),
    new RegExp(`${root}/pairs\\.txt: line 2: ${root}: no image Zed_0009\\.\\* for identity "Zed"`),
  );
  assert.throws(
    () => parsePairs("Ann 1\n", "bad.txt"),
    /bad\.txt: line 1: expected "name k1 k2" or "name1 k1 name2 k2"/,
  );
  assert.throws(
    () => parsePairs("Ann 1 x\n", "bad.txt"),
    /bad\.txt: line 1: image number "x" is not a positive integer/,
  );
  await assert.rejects(
    () => ImageFolder.open(`${root}/nowhere`),
    /nowhere: cannot read image folder \(folder not found\)/,
  );
  await assert.rejects(() => ImageFolder.open(`${root}/Empty`), /Empty: no images found/);
});

// ---------------------------------------------------------------- evaluation scenarios

Deno.test("scenarios on interleaved pairs: M-UM masks exactly the probe of every pair", () => {
  const pairs = Array.from(
    { length: 6 },
    (_, i) => ({ first: 2 * i, second: 2 * i + 1, genuine: i % 2 === 0 }),
  );
  const [umum, mum, mm] = planScenarios(pairs, 4);
  assert.deepEqual([umum.scenario, mum.scenario, mm.scenario], ["UM-UM", "M-UM", "M-M"]);
  for (const plan of [umum, mum, mm]) {
    assert.equal(plan.views.length, 12, "one view per image");
    assert.deepEqual(
      plan.pairs.map((p) => [plan.views[p.first].image, plan.views[p.second].image]),
      pairs.map((p) => [p.first, p.second]),
    );
    assert.deepEqual(plan.pairs.map((p) => p.genuine), pairs.map((p) => p.genuine));
  }
  assert.ok(umum.views.every((v) => !v.masked));
  assert.ok(mm.views.every((v) => v.masked));
  for (const pair of mum.pairs) {
    assert.equal(mum.views[pair.first].masked, false, "reference unmasked");
    assert.equal(mum.views[pair.second].masked, true, "probe masked");
  }
  // The same image wears the same mask in every scenario; different images and seeds give other masks.
  const seedOf = (plan: typeof mm, image: number) => plan.views.find((v) => v.image === image)!.maskSeed;
  assert.equal(seedOf(mum, 3), seedOf(mm, 3));
  assert.equal(new Set(mm.views.map((v) => v.maskSeed)).size, 12);
  assert.notEqual(seedOf(planScenario(pairs, "M-M", 5), 3), seedOf(mm, 3));
  assert.deepEqual(planScenario(pairs, "M-UM", 4), mum, "plans are reproducible");
});

Deno.test("scenarios when an image is reference in one pair and probe in another (MFR2-style pairs)", () => {
  const pairs = [{ first: 0, second: 1, genuine: true }, { first: 1, second: 2, genuine: false }, {
    first: 0,
    second: 2,
    genuine: false,
  }];
  const plan = planScenario(pairs, "M-UM", 0);
  // Image 1 is shown unmasked (as reference) and masked (as probe): two views, one mask seed.
  const views1 = plan.views.filter((v) => v.image === 1);
  assert.deepEqual(views1.map((v) => v.masked).sort(), [false, true]);
  assert.equal(views1[0].maskSeed, views1[1].maskSeed);
  assert.equal(plan.views.length, 4); // 0 unmasked, 1 masked, 1 unmasked, 2 masked
  for (const pair of plan.pairs) assert.ok(!plan.views[pair.first].masked && plan.views[pair.second].masked);
  assert.throws(() => planScenario(pairs, "M-X" as "M-M"), /unknown scenario "M-X"/);
});
