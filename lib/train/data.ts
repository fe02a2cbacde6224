/**
 * Training data and masks described as plain data (what a recipe names), and opened into what the trainer
 * consumes: a training source, its decoder and the batch masker.
 *
 * @module
 */
import { RecordIODataset } from "../data/recordio.ts";
import { SyntheticFaces } from "../data/synthetic.ts";
import { decodeImage } from "../image/codec.ts";
import { TensorMasker } from "../masks/batch.ts";
import { readPaperTemplate } from "../masks/paper.ts";
import { loadTemplateFolder } from "../masks/templates.ts";
import type { LabelledSample, TrainingSource } from "../data/types.ts";
import type { TrainData } from "./trainer.ts";

/** A training set as data. */
export type TrainingDataSpec =
  /** maskinv's embedded synthetic identities (the `"train"` pool). */
  | {
    readonly kind: "synthetic";
    /** Identities (classes). */
    readonly identities: number;
    /** Photos per identity. */
    readonly imagesPerIdentity: number;
    /** Seed of the set. */
    readonly seed: number;
  }
  /** An insightface RecordIO folder (`train.rec`, `train.idx`, `property`), e.g. MS1MV2 `faces_emore`. */
  | {
    readonly kind: "recordio";
    /** The folder; `null` when the user must give it. */
    readonly path: string | null;
  };

/** How training masks are drawn, as data. */
export type MaskSpec =
  /** The project's own templates (surgical, KN95, N95, cloth) from `masks/`. */
  | {
    readonly mode: "clean";
    /** Probability of a fabric pattern on texturable templates (masks' default 0.5 when absent). */
    readonly textureProbability?: number;
  }
  /** The released MaskInv compositing, byte-exact; needs the released template (`mask_img.png`). */
  | {
    readonly mode: "paper";
    /** Path of the template; `null` when the user must give it (it cannot be shipped). */
    readonly template: string | null;
  };

/** Held-out verification data for validation during training, as data. */
export type ValidationSpec =
  /** Pairs of synthetic identities disjoint from training (the `"eval"` pool). */
  | {
    readonly kind: "synthetic";
    /** Identities. */
    readonly identities: number;
    /** Photos per identity. */
    readonly imagesPerIdentity: number;
    /** Pairs (half genuine). */
    readonly pairs: number;
    /** Seed of the set. */
    readonly seed: number;
  }
  /** insightface verification `.bin` files (LFW, AgeDB-30, …); `null` when the user must give them. */
  | {
    readonly kind: "bin";
    /** Paths of the files. */
    readonly paths: readonly string[] | null;
  };

/** Paths a recipe leaves to the user. */
export interface DataLocations {
  /** The RecordIO folder, for `recordio` specs without a path (or to override one). */
  data?: string;
  /** The released mask template, for `paper` masks without a template path (or to override one). */
  maskTemplate?: string;
}

/** An opened training set: what {@linkcode train} takes, plus `close`. */
export interface OpenedTrainingData extends TrainData {
  /** Releases open files. */
  close(): void;
}

/** Options of {@linkcode CachedSource}. */
export interface CachedSourceOptions {
  /** Most bytes of image data kept (default 512 MiB); samples beyond it are read from the source each time. */
  maxBytes?: number;
}

/**
 * A training source that keeps the samples it has handed out in memory, so that epochs after the first skip
 * rendering (synthetic faces) or reading (files). Samples are deterministic, so the data does not change.
 *
 * @example
 * ```ts
 * import { CachedSource } from "./data.ts";
 * import { SyntheticFaces } from "../data/synthetic.ts";
 * const cached = new CachedSource(new SyntheticFaces({ identities: 2, imagesPerIdentity: 2, pairs: 0 }));
 * const first = await cached.sample(3), again = await cached.sample(3);
 * console.log(first === again, cached.cachedBytes); // true 37632
 * ```
 */
export class CachedSource implements TrainingSource {
  /** The wrapped source's name. */
  readonly name: string;
  /** Number of images. */
  readonly length: number;
  /** Number of identities. */
  readonly classCount: number;
  readonly #source: TrainingSource;
  readonly #maxBytes: number;
  readonly #samples = new Map<number, LabelledSample>();
  #bytes = 0;

  /**
   * Creates a `CachedSource`.
   *
   * @param source The source to cache.
   * @param options Memory budget.
   */
  constructor(source: TrainingSource, options: CachedSourceOptions = {}) {
    this.#source = source;
    this.name = source.name;
    this.length = source.length;
    this.classCount = source.classCount;
    this.#maxBytes = options.maxBytes ?? 512 * 2 ** 20;
  }

  /** Bytes of image data held. */
  get cachedBytes(): number {
    return this.#bytes;
  }

  /** The sample at `index`, from memory after its first read. */
  async sample(index: number): Promise<LabelledSample> {
    const hit = this.#samples.get(index);
    if (hit) return hit;
    const sample = await this.#source.sample(index);
    const bytes = sample.image instanceof Uint8Array ? sample.image.length : sample.image.data.length;
    if (this.#bytes + bytes <= this.#maxBytes) {
      this.#samples.set(index, sample);
      this.#bytes += bytes;
    }
    return sample;
  }
}

/**
 * Opens a training set and its masker.
 *
 * @param spec The data.
 * @param masks How masks are drawn; `null` for unmasked training (no masker).
 * @param locations Paths the specs leave open.
 * @throws {Error} When a needed path is missing or a file cannot be opened (naming it).
 * @example
 * ```ts
 * import { openTrainingData } from "./data.ts";
 * const data = await openTrainingData({ kind: "synthetic", identities: 4, imagesPerIdentity: 2, seed: 0 }, { mode: "clean" });
 * console.log(data.source.length, data.masker != null); // 8 true
 * data.close();
 * ```
 */
export async function openTrainingData(
  spec: TrainingDataSpec,
  masks: MaskSpec | null,
  locations: DataLocations = {},
): Promise<OpenedTrainingData> {
  const masker = masks == null ? undefined : await openMasker(masks, locations);
  if (spec.kind === "synthetic") {
    const faces = new SyntheticFaces({
      seed: spec.seed,
      split: "train",
      identities: spec.identities,
      imagesPerIdentity: spec.imagesPerIdentity,
      pairs: 0,
    });
    // Rendering is a large share of a CPU step; the rendered faces of the recipes' sets fit in memory.
    return { source: new CachedSource(faces), masker, close: () => {} };
  }
  const path = locations.data ?? spec.path;
  if (path == null) {
    throw new Error("this recipe trains on a RecordIO folder (e.g. MS1MV2 faces_emore): give its path");
  }
  const source = await RecordIODataset.open(path);
  return { source, masker, decode: (bytes, name) => decodeImage(bytes, name), close: () => source.close() };
}

/**
 * Builds the batch masker a {@linkcode MaskSpec} describes.
 *
 * @throws {Error} When paper masks are asked for without the template, or it cannot be read.
 * @example
 * ```ts
 * import { openMasker } from "./data.ts";
 * const masker = await openMasker({ mode: "clean", textureProbability: 0 });
 * console.log(masker.stats.warps); // 0
 * ```
 */
export async function openMasker(spec: MaskSpec, locations: DataLocations = {}): Promise<TensorMasker> {
  if (spec.mode === "clean") {
    return new TensorMasker({
      mode: "clean",
      templates: await loadTemplateFolder(),
      textureProbability: spec.textureProbability,
    });
  }
  const template = locations.maskTemplate ?? spec.template;
  if (template == null) {
    throw new Error(
      "paper masks need the released MaskInv template (mask_img.png, CC BY-NC, not shipped): give its path",
    );
  }
  return new TensorMasker({ mode: "paper", paperTemplate: await readPaperTemplate(template) });
}
