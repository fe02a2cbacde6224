/**
 * Small dense linear algebra that reproduces, operation for operation, the routines OpenCV 4.6 uses inside
 * `cv2.findHomography`: the symmetric eigen-solver (Eigen 3.4's `SelfAdjointEigenSolver`, which OpenCV
 * builds with), OpenCV's own Jacobi eigen-solver behind `solve`/`invert` with `DECOMP_EIG`, the 3x3
 * cofactor inverse, and `Mat::dot` as compiled with fused multiply-add. Each function follows the
 * original's order of floating-point operations, so results are bit-identical to the library's on x86-64.
 *
 * @module
 */

const DBL_EPSILON = 2.220446049250313e-16;
const DBL_MIN = 2.2250738585072014e-308;
/** 2^27 + 1: Veltkamp's constant for splitting a double into two 26-bit halves. */
const SPLITTER = 134217729;

const bits = new Float64Array(1);
const bitsWords = new Uint32Array(bits.buffer);
const bitsLow = new Int32Array(bits.buffer);

/** Moves `x` one unit in the last place away from zero (`up`) or toward zero. */
function stepUlp(x: number, up: boolean): number {
  bits[0] = x;
  // Little-endian: word 0 holds the low 32 mantissa bits.
  const low = bitsWords[0];
  if (up) {
    if (low === 0xffffffff) {
      bitsWords[0] = 0;
      bitsWords[1] += 1;
    } else bitsWords[0] = low + 1;
  } else {
    if (low === 0) {
      bitsWords[0] = 0xffffffff;
      bitsWords[1] -= 1;
    } else bitsWords[0] = low - 1;
  }
  return bits[0];
}

function isOddMantissa(x: number): boolean {
  bits[0] = x;
  return (bitsLow[0] & 1) === 1;
}

/**
 * `a * b + c` with a single rounding, like C's `fma` (JavaScript has no native one).
 *
 * Dekker's exact product and Knuth's exact sum, then Boldo and Melquiond's round-to-odd step, which makes
 * the final rounding correct. Valid for finite operands whose product neither overflows nor underflows;
 * anything else falls back to the plain expression.
 *
 * @example
 * ```ts
 * import { fusedMultiplyAdd } from "./linalg.ts";
 * const x = 1 + 2 ** -30;
 * console.log(fusedMultiplyAdd(x, x, -1) === 2 ** -29 + 2 ** -60); // true
 * console.log(x * x - 1 === 2 ** -29 + 2 ** -60); // false (the product was rounded first)
 * ```
 */
export function fusedMultiplyAdd(a: number, b: number, c: number): number {
  const p = a * b;
  if (p === 0 || !Number.isFinite(p) || !Number.isFinite(c) || Math.abs(p) < 1e-290) return p + c;
  let t = SPLITTER * a;
  const ah = t - (t - a);
  const al = a - ah;
  t = SPLITTER * b;
  const bh = t - (t - b);
  const bl = b - bh;
  const pe = ((ah * bh - p) + ah * bl + al * bh) + al * bl; // a*b = p + pe exactly
  const th = c + p;
  const bv = th - c;
  const tl = (c - (th - bv)) + (p - bv); // c + p = th + tl exactly
  // Round-to-odd sum of the two small parts.
  let v = tl + pe;
  const vb = v - tl;
  const verr = (tl - (v - vb)) + (pe - vb);
  if (verr !== 0 && v !== 0 && !isOddMantissa(v)) v = stepUlp(v, (v > 0) === (verr > 0));
  return th + v;
}

/**
 * OpenCV's `Mat::dot` for doubles as built for AVX2/AVX-512 machines: the loop unrolled by four, each group
 * of four products contracted into fused multiply-adds (`fma(a3,b3, fma(a2,b2, fma(a0,b0, a1*b1)))`).
 * With `fused = false` it is the plain SSE2 build's arithmetic.
 *
 * @example
 * ```ts
 * import { dotOpenCv } from "./linalg.ts";
 * console.log(dotOpenCv([1, 2, 3], [4, 5, 6])); // 32
 * ```
 */
export function dotOpenCv(a: ArrayLike<number>, b: ArrayLike<number>, fused = true): number {
  const n = a.length;
  let result = 0;
  let i = 0;
  if (fused) {
    for (; i <= n - 4; i += 4) {
      const t = fusedMultiplyAdd(
        a[i + 3],
        b[i + 3],
        fusedMultiplyAdd(a[i + 2], b[i + 2], fusedMultiplyAdd(a[i], b[i], a[i + 1] * b[i + 1])),
      );
      result += t;
    }
    for (; i < n; i++) result = fusedMultiplyAdd(a[i], b[i], result);
  } else {
    for (; i <= n - 4; i += 4) {
      result += a[i] * b[i] + a[i + 1] * b[i + 1] + a[i + 2] * b[i + 2] + a[i + 3] * b[i + 3];
    }
    for (; i < n; i++) result += a[i] * b[i];
  }
  return result;
}

/** Eigenvalues (descending) and eigenvectors (one per row, same order) of a symmetric matrix. */
export interface SymmetricEigen {
  /** Eigenvalues, largest first. */
  values: number[];
  /** `vectors[k]` is the unit eigenvector of `values[k]`. */
  vectors: number[][];
}

/** Eigen's packet reduction of a sum over a vector (SSE2, two lanes, two accumulators). */
function reduxSum(values: readonly number[]): number {
  const size = values.length;
  if (size === 0) return 0;
  const alignedSize2 = Math.floor(size / 4) * 4;
  const alignedSize = Math.floor(size / 2) * 2;
  if (alignedSize === 0) {
    let res = values[0];
    for (let i = 1; i < size; i++) res += values[i];
    return res;
  }
  let p00 = values[0], p01 = values[1];
  if (alignedSize > 2) {
    let p10 = values[2], p11 = values[3];
    for (let i = 4; i < alignedSize2; i += 4) {
      p00 += values[i];
      p01 += values[i + 1];
      p10 += values[i + 2];
      p11 += values[i + 3];
    }
    p00 += p10;
    p01 += p11;
    if (alignedSize > alignedSize2) {
      p00 += values[alignedSize2];
      p01 += values[alignedSize2 + 1];
    }
  }
  let res = p00 + p01;
  for (let i = alignedSize; i < size; i++) res += values[i];
  return res;
}

function eigenHypot(x: number, y: number): number {
  x = Math.abs(x);
  y = Math.abs(y);
  const p = Math.max(x, y);
  if (p === 0) return 0;
  const qp = Math.min(y, x) / p;
  return p * Math.sqrt(1 + qp * qp);
}

function assertSquare(matrix: readonly (readonly number[])[], what: string): number {
  const n = matrix.length;
  if (n === 0 || matrix.some((row) => row.length !== n)) {
    throw new RangeError(`${what}: expected a non-empty square matrix`);
  }
  return n;
}

/**
 * Eigen-decomposition of a symmetric matrix exactly as `cv2.eigen` computes it in OpenCV 4.6 built with
 * Eigen 3.4 (Debian, Ubuntu, conda): scaling to [-1, 1], Householder tridiagonalisation, implicit symmetric
 * QR with Wilkinson shifts, then OpenCV's reordering to descending eigenvalues with eigenvectors as rows.
 * Only the lower triangle is read.
 *
 * @example
 * ```ts
 * import { eigenSymmetric } from "./linalg.ts";
 * const { values, vectors } = eigenSymmetric([[2, 1], [1, 2]]);
 * console.log(values); // [ 3, 1 ] (to rounding)
 * console.log(vectors.length); // 2
 * ```
 */
export function eigenSymmetric(matrix: readonly (readonly number[])[]): SymmetricEigen {
  const n = assertSquare(matrix, "eigenSymmetric");
  if (n === 1) return { values: [matrix[0][0]], vectors: [[1]] };
  // Column-major copy of the lower triangle: m[col][row].
  const m: number[][] = [];
  for (let c = 0; c < n; c++) {
    const col = new Array<number>(n).fill(0);
    for (let r = c; r < n; r++) col[r] = matrix[r][c];
    m.push(col);
  }
  let scale = 0;
  for (let c = 0; c < n; c++) for (let r = c; r < n; r++) scale = Math.max(scale, Math.abs(m[c][r]));
  if (scale === 0) scale = 1;
  for (let c = 0; c < n; c++) for (let r = c; r < n; r++) m[c][r] = m[c][r] / scale;

  // Tridiagonalisation (Eigen's tridiagonalization_inplace).
  const hCoeffs = new Array<number>(n - 1).fill(0);
  for (let i = 0; i < n - 1; i++) {
    const rs = n - i - 1;
    const col = m[i];
    const c0 = col[i + 1];
    const tailSq = rs === 1 ? 0 : reduxSum(col.slice(i + 2).map((t) => t * t));
    let h: number, beta: number;
    if (tailSq <= DBL_MIN) {
      h = 0;
      beta = c0;
      for (let k = i + 2; k < n; k++) col[k] = 0;
    } else {
      beta = Math.sqrt(c0 * c0 + tailSq);
      if (c0 >= 0) beta = -beta;
      const den = c0 - beta;
      for (let k = i + 2; k < n; k++) col[k] = col[k] / den;
      h = (beta - c0) / beta;
    }
    col[i + 1] = 1;
    const v = col.slice(i + 1);
    // hCoeffs.tail = (lower selfadjoint bottom-right block) * (h * v), Eigen's scalar selfadjoint GEMV.
    const res = new Array<number>(rs).fill(0);
    for (let j = 0; j < rs; j++) {
      const a0 = m[i + 1 + j];
      const t1 = h * v[j];
      let t2 = 0;
      res[j] += a0[i + 1 + j] * t1;
      for (let r = j + 1; r < rs; r++) {
        res[r] += a0[i + 1 + r] * t1;
        t2 += a0[i + 1 + r] * v[r];
      }
      res[j] += h * t2;
    }
    const dot = reduxSum(res.map((x, k) => x * v[k]));
    const s = (h * -0.5) * dot;
    for (let k = 0; k < rs; k++) res[k] = res[k] + s * v[k];
    // Rank-2 update of the lower triangle with alpha = -1.
    for (let ii = 0; ii < rs; ii++) {
      const a1 = -v[ii], a2 = -res[ii];
      const target = m[i + 1 + ii];
      for (let r = ii; r < rs; r++) target[i + 1 + r] = target[i + 1 + r] + (a1 * res[r] + a2 * v[r]);
    }
    col[i + 1] = beta;
    for (let k = 0; k < rs; k++) hCoeffs[i + k] = res[k];
    hCoeffs[i] = h;
  }
  const diag: number[] = [];
  const sub: number[] = [];
  for (let k = 0; k < n; k++) diag.push(m[k][k]);
  for (let k = 0; k < n - 1; k++) sub.push(m[k][k + 1]);

  // Q from the Householder vectors, evaluated in place (HouseholderSequence::evalTo, shift 1).
  const q: number[][] = m.map((col) => col.slice());
  for (let c = 0; c < n; c++) {
    q[c][c] = 1;
    for (let r = 0; r < c; r++) q[c][r] = 0;
  }
  for (let k = n - 2; k >= 0; k--) {
    const cs = n - k - 1;
    const off = k + 1;
    const tau = hCoeffs[k];
    const essential = m[k].slice(k + 2);
    if (cs === 1) {
      q[off][off] = q[off][off] * (1 - tau);
    } else if (tau !== 0) {
      const len = cs - 1;
      const tmp = new Array<number>(cs);
      for (let j = 0; j < cs; j++) {
        const column = q[off + j];
        // Row-major GEMV row: two-lane packet accumulation, then the scalar remainder.
        let l0 = 0, l1 = 0, jj = 0;
        for (; jj + 2 <= len; jj += 2) {
          l0 = l0 + column[off + 1 + jj] * essential[jj];
          l1 = l1 + column[off + 2 + jj] * essential[jj + 1];
        }
        let cc = l0 + l1;
        for (; jj < len; jj++) cc += column[off + 1 + jj] * essential[jj];
        tmp[j] = 0 + 1 * cc;
      }
      for (let j = 0; j < cs; j++) tmp[j] = tmp[j] + q[off + j][off];
      for (let j = 0; j < cs; j++) q[off + j][off] = q[off + j][off] - tau * tmp[j];
      const scaled = essential.map((e) => tau * e);
      for (let j = 0; j < cs; j++) {
        const column = q[off + j];
        for (let r = 0; r < len; r++) column[off + 1 + r] = column[off + 1 + r] - tmp[j] * scaled[r];
      }
    }
    for (let r = k + 1; r < n; r++) q[k][r] = 0;
  }

  // Implicit symmetric QR (computeFromTridiagonal_impl with tridiagonal_qr_step).
  const maxIterations = 30;
  let end = n - 1, start = 0, iter = 0;
  const precisionInv = 1 / DBL_EPSILON;
  while (end > 0) {
    for (let i = start; i < end; i++) {
      if (Math.abs(sub[i]) < DBL_MIN) sub[i] = 0;
      else {
        const scaled = precisionInv * sub[i];
        if (scaled * scaled <= Math.abs(diag[i]) + Math.abs(diag[i + 1])) sub[i] = 0;
      }
    }
    while (end > 0 && sub[end - 1] === 0) end--;
    if (end <= 0) break;
    iter++;
    if (iter > maxIterations * n) break;
    start = end - 1;
    while (start > 0 && sub[start - 1] !== 0) start--;

    const td = (diag[end - 1] - diag[end]) * 0.5;
    const e = sub[end - 1];
    let mu = diag[end];
    if (td === 0) mu -= Math.abs(e);
    else if (e !== 0) {
      const e2 = e * e;
      const h = eigenHypot(td, e);
      if (e2 === 0) mu -= e / ((td + (td > 0 ? h : -h)) / e);
      else mu -= e2 / (td + (td > 0 ? h : -h));
    }
    let x = diag[start] - mu;
    let z = sub[start];
    for (let k = start; k < end && z !== 0; k++) {
      let c: number, s: number;
      if (z === 0) {
        c = x < 0 ? -1 : 1;
        s = 0;
      } else if (x === 0) {
        c = 0;
        s = z < 0 ? 1 : -1;
      } else if (Math.abs(x) > Math.abs(z)) {
        const t = z / x;
        let u = Math.sqrt(1 + t * t);
        if (x < 0) u = -u;
        c = 1 / u;
        s = -t * c;
      } else {
        const t = x / z;
        let u = Math.sqrt(1 + t * t);
        if (z < 0) u = -u;
        s = -1 / u;
        c = -t * s;
      }
      const sdk = s * diag[k] + c * sub[k];
      const dkp1 = s * sub[k] + c * diag[k + 1];
      diag[k] = c * (c * diag[k] - s * sub[k]) - s * (c * sub[k] - s * diag[k + 1]);
      diag[k + 1] = s * sdk + c * dkp1;
      sub[k] = c * sdk - s * dkp1;
      if (k > start) sub[k - 1] = c * sub[k - 1] - s * z;
      x = sub[k];
      if (k < end - 1) {
        z = -s * sub[k + 1];
        sub[k + 1] = c * sub[k + 1];
      }
      if (!(c === 1 && s === 0)) {
        const xs = q[k], ys = q[k + 1];
        for (let r = 0; r < n; r++) {
          const xi = xs[r], yi = ys[r];
          xs[r] = c * xi + -s * yi;
          ys[r] = s * xi + c * yi;
        }
      }
    }
  }
  // Ascending sort (first minimum wins), as Eigen does.
  for (let i = 0; i < n - 1; i++) {
    let k = i;
    for (let j = i + 1; j < n; j++) if (diag[j] < diag[k]) k = j;
    if (k !== i) {
      [diag[i], diag[k]] = [diag[k], diag[i]];
      [q[i], q[k]] = [q[k], q[i]];
    }
  }
  const values = diag.map((d) => d * scale).reverse();
  const vectors = q.slice().reverse();
  return { values, vectors };
}

function opencvHypot(a: number, b: number): number {
  a = Math.abs(a);
  b = Math.abs(b);
  if (a > b) {
    b /= a;
    return a * Math.sqrt(1 + b * b);
  }
  if (b > 0) {
    a /= b;
    return b * Math.sqrt(1 + a * a);
  }
  return 0;
}

/**
 * OpenCV's own cyclic-by-pivot Jacobi eigen-solver (`JacobiImpl_`), used by `cv::solve` and `cv::invert`
 * with `DECOMP_EIG`. Eigenvalues descending, eigenvectors as rows.
 *
 * @example
 * ```ts
 * import { jacobiEigen } from "./linalg.ts";
 * console.log(jacobiEigen([[4, 0], [0, 9]]).values); // [ 9, 4 ]
 * ```
 */
export function jacobiEigen(matrix: readonly (readonly number[])[]): SymmetricEigen {
  const n = assertSquare(matrix, "jacobiEigen");
  const a = matrix.map((row) => row.slice());
  const v: number[][] = [];
  for (let i = 0; i < n; i++) {
    const row = new Array<number>(n).fill(0);
    row[i] = 1;
    v.push(row);
  }
  const w = new Array<number>(n).fill(0);
  const indR = new Array<number>(n).fill(0);
  const indC = new Array<number>(n).fill(0);
  const refreshRow = (k: number) => {
    let m = k + 1, mv = Math.abs(a[k][m]);
    for (let i = k + 2; i < n; i++) {
      const val = Math.abs(a[k][i]);
      if (mv < val) mv = val, m = i;
    }
    indR[k] = m;
  };
  const refreshCol = (k: number) => {
    let m = 0, mv = Math.abs(a[0][k]);
    for (let i = 1; i < k; i++) {
      const val = Math.abs(a[i][k]);
      if (mv < val) mv = val, m = i;
    }
    indC[k] = m;
  };
  for (let k = 0; k < n; k++) {
    w[k] = a[k][k];
    if (k < n - 1) refreshRow(k);
    if (k > 0) refreshCol(k);
  }
  if (n > 1) {
    const maxIters = n * n * 30;
    for (let iters = 0; iters < maxIters; iters++) {
      let k = 0, mv = Math.abs(a[0][indR[0]]);
      for (let i = 1; i < n - 1; i++) {
        const val = Math.abs(a[i][indR[i]]);
        if (mv < val) mv = val, k = i;
      }
      let l = indR[k];
      for (let i = 1; i < n; i++) {
        const val = Math.abs(a[indC[i]][i]);
        if (mv < val) mv = val, k = indC[i], l = i;
      }
      const p = a[k][l];
      if (Math.abs(p) <= DBL_EPSILON) break;
      const y = (w[l] - w[k]) * 0.5;
      let t = Math.abs(y) + opencvHypot(p, y);
      let s = opencvHypot(p, t);
      const c = t / s;
      s = p / s;
      t = (p / t) * p;
      if (y < 0) s = -s, t = -t;
      a[k][l] = 0;
      w[k] -= t;
      w[l] += t;
      for (let i = 0; i < k; i++) {
        const a0 = a[i][k], b0 = a[i][l];
        a[i][k] = a0 * c - b0 * s;
        a[i][l] = a0 * s + b0 * c;
      }
      for (let i = k + 1; i < l; i++) {
        const a0 = a[k][i], b0 = a[i][l];
        a[k][i] = a0 * c - b0 * s;
        a[i][l] = a0 * s + b0 * c;
      }
      for (let i = l + 1; i < n; i++) {
        const a0 = a[k][i], b0 = a[l][i];
        a[k][i] = a0 * c - b0 * s;
        a[l][i] = a0 * s + b0 * c;
      }
      for (let i = 0; i < n; i++) {
        const a0 = v[k][i], b0 = v[l][i];
        v[k][i] = a0 * c - b0 * s;
        v[l][i] = a0 * s + b0 * c;
      }
      for (const idx of [k, l]) {
        if (idx < n - 1) refreshRow(idx);
        if (idx > 0) refreshCol(idx);
      }
    }
  }
  for (let k = 0; k < n - 1; k++) {
    let m = k;
    for (let i = k + 1; i < n; i++) if (w[m] < w[i]) m = i;
    if (k !== m) {
      [w[m], w[k]] = [w[k], w[m]];
      [v[m], v[k]] = [v[k], v[m]];
    }
  }
  return { values: w, vectors: v };
}

/** OpenCV's SVD back-substitution skips eigenvalues up to `2·DBL_EPSILON·Σλ` (summed in index order). */
function backSubstitutionThreshold(values: readonly number[]): number {
  let sum = 0;
  for (const value of values) sum += value;
  return sum * DBL_EPSILON * 2;
}

/**
 * `cv::solve(A, b, x, DECOMP_EIG)` for a symmetric `A` and one right-hand side: Jacobi eigenvectors, then
 * the back-substitution that skips eigenvalues below `2·DBL_EPSILON·Σλ`.
 *
 * @example
 * ```ts
 * import { solveSymmetricEig } from "./linalg.ts";
 * console.log(solveSymmetricEig([[2, 0], [0, 4]], [2, 2])); // [ 1, 0.5 ]
 * ```
 */
export function solveSymmetricEig(a: readonly (readonly number[])[], b: readonly number[]): number[] {
  const n = assertSquare(a, "solveSymmetricEig");
  const { values, vectors } = jacobiEigen(a);
  const x = new Array<number>(n).fill(0);
  const threshold = backSubstitutionThreshold(values);
  for (let i = 0; i < n; i++) {
    let wi = values[i];
    if (Math.abs(wi) <= threshold) continue;
    wi = 1 / wi;
    let s = 0;
    for (let j = 0; j < n; j++) s += vectors[i][j] * b[j];
    s *= wi;
    for (let j = 0; j < n; j++) x[j] = x[j] + s * vectors[i][j];
  }
  return x;
}

/**
 * `cv::invert(A, Ainv, DECOMP_EIG)` for a symmetric `A`: `cv::eigen` (Eigen's solver, see
 * {@linkcode eigenSymmetric}) and OpenCV's SVD back-substitution.
 *
 * @example
 * ```ts
 * import { invertSymmetricEig } from "./linalg.ts";
 * console.log(invertSymmetricEig([[4, 0], [0, 2]])); // [ [ 0.25, 0 ], [ 0, 0.5 ] ]
 * ```
 */
export function invertSymmetricEig(a: readonly (readonly number[])[]): number[][] {
  const n = assertSquare(a, "invertSymmetricEig");
  const { values, vectors } = eigenSymmetric(a);
  const x: number[][] = [];
  for (let i = 0; i < n; i++) x.push(new Array<number>(n).fill(0));
  const threshold = backSubstitutionThreshold(values);
  for (let i = 0; i < n; i++) {
    let wi = values[i];
    if (Math.abs(wi) <= threshold) continue;
    wi = 1 / wi;
    const buffer = vectors[i].map((u) => u * wi);
    for (let r = 0; r < n; r++) {
      const s = vectors[i][r];
      for (let j = 0; j < n; j++) x[r][j] = x[r][j] + s * buffer[j];
    }
  }
  return x;
}

/**
 * `cv::invert` of a 3x3 double matrix (`DECOMP_LU`, which OpenCV computes by cofactors for n ≤ 3).
 * Returns `null` for a singular matrix (determinant exactly 0).
 *
 * @example
 * ```ts
 * import { invert3x3 } from "./linalg.ts";
 * console.log(invert3x3([[2, 0, 0], [0, 4, 0], [0, 0, 1]])); // [ [ 0.5, 0, 0 ], [ 0, 0.25, 0 ], [ 0, 0, 1 ] ]
 * ```
 */
export function invert3x3(m: readonly (readonly number[])[]): number[][] | null {
  let d = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
    m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
    m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
  if (d === 0) return null;
  d = 1 / d;
  return [
    [
      (m[1][1] * m[2][2] - m[1][2] * m[2][1]) * d,
      (m[0][2] * m[2][1] - m[0][1] * m[2][2]) * d,
      (m[0][1] * m[1][2] - m[0][2] * m[1][1]) * d,
    ],
    [
      (m[1][2] * m[2][0] - m[1][0] * m[2][2]) * d,
      (m[0][0] * m[2][2] - m[0][2] * m[2][0]) * d,
      (m[0][2] * m[1][0] - m[0][0] * m[1][2]) * d,
    ],
    [
      (m[1][0] * m[2][1] - m[1][1] * m[2][0]) * d,
      (m[0][1] * m[2][0] - m[0][0] * m[2][1]) * d,
      (m[0][0] * m[1][1] - m[0][1] * m[1][0]) * d,
    ],
  ];
}
