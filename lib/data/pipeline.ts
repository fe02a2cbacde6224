/**
 * The MaskInv training batch pipeline: shuffled (seeded, resumable), batched and prefetched batches of
 * `{ studentView, teacherView, label, masked }`.
 *
 * The teacher sees the unmasked image; the student sees a separate copy of the same image that the injected
 * {@linkcode BatchMasker} masks with probability `p` (0.5 in the paper). The two views are built from two
 * buffers, so no masker can reach the teacher's pixels (the released MaskInv code masked in place and so showed
 * the mask to the teacher too). By default both views share one horizontal flip; `flip: "independent"`
 * reproduces the released code's independent flips.
 *
 * Masking lives in a higher layer (`lib/masks`); this layer only declares the {@linkcode BatchMasker}
 * interface. Decoding of encoded sources is injected the same way ({@linkcode ImageDecoder}).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { hashSeed, Rng, type RngState } from "../util/random.ts";
import type { Pixels } from "./pixels.ts";
import { type ImageDecoder, toPixels, type TrainingSource } from "./types.ts";

/**
 * Puts masks on the rows of a batch; implemented by `lib/masks`.
 *
 * Contract: `images` is float32 NHWC with values in [0, 255]; rows with `masked[i] === false` must come back
 * unchanged; the result is a new tensor of the same shape (or `images` itself when nothing is masked); the
 * masker must not dispose `images` (the pipeline does) and draws all its randomness from `rng`, so batches
 * repeat exactly for a given seed.
 *
 * @example A masker that paints the lower half of masked rows grey
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import type { BatchMasker } from "./pipeline.ts";
 * const lowerHalf: BatchMasker = {
 *   maskBatch(images, masked) {
 *     return tf.tidy(() => {
 *       const [n, h, w] = images.shape;
 *       const rows = tf.reshape(tf.tensor1d(masked.map((m) => (m ? 1 : 0)), "float32"), [n, 1, 1, 1]);
 *       const lower = tf.reshape(tf.tensor1d(Array.from({ length: h }, (_, y) => (y >= h / 2 ? 1 : 0))), [1, h, 1, 1]);
 *       const cover = tf.mul(rows, lower);
 *       return tf.add(tf.mul(images, tf.sub(1, cover)), tf.mul(cover, 128)) as tf.Tensor4D;
 *     });
 *   },
 * };
 * ```
 */
export interface BatchMasker {
  /**
   * Masks the rows of `images` for which `masked` is true and leaves the others unchanged.
   *
   * @param images The student views, float32 `[n, h, w, 3]` in [0, 255].
   * @param masked Which rows to mask (length `n`).
   * @param rng The batch's generator for mask parameters (colour, shift, template).
   * @returns The masked batch.
   */
  maskBatch(images: tf.Tensor4D, masked: readonly boolean[], rng: Rng): tf.Tensor4D;
}

/** How the student and teacher views are flipped horizontally. */
export type FlipMode = "same" | "independent" | "none";

/**
 * Where a pipeline stands; save it with a checkpoint and pass it back as `resume` to continue exactly.
 *
 * @example
 * ```ts
 * import type { PipelineState } from "./pipeline.ts";
 * const saved: PipelineState = JSON.parse('{"epoch":3,"position":512,"rng":[1,2,3,4]}');
 * console.log(saved.epoch); // 3
 * ```
 */
export interface PipelineState {
  /** Epoch of the next batch (0-based). */
  readonly epoch: number;
  /** Position of the next batch in the epoch's shuffled order. */
  readonly position: number;
  /** Generator state at the start of `epoch` (it fixes the epoch's order and every batch's draws). */
  readonly rng: RngState;
}

/** Options of {@linkcode MaskInvPipeline}. */
export interface MaskInvPipelineOptions {
  /** Images per batch. */
  batchSize: number;
  /** Probability that a student view is masked (default 0.5, the paper's value). */
  maskProbability?: number;
  /** Applies the masks; required when `maskProbability > 0`. */
  masker?: BatchMasker;
  /** Decodes encoded samples (e.g. `decodeImage` of `lib/image`); required for encoded sources. */
  decode?: ImageDecoder;
  /** Seed of the order and of every random draw (default 0); ignored when `resume` is given. */
  seed?: number;
  /** Continue from a saved {@linkcode PipelineState}. */
  resume?: PipelineState;
  /** Flip mode (default `"same"`: the teacher sees the student's image, unmasked). */
  flip?: FlipMode;
  /** Probability of a horizontal flip (default 0.5). */
  flipProbability?: number;
  /** Batches prepared ahead (default 2). */
  prefetch?: number;
  /** Drop the last incomplete batch of an epoch (default `true`, as insightface's loader). */
  dropLast?: boolean;
  /** `[height, width]` every image must have (default: the first image's size). */
  imageSize?: readonly [number, number];
}

/** One training batch. Call {@linkcode MaskInvBatch.dispose} when done with it. */
export interface MaskInvBatch {
  /** What the student sees: float32 `[n, h, w, 3]` in [0, 255], row `i` masked when `masked[i]`. */
  readonly studentView: tf.Tensor4D;
  /** What the teacher sees: the same images, never masked. */
  readonly teacherView: tf.Tensor4D;
  /** Identity labels, int32 `[n]`. */
  readonly label: tf.Tensor1D;
  /** Which student views carry a mask. */
  readonly masked: readonly boolean[];
  /** Source indices of the rows. */
  readonly indices: readonly number[];
  /** Whether each student view was flipped. */
  readonly studentFlipped: readonly boolean[];
  /** Whether each teacher view was flipped. */
  readonly teacherFlipped: readonly boolean[];
  /** Epoch of this batch. */
  readonly epoch: number;
  /** Position of this batch's first row in the epoch order. */
  readonly position: number;
  /** Frees the tensors. */
  dispose(): void;
}

interface BatchPlan {
  epoch: number;
  position: number;
  indices: number[];
  seed: number;
}

/**
 * Produces MaskInv training batches from any {@linkcode TrainingSource}.
 *
 * @example
 * ```ts
 * import { MaskInvPipeline } from "./pipeline.ts";
 * import { SyntheticFaces } from "./synthetic.ts";
 * const source = new SyntheticFaces({ identities: 4, imagesPerIdentity: 4, size: 32, pairs: 0 });
 * const pipeline = new MaskInvPipeline(source, { batchSize: 8, maskProbability: 0, seed: 1 });
 * const batch = await pipeline.next();
 * console.log(batch.studentView.shape, batch.label.dtype); // [ 8, 32, 32, 3 ] int32
 * batch.dispose();
 * const saved = pipeline.state; // store with a checkpoint
 * await pipeline.close();
 * ```
 */
export class MaskInvPipeline {
  /** The data. */
  readonly source: TrainingSource;
  /** Images per batch. */
  readonly batchSize: number;
  /** Probability of masking a student view. */
  readonly maskProbability: number;
  /** Flip mode. */
  readonly flip: FlipMode;
  readonly #masker?: BatchMasker;
  readonly #decode?: ImageDecoder;
  readonly #flipProbability: number;
  readonly #prefetch: number;
  readonly #dropLast: boolean;
  #imageSize: readonly [number, number] | null;
  // Planning (runs ahead of consumption by the prefetch depth).
  #planEpoch: number;
  #planPosition: number;
  #planRng: RngState;
  #order: number[] | null = null;
  // Consumption.
  readonly #queue: { plan: BatchPlan; rngAtEpoch: RngState; batch: Promise<MaskInvBatch> }[] = [];
  #state: PipelineState;
  #closed = false;

  /**
   * Creates a `MaskInvPipeline`.
   *
   * @param source Images and labels.
   * @param options Batch size, masking, flips, seed or resume state, prefetch depth.
   */
  constructor(source: TrainingSource, options: MaskInvPipelineOptions) {
    const { batchSize } = options;
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new RangeError(`MaskInvPipeline: batchSize must be a positive integer, got ${batchSize}`);
    }
    if (source.length < 1) throw new RangeError(`MaskInvPipeline: ${source.name} holds no images`);
    this.#dropLast = options.dropLast ?? true;
    if (this.#dropLast && source.length < batchSize) {
      throw new RangeError(
        `MaskInvPipeline: ${source.name} has ${source.length} images, fewer than one batch of ${batchSize}`,
      );
    }
    const p = options.maskProbability ?? 0.5;
    if (!(p >= 0 && p <= 1)) {
      throw new RangeError(`MaskInvPipeline: maskProbability must be in [0, 1], got ${p}`);
    }
    if (p > 0 && !options.masker) {
      throw new Error(`MaskInvPipeline: maskProbability is ${p} but no masker was given`);
    }
    this.source = source;
    this.batchSize = batchSize;
    this.maskProbability = p;
    this.flip = options.flip ?? "same";
    this.#masker = options.masker;
    this.#decode = options.decode;
    this.#flipProbability = options.flipProbability ?? 0.5;
    this.#prefetch = Math.max(0, Math.floor(options.prefetch ?? 2));
    this.#imageSize = options.imageSize ?? null;
    const start: PipelineState = options.resume ??
      { epoch: 0, position: 0, rng: new Rng(hashSeed(`maskinv/pipeline/${options.seed ?? 0}`)).state };
    const validRng = Array.isArray(start.rng) && start.rng.length === 4 &&
      start.rng.every((v) => Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 32);
    if (
      !Number.isInteger(start.epoch) || start.epoch < 0 || !Number.isInteger(start.position) ||
      start.position < 0 || start.position >= source.length || !validRng
    ) {
      throw new RangeError(`MaskInvPipeline: invalid resume state ${JSON.stringify(start)}`);
    }
    this.#state = {
      epoch: start.epoch,
      position: start.position,
      rng: unsigned(start.rng),
    };
    this.#planEpoch = start.epoch;
    this.#planPosition = start.position;
    this.#planRng = this.#state.rng;
  }

  /** Full batches per epoch (plus one partial batch when `dropLast` is false and the size does not divide). */
  get batchesPerEpoch(): number {
    const n = this.source.length, b = this.batchSize;
    return this.#dropLast ? Math.floor(n / b) : Math.ceil(n / b);
  }

  /** The state of the next batch {@linkcode MaskInvPipeline.next} will return; resume from it. */
  get state(): PipelineState {
    return {
      epoch: this.#state.epoch,
      position: this.#state.position,
      rng: [...this.#state.rng] as unknown as RngState,
    };
  }

  /**
   * The next batch (epochs roll over by themselves). Errors of a batch (an unreadable image, a wrong size)
   * surface here, naming the image.
   */
  async next(): Promise<MaskInvBatch> {
    if (this.#closed) throw new Error(`MaskInvPipeline over ${this.source.name} is closed`);
    if (this.#queue.length === 0) this.#enqueue();
    const entry = this.#queue.shift()!;
    while (this.#queue.length < this.#prefetch) this.#enqueue();
    const batch = await entry.batch;
    const end = entry.plan.position + entry.plan.indices.length;
    const n = this.source.length;
    const epochDone = end >= n || (this.#dropLast && end + this.batchSize > n);
    this.#state = epochDone
      ? { epoch: entry.plan.epoch + 1, position: 0, rng: this.#epochAfter(entry.rngAtEpoch) }
      : { epoch: entry.plan.epoch, position: end, rng: entry.rngAtEpoch };
    return batch;
  }

  /** Yields batches forever (or `count` of them). */
  async *batches(count = Infinity): AsyncGenerator<MaskInvBatch> {
    for (let i = 0; i < count; i++) yield await this.next();
  }

  /** Stops prefetching and disposes batches prepared but not taken. */
  async close(): Promise<void> {
    this.#closed = true;
    const pending = this.#queue.splice(0);
    for (const entry of pending) {
      try {
        (await entry.batch).dispose();
      } catch {
        // A failed prefetch holds no tensors.
      }
    }
  }

  /** The shuffled order of an epoch, from the generator state at its start. */
  #epochOrder(rngAtEpoch: RngState): number[] {
    return Rng.fromState(rngAtEpoch).shuffle(Array.from({ length: this.source.length }, (_, i) => i));
  }

  /** The generator state at the start of the epoch after the one that started at `rngAtEpoch`. */
  #epochAfter(rngAtEpoch: RngState): RngState {
    return unsigned(new Rng(hashSeed(`maskinv/epoch/${rngAtEpoch.join(",")}`)).state);
  }

  #enqueue(): void {
    this.#order ??= this.#epochOrder(this.#planRng);
    const n = this.source.length;
    const start = this.#planPosition;
    const end = Math.min(n, start + this.batchSize);
    const plan: BatchPlan = {
      epoch: this.#planEpoch,
      position: start,
      indices: this.#order.slice(start, end),
      seed: hashSeed(`maskinv/batch/${this.#planRng.join(",")}/${start}`),
    };
    const rngAtEpoch = this.#planRng;
    if (end >= n || (this.#dropLast && end + this.batchSize > n)) {
      this.#planEpoch++;
      this.#planPosition = 0;
      this.#planRng = this.#epochAfter(this.#planRng);
      this.#order = null;
    } else {
      this.#planPosition = end;
    }
    const batch = this.#build(plan);
    batch.catch(() => {}); // surfaced by next(); never an unhandled rejection while queued
    this.#queue.push({ plan, rngAtEpoch, batch });
  }

  async #build(plan: BatchPlan): Promise<MaskInvBatch> {
    const rng = new Rng(plan.seed);
    const count = plan.indices.length;
    const masked: boolean[] = [];
    const studentFlipped: boolean[] = [];
    const teacherFlipped: boolean[] = [];
    for (let i = 0; i < count; i++) {
      masked.push(this.maskProbability > 0 && rng.chance(this.maskProbability));
      const flipStudent = this.flip !== "none" && rng.chance(this.#flipProbability);
      const flipTeacher = this.flip === "independent" ? rng.chance(this.#flipProbability) : flipStudent;
      studentFlipped.push(flipStudent);
      teacherFlipped.push(flipTeacher);
    }
    const samples = await Promise.all(plan.indices.map((index) => this.source.sample(index)));
    const pixels = await Promise.all(samples.map((s) => toPixels(s.image, s.name, this.#decode)));
    const [h, w] = this.#imageSize ??= [pixels[0].height, pixels[0].width];
    const plane = h * w * 3;
    const teacher = new Float32Array(count * plane);
    const student = new Float32Array(count * plane);
    const labels = new Int32Array(count);
    pixels.forEach((image, i) => {
      const name = samples[i].name;
      if (image.height !== h || image.width !== w) {
        throw new Error(
          `${name}: image is ${image.width}x${image.height}, the pipeline expects ${w}x${h} ` +
            `(resize in the decoder)`,
        );
      }
      const label = samples[i].label;
      if (!Number.isInteger(label) || label < 0 || label >= this.source.classCount) {
        throw new Error(`${name}: label ${label} outside [0, ${this.source.classCount})`);
      }
      labels[i] = label;
      writeRgb(image, teacher, i * plane, teacherFlipped[i]);
      writeRgb(image, student, i * plane, studentFlipped[i]);
    });
    if (this.#closed) {
      throw new Error(`MaskInvPipeline over ${this.source.name} was closed`);
    }
    const teacherView = tf.tensor4d(teacher, [count, h, w, 3], "float32");
    const label = tf.tensor1d(labels, "int32");
    const base = tf.tensor4d(student, [count, h, w, 3], "float32");
    let studentView = base;
    if (masked.some((m) => m)) {
      try {
        studentView = this.#masker!.maskBatch(base, masked, rng);
      } catch (error) {
        tf.dispose([teacherView, label, base]);
        throw error;
      }
      if (studentView !== base) base.dispose();
    }
    return {
      studentView,
      teacherView,
      label,
      masked,
      indices: plan.indices,
      studentFlipped,
      teacherFlipped,
      epoch: plan.epoch,
      position: plan.position,
      dispose: () => tf.dispose([studentView, teacherView, label]),
    };
  }
}

/** A generator state as four unsigned words (the same state may be written with signed ones). */
function unsigned(state: RngState): RngState {
  return state.map((v) => v >>> 0) as unknown as RngState;
}

/** Writes `image` as float RGB into `out` at `offset`, mirrored when `flip`; grey is replicated, alpha dropped. */
function writeRgb(image: Pixels, out: Float32Array, offset: number, flip: boolean): void {
  const { width, height, channels, data } = image;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const src = (y * width + (flip ? width - 1 - x : x)) * channels;
      const dst = offset + (y * width + x) * 3;
      if (channels === 1) {
        out[dst] = out[dst + 1] = out[dst + 2] = data[src];
      } else {
        out[dst] = data[src];
        out[dst + 1] = data[src + 1];
        out[dst + 2] = data[src + 2];
      }
    }
  }
}
