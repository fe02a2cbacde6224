/**
 * A perspective warp that reproduces `cv2.warpPerspective(src, H, (w, h), flags=INTER_LINEAR,
 * borderMode=BORDER_CONSTANT)` byte for byte on 8-bit images (OpenCV 4.6): the matrix inverted by
 * cofactors, destination pixels processed in OpenCV's tiles (whose row origin enters the rounding), source
 * positions rounded half-to-even to 1/32 pixel (`INTER_BITS = 5`), and 15-bit fixed-point bilinear weights
 * (`INTER_REMAP_COEF_BITS = 15`) with taps outside the source reading 0.
 *
 * @module
 */
import { assertPixels, type Pixels } from "../data/pixels.ts";
import type { Matrix3 } from "../image/geometry.ts";
import { invert3x3 } from "./linalg.ts";

const INTER_BITS = 5;
const INTER_TAB_SIZE = 1 << INTER_BITS;
const COEF_BITS = 15;
const INT_MAX = 2147483647;
const INT_MIN = -2147483648;

/**
 * `cvRound`: nearest integer, ties to even (the SSE conversion OpenCV uses).
 *
 * @example
 * ```ts
 * import { roundHalfEven } from "./warp_perspective.ts";
 * console.log(roundHalfEven(2.5), roundHalfEven(3.5), roundHalfEven(-2.5)); // 2 4 -2
 * ```
 */
export function roundHalfEven(x: number): number {
  const r = Math.round(x); // ties go up
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function saturateShort(v: number): number {
  return v < -32768 ? -32768 : v > 32767 ? 32767 : v;
}

/** The per-pixel source coordinates OpenCV computes: integer part and 5-bit fraction in x and y. */
export interface FixedPointMap {
  /** Output width. */
  width: number;
  /** Output height. */
  height: number;
  /** Integer source column of each output pixel (row-major), saturated to int16. */
  sx: Int16Array;
  /** Integer source row of each output pixel, saturated to int16. */
  sy: Int16Array;
  /** Fractional position `(fy << 5) | fx`, each in 0..31. */
  fraction: Uint16Array;
}

/**
 * The source coordinates `cv2.warpPerspective` samples for each output pixel, in its fixed-point form.
 *
 * @param h Matrix mapping source to output coordinates (as passed to `cv2.warpPerspective`).
 * @throws {RangeError} When `h` is singular or the size is not a positive integer.
 * @example
 * ```ts
 * import { perspectiveMapOpenCv } from "./warp_perspective.ts";
 * const map = perspectiveMapOpenCv([[1, 0, 0.5], [0, 1, 0], [0, 0, 1]], 2, 1);
 * console.log(map.sx, map.fraction); // Int16Array(2) [ -1, 0 ] Uint16Array(2) [ 16, 16 ]
 * ```
 */
export function perspectiveMapOpenCv(h: Matrix3, width: number, height: number): FixedPointMap {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new RangeError(`warp output size must be positive integers, got ${width}x${height}`);
  }
  const inv = invert3x3(h);
  if (!inv) throw new RangeError("warpPerspective: the matrix is singular");
  const m = [...inv[0], ...inv[1], ...inv[2]];
  const sx = new Int16Array(width * height);
  const sy = new Int16Array(width * height);
  const fraction = new Uint16Array(width * height);
  // OpenCV's tiles: 16 rows by up to 64 columns (BLOCK_SZ = 32), one stripe for the whole image.
  const blockSize = 32;
  let bh0 = Math.min(blockSize / 2, height);
  const bw0 = Math.min(Math.floor((blockSize * blockSize) / bh0), width);
  bh0 = Math.min(Math.floor((blockSize * blockSize) / bw0), height);
  for (let y = 0; y < height; y += bh0) {
    for (let x = 0; x < width; x += bw0) {
      const bw = Math.min(bw0, width - x);
      const bh = Math.min(bh0, height - y);
      for (let y1 = 0; y1 < bh; y1++) {
        const x0 = m[0] * x + m[1] * (y + y1) + m[2];
        const y0 = m[3] * x + m[4] * (y + y1) + m[5];
        const w0 = m[6] * x + m[7] * (y + y1) + m[8];
        const rowBase = (y + y1) * width + x;
        for (let x1 = 0; x1 < bw; x1++) {
          let w = w0 + m[6] * x1;
          w = w ? INTER_TAB_SIZE / w : 0;
          const fx = Math.max(INT_MIN, Math.min(INT_MAX, (x0 + m[0] * x1) * w));
          const fy = Math.max(INT_MIN, Math.min(INT_MAX, (y0 + m[3] * x1) * w));
          const ix = roundHalfEven(fx) | 0;
          const iy = roundHalfEven(fy) | 0;
          const o = rowBase + x1;
          sx[o] = saturateShort(ix >> INTER_BITS);
          sy[o] = saturateShort(iy >> INTER_BITS);
          fraction[o] = (iy & (INTER_TAB_SIZE - 1)) * INTER_TAB_SIZE + (ix & (INTER_TAB_SIZE - 1));
        }
      }
    }
  }
  return { width, height, sx, sy, fraction };
}

/**
 * Samples `src` through a {@linkcode FixedPointMap} with OpenCV's fixed-point bilinear weights; taps
 * outside the image read 0 (`BORDER_CONSTANT`).
 *
 * @example
 * ```ts
 * import { perspectiveMapOpenCv, remapOpenCv } from "./warp_perspective.ts";
 * const src = { width: 2, height: 1, channels: 1 as const, data: new Uint8Array([100, 200]) };
 * const map = perspectiveMapOpenCv([[1, 0, -0.5], [0, 1, 0], [0, 0, 1]], 1, 1);
 * console.log(remapOpenCv(src, map).data); // Uint8Array(1) [ 150 ]
 * ```
 */
export function remapOpenCv(src: Pixels, map: FixedPointMap): Pixels {
  assertPixels(src, "image to warp");
  const { width: sw, height: sh, channels: cn, data } = src;
  const { width, height, sx, sy, fraction } = map;
  const out = new Uint8Array(width * height * cn);
  const half = 1 << (COEF_BITS - 1);
  for (let o = 0; o < width * height; o++) {
    const x0 = sx[o], y0 = sy[o];
    if (x0 >= sw || x0 + 1 < 0 || y0 >= sh || y0 + 1 < 0) continue; // all four taps outside: 0
    const ax = fraction[o] & (INTER_TAB_SIZE - 1), ay = fraction[o] >> INTER_BITS;
    // BilinearTab_i: products of (1 - f, f) in 1/32 steps, scaled to 2^15 (exact, sums to 32768).
    const w00 = (INTER_TAB_SIZE - ax) * (INTER_TAB_SIZE - ay) * 32;
    const w01 = ax * (INTER_TAB_SIZE - ay) * 32;
    const w10 = (INTER_TAB_SIZE - ax) * ay * 32;
    const w11 = ax * ay * 32;
    const inX0 = x0 >= 0 && x0 < sw, inX1 = x0 + 1 >= 0 && x0 + 1 < sw;
    const inY0 = y0 >= 0 && y0 < sh, inY1 = y0 + 1 >= 0 && y0 + 1 < sh;
    const p00 = (y0 * sw + x0) * cn, p01 = p00 + cn, p10 = p00 + sw * cn, p11 = p10 + cn;
    const base = o * cn;
    if (inX0 && inX1 && inY0 && inY1) {
      for (let k = 0; k < cn; k++) {
        out[base + k] =
          (data[p00 + k] * w00 + data[p01 + k] * w01 + data[p10 + k] * w10 + data[p11 + k] * w11 + half) >>
          COEF_BITS;
      }
      continue;
    }
    for (let k = 0; k < cn; k++) {
      const v00 = inY0 && inX0 ? data[p00 + k] : 0;
      const v01 = inY0 && inX1 ? data[p01 + k] : 0;
      const v10 = inY1 && inX0 ? data[p10 + k] : 0;
      const v11 = inY1 && inX1 ? data[p11 + k] : 0;
      const v = (v00 * w00 + v01 * w01 + v10 * w10 + v11 * w11 + half) >> COEF_BITS;
      out[base + k] = v > 255 ? 255 : v;
    }
  }
  return { width, height, channels: cn, data: out };
}

/**
 * `cv2.warpPerspective(src, h, (width, height))` with bilinear interpolation and a zero border, byte-exact.
 *
 * @param src 8-bit image with 1, 3 or 4 channels.
 * @param h Matrix mapping source to output coordinates.
 * @example
 * ```ts
 * import { warpPerspectiveOpenCv } from "./warp_perspective.ts";
 * const src = { width: 2, height: 2, channels: 1 as const, data: new Uint8Array([0, 100, 100, 200]) };
 * const half = warpPerspectiveOpenCv(src, [[0.5, 0, 0], [0, 0.5, 0], [0, 0, 1]], 1, 1);
 * console.log(half.data); // Uint8Array(1) [ 0 ]
 * ```
 */
export function warpPerspectiveOpenCv(src: Pixels, h: Matrix3, width: number, height: number): Pixels {
  return remapOpenCv(src, perspectiveMapOpenCv(h, width, height));
}
