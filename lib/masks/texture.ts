/**
 * Procedural fabric patterns for texturable templates: stripes, dots, checks, plaid and melange. A pattern
 * is a weight in [0, 1] at each template position that mixes the mask's colour with a second colour; it is
 * evaluated in template coordinates, so it follows the mask's folds and perspective when warped.
 *
 * @module
 */
import type { Rgb } from "./templates.ts";

/** Pattern kinds. */
export type TexturePattern = "stripes" | "dots" | "checks" | "plaid" | "melange";

/**
 * Every {@linkcode TexturePattern}.
 *
 * @example
 * ```ts
 * import { TEXTURE_PATTERNS } from "./texture.ts";
 * console.log(TEXTURE_PATTERNS.join(", ")); // stripes, dots, checks, plaid, melange
 * ```
 */
export const TEXTURE_PATTERNS: readonly TexturePattern[] = ["stripes", "dots", "checks", "plaid", "melange"];

/** A texture: pattern, second colour, size and orientation. */
export interface TextureSpec {
  /** The pattern. */
  pattern: TexturePattern;
  /** The second colour mixed in where the pattern weight is 1. */
  colour: Rgb;
  /** Pattern period in pixels of a 112x112 aligned face (default 6). */
  period?: number;
  /** Rotation in degrees (default 0). */
  angle?: number;
  /** Seed of the melange noise (default 0). */
  seed?: number;
}

function hash2(x: number, y: number, seed: number): number {
  let h = Math.imul(x | 0, 0x27d4eb2d) ^ Math.imul(y | 0, 0x165667b1) ^ Math.imul(seed | 0, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 15), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return ((h ^ (h >>> 16)) >>> 0) / 4294967296;
}

function smoothNoise(x: number, y: number, seed: number): number {
  const x0 = Math.floor(x), y0 = Math.floor(y);
  const fx = x - x0, fy = y - y0;
  const sx = fx * fx * (3 - 2 * fx), sy = fy * fy * (3 - 2 * fy);
  const a = hash2(x0, y0, seed), b = hash2(x0 + 1, y0, seed);
  const c = hash2(x0, y0 + 1, seed), d = hash2(x0 + 1, y0 + 1, seed);
  return (a * (1 - sx) + b * sx) * (1 - sy) + (c * (1 - sx) + d * sx) * sy;
}

/** Soft step so pattern edges are anti-aliased over about `width` periods. */
function band(t: number, duty: number, width: number): number {
  const f = t - Math.floor(t);
  const rise = Math.min(1, Math.max(0, (f + width / 2) / width));
  const fall = Math.min(1, Math.max(0, (duty - f + width / 2) / width));
  return Math.min(rise, fall);
}

/**
 * The pattern weight at `(u, v)`, given in pixels of a 112x112 aligned face.
 *
 * @example
 * ```ts
 * import { textureWeight } from "./texture.ts";
 * const spec = { pattern: "stripes" as const, colour: [255, 255, 255] as const, period: 4 };
 * console.log(textureWeight(spec, 0, 0.5), textureWeight(spec, 0, 3)); // 1 0
 * ```
 */
export function textureWeight(spec: TextureSpec, u: number, v: number): number {
  const period = spec.period ?? 6;
  const angle = ((spec.angle ?? 0) * Math.PI) / 180;
  const cos = Math.cos(angle), sin = Math.sin(angle);
  const x = (cos * u + sin * v) / period, y = (-sin * u + cos * v) / period;
  const aa = 0.08;
  switch (spec.pattern) {
    case "stripes":
      return band(y, 0.4, aa);
    case "checks":
      return band(x, 0.5, aa) * band(y, 0.5, aa) + (1 - band(x, 0.5, aa)) * (1 - band(y, 0.5, aa));
    case "plaid": {
      const wide = 0.5 * band(x, 0.3, aa) + 0.5 * band(y, 0.3, aa);
      const thin = Math.max(band(x * 2 + 0.35, 0.1, aa * 2), band(y * 2 + 0.35, 0.1, aa * 2));
      return Math.min(1, wide + 0.6 * thin);
    }
    case "dots": {
      const row = Math.floor(y);
      const fx = x + (row % 2 === 0 ? 0 : 0.5);
      const dx = fx - Math.floor(fx) - 0.5, dy = y - row - 0.5;
      const r = Math.hypot(dx, dy);
      return Math.min(1, Math.max(0, (0.22 - r) / 0.06 + 0.5));
    }
    case "melange": {
      const seed = spec.seed ?? 0;
      const n = 0.6 * smoothNoise(x * 3, y * 3, seed) + 0.4 * smoothNoise(x * 9, y * 9, seed + 1);
      return Math.min(1, Math.max(0, (n - 0.35) * 2));
    }
  }
}
