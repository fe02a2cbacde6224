/**
 * Masking whole training batches on the TensorFlow.js engine — the {@linkcode BatchMasker} that the data
 * pipeline (`lib/data`) is given. Template warps are computed once per template and shift and cached (as
 * 8-bit RGBA for paper mode, premultiplied floats for clean mode); each batch only uploads the cached warps
 * of its rows and blends them with the faces as tensor operations, so masking costs a few element-wise ops.
 *
 * Paper mode blends with the released float64 arithmetic by default (`blend: "exact"`, byte-identical to
 * {@linkcode maskPaperExact}; it reads the batch back to the CPU, which is cheap on CPU engines). With
 * `blend: "engine"` the formula runs in float32 on the engine (for GPUs): the released code's float64
 * results often land a hair below an integer before truncation, so roughly four in ten of the masked bytes
 * come out one level higher (or wrap) there.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { BatchMasker } from "../data/pipeline.ts";
import type { Pixels } from "../data/pixels.ts";
import { arcfaceTemplate } from "../image/geometry.ts";
import type { Rng } from "../util/random.ts";
import {
  cheekPixels,
  LUMA_WEIGHTS,
  prepareTemplate,
  REFERENCE_SKIN_LUMINANCE,
  warpPrepared,
} from "./clean.ts";
import { assertPaperTemplate, blendPaperInPlace, PAPER_FACE_SIZE, paperWarpedTemplate } from "./paper.ts";
import { drawMaskParamsWith, type MaskMode, type MaskParams, PAPER_TEMPLATE_NAME } from "./params.ts";
import { placeTemplate } from "./placement.ts";
import type { MaskTemplate } from "./templates.ts";

/** Options of {@linkcode TensorMasker}. */
export interface TensorMaskerOptions {
  /** `paper` (released compositing, 112x112 faces) or `clean` (the project's templates). */
  mode: MaskMode;
  /** The released RGBA template, required in paper mode. */
  paperTemplate?: Pixels;
  /** Clean-mode templates (at least one). */
  templates?: readonly MaskTemplate[];
  /** Random template shifts, as in training (default true). */
  shift?: boolean;
  /** Clean mode: `palette` (default) or `random` colours. */
  colours?: "palette" | "random";
  /** Clean mode: probability of a fabric pattern on texturable templates (default 0.5). */
  textureProbability?: number;
  /** Clean mode: match mask brightness to the face's cheeks (default true). */
  matchBrightness?: boolean;
  /** Paper mode: `exact` float64 blend on the CPU (default) or `engine` float32 blend on the engine. */
  blend?: "exact" | "engine";
  /** Most warps kept in memory (default 4096; a paper warp is 50 KB, a clean one 200 KB at 112x112). */
  cacheSize?: number;
}

/** Counters of the warp cache. */
export interface TensorMaskerStats {
  /** Warps computed. */
  warps: number;
  /** Rows served from the cache. */
  hits: number;
  /** Warps held now. */
  cached: number;
}

/**
 * Masks NHWC float32 batches (values 0..255) on the active engine; implements `lib/data`'s
 * {@linkcode BatchMasker}.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import "@tensorflow/tfjs-backend-cpu";
 * import { TensorMasker } from "./batch.ts";
 * import { loadTemplateFolder } from "./templates.ts";
 * import { Rng } from "../util/random.ts";
 * const masker = new TensorMasker({ mode: "clean", templates: await loadTemplateFolder() });
 * const faces = tf.fill([2, 112, 112, 3], 128) as tf.Tensor4D;
 * const out = masker.maskBatch(faces, [true, false], new Rng(1));
 * console.log(out.shape); // [ 2, 112, 112, 3 ]
 * tf.dispose([faces, out]);
 * ```
 */
export class TensorMasker implements BatchMasker {
  readonly #options: TensorMaskerOptions;
  readonly #templates: Map<string, MaskTemplate>;
  readonly #cache = new Map<string, Uint8Array | Float32Array>();
  readonly #cacheSize: number;
  readonly #cheekMasks = new Map<string, Float32Array>();
  #warps = 0;
  #hits = 0;

  /**
   * Creates a `TensorMasker`.
   *
   * @param options Mode, templates and draw settings.
   */
  constructor(options: TensorMaskerOptions) {
    this.#options = { ...options };
    this.#templates = new Map((options.templates ?? []).map((t) => [t.name, t]));
    this.#cacheSize = options.cacheSize ?? 4096;
    if (options.mode === "paper") {
      if (!options.paperTemplate) {
        throw new Error("TensorMasker: paper mode needs the released template (paperTemplate)");
      }
      assertPaperTemplate(options.paperTemplate);
    } else if (this.#templates.size === 0) {
      throw new Error("TensorMasker: clean mode needs at least one template");
    }
  }

  /** Warp cache counters. */
  get stats(): TensorMaskerStats {
    return { warps: this.#warps, hits: this.#hits, cached: this.#cache.size };
  }

  /**
   * Draws one row's parameters from `rng` with this masker's settings.
   *
   * @param key Names the row in the returned parameters.
   */
  drawParams(rng: Rng, key = "row"): MaskParams {
    return drawMaskParamsWith(rng, key, {
      seed: 0,
      mode: this.#options.mode,
      templates: [...this.#templates.values()],
      shift: this.#options.shift ?? true,
      colours: this.#options.colours,
      textureProbability: this.#options.textureProbability,
    });
  }

  /**
   * Masks the rows with `masked[i]`, drawing each masked row's parameters from `rng` in row order.
   * Unmasked rows come back bit-identical; `images` itself is returned when no row is masked.
   */
  maskBatch(images: tf.Tensor4D, masked: readonly boolean[], rng: Rng): tf.Tensor4D {
    if (masked.length !== images.shape[0]) {
      throw new RangeError(`maskBatch: ${masked.length} flags for a batch of ${images.shape[0]}`);
    }
    if (!masked.some(Boolean)) return images;
    return this.maskWithParams(images, masked.map((m, i) => (m ? this.drawParams(rng, `row${i}`) : null)));
  }

  /**
   * Masks each row with its parameters (`null` leaves the row unchanged) — for evaluation sets masked from
   * a saved parameters file.
   *
   * @throws {Error} When a row's mode or template does not match this masker, or the image size does not fit.
   */
  maskWithParams(images: tf.Tensor4D, params: readonly (MaskParams | null)[]): tf.Tensor4D {
    const [n, h, w, c] = images.shape;
    if (params.length !== n) {
      throw new RangeError(`maskWithParams: ${params.length} parameter rows for a batch of ${n}`);
    }
    if (c !== 3) throw new RangeError(`maskWithParams: expected RGB images, got ${c} channels`);
    const rows = params.map((p, i) => (p ? i : -1)).filter((i) => i >= 0);
    if (rows.length === 0) return images;
    for (const p of params) {
      if (p && p.mode !== this.#options.mode) {
        throw new Error(`${p.key}: parameters are for ${p.mode} mode, this masker is ${this.#options.mode}`);
      }
    }
    return this.#options.mode === "paper"
      ? this.#paper(images, params, h, w)
      : this.#clean(images, params, h, w);
  }

  /** Computes and caches every shift's warp ahead of training (paper: 1600 warps, about 80 MB). */
  precompute(size = PAPER_FACE_SIZE): void {
    if (this.#options.mode === "paper") {
      for (let rs = -40; rs < 40; rs++) for (let rx = -10; rx < 10; rx++) this.#paperWarp(rx, rs);
      return;
    }
    for (const t of this.#templates.values()) {
      for (let dx = -1; dx <= 1; dx++) {
        for (let dy = -3; dy <= 3; dy++) this.#cleanWarp(t, [dx, dy], null, size, size);
      }
    }
  }

  #remember<T extends Uint8Array | Float32Array>(key: string, make: () => T): T {
    const hit = this.#cache.get(key);
    if (hit) {
      this.#hits++;
      this.#cache.delete(key); // move to the back: least recently used leaves first
      this.#cache.set(key, hit);
      return hit as T;
    }
    const value = make();
    this.#warps++;
    this.#cache.set(key, value);
    while (this.#cache.size > this.#cacheSize) this.#cache.delete(this.#cache.keys().next().value as string);
    return value;
  }

  #paperWarp(rx: number, rs: number): Uint8Array {
    return this.#remember(
      `paper:${rx},${rs}`,
      () => paperWarpedTemplate(this.#options.paperTemplate!, rs, rx).data,
    );
  }

  #paper(images: tf.Tensor4D, params: readonly (MaskParams | null)[], h: number, w: number): tf.Tensor4D {
    if (h !== PAPER_FACE_SIZE || w !== PAPER_FACE_SIZE) {
      throw new RangeError(`paper masks need 112x112 aligned faces, got ${w}x${h}`);
    }
    const n = params.length, pixels = h * w, row = pixels * 3;
    const warps = params.map((p) => {
      if (!p) return null;
      if (p.template !== PAPER_TEMPLATE_NAME) {
        throw new Error(`${p.key}: paper mode uses template "${PAPER_TEMPLATE_NAME}"`);
      }
      return this.#paperWarp(p.shift[0], p.shift[1]);
    });
    if ((this.#options.blend ?? "exact") === "exact") {
      const out = Float32Array.from(images.dataSync());
      params.forEach((p, i) => {
        if (p) blendPaperInPlace(out.subarray(i * row, (i + 1) * row), warps[i]!, p.colour);
      });
      return tf.tensor4d(out, [n, h, w, 3]);
    }
    // Engine blend: the per-pixel shading, alpha and coverage planes come from the cached warp (cheap on
    // the CPU); colour, blend, truncation and wrap-around run on the engine.
    const shade = new Float32Array(n * row),
      alpha = new Float32Array(n * row),
      cover = new Float32Array(n * row);
    const colours = new Float32Array(n * 3);
    warps.forEach((warp, i) => {
      if (!warp) return;
      colours.set(params[i]!.colour, i * 3);
      for (let p = 0; p < pixels; p++) {
        const wa = warp[p * 4 + 3];
        if (wa === 0) continue;
        const tk = (wa / 255.0) * 100.0;
        const o = i * row + p * 3;
        for (let c = 0; c < 3; c++) {
          shade[o + c] = 255.0 * (1.0 - ((warp[p * 4 + 2 - c] / 255.0) * 100.0 + tk) / 100.0);
          alpha[o + c] = wa / 255.0;
          cover[o + c] = 1;
        }
      }
    });
    return tf.tidy(() => {
      const a = tf.tensor4d(alpha, [n, h, w, 3]);
      const rgb = tf.add(tf.tensor4d(shade, [n, h, w, 3]), tf.tensor4d(colours, [n, 1, 1, 3]));
      const mixed = tf.add(tf.mul(a, rgb), tf.mul(tf.sub(1, a), images));
      const wrapped = tf.mod(tf.mul(tf.sign(mixed), tf.floor(tf.abs(mixed))), 256);
      // cover is 0 or 1: unmasked rows and transparent pixels stay exactly the input.
      return tf.add(images, tf.mul(tf.tensor4d(cover, [n, h, w, 3]), tf.sub(wrapped, images))) as tf.Tensor4D;
    });
  }

  #cleanWarp(
    template: MaskTemplate,
    shift: readonly [number, number],
    params: MaskParams | null,
    h: number,
    w: number,
  ): Float32Array {
    const textured = params?.texture && template.texturable ? params.texture : null;
    const key = `clean:${template.name}:${w}x${h}:${shift[0]},${shift[1]}` +
      (textured ? `:${JSON.stringify(textured)}:${params!.colour.join(",")}` : "");
    return this.#remember(key, () => {
      if (w !== h || w % 112 !== 0) {
        throw new RangeError(`clean batch masks need aligned square faces (112, 224, …), got ${w}x${h}`);
      }
      const { matrix } = placeTemplate(template, arcfaceTemplate(w), shift);
      // Untextured colourable templates are prepared in white; the row's colour multiplies on the engine.
      const prepared = prepareTemplate(
        template,
        textured ? { colour: params!.colour, texture: textured } : { colour: [255, 255, 255] },
      );
      return warpPrepared(prepared, matrix, w, h);
    });
  }

  #cheekMask(h: number, w: number): Float32Array {
    const key = `${w}x${h}`;
    let mask = this.#cheekMasks.get(key);
    if (!mask) {
      const pixels = cheekPixels(w, h, arcfaceTemplate(w));
      mask = new Float32Array(h * w);
      for (const p of pixels) mask[p] = 1 / pixels.length;
      this.#cheekMasks.set(key, mask);
    }
    return mask;
  }

  #clean(images: tf.Tensor4D, params: readonly (MaskParams | null)[], h: number, w: number): tf.Tensor4D {
    const n = params.length, pixels = h * w, row = pixels * 3;
    const premultiplied = new Float32Array(n * row),
      alpha = new Float32Array(n * row),
      cover = new Float32Array(n * row);
    const tint = new Float32Array(n * 3);
    params.forEach((p, i) => {
      if (!p) return;
      const template = this.#templates.get(p.template);
      if (!template) throw new Error(`${p.key}: unknown mask template "${p.template}"`);
      const warp = this.#cleanWarp(template, p.shift, p, h, w);
      for (let q = 0; q < pixels; q++) {
        const a = warp[q * 4 + 3];
        if (a <= 0) continue;
        const o = i * row + q * 3;
        for (let c = 0; c < 3; c++) {
          premultiplied[o + c] = warp[q * 4 + c];
          alpha[o + c] = a;
          cover[o + c] = 1;
        }
      }
      const baked = (p.texture && template.texturable) || !template.colourable;
      tint.set(baked ? [1, 1, 1] : p.colour.map((v) => v / 255), i * 3);
    });
    const cheeks = this.#options.matchBrightness ?? true ? this.#cheekMask(h, w) : null;
    return tf.tidy(() => {
      const a = tf.tensor4d(alpha, [n, h, w, 3]);
      let k: tf.Tensor = tf.scalar(255);
      if (cheeks) {
        const luma = tf.sum(tf.mul(images, tf.tensor1d(LUMA_WEIGHTS as unknown as number[])), 3);
        const skin = tf.div(tf.sum(tf.mul(luma, tf.tensor3d(cheeks, [1, h, w])), [1, 2]), 255);
        const factor = tf.clipByValue(tf.pow(tf.div(skin, REFERENCE_SKIN_LUMINANCE), 0.7), 0.35, 1.1);
        k = tf.mul(tf.reshape(factor, [n, 1, 1, 1]), 255);
      }
      // The colour multiplies the template's shading here, on the engine.
      const overlay = tf.mul(
        tf.mul(tf.tensor4d(premultiplied, [n, h, w, 3]), tf.tensor4d(tint, [n, 1, 1, 3])),
        k,
      );
      const blended = tf.clipByValue(tf.round(tf.add(tf.mul(images, tf.sub(1, a)), overlay)), 0, 255);
      // cover is 0 or 1: unmasked rows and transparent pixels stay exactly the input.
      return tf.add(images, tf.mul(tf.tensor4d(cover, [n, h, w, 3]), tf.sub(blended, images))) as tf.Tensor4D;
    });
  }
}
