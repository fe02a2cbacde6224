/**
 * The least-squares homography between two point sets, computed as `cv2.findHomography(src, dst, 0)` in
 * OpenCV 4.6 computes it: points cast to float32, a normalised direct linear transform (the eigenvector of
 * the smallest eigenvalue of LᵀL), then ten Levenberg–Marquardt iterations on the reprojection error.
 * Every floating-point step follows OpenCV's order, so the matrix is bit-identical to the library's — which
 * the paper-exact masks need, because the warp quantises source positions to 1/32 pixel.
 *
 * @module
 */
import type { Matrix3, Point } from "../image/geometry.ts";
import { dotOpenCv, eigenSymmetric, invertSymmetricEig, solveSymmetricEig } from "./linalg.ts";

const DBL_EPSILON = 2.220446049250313e-16;
const FLT_EPSILON = 1.1920928955078125e-7;

/** Options of {@linkcode findHomography}. */
export interface HomographyOptions {
  /**
   * Reproduce OpenCV's `Mat::dot` as compiled for CPUs with fused multiply-add (AVX2 and later, the
   * default) or as the plain SSE2 build. The two differ in the last bits of a step size of the refinement,
   * which is visible only for badly conditioned point sets.
   */
  fusedDot?: boolean;
  /** Levenberg–Marquardt iterations (OpenCV: 10). */
  refineIterations?: number;
}

/**
 * A point set cannot define a homography (fewer than 4 points, mismatched sizes, degenerate spread).
 *
 * @example
 * ```ts
 * import { findHomography, HomographyError } from "./homography.ts";
 * try {
 *   findHomography([[0, 0], [1, 1]], [[0, 0], [1, 1]]);
 * } catch (error) {
 *   console.log(error instanceof HomographyError); // true
 * }
 * ```
 */
export class HomographyError extends Error {
  /**
   * Creates the error.
   *
   * @param message What is wrong with the points.
   */
  constructor(message: string) {
    super(message);
    this.name = "HomographyError";
  }
}

type P = readonly [number, number];

function runKernel(srcPts: readonly P[], dstPts: readonly P[]): number[] | null {
  const count = srcPts.length;
  let cmx = 0, cmy = 0, cMx = 0, cMy = 0;
  for (let i = 0; i < count; i++) {
    cmx += dstPts[i][0];
    cmy += dstPts[i][1];
    cMx += srcPts[i][0];
    cMy += srcPts[i][1];
  }
  cmx /= count;
  cmy /= count;
  cMx /= count;
  cMy /= count;
  let smx = 0, smy = 0, sMx = 0, sMy = 0;
  for (let i = 0; i < count; i++) {
    smx += Math.abs(dstPts[i][0] - cmx);
    smy += Math.abs(dstPts[i][1] - cmy);
    sMx += Math.abs(srcPts[i][0] - cMx);
    sMy += Math.abs(srcPts[i][1] - cMy);
  }
  if (
    Math.abs(smx) < DBL_EPSILON || Math.abs(smy) < DBL_EPSILON || Math.abs(sMx) < DBL_EPSILON ||
    Math.abs(sMy) < DBL_EPSILON
  ) return null;
  smx = count / smx;
  smy = count / smy;
  sMx = count / sMx;
  sMy = count / sMy;
  const invHnorm = [[1 / smx, 0, cmx], [0, 1 / smy, cmy], [0, 0, 1]];
  const hnorm2 = [[sMx, 0, -cMx * sMx], [0, sMy, -cMy * sMy], [0, 0, 1]];
  const ltl: number[][] = [];
  for (let j = 0; j < 9; j++) ltl.push(new Array<number>(9).fill(0));
  for (let i = 0; i < count; i++) {
    const x = (dstPts[i][0] - cmx) * smx, y = (dstPts[i][1] - cmy) * smy;
    const X = (srcPts[i][0] - cMx) * sMx, Y = (srcPts[i][1] - cMy) * sMy;
    const lx = [X, Y, 1, 0, 0, 0, -x * X, -x * Y, -x];
    const ly = [0, 0, 0, X, Y, 1, -y * X, -y * Y, -y];
    for (let j = 0; j < 9; j++) {
      for (let k = j; k < 9; k++) ltl[j][k] += lx[j] * lx[k] + ly[j] * ly[k];
    }
  }
  for (let j = 0; j < 9; j++) for (let k = 0; k < j; k++) ltl[j][k] = ltl[k][j];
  const v = eigenSymmetric(ltl).vectors[8];
  const h0 = [v.slice(0, 3), v.slice(3, 6), v.slice(6, 9)];
  const htemp = matmul3(invHnorm, h0);
  const h = matmul3(htemp, hnorm2);
  const scale = 1 / h[2][2];
  return [0, 1, 2].flatMap((i) => h[i].map((value) => value * scale));
}

/** OpenCV's small-matrix `gemm` (3x3 by 3x3, row by row). */
function matmul3(a: readonly number[][], b: readonly number[][]): number[][] {
  return [0, 1, 2].map((i) =>
    [0, 1, 2].map((j) => {
      const t = a[i][0] * b[0][j] + a[i][1] * b[1][j] + a[i][2] * b[2][j];
      return t * 1 + 0 * 0;
    })
  );
}

function reprojection(
  h: readonly number[],
  src: readonly P[],
  dst: readonly P[],
  jacobian: number[][] | null,
): number[] {
  const err: number[] = [];
  for (let i = 0; i < src.length; i++) {
    const mx = src[i][0], my = src[i][1];
    let ww = h[6] * mx + h[7] * my + 1;
    ww = Math.abs(ww) > DBL_EPSILON ? 1 / ww : 0;
    const xi = (h[0] * mx + h[1] * my + h[2]) * ww;
    const yi = (h[3] * mx + h[4] * my + h[5]) * ww;
    err.push(xi - dst[i][0], yi - dst[i][1]);
    if (jacobian) {
      jacobian.push([mx * ww, my * ww, ww, 0, 0, 0, -mx * ww * xi, -my * ww * xi]);
      jacobian.push([0, 0, 0, mx * ww, my * ww, ww, -mx * ww * yi, -my * ww * yi]);
    }
  }
  return err;
}

/** `norm(x, NORM_L2SQR)`: the sum of squares unrolled by four. */
function normL2Sqr(a: readonly number[]): number {
  let s = 0, i = 0;
  for (; i <= a.length - 4; i += 4) {
    s += a[i] * a[i] + a[i + 1] * a[i + 1] + a[i + 2] * a[i + 2] + a[i + 3] * a[i + 3];
  }
  for (; i < a.length; i++) s += a[i] * a[i];
  return s;
}

/** `mulTransposed(J, A, true)`: A = JᵀJ, each entry a sequential sum, mirrored below the diagonal. */
function mulTransposed(j: readonly number[][]): number[][] {
  const n = j[0].length, rows = j.length;
  const a: number[][] = [];
  for (let i = 0; i < n; i++) a.push(new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) {
    for (let c = i; c < n; c++) {
      let s = 0;
      for (let k = 0; k < rows; k++) s += j[k][i] * j[k][c];
      a[i][c] = s * 1;
    }
  }
  for (let i = 0; i < n; i++) for (let c = 0; c < i; c++) a[i][c] = a[c][i];
  return a;
}

/** OpenCV's `GEMMSingleMul` inner product: four interleaved partial sums. */
function gemmDot(a: readonly number[], b: readonly number[]): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0, k = 0;
  const n = a.length;
  for (; k <= n - 4; k += 4) {
    s0 += a[k] * b[k];
    s1 += a[k + 1] * b[k + 1];
    s2 += a[k + 2] * b[k + 2];
    s3 += a[k + 3] * b[k + 3];
  }
  for (; k < n; k++) s0 += a[k] * b[k];
  return s0 + s1 + s2 + s3;
}

function refine(
  start: number[],
  src: readonly P[],
  dst: readonly P[],
  maxIters: number,
  fusedDot: boolean,
): number[] {
  const lx = 8;
  let x = start.slice();
  let jac: number[][] = [];
  let r = reprojection(x, src, dst, jac);
  let s = normL2Sqr(r);
  let a = mulTransposed(jac);
  const jt = (jm: number[][], vec: number[]) =>
    Array.from({ length: lx }, (_, i) => gemmDot(jm.map((row) => row[i]), vec) * 1);
  let v = jt(jac, r);
  const diag = a.map((row, i) => row[i]);
  const rLo = 0.25, rHi = 0.75;
  let lambda = 1, lc = 0.75, iter = 0;
  for (;;) {
    const ap = a.map((row) => row.slice());
    for (let i = 0; i < lx; i++) ap[i][i] += lambda * diag[i];
    const d = solveSymmetricEig(ap, v);
    const xd = x.map((value, i) => value - d[i]);
    const rd = reprojection(xd, src, dst, null);
    const sd = normL2Sqr(rd);
    const tempD = a.map((row, i) => gemmDot(row, d) * -1 + v[i] * 2);
    const dS = dotOpenCv(d, tempD, fusedDot);
    const ratio = (s - sd) / (Math.abs(dS) > DBL_EPSILON ? dS : 1);
    if (ratio > rHi) {
      lambda *= 0.5;
      if (lambda < lc) lambda = 0;
    } else if (ratio < rLo) {
      const t = dotOpenCv(d, v, fusedDot);
      let nu = (sd - s) / (Math.abs(t) > DBL_EPSILON ? t : 1) + 2;
      nu = Math.min(Math.max(nu, 2), 10);
      if (lambda === 0) {
        const inv = invertSymmetricEig(a);
        let maxval = DBL_EPSILON;
        for (let i = 0; i < lx; i++) maxval = Math.max(maxval, Math.abs(inv[i][i]));
        lambda = lc = 1 / maxval;
        nu *= 0.5;
      }
      lambda *= nu;
    }
    if (sd < s) {
      s = sd;
      x = xd;
      jac = [];
      r = reprojection(x, src, dst, jac);
      a = mulTransposed(jac);
      v = jt(jac, r);
    }
    iter++;
    const dInf = Math.max(...d.map(Math.abs));
    const rInf = Math.max(...r.map(Math.abs));
    if (!(iter < maxIters && dInf >= FLT_EPSILON && rInf >= FLT_EPSILON)) break;
  }
  return x;
}

/**
 * The homography mapping `src` onto `dst` in the least-squares sense, bit-identical to
 * `cv2.findHomography(src, dst, 0)` (OpenCV 4.6): normalised DLT followed by Levenberg–Marquardt
 * refinement of the reprojection error. Coordinates are rounded to float32 first, as OpenCV does.
 *
 * @param src At least 4 source points.
 * @param dst As many destination points.
 * @returns The 3x3 matrix, normalised so that `h[2][2] = 1`.
 * @throws {HomographyError} For fewer than 4 points, unequal counts or points without spread.
 * @example
 * ```ts
 * import { findHomography } from "./homography.ts";
 * const square = [[0, 0], [1, 0], [1, 1], [0, 1], [0.5, 0.5]] as const;
 * const h = findHomography(square, square.map(([x, y]) => [2 * x + 3, 2 * y] as const));
 * console.log(h[0][0].toFixed(6), h[0][2].toFixed(6)); // 2.000000 3.000000
 * ```
 */
export function findHomography(
  src: readonly Point[],
  dst: readonly Point[],
  options: HomographyOptions = {},
): Matrix3 {
  if (src.length !== dst.length) {
    throw new HomographyError(
      `findHomography: ${src.length} source points but ${dst.length} destination points`,
    );
  }
  if (src.length < 4) throw new HomographyError(`findHomography: needs at least 4 points, got ${src.length}`);
  const f32 = (p: Point): P => [Math.fround(p[0]), Math.fround(p[1])];
  const s = src.map(f32), d = dst.map(f32);
  for (const p of [...s, ...d]) {
    if (!Number.isFinite(p[0]) || !Number.isFinite(p[1])) {
      throw new HomographyError("findHomography: coordinates must be finite numbers");
    }
  }
  const h = runKernel(s, d);
  if (!h) throw new HomographyError("findHomography: the points have no spread along x or y");
  let result = h;
  if (s.length > 4) {
    const refined = refine(h.slice(0, 8), s, d, options.refineIterations ?? 10, options.fusedDot ?? true);
    result = [...refined, h[8]];
  }
  return [
    [result[0], result[1], result[2]],
    [result[3], result[4], result[5]],
    [result[6], result[7], result[8]],
  ];
}

/**
 * Maps a point through a homography (with the perspective division).
 *
 * @example
 * ```ts
 * import { projectPoint } from "./homography.ts";
 * console.log(projectPoint([[2, 0, 1], [0, 2, 0], [0, 0, 1]], [1, 1])); // [ 3, 2 ]
 * ```
 */
export function projectPoint(h: Matrix3, p: Point): [number, number] {
  const w = h[2][0] * p[0] + h[2][1] * p[1] + h[2][2];
  return [(h[0][0] * p[0] + h[0][1] * p[1] + h[0][2]) / w, (h[1][0] * p[0] + h[1][1] * p[1] + h[1][2]) / w];
}
