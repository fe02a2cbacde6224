/**
 * Plain image folders (`root/<identity>/<image>.<ext>`, as LFW or a user's own photos) and LFW-style
 * `pairs.txt` files (`name k1 k2` genuine, `name1 k1 name2 k2` impostor; `k` 1-based, file
 * `name/name_000k.ext`).
 *
 * @module
 */
import type { ImagePair, LabelledSample, SampleImage, TrainingSource, VerificationSet } from "./types.ts";
import { BadFileError } from "../util/errors.ts";

/**
 * File extensions an {@linkcode ImageFolder} picks up by default (lower case, without the dot).
 *
 * @example
 * ```ts
 * import { FOLDER_IMAGE_EXTENSIONS } from "./image_folder.ts";
 * console.log(FOLDER_IMAGE_EXTENSIONS.includes("png")); // true
 * ```
 */
export const FOLDER_IMAGE_EXTENSIONS: readonly string[] = [
  "jpg",
  "jpeg",
  "png",
  "bmp",
  "webp",
  "tif",
  "tiff",
  "pgm",
  "ppm",
];

/** One side of a named pair: an identity and its 1-based image number. */
export interface NamedImage {
  /** Identity (folder) name. */
  readonly identity: string;
  /** 1-based image number: `Name_0003.jpg` is 3. */
  readonly number: number;
}

/** A pair as written in a `pairs.txt`. */
export interface NamedPair {
  /** First image. */
  readonly first: NamedImage;
  /** Second image. */
  readonly second: NamedImage;
  /** Same identity. */
  readonly genuine: boolean;
  /** 1-based line in the file, for errors. */
  readonly line: number;
}

/**
 * Parses an LFW-style pairs list. A first line of numbers only (LFW's `10 300` header) is skipped.
 *
 * @param text File contents.
 * @param source Names the file in errors.
 * @throws {Error} Naming the file and line for a malformed line.
 * @example
 * ```ts
 * import { parsePairs } from "./image_folder.ts";
 * const pairs = parsePairs("10\t300\nAnn 1 2\nAnn 1 Bob 3\n", "pairs.txt");
 * console.log(pairs.map((p) => p.genuine)); // [ true, false ]
 * ```
 */
export function parsePairs(text: string, source: string): NamedPair[] {
  const pairs: NamedPair[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const fields = raw.trim().split(/\s+/).filter((f) => f !== "");
    if (fields.length === 0) return;
    if (pairs.length === 0 && fields.every((f) => /^\d+$/.test(f))) return; // header
    const number = (text: string) => {
      const n = Number(text);
      if (!Number.isInteger(n) || n < 1) {
        throw new Error(
          `${source}: line ${i + 1}: image number ${JSON.stringify(text)} is not a positive integer`,
        );
      }
      return n;
    };
    if (fields.length === 3) {
      pairs.push({
        first: { identity: fields[0], number: number(fields[1]) },
        second: { identity: fields[0], number: number(fields[2]) },
        genuine: true,
        line: i + 1,
      });
    } else if (fields.length === 4) {
      pairs.push({
        first: { identity: fields[0], number: number(fields[1]) },
        second: { identity: fields[2], number: number(fields[3]) },
        genuine: false,
        line: i + 1,
      });
    } else {
      throw new Error(
        `${source}: line ${i + 1}: expected "name k1 k2" or "name1 k1 name2 k2", found ${
          JSON.stringify(raw)
        }`,
      );
    }
  });
  return pairs;
}

/**
 * Reads and parses an LFW-style `pairs.txt`.
 *
 * @throws {Error} Naming the file when missing or malformed.
 * @example
 * ```ts
 * import { readPairs } from "./image_folder.ts";
 * const path = `${await Deno.makeTempDir()}/pairs.txt`;
 * await Deno.writeTextFile(path, "Ann 1 2\n");
 * console.log((await readPairs(path)).length); // 1
 * ```
 */
export async function readPairs(path: string): Promise<NamedPair[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    const reason = error instanceof Deno.errors.NotFound ? "file not found" : String(error);
    throw new Error(`${path}: cannot read pairs file (${reason})`, { cause: error });
  }
  return parsePairs(text, path);
}

/** One image file of an {@linkcode ImageFolder}. */
export interface FolderImage {
  /** Full path. */
  readonly path: string;
  /** Identity (sub-folder) name. */
  readonly identity: string;
  /** File name. */
  readonly file: string;
  /** Label: index of the identity in sorted order. */
  readonly label: number;
}

/** Options of {@linkcode ImageFolder.open}. */
export interface ImageFolderOptions {
  /** Extensions to include (default {@linkcode FOLDER_IMAGE_EXTENSIONS}). */
  extensions?: readonly string[];
}

/**
 * A folder of identity sub-folders as a {@linkcode TrainingSource} (labels = sorted identity index); add a
 * pairs list with {@linkcode ImageFolder.withPairs} for verification. Images stay encoded.
 *
 * @example
 * ```ts
 * import { ImageFolder } from "./image_folder.ts";
 * const root = await Deno.makeTempDir();
 * await Deno.mkdir(`${root}/Ann`);
 * await Deno.writeFile(`${root}/Ann/Ann_0001.png`, new Uint8Array([137, 80, 78, 71]));
 * const folder = await ImageFolder.open(root);
 * console.log(folder.length, folder.identities); // 1 [ "Ann" ]
 * ```
 */
export class ImageFolder implements TrainingSource {
  /** The root folder. */
  readonly root: string;
  /** Name for logs: the root's last path component. */
  readonly name: string;
  /** Identity names in label order. */
  readonly identities: readonly string[];
  /** All images, grouped by identity, each group sorted by file name. */
  readonly images: readonly FolderImage[];

  private constructor(root: string, identities: string[], images: FolderImage[]) {
    this.root = root;
    this.name = root.replace(/\/+$/, "").split("/").pop() ?? root;
    this.identities = identities;
    this.images = images;
  }

  /**
   * Scans `root` (one level of identity folders; files directly under `root` are ignored).
   *
   * @throws {Error} Naming the folder when it is missing or holds no images.
   */
  static async open(location: string, options: ImageFolderOptions = {}): Promise<ImageFolder> {
    const root = location.length > 1 ? location.replace(/\/+$/, "") : location;
    const extensions = new Set((options.extensions ?? FOLDER_IMAGE_EXTENSIONS).map((e) => e.toLowerCase()));
    const identities: string[] = [];
    try {
      for await (const entry of Deno.readDir(root)) if (entry.isDirectory) identities.push(entry.name);
    } catch (error) {
      const reason = error instanceof Deno.errors.NotFound ? "folder not found" : String(error);
      throw new Error(`${root}: cannot read image folder (${reason})`, { cause: error });
    }
    identities.sort(byCodePoint);
    const images: FolderImage[] = [];
    const kept: string[] = [];
    for (const identity of identities) {
      const files: string[] = [];
      for await (const entry of Deno.readDir(`${root}/${identity}`)) {
        const ext = entry.name.includes(".") ? entry.name.split(".").pop()!.toLowerCase() : "";
        if (entry.isFile && extensions.has(ext)) files.push(entry.name);
      }
      if (files.length === 0) continue;
      files.sort(byCodePoint);
      const label = kept.length;
      kept.push(identity);
      for (const file of files) images.push({ path: `${root}/${identity}/${file}`, identity, file, label });
    }
    if (images.length === 0) {
      throw new Error(`${root}: no images found (extensions ${[...extensions].join(", ")})`);
    }
    return new ImageFolder(root, kept, images);
  }

  /** Number of images. */
  get length(): number {
    return this.images.length;
  }

  /** Number of identities that have images. */
  get classCount(): number {
    return this.identities.length;
  }

  /** The file bytes and label of image `index`. */
  async sample(index: number): Promise<LabelledSample> {
    const image = this.images[index];
    if (!image) throw new RangeError(`${this.root}: image index ${index} outside [0, ${this.length})`);
    return { image: await readBytes(image.path), label: image.label, name: image.path };
  }

  /**
   * Index of `identity`'s image number `number` (file `identity_%04d.*`, else the `number`-th file).
   *
   * @throws {Error} When no such image exists.
   */
  indexOf(identity: string, number: number): number {
    const stem = `${identity}_${String(number).padStart(4, "0")}.`;
    const byName = this.images.findIndex((im) => im.identity === identity && im.file.startsWith(stem));
    if (byName >= 0) return byName;
    throw new Error(`${this.root}: no image ${stem}* for identity ${JSON.stringify(identity)}`);
  }

  /**
   * A verification set over this folder's images.
   *
   * @param pairs Parsed pairs or the path of a `pairs.txt`.
   * @throws {Error} Naming the pairs file and line when a pair refers to a missing image.
   */
  async withPairs(pairs: readonly NamedPair[] | string): Promise<VerificationSet> {
    const source = typeof pairs === "string" ? pairs : `${this.root} pairs`;
    const named = typeof pairs === "string" ? await readPairs(pairs) : pairs;
    const resolved = named.map((pair): ImagePair => {
      try {
        return {
          first: this.indexOf(pair.first.identity, pair.first.number),
          second: this.indexOf(pair.second.identity, pair.second.number),
          genuine: pair.genuine,
        };
      } catch (error) {
        throw new Error(`${source}: line ${pair.line}: ${(error as Error).message}`, { cause: error });
      }
    });
    const images = this.images;
    return {
      name: this.name,
      imageCount: images.length,
      pairs: resolved,
      image: async (index: number): Promise<SampleImage> => {
        const image = images[index];
        if (!image) throw new RangeError(`${this.root}: image index ${index} outside [0, ${images.length})`);
        return await readBytes(image.path);
      },
      imageName: (index: number) => images[index]?.path ?? `${this.root}#${index}`,
    };
  }
}

/**
 * Reads a whole (small) file, naming it in errors.
 *
 * @throws {BadFileError} `"<path>: cannot read image file (file not found)"` and the like.
 * @example
 * ```ts
 * import { readBytes } from "./image_folder.ts";
 * await readBytes("missing.png").catch((e) => console.log(e.message)); // missing.png: cannot read image file (file not found)
 * ```
 */
export async function readBytes(path: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (error) {
    const reason = error instanceof Deno.errors.NotFound ? "file not found" : String(error);
    throw new BadFileError(path, `cannot read image file (${reason})`, { cause: error });
  }
}

function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
