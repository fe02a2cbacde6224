/**
 * Placing a template on a face: the transform from the template's anchor points to the face's landmarks
 * (similarity, least-squares affine or homography), with an optional shift of the mask on the face.
 *
 * @module
 */
import {
  ARCFACE_112,
  composeTransforms,
  estimateSimilarity,
  type Landmarks5,
  type Matrix3,
  type Point,
} from "../image/geometry.ts";
import { findHomography } from "./homography.ts";
import type { MaskTemplate, TemplateFit } from "./templates.ts";

/**
 * Least-squares affine transform mapping `src` onto `dst` (at least 3 non-collinear points), from the
 * normal equations of the centred points.
 *
 * @throws {RangeError} For fewer than 3 points, unequal counts or collinear source points.
 * @example
 * ```ts
 * import { estimateAffine } from "./placement.ts";
 * const m = estimateAffine([[0, 0], [1, 0], [0, 1]], [[1, 1], [3, 1], [1, 4]]);
 * console.log(m[0], m[1]); // [ 2, 0, 1 ] [ 0, 3, 1 ]
 * ```
 */
export function estimateAffine(src: readonly Point[], dst: readonly Point[]): Matrix3 {
  const n = src.length;
  if (n !== dst.length) {
    throw new RangeError(`affine estimate: ${n} source points but ${dst.length} destination points`);
  }
  if (n < 3) throw new RangeError(`affine estimate: need at least 3 point pairs, got ${n}`);
  let mx = 0, my = 0, mu = 0, mv = 0;
  for (let i = 0; i < n; i++) mx += src[i][0], my += src[i][1], mu += dst[i][0], mv += dst[i][1];
  mx /= n, my /= n, mu /= n, mv /= n;
  let sxx = 0, sxy = 0, syy = 0, sxu = 0, syu = 0, sxv = 0, syv = 0;
  for (let i = 0; i < n; i++) {
    const x = src[i][0] - mx, y = src[i][1] - my, u = dst[i][0] - mu, v = dst[i][1] - mv;
    sxx += x * x, sxy += x * y, syy += y * y;
    sxu += x * u, syu += y * u, sxv += x * v, syv += y * v;
  }
  const det = sxx * syy - sxy * sxy;
  if (!(Math.abs(det) > 1e-12 * (sxx * syy + 1e-300))) {
    throw new RangeError("affine estimate: the source points are collinear");
  }
  const a = (sxu * syy - syu * sxy) / det, b = (syu * sxx - sxu * sxy) / det;
  const c = (sxv * syy - syv * sxy) / det, d = (syv * sxx - sxv * sxy) / det;
  return [
    [a, b, mu - a * mx - b * my],
    [c, d, mv - c * mx - d * my],
    [0, 0, 1],
  ];
}

/**
 * The transform of `fit` kind mapping `src` onto `dst`.
 *
 * @example
 * ```ts
 * import { estimateTransform } from "./placement.ts";
 * const m = estimateTransform("similarity", [[0, 0], [2, 0]], [[1, 1], [2, 1]]);
 * console.log(m[0][0]); // 0.5
 * ```
 */
export function estimateTransform(fit: TemplateFit, src: readonly Point[], dst: readonly Point[]): Matrix3 {
  switch (fit) {
    case "similarity":
      return estimateSimilarity(src, dst);
    case "affine":
      return estimateAffine(src, dst);
    case "homography":
      return findHomography(src, dst);
  }
}

/** A mask's placement on one face. */
export interface Placement {
  /** Template pixels → face pixels. */
  matrix: Matrix3;
  /** Face pixels per pixel of a 112x112 aligned face (eye distance ratio), for sizing shifts and textures. */
  faceScale: number;
}

/**
 * Fits `template` to a face's five landmarks (image pixels, ArcFace order) and shifts the mask by `shift`
 * (in pixels of a 112x112 aligned face, scaled to this face; `+y` moves the mask down).
 *
 * @throws {RangeError} When the landmarks are degenerate.
 * @example
 * ```ts
 * import { placeTemplate } from "./placement.ts";
 * import { ARCFACE_112 } from "../image/geometry.ts";
 * const template = { anchors: ARCFACE_112.map(([x, y]) => [x * 4, y * 4] as const), landmarks: [0, 1, 2, 3, 4], fit: "affine" as const };
 * const { matrix, faceScale } = placeTemplate(template, ARCFACE_112);
 * console.log(matrix[0][0].toFixed(3), faceScale.toFixed(3)); // 0.250 1.000
 * ```
 */
export function placeTemplate(
  template: Pick<MaskTemplate, "anchors" | "landmarks" | "fit">,
  landmarks: Landmarks5,
  shift: readonly [number, number] = [0, 0],
): Placement {
  for (const p of landmarks) {
    if (!Number.isFinite(p[0]) || !Number.isFinite(p[1])) {
      throw new RangeError("landmarks must be finite numbers");
    }
  }
  const targets = template.landmarks.map((k) => landmarks[k]);
  let matrix = estimateTransform(template.fit, template.anchors, targets);
  const eye = Math.hypot(landmarks[1][0] - landmarks[0][0], landmarks[1][1] - landmarks[0][1]);
  const mouth = Math.hypot(
    (landmarks[3][0] + landmarks[4][0]) / 2 - (landmarks[0][0] + landmarks[1][0]) / 2,
    (landmarks[3][1] + landmarks[4][1]) / 2 - (landmarks[0][1] + landmarks[1][1]) / 2,
  );
  const refEye = Math.hypot(ARCFACE_112[1][0] - ARCFACE_112[0][0], ARCFACE_112[1][1] - ARCFACE_112[0][1]);
  const refMouth = Math.hypot(
    (ARCFACE_112[3][0] + ARCFACE_112[4][0]) / 2 - (ARCFACE_112[0][0] + ARCFACE_112[1][0]) / 2,
    (ARCFACE_112[3][1] + ARCFACE_112[4][1]) / 2 - (ARCFACE_112[0][1] + ARCFACE_112[1][1]) / 2,
  );
  const faceScale = (eye / refEye + mouth / refMouth) / 2;
  if (!(faceScale > 0)) throw new RangeError("landmarks are degenerate (zero eye and eye-mouth distance)");
  if (shift[0] !== 0 || shift[1] !== 0) {
    // Shift along the face's own axes (eye line and its normal), so a tilted face gets a tilted shift.
    const ex = (landmarks[1][0] - landmarks[0][0]) / (eye || 1),
      ey = (landmarks[1][1] - landmarks[0][1]) / (eye || 1);
    const dx = faceScale * (shift[0] * ex - shift[1] * ey);
    const dy = faceScale * (shift[0] * ey + shift[1] * ex);
    matrix = composeTransforms([[1, 0, dx], [0, 1, dy], [0, 0, 1]], matrix);
  }
  return { matrix, faceScale };
}
