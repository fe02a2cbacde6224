import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { useBackend } from "../lib/engine/mod.ts";
import { decodeImage, encodePng, readImage } from "../lib/image/codec.ts";
import { ARCFACE_112, type Landmarks5, type Matrix3, type Point } from "../lib/image/geometry.ts";
import { Rng } from "../lib/util/random.ts";
import {
  applyMask,
  brightnessFactor,
  createTemplate,
  drawMaskParams,
  eigenSymmetric,
  estimateAffine,
  findHomography,
  fusedMultiplyAdd,
  loadTemplate,
  loadTemplateFolder,
  maskClean,
  maskPaperExact,
  maskResources,
  paperHomography,
  type PaperMaskSettings,
  paperWarpedTemplate,
  placeTemplate,
  readMaskParams,
  readPaperTemplate,
  TemplateError,
  TensorMasker,
  warpPerspectiveOpenCv,
  writeMaskParams,
} from "../lib/masks/mod.ts";

const shared = new URL("../../shared/", import.meta.url);
const hasShared = await Deno.stat(shared).then(() => true, () => false);
const templatePath = new URL("data/maskinv/mask_img.png", shared).pathname;
const hasPaperTemplate = await Deno.stat(templatePath).then(() => true, () => false);
const hasMfr2 = await Deno.stat(new URL("data/mfr2/mfr2_labels.txt", shared)).then(() => true, () => false);
if (!hasShared) console.warn("skipping masks tests that need ../shared: ../shared not found");
else if (!hasPaperTemplate) {
  console.warn("skipping paper-exact tests: ../shared/data/maskinv/mask_img.png not found");
}

await useBackend("cpu");

function parseHex(text: string): number {
  const m = text.match(/^(-)?0x([0-9a-f])\.?([0-9a-f]*)p([+-]\d+)$/);
  if (!m) throw new Error(`not a hex float: ${text}`);
  const mantissa = parseInt(m[2], 16) + (m[3] ? parseInt(m[3], 16) / 16 ** m[3].length : 0);
  return (m[1] ? -1 : 1) * mantissa * 2 ** Number(m[4]);
}
const hexList = (text: string) => text.split(" ").map(parseHex);
const base64 = (text: string) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
const matrix3 = (v: number[]): Matrix3 => [[v[0], v[1], v[2]], [v[3], v[4], v[5]], [v[6], v[7], v[8]]];

interface OpenCvFixture {
  homographies: { src: Point[]; dst: Point[]; matrix: string }[];
  eigen: { matrix: string; n: number; values: string; vectors: string }[];
  warps: {
    width: number;
    height: number;
    channels: 1 | 3 | 4;
    image: string;
    matrix: string;
    outWidth: number;
    outHeight: number;
    output: string;
  }[];
}
const opencv: OpenCvFixture = JSON.parse(
  await Deno.readTextFile(new URL("./fixtures/masks_opencv.json", import.meta.url)),
);

/** Exact a*b+c with BigInt rationals, rounded to the nearest double (ties to even). */
function exactFma(a: number, b: number, c: number): number {
  const parts = (x: number): [bigint, number] => {
    const view = new DataView(new ArrayBuffer(8));
    view.setFloat64(0, x);
    const hi = view.getUint32(0), lo = view.getUint32(4);
    const exp = (hi >>> 20) & 0x7ff;
    let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
    if (exp !== 0) mant |= 1n << 52n;
    const sign = hi >>> 31 ? -1n : 1n;
    return [sign * mant, (exp === 0 ? 1 : exp) - 1075];
  };
  const [ma, ea] = parts(a), [mb, eb] = parts(b), [mc, ec] = parts(c);
  const e = Math.min(ea + eb, ec);
  const sum = ((ma * mb) << BigInt(ea + eb - e)) + (mc << BigInt(ec - e));
  if (sum === 0n) return 0;
  const negative = sum < 0n;
  let mag = negative ? -sum : sum;
  let exp = e;
  const bits = mag.toString(2).length;
  if (bits > 53) {
    const shift = BigInt(bits - 53);
    const rem = mag & ((1n << shift) - 1n);
    const half = 1n << (shift - 1n);
    mag >>= shift;
    exp += Number(shift);
    if (rem > half || (rem === half && (mag & 1n) === 1n)) mag += 1n;
  }
  const value = Number(mag) * 2 ** exp;
  return negative ? -value : value;
}

Deno.test("fusedMultiplyAdd rounds a*b+c once", () => {
  const rng = new Rng(11);
  for (let i = 0; i < 2000; i++) {
    const a = rng.normal() * 2 ** rng.int(-30, 30), b = rng.normal() * 2 ** rng.int(-30, 30);
    const c = i % 3 === 0 ? -a * b * (1 + rng.normal() * 1e-12) : rng.normal() * 2 ** rng.int(-40, 40);
    assert.equal(fusedMultiplyAdd(a, b, c), exactFma(a, b, c), `fma(${a}, ${b}, ${c})`);
  }
});

Deno.test("eigenSymmetric is bit-identical to cv2.eigen (Eigen 3.4 build)", () => {
  for (const [i, c] of opencv.eigen.entries()) {
    const flat = hexList(c.matrix);
    const m = Array.from({ length: c.n }, (_, r) => flat.slice(r * c.n, r * c.n + c.n));
    const { values, vectors } = eigenSymmetric(m);
    assert.deepEqual(values, hexList(c.values), `case ${i}: eigenvalues`);
    assert.deepEqual(vectors.flat(), hexList(c.vectors), `case ${i}: eigenvectors`);
  }
});

Deno.test("findHomography is bit-identical to cv2.findHomography(src, dst, 0)", () => {
  for (const [i, c] of opencv.homographies.entries()) {
    assert.deepEqual(
      findHomography(c.src, c.dst).flat(),
      hexList(c.matrix),
      `case ${i} (${c.src.length} points)`,
    );
  }
});

Deno.test("warpPerspectiveOpenCv is byte-identical to cv2.warpPerspective", () => {
  for (const [i, c] of opencv.warps.entries()) {
    const out = warpPerspectiveOpenCv(
      { width: c.width, height: c.height, channels: c.channels, data: base64(c.image) },
      matrix3(hexList(c.matrix)),
      c.outWidth,
      c.outHeight,
    );
    assert.deepEqual(out.data, base64(c.output), `case ${i}`);
  }
});

Deno.test({
  name: "homographies match ../shared/reference/geometry.json",
  ignore: !hasShared,
  fn: async () => {
    const geometry = JSON.parse(await Deno.readTextFile(new URL("reference/geometry.json", shared)));
    for (const c of geometry.homography_cases) {
      const h = findHomography(c.src, c.dst);
      for (let r = 0; r < 3; r++) {
        for (let k = 0; k < 3; k++) {
          // The reference is rounded to 10 decimals.
          assert.ok(
            Math.abs(h[r][k] - c.matrix[r][k]) <= 5.000001e-11,
            `h[${r}][${k}] ${h[r][k]} vs ${c.matrix[r][k]}`,
          );
        }
      }
    }
  },
});

Deno.test({
  name: "paper-exact masks are byte-identical to ../shared/reference/maskinv_{0,1,2}.png",
  ignore: !hasShared || !hasPaperTemplate,
  fn: async () => {
    const meta = JSON.parse(await Deno.readTextFile(new URL("reference/maskinv_composite.json", shared)));
    const face = await readImage(new URL("reference/maskinv_input.png", shared).pathname);
    const template = await readPaperTemplate(templatePath);
    assert.equal(meta.cases.length, 3);
    for (const c of meta.cases) {
      const h = paperHomography(c.rs, c.rx);
      for (let r = 0; r < 3; r++) {
        for (let k = 0; k < 3; k++) {
          assert.ok(Math.abs(h[r][k] - c.homography[r][k]) <= 5.000001e-11, `${c.output} H`);
        }
      }
      const settings: PaperMaskSettings = { colour: c.colour, rs: c.rs, rx: c.rx };
      const masked = maskPaperExact(face, template, settings);
      const expected = await readImage(new URL(`reference/${c.output}`, shared).pathname);
      assert.deepEqual(masked.data, expected.data, `${c.output} differs`);
      // Through a PNG round trip too: the file a user writes is the reference's pixels.
      assert.deepEqual((await decodeImage(await encodePng(masked), "masked.png")).data, expected.data);
    }
  },
});

Deno.test("project templates load with five anchors and valid colours", async () => {
  const templates = await loadTemplateFolder();
  const names = templates.map((t) => t.name);
  for (const wanted of ["cloth", "kn95", "n95", "surgical"]) {
    assert.ok(names.includes(wanted), `missing ${wanted}`);
  }
  for (const t of templates) {
    assert.equal(t.image.channels, 4);
    assert.equal(t.anchors.length, 5);
    assert.ok(t.colours.length >= 1);
    // Anchors are the ArcFace points in the template's frame: an affine fit to ARCFACE_112 is a pure scale.
    const m = placeTemplate(t, ARCFACE_112).matrix;
    // (Anchors are stored with 3 decimals.)
    assert.ok(
      Math.abs(m[0][0] - 0.25) < 1e-5 && Math.abs(m[1][1] - 0.25) < 1e-5 && Math.abs(m[0][1]) < 1e-5,
      t.name,
    );
  }
});

Deno.test("a user template dropped into a folder loads; bad descriptors name the file", async () => {
  const dir = await Deno.makeTempDir();
  const image = { width: 40, height: 20, channels: 4 as const, data: new Uint8Array(40 * 20 * 4).fill(200) };
  await Deno.writeFile(`${dir}/band.png`, await encodePng(image));
  const descriptor = {
    name: "band",
    image: "band.png",
    anchors: [[5, -20], [35, -20], [20, 0]],
    landmarks: [0, 1, 2],
    fit: "affine",
    colours: [[10, 200, 30]],
  };
  await Deno.writeTextFile(`${dir}/band.json`, JSON.stringify(descriptor));
  const [band] = await loadTemplateFolder(dir);
  assert.equal(band.name, "band");
  assert.deepEqual(band.landmarks, [0, 1, 2]);
  const face = {
    width: 112,
    height: 112,
    channels: 3 as const,
    data: new Uint8Array(112 * 112 * 3).fill(100),
  };
  const masked = maskClean(face, band, ARCFACE_112, { matchBrightness: false });
  const nose = (Math.round(ARCFACE_112[2][1]) * 112 + Math.round(ARCFACE_112[2][0])) * 3;
  assert.ok(masked.data[nose + 1] > 150 && masked.data[nose] < 30, "the band covers the nose in its colour");
  assert.deepEqual(
    masked.data.subarray(0, 300),
    face.data.subarray(0, 300),
    "outside the template is unchanged",
  );

  await Deno.writeTextFile(
    `${dir}/broken.json`,
    JSON.stringify({ ...descriptor, name: "broken", fit: "spline" }),
  );
  await assert.rejects(
    loadTemplateFolder(dir),
    (e: Error) => e instanceof TemplateError && e.message.includes("broken.json"),
  );
  await Deno.remove(`${dir}/broken.json`);
  await Deno.writeTextFile(`${dir}/copy.json`, JSON.stringify(descriptor));
  await assert.rejects(loadTemplateFolder(dir), /already used/);
  await assert.rejects(loadTemplate(`${dir}/missing.json`), /missing\.json: file not found/);
  assert.throws(
    () =>
      createTemplate({ ...descriptor, fit: "affine" } as never, {
        ...image,
        data: new Uint8Array(40 * 20 * 4),
      }, "clear.json"),
    /clear\.json: template image is fully transparent/,
  );
});

Deno.test("estimateAffine recovers an affine map; placement shifts move the mask", () => {
  const truth: Matrix3 = [[1.3, 0.2, 7], [-0.1, 0.9, -3], [0, 0, 1]];
  const src: Point[] = [[0, 0], [10, 1], [3, 12], [8, 9], [-4, 5]];
  const dst = src.map(([x, y]) => [1.3 * x + 0.2 * y + 7, -0.1 * x + 0.9 * y - 3] as const);
  const m = estimateAffine(src, dst);
  for (let r = 0; r < 2; r++) for (let k = 0; k < 3; k++) assert.ok(Math.abs(m[r][k] - truth[r][k]) < 1e-9);
  const template = { anchors: ARCFACE_112, landmarks: [0, 1, 2, 3, 4], fit: "affine" as const };
  const down = placeTemplate(template, ARCFACE_112, [0, 3]).matrix;
  // Along the normal of the (slightly tilted) eye line.
  const [[ax, ay], [bx, by]] = ARCFACE_112;
  const eye = Math.hypot(bx - ax, by - ay);
  assert.ok(
    Math.abs(down[1][2] - 3 * (bx - ax) / eye) < 1e-9 && Math.abs(down[0][2] + 3 * (by - ay) / eye) < 1e-9,
  );
  // Twice the face: twice the shift.
  const big = ARCFACE_112.map(([x, y]) => [2 * x, 2 * y] as const) as unknown as Landmarks5;
  assert.ok(Math.abs(placeTemplate(template, big, [0, 3]).matrix[1][2] - 6 * (bx - ax) / eye) < 1e-9);
});

Deno.test("brightness matching darkens masks on dark faces", async () => {
  const [surgical] = (await loadTemplateFolder()).filter((t) => t.name === "surgical");
  const face = (v: number) => ({
    width: 112,
    height: 112,
    channels: 3 as const,
    data: new Uint8Array(112 * 112 * 3).fill(v),
  });
  const chin = ((104 * 112) + 56) * 3;
  const dark = maskClean(face(40), surgical, ARCFACE_112).data[chin];
  const bright = maskClean(face(160), surgical, ARCFACE_112).data[chin];
  assert.ok(dark < bright * 0.6, `dark ${dark} vs bright ${bright}`);
  assert.equal(brightnessFactor(0.6), 1);
  assert.equal(brightnessFactor(0), 0.35);
});

Deno.test("parameters: same seed, same parameters; JSON lines round-trip; errors name file and line", async () => {
  const templates = await loadTemplateFolder();
  const keys = Array.from({ length: 40 }, (_, i) => `id${i % 7}/img_${i}.png`);
  const options = { seed: 42, mode: "clean" as const, templates, shift: true, textureProbability: 1 };
  const a = drawMaskParams(keys, options);
  const b = drawMaskParams([...keys].reverse(), options).reverse();
  assert.deepEqual(a, b, "each image's parameters depend only on seed and key");
  assert.notDeepEqual(drawMaskParams(keys, { ...options, seed: 43 }), a);
  assert.ok(new Set(a.map((p) => p.template)).size >= 3, "templates vary");
  const dir = await Deno.makeTempDir();
  await writeMaskParams(`${dir}/p.jsonl`, a);
  assert.deepEqual(await readMaskParams(`${dir}/p.jsonl`), a);
  await Deno.writeTextFile(`${dir}/bad.jsonl`, JSON.stringify(a[0]) + '\n{"key": "x"}\n');
  await assert.rejects(readMaskParams(`${dir}/bad.jsonl`), /bad\.jsonl: line 2: "seed" must be an integer/);
  await assert.rejects(readMaskParams(`${dir}/none.jsonl`), /none\.jsonl: file not found/);
});

async function maskSetTwice(seed: number): Promise<Uint8Array[]> {
  // Everything from scratch: load, draw, mask — as two separate runs would.
  const templates = await loadTemplateFolder();
  const resources = maskResources(
    templates,
    hasPaperTemplate ? await readPaperTemplate(templatePath) : undefined,
  );
  const faces = Array.from({ length: 6 }, (_, i) => {
    const data = new Uint8Array(112 * 112 * 3);
    const rng = new Rng(1000 + i);
    for (let p = 0; p < data.length; p++) data[p] = 90 + rng.int(0, 90);
    return { width: 112, height: 112, channels: 3 as const, data };
  });
  const keys = faces.map((_, i) => `face${i}.png`);
  const out: Uint8Array[] = [];
  const clean = drawMaskParams(keys, {
    seed,
    mode: "clean",
    templates,
    textureProbability: 0.7,
    shift: true,
  });
  clean.forEach((p, i) => out.push(applyMask(faces[i], p, resources).data));
  if (resources.paperTemplate) {
    const paper = drawMaskParams(keys, { seed, mode: "paper", shift: true });
    paper.forEach((p, i) => out.push(applyMask(faces[i], p, resources).data));
  }
  return out;
}

Deno.test("same seed gives the same bytes; another seed does not", async () => {
  const first = await maskSetTwice(2021);
  const second = await maskSetTwice(2021);
  assert.deepEqual(second, first);
  const other = await maskSetTwice(2022);
  assert.ok(other.some((bytes, i) => !bytes.every((v, k) => v === first[i][k])));
});

Deno.test("TensorMasker (clean): unmasked rows unchanged, deterministic, agrees with the CPU path, no leaks", async () => {
  const templates = await loadTemplateFolder();
  const masker = new TensorMasker({ mode: "clean", templates, textureProbability: 0 });
  const rng = new Rng(5);
  const pixels = new Float32Array(4 * 112 * 112 * 3);
  for (let i = 0; i < pixels.length; i++) pixels[i] = 60 + rng.int(0, 120);
  const images = tf.tensor4d(pixels, [4, 112, 112, 3]);
  const flags = [true, false, true, true];
  const first = masker.maskBatch(images, flags, new Rng(9));
  const before = tf.memory().numTensors;
  const again = masker.maskBatch(images, flags, new Rng(9));
  assert.deepEqual(await again.data(), await first.data(), "same rng, same batch");
  tf.dispose(again);
  for (let i = 0; i < 3; i++) tf.dispose(masker.maskBatch(images, flags, new Rng(i)));
  assert.equal(tf.memory().numTensors, before, "no tensors leak");
  const out = await first.data();
  assert.deepEqual(
    out.subarray(112 * 112 * 3, 2 * 112 * 112 * 3),
    pixels.subarray(112 * 112 * 3, 2 * 112 * 112 * 3),
  );
  assert.equal(
    masker.maskBatch(images, [false, false, false, false], rng),
    images,
    "nothing masked: input returned",
  );
  // The same parameters through the CPU path.
  const drawRng = new Rng(9);
  const params = flags.map((m, i) => (m ? masker.drawParams(drawRng, `row${i}`) : null));
  const resources = maskResources(templates);
  for (const i of [0, 2, 3]) {
    const face = {
      width: 112,
      height: 112,
      channels: 3 as const,
      data: Uint8Array.from(pixels.subarray(i * 37632, (i + 1) * 37632)),
    };
    const cpu = applyMask(face, params[i]!, resources).data;
    const gpu = out.subarray(i * 37632, (i + 1) * 37632);
    let far = 0;
    for (let k = 0; k < cpu.length; k++) if (Math.abs(cpu[k] - gpu[k]) > 2) far++;
    assert.ok(far / cpu.length < 0.002, `row ${i}: ${far} bytes differ by more than 2`);
  }
  tf.dispose([images, first]);
});

Deno.test({
  name: "TensorMasker (paper): exact blend is byte-identical; engine blend differs by at most one level",
  ignore: !hasShared || !hasPaperTemplate,
  fn: async () => {
    const template = await readPaperTemplate(templatePath);
    const masker = new TensorMasker({ mode: "paper", paperTemplate: template });
    const engine = new TensorMasker({ mode: "paper", paperTemplate: template, blend: "engine" });
    const face = await readImage(new URL("reference/maskinv_input.png", shared).pathname);
    const n = 6;
    const images = tf.tensor4d(
      Float32Array.from({ length: n * face.data.length }, (_, i) => face.data[i % face.data.length]),
      [n, 112, 112, 3],
    );
    const rng = new Rng(3);
    const params = Array.from({ length: n }, (_, i) => (i === 4 ? null : masker.drawParams(rng, `r${i}`)));
    const out = masker.maskWithParams(images, params);
    const fast = engine.maskWithParams(images, params);
    const data = await out.data(), fastData = await fast.data();
    let differing = 0, total = 0;
    params.forEach((p, i) => {
      const row = data.subarray(i * face.data.length, (i + 1) * face.data.length);
      const fastRow = fastData.subarray(i * face.data.length, (i + 1) * face.data.length);
      if (!p) {
        assert.deepEqual(Uint8Array.from(row), face.data, "unmasked row unchanged");
        assert.deepEqual(Uint8Array.from(fastRow), face.data, "unmasked row unchanged (engine)");
        return;
      }
      const exact = maskPaperExact(face, template, { colour: p.colour, rx: p.shift[0], rs: p.shift[1] });
      assert.deepEqual(Uint8Array.from(row), exact.data, `row ${i}: exact blend`);
      for (let k = 0; k < row.length; k++) {
        const d = (fastRow[k] - exact.data[k] + 256) % 256;
        if (d !== 0) differing++;
        assert.ok(d === 0 || d === 1 || d === 255, `row ${i} byte ${k}: ${fastRow[k]} vs ${exact.data[k]}`);
      }
      total += row.length;
    });
    assert.ok(differing / total < 0.25, `${differing} of ${total} bytes differ by one`);
    assert.equal(masker.stats.warps, 5);
    tf.dispose([images, out, fast]);
    // The cache serves repeated shifts.
    const warped = paperWarpedTemplate(template, 0, 0);
    assert.equal(warped.width, 112);
  },
});

Deno.test({
  name: "clean masks on real unaligned MFR2 photos cover the lower face",
  ignore: !hasMfr2,
  fn: async () => {
    const labels = await Deno.readTextFile(new URL("data/mfr2/mfr2_labels.txt", shared));
    const [name, k] = labels.split("\n").find((l) => l.includes("no-mask"))!.split(",").map((s) => s.trim());
    const photo = await readImage(
      new URL(`data/mfr2/${name}/${name}_${k.padStart(4, "0")}.png`, shared).pathname,
    );
    // Rough landmarks of a 160x160 MFR2 crop (the face fills the frame), enough to test placement.
    const points = ARCFACE_112.map(([x, y]) =>
      [x * 160 / 112, y * 160 / 112] as const
    ) as unknown as Landmarks5;
    const [kn95] = (await loadTemplateFolder()).filter((t) => t.name === "kn95");
    const masked = maskClean(photo, kn95, points, { colour: [20, 20, 20] });
    const at = (x: number, y: number) => masked.data[(Math.round(y) * 160 + Math.round(x)) * 3];
    assert.ok(at(80, 140) < 40, "chin is covered by the dark mask");
    assert.equal(at(80, 40), photo.data[(40 * 160 + 80) * 3], "forehead is untouched");
  },
});
