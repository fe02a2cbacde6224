/**
 * `SyntheticFaces`: maskinv's embedded default dataset, so that everything trains and evaluates on a laptop
 * CPU with no downloads. Every identity is a vector of 45 continuous traits spread over the whole face —
 * skin tone and warmth, face width; upper face: forehead, hairline, hair colour and style, ears, eye shape,
 * size, tilt, spacing and iris colour, brows; lower face: nose length, width, tip and bridge, nostrils, mouth
 * width, lip thickness, colour and shape, jaw, chin, cheeks, blush, nasolabial folds, stubble, beard, moustache
 * and a mole — and every photo adds nuisance: head roll, yaw and pitch (approximated by warps), smile and eye
 * openness, brow raise, hair styling, directional light, background, colour cast, blur, noise and glasses.
 * Faces are drawn ArcFace-aligned at 112x112 (eyes, nose tip and mouth corners near insightface's reference
 * points) and each photo's true five landmarks are known. Everything is fully determined by one seed;
 * training and evaluation identities come from disjoint seed streams, and evaluation sets carry balanced
 * genuine/impostor pairs.
 *
 * What it is: a controlled stand-in in which a face mask hides part of the identity — more than half of the
 * traits live below the nose bridge, where a mask covers them, while the eyes, brows, hairline, hair and ears
 * stay visible, so masked recognition is possible but harder. The test suite checks this with a classical
 * learned verifier (block features, within-class whitening): seeing only the part above a mask raises its
 * equal error rate by more than 40% (about 8% to 14% at the test's size), yet it still verifies far above
 * chance. It is drawn with a 2-D vector renderer and has none of the texture, 3-D shape, ageing or population
 * statistics of real faces: it is not a substitute for real faces, and numbers measured on it say how methods
 * compare under masking, not how they perform on real photos.
 *
 * @module
 */
import { createCanvas } from "@napi-rs/canvas";
import { hashSeed, Rng } from "../util/random.ts";
import { writeFileAtomic } from "../util/atomic.ts";
import type { Pixels } from "./pixels.ts";
import { SyntheticFaceRenderer, type SyntheticLandmarks } from "./synthetic_render.ts";
import {
  identitySeed,
  imageSeed,
  sampleIdentity,
  sampleNuisance,
  type SyntheticIdentity,
  type SyntheticNuisance,
  type SyntheticSplit,
} from "./synthetic_traits.ts";
import type { ImagePair, LabelledSample, SampleImage, TrainingSource, VerificationSet } from "./types.ts";

/** Options of {@linkcode SyntheticFaces}. */
export interface SyntheticFacesOptions {
  /** Seed of the whole set (default 0). */
  seed?: number;
  /** Which identity pool: `"train"` (default) or `"eval"`; the two never share a person. */
  split?: SyntheticSplit;
  /** Number of identities. */
  identities: number;
  /** Photos per identity. */
  imagesPerIdentity: number;
  /** Output size in pixels (default 112, the ArcFace crop). */
  size?: number;
  /**
   * Number of verification pairs (even; half genuine, half impostor, alternating). Default:
   * `min(6000, 2 · identities · imagesPerIdentity)`, fewer when not enough distinct pairs exist.
   */
  pairs?: number;
}

/** One rendered photo with everything known about it. */
export interface SyntheticFace {
  /** RGB pixels. */
  readonly pixels: Pixels;
  /** True landmarks (eyes, nose tip, mouth corners) in pixels. */
  readonly landmarks: SyntheticLandmarks;
  /** Identity label. */
  readonly label: number;
  /** Photo number within the identity. */
  readonly photo: number;
}

/**
 * A deterministic set of synthetic identities: a {@linkcode TrainingSource} (image `i` is photo
 * `i mod imagesPerIdentity` of identity `⌊i / imagesPerIdentity⌋`) and a {@linkcode VerificationSet} with
 * balanced pairs. See the module documentation for what it is and is not.
 *
 * @example
 * ```ts
 * import { SyntheticFaces } from "./synthetic.ts";
 * const faces = new SyntheticFaces({ seed: 1, identities: 4, imagesPerIdentity: 3 });
 * const face = faces.render(5);
 * console.log(face.label, face.photo, face.pixels.width); // 1 2 112
 * console.log(faces.pairs.length, faces.pairs[0].genuine); // 24 true
 * ```
 */
export class SyntheticFaces implements TrainingSource, VerificationSet {
  /** `"synthetic-<split>"`. */
  readonly name: string;
  /** The seed. */
  readonly seed: number;
  /** Identity pool. */
  readonly split: SyntheticSplit;
  /** Number of identities. */
  readonly classCount: number;
  /** Photos per identity. */
  readonly imagesPerIdentity: number;
  /** Output size. */
  readonly size: number;
  /** Balanced verification pairs. */
  readonly pairs: readonly ImagePair[];
  #renderer: SyntheticFaceRenderer | null = null;
  readonly #identities = new Map<number, SyntheticIdentity>();
  readonly #pairCount: number;

  /**
   * Creates a `SyntheticFaces`.
   *
   * @param options Sizes and seed.
   */
  constructor(options: SyntheticFacesOptions) {
    const { identities, imagesPerIdentity } = options;
    if (!Number.isInteger(identities) || identities < 1) {
      throw new RangeError(`SyntheticFaces: identities must be a positive integer, got ${identities}`);
    }
    if (!Number.isInteger(imagesPerIdentity) || imagesPerIdentity < 1) {
      throw new RangeError(
        `SyntheticFaces: imagesPerIdentity must be a positive integer, got ${imagesPerIdentity}`,
      );
    }
    this.seed = options.seed ?? 0;
    this.split = options.split ?? "train";
    this.name = `synthetic-${this.split}`;
    this.classCount = identities;
    this.imagesPerIdentity = imagesPerIdentity;
    this.size = options.size ?? 112;
    const genuineAvailable = identities * imagesPerIdentity * (imagesPerIdentity - 1) / 2;
    const impostorAvailable = identities * (identities - 1) * imagesPerIdentity * imagesPerIdentity / 2;
    const defaultPairs =
      Math.min(6000, 2 * identities * imagesPerIdentity, 2 * genuineAvailable, 2 * impostorAvailable) &
      ~1;
    this.#pairCount = options.pairs ?? defaultPairs;
    if (!Number.isInteger(this.#pairCount) || this.#pairCount < 0 || this.#pairCount % 2 !== 0) {
      throw new RangeError(
        `SyntheticFaces: pairs must be an even non-negative integer, got ${this.#pairCount}`,
      );
    }
    this.pairs = this.#pairCount > 0 ? this.#makePairs() : [];
  }

  /** Number of images (`identities × imagesPerIdentity`). */
  get length(): number {
    return this.classCount * this.imagesPerIdentity;
  }

  /** Same as {@linkcode SyntheticFaces.length}. */
  get imageCount(): number {
    return this.length;
  }

  /** The traits of identity `label`. */
  identity(label: number): SyntheticIdentity {
    if (!Number.isInteger(label) || label < 0 || label >= this.classCount) {
      throw new RangeError(`${this.name}: identity ${label} outside [0, ${this.classCount})`);
    }
    let identity = this.#identities.get(label);
    if (!identity) {
      identity = sampleIdentity(new Rng(identitySeed(this.seed, this.split, label)));
      this.#identities.set(label, identity);
    }
    return identity;
  }

  /** The nuisance of image `index`. */
  nuisance(index: number): SyntheticNuisance {
    const [label, photo] = this.#locate(index);
    return sampleNuisance(new Rng(imageSeed(this.seed, this.split, label, photo)));
  }

  /** Renders image `index` (pixels, landmarks, label). */
  render(index: number): SyntheticFace {
    const [label, photo] = this.#locate(index);
    this.#renderer ??= new SyntheticFaceRenderer(this.size);
    const nuisance = sampleNuisance(new Rng(imageSeed(this.seed, this.split, label, photo)));
    const { pixels, landmarks } = this.#renderer.render(this.identity(label), nuisance);
    return { pixels, landmarks, label, photo };
  }

  /** Image `index` as a labelled sample (pixels). */
  sample(index: number): Promise<LabelledSample> {
    try {
      const face = this.render(index);
      return Promise.resolve({ image: face.pixels, label: face.label, name: this.imageName(index) });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Pixels of image `index`. */
  image(index: number): Promise<SampleImage> {
    try {
      return Promise.resolve(this.render(index).pixels);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** `"synthetic-<split>#<label>/<photo>"`. */
  imageName(index: number): string {
    const label = Math.floor(index / this.imagesPerIdentity);
    return `${this.name}#${label}/${index - label * this.imagesPerIdentity}`;
  }

  #locate(index: number): [number, number] {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) {
      throw new RangeError(`${this.name}: image index ${index} outside [0, ${this.length})`);
    }
    const label = Math.floor(index / this.imagesPerIdentity);
    return [label, index - label * this.imagesPerIdentity];
  }

  /** Alternating genuine/impostor pairs without repeats, from a seed stream of their own. */
  #makePairs(): ImagePair[] {
    const m = this.imagesPerIdentity, n = this.classCount;
    const half = this.#pairCount / 2;
    const genuineAvailable = n * (m * (m - 1)) / 2;
    const impostorAvailable = (n * m * (n - 1) * m) / 2;
    if (half > genuineAvailable || half > impostorAvailable) {
      throw new RangeError(
        `${this.name}: ${this.#pairCount} pairs need ${half} genuine and ${half} impostor pairs; only ` +
          `${genuineAvailable} genuine and ${impostorAvailable} impostor pairs exist`,
      );
    }
    const rng = new Rng(hashSeed(`maskinv/synthetic/${this.seed}/${this.split}/pairs`));
    const seen = new Set<number>();
    const key = (a: number, b: number) => (a < b ? a * this.length + b : b * this.length + a);
    const draw = (genuine: boolean): ImagePair => {
      for (let attempt = 0; attempt < 1_000_000; attempt++) {
        const a = rng.int(0, n);
        const b = genuine ? a : (a + rng.int(1, n)) % n;
        const i = rng.int(0, m);
        const j = genuine ? (i + rng.int(1, m)) % m : rng.int(0, m);
        const first = a * m + i, second = b * m + j;
        if (seen.has(key(first, second))) continue;
        seen.add(key(first, second));
        return { first, second, genuine };
      }
      throw new Error(`${this.name}: could not draw ${this.#pairCount} distinct pairs; ask for fewer`);
    };
    const pairs: ImagePair[] = [];
    for (let p = 0; p < half; p++) pairs.push(draw(true), draw(false));
    return pairs;
  }
}

/** Sizes of {@linkcode syntheticFaceSplits}. */
export interface SyntheticSplitsOptions {
  /** Seed shared by both pools (default 0). */
  seed?: number;
  /** Training pool sizes. */
  train: { identities: number; imagesPerIdentity: number };
  /** Evaluation pool sizes and pair count. */
  eval: { identities: number; imagesPerIdentity: number; pairs?: number };
  /** Output size (default 112). */
  size?: number;
}

/**
 * A training pool and a disjoint evaluation pool from one seed.
 *
 * @example
 * ```ts
 * import { syntheticFaceSplits } from "./synthetic.ts";
 * const { train, evaluation } = syntheticFaceSplits({
 *   seed: 7,
 *   train: { identities: 50, imagesPerIdentity: 10 },
 *   eval: { identities: 20, imagesPerIdentity: 5, pairs: 100 },
 * });
 * console.log(train.length, evaluation.pairs.length); // 500 100
 * ```
 */
export function syntheticFaceSplits(options: SyntheticSplitsOptions): {
  train: SyntheticFaces;
  evaluation: SyntheticFaces;
} {
  const seed = options.seed ?? 0;
  const size = options.size ?? 112;
  return {
    train: new SyntheticFaces({ seed, split: "train", size, ...options.train, pairs: 0 }),
    evaluation: new SyntheticFaces({ seed, split: "eval", size, ...options.eval }),
  };
}

/**
 * Draws a contact sheet (one row per identity, one column per photo) as PNG bytes.
 *
 * @param faces The set to show.
 * @param identities Rows (default 8).
 * @param photos Columns (default 6).
 * @example
 * ```ts
 * import { syntheticContactSheet, SyntheticFaces } from "./synthetic.ts";
 * const png = syntheticContactSheet(new SyntheticFaces({ identities: 2, imagesPerIdentity: 2 }), 2, 2);
 * console.log(png[1] === 0x50); // true
 * ```
 */
export function syntheticContactSheet(faces: SyntheticFaces, identities = 8, photos = 6): Uint8Array {
  const rows = Math.min(identities, faces.classCount), cols = Math.min(photos, faces.imagesPerIdentity);
  const size = faces.size, gap = 2;
  const sheet = createCanvas(cols * (size + gap) + gap, rows * (size + gap) + gap);
  const ctx = sheet.getContext("2d");
  ctx.fillStyle = "white";
  ctx.fillRect(0, 0, sheet.width, sheet.height);
  const tile = ctx.createImageData(size, size);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const { data } = faces.render(r * faces.imagesPerIdentity + c).pixels;
      for (let p = 0, q = 0; p < data.length; p += 3, q += 4) {
        tile.data[q] = data[p];
        tile.data[q + 1] = data[p + 1];
        tile.data[q + 2] = data[p + 2];
        tile.data[q + 3] = 255;
      }
      ctx.putImageData(tile, gap + c * (size + gap), gap + r * (size + gap));
    }
  }
  return new Uint8Array(sheet.encodeSync("png"));
}

/**
 * Writes {@linkcode syntheticContactSheet} of 8 training identities × 6 photos (seed 0) to `path`.
 *
 * @example
 * ```ts
 * import { writeSyntheticContactSheet } from "./synthetic.ts";
 * await writeSyntheticContactSheet(`${await Deno.makeTempDir()}/sheet.png`);
 * ```
 */
export async function writeSyntheticContactSheet(path: string, seed = 0): Promise<void> {
  const faces = new SyntheticFaces({ seed, identities: 8, imagesPerIdentity: 6, pairs: 0 });
  await writeFileAtomic(path, syntheticContactSheet(faces));
}
