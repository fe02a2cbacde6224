/**
 * Plane geometry for face alignment: points, 3x3 transform matrices, the Umeyama similarity estimate and
 * the ArcFace reference landmarks.
 *
 * Coordinates are in pixels with the centre of pixel column `x`, row `y` at `(x, y)` — the convention of
 * OpenCV, scikit-image and insightface, so matrices estimated here can be used with their warps and back.
 *
 * @module
 */

/** A point `[x, y]` in pixel coordinates. */
export type Point = readonly [number, number];

/** One row of a 3x3 matrix. */
export type MatrixRow = readonly [number, number, number];

/**
 * A plane transform as a row-major 3x3 matrix mapping homogeneous `[x, y, 1]` to `[x', y', w']`,
 * the point being `(x'/w', y'/w')`. Affine transforms have the last row `[0, 0, 1]`.
 */
export type Matrix3 = readonly [MatrixRow, MatrixRow, MatrixRow];

/** An affine transform as the top two rows of its 3x3 matrix (the `M` of `cv2.warpAffine`). */
export type Matrix2x3 = readonly [MatrixRow, MatrixRow];

/** Five facial landmarks in ArcFace order: the eye on the image's left, the other eye, the nose tip, the mouth corner on the image's left, the other mouth corner. */
export type Landmarks5 = readonly [Point, Point, Point, Point, Point];

/**
 * The ArcFace reference landmarks of a 112x112 aligned face (insightface `arcface_dst`): eyes, nose tip
 * and mouth corners. This is the 112x96 template of SphereFace/CosFace shifted right by 8 px so that the
 * face sits in the middle of a square crop.
 *
 * @example
 * ```ts
 * import { ARCFACE_112 } from "./geometry.ts";
 * console.log(ARCFACE_112[2]); // [ 56.0252, 71.7366 ] (nose tip)
 * ```
 */
export const ARCFACE_112: Landmarks5 = [
  [38.2946, 51.6963],
  [73.5318, 51.5014],
  [56.0252, 71.7366],
  [41.5493, 92.3655],
  [70.7299, 92.2041],
];

/**
 * The same landmarks without insightface's +8 px x-offset: the 112 (high) x 96 (wide) template of
 * SphereFace/CosFace. The released MaskInv code places its mask template on these points even on 112x112
 * faces.
 *
 * @example
 * ```ts
 * import { ARCFACE_112, ARCFACE_112X96 } from "./geometry.ts";
 * console.log(ARCFACE_112[0][0] - ARCFACE_112X96[0][0]); // 8
 * ```
 */
export const ARCFACE_112X96: Landmarks5 = [
  [30.2946, 51.6963],
  [65.5318, 51.5014],
  [48.0252, 71.7366],
  [33.5493, 92.3655],
  [62.7299, 92.2041],
];

/**
 * The ArcFace template for a square aligned crop of `size` pixels, following insightface's
 * `estimate_norm`: sizes that are multiples of 112 scale the 112 template; multiples of 128 scale it by
 * `size / 128` and add `8 * size / 128` to x (the face centred in a larger frame).
 *
 * @param size Side of the aligned crop (112, 224, 128, 256, …).
 * @throws {RangeError} When `size` is not a positive multiple of 112 or 128.
 * @example
 * ```ts
 * import { arcfaceTemplate } from "./geometry.ts";
 * console.log(arcfaceTemplate(224)[0]); // [ 76.5892, 103.3926 ]
 * ```
 */
export function arcfaceTemplate(size: number): Landmarks5 {
  let ratio: number;
  let shiftX = 0;
  if (Number.isInteger(size) && size > 0 && size % 112 === 0) {
    ratio = size / 112;
  } else if (Number.isInteger(size) && size > 0 && size % 128 === 0) {
    ratio = size / 128;
    shiftX = 8 * ratio;
  } else {
    throw new RangeError(`aligned face size must be a positive multiple of 112 or 128, got ${size}`);
  }
  return ARCFACE_112.map(([x, y]) => [x * ratio + shiftX, y * ratio] as const) as unknown as Landmarks5;
}

/**
 * Estimates the least-squares similarity transform (rotation, uniform scale, translation; no reflection)
 * mapping `src` onto `dst` — Umeyama (1991), as scikit-image's `SimilarityTransform.estimate(src, dst)` and
 * insightface's `norm_crop` compute it. In two dimensions Umeyama's SVD solution has a closed form, used here.
 *
 * @param src Points in the source image (at least 2, not all equal).
 * @param dst Corresponding points in the destination, same count.
 * @returns The 3x3 matrix mapping `src` to `dst`.
 * @throws {RangeError} When the point lists differ in length, have fewer than 2 points, contain
 *   non-finite values, or `src` is degenerate (all points equal).
 * @example
 * ```ts
 * import { applyTransform, ARCFACE_112, estimateSimilarity } from "./geometry.ts";
 * const src = ARCFACE_112.map(([x, y]) => [2 * x + 10, 2 * y - 4] as const);
 * const m = estimateSimilarity(src, ARCFACE_112);
 * console.log(m[0][0].toFixed(3), applyTransform(m, src[0]).map((v) => v.toFixed(3))); // 0.500 [ "38.295", "51.696" ]
 * ```
 */
export function estimateSimilarity(src: readonly Point[], dst: readonly Point[]): Matrix3 {
  const n = src.length;
  if (n !== dst.length) {
    throw new RangeError(`similarity estimate: ${n} source points but ${dst.length} destination points`);
  }
  if (n < 2) throw new RangeError(`similarity estimate: need at least 2 point pairs, got ${n}`);
  let sx = 0, sy = 0, dx = 0, dy = 0;
  for (let i = 0; i < n; i++) {
    const [x, y] = src[i];
    const [u, v] = dst[i];
    if (![x, y, u, v].every(Number.isFinite)) {
      throw new RangeError(`similarity estimate: point pair ${i} is not finite (${src[i]} -> ${dst[i]})`);
    }
    sx += x, sy += y, dx += u, dy += v;
  }
  sx /= n, sy /= n, dx /= n, dy /= n;
  // With centred points p (source) and q (destination), the optimal scale*rotation [[a, -b], [b, a]] is
  // a = Σ(p·q) / Σ|p|², b = Σ(p×q) / Σ|p|² — identical to Umeyama's SVD solution with the reflection
  // excluded (for 2x2 matrices ‖A‖F² + 2·det A = (σ1 ± σ2)²).
  let dot = 0, cross = 0, norm = 0;
  for (let i = 0; i < n; i++) {
    const px = src[i][0] - sx, py = src[i][1] - sy;
    const qx = dst[i][0] - dx, qy = dst[i][1] - dy;
    dot += px * qx + py * qy;
    cross += px * qy - py * qx;
    norm += px * px + py * py;
  }
  if (!(norm > 0)) throw new RangeError("similarity estimate: all source points coincide");
  const a = dot / norm;
  const b = cross / norm;
  return [
    [a, -b, dx - (a * sx - b * sy)],
    [b, a, dy - (b * sx + a * sy)],
    [0, 0, 1],
  ];
}

/**
 * Promotes a 2x3 affine matrix to 3x3 (a 3x3 matrix is returned unchanged).
 *
 * @throws {RangeError} When `matrix` is neither 2x3 nor 3x3 or holds non-finite values.
 * @example
 * ```ts
 * import { toMatrix3 } from "./geometry.ts";
 * console.log(toMatrix3([[1, 0, 5], [0, 1, 6]])[2]); // [ 0, 0, 1 ]
 * ```
 */
export function toMatrix3(matrix: Matrix2x3 | Matrix3): Matrix3 {
  const rows = matrix.length;
  if ((rows !== 2 && rows !== 3) || matrix.some((row) => row.length !== 3)) {
    throw new RangeError(
      `transform must be a 2x3 or 3x3 matrix, got ${rows} rows of ${matrix.map((r) => r.length)}`,
    );
  }
  if (!matrix.every((row) => row.every(Number.isFinite))) {
    throw new RangeError(`transform has non-finite entries: ${JSON.stringify(matrix)}`);
  }
  return rows === 3 ? matrix as Matrix3 : [matrix[0], matrix[1], [0, 0, 1]];
}

/**
 * The top two rows of an affine 3x3 matrix, as `cv2.warpAffine` takes them.
 *
 * @throws {RangeError} When the matrix is projective (last row not `[0, 0, 1]`).
 * @example
 * ```ts
 * import { toMatrix2x3 } from "./geometry.ts";
 * console.log(toMatrix2x3([[2, 0, 1], [0, 2, 3], [0, 0, 1]])); // [ [ 2, 0, 1 ], [ 0, 2, 3 ] ]
 * ```
 */
export function toMatrix2x3(matrix: Matrix3): Matrix2x3 {
  if (!isAffine(matrix)) {
    throw new RangeError(`transform is projective, not affine: ${JSON.stringify(matrix)}`);
  }
  return [matrix[0], matrix[1]];
}

/**
 * Whether a 3x3 matrix is affine (last row `[0, 0, 1]`).
 *
 * @example
 * ```ts
 * import { isAffine } from "./geometry.ts";
 * console.log(isAffine([[1, 0, 0], [0, 1, 0], [0.001, 0, 1]])); // false
 * ```
 */
export function isAffine(matrix: Matrix3): boolean {
  const [a, b, c] = matrix[2];
  return a === 0 && b === 0 && c === 1;
}

/**
 * Maps one point through a transform (with the perspective division for projective matrices).
 *
 * @example
 * ```ts
 * import { applyTransform } from "./geometry.ts";
 * console.log(applyTransform([[1, 0, 5], [0, 1, 6]], [1, 1])); // [ 6, 7 ]
 * ```
 */
export function applyTransform(matrix: Matrix2x3 | Matrix3, point: Point): [number, number] {
  const [x, y] = point;
  const [r0, r1] = matrix;
  const u = r0[0] * x + r0[1] * y + r0[2];
  const v = r1[0] * x + r1[1] * y + r1[2];
  if (matrix.length === 2) return [u, v];
  const r2 = (matrix as Matrix3)[2];
  const w = r2[0] * x + r2[1] * y + r2[2];
  return [u / w, v / w];
}

/**
 * Maps a list of points through a transform.
 *
 * @example
 * ```ts
 * import { transformPoints } from "./geometry.ts";
 * console.log(transformPoints([[2, 0, 0], [0, 2, 0]], [[1, 2], [3, 4]])); // [ [ 2, 4 ], [ 6, 8 ] ]
 * ```
 */
export function transformPoints(matrix: Matrix2x3 | Matrix3, points: readonly Point[]): [number, number][] {
  return points.map((p) => applyTransform(matrix, p));
}

/**
 * Matrix product `a · b`: the transform that applies `b` first, then `a`.
 *
 * @example
 * ```ts
 * import { composeTransforms } from "./geometry.ts";
 * const shiftThenDouble = composeTransforms([[2, 0, 0], [0, 2, 0], [0, 0, 1]], [[1, 0, 3], [0, 1, 0], [0, 0, 1]]);
 * console.log(shiftThenDouble[0]); // [ 2, 0, 6 ]
 * ```
 */
export function composeTransforms(a: Matrix2x3 | Matrix3, b: Matrix2x3 | Matrix3): Matrix3 {
  const p = toMatrix3(a), q = toMatrix3(b);
  const row = (i: number): MatrixRow => [
    p[i][0] * q[0][0] + p[i][1] * q[1][0] + p[i][2] * q[2][0],
    p[i][0] * q[0][1] + p[i][1] * q[1][1] + p[i][2] * q[2][1],
    p[i][0] * q[0][2] + p[i][1] * q[1][2] + p[i][2] * q[2][2],
  ];
  return [row(0), row(1), row(2)];
}

/**
 * Inverts a transform (cofactor formula in float64).
 *
 * @throws {RangeError} When the matrix is singular.
 * @example
 * ```ts
 * import { invertTransform } from "./geometry.ts";
 * console.log(invertTransform([[2, 0, 4], [0, 2, 6], [0, 0, 1]])[0]); // [ 0.5, -0, -2 ]
 * ```
 */
export function invertTransform(matrix: Matrix2x3 | Matrix3): Matrix3 {
  const m = toMatrix3(matrix);
  const [[a, b, c], [d, e, f], [g, h, i]] = m;
  const A = e * i - f * h, B = -(d * i - f * g), C = d * h - e * g;
  const det = a * A + b * B + c * C;
  if (det === 0 || !Number.isFinite(det)) {
    throw new RangeError(`transform is singular and cannot be inverted: ${JSON.stringify(m)}`);
  }
  const s = 1 / det;
  if (isAffine(m)) {
    // Exact last row keeps inverted affine transforms affine.
    return [
      [e * s, -b * s, (b * f - c * e) * s],
      [-d * s, a * s, (c * d - a * f) * s],
      [0, 0, 1],
    ];
  }
  return [
    [A * s, -(b * i - c * h) * s, (b * f - c * e) * s],
    [B * s, (a * i - c * g) * s, -(a * f - c * d) * s],
    [C * s, -(a * h - b * g) * s, (a * e - b * d) * s],
  ];
}
