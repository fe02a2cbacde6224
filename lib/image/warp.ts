/**
 * Geometric warps of {@linkcode Pixels} by affine or projective matrices: bilinear or nearest sampling,
 * zero or replicated border, on the CPU with typed arrays (each output pixel is mapped back into the source),
 * and a batched variant on the TensorFlow.js engine.
 *
 * Two sampling arithmetics are offered. `float` samples at the exact float64 source position with exact
 * bilinear weights. `opencv` reproduces OpenCV's `warpAffine`/`warpPerspective` (`INTER_LINEAR` or
 * `INTER_NEAREST`, `BORDER_CONSTANT` 0 or `BORDER_REPLICATE`) byte for byte: source positions quantised to
 * 1/32 pixel and 15-bit fixed-point weights — what code written against `cv2` expects.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { assertPixels, type Pixels } from "../data/pixels.ts";
import { invertTransform, isAffine, type Matrix2x3, type Matrix3, toMatrix3 } from "./geometry.ts";

/** What source pixels outside the image read as: `zero` (black, transparent) or `replicate` (nearest edge pixel). */
export type BorderMode = "zero" | "replicate";

/** How a source position between pixels is sampled. */
export type Interpolation = "bilinear" | "nearest";

/** Sampling arithmetic: exact `float`, or OpenCV's fixed point (`opencv`, byte-identical to `cv2`). */
export type WarpPrecision = "float" | "opencv";

/** Options of {@linkcode warpImage}. */
export interface WarpOptions {
  /** Output width in pixels. */
  width: number;
  /** Output height in pixels. */
  height: number;
  /** Border handling (default `zero`, as `cv2.warpAffine`'s default `BORDER_CONSTANT` with 0). */
  border?: BorderMode;
  /** Sampling (default `bilinear`). */
  interpolation?: Interpolation;
  /** Arithmetic (default `float`). */
  precision?: WarpPrecision;
  /**
   * When true the matrix maps output positions to source positions (OpenCV's `WARP_INVERSE_MAP`);
   * by default it maps source to output, like the matrices {@linkcode estimateSimilarity} returns.
   */
  inverse?: boolean;
}

/**
 * Warps an image: output pixel `(x, y)` takes the source value at `M⁻¹·(x, y)`, where `M` maps source to
 * output coordinates (pixel centres at integer coordinates). Works on 1, 3 or 4 channels.
 *
 * @param image Source pixels.
 * @param matrix A 2x3 affine or 3x3 affine/projective matrix.
 * @param options Output size, border, interpolation, arithmetic.
 * @returns A new image of `options.width x options.height` with the source's channel count.
 * @throws {RangeError} For a malformed image or matrix, a singular matrix or a non-positive output size.
 * @example Shift an image right by one pixel
 * ```ts
 * import { warpImage } from "./warp.ts";
 * const row = { width: 3, height: 1, channels: 1 as const, data: new Uint8Array([10, 20, 30]) };
 * const moved = warpImage(row, [[1, 0, 1], [0, 1, 0]], { width: 3, height: 1 });
 * console.log(moved.data); // Uint8Array(3) [ 0, 10, 20 ]
 * ```
 */
export function warpImage(image: Pixels, matrix: Matrix2x3 | Matrix3, options: WarpOptions): Pixels {
  assertPixels(image, "image to warp");
  const { width, height } = options;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new RangeError(`warp output size must be positive integers, got ${width}x${height}`);
  }
  const border = options.border ?? "zero";
  const interpolation = options.interpolation ?? "bilinear";
  const precision = options.precision ?? "float";
  const forward = toMatrix3(matrix);
  const out = new Uint8Array(width * height * image.channels);
  const target = { width, height, channels: image.channels, data: out };
  if (precision === "opencv") {
    const inverse = options.inverse ? forward : openCvInverse(forward);
    warpOpenCv(image, inverse, target, border, interpolation);
  } else {
    const inverse = options.inverse ? forward : invertTransform(forward);
    warpFloat(image, inverse, target, border, interpolation);
  }
  return target;
}

/** Output-to-source sampling in float64 coordinates and weights. */
function warpFloat(
  src: Pixels,
  m: Matrix3,
  dst: Pixels,
  border: BorderMode,
  interpolation: Interpolation,
): void {
  const { width: sw, height: sh, channels: cn, data: s } = src;
  const { width: dw, height: dh, data: d } = dst;
  const affine = isAffine(m);
  const [[m00, m01, m02], [m10, m11, m12], [m20, m21, m22]] = m;
  const replicate = border === "replicate";
  const rowStride = sw * cn;
  let o = 0;
  for (let y = 0; y < dh; y++) {
    for (let x = 0; x < dw; x++, o += cn) {
      let sx = m00 * x + m01 * y + m02;
      let sy = m10 * x + m11 * y + m12;
      if (!affine) {
        const w = m20 * x + m21 * y + m22;
        if (w === 0) {
          if (!replicate) continue; // stays zero
          sx = sy = 0;
        } else {
          sx /= w;
          sy /= w;
        }
      }
      if (interpolation === "nearest") {
        let ix = Math.floor(sx + 0.5), iy = Math.floor(sy + 0.5);
        if (ix < 0 || iy < 0 || ix >= sw || iy >= sh) {
          if (!replicate || !Number.isFinite(sx) || !Number.isFinite(sy)) continue;
          ix = ix < 0 ? 0 : ix >= sw ? sw - 1 : ix;
          iy = iy < 0 ? 0 : iy >= sh ? sh - 1 : iy;
        }
        const p = iy * rowStride + ix * cn;
        for (let c = 0; c < cn; c++) d[o + c] = s[p + c];
        continue;
      }
      if (!(sx > -1 && sy > -1 && sx < sw && sy < sh) && !replicate) continue; // all four taps outside
      if (!Number.isFinite(sx) || !Number.isFinite(sy)) continue;
      const x0 = Math.floor(sx), y0 = Math.floor(sy);
      const fx = sx - x0, fy = sy - y0;
      const w00 = (1 - fx) * (1 - fy), w01 = fx * (1 - fy), w10 = (1 - fx) * fy, w11 = fx * fy;
      if (x0 >= 0 && y0 >= 0 && x0 + 1 < sw && y0 + 1 < sh) {
        const p = y0 * rowStride + x0 * cn;
        const q = p + rowStride;
        for (let c = 0; c < cn; c++) {
          const v = s[p + c] * w00 + s[p + cn + c] * w01 + s[q + c] * w10 + s[q + cn + c] * w11;
          d[o + c] = v + 0.5; // Uint8Array truncates: round half up; v is within [0, 255]
        }
        continue;
      }
      // Some taps fall outside: read them as zero or from the clamped edge.
      const xa = clampOrMinus(x0, sw, replicate), xb = clampOrMinus(x0 + 1, sw, replicate);
      const ya = clampOrMinus(y0, sh, replicate), yb = clampOrMinus(y0 + 1, sh, replicate);
      for (let c = 0; c < cn; c++) {
        let v = 0;
        if (ya >= 0) {
          if (xa >= 0) v += s[ya * rowStride + xa * cn + c] * w00;
          if (xb >= 0) v += s[ya * rowStride + xb * cn + c] * w01;
        }
        if (yb >= 0) {
          if (xa >= 0) v += s[yb * rowStride + xa * cn + c] * w10;
          if (xb >= 0) v += s[yb * rowStride + xb * cn + c] * w11;
        }
        d[o + c] = v + 0.5;
      }
    }
  }
}

/** An index inside `[0, size)`: clamped for `replicate`, or -1 when outside for `zero`. */
function clampOrMinus(i: number, size: number, replicate: boolean): number {
  if (i >= 0 && i < size) return i;
  if (!replicate) return -1;
  return i < 0 ? 0 : size - 1;
}

// ---------------------------------------------------------------- OpenCV fixed point
const INTER_BITS = 5;
const INTER_TAB_SIZE = 1 << INTER_BITS;
const AB_BITS = 10;
const AB_SCALE = 1 << AB_BITS;
const COEF_BITS = 15;
const INT_MIN = -2147483648;
const INT_MAX = 2147483647;

/** C's `saturate_cast<int>(double)`: round half to even, saturate to int32. */
function roundToInt(v: number): number {
  if (Number.isNaN(v)) return 0;
  if (v >= INT_MAX) return INT_MAX;
  if (v <= INT_MIN) return INT_MIN;
  const r = Math.round(v);
  // Math.round rounds halves up; lrint rounds them to even.
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** `saturate_cast<short>`. */
function toShort(v: number): number {
  return v > 32767 ? 32767 : v < -32768 ? -32768 : v;
}

/** The inverse OpenCV itself computes before warping (its own formulas, so results agree to the last bit). */
function openCvInverse(m: Matrix3): Matrix3 {
  if (isAffine(m)) {
    const M = [m[0][0], m[0][1], m[0][2], m[1][0], m[1][1], m[1][2]];
    let D = M[0] * M[4] - M[1] * M[3];
    D = D !== 0 ? 1 / D : 0;
    const a11 = M[4] * D, a22 = M[0] * D;
    M[0] = a11;
    M[1] *= -D;
    M[3] *= -D;
    M[4] = a22;
    const b1 = -M[0] * M[2] - M[1] * M[5];
    const b2 = -M[3] * M[2] - M[4] * M[5];
    return [[M[0], M[1], b1], [M[3], M[4], b2], [0, 0, 1]];
  }
  // cv::invert(DECOMP_LU) on 3x3 float64: the explicit cofactor formula of its small-matrix branch.
  const S = (i: number, j: number) => m[i][j];
  let det = S(0, 0) * (S(1, 1) * S(2, 2) - S(1, 2) * S(2, 1)) -
    S(0, 1) * (S(1, 0) * S(2, 2) - S(1, 2) * S(2, 0)) +
    S(0, 2) * (S(1, 0) * S(2, 1) - S(1, 1) * S(2, 0));
  if (det === 0) throw new RangeError(`transform is singular and cannot be inverted: ${JSON.stringify(m)}`);
  det = 1 / det;
  return [
    [
      (S(1, 1) * S(2, 2) - S(1, 2) * S(2, 1)) * det,
      (S(0, 2) * S(2, 1) - S(0, 1) * S(2, 2)) * det,
      (S(0, 1) * S(1, 2) - S(0, 2) * S(1, 1)) * det,
    ],
    [
      (S(1, 2) * S(2, 0) - S(1, 0) * S(2, 2)) * det,
      (S(0, 0) * S(2, 2) - S(0, 2) * S(2, 0)) * det,
      (S(0, 2) * S(1, 0) - S(0, 0) * S(1, 2)) * det,
    ],
    [
      (S(1, 0) * S(2, 1) - S(1, 1) * S(2, 0)) * det,
      (S(0, 1) * S(2, 0) - S(0, 0) * S(2, 1)) * det,
      (S(0, 0) * S(1, 1) - S(0, 1) * S(1, 0)) * det,
    ],
  ];
}

/** Sampling exactly as OpenCV 4's `WarpAffineInvoker`/`WarpPerspectiveInvoker` followed by `remap`. */
function warpOpenCv(
  src: Pixels,
  m: Matrix3,
  dst: Pixels,
  border: BorderMode,
  interpolation: Interpolation,
): void {
  const { width: dw, height: dh } = dst;
  const nearest = interpolation === "nearest";
  // Integer source position per output pixel: (xs, ys) whole pixels, and for bilinear the 1/32 fraction.
  const xs = new Int32Array(dw), ys = new Int32Array(dw), frac = new Int32Array(dw);
  const M = [m[0][0], m[0][1], m[0][2], m[1][0], m[1][1], m[1][2], m[2][0], m[2][1], m[2][2]];
  if (isAffine(m)) {
    const adelta = new Int32Array(dw), bdelta = new Int32Array(dw);
    for (let x = 0; x < dw; x++) {
      adelta[x] = roundToInt(M[0] * x * AB_SCALE);
      bdelta[x] = roundToInt(M[3] * x * AB_SCALE);
    }
    const roundDelta = nearest ? AB_SCALE / 2 : AB_SCALE / INTER_TAB_SIZE / 2;
    for (let y = 0; y < dh; y++) {
      const X0 = roundToInt((M[1] * y + M[2]) * AB_SCALE) + roundDelta;
      const Y0 = roundToInt((M[4] * y + M[5]) * AB_SCALE) + roundDelta;
      for (let x = 0; x < dw; x++) {
        if (nearest) {
          xs[x] = toShort((X0 + adelta[x]) >> AB_BITS);
          ys[x] = toShort((Y0 + bdelta[x]) >> AB_BITS);
        } else {
          const X = (X0 + adelta[x]) >> (AB_BITS - INTER_BITS);
          const Y = (Y0 + bdelta[x]) >> (AB_BITS - INTER_BITS);
          xs[x] = toShort(X >> INTER_BITS);
          ys[x] = toShort(Y >> INTER_BITS);
          frac[x] = (Y & (INTER_TAB_SIZE - 1)) * INTER_TAB_SIZE + (X & (INTER_TAB_SIZE - 1));
        }
      }
      remapRow(src, dst, y, xs, ys, frac, border, nearest);
    }
    return;
  }
  // warpPerspective processes blocks; the block origin enters the float sums, so follow its tiling.
  const BLOCK = 32;
  let bh = Math.min(BLOCK / 2, dh);
  const bw = Math.min(Math.floor((BLOCK * BLOCK) / bh), dw);
  bh = Math.min(Math.floor((BLOCK * BLOCK) / bw), dh);
  void bh; // rows are independent: only the block width changes the arithmetic
  for (let y = 0; y < dh; y++) {
    for (let bx = 0; bx < dw; bx += bw) {
      const X0 = M[0] * bx + M[1] * y + M[2];
      const Y0 = M[3] * bx + M[4] * y + M[5];
      const W0 = M[6] * bx + M[7] * y + M[8];
      const end = Math.min(bx + bw, dw);
      for (let x1 = 0; bx + x1 < end; x1++) {
        let W = W0 + M[6] * x1;
        const x = bx + x1;
        if (nearest) {
          W = W ? 1 / W : 0;
          const fX = Math.max(INT_MIN, Math.min(INT_MAX, (X0 + M[0] * x1) * W));
          const fY = Math.max(INT_MIN, Math.min(INT_MAX, (Y0 + M[3] * x1) * W));
          xs[x] = toShort(roundToInt(fX));
          ys[x] = toShort(roundToInt(fY));
        } else {
          W = W ? INTER_TAB_SIZE / W : 0;
          const fX = Math.max(INT_MIN, Math.min(INT_MAX, (X0 + M[0] * x1) * W));
          const fY = Math.max(INT_MIN, Math.min(INT_MAX, (Y0 + M[3] * x1) * W));
          const X = roundToInt(fX), Y = roundToInt(fY);
          xs[x] = toShort(X >> INTER_BITS);
          ys[x] = toShort(Y >> INTER_BITS);
          frac[x] = (Y & (INTER_TAB_SIZE - 1)) * INTER_TAB_SIZE + (X & (INTER_TAB_SIZE - 1));
        }
      }
    }
    remapRow(src, dst, y, xs, ys, frac, border, nearest);
  }
}

/** OpenCV's `remap` for one output row of 8-bit pixels, given integer positions and 1/32 fractions. */
function remapRow(
  src: Pixels,
  dst: Pixels,
  y: number,
  xs: Int32Array,
  ys: Int32Array,
  frac: Int32Array,
  border: BorderMode,
  nearest: boolean,
): void {
  const { width: sw, height: sh, channels: cn, data: s } = src;
  const d = dst.data;
  const replicate = border === "replicate";
  const rowStride = sw * cn;
  let o = y * dst.width * cn;
  for (let x = 0; x < dst.width; x++, o += cn) {
    const sx = xs[x], sy = ys[x];
    if (nearest) {
      let ix = sx, iy = sy;
      if (ix < 0 || iy < 0 || ix >= sw || iy >= sh) {
        if (!replicate) continue;
        ix = ix < 0 ? 0 : ix >= sw ? sw - 1 : ix;
        iy = iy < 0 ? 0 : iy >= sh ? sh - 1 : iy;
      }
      const p = iy * rowStride + ix * cn;
      for (let c = 0; c < cn; c++) d[o + c] = s[p + c];
      continue;
    }
    // Weights (32 - ty)(32 - tx)·32 etc. are OpenCV's 15-bit table, exact for bilinear.
    const a = frac[x];
    const tx = a & (INTER_TAB_SIZE - 1), ty = a >> INTER_BITS;
    const w00 = (INTER_TAB_SIZE - ty) * (INTER_TAB_SIZE - tx) * 32;
    const w01 = (INTER_TAB_SIZE - ty) * tx * 32;
    const w10 = ty * (INTER_TAB_SIZE - tx) * 32;
    const w11 = ty * tx * 32;
    const half = 1 << (COEF_BITS - 1);
    if (sx >= 0 && sy >= 0 && sx < sw - 1 && sy < sh - 1) {
      const p = sy * rowStride + sx * cn, q = p + rowStride;
      for (let c = 0; c < cn; c++) {
        const v = s[p + c] * w00 + s[p + cn + c] * w01 + s[q + c] * w10 + s[q + cn + c] * w11;
        d[o + c] = (v + half) >> COEF_BITS;
      }
      continue;
    }
    if (!replicate && (sx >= sw || sx + 1 < 0 || sy >= sh || sy + 1 < 0)) continue; // border value 0
    const xa = clampOrMinus(sx, sw, replicate), xb = clampOrMinus(sx + 1, sw, replicate);
    const ya = clampOrMinus(sy, sh, replicate), yb = clampOrMinus(sy + 1, sh, replicate);
    for (let c = 0; c < cn; c++) {
      const v0 = ya >= 0 && xa >= 0 ? s[ya * rowStride + xa * cn + c] : 0;
      const v1 = ya >= 0 && xb >= 0 ? s[ya * rowStride + xb * cn + c] : 0;
      const v2 = yb >= 0 && xa >= 0 ? s[yb * rowStride + xa * cn + c] : 0;
      const v3 = yb >= 0 && xb >= 0 ? s[yb * rowStride + xb * cn + c] : 0;
      const v = v0 * w00 + v1 * w01 + v2 * w10 + v3 * w11;
      d[o + c] = Math.min(255, (v + half) >> COEF_BITS);
    }
  }
}

// ---------------------------------------------------------------- batched, on the engine

/** Options of {@linkcode warpTensor}. */
export interface WarpTensorOptions {
  /** Output width. */
  width: number;
  /** Output height. */
  height: number;
  /** Border handling (default `zero`). */
  border?: BorderMode;
  /** Sampling (default `bilinear`). */
  interpolation?: Interpolation;
}

/**
 * Warps a batch of images on the active TensorFlow.js engine (`tf.image.transform`) — one matrix for the
 * whole batch or one per image, each mapping source to output coordinates as in {@linkcode warpImage}.
 * Float arithmetic; values keep their dtype range (no rounding).
 *
 * @param images `[n, h, w, c]` float32.
 * @param matrices One matrix, or `n` matrices.
 * @param options Output size, border, interpolation.
 * @returns `[n, height, width, c]`; the caller disposes it.
 * @throws {RangeError} When the number of matrices is neither 1 nor `n`.
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { warpTensor } from "./warp.ts";
 * const images = tf.ones([2, 4, 4, 3]) as tf.Tensor4D;
 * const out = warpTensor(images, [[[1, 0, 1], [0, 1, 0]]], { width: 4, height: 4 });
 * console.log(out.shape); // [ 2, 4, 4, 3 ]
 * ```
 */
export function warpTensor(
  images: tf.Tensor4D,
  matrices: readonly (Matrix2x3 | Matrix3)[],
  options: WarpTensorOptions,
): tf.Tensor4D {
  const n = images.shape[0];
  if (matrices.length !== 1 && matrices.length !== n) {
    throw new RangeError(`warpTensor: ${matrices.length} matrices for a batch of ${n} (give 1 or ${n})`);
  }
  const rows = matrices.map((matrix) => {
    const inv = invertTransform(matrix);
    const k = inv[2][2];
    if (k === 0) {
      throw new RangeError(`warpTensor: transform cannot be normalised: ${JSON.stringify(matrix)}`);
    }
    return [inv[0][0], inv[0][1], inv[0][2], inv[1][0], inv[1][1], inv[1][2], inv[2][0], inv[2][1]].map((v) =>
      v / k
    );
  });
  const transform = (batch: tf.Tensor4D, params: number[][]) =>
    tf.image.transform(
      batch,
      tf.tensor2d(params, [params.length, 8], "float32"),
      options.interpolation ?? "bilinear",
      options.border === "replicate" ? "nearest" : "constant",
      0,
      [options.height, options.width],
    );
  return tf.tidy(() => {
    // tfjs-backend-cpu 4.22's Transform kernel returns after the first image of a batch (the rest stay at
    // the fill value), so on that engine each image is warped on its own.
    if (n > 1 && tf.getBackend() === "cpu") {
      const parts = tf.split(images, n, 0) as tf.Tensor4D[];
      return tf.concat(parts.map((part, i) => transform(part, [rows[rows.length === 1 ? 0 : i]])), 0);
    }
    return transform(images, rows);
  });
}
