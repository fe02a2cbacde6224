/**
 * Masking a folder of photos (what `deno task mask` runs): list the images, find each face's landmarks
 * (aligned input, given landmarks, or detection with `lib/image`), optionally align to 112x112, draw or
 * replay each image's parameters, mask and write PNGs. Every input ends up either written or listed as
 * failed with its reason — a face whose landmarks cannot be found is never dropped silently. A file that is
 * not a decodable image stops the run with an error naming it, unless `skipBad` asks to list it and go on.
 *
 * @module
 */
import type { Pixels } from "../data/pixels.ts";
import { ImageDecodeError, readImage, writeImage } from "../image/codec.ts";
import { alignFace } from "../image/align.ts";
import { ARCFACE_112, arcfaceTemplate, type Landmarks5 } from "../image/geometry.ts";
import { detectLandmarks } from "../image/landmarks.ts";
import { Progress, type ProgressOutput } from "../util/progress.ts";
import { applyMask, maskResources } from "./apply.ts";
import { drawMaskParamsWith, type MaskMode, type MaskParams, rngForKey } from "./params.ts";
import type { MaskTemplate } from "./templates.ts";

/**
 * File extensions listed as images.
 *
 * @example
 * ```ts
 * import { IMAGE_EXTENSIONS } from "./folder.ts";
 * const isImage = (name: string) => IMAGE_EXTENSIONS.some((e) => name.toLowerCase().endsWith(e));
 * console.log(isImage("face.JPG"), isImage("notes.txt")); // true false
 * ```
 */
export const IMAGE_EXTENSIONS: readonly string[] = [
  ".png",
  ".jpg",
  ".jpeg",
  ".webp",
  ".tif",
  ".tiff",
  ".gif",
  ".bmp",
  ".pgm",
  ".ppm",
];

/** Where each face's landmarks come from. */
export type LandmarkSource = "aligned" | "detect" | "given";

/** Options of {@linkcode maskImageFolder}. */
export interface MaskFolderOptions {
  /** An image file or a folder (searched recursively). */
  input: string;
  /** Output folder; each image is written as `<relative path>.png`. */
  output: string;
  /** Compositing mode. */
  mode: MaskMode;
  /** Clean mode: templates to draw from (one for a fixed template). */
  templates: readonly MaskTemplate[];
  /** Paper mode: the released RGBA template. */
  paperTemplate?: Pixels;
  /** Seed of the parameters (default 0). */
  seed?: number;
  /** Random template shifts (default false: evaluation masks). */
  shift?: boolean;
  /** Clean mode: probability of a fabric pattern on texturable templates (default 0.5). */
  textureProbability?: number;
  /** Clean mode colours: template palette (default) or random. */
  colours?: "palette" | "random";
  /** Replay these parameters (by key) instead of drawing; keys without parameters fail. */
  replay?: readonly MaskParams[];
  /** Landmark source (default `detect`). */
  landmarks?: LandmarkSource;
  /** With `given`: landmarks by key (relative path). */
  givenLandmarks?: ReadonlyMap<string, Landmarks5>;
  /** Write ArcFace-aligned 112x112 crops instead of the full photo (paper mode always aligns). */
  align?: boolean;
  /** Detection hint: inputs are tight face crops (MFR2, LFW); the landmark model runs even without a detection. */
  faceCrops?: boolean;
  /** Only these keys (relative paths), in this order. */
  only?: readonly string[];
  /** Progress output (default `auto`). */
  progress?: ProgressOutput;
  /**
   * Skip files that are not decodable images (truncated, corrupt, empty, oversized) and list them in
   * {@linkcode MaskFolderResult.skipped}; default false: the first such file stops the run with its error.
   */
  skipBad?: boolean;
}

/** One written image. */
export interface MaskedFile {
  /** Relative path of the input. */
  key: string;
  /** Path written. */
  output: string;
  /** The parameters used. */
  params: MaskParams;
}

/** One image that could not be masked, and why. */
export interface FailedFile {
  /** Relative path of the input. */
  key: string;
  /** What went wrong. */
  reason: string;
}

/** The outcome of {@linkcode maskImageFolder}. */
export interface MaskFolderResult {
  /** Images written. */
  done: MaskedFile[];
  /** Images not written, with reasons. */
  failed: FailedFile[];
  /** Unreadable files left out because `skipBad` was set, with the decoder's reasons. */
  skipped: FailedFile[];
  /** Parameters of every listed image (drawn or replayed), in listing order. */
  params: MaskParams[];
}

function relative(root: string, path: string): string {
  return path.startsWith(root + "/") ? path.slice(root.length + 1) : path;
}

/**
 * Lists the images under `input` (a file gives itself), as sorted relative paths.
 *
 * @throws {Error} When `input` does not exist.
 * @example
 * ```ts
 * import { listImages } from "./folder.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/notes.txt`, "");
 * await Deno.writeFile(`${dir}/a.png`, new Uint8Array());
 * console.log((await listImages(dir)).keys); // [ "a.png" ]
 * ```
 */
export async function listImages(input: string): Promise<{ root: string; keys: string[] }> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(input);
  } catch {
    throw new Error(`${input}: no such file or folder`);
  }
  if (info.isFile) {
    const slash = input.lastIndexOf("/");
    return {
      root: slash < 0 ? "." : input.slice(0, slash) || "/",
      keys: [slash < 0 ? input : input.slice(slash + 1)],
    };
  }
  const root = input.replace(/\/+$/, "") || "/";
  const keys: string[] = [];
  const walk = async (dir: string) => {
    for await (const entry of Deno.readDir(dir)) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory) await walk(path);
      else if (entry.isFile && IMAGE_EXTENSIONS.some((e) => entry.name.toLowerCase().endsWith(e))) {
        keys.push(relative(root, path));
      }
    }
  };
  await walk(root);
  keys.sort();
  return { root, keys };
}

/**
 * Output path of `key`: same relative path, `.png` extension.
 *
 * @example
 * ```ts
 * import { outputPathFor } from "./folder.ts";
 * console.log(outputPathFor("out/", "Ann/Ann_0001.jpg")); // out/Ann/Ann_0001.png
 * ```
 */
export function outputPathFor(output: string, key: string): string {
  const dot = key.lastIndexOf(".");
  const stem = dot > key.lastIndexOf("/") ? key.slice(0, dot) : key;
  return `${output.replace(/\/+$/, "")}/${stem}.png`;
}

/**
 * Masks every image of a folder (or one file) and writes the results; see {@linkcode MaskFolderOptions}.
 *
 * @example
 * ```ts
 * import { maskImageFolder } from "./folder.ts";
 * import { loadTemplateFolder } from "./templates.ts";
 * import { writeImage } from "../image/codec.ts";
 * const dir = await Deno.makeTempDir();
 * await writeImage(`${dir}/face.png`, { width: 112, height: 112, channels: 3, data: new Uint8Array(112 * 112 * 3).fill(128) });
 * const result = await maskImageFolder({
 *   input: `${dir}/face.png`, output: `${dir}/out`, mode: "clean", templates: await loadTemplateFolder(),
 *   landmarks: "aligned", progress: "none",
 * });
 * console.log(result.done.length, result.failed.length); // 1 0
 * ```
 */
export async function maskImageFolder(options: MaskFolderOptions): Promise<MaskFolderResult> {
  const { root, keys: listed } = await listImages(options.input);
  const keys = options.only ? [...options.only] : listed;
  const source = options.landmarks ?? "detect";
  const resources = maskResources(options.templates, options.paperTemplate);
  const replay = options.replay ? new Map(options.replay.map((p) => [p.key, p])) : null;
  const seed = options.seed ?? 0;
  const result: MaskFolderResult = { done: [], failed: [], skipped: [], params: [] };
  const bar = new Progress({
    total: keys.length,
    label: "mask",
    unit: "img",
    output: options.progress ?? "auto",
  });
  const align = options.align ?? false;
  for (const key of keys) {
    let params: MaskParams | undefined;
    if (replay) params = replay.get(key);
    else {
      params = drawMaskParamsWith(rngForKey(seed, key), key, {
        seed,
        mode: options.mode,
        templates: options.templates,
        shift: options.shift ?? false,
        colours: options.colours,
        textureProbability: options.textureProbability,
      });
    }
    if (params) result.params.push(params);
    const fail = (reason: string) => {
      result.failed.push({ key, reason });
      bar.tick(1, { failed: String(result.failed.length) });
    };
    if (!params) {
      fail("no parameters for this image in the replayed parameters file");
      continue;
    }
    let image: Pixels;
    try {
      image = await readImage(`${root}/${key}`);
    } catch (error) {
      if (!(error instanceof ImageDecodeError)) throw error;
      if (options.skipBad !== true) {
        bar.finish();
        throw new ImageDecodeError(
          error.source,
          `${error.reason} (skipBad / --skip-bad leaves unreadable images out and lists them)`,
          error,
        );
      }
      result.skipped.push({ key, reason: error.message });
      bar.tick(1, { skipped: String(result.skipped.length) });
      continue;
    }
    try {
      let landmarks: Landmarks5;
      if (source === "aligned") {
        if (image.width !== image.height || image.width % 112 !== 0) {
          fail(
            `not an aligned face: ${image.width}x${image.height} (expected a square of 112, 224, ... pixels)`,
          );
          continue;
        }
        landmarks = arcfaceTemplate(image.width);
      } else if (source === "given") {
        const given = options.givenLandmarks?.get(key);
        if (!given) {
          fail("no landmarks given for this image");
          continue;
        }
        landmarks = given;
      } else {
        const found = await detectLandmarks(image, { faceCrop: options.faceCrops ?? false });
        if (!found.ok) {
          fail(`no face landmarks (${found.reason}): ${found.message}`);
          continue;
        }
        landmarks = found.points;
      }
      const needsAlignment = source !== "aligned" && (align || options.mode === "paper");
      if (needsAlignment || (options.mode === "paper" && image.width !== 112)) {
        image = alignFace(image, landmarks);
        landmarks = ARCFACE_112;
      }
      const masked = applyMask(image, params, resources, landmarks);
      const output = outputPathFor(options.output, key);
      const dir = output.slice(0, output.lastIndexOf("/"));
      await Deno.mkdir(dir, { recursive: true });
      await writeImage(output, masked);
      result.done.push({ key, output, params });
      bar.tick(1, { failed: String(result.failed.length) });
    } catch (error) {
      fail(error instanceof Error ? error.message : String(error));
    }
  }
  bar.finish();
  return result;
}
