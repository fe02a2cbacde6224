/**
 * MFR2, the real masked-face benchmark of the MaskInv paper (from the MaskTheFace authors): 53 identities,
 * 269 tight 160x160 crops `Name/Name_000k.png` (not ArcFace-aligned), `mfr2_labels.txt` (`Name, k,
 * masktype`, `no-mask` for unmasked photos) and an LFW-format `pairs.txt` (848 pairs; `k` is 1-based).
 *
 * @module
 */
import { parsePairs, readBytes } from "./image_folder.ts";
import type { ImagePair, LabelledSample, SampleImage, TrainingSource, VerificationSet } from "./types.ts";

/**
 * The mask type MFR2 uses for an unmasked photo.
 *
 * @example
 * ```ts
 * import { MFR2_NO_MASK } from "./mfr2.ts";
 * console.log(MFR2_NO_MASK); // "no-mask"
 * ```
 */
export const MFR2_NO_MASK = "no-mask";

/** One MFR2 image. */
export interface Mfr2Image {
  /** Identity name. */
  readonly identity: string;
  /** 1-based image number within the identity. */
  readonly number: number;
  /** Mask type from `mfr2_labels.txt`, e.g. `"surgical_blue"`, `"KN95"` or {@linkcode MFR2_NO_MASK}. */
  readonly maskType: string;
  /** Whether a real mask is worn (`maskType !== "no-mask"`). */
  readonly masked: boolean;
  /** Identity label: index of `identity` in sorted order. */
  readonly label: number;
  /** Full path of the PNG file. */
  readonly path: string;
}

/**
 * How many images of a pair wear a real mask: `"UM-UM"` (none), `"M-UM"` (one), `"M-M"` (both).
 *
 * @example
 * ```ts
 * import { realMaskScenario } from "./mfr2.ts";
 * console.log(realMaskScenario(true, false)); // "M-UM"
 * ```
 */
export function realMaskScenario(firstMasked: boolean, secondMasked: boolean): "UM-UM" | "M-UM" | "M-M" {
  return firstMasked && secondMasked ? "M-M" : firstMasked || secondMasked ? "M-UM" : "UM-UM";
}

/**
 * The MFR2 benchmark: a {@linkcode VerificationSet} (its 848 pairs) and a {@linkcode TrainingSource} (its
 * labelled images), with each image's real mask type. Images stay encoded (PNG bytes).
 *
 * @example
 * ```ts
 * import { Mfr2 } from "./mfr2.ts";
 * const root = new URL("../../../shared/data/mfr2", import.meta.url).pathname;
 * try {
 *   const mfr2 = await Mfr2.open(root);
 *   console.log(mfr2.classCount, mfr2.imageCount, mfr2.pairs.length); // 53 269 848
 * } catch {
 *   console.log("MFR2 not present");
 * }
 * ```
 */
export class Mfr2 implements VerificationSet, TrainingSource {
  /** `"mfr2"`. */
  readonly name = "mfr2";
  /** The folder. */
  readonly root: string;
  /** Images in `mfr2_labels.txt` order. */
  readonly images: readonly Mfr2Image[];
  /** Identity names in label order. */
  readonly identities: readonly string[];
  /** The pairs of `pairs.txt`, as indices into {@linkcode Mfr2.images}. */
  readonly pairs: readonly ImagePair[];

  private constructor(root: string, images: Mfr2Image[], identities: string[], pairs: ImagePair[]) {
    this.root = root;
    this.images = images;
    this.identities = identities;
    this.pairs = pairs;
  }

  /**
   * Reads `mfr2_labels.txt` and `pairs.txt` under `root` and checks that every listed image exists.
   *
   * @throws {Error} Naming the file (and line) for a missing or malformed file, a duplicate image, or a pair
   *   that refers to an unlisted image.
   */
  static async open(root: string): Promise<Mfr2> {
    const dir = root.replace(/\/+$/, "");
    const labelsPath = `${dir}/mfr2_labels.txt`;
    const pairsPath = `${dir}/pairs.txt`;
    const labelsText = await readText(labelsPath, "MFR2 labels");
    const entries: { identity: string; number: number; maskType: string }[] = [];
    const seen = new Map<string, number>();
    labelsText.split(/\r?\n/).forEach((raw, i) => {
      if (raw.trim() === "") return;
      const fields = raw.split(",").map((f) => f.trim());
      const number = Number(fields[1]);
      if (fields.length !== 3 || !fields[0] || !Number.isInteger(number) || number < 1 || !fields[2]) {
        throw new Error(
          `${labelsPath}: line ${i + 1}: expected "Name, k, masktype", found ${JSON.stringify(raw)}`,
        );
      }
      const key = `${fields[0]}/${number}`;
      if (seen.has(key)) throw new Error(`${labelsPath}: line ${i + 1}: ${key} is listed twice`);
      seen.set(key, entries.length);
      entries.push({ identity: fields[0], number, maskType: fields[2] });
    });
    const identities = [...new Set(entries.map((e) => e.identity))].sort((
      a,
      b,
    ) => (a < b ? -1 : a > b ? 1 : 0));
    const labelOf = new Map(identities.map((name, i) => [name, i]));
    const images = entries.map((e): Mfr2Image => ({
      ...e,
      masked: e.maskType !== MFR2_NO_MASK,
      label: labelOf.get(e.identity)!,
      path: `${dir}/${e.identity}/${e.identity}_${String(e.number).padStart(4, "0")}.png`,
    }));
    await Promise.all(images.map(async (image) => {
      try {
        const info = await Deno.stat(image.path);
        if (!info.isFile) throw new Error("not a file");
      } catch (error) {
        throw new Error(`${image.path}: listed in ${labelsPath} but missing (${error})`, { cause: error });
      }
    }));
    const named = parsePairs(await readText(pairsPath, "MFR2 pairs"), pairsPath);
    const pairs = named.map((pair): ImagePair => {
      const index = (identity: string, number: number) => {
        const i = seen.get(`${identity}/${number}`);
        if (i === undefined) {
          throw new Error(`${pairsPath}: line ${pair.line}: ${identity} ${number} is not in ${labelsPath}`);
        }
        return i;
      };
      return {
        first: index(pair.first.identity, pair.first.number),
        second: index(pair.second.identity, pair.second.number),
        genuine: pair.genuine,
      };
    });
    return new Mfr2(dir, images, identities, pairs);
  }

  /** Number of images. */
  get imageCount(): number {
    return this.images.length;
  }

  /** Same as {@linkcode Mfr2.imageCount}. */
  get length(): number {
    return this.images.length;
  }

  /** Number of identities. */
  get classCount(): number {
    return this.identities.length;
  }

  /** PNG bytes of image `index`. */
  async image(index: number): Promise<SampleImage> {
    return await readBytes(this.#image(index).path);
  }

  /** Path of image `index`. */
  imageName(index: number): string {
    return this.images[index]?.path ?? `${this.root}#${index}`;
  }

  /** PNG bytes and identity label of image `index`. */
  async sample(index: number): Promise<LabelledSample> {
    const image = this.#image(index);
    return { image: await readBytes(image.path), label: image.label, name: image.path };
  }

  /** The real-mask scenario of each pair (see {@linkcode realMaskScenario}). */
  pairScenarios(): ("UM-UM" | "M-UM" | "M-M")[] {
    return this.pairs.map((p) => realMaskScenario(this.images[p.first].masked, this.images[p.second].masked));
  }

  #image(index: number): Mfr2Image {
    const image = this.images[index];
    if (!image) throw new RangeError(`${this.root}: image index ${index} outside [0, ${this.images.length})`);
    return image;
  }
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    const reason = error instanceof Deno.errors.NotFound ? "file not found" : String(error);
    throw new Error(`${path}: cannot read ${what} (${reason})`, { cause: error });
  }
}
