/**
 * Face alignment to the ArcFace template: five landmarks → Umeyama similarity → bilinear warp, for one face
 * or a whole list with a progress bar and a report of every face that could not be aligned and why.
 *
 * @module
 */
import type { Pixels } from "../data/pixels.ts";
import { Progress, type ProgressOutput } from "../util/progress.ts";
import { ImageDecodeError, readImage } from "./codec.ts";
import {
  arcfaceTemplate,
  estimateSimilarity,
  type Landmarks5,
  type Matrix3,
  type Point,
} from "./geometry.ts";
import {
  type FaceLandmarker,
  type LandmarkFailureReason,
  type LandmarkOptions,
  loadSharedDetector,
} from "./landmarks.ts";
import { type BorderMode, warpImage, type WarpPrecision } from "./warp.ts";

/** Options of {@linkcode alignFace}. */
export interface AlignOptions {
  /** Side of the aligned square in pixels: a multiple of 112 or 128 (default 112); see {@linkcode arcfaceTemplate}. */
  size?: number;
  /** Border outside the source image (default `zero`, as insightface's `norm_crop`). */
  border?: BorderMode;
  /** Sampling arithmetic (default `opencv`: the same bytes as insightface's `cv2.warpAffine`). */
  precision?: WarpPrecision;
}

/**
 * The similarity transform that takes a face's five landmarks onto the ArcFace template of `size`
 * (insightface's `estimate_norm`).
 *
 * @example
 * ```ts
 * import { alignmentTransform } from "./align.ts";
 * import { ARCFACE_112 } from "./geometry.ts";
 * console.log(alignmentTransform(ARCFACE_112)[0][0].toFixed(6)); // 1.000000
 * ```
 */
export function alignmentTransform(landmarks: Landmarks5, size = 112): Matrix3 {
  if (landmarks.length !== 5) throw new RangeError(`alignment needs 5 landmarks, got ${landmarks.length}`);
  return estimateSimilarity(landmarks, arcfaceTemplate(size));
}

/**
 * Aligns one face: warps `image` so that its five landmarks land on the ArcFace template.
 *
 * @param image Pixels with the face (any channel count).
 * @param landmarks Its five points in ArcFace order (see {@linkcode Landmarks5}).
 * @param options Output size, border, arithmetic.
 * @returns A `size x size` image with the source's channels.
 * @example
 * ```ts
 * import { alignFace } from "./align.ts";
 * import { ARCFACE_112 } from "./geometry.ts";
 * const photo = { width: 224, height: 224, channels: 3 as const, data: new Uint8Array(224 * 224 * 3) };
 * const twice = ARCFACE_112.map(([x, y]) => [2 * x, 2 * y] as const) as unknown as typeof ARCFACE_112;
 * console.log(alignFace(photo, twice).width); // 112
 * ```
 */
export function alignFace(image: Pixels, landmarks: Landmarks5, options: AlignOptions = {}): Pixels {
  const size = options.size ?? 112;
  return warpImage(image, alignmentTransform(landmarks, size), {
    width: size,
    height: size,
    border: options.border ?? "zero",
    precision: options.precision ?? "opencv",
  });
}

/** One face to align: pixels or a file, and optionally its landmarks (then no detection runs). */
export interface AlignSource {
  /** Names the face in the report (a path, `"Name/Name_0001"`). */
  readonly name: string;
  /** The decoded image; when absent, `path` is read. */
  readonly image?: Pixels;
  /** An image file to read when `image` is absent. */
  readonly path?: string;
  /** Known landmarks; when given, detection is skipped. */
  readonly landmarks?: Landmarks5;
}

/** How an aligned face got its landmarks. */
export type LandmarkOrigin =
  /** Found by the landmark detector. */
  | "detected"
  /** Given by the caller. */
  | "given"
  /** Detection failed; the mean landmark positions of the detected faces of the same run were used. */
  | "mean";

/** A face that was aligned. */
export interface AlignedFace {
  /** The source's name. */
  readonly name: string;
  /** The aligned `size x size` image (RGB when read from a file; otherwise the source's channels). */
  readonly image: Pixels;
  /** The five landmarks in source-image pixels. */
  readonly landmarks: Landmarks5;
  /** Source → aligned similarity transform. */
  readonly transform: Matrix3;
  /** Where the landmarks came from. */
  readonly landmarkSource: LandmarkOrigin;
  /** Landmark confidence (detected faces), else `null`. */
  readonly score: number | null;
  /** Why detection failed, for faces aligned with the `mean` fallback. */
  readonly detectionFailure?: string;
}

/** Why a face could not be aligned. */
export type AlignFailureReason = LandmarkFailureReason | "unreadable";

/** A face that could not be aligned. */
export interface AlignFailure {
  /** The source's name. */
  readonly name: string;
  /** Machine-readable reason. */
  readonly reason: AlignFailureReason;
  /** A sentence for logs. */
  readonly message: string;
}

/** The outcome of {@linkcode alignImages}: every source is either aligned or failed. */
export interface AlignReport {
  /** Aligned faces, in input order. */
  readonly aligned: AlignedFace[];
  /** Faces that could not be aligned, in input order. */
  readonly failed: AlignFailure[];
  /** Counts: total, aligned (any source), detected, given, mean fallback, failed by reason. */
  readonly counts: {
    total: number;
    aligned: number;
    detected: number;
    given: number;
    mean: number;
    failed: number;
    byReason: Partial<Record<AlignFailureReason, number>>;
  };
  /** Wall-clock seconds of the run. */
  readonly seconds: number;
}

/** Options of {@linkcode alignImages}. */
export interface AlignImagesOptions extends AlignOptions, LandmarkOptions {
  /** The landmark finder (default: the shared `LandmarkDetector`, loaded on first use). */
  detector?: FaceLandmarker;
  /**
   * What to do with faces whose landmarks are not found: `none` (default) reports them as failed; `mean`
   * aligns them with the mean relative landmark positions of the faces detected in the same run — sensible
   * only for crops framed alike (MFR2, LFW) — and marks them `landmarkSource: "mean"`.
   */
  fallback?: "none" | "mean";
  /** Progress output (default `auto`). */
  progress?: ProgressOutput;
  /** Label of the progress bar (default `align`). */
  label?: string;
}

/**
 * Aligns a list of faces to the ArcFace template, detecting landmarks where none are given. Nothing is
 * dropped silently: every source ends up in `aligned` or `failed` (unreadable file, no face, low confidence).
 *
 * @example
 * ```ts
 * import { alignImages } from "./align.ts";
 * const blank = { width: 80, height: 80, channels: 3 as const, data: new Uint8Array(80 * 80 * 3) };
 * const report = await alignImages([{ name: "blank", image: blank }, { name: "missing", path: "no/such.png" }], {
 *   progress: "none",
 * });
 * console.log(report.counts.failed, report.failed.map((f) => f.reason)); // 2 [ "no-face", "unreadable" ]
 * ```
 */
export async function alignImages(
  sources: readonly AlignSource[],
  options: AlignImagesOptions = {},
): Promise<AlignReport> {
  const start = performance.now();
  const size = options.size ?? 112;
  arcfaceTemplate(size); // validates the size before any work
  const fallback = options.fallback ?? "none";
  const bar = new Progress({
    total: sources.length,
    label: options.label ?? "align",
    unit: "face",
    output: options.progress ?? "auto",
  });
  type Pending = {
    index: number;
    name: string;
    image: Pixels;
    reason: LandmarkFailureReason;
    message: string;
  };
  const slots: (AlignedFace | AlignFailure | undefined)[] = new Array(sources.length);
  const pending: Pending[] = [];
  const relative: Point[][] = [];
  let detector = options.detector;
  let failed = 0;
  for (let index = 0; index < sources.length; index++) {
    const source = sources[index];
    let image: Pixels;
    try {
      image = source.image ?? await readSource(source);
    } catch (error) {
      slots[index] = { name: source.name, reason: "unreadable", message: errorMessage(error) };
      failed++;
      bar.tick(1, { failed });
      continue;
    }
    if (source.landmarks != null) {
      slots[index] = aligned(source.name, image, source.landmarks, "given", null, options);
      bar.tick(1, { failed });
      continue;
    }
    detector ??= await loadSharedDetector();
    const result = await detector.detect(image, options);
    if (result.ok) {
      slots[index] = aligned(source.name, image, result.points, "detected", result.score, options);
      relative.push(result.points.map(([x, y]) => [x / image.width, y / image.height] as const));
    } else {
      pending.push({ index, name: source.name, image, reason: result.reason, message: result.message });
      failed++;
    }
    bar.tick(1, { failed });
  }
  const mean = fallback === "mean" && relative.length > 0 ? meanPoints(relative) : null;
  for (const p of pending) {
    if (mean == null) {
      slots[p.index] = { name: p.name, reason: p.reason, message: p.message };
      continue;
    }
    const points = mean.map(([u, v]) =>
      [u * p.image.width, v * p.image.height] as const
    ) as unknown as Landmarks5;
    slots[p.index] = {
      ...aligned(p.name, p.image, points, "mean", null, options),
      detectionFailure: p.message,
    };
  }
  const alignedFaces = slots.filter((s): s is AlignedFace => s != null && "image" in s);
  const failures = slots.filter((s): s is AlignFailure => s != null && "reason" in s);
  const byReason: Partial<Record<AlignFailureReason, number>> = {};
  for (const f of failures) byReason[f.reason] = (byReason[f.reason] ?? 0) + 1;
  const count = (source: LandmarkOrigin) => alignedFaces.filter((f) => f.landmarkSource === source).length;
  const report: AlignReport = {
    aligned: alignedFaces,
    failed: failures,
    counts: {
      total: sources.length,
      aligned: alignedFaces.length,
      detected: count("detected"),
      given: count("given"),
      mean: count("mean"),
      failed: failures.length,
      byReason,
    },
    seconds: (performance.now() - start) / 1000,
  };
  bar.finish({ failed: failures.length, fallback: report.counts.mean });
  return report;
}

function aligned(
  name: string,
  image: Pixels,
  landmarks: Landmarks5,
  landmarkSource: LandmarkOrigin,
  score: number | null,
  options: AlignOptions,
): AlignedFace {
  const size = options.size ?? 112;
  const transform = alignmentTransform(landmarks, size);
  const pixels = warpImage(image, transform, {
    width: size,
    height: size,
    border: options.border ?? "zero",
    precision: options.precision ?? "opencv",
  });
  return { name, image: pixels, landmarks, transform, landmarkSource, score };
}

async function readSource(source: AlignSource): Promise<Pixels> {
  if (source.path == null) throw new ImageDecodeError(source.name, "neither image nor path given");
  return await readImage(source.path, { channels: 3 });
}

function meanPoints(sets: readonly (readonly Point[])[]): Point[] {
  return sets[0].map((_, i) => {
    let x = 0, y = 0;
    for (const set of sets) x += set[i][0], y += set[i][1];
    return [x / sets.length, y / sets.length] as const;
  });
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
