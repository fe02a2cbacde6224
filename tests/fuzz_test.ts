// Seeded, bounded fuzzing of every reader of untrusted files: random bit flips, byte insertions and
// deletions, truncations and corrupted length fields of small valid files. Each mutated file must be either
// read (into a well-formed value) or refused with the reader's own typed error naming the file — never a
// TypeError/RangeError from deep inside, never a hang (each case < 1 s), never a large allocation.
//
// Typed errors per reader (all subclasses of BadFileError):
//   verification .bin   PickleError, VerificationBinError
//   .pth (torch.save)   ZipError, PickleError, TorchCheckpointError
//   RecordIO            RecordIOError (and ImageDecodeError for the images inside)
//   PNG / JPEG          ImageDecodeError
//   mask params JSONL   MaskParamsError
//   .npy                NpyError
//   maskinv checkpoint  CheckpointReadError
//   PGM                 PgmError
import assert from "node:assert/strict";
import {
  encodeRecordIO,
  packRecord,
  parseVerificationBin,
  PickleError,
  RecordIODataset,
  RecordIOError,
  VerificationBinError,
} from "../lib/data/mod.ts";
import { decodePgm, PgmError } from "../lib/data/pgm.ts";
import { useBackend } from "../lib/engine/mod.ts";
import { decodeImage, encodeJpeg, encodePng, ImageDecodeError } from "../lib/image/codec.ts";
import { drawMaskParams, MaskParamsError, readMaskParams, writeMaskParams } from "../lib/masks/params.ts";
import {
  CheckpointReadError,
  createNetwork,
  loadCheckpoint,
  networkState,
  saveCheckpoint,
} from "../lib/models/mod.ts";
import { NpyError, parseNpy } from "../lib/models/npy.ts";
import { readTorchStateDict, TorchCheckpointError } from "../lib/models/torch_import.ts";
import { openZip, ZipError } from "../lib/models/zip.ts";
import * as tf from "@tensorflow/tfjs-core";
import { hostilePath, mutate, type Mutation, patternPixels, Rng, storedZip } from "./reliability_helpers.ts";

/** Cases per fixture: enough to reach every branch of these small files, bounded for a 2-core CI runner. */
const CASES = 250;
const CASE_LIMIT_MS = 1000;
const CASE_RSS_LIMIT = 64 * 2 ** 20;
type ErrorClass = abstract new (...args: never[]) => Error;

interface Tally {
  cases: number;
  accepted: number;
  errors: Record<string, number>;
  slowestMs: number;
  largestRss: number;
}

/**
 * Runs `CASES` seeded mutations of `input` through `read` and checks each outcome; returns the tally.
 * `read` gets the mutated bytes and the name to use; it returns normally only for a well-formed result.
 */
async function fuzz(
  label: string,
  input: Uint8Array,
  typed: readonly ErrorClass[],
  read: (bytes: Uint8Array, name: string) => Promise<void>,
  options: { seed: number; lengthFields?: [number, number, boolean][]; cases?: number },
): Promise<Tally> {
  const rng = new Rng(options.seed);
  const tally: Tally = { cases: 0, accepted: 0, errors: {}, slowestMs: 0, largestRss: 0 };
  const crashes: string[] = [];
  for (let k = 0; k < (options.cases ?? CASES); k++) {
    const mutation: Mutation = mutate(rng, input, options.lengthFields);
    const name = `${label}~${k}`;
    const rss = Deno.memoryUsage().rss;
    const started = performance.now();
    try {
      await read(mutation.bytes, name);
      tally.accepted++;
    } catch (error) {
      const known = typed.some((type) => error instanceof type);
      const message = error instanceof Error ? error.message : String(error);
      if (!known || !message.includes(name)) {
        crashes.push(
          `case ${k} (${mutation.kind} ${mutation.detail}): ${
            error instanceof Error ? error.name : ""
          } ${message}`,
        );
      } else {
        const kind = (error as Error).name;
        tally.errors[kind] = (tally.errors[kind] ?? 0) + 1;
      }
    }
    const ms = performance.now() - started;
    const grown = Deno.memoryUsage().rss - rss;
    tally.slowestMs = Math.max(tally.slowestMs, ms);
    tally.largestRss = Math.max(tally.largestRss, grown);
    assert.ok(
      ms < CASE_LIMIT_MS,
      `${label} case ${k} (${mutation.kind} ${mutation.detail}) took ${ms.toFixed(0)} ms`,
    );
    assert.ok(grown < CASE_RSS_LIMIT, `${label} case ${k}: resident memory grew by ${grown >> 20} MiB`);
    tally.cases++;
  }
  assert.deepEqual(crashes.slice(0, 5), [], `${label}: ${crashes.length} crashes`);
  console.log(
    `${label}: ${tally.cases} cases, ${tally.accepted} read, errors ${JSON.stringify(tally.errors)}, ` +
      `slowest ${tally.slowestMs.toFixed(1)} ms, largest RSS growth ${
        (tally.largestRss / 2 ** 20).toFixed(1)
      } MiB`,
  );
  return tally;
}

// ------------------------------------------------------------------------------- length fields of formats

/** PNG chunk length fields (big-endian u32 before each chunk type). */
function pngLengthFields(bytes: Uint8Array): [number, number, boolean][] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: [number, number, boolean][] = [];
  for (let at = 8; at + 8 <= bytes.length; at += 12 + view.getUint32(at, false)) {
    out.push([at, 4, false], [at + 8, 4, false]); // the length, and IHDR's width (or the chunk's first word)
  }
  return out;
}

/** JPEG segment length fields (big-endian u16 after each marker, up to the scan), plus SOF dimensions. */
function jpegLengthFields(bytes: Uint8Array): [number, number, boolean][] {
  const out: [number, number, boolean][] = [];
  let at = 2;
  while (at + 4 <= bytes.length && bytes[at] === 0xff) {
    const marker = bytes[at + 1];
    out.push([at + 2, 2, false]);
    if (marker === 0xc0 || marker === 0xc2) out.push([at + 5, 2, false], [at + 7, 2, false]);
    if (marker === 0xda) break;
    at += 2 + ((bytes[at + 2] << 8) | bytes[at + 3]);
  }
  return out;
}

/** ZIP fields that hold sizes, counts and offsets (local headers, central directory, end record). */
function zipLengthFields(bytes: Uint8Array): [number, number, boolean][] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: [number, number, boolean][] = [];
  for (let at = 0; at + 4 <= bytes.length; at++) {
    const signature = view.getUint32(at, true);
    if (signature === 0x04034b50) out.push([at + 18, 4, true], [at + 22, 4, true], [at + 26, 2, true]);
    if (signature === 0x02014b50) {
      out.push([at + 20, 4, true], [at + 24, 4, true], [at + 28, 2, true], [at + 30, 2, true], [
        at + 42,
        4,
        true,
      ]);
    }
    if (signature === 0x06054b50) out.push([at + 10, 2, true], [at + 12, 4, true], [at + 16, 4, true]);
  }
  return out;
}

/** Offsets of the opcodes' length arguments in a pickle made of the usual opcodes (protocol 2–4). */
function pickleLengthFields(bytes: Uint8Array): [number, number, boolean][] {
  const out: [number, number, boolean][] = [];
  for (let at = 0; at < bytes.length; at++) {
    const op = bytes[at];
    // BINBYTES, BINUNICODE, BINSTRING, LONG_BINPUT/GET: u32; FRAME, BINBYTES8: u64; SHORT_* : u8.
    if (op === 0x42 || op === 0x58 || op === 0x54) out.push([at + 1, 4, true]);
    else if (op === 0x95 || op === 0x8e) out.push([at + 1, 8, true]);
    else if (op === 0x43 || op === 0x8c || op === 0x55) out.push([at + 1, 1, true]);
  }
  return out.filter(([offset, width]) => offset + width <= bytes.length);
}

// ------------------------------------------------------------------------------------------------ readers

Deno.test("fuzz: verification .bin (pickle protocols 4 and 2)", async () => {
  for (const [k, name] of ["tiny_pairs_p4.bin", "tiny_pairs_p2.bin"].entries()) {
    const bytes = await Deno.readFile(hostilePath(`valid/${name}`));
    await fuzz(name, bytes, [PickleError, VerificationBinError], (mutated, source) => {
      const bin = parseVerificationBin(mutated, source);
      assert.equal(bin.images.length, 2 * bin.issame.length);
      assert.ok(bin.images.every((image) => image instanceof Uint8Array));
      return Promise.resolve();
    }, { seed: 1000 + k, lengthFields: pickleLengthFields(bytes) });
  }
});

/** Checks a decoded state_dict: dense float32 data of the declared shape. */
function checkStateDict(tensors: Map<string, { shape: number[]; data: Float32Array }>): void {
  for (const [key, t] of tensors) {
    assert.equal(t.data.length, t.shape.reduce((a, b) => a * b, 1), key);
  }
}

Deno.test("fuzz: torch.save .pth (the archive, and its data.pkl inside an intact archive)", async () => {
  for (const [k, name] of ["tiny.pth", "hand_made.pth"].entries()) {
    const bytes = await Deno.readFile(hostilePath(`valid/${name}`));
    const typed = [ZipError, PickleError, TorchCheckpointError];
    await fuzz(name, bytes, typed, async (mutated, source) => {
      checkStateDict(await readTorchStateDict(mutated, source));
    }, { seed: 2000 + k, lengthFields: zipLengthFields(bytes) });
    // Mutations of data.pkl re-zipped with a correct CRC reach the unpickler and the tensor rebuilder.
    const zip = openZip(bytes, name);
    const entries = await Promise.all(
      [...zip.entries.keys()].map(async (n) => ({ name: n, data: await zip.read(n) })),
    );
    const pkl = entries.find((e) => e.name.endsWith("data.pkl"))!.data;
    await fuzz(`${name}:data.pkl`, pkl, typed, async (mutated, source) => {
      const archive = storedZip(
        entries.map((e) => e.name.endsWith("data.pkl") ? { ...e, data: mutated } : e),
      );
      checkStateDict(await readTorchStateDict(archive, source));
    }, { seed: 2100 + k, lengthFields: pickleLengthFields(pkl) });
  }
});

Deno.test("fuzz: RecordIO (.rec, .idx and property), reading every record and decoding its image", async () => {
  const dir = await Deno.makeTempDir();
  const png = await encodePng(patternPixels(8, 3));
  const magic = new Uint8Array([0x0a, 0x23, 0xd7, 0xce]); // the magic word: forces a split record
  const jpeg = await encodeJpeg(patternPixels(8, 4), 90);
  // A JPEG comment holding the magic word at a 4-byte-aligned record offset forces a split record.
  const split = new Uint8Array([
    0xff,
    0xd8,
    0xff,
    0xfe,
    0,
    10,
    0x78,
    0x78,
    ...magic,
    0x79,
    0x79,
    ...jpeg.subarray(2),
  ]);
  const images = [png, jpeg, split];
  const records = [
    packRecord({ label: [4, 6], id: 0 }, new Uint8Array()),
    ...images.map((image, i) => packRecord({ label: i % 2, id: i + 1 }, image)),
    packRecord({ label: [1, 3], id: 4 }, new Uint8Array()),
    packRecord({ label: [3, 4], id: 5 }, new Uint8Array()),
  ];
  const { bytes: rec, offsets } = encodeRecordIO(records);
  const idx = new TextEncoder().encode(offsets.map((o, i) => `${i}\t${o}\n`).join(""));
  const property = new TextEncoder().encode("2,8,8\n");
  const lengthFields: [number, number, boolean][] = [];
  for (let at = 0; at + 8 <= rec.length; at += 4) {
    if (new DataView(rec.buffer).getUint32(at, true) === 0xced7230a) {
      lengthFields.push([at + 4, 4, true], [at + 8, 4, true]);
    }
  }
  const readAll = async (
    files: { rec: Uint8Array; idx: Uint8Array; property: Uint8Array },
    source: string,
  ) => {
    const base = `${dir}/${source}`;
    await Deno.writeFile(`${base}.rec`, files.rec);
    await Deno.writeFile(`${base}.idx`, files.idx);
    await Deno.writeFile(`${base}.property`, files.property);
    const set = await RecordIODataset.open({
      rec: `${base}.rec`,
      idx: `${base}.idx`,
      property: `${base}.property`,
    });
    try {
      for (let i = 0; i < set.length; i++) {
        const sample = await set.sample(i);
        assert.ok(sample.label >= 0 && sample.label < set.classCount);
        const pixels = await decodeImage(sample.image as Uint8Array, sample.name);
        assert.equal(pixels.data.length, pixels.width * pixels.height * 3);
      }
    } finally {
      set.close();
      for (const ext of ["rec", "idx", "property"]) await Deno.remove(`${base}.${ext}`);
    }
  };
  await readAll({ rec, idx, property }, "valid");
  const typed = [RecordIOError, ImageDecodeError];
  await fuzz("train.rec", rec, typed, (m, s) => readAll({ rec: m, idx, property }, s), {
    seed: 3000,
    lengthFields,
  });
  await fuzz("train.idx", idx, typed, (m, s) => readAll({ rec, idx: m, property }, s), {
    seed: 3001,
    cases: 150,
  });
  await fuzz("property", property, typed, (m, s) => readAll({ rec, idx, property: m }, s), {
    seed: 3002,
    cases: 60,
  });
});

Deno.test("fuzz: PNG and JPEG (RGB, 16-bit, CMYK)", async () => {
  const files = [
    "valid/small.png",
    "valid/small.jpg",
    "images/rgb16.png",
    "images/cmyk.jpg",
    "images/progressive.jpg",
  ];
  for (const [k, file] of files.entries()) {
    const bytes = await Deno.readFile(hostilePath(file));
    const fields = file.endsWith(".png") ? pngLengthFields(bytes) : jpegLengthFields(bytes);
    await fuzz(file, bytes, [ImageDecodeError], async (mutated, source) => {
      const pixels = await decodeImage(mutated, source, { maxPixels: 4_000_000 });
      assert.equal(pixels.data.length, pixels.width * pixels.height * 3);
    }, { seed: 4000 + k, lengthFields: fields, cases: 150 });
  }
});

Deno.test("fuzz: mask parameters (JSON lines)", async () => {
  const dir = await Deno.makeTempDir();
  const paper = drawMaskParams(["a.png", "b/c.jpg"], { seed: 5, mode: "paper", shift: true });
  const clean = drawMaskParams(["d.png", "e.png"], {
    seed: 6,
    mode: "clean",
    templates: [{ name: "cloth", colours: [[10, 20, 30]], texturable: true }],
    textureProbability: 1,
  });
  await writeMaskParams(`${dir}/valid.jsonl`, [...paper, ...clean]);
  const bytes = await Deno.readFile(`${dir}/valid.jsonl`);
  assert.equal((await readMaskParams(`${dir}/valid.jsonl`)).length, 4);
  await fuzz("params.jsonl", bytes, [MaskParamsError], async (mutated, source) => {
    const path = `${dir}/${source}`;
    await Deno.writeFile(path, mutated);
    try {
      for (const p of await readMaskParams(path)) {
        assert.ok(typeof p.key === "string" && p.colour.length === 3 && p.shift.every(Number.isInteger));
      }
    } finally {
      await Deno.remove(path);
    }
  }, { seed: 5000 });
});

Deno.test("fuzz: .npy arrays and maskinv checkpoints (manifest and tensors)", async () => {
  await useBackend("cpu");
  const header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }".padEnd(117, " ") + "\n";
  const npy = new Uint8Array(128 + 24);
  npy.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 118, 0]);
  npy.set(new TextEncoder().encode(header), 10);
  new Float32Array(npy.buffer, 128, 6).set([1, 2, 3, 4, 5, 6]);
  assert.deepEqual([...parseNpy(npy, "a.npy").data], [1, 2, 3, 4, 5, 6]);
  await fuzz("array.npy", npy, [NpyError], (mutated, source) => {
    const array = parseNpy(mutated, source);
    assert.equal(array.data.length, array.shape.reduce((a, b) => a * b, 1));
    return Promise.resolve();
  }, { seed: 6000, lengthFields: [[8, 2, true]], cases: 150 });

  const dir = await Deno.makeTempDir();
  const net = createNetwork(
    {
      kind: "iresnet",
      layers: [1, 1, 1, 1],
      widths: [2, 2, 2, 2],
      embeddingSize: 4,
      inputSize: [16, 16],
      dropout: 0,
    },
    { seed: 2 },
  );
  await saveCheckpoint(`${dir}/valid`, {
    architecture: net.config,
    groups: { model: networkState(net) },
    metadata: { step: 1 },
  });
  net.dispose();
  const manifest = await Deno.readFile(`${dir}/valid/manifest.json`);
  const dataName = [...Deno.readDirSync(`${dir}/valid`)].find((e) => e.name.endsWith(".bin"))!.name;
  const data = await Deno.readFile(`${dir}/valid/${dataName}`);
  const load = async (files: { manifest: Uint8Array; data: Uint8Array }, source: string) => {
    const folder = `${dir}/${source}`;
    await Deno.mkdir(folder);
    await Deno.writeFile(`${folder}/manifest.json`, files.manifest);
    await Deno.writeFile(`${folder}/${dataName}`, files.data);
    try {
      const checkpoint = await loadCheckpoint(folder);
      for (const group of Object.values(checkpoint.groups)) tf.dispose([...group.values()]);
    } finally {
      await Deno.remove(folder, { recursive: true });
    }
  };
  const tensorsBefore = tf.memory().numTensors;
  await fuzz("manifest.json", manifest, [CheckpointReadError], (m, s) => load({ manifest: m, data }, s), {
    seed: 6001,
    cases: 150,
  });
  const tensorTally = await fuzz(
    "tensors.bin",
    data,
    [CheckpointReadError],
    (m, s) => load({ manifest, data: m }, s),
    {
      seed: 6002,
      cases: 60,
    },
  );
  // Every change to the tensor bytes is caught by the SHA-256 in the manifest.
  assert.equal(tensorTally.accepted, 0);
  assert.equal(tf.memory().numTensors, tensorsBefore, "no tensor leaked by a refused checkpoint");
});

Deno.test("fuzz: PGM (binary and plain)", async () => {
  const pixels = patternPixels(6, 1).data.filter((_, i) => i % 3 === 0);
  const binary = new Uint8Array([...new TextEncoder().encode("P5\n# maskinv\n6 6\n255\n"), ...pixels]);
  const plain = new TextEncoder().encode(`P2\n6 6\n255\n${[...pixels].join(" ")}\n`);
  for (const [k, bytes] of [binary, plain].entries()) {
    await fuzz(k === 0 ? "binary.pgm" : "plain.pgm", bytes, [PgmError], (mutated, source) => {
      const image = decodePgm(mutated, source);
      assert.equal(image.data.length, image.width * image.height);
      return Promise.resolve();
    }, { seed: 7000 + k, cases: 150 });
  }
});
