/**
 * Paper-exact synthetic masks: the compositing of the MaskInv paper's released code (Huber et al., FG 2021),
 * reproduced byte for byte on ArcFace-aligned 112x112 faces.
 *
 * The released code reads its template (`mask_img.png`, CC BY-NC 4.0, supplied by the user — never shipped
 * here) with OpenCV, i.e. as BGRA; fits the least-squares homography from five template points to the
 * ArcFace landmarks *without* insightface's +8 px x-offset and with the coordinates truncated to integers;
 * warps bilinearly with a zero border; turns the template's CMYK-like shading into a colour
 * (`255·(1 − (t_c + t_k)/100) + colour`); alpha-blends in float64; and casts to uint8 by truncation toward
 * zero followed by wrap-around modulo 256. Because the template is BGR while faces are RGB, the template's
 * first shading plane (blue in the file) shades the face's red channel. All of this is kept on purpose.
 *
 * @module
 */
import { assertPixels, type Pixels } from "../data/pixels.ts";
import { ARCFACE_112X96, type Matrix3, type Point } from "../image/geometry.ts";
import { readImage } from "../image/codec.ts";
import type { Rng } from "../util/random.ts";
import { findHomography } from "./homography.ts";
import { warpPerspectiveOpenCv } from "./warp_perspective.ts";

/**
 * Side of the aligned faces the paper's masks are made for.
 *
 * @example
 * ```ts
 * import { PAPER_FACE_SIZE } from "./paper.ts";
 * console.log(PAPER_FACE_SIZE); // 112
 * ```
 */
export const PAPER_FACE_SIZE = 112;

/**
 * The five points of the released template (`mask_img.png`, 1627x1085) in template pixels, in the order
 * the released code pairs them with ArcFace landmarks: nose tip, mouth corner, mouth corner, eye, eye.
 *
 * @example
 * ```ts
 * import { MASKINV_TEMPLATE_POINTS } from "./paper.ts";
 * console.log(MASKINV_TEMPLATE_POINTS.length, MASKINV_TEMPLATE_POINTS[0]); // 5 [ 678, 464 ]
 * ```
 */
export const MASKINV_TEMPLATE_POINTS: readonly Point[] = [
  [678, 464],
  [548, 614],
  [991, 664],
  [1009, 64],
  [557, 64],
];

/**
 * ArcFace landmark index paired with each {@linkcode MASKINV_TEMPLATE_POINTS} entry (released code's order).
 *
 * @example
 * ```ts
 * import { MASKINV_LANDMARK_ORDER } from "./paper.ts";
 * import { ARCFACE_112 } from "../image/geometry.ts";
 * // The template's first point, the nose tip, goes to ArcFace landmark 2, the nose.
 * console.log(MASKINV_LANDMARK_ORDER[0], ARCFACE_112[MASKINV_LANDMARK_ORDER[0]]); // 2 [ 56.0252, 71.7366 ]
 * ```
 */
export const MASKINV_LANDMARK_ORDER: readonly number[] = [2, 4, 3, 0, 1];

/**
 * Size of the released template; a different size means a different file.
 *
 * @example
 * ```ts
 * import { MASKINV_TEMPLATE_SIZE } from "./paper.ts";
 * console.log(MASKINV_TEMPLATE_SIZE.width, MASKINV_TEMPLATE_SIZE.height); // 1627 1085
 * ```
 */
export const MASKINV_TEMPLATE_SIZE = { width: 1627, height: 1085 } as const;

/**
 * Training-time random template shift ranges of the released code (half-open, integers).
 *
 * @example
 * ```ts
 * import { PAPER_SHIFT_RANGE } from "./paper.ts";
 * const [low, high] = PAPER_SHIFT_RANGE.rs;
 * console.log(low, high, PAPER_SHIFT_RANGE.rx); // -40 40 [ -10, 10 ]
 * ```
 */
export const PAPER_SHIFT_RANGE = {
  /** Vertical shift `rs ∈ [−40, 40)` (template pixels). Source: released MaskInv training code. */
  rs: [-40, 40],
  /** Horizontal shift `rx ∈ [−10, 10)` (template pixels). Source: released MaskInv training code. */
  rx: [-10, 10],
} as const;

/**
 * Random colour range per channel: `0..149` (`randint(0, 150)`). Source: released MaskInv code.
 *
 * @example
 * ```ts
 * import { PAPER_COLOUR_MAX } from "./paper.ts";
 * console.log(PAPER_COLOUR_MAX); // 149
 * ```
 */
export const PAPER_COLOUR_MAX = 149;

/** Settings of one paper-exact mask. */
export interface PaperMaskSettings {
  /** Colour added to the shading, per face channel (R, G, B), each 0..149 in the paper. */
  colour: readonly [number, number, number];
  /** Vertical template shift (added to the template points' y). */
  rs: number;
  /** Horizontal template shift (added to the template points' x). */
  rx: number;
}

/**
 * The destination points of the released code: ArcFace 112x96 landmarks (no +8 px) truncated to integers,
 * in {@linkcode MASKINV_LANDMARK_ORDER}.
 *
 * @example
 * ```ts
 * import { paperDestinationPoints } from "./paper.ts";
 * console.log(paperDestinationPoints()[0]); // [ 48, 71 ]
 * ```
 */
export function paperDestinationPoints(): Point[] {
  return MASKINV_LANDMARK_ORDER.map((
    k,
  ) => [Math.trunc(ARCFACE_112X96[k][0]), Math.trunc(ARCFACE_112X96[k][1])]);
}

/**
 * The template-to-face homography for a shift, bit-identical to the released code's `cv2.findHomography`.
 *
 * @example
 * ```ts
 * import { paperHomography } from "./paper.ts";
 * console.log(paperHomography(0, 0)[0][2].toFixed(4)); // 115.4653
 * ```
 */
export function paperHomography(rs = 0, rx = 0): Matrix3 {
  const src = MASKINV_TEMPLATE_POINTS.map(([x, y]) => [x + rx, y + rs] as const);
  return findHomography(src, paperDestinationPoints());
}

/**
 * Checks that `template` looks like the released MaskInv template (RGBA, 1627x1085) and returns it.
 *
 * @throws {RangeError} Naming `source` when the image is not 4-channel or has another size.
 * @example
 * ```ts
 * import { assertPaperTemplate } from "./paper.ts";
 * try {
 *   assertPaperTemplate({ width: 2, height: 2, channels: 4, data: new Uint8Array(16) }, "tiny.png");
 * } catch (error) {
 *   console.log((error as Error).message.startsWith("tiny.png")); // true
 * }
 * ```
 */
export function assertPaperTemplate(template: Pixels, source = "mask template"): Pixels {
  assertPixels(template, source);
  if (template.channels !== 4) {
    throw new RangeError(
      `${source}: the MaskInv template must have an alpha channel (RGBA), got ${template.channels} channels`,
    );
  }
  const { width, height } = MASKINV_TEMPLATE_SIZE;
  if (template.width !== width || template.height !== height) {
    throw new RangeError(
      `${source}: expected the released MaskInv template of ${width}x${height}, got ${template.width}x${template.height}`,
    );
  }
  return template;
}

/**
 * Reads the user-supplied MaskInv template (`mask_img.png`) as RGBA and checks it.
 *
 * @throws {Error} Naming the file when it is missing, undecodable or not the released template.
 * @example
 * ```ts ignore
 * import { readPaperTemplate } from "./paper.ts";
 * const template = await readPaperTemplate("mask_img.png");
 * ```
 */
export async function readPaperTemplate(path: string): Promise<Pixels> {
  return assertPaperTemplate(await readImage(path, { channels: 4 }), path);
}

/**
 * The template warped onto the 112x112 face for a shift, channels in the file's RGBA order (byte-exact
 * `cv2.warpPerspective` of the released code).
 *
 * @example
 * ```ts ignore
 * import { paperWarpedTemplate, readPaperTemplate } from "./paper.ts";
 * const warped = paperWarpedTemplate(await readPaperTemplate("mask_img.png"), 0, 0);
 * console.log(warped.width, warped.channels); // 112 4
 * ```
 */
export function paperWarpedTemplate(template: Pixels, rs = 0, rx = 0): Pixels {
  assertPaperTemplate(template);
  return warpPerspectiveOpenCv(template, paperHomography(rs, rx), PAPER_FACE_SIZE, PAPER_FACE_SIZE);
}

let shadeTable: Float64Array | undefined;

/**
 * The released code's shading for every (alpha, shading plane) byte pair, `255·(1 − (t_c + t_k)/100)` with
 * `t = byte/255·100`, evaluated in float64 exactly as released (index `alpha * 256 + plane`).
 *
 * @example
 * ```ts
 * import { paperShadeTable } from "./paper.ts";
 * console.log(paperShadeTable()[255 * 256 + 0]); // 0
 * ```
 */
export function paperShadeTable(): Float64Array {
  if (!shadeTable) {
    shadeTable = new Float64Array(256 * 256);
    for (let wa = 0; wa < 256; wa++) {
      const tk = (wa / 255.0) * 100.0;
      for (let wc = 0; wc < 256; wc++) {
        shadeTable[wa * 256 + wc] = 255.0 * (1.0 - ((wc / 255.0) * 100.0 + tk) / 100.0);
      }
    }
  }
  return shadeTable;
}

/**
 * Blends an already warped template (RGBA, 112x112) into an RGB face with the released code's float64
 * arithmetic, truncation and uint8 wrap-around. Returns a new image.
 *
 * @param face RGB face, 112x112.
 * @param warped RGBA template warped to the face (from {@linkcode paperWarpedTemplate}).
 * @param colour Colour added per face channel.
 * @example
 * ```ts
 * import { blendPaperMask } from "./paper.ts";
 * const face = { width: 1, height: 1, channels: 3 as const, data: new Uint8Array([10, 20, 30]) };
 * const opaqueWhite = { width: 1, height: 1, channels: 4 as const, data: new Uint8Array([0, 0, 0, 255]) };
 * console.log(blendPaperMask(face, opaqueWhite, [0, 0, 0]).data); // Uint8Array(3) [ 0, 0, 0 ]
 * ```
 */
export function blendPaperMask(
  face: Pixels,
  warped: Pixels,
  colour: readonly [number, number, number],
): Pixels {
  assertPixels(face, "face");
  assertPixels(warped, "warped template");
  if (face.channels !== 3) throw new RangeError(`face: expected RGB (3 channels), got ${face.channels}`);
  if (warped.channels !== 4 || warped.width !== face.width || warped.height !== face.height) {
    throw new RangeError(
      `warped template: expected RGBA ${face.width}x${face.height}, got ${warped.width}x${warped.height}x${warped.channels}`,
    );
  }
  const out = new Uint8Array(face.data);
  blendPaperInPlace(out, warped.data, colour);
  return { width: face.width, height: face.height, channels: 3, data: out };
}

/**
 * The released blend in place on one HWC RGB row (bytes or floats in 0..255) with its warped RGBA template:
 * `mixed = α·(shade + colour) + (1 − α)·face`, α = alpha/255, then truncation toward zero and wrap-around
 * modulo 256, all in float64.
 *
 * @example
 * ```ts
 * import { blendPaperInPlace } from "./paper.ts";
 * const face = new Uint8Array([10, 20, 30]);
 * blendPaperInPlace(face, new Uint8Array([0, 0, 0, 0]), [5, 5, 5]);
 * console.log(face); // Uint8Array(3) [ 10, 20, 30 ] (transparent: unchanged)
 * ```
 */
export function blendPaperInPlace(
  face: Uint8Array | Float32Array,
  warped: Uint8Array,
  colour: readonly number[],
): void {
  const table = paperShadeTable();
  const n = face.length / 3;
  const c0 = colour[0], c1 = colour[1], c2 = colour[2];
  for (let p = 0; p < n; p++) {
    const wa = warped[p * 4 + 3];
    if (wa === 0) continue; // alpha 0: (1 - 0) * img + 0 * rgb is exactly img
    const alpha = wa / 255.0;
    const rest = 1 - alpha;
    const row = wa * 256, o = p * 3, q = p * 4;
    // Face channel c takes template plane c of BGRA, i.e. RGBA index 2 - c.
    const m0 = alpha * (table[row + warped[q + 2]] + c0) + rest * face[o];
    const m1 = alpha * (table[row + warped[q + 1]] + c1) + rest * face[o + 1];
    const m2 = alpha * (table[row + warped[q]] + c2) + rest * face[o + 2];
    face[o] = ((Math.trunc(m0) % 256) + 256) % 256;
    face[o + 1] = ((Math.trunc(m1) % 256) + 256) % 256;
    face[o + 2] = ((Math.trunc(m2) % 256) + 256) % 256;
  }
}

/**
 * One paper-exact masked face: warp the template for the shift, then blend with the colour.
 *
 * @param face RGB, ArcFace-aligned 112x112.
 * @param template The released RGBA template (see {@linkcode readPaperTemplate}).
 * @example
 * ```ts ignore
 * import { maskPaperExact, readPaperTemplate } from "./paper.ts";
 * import { readImage } from "../image/codec.ts";
 * const masked = maskPaperExact(await readImage("face.png"), await readPaperTemplate("mask_img.png"), {
 *   colour: [120, 40, 90], rs: 0, rx: 0,
 * });
 * ```
 */
export function maskPaperExact(face: Pixels, template: Pixels, settings: PaperMaskSettings): Pixels {
  if (face.width !== PAPER_FACE_SIZE || face.height !== PAPER_FACE_SIZE) {
    throw new RangeError(
      `face: paper-exact masks need an aligned 112x112 face, got ${face.width}x${face.height}`,
    );
  }
  return blendPaperMask(face, paperWarpedTemplate(template, settings.rs, settings.rx), settings.colour);
}

/**
 * Draws paper settings as the released training code does: colour 0..149 per channel, and — when
 * `shift` is true — `rs ∈ [−40, 40)`, `rx ∈ [−10, 10)` (evaluation masks use no shift).
 *
 * @example
 * ```ts
 * import { drawPaperSettings } from "./paper.ts";
 * import { Rng } from "../util/random.ts";
 * const s = drawPaperSettings(new Rng(1), true);
 * console.log(s.rs >= -40 && s.rs < 40 && s.colour.every((c) => c >= 0 && c <= 149)); // true
 * ```
 */
export function drawPaperSettings(rng: Rng, shift: boolean): PaperMaskSettings {
  const colour: [number, number, number] = [
    rng.int(0, PAPER_COLOUR_MAX + 1),
    rng.int(0, PAPER_COLOUR_MAX + 1),
    rng.int(0, PAPER_COLOUR_MAX + 1),
  ];
  const rs = shift ? rng.int(PAPER_SHIFT_RANGE.rs[0], PAPER_SHIFT_RANGE.rs[1]) : 0;
  const rx = shift ? rng.int(PAPER_SHIFT_RANGE.rx[0], PAPER_SHIFT_RANGE.rx[1]) : 0;
  return { colour, rs, rx };
}
