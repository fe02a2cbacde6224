// Hostile files (tests/fixtures/hostile/, made by make_hostile.py): pickles that would run code, length and
// nesting bombs, broken archives, corrupt and oversized images. Each must be refused by the real reader with
// its typed error naming the file and the reason — fast, without running or writing anything — or, for the
// odd-but-valid images (grey, 16-bit, CMYK, palette), decoded correctly to 8-bit RGB. Bad files are skipped
// only when asked, and then listed.
import assert from "node:assert/strict";
import {
  ImageFolder,
  parseVerificationBin,
  PickleError,
  readVerificationBin,
  skipBadImages,
  skipBadSamples,
  VerificationBinError,
} from "../lib/data/mod.ts";
import { decodePgm, PgmError } from "../lib/data/pgm.ts";
import { decodeImage, encodePng, ImageDecodeError, writeImage } from "../lib/image/codec.ts";
import { useBackend } from "../lib/engine/mod.ts";
import { loadTemplateFolder, maskImageFolder } from "../lib/masks/mod.ts";
import { verificationSetViews } from "../lib/metrics/mod.ts";
import { createNetwork, networkState, saveCheckpoint } from "../lib/models/mod.ts";
import {
  importTorchCheckpoint,
  readTorchStateDict,
  TorchCheckpointError,
} from "../lib/models/torch_import.ts";
import { openZip, ZipError } from "../lib/models/zip.ts";
import { BadFileError } from "../lib/util/errors.ts";
import {
  type HostileCase,
  hostileCorpus,
  hostilePath,
  patternPixels,
  storedZip,
  verificationBinPickle,
} from "./reliability_helpers.ts";
import { runCli } from "./cli_helpers.ts";

const corpus = await hostileCorpus();
const ERRORS: Record<string, abstract new (...args: never[]) => Error> = {
  PickleError,
  VerificationBinError,
  TorchCheckpointError,
  ZipError,
  ImageDecodeError,
  PgmError,
};
/** Per-case wall-clock limit (the slowest case takes a few milliseconds). */
const CASE_LIMIT_MS = 1000;
/** Per-case resident-memory growth limit: the bombs declare gigabytes to terabytes. */
const CASE_RSS_LIMIT = 64 * 2 ** 20;

/** Names (and sizes) of the files a reader could have written: the corpus folder and the markers. */
async function fileSnapshot(): Promise<string[]> {
  const names: string[] = [];
  const walk = async (dir: string) => {
    for await (const entry of Deno.readDir(dir)) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory) await walk(path);
      else names.push(`${path}:${(await Deno.stat(path)).size}`);
    }
  };
  await walk(hostilePath(".").replace(/\/$/, ""));
  for await (const entry of Deno.readDir("/tmp")) {
    if (entry.name.startsWith("maskinv-hostile")) names.push(`/tmp/${entry.name}`);
  }
  return names.sort();
}

/** Runs the case's reader on its file; returns what it decoded. */
async function runReader(c: HostileCase, path: string): Promise<unknown> {
  const bytes = await Deno.readFile(path);
  switch (c.reader) {
    case "verification-bin":
      return await readVerificationBin(path);
    case "torch-state-dict":
      // Errors go through the real importer; a decodable archive is read as a plain state_dict.
      return c.expect === "error" ? await importTorchCheckpoint(path) : await readTorchStateDict(bytes, path);
    case "image":
      return await decodeImage(bytes, path, c.maxPixels ? { maxPixels: c.maxPixels } : {});
    case "pgm":
      return decodePgm(bytes, path);
  }
}

function checkDecoded(c: HostileCase, value: unknown): void {
  if (c.reader === "verification-bin") {
    assert.equal((value as { pairs: unknown[] }).pairs.length, c.pairs, c.file);
  } else if (c.reader === "torch-state-dict") {
    assert.equal((value as Map<string, unknown>).size, c.tensors, c.file);
  } else {
    const pixels = value as { width: number; height: number; channels: number; data: Uint8Array };
    assert.equal(pixels.channels, 3, `${c.file}: RGB`);
    assert.deepEqual([pixels.width, pixels.height], [c.width, c.height], c.file);
    const expectPixel = (x: number, y: number, rgb: number[], tolerance = c.tolerance ?? 0) => {
      const at = 3 * (y * pixels.width + x);
      const got = [...pixels.data.subarray(at, at + 3)];
      assert.ok(
        got.every((v, k) => Math.abs(v - rgb[k]) <= tolerance),
        `${c.file} (${c.what}) at ${x},${y}: got [${got}], expected [${rgb}] ±${tolerance}`,
      );
    };
    c.rgb?.forEach((rgb, i) => expectPixel(i % c.width!, Math.floor(i / c.width!), rgb));
    for (const [x, y, rgb, probeTolerance] of c.probes ?? []) expectPixel(x, y, rgb, probeTolerance);
  }
}

/** Runs every case of the corpus for the given readers and returns the per-case figures. */
async function runCases(readers: HostileCase["reader"][]): Promise<{ worstMs: number; worstRss: number }> {
  const cases = corpus.cases.filter((c) => readers.includes(c.reader));
  assert.ok(cases.length > 0);
  const markers = cases.flatMap((c) => (c.marker ? [c.marker] : []));
  for (const marker of markers) await Deno.remove(marker).catch(() => {});
  const before = await fileSnapshot();
  let worstMs = 0;
  let worstRss = 0;
  for (const c of cases) {
    const path = hostilePath(c.file);
    const rss = Deno.memoryUsage().rss;
    const started = performance.now();
    let outcome: { value: unknown } | { error: unknown };
    try {
      outcome = { value: await runReader(c, path) };
    } catch (error) {
      outcome = { error };
    }
    const ms = performance.now() - started;
    const grown = Deno.memoryUsage().rss - rss;
    worstMs = Math.max(worstMs, ms);
    worstRss = Math.max(worstRss, grown);
    assert.ok(ms < CASE_LIMIT_MS, `${c.file}: took ${ms.toFixed(0)} ms`);
    assert.ok(
      grown < CASE_RSS_LIMIT,
      `${c.file}: resident memory grew by ${(grown / 2 ** 20).toFixed(0)} MiB`,
    );
    if (c.expect === "decode") {
      assert.ok(
        "value" in outcome,
        `${c.file} (${c.what}) should decode: ${"error" in outcome && outcome.error}`,
      );
      checkDecoded(c, outcome.value);
      (outcome.value as { dispose?: () => void }).dispose?.();
      continue;
    }
    assert.ok("error" in outcome, `${c.file} (${c.what}) was accepted`);
    const error = outcome.error;
    const expected = ERRORS[c.error!];
    assert.ok(
      error instanceof expected,
      `${c.file}: expected ${c.error}, got ${
        error instanceof Error ? `${error.name}: ${error.message}` : error
      }`,
    );
    assert.ok(error instanceof BadFileError, `${c.file}: a BadFileError`);
    assert.ok(error.message.startsWith(path), `${c.file}: the message names the file: ${error.message}`);
    assert.match(error.message, new RegExp(c.match!), `${c.file} (${c.what})`);
  }
  for (const marker of markers) {
    assert.equal(await Deno.stat(marker).then(() => true, () => false), false, `${marker} was created`);
  }
  assert.deepEqual(await fileSnapshot(), before, "the readers wrote no file");
  console.log(
    `${readers.join(", ")}: ${cases.length} cases, slowest ${worstMs.toFixed(1)} ms, ` +
      `largest RSS growth ${(worstRss / 2 ** 20).toFixed(1)} MiB`,
  );
  return { worstMs, worstRss };
}

Deno.test("hostile .bin pickles: code execution, opcodes, length and nesting bombs, wrong protocols — refused", async () => {
  await runCases(["verification-bin"]);
});

Deno.test("hostile .pth checkpoints through the real importer: payloads, tensor bombs, broken ZIPs — refused", async () => {
  await useBackend("cpu");
  await runCases(["torch-state-dict"]);
});

Deno.test("images: corrupt, truncated, empty, bombs and vector files refused; grey, 16-bit, CMYK, palette decode to RGB", async () => {
  await runCases(["image", "pgm"]);
});

Deno.test("a decompression bomb is refused from its header, before any pixel is decoded, at a configurable limit", async () => {
  const bytes = await Deno.readFile(hostilePath("images/bomb_5000.png"));
  const started = performance.now();
  await assert.rejects(
    () => decodeImage(bytes, "bomb.png", { maxPixels: 1_000_000 }),
    /bomb\.png: image is 5000x5000, above the limit of 1000000 pixels/,
  );
  const refusal = performance.now() - started;
  // The same file decodes under a limit that admits it: the refusal was not a decoding failure.
  const t0 = performance.now();
  const decoded = await decodeImage(bytes, "bomb.png", { maxPixels: 25_000_000, channels: 1 });
  const decoding = performance.now() - t0;
  assert.equal(decoded.width * decoded.height, 25_000_000);
  assert.ok(decoded.data.every((v) => v === 0));
  assert.ok(refusal < decoding, `refusing took ${refusal.toFixed(1)} ms, decoding ${decoding.toFixed(1)} ms`);
  console.log(
    `bomb_5000.png: refused in ${refusal.toFixed(1)} ms; decoding it takes ${decoding.toFixed(0)} ms`,
  );
});

Deno.test("truncation at every byte of a valid .bin is a PickleError naming the file", async () => {
  for (const name of ["tiny_pairs_p4.bin", "tiny_pairs_p2.bin"]) {
    const bytes = await Deno.readFile(hostilePath(`valid/${name}`));
    assert.equal(parseVerificationBin(bytes, name).pairs.length, 2);
    for (let length = 0; length < bytes.length; length++) {
      assert.throws(
        () => parseVerificationBin(bytes.subarray(0, length), name),
        (error: unknown) => error instanceof PickleError && error.message.startsWith(`${name}: `),
        `${name} cut at ${length}`,
      );
    }
  }
});

Deno.test("a real torch.save file reads exactly; truncating it (or its data.pkl) at every byte is a typed error", async () => {
  const path = hostilePath("valid/tiny.pth");
  const bytes = await Deno.readFile(path);
  const tensors = await readTorchStateDict(bytes, path);
  assert.deepEqual([...tensors.keys()], Object.keys(corpus.tinyPth));
  for (const [name, { shape, values }] of Object.entries(corpus.tinyPth)) {
    const t = tensors.get(name)!;
    assert.deepEqual(t.shape, shape, name);
    assert.deepEqual([...t.data], values, name); // includes a transposed view, float16 and int64
  }
  for (let length = 0; length < bytes.length; length++) {
    await assert.rejects(
      () => readTorchStateDict(bytes.subarray(0, length), "cut.pth"),
      (error: unknown) => error instanceof ZipError && error.message.startsWith("cut.pth: "),
      `cut at ${length}`,
    );
  }
  // The archive intact, its data.pkl cut: every prefix reaches the unpickler.
  const zip = openZip(bytes, path);
  const entries = await Promise.all(
    [...zip.entries.keys()].map(async (name) => ({ name, data: await zip.read(name) })),
  );
  const pkl = entries.find((e) => e.name.endsWith("data.pkl"))!.data;
  for (let length = 0; length < pkl.length; length++) {
    const cut = storedZip(
      entries.map((e) => e.name.endsWith("data.pkl") ? { ...e, data: pkl.subarray(0, length) } : e),
    );
    await assert.rejects(
      () => readTorchStateDict(cut, "cut.pth"),
      (error: unknown) =>
        error instanceof PickleError && error.message.startsWith("cut.pth:archive/data.pkl: "),
      `data.pkl cut at ${length}`,
    );
  }
});

// ------------------------------------------------------------------------------------------ skipping bad files

/** A folder `root/<identity>/<n>.png` of good pattern images plus the named bad files copied in. */
async function mixedFolder(size: number, bad: Record<string, string>): Promise<string> {
  const root = await Deno.makeTempDir();
  for (const identity of ["ann", "bob"]) {
    await Deno.mkdir(`${root}/${identity}`);
    for (let k = 1; k <= 2; k++) {
      await writeImage(
        `${root}/${identity}/${identity}_000${k}.png`,
        patternPixels(size, k + (identity === "bob" ? 5 : 0)),
      );
    }
  }
  for (const [target, fixture] of Object.entries(bad)) {
    await Deno.copyFile(hostilePath(fixture), `${root}/${target}`);
  }
  return root;
}

const BAD_FILES = {
  "ann/ann_0003.png": "images/truncated_half.png",
  "bob/bob_0003.jpg": "images/text_named.jpg",
};

Deno.test("skipBadImages / skipBadSamples: bad files fail by default, and are left out and listed only when asked", async () => {
  const root = await mixedFolder(16, BAD_FILES);
  const folder = await ImageFolder.open(root);
  const set = await folder.withPairs([
    { first: { identity: "ann", number: 1 }, second: { identity: "ann", number: 2 }, genuine: true, line: 1 },
    { first: { identity: "ann", number: 1 }, second: { identity: "ann", number: 3 }, genuine: true, line: 2 },
    {
      first: { identity: "ann", number: 2 },
      second: { identity: "bob", number: 3 },
      genuine: false,
      line: 3,
    },
    {
      first: { identity: "ann", number: 2 },
      second: { identity: "bob", number: 1 },
      genuine: false,
      line: 4,
    },
  ]);
  // Default: the evaluation's loader stops at the bad file, naming it.
  const views = verificationSetViews(set);
  const badIndex = folder.indexOf("ann", 3);
  await assert.rejects(
    () => views({ image: badIndex, mask: null }),
    (error: unknown) =>
      error instanceof ImageDecodeError && error.message.startsWith(`${root}/ann/ann_0003.png: `),
  );
  const decode = (bytes: Uint8Array, name: string) => decodeImage(bytes, name);
  const screened = await skipBadImages(set, { decode });
  assert.deepEqual(screened.skipped.map((s) => s.name), [
    `${root}/ann/ann_0003.png`,
    `${root}/bob/bob_0003.jpg`,
  ]);
  assert.match(screened.skipped[0].reason, /ann_0003\.png: cannot decode image/);
  assert.match(screened.skipped[1].reason, /bob_0003\.jpg: not a jpeg, png/);
  assert.deepEqual(screened.droppedPairs, [1, 2]);
  assert.equal(screened.set.pairs.length, 2);
  const screenedViews = verificationSetViews(screened.set);
  for (const pair of screened.set.pairs) {
    for (const image of [pair.first, pair.second]) {
      assert.equal((await screenedViews({ image, mask: null })).width, 16);
    }
  }
  // A training source: 6 files, 2 bad → 4 samples, labels kept, the bad ones listed.
  const samples = await skipBadSamples(folder, { decode });
  assert.equal(folder.length, 6);
  assert.equal(samples.source.length, 4);
  assert.deepEqual(samples.skipped.map((s) => s.name), [
    `${root}/ann/ann_0003.png`,
    `${root}/bob/bob_0003.jpg`,
  ]);
  const names = await Promise.all([0, 1, 2, 3].map(async (i) => (await samples.source.sample(i)).name));
  assert.ok(names.every((n) => !n.endsWith("_0003.png") && !n.endsWith("_0003.jpg")));
  await assert.rejects(() => samples.source.sample(4), RangeError);
});

Deno.test("maskImageFolder and `deno task mask`: an unreadable image stops the run unless --skip-bad, which lists it", async () => {
  const root = await mixedFolder(112, BAD_FILES);
  const templates = await loadTemplateFolder();
  const output = await Deno.makeTempDir();
  const options = {
    input: root,
    output,
    mode: "clean" as const,
    templates,
    landmarks: "aligned" as const,
    progress: "none" as const,
  };
  await assert.rejects(
    () => maskImageFolder(options),
    (error: unknown) =>
      error instanceof ImageDecodeError && error.message.startsWith(`${root}/ann/ann_0003.png: `) &&
      /--skip-bad/.test(error.message),
  );
  const result = await maskImageFolder({ ...options, skipBad: true });
  assert.equal(result.done.length, 4);
  assert.deepEqual(result.failed, []);
  assert.deepEqual(result.skipped.map((s) => s.key), ["ann/ann_0003.png", "bob/bob_0003.jpg"]);
  // The command line: exit 1 naming the file by default; with --skip-bad, exit 0 and the files listed.
  const run = async (...extra: string[]) =>
    runCli("mask.ts", [root, await Deno.makeTempDir(), "--aligned", "--template", "surgical", ...extra]);
  const strict = await run();
  assert.equal(strict.code, 1, strict.stderr);
  assert.match(strict.stderr, /ann_0003\.png: cannot decode image .*--skip-bad/);
  const lenient = await run("--skip-bad");
  assert.equal(lenient.code, 0, lenient.stderr);
  assert.match(lenient.stdout, /6 images: 4 masked, 0 failed, 2 skipped as unreadable/);
  assert.match(lenient.stdout, /skipped \(unreadable\):\n {2}ann\/ann_0003\.png: .*cannot decode image/);
  assert.match(lenient.stdout, / {2}bob\/bob_0003\.jpg: .*not a jpeg, png/);
});

Deno.test("`deno task eval` on a .bin with a corrupt image: exit 1 naming it, or with --skip-bad the image and its pairs listed", async () => {
  await useBackend("cpu");
  const dir = await Deno.makeTempDir();
  // 12 pattern images of 6 "identities" (pairs k, k+1 genuine when k is even), image 5 corrupt.
  const images: Uint8Array[] = [];
  for (let i = 0; i < 12; i++) images.push(await encodePng(patternPixels(24, Math.floor(i / 2))));
  images[5] = await Deno.readFile(hostilePath("images/truncated_half.png"));
  const issame = [true, false, true, false, true, false];
  await Deno.writeFile(`${dir}/tiny.bin`, verificationBinPickle(images, issame));
  const net = createNetwork(
    {
      kind: "iresnet",
      layers: [1, 1, 1, 1],
      widths: [4, 4, 4, 4],
      embeddingSize: 8,
      inputSize: [32, 32],
      dropout: 0,
    },
    { seed: 1 },
  );
  await saveCheckpoint(`${dir}/model`, { architecture: net.config, groups: { model: networkState(net) } });
  net.dispose();
  const run = (...extra: string[]) =>
    runCli("eval.ts", [
      "--model",
      `${dir}/model`,
      "--data",
      `${dir}/tiny.bin`,
      "--scenarios",
      "um-um",
      "--backend",
      "cpu",
      "--json",
      `${dir}/out.json`,
      ...extra,
    ]);
  const strict = await run();
  assert.equal(strict.code, 1, strict.stderr);
  assert.match(strict.stderr, /tiny\.bin#5: cannot decode image/);
  assert.match(strict.stderr, /--skip-bad leaves unreadable images and their pairs out/);
  const lenient = await run("--skip-bad");
  assert.equal(lenient.code, 0, lenient.stderr);
  assert.match(
    lenient.stdout,
    /skipped \(--skip-bad\): 1 unreadable images, 1 pairs left out\n {2}.*tiny\.bin#5: .*cannot decode image/,
  );
  const report = JSON.parse(await Deno.readTextFile(`${dir}/out.json`));
  assert.equal(report.skippedImages.images[0].index, 5);
  assert.equal(report.pairCounts["UM-UM"].pairs, 5);
});
