/**
 * Reproducible mask parameters: each image's template, colour, shift and texture drawn from a seed and the
 * image's key alone (so the draw does not depend on processing order), saved and loaded as JSON lines. An
 * evaluation set masked from the same parameters file is masked identically on every run and machine.
 *
 * @module
 */
import { writeTextFileAtomic } from "../util/atomic.ts";
import { BadFileError } from "../util/errors.ts";
import { hashSeed, Rng } from "../util/random.ts";
import { drawPaperSettings } from "./paper.ts";
import type { MaskTemplate, Rgb } from "./templates.ts";
import { TEXTURE_PATTERNS, type TexturePattern, type TextureSpec } from "./texture.ts";

/** `paper`: the released MaskInv compositing (byte-exact); `clean`: the project's templates and compositing. */
export type MaskMode = "paper" | "clean";

/**
 * Name under which paper-mode parameters refer to the released MaskInv template.
 *
 * @example
 * ```ts
 * import { PAPER_TEMPLATE_NAME } from "./params.ts";
 * console.log(PAPER_TEMPLATE_NAME); // maskinv
 * ```
 */
export const PAPER_TEMPLATE_NAME = "maskinv";

/**
 * Clean-mode random shift ranges in pixels of a 112x112 aligned face (inclusive integers) — about the
 * on-face size of the paper's template shifts (rs ∈ [−40, 40), rx ∈ [−10, 10) template pixels at ≈ 0.075
 * face pixels per template pixel).
 *
 * @example
 * ```ts
 * import { CLEAN_SHIFT_RANGE } from "./params.ts";
 * console.log(CLEAN_SHIFT_RANGE.dx, CLEAN_SHIFT_RANGE.dy); // [ -1, 1 ] [ -3, 3 ]
 * ```
 */
export const CLEAN_SHIFT_RANGE = { dx: [-1, 1], dy: [-3, 3] } as const;

/**
 * A mask-parameters file (or one of its lines) is missing, not JSON, or holds invalid or out-of-range
 * parameters; the message names the file, the line and the problem.
 *
 * @example
 * ```ts
 * import { MaskParamsError, parseMaskParams } from "./params.ts";
 * try {
 *   parseMaskParams({ key: "a.png" }, "p.jsonl: line 1");
 * } catch (error) {
 *   console.log(error instanceof MaskParamsError); // true
 * }
 * ```
 */
export class MaskParamsError extends BadFileError {
  /**
   * Creates the error.
   *
   * @param source The file (and line).
   * @param reason What is wrong.
   * @param options The underlying error, if any.
   */
  constructor(source: string, reason: string, options?: { cause?: unknown }) {
    super(source, reason, options);
    this.name = "MaskParamsError";
  }
}

/** Largest shift accepted from a parameters file, in pixels (drawn shifts stay within ±40). */
const MAX_SHIFT = 1000;

/** Everything needed to mask one image. */
export interface MaskParams {
  /** The image's key (e.g. its path relative to the dataset root). */
  key: string;
  /** The seed the parameters were drawn with. */
  seed: number;
  /** Compositing mode. */
  mode: MaskMode;
  /** Template name ({@linkcode PAPER_TEMPLATE_NAME} in paper mode). */
  template: string;
  /** Colour: paper mode adds it to the shading (0..149); clean mode multiplies the shading. */
  colour: Rgb;
  /** Paper: `[rx, rs]` in template pixels; clean: `[dx, dy]` in aligned-face pixels. */
  shift: [number, number];
  /** Fabric pattern (clean mode, texturable templates), or `null`. */
  texture: TextureSpec | null;
}

/** How parameters are drawn. */
export interface DrawOptions {
  /** Seed of the whole set. */
  seed: number;
  /** Compositing mode. */
  mode: MaskMode;
  /** Clean mode: templates to choose from (uniformly). */
  templates?: readonly Pick<MaskTemplate, "name" | "colours" | "texturable">[];
  /** Draw random shifts (training); `false` for evaluation masks (no shift). Default false. */
  shift?: boolean;
  /** Clean mode: `palette` picks one of the template's colours (default), `random` any colour. */
  colours?: "palette" | "random";
  /** Clean mode: probability that a texturable template gets a pattern (default 0.5). */
  textureProbability?: number;
}

/**
 * The generator for one image: derived from the set's seed and the image's key only.
 *
 * @example
 * ```ts
 * import { rngForKey } from "./params.ts";
 * console.log(rngForKey(7, "a.png").uniform() === rngForKey(7, "a.png").uniform()); // true
 * ```
 */
export function rngForKey(seed: number, key: string): Rng {
  return new Rng((hashSeed(key) ^ Math.imul(seed >>> 0, 0x9e3779b1)) >>> 0);
}

function randomColour(rng: Rng): Rgb {
  return [rng.int(0, 256), rng.int(0, 256), rng.int(0, 256)];
}

/**
 * Draws one image's parameters from `rng`.
 *
 * @throws {RangeError} In clean mode without templates.
 * @example
 * ```ts
 * import { drawMaskParamsWith } from "./params.ts";
 * import { Rng } from "../util/random.ts";
 * const p = drawMaskParamsWith(new Rng(3), "face.png", { seed: 3, mode: "paper" });
 * console.log(p.template, p.shift); // maskinv [ 0, 0 ]
 * ```
 */
export function drawMaskParamsWith(rng: Rng, key: string, options: DrawOptions): MaskParams {
  const shift = options.shift ?? false;
  if (options.mode === "paper") {
    const s = drawPaperSettings(rng, shift);
    return {
      key,
      seed: options.seed,
      mode: "paper",
      template: PAPER_TEMPLATE_NAME,
      colour: s.colour,
      shift: [s.rx, s.rs],
      texture: null,
    };
  }
  const templates = options.templates ?? [];
  if (templates.length === 0) throw new RangeError("clean-mode parameters need at least one template");
  const template = templates[rng.int(0, templates.length)];
  const colour = options.colours === "random"
    ? randomColour(rng)
    : template.colours[rng.int(0, template.colours.length)];
  const dx = shift ? rng.int(CLEAN_SHIFT_RANGE.dx[0], CLEAN_SHIFT_RANGE.dx[1] + 1) : 0;
  const dy = shift ? rng.int(CLEAN_SHIFT_RANGE.dy[0], CLEAN_SHIFT_RANGE.dy[1] + 1) : 0;
  let texture: TextureSpec | null = null;
  if (template.texturable && rng.chance(options.textureProbability ?? 0.5)) {
    const pattern: TexturePattern = TEXTURE_PATTERNS[rng.int(0, TEXTURE_PATTERNS.length)];
    texture = {
      pattern,
      colour: randomColour(rng),
      period: 4 + rng.int(0, 5),
      angle: pattern === "stripes" ? rng.int(-45, 46) : 0,
      seed: rng.int(0, 1 << 30),
    };
  }
  return {
    key,
    seed: options.seed,
    mode: "clean",
    template: template.name,
    colour,
    shift: [dx, dy],
    texture,
  };
}

/**
 * Draws the parameters of every key; each depends only on `(options.seed, key)`.
 *
 * @example
 * ```ts
 * import { drawMaskParams } from "./params.ts";
 * const a = drawMaskParams(["x.png", "y.png"], { seed: 1, mode: "paper" });
 * const b = drawMaskParams(["y.png"], { seed: 1, mode: "paper" });
 * console.log(JSON.stringify(a[1]) === JSON.stringify(b[0])); // true
 * ```
 */
export function drawMaskParams(keys: readonly string[], options: DrawOptions): MaskParams[] {
  return keys.map((key) => drawMaskParamsWith(rngForKey(options.seed, key), key, options));
}

function isRgb(v: unknown): v is Rgb {
  return Array.isArray(v) && v.length === 3 && v.every((c) => Number.isInteger(c) && c >= 0 && c <= 255);
}

/**
 * Checks one parsed parameters object.
 *
 * @throws {MaskParamsError} Naming `where` and the problem.
 * @example
 * ```ts
 * import { parseMaskParams } from "./params.ts";
 * const p = parseMaskParams({ key: "a", seed: 0, mode: "paper", template: "maskinv", colour: [1, 2, 3], shift: [0, 0], texture: null }, "line 1");
 * console.log(p.colour); // [ 1, 2, 3 ]
 * ```
 */
export function parseMaskParams(value: unknown, where: string): MaskParams {
  const fail = (problem: string): never => {
    throw new MaskParamsError(where, problem);
  };
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail("expected a JSON object");
  const v = value as Record<string, unknown>;
  if (typeof v.key !== "string" || v.key === "") fail(`"key" must be a non-empty string`);
  if (typeof v.seed !== "number" || !Number.isSafeInteger(v.seed)) fail(`"seed" must be an integer`);
  if (v.mode !== "paper" && v.mode !== "clean") fail(`"mode" must be "paper" or "clean"`);
  if (typeof v.template !== "string" || v.template === "") fail(`"template" must name a template`);
  if (!isRgb(v.colour)) fail(`"colour" must be [r, g, b] integers 0..255`);
  if (
    !Array.isArray(v.shift) || v.shift.length !== 2 ||
    !v.shift.every((s) => Number.isInteger(s) && Math.abs(s) <= MAX_SHIFT)
  ) {
    fail(`"shift" must be two integers within ±${MAX_SHIFT}`);
  }
  let texture: TextureSpec | null = null;
  if (v.texture !== null && v.texture !== undefined) {
    const t = v.texture as Record<string, unknown>;
    if (
      typeof t !== "object" || !TEXTURE_PATTERNS.includes(t.pattern as TexturePattern) || !isRgb(t.colour)
    ) {
      fail(`"texture" must be null or {pattern: ${TEXTURE_PATTERNS.join("|")}, colour: [r, g, b], ...}`);
    }
    for (const k of ["period", "angle", "seed"] as const) {
      if (t[k] !== undefined && (typeof t[k] !== "number" || !Number.isFinite(t[k]))) {
        fail(`"texture.${k}" must be a number`);
      }
    }
    if (t.period !== undefined && !((t.period as number) > 0 && (t.period as number) <= 112)) {
      fail(`"texture.period" must be in (0, 112] pixels`);
    }
    texture = t as unknown as TextureSpec;
  }
  return {
    key: v.key as string,
    seed: v.seed as number,
    mode: v.mode as MaskMode,
    template: v.template as string,
    colour: v.colour as Rgb,
    shift: v.shift as [number, number],
    texture,
  };
}

/**
 * Writes parameters as JSON lines (one object per line), atomically.
 *
 * @example
 * ```ts
 * import { drawMaskParams, readMaskParams, writeMaskParams } from "./params.ts";
 * const path = `${await Deno.makeTempDir()}/params.jsonl`;
 * await writeMaskParams(path, drawMaskParams(["a.png"], { seed: 5, mode: "paper" }));
 * console.log((await readMaskParams(path))[0].key); // a.png
 * ```
 */
export async function writeMaskParams(path: string, params: readonly MaskParams[]): Promise<void> {
  await writeTextFileAtomic(
    path,
    params.map((p) => JSON.stringify(p)).join("\n") + (params.length ? "\n" : ""),
  );
}

/**
 * Reads a JSON-lines parameters file (blank lines ignored).
 *
 * @throws {MaskParamsError} Naming the file and line for a missing file, invalid JSON, invalid parameters or
 *   a key listed twice.
 * @example
 * ```ts
 * import { readMaskParams } from "./params.ts";
 * const path = `${await Deno.makeTempDir()}/p.jsonl`;
 * await Deno.writeTextFile(path, '{"key":"a.png","seed":1,"mode":"paper","template":"maskinv","colour":[1,2,3],"shift":[0,0],"texture":null}\n');
 * console.log((await readMaskParams(path)).length); // 1
 * ```
 */
export async function readMaskParams(path: string): Promise<MaskParams[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    const reason = error instanceof Deno.errors.NotFound ? "file not found" : `cannot read (${error})`;
    throw new MaskParamsError(path, reason, { cause: error });
  }
  const out: MaskParams[] = [];
  const seen = new Set<string>();
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === "") return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch (error) {
      throw new MaskParamsError(`${path}: line ${i + 1}`, `not valid JSON (${(error as Error).message})`);
    }
    const p = parseMaskParams(parsed, `${path}: line ${i + 1}`);
    if (seen.has(p.key)) {
      throw new MaskParamsError(`${path}: line ${i + 1}`, `key ${JSON.stringify(p.key)} is listed twice`);
    }
    seen.add(p.key);
    out.push(p);
  });
  return out;
}
