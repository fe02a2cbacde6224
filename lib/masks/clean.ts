/**
 * Clean-mode masks: a template placed on any face from its five landmarks, coloured, optionally textured,
 * shaded by the template's own grey, matched to the face's brightness, and alpha-composited with proper
 * (premultiplied) bilinear resampling — no truncation or wrap-around.
 *
 * @module
 */
import { assertPixels, type Pixels } from "../data/pixels.ts";
import { ARCFACE_112, invertTransform, type Landmarks5, type Matrix3 } from "../image/geometry.ts";
import { placeTemplate } from "./placement.ts";
import type { MaskTemplate, Rgb } from "./templates.ts";
import { type TextureSpec, textureWeight } from "./texture.ts";

/** Options of {@linkcode maskClean}. */
export interface CleanMaskOptions {
  /** Mask colour (default: the template's first colour). Ignored by non-colourable templates. */
  colour?: Rgb;
  /** A fabric pattern (texturable templates only; `null` or absent for none). */
  texture?: TextureSpec | null;
  /** Keep the template's shading (default true); `false` fills the mask with the flat colour. */
  shading?: boolean;
  /** Scale the mask's brightness to the face's skin brightness (default true). */
  matchBrightness?: boolean;
  /** Shift of the mask on the face, in pixels of a 112x112 aligned face (`[dx, dy]`, default `[0, 0]`). */
  shift?: readonly [number, number];
}

/** Template RGBA in floats (straight alpha, 0..1), ready to be warped. */
export interface PreparedTemplate {
  /** Width in template pixels. */
  width: number;
  /** Height in template pixels. */
  height: number;
  /** `width * height * 4` premultiplied RGBA floats in 0..1. */
  premultiplied: Float32Array;
}

/**
 * Skin luminance (sRGB, 0..1) of a well-lit face, the brightness at which a mask is shown as drawn.
 *
 * @example
 * ```ts
 * import { REFERENCE_SKIN_LUMINANCE } from "./clean.ts";
 * console.log(REFERENCE_SKIN_LUMINANCE); // 0.6
 * ```
 */
export const REFERENCE_SKIN_LUMINANCE = 0.6;

const shadingNorms = new WeakMap<MaskTemplate, number>();

/** The grey level that counts as full brightness: the 95th percentile over the opaque pixels. */
function shadingNorm(template: MaskTemplate): number {
  const cached = shadingNorms.get(template);
  if (cached !== undefined) return cached;
  const histogram = new Float64Array(256);
  const d = template.image.data;
  let total = 0;
  for (let i = 0; i < d.length; i += 4) {
    const a = d[i + 3];
    if (a === 0) continue;
    histogram[Math.round((d[i] + d[i + 1] + d[i + 2]) / 3)] += a;
    total += a;
  }
  let acc = 0, level = 255;
  for (let g = 0; g < 256; g++) {
    acc += histogram[g];
    if (acc >= 0.95 * total) {
      level = g;
      break;
    }
  }
  const norm = Math.max(1, level) / 255;
  shadingNorms.set(template, norm);
  return norm;
}

/**
 * Template pixels per pixel of a 112x112 aligned face (from the template's fit to the ArcFace points).
 *
 * @example
 * ```ts
 * import { templateScale } from "./clean.ts";
 * import { defaultTemplateDirectory, loadTemplate } from "./templates.ts";
 * console.log(templateScale(await loadTemplate(`${defaultTemplateDirectory()}/n95.json`)).toFixed(2)); // 4.00
 * ```
 */
export function templateScale(template: MaskTemplate): number {
  const { matrix } = placeTemplate(template, ARCFACE_112);
  return 1 / Math.sqrt(Math.abs(matrix[0][0] * matrix[1][1] - matrix[0][1] * matrix[1][0]));
}

/**
 * Colours, textures and shades a template in its own pixel grid (premultiplied floats).
 *
 * @example
 * ```ts
 * import { loadTemplate, defaultTemplateDirectory } from "./templates.ts";
 * import { prepareTemplate } from "./clean.ts";
 * const t = await loadTemplate(`${defaultTemplateDirectory()}/kn95.json`);
 * console.log(prepareTemplate(t, { colour: [20, 20, 20] }).premultiplied.length === t.image.width * t.image.height * 4); // true
 * ```
 */
export function prepareTemplate(template: MaskTemplate, options: CleanMaskOptions = {}): PreparedTemplate {
  const { width, height, data } = template.image;
  const out = new Float32Array(width * height * 4);
  const colour = options.colour ?? template.colours[0];
  const shading = options.shading ?? true;
  const texture = template.texturable ? options.texture ?? null : null;
  const norm = shadingNorm(template);
  const toFace = texture ? 1 / templateScale(template) : 1;
  for (let y = 0, i = 0; y < height; y++) {
    for (let x = 0; x < width; x++, i += 4) {
      const a = data[i + 3] / 255;
      if (a === 0) continue;
      let r: number, g: number, b: number;
      if (template.colourable) {
        const grey = (data[i] + data[i + 1] + data[i + 2]) / (3 * 255);
        const s = shading ? Math.min(1.15, grey / norm) : 1;
        let cr = colour[0], cg = colour[1], cb = colour[2];
        if (texture) {
          const w = textureWeight(texture, x * toFace, y * toFace);
          cr += (texture.colour[0] - cr) * w;
          cg += (texture.colour[1] - cg) * w;
          cb += (texture.colour[2] - cb) * w;
        }
        r = (cr / 255) * s, g = (cg / 255) * s, b = (cb / 255) * s;
      } else {
        r = data[i] / 255, g = data[i + 1] / 255, b = data[i + 2] / 255;
      }
      out[i] = r * a;
      out[i + 1] = g * a;
      out[i + 2] = b * a;
      out[i + 3] = a;
    }
  }
  return { width, height, premultiplied: out };
}

/**
 * Warps a prepared template onto a `width x height` face with float bilinear sampling of the premultiplied
 * values (so edges do not darken); outside the template is transparent.
 *
 * @param matrix Template pixels → face pixels.
 * @returns Premultiplied RGBA floats of the face's size.
 * @example
 * ```ts
 * import { warpPrepared } from "./clean.ts";
 * const one = { width: 1, height: 1, premultiplied: new Float32Array([0.5, 0.5, 0.5, 1]) };
 * console.log(warpPrepared(one, [[1, 0, 0], [0, 1, 0], [0, 0, 1]], 1, 1)[3]); // 1
 * ```
 */
export function warpPrepared(
  prepared: PreparedTemplate,
  matrix: Matrix3,
  width: number,
  height: number,
): Float32Array {
  const inv = invertTransform(matrix);
  const { width: tw, height: th, premultiplied: src } = prepared;
  const out = new Float32Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const w = inv[2][0] * x + inv[2][1] * y + inv[2][2];
      if (!(w > 0)) continue;
      const u = (inv[0][0] * x + inv[0][1] * y + inv[0][2]) / w;
      const v = (inv[1][0] * x + inv[1][1] * y + inv[1][2]) / w;
      if (u <= -1 || v <= -1 || u >= tw || v >= th) continue;
      const u0 = Math.floor(u), v0 = Math.floor(v);
      const fu = u - u0, fv = v - v0;
      const o = (y * width + x) * 4;
      for (let k = 0; k < 4; k++) {
        const tap = (
          uu: number,
          vv: number,
        ) => (uu >= 0 && vv >= 0 && uu < tw && vv < th ? src[(vv * tw + uu) * 4 + k] : 0);
        out[o + k] = (tap(u0, v0) * (1 - fu) + tap(u0 + 1, v0) * fu) * (1 - fv) +
          (tap(u0, v0 + 1) * (1 - fu) + tap(u0 + 1, v0 + 1) * fu) * fv;
      }
    }
  }
  return out;
}

/**
 * Pixel indices (`y * width + x`) of the cheek discs where skin brightness is measured: radius 0.13 × eye
 * distance, 55 % of the way from each eye to the mouth corner below it, pushed outward by 0.12 × eye
 * distance — where the mask will sit, read from the unmasked photo.
 *
 * @example
 * ```ts
 * import { cheekPixels } from "./clean.ts";
 * import { ARCFACE_112 } from "../image/geometry.ts";
 * console.log(cheekPixels(112, 112, ARCFACE_112).length > 50); // true
 * ```
 */
export function cheekPixels(width: number, height: number, landmarks: Landmarks5): number[] {
  const [le, re, , lm, rm] = landmarks;
  const eye = Math.hypot(re[0] - le[0], re[1] - le[1]);
  const radius = Math.max(1, 0.13 * eye);
  const pixels: number[] = [];
  for (const [e, m, side] of [[le, lm, -1], [re, rm, 1]] as const) {
    const cx = e[0] + 0.55 * (m[0] - e[0]) + side * 0.12 * eye;
    const cy = e[1] + 0.55 * (m[1] - e[1]);
    for (let y = Math.floor(cy - radius); y <= Math.ceil(cy + radius); y++) {
      for (let x = Math.floor(cx - radius); x <= Math.ceil(cx + radius); x++) {
        if (x < 0 || y < 0 || x >= width || y >= height) continue;
        if ((x - cx) ** 2 + (y - cy) ** 2 > radius * radius) continue;
        pixels.push(y * width + x);
      }
    }
  }
  return pixels;
}

/**
 * Rec. 709 luma weights, applied to sRGB values.
 *
 * @example
 * ```ts
 * import { LUMA_WEIGHTS } from "./clean.ts";
 * const [r, g, b] = [200, 150, 120];
 * console.log(((LUMA_WEIGHTS[0] * r + LUMA_WEIGHTS[1] * g + LUMA_WEIGHTS[2] * b) / 255).toFixed(3)); // 0.621
 * ```
 */
export const LUMA_WEIGHTS = [0.2126, 0.7152, 0.0722] as const;

/**
 * Mean luminance (sRGB, 0..1) of the face's cheeks ({@linkcode cheekPixels}), from the landmarks.
 *
 * @example
 * ```ts
 * import { skinLuminance } from "./clean.ts";
 * import { ARCFACE_112 } from "../image/geometry.ts";
 * const grey = { width: 112, height: 112, channels: 3 as const, data: new Uint8Array(112 * 112 * 3).fill(153) };
 * console.log(skinLuminance(grey, ARCFACE_112).toFixed(2)); // 0.60
 * ```
 */
export function skinLuminance(face: Pixels, landmarks: Landmarks5): number {
  const pixels = cheekPixels(face.width, face.height, landmarks);
  if (pixels.length === 0) return REFERENCE_SKIN_LUMINANCE;
  let sum = 0;
  for (const p of pixels) {
    const i = p * face.channels;
    sum += face.channels >= 3
      ? LUMA_WEIGHTS[0] * face.data[i] + LUMA_WEIGHTS[1] * face.data[i + 1] +
        LUMA_WEIGHTS[2] * face.data[i + 2]
      : face.data[i];
  }
  return sum / pixels.length / 255;
}

/**
 * The mask brightness factor for a face of skin luminance `skin`: `(skin / 0.6)^0.7`, kept in
 * [0.35, 1.1] so a mask in a dark photo is dark and one in a bright photo is not blown out.
 *
 * @example
 * ```ts
 * import { brightnessFactor } from "./clean.ts";
 * console.log(brightnessFactor(0.6)); // 1
 * ```
 */
export function brightnessFactor(skin: number): number {
  return Math.min(1.1, Math.max(0.35, (skin / REFERENCE_SKIN_LUMINANCE) ** 0.7));
}

/**
 * Converts a grey or RGBA face to RGB (RGB is returned as is).
 *
 * @example
 * ```ts
 * import { toRgb } from "./clean.ts";
 * console.log(toRgb({ width: 1, height: 1, channels: 1, data: new Uint8Array([7]) }).data); // Uint8Array(3) [ 7, 7, 7 ]
 * ```
 */
export function toRgb(face: Pixels): Pixels {
  if (face.channels === 3) return face;
  const n = face.width * face.height;
  const out = new Uint8Array(n * 3);
  for (let p = 0; p < n; p++) {
    for (let c = 0; c < 3; c++) out[p * 3 + c] = face.data[p * face.channels + (face.channels === 1 ? 0 : c)];
  }
  return { width: face.width, height: face.height, channels: 3, data: out };
}

/**
 * Composites warped premultiplied RGBA over an RGB face: `face·(1 − a) + k·rgb`, rounded to 8 bits.
 *
 * @example
 * ```ts
 * import { compositeOver } from "./clean.ts";
 * const face = { width: 1, height: 1, channels: 3 as const, data: new Uint8Array([200, 100, 0]) };
 * console.log(compositeOver(face, new Float32Array([0.5, 0, 0, 0.5])).data); // Uint8Array(3) [ 228, 50, 0 ]
 * ```
 */
export function compositeOver(face: Pixels, warped: Float32Array, brightness = 1): Pixels {
  const rgb = toRgb(face);
  const n = rgb.width * rgb.height;
  if (warped.length !== n * 4) {
    throw new RangeError(`composite: overlay has ${warped.length / 4} pixels, face ${n}`);
  }
  const out = new Uint8Array(rgb.data);
  for (let p = 0; p < n; p++) {
    const a = warped[p * 4 + 3];
    if (a <= 0) continue;
    for (let c = 0; c < 3; c++) {
      const v = rgb.data[p * 3 + c] * (1 - a) + 255 * brightness * warped[p * 4 + c];
      out[p * 3 + c] = v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
    }
  }
  return { width: rgb.width, height: rgb.height, channels: 3, data: out };
}

/**
 * Masks a face in clean mode: place the template from the landmarks, colour/texture/shade it, match the
 * face's brightness and composite.
 *
 * @param face Any photo (grey, RGB or RGBA), aligned or not.
 * @param template The mask template.
 * @param landmarks The face's five ArcFace landmarks in image pixels (eyes, nose tip, mouth corners).
 * @returns The masked RGB image.
 * @example
 * ```ts
 * import { maskClean } from "./clean.ts";
 * import { loadTemplate, defaultTemplateDirectory } from "./templates.ts";
 * import { ARCFACE_112 } from "../image/geometry.ts";
 * const face = { width: 112, height: 112, channels: 3 as const, data: new Uint8Array(112 * 112 * 3).fill(150) };
 * const surgical = await loadTemplate(`${defaultTemplateDirectory()}/surgical.json`);
 * const masked = maskClean(face, surgical, ARCFACE_112, { colour: [40, 80, 200] });
 * console.log(masked.data[(100 * 112 + 56) * 3 + 2] > masked.data[(100 * 112 + 56) * 3]); // true (blue mask on the chin)
 * ```
 */
export function maskClean(
  face: Pixels,
  template: MaskTemplate,
  landmarks: Landmarks5,
  options: CleanMaskOptions = {},
): Pixels {
  assertPixels(face, "face");
  const { matrix } = placeTemplate(template, landmarks, options.shift ?? [0, 0]);
  const warped = warpPrepared(prepareTemplate(template, options), matrix, face.width, face.height);
  const k = options.matchBrightness ?? true ? brightnessFactor(skinLuminance(face, landmarks)) : 1;
  return compositeOver(face, warped, k);
}
