/**
 * Leaving bad image files out of a dataset — only when asked, and never silently. By default every reader
 * stops at the first bad file with an error naming it; a caller that prefers to go on screens the set first:
 * each image is decoded once, those whose decoding throws a {@linkcode BadFileError} (truncated, corrupt,
 * empty, oversized, not an image) are listed with their reasons, and a set without them is returned. Any
 * other error (a bug, a full disk) still stops the screening.
 *
 * The decoder is injected (lib/image's `decodeImage` in practice), so this layer needs no codec.
 *
 * @module
 */
import { BadFileError } from "../util/errors.ts";
import { Progress, type ProgressOutput } from "../util/progress.ts";
import {
  type ImageDecoder,
  type ImagePair,
  isEncoded,
  type LabelledSample,
  type SampleImage,
  type TrainingSource,
  type VerificationSet,
} from "./types.ts";

/** An image left out, and why. */
export interface SkippedImage {
  /** Its index in the original set. */
  readonly index: number;
  /** Its name (file path or entry). */
  readonly name: string;
  /** The decoder's message. */
  readonly reason: string;
}

/** Options of {@linkcode skipBadImages} and {@linkcode skipBadSamples}. */
export interface SkipBadOptions {
  /** Decodes encoded images; a {@linkcode BadFileError} it throws marks the image as bad. */
  decode: ImageDecoder;
  /** Progress output (default `none`). */
  progress?: ProgressOutput;
}

/** A verification set without its bad images, and the report of what was left out. */
export interface ScreenedVerificationSet {
  /** The same images (same indices), with only the pairs whose two images decode. */
  readonly set: VerificationSet;
  /** Every image left out, in index order. */
  readonly skipped: readonly SkippedImage[];
  /** The pairs left out (indices into the original pair list). */
  readonly droppedPairs: readonly number[];
}

/** A training source without its bad images, and the report of what was left out. */
export interface ScreenedTrainingSource {
  /** The good samples, renumbered from 0 (labels unchanged). */
  readonly source: TrainingSource;
  /** Every image left out, in index order. */
  readonly skipped: readonly SkippedImage[];
}

/** Decodes one image; returns the reason when it is a bad file. */
async function badReason(image: SampleImage, name: string, decode: ImageDecoder): Promise<string | null> {
  if (!isEncoded(image)) return null;
  try {
    await decode(image, name);
    return null;
  } catch (error) {
    if (error instanceof BadFileError) return error.message;
    throw error;
  }
}

/** Reads one image of a set; a file that cannot even be read is reported the same way. */
async function readOrReason<T>(read: () => Promise<T>): Promise<{ value: T } | { reason: string }> {
  try {
    return { value: await read() };
  } catch (error) {
    if (error instanceof BadFileError) return { reason: error.message };
    throw error;
  }
}

/**
 * Decodes every image of a verification set once and returns the set without the pairs that use a bad one.
 *
 * @example
 * ```ts
 * import { skipBadImages } from "./skip_bad.ts";
 * import { BadFileError } from "../util/errors.ts";
 * const set = {
 *   name: "tiny", imageCount: 3,
 *   pairs: [{ first: 0, second: 1, genuine: true }, { first: 0, second: 2, genuine: false }],
 *   image: (i: number) => Promise.resolve(new Uint8Array([i])),
 *   imageName: (i: number) => `img${i}.png`,
 * };
 * const decode = (bytes: Uint8Array, name: string) => {
 *   if (bytes[0] === 2) return Promise.reject(new BadFileError(name, "truncated PNG"));
 *   return Promise.resolve({ width: 1, height: 1, channels: 1 as const, data: bytes });
 * };
 * const screened = await skipBadImages(set, { decode });
 * console.log(screened.set.pairs.length, screened.skipped[0].reason); // 1 img2.png: truncated PNG
 * ```
 */
export async function skipBadImages(
  set: VerificationSet,
  options: SkipBadOptions,
): Promise<ScreenedVerificationSet> {
  const used = new Set<number>();
  for (const pair of set.pairs) used.add(pair.first).add(pair.second);
  const indices = [...used].sort((a, b) => a - b);
  const bar = new Progress({
    total: indices.length,
    label: `check ${set.name}`,
    unit: "img",
    output: options.progress ?? "none",
  });
  const skipped: SkippedImage[] = [];
  for (const index of indices) {
    const name = set.imageName(index);
    const read = await readOrReason(() => set.image(index));
    const reason = "reason" in read ? read.reason : await badReason(read.value, name, options.decode);
    if (reason !== null) skipped.push({ index, name, reason });
    bar.tick(1, { bad: String(skipped.length) });
  }
  bar.finish();
  const bad = new Set(skipped.map((s) => s.index));
  const pairs: ImagePair[] = [];
  const droppedPairs: number[] = [];
  set.pairs.forEach((pair, p) => {
    if (bad.has(pair.first) || bad.has(pair.second)) droppedPairs.push(p);
    else pairs.push(pair);
  });
  return {
    set: {
      name: set.name,
      imageCount: set.imageCount,
      pairs,
      image: (index) => set.image(index),
      imageName: (index) => set.imageName(index),
    },
    skipped,
    droppedPairs,
  };
}

/**
 * Decodes every sample of a training source once and returns a source of the good ones only.
 *
 * @example
 * ```ts
 * import { skipBadSamples } from "./skip_bad.ts";
 * import { BadFileError } from "../util/errors.ts";
 * const source = {
 *   name: "tiny", length: 3, classCount: 2,
 *   sample: (i: number) => Promise.resolve({ image: new Uint8Array([i]), label: i % 2, name: `img${i}.jpg` }),
 * };
 * const decode = (bytes: Uint8Array, name: string) => {
 *   if (bytes[0] === 1) return Promise.reject(new BadFileError(name, "not a JPEG"));
 *   return Promise.resolve({ width: 1, height: 1, channels: 1 as const, data: bytes });
 * };
 * const screened = await skipBadSamples(source, { decode });
 * console.log(screened.source.length, (await screened.source.sample(1)).name); // 2 img2.jpg
 * ```
 */
export async function skipBadSamples(
  source: TrainingSource,
  options: SkipBadOptions,
): Promise<ScreenedTrainingSource> {
  const bar = new Progress({
    total: source.length,
    label: `check ${source.name}`,
    unit: "img",
    output: options.progress ?? "none",
  });
  const good: number[] = [];
  const skipped: SkippedImage[] = [];
  for (let index = 0; index < source.length; index++) {
    const read = await readOrReason<LabelledSample>(() => source.sample(index));
    const name = "value" in read ? read.value.name : `${source.name}#${index}`;
    const reason = "reason" in read ? read.reason : await badReason(read.value.image, name, options.decode);
    if (reason === null) good.push(index);
    else skipped.push({ index, name, reason });
    bar.tick(1, { bad: String(skipped.length) });
  }
  bar.finish();
  return {
    source: {
      name: source.name,
      length: good.length,
      classCount: source.classCount,
      sample: (index) => {
        const original = good[index];
        if (original === undefined) {
          return Promise.reject(
            new RangeError(`${source.name}: image index ${index} outside [0, ${good.length})`),
          );
        }
        return source.sample(original);
      },
    },
    skipped,
  };
}
