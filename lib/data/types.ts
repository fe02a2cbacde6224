/**
 * The shapes every dataset in maskinv shares: training sources (labelled images with random access) and
 * verification sets (images plus genuine/impostor pairs). Readers hand out encoded bytes or pixels; decoding
 * is injected by the caller (lib/image implements it), so this layer depends on no codec.
 *
 * @module
 */
import type { Pixels } from "./pixels.ts";

/** An image as a dataset holds it: encoded file bytes (JPEG, PNG, …) or decoded {@linkcode Pixels}. */
export type SampleImage = Uint8Array | Pixels;

/**
 * Decodes encoded image bytes to pixels; `source` names the image in errors. `lib/image`'s `decodeImage`
 * has this shape.
 *
 * @example A decoder for raw grey 2x2 images (real ones come from lib/image)
 * ```ts
 * import type { ImageDecoder } from "./types.ts";
 * const rawGrey: ImageDecoder = (bytes) => Promise.resolve({ width: 2, height: 2, channels: 1, data: bytes });
 * ```
 */
export type ImageDecoder = (bytes: Uint8Array, source: string) => Promise<Pixels>;

/** One labelled training image. */
export interface LabelledSample {
  /** Encoded bytes or pixels. */
  readonly image: SampleImage;
  /** Class index in `[0, classCount)`. */
  readonly label: number;
  /** Names the image in errors and logs, e.g. `"train.rec#17"`. */
  readonly name: string;
}

/**
 * A labelled training set with random access (RecordIO, an image folder, synthetic faces).
 *
 * @example Iterate any training source
 * ```ts
 * import type { TrainingSource } from "./types.ts";
 * async function labels(source: TrainingSource): Promise<number[]> {
 *   const out: number[] = [];
 *   for (let i = 0; i < source.length; i++) out.push((await source.sample(i)).label);
 *   return out;
 * }
 * ```
 */
export interface TrainingSource {
  /** A short name for logs, e.g. `"faces_emore"`. */
  readonly name: string;
  /** Number of images. */
  readonly length: number;
  /** Number of identities (labels run from 0 to `classCount - 1`). */
  readonly classCount: number;
  /** The image at `index` (0-based) with its label. */
  sample(index: number): Promise<LabelledSample>;
}

/** A verification pair: two image indices of a {@linkcode VerificationSet} and whether they share an identity. */
export interface ImagePair {
  /** Index of the first (reference) image. */
  readonly first: number;
  /** Index of the second (probe) image. */
  readonly second: number;
  /** `true` for a genuine (same identity) pair, `false` for an impostor pair. */
  readonly genuine: boolean;
}

/**
 * Images plus verification pairs: insightface `.bin` benchmarks, MFR2, LFW-style folders, synthetic faces.
 *
 * @example Count genuine pairs of any verification set
 * ```ts
 * import type { VerificationSet } from "./types.ts";
 * const genuineCount = (set: VerificationSet) => set.pairs.filter((p) => p.genuine).length;
 * ```
 */
export interface VerificationSet {
  /** A short name for tables, e.g. `"lfw"` or `"mfr2"`. */
  readonly name: string;
  /** Number of distinct images. */
  readonly imageCount: number;
  /** The pairs, in file order. */
  readonly pairs: readonly ImagePair[];
  /** The image at `index` (0-based). */
  image(index: number): Promise<SampleImage>;
  /** Names the image at `index` in errors and logs. */
  imageName(index: number): string;
}

/**
 * Whether a {@linkcode SampleImage} is still encoded (bytes) rather than decoded pixels.
 *
 * @example
 * ```ts
 * import { isEncoded } from "./types.ts";
 * console.log(isEncoded(new Uint8Array([0xff, 0xd8]))); // true
 * ```
 */
export function isEncoded(image: SampleImage): image is Uint8Array {
  return image instanceof Uint8Array;
}

/**
 * Returns decoded pixels for `image`, decoding bytes with `decode` when needed.
 *
 * @throws {Error} Naming `name` when the image is encoded and no decoder was given.
 * @example
 * ```ts
 * import { toPixels } from "./types.ts";
 * const pixels = await toPixels({ width: 1, height: 1, channels: 1, data: new Uint8Array([5]) }, "dot");
 * console.log(pixels.width); // 1
 * ```
 */
export async function toPixels(image: SampleImage, name: string, decode?: ImageDecoder): Promise<Pixels> {
  if (!isEncoded(image)) return image;
  if (!decode) {
    throw new Error(`${name}: the image is encoded (${image.length} bytes) and no decoder was given`);
  }
  return await decode(image, name);
}
