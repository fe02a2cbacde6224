/**
 * The AT&T / ORL face database ("AT&T Laboratories Cambridge (Olivetti Research Laboratory)"): folders
 * `s1`, `s2`, … each holding ten grey 92x112 PGM photos `1.pgm` … `10.pgm` of one person, taken with varying
 * light, expression and small head turns. As a verification set its pairs are all pairs of distinct images
 * ({@linkcode allPairs}): with 39 people, 1,755 genuine and 74,100 impostor pairs.
 *
 * @module
 */
import { readPgm } from "./pgm.ts";
import type { ImagePair, LabelledSample, SampleImage, TrainingSource, VerificationSet } from "./types.ts";

/** One ORL photo. */
export interface OrlImage {
  /** Folder name, e.g. `"s12"`. */
  readonly identity: string;
  /** Photo number (the file's name), 1-based. */
  readonly number: number;
  /** Identity label: position of the folder in numeric order. */
  readonly label: number;
  /** Full path of the PGM file. */
  readonly path: string;
}

/**
 * Every unordered pair of distinct images, `first < second`, genuine when the labels agree — the all-pairs
 * verification protocol of small closed sets.
 *
 * @param labels Identity label of each image.
 * @example
 * ```ts
 * import { allPairs } from "./orl.ts";
 * const pairs = allPairs([0, 0, 1]);
 * console.log(pairs.length, pairs.filter((p) => p.genuine).length); // 3 1
 * ```
 */
export function allPairs(labels: readonly number[]): ImagePair[] {
  const pairs: ImagePair[] = [];
  for (let i = 0; i < labels.length; i++) {
    for (let j = i + 1; j < labels.length; j++) {
      pairs.push({ first: i, second: j, genuine: labels[i] === labels[j] });
    }
  }
  return pairs;
}

/**
 * The ORL database as a {@linkcode VerificationSet} (all pairs) and a {@linkcode TrainingSource}. Images are
 * decoded grey {@linkcode Pixels} (`channels: 1`).
 *
 * @example
 * ```ts
 * import { Orl } from "./orl.ts";
 * try {
 *   const orl = await Orl.open(new URL("../../../shared/data/orl", import.meta.url).pathname);
 *   console.log(orl.classCount, orl.imageCount, orl.pairs.length); // 39 390 75855
 * } catch {
 *   console.log("ORL not present");
 * }
 * ```
 */
export class Orl implements VerificationSet, TrainingSource {
  /** `"orl"`. */
  readonly name = "orl";
  /** The folder. */
  readonly root: string;
  /** Images, by identity then photo number. */
  readonly images: readonly OrlImage[];
  /** Identity folder names in label order. */
  readonly identities: readonly string[];
  /** All pairs of distinct images. */
  readonly pairs: readonly ImagePair[];

  private constructor(root: string, images: OrlImage[], identities: string[]) {
    this.root = root;
    this.images = images;
    this.identities = identities;
    this.pairs = allPairs(images.map((image) => image.label));
  }

  /**
   * Lists `root/s<k>/<n>.pgm`.
   *
   * @throws {Error} Naming `root` when it is missing or holds no `s<k>` folder with `.pgm` files.
   */
  static async open(root: string): Promise<Orl> {
    const dir = root.replace(/\/+$/, "");
    const folders: { name: string; index: number }[] = [];
    try {
      for await (const entry of Deno.readDir(dir)) {
        const match = /^s(\d+)$/.exec(entry.name);
        if (entry.isDirectory && match) folders.push({ name: entry.name, index: Number(match[1]) });
      }
    } catch (error) {
      const reason = error instanceof Deno.errors.NotFound ? "folder not found" : String(error);
      throw new Error(`${dir}: cannot read the ORL folder (${reason})`, { cause: error });
    }
    folders.sort((a, b) => a.index - b.index);
    const images: OrlImage[] = [];
    const identities: string[] = [];
    for (const folder of folders) {
      const numbers: number[] = [];
      for await (const entry of Deno.readDir(`${dir}/${folder.name}`)) {
        const match = /^(\d+)\.pgm$/i.exec(entry.name);
        if (entry.isFile && match) numbers.push(Number(match[1]));
      }
      if (numbers.length === 0) continue;
      numbers.sort((a, b) => a - b);
      const label = identities.length;
      identities.push(folder.name);
      for (const number of numbers) {
        images.push({ identity: folder.name, number, label, path: `${dir}/${folder.name}/${number}.pgm` });
      }
    }
    if (images.length === 0) throw new Error(`${dir}: no ORL images (expected s1/1.pgm, s1/2.pgm, …)`);
    return new Orl(dir, images, identities);
  }

  /** Number of images. */
  get imageCount(): number {
    return this.images.length;
  }

  /** Same as {@linkcode Orl.imageCount}. */
  get length(): number {
    return this.images.length;
  }

  /** Number of identities. */
  get classCount(): number {
    return this.identities.length;
  }

  /** Grey pixels of image `index`. */
  async image(index: number): Promise<SampleImage> {
    return await readPgm(this.#image(index).path);
  }

  /** `"s<k>/<n>.pgm"`. */
  imageName(index: number): string {
    const image = this.images[index];
    return image ? `${image.identity}/${image.number}.pgm` : `${this.root}#${index}`;
  }

  /** Grey pixels and identity label of image `index`. */
  async sample(index: number): Promise<LabelledSample> {
    const image = this.#image(index);
    return { image: await readPgm(image.path), label: image.label, name: image.path };
  }

  #image(index: number): OrlImage {
    const image = this.images[index];
    if (!image) throw new RangeError(`${this.root}: image index ${index} outside [0, ${this.images.length})`);
    return image;
  }
}
