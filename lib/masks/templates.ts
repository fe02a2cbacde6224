/**
 * Mask templates: an RGBA image plus a JSON descriptor naming the template's anchor points (where the
 * face's eyes, nose tip and mouth corners fall on the template), its default colours and whether colour and
 * texture apply. The project's own templates live in the repository's `masks/` folder; a user adds one by
 * dropping `name.png` + `name.json` into any folder and loading that folder.
 *
 * Descriptor (`name.json`):
 * ```json
 * {
 *   "name": "surgical",
 *   "title": "Surgical mask (pleated)",
 *   "image": "surgical.png",
 *   "anchors": [[x, y], [x, y], [x, y], [x, y], [x, y]],
 *   "landmarks": [0, 1, 2, 3, 4],
 *   "fit": "affine",
 *   "colours": [[150, 200, 230], [240, 240, 240]],
 *   "colourable": true,
 *   "texturable": false
 * }
 * ```
 * `anchors` are template pixels of the ArcFace landmarks listed in `landmarks` (indices into the ArcFace
 * order: eye on the image's left, eye on the image's right, nose tip, mouth corner left, mouth corner right;
 * default all five). `fit` is how the template is placed on a face: `similarity` (rotation, scale, shift;
 * ≥ 2 anchors), `affine` (≥ 3) or `homography` (≥ 4). With `colourable`, the image's RGB is a grey shading
 * that multiplies the chosen colour; otherwise its RGB is used as drawn.
 *
 * @module
 */
import { assertPixels, type Pixels } from "../data/pixels.ts";
import { ARCFACE_112, type Point } from "../image/geometry.ts";
import { readImage } from "../image/codec.ts";

/** How a template is fitted from its anchors to a face's landmarks. */
export type TemplateFit = "similarity" | "affine" | "homography";

/** An RGB colour, each channel 0..255. */
export type Rgb = readonly [number, number, number];

/** The JSON descriptor of a template, as stored beside its image. */
export interface TemplateDescriptor {
  /** Unique name (letters, digits, `-`, `_`), used in parameters files and on the command line. */
  name: string;
  /** Human-readable title. */
  title?: string;
  /** Image file name, relative to the descriptor (RGBA PNG). */
  image: string;
  /** Template pixels of the ArcFace landmarks listed in {@linkcode TemplateDescriptor.landmarks}. */
  anchors: Point[];
  /** ArcFace landmark indices (0..4) of the anchors, default `[0, 1, 2, 3, 4]`. */
  landmarks?: number[];
  /** Placement model (default `affine`). */
  fit?: TemplateFit;
  /** Default colour palette; the first is the default colour. */
  colours: Rgb[];
  /** Whether the RGB is a grey shading to multiply with a colour (default true). */
  colourable?: boolean;
  /** Whether texture patterns apply (default false). */
  texturable?: boolean;
  /** Free text: what the template shows, its licence or origin. */
  description?: string;
}

/** A loaded template: descriptor fields with defaults filled in, and the RGBA image. */
export interface MaskTemplate {
  /** Unique name. */
  readonly name: string;
  /** Human-readable title. */
  readonly title: string;
  /** RGBA pixels. */
  readonly image: Pixels;
  /** Anchor points in template pixels. */
  readonly anchors: readonly Point[];
  /** ArcFace landmark index of each anchor. */
  readonly landmarks: readonly number[];
  /** Placement model. */
  readonly fit: TemplateFit;
  /** Default colours (at least one). */
  readonly colours: readonly Rgb[];
  /** Colour multiplies the grey shading. */
  readonly colourable: boolean;
  /** Texture patterns apply. */
  readonly texturable: boolean;
  /** Free text. */
  readonly description: string;
  /** Where it was loaded from (descriptor path), or `"memory"`. */
  readonly source: string;
}

/**
 * A template descriptor or image is invalid; the message names the file and the problem.
 *
 * @example
 * ```ts
 * import { parseTemplateDescriptor, TemplateError } from "./templates.ts";
 * try {
 *   parseTemplateDescriptor({ name: "x" }, "x.json");
 * } catch (error) {
 *   console.log(error instanceof TemplateError, (error as Error).message.startsWith("x.json")); // true true
 * }
 * ```
 */
export class TemplateError extends Error {
  /**
   * Creates the error.
   *
   * @param message File and problem.
   */
  constructor(message: string) {
    super(message);
    this.name = "TemplateError";
  }
}

const NAME_PATTERN = /^[A-Za-z0-9_-]+$/;
const MIN_ANCHORS: Record<TemplateFit, number> = { similarity: 2, affine: 3, homography: 4 };

function isPoint(value: unknown): value is Point {
  return Array.isArray(value) && value.length === 2 &&
    value.every((v) => typeof v === "number" && Number.isFinite(v));
}

function isRgb(value: unknown): value is Rgb {
  return Array.isArray(value) && value.length === 3 &&
    value.every((v) => typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 255);
}

/**
 * Checks a parsed descriptor and returns it typed.
 *
 * @param value Parsed JSON.
 * @param source Names the descriptor in errors.
 * @throws {TemplateError} Naming `source` and the first problem found.
 * @example
 * ```ts
 * import { parseTemplateDescriptor } from "./templates.ts";
 * const d = parseTemplateDescriptor({
 *   name: "demo", image: "demo.png", anchors: [[10, 10], [30, 10], [20, 20]], landmarks: [0, 1, 2],
 *   colours: [[200, 200, 200]],
 * }, "demo.json");
 * console.log(d.name); // demo
 * ```
 */
export function parseTemplateDescriptor(value: unknown, source: string): TemplateDescriptor {
  const fail = (problem: string): never => {
    throw new TemplateError(`${source}: ${problem}`);
  };
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail("expected a JSON object");
  const d = value as Record<string, unknown>;
  if (typeof d.name !== "string" || !NAME_PATTERN.test(d.name)) {
    fail(`"name" must be a non-empty string of letters, digits, "-" or "_"`);
  }
  if (typeof d.image !== "string" || d.image === "") fail(`"image" must name the template's image file`);
  if (!Array.isArray(d.anchors) || !d.anchors.every(isPoint)) {
    fail(`"anchors" must be a list of [x, y] points`);
  }
  const anchors = d.anchors as Point[];
  const landmarks = d.landmarks ?? [0, 1, 2, 3, 4].slice(0, anchors.length);
  if (
    !Array.isArray(landmarks) || landmarks.length !== anchors.length ||
    !landmarks.every((k) => Number.isInteger(k) && k >= 0 && k <= 4) ||
    new Set(landmarks).size !== landmarks.length
  ) {
    fail(`"landmarks" must list one distinct ArcFace index (0..4) per anchor`);
  }
  const fit = d.fit ?? "affine";
  if (fit !== "similarity" && fit !== "affine" && fit !== "homography") {
    fail(`"fit" must be "similarity", "affine" or "homography", got ${JSON.stringify(fit)}`);
  }
  const minimum = MIN_ANCHORS[fit as TemplateFit];
  if (anchors.length < minimum) {
    fail(`"fit": "${fit}" needs at least ${minimum} anchors, got ${anchors.length}`);
  }
  if (!Array.isArray(d.colours) || d.colours.length === 0 || !d.colours.every(isRgb)) {
    fail(`"colours" must be a non-empty list of [r, g, b] integers 0..255`);
  }
  for (const key of ["colourable", "texturable"] as const) {
    if (d[key] !== undefined && typeof d[key] !== "boolean") fail(`"${key}" must be true or false`);
  }
  for (const key of ["title", "description"] as const) {
    if (d[key] !== undefined && typeof d[key] !== "string") fail(`"${key}" must be a string`);
  }
  return {
    name: d.name as string,
    title: d.title as string | undefined,
    image: d.image as string,
    anchors,
    landmarks: landmarks as number[],
    fit: fit as TemplateFit,
    colours: d.colours as Rgb[],
    colourable: d.colourable as boolean | undefined,
    texturable: d.texturable as boolean | undefined,
    description: d.description as string | undefined,
  };
}

/**
 * Builds a template from a descriptor and its RGBA image (already decoded).
 *
 * @throws {TemplateError} When the image is not RGBA or has no opaque pixel.
 * @example
 * ```ts
 * import { createTemplate } from "./templates.ts";
 * const image = { width: 2, height: 2, channels: 4 as const, data: new Uint8Array(16).fill(255) };
 * const t = createTemplate({
 *   name: "square", image: "square.png", anchors: [[0, 0], [1, 0], [1, 1]], landmarks: [0, 1, 2],
 *   colours: [[255, 0, 0]],
 * }, image);
 * console.log(t.fit, t.colourable); // affine true
 * ```
 */
export function createTemplate(
  descriptor: TemplateDescriptor,
  image: Pixels,
  source = "memory",
): MaskTemplate {
  assertPixels(image, `${source}: image`);
  if (image.channels !== 4) {
    throw new TemplateError(`${source}: template image must be RGBA (4 channels), got ${image.channels}`);
  }
  let opaque = false;
  for (let i = 3; i < image.data.length; i += 4) {
    if (image.data[i] > 0) {
      opaque = true;
      break;
    }
  }
  if (!opaque) throw new TemplateError(`${source}: template image is fully transparent`);
  return {
    name: descriptor.name,
    title: descriptor.title ?? descriptor.name,
    image,
    anchors: descriptor.anchors,
    landmarks: descriptor.landmarks ?? [0, 1, 2, 3, 4],
    fit: descriptor.fit ?? "affine",
    colours: descriptor.colours,
    colourable: descriptor.colourable ?? true,
    texturable: descriptor.texturable ?? false,
    description: descriptor.description ?? "",
    source,
  };
}

function joinPath(dir: string, file: string): string {
  if (file.startsWith("/")) return file;
  return dir.endsWith("/") ? `${dir}${file}` : `${dir}/${file}`;
}

function dirname(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash < 0 ? "." : slash === 0 ? "/" : path.slice(0, slash);
}

/**
 * Loads one template from its descriptor file (the image path is relative to the descriptor).
 *
 * @throws {TemplateError} Naming the file when it is missing, not JSON, invalid, or its image is unusable.
 * @example
 * ```ts
 * import { defaultTemplateDirectory, loadTemplate } from "./templates.ts";
 * const surgical = await loadTemplate(`${defaultTemplateDirectory()}/surgical.json`);
 * console.log(surgical.name, surgical.image.channels); // surgical 4
 * ```
 */
export async function loadTemplate(descriptorPath: string): Promise<MaskTemplate> {
  let text: string;
  try {
    text = await Deno.readTextFile(descriptorPath);
  } catch (error) {
    const reason = error instanceof Deno.errors.NotFound ? "file not found" : `cannot read (${error})`;
    throw new TemplateError(`${descriptorPath}: ${reason}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new TemplateError(`${descriptorPath}: not valid JSON (${(error as Error).message})`);
  }
  const descriptor = parseTemplateDescriptor(parsed, descriptorPath);
  const imagePath = joinPath(dirname(descriptorPath), descriptor.image);
  let image: Pixels;
  try {
    image = await readImage(imagePath, { channels: 4 });
  } catch (error) {
    throw new TemplateError(`${descriptorPath}: its image ${(error as Error).message}`);
  }
  return createTemplate(descriptor, image, descriptorPath);
}

/**
 * The repository's own template folder (`masks/`).
 *
 * @example
 * ```ts
 * import { defaultTemplateDirectory } from "./templates.ts";
 * console.log(defaultTemplateDirectory().endsWith("/masks")); // true
 * ```
 */
export function defaultTemplateDirectory(): string {
  return new URL("../../masks/", import.meta.url).pathname.replace(/\/$/, "");
}

/**
 * Loads every template of a folder: each `*.json` descriptor beside its image, sorted by name.
 *
 * @param directory Folder to scan (default: the project's `masks/`).
 * @throws {TemplateError} When the folder is missing, a descriptor is invalid, or two share a name.
 * @example
 * ```ts
 * import { loadTemplateFolder } from "./templates.ts";
 * const templates = await loadTemplateFolder();
 * console.log(templates.map((t) => t.name).includes("surgical")); // true
 * ```
 */
export async function loadTemplateFolder(
  directory: string = defaultTemplateDirectory(),
): Promise<MaskTemplate[]> {
  const files: string[] = [];
  try {
    for await (const entry of Deno.readDir(directory)) {
      if (entry.isFile && entry.name.endsWith(".json")) files.push(entry.name);
    }
  } catch (error) {
    const reason = error instanceof Deno.errors.NotFound ? "folder not found" : `cannot list (${error})`;
    throw new TemplateError(`${directory}: ${reason}`);
  }
  files.sort();
  const templates: MaskTemplate[] = [];
  const seen = new Map<string, string>();
  for (const file of files) {
    const template = await loadTemplate(joinPath(directory, file));
    const previous = seen.get(template.name);
    if (previous) {
      throw new TemplateError(`${template.source}: name "${template.name}" already used by ${previous}`);
    }
    seen.set(template.name, template.source);
    templates.push(template);
  }
  return templates.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Where the template's anchors land on an ArcFace-aligned face of `size` pixels (the template's own
 * landmark subset of {@linkcode ARCFACE_112}, scaled).
 *
 * @example
 * ```ts
 * import { alignedLandmarkTargets } from "./templates.ts";
 * console.log(alignedLandmarkTargets([2], 224)); // [ [ 112.0504, 143.4732 ] ]
 * ```
 */
export function alignedLandmarkTargets(landmarks: readonly number[], size = 112): Point[] {
  const scale = size / 112;
  return landmarks.map((k) => [ARCFACE_112[k][0] * scale, ARCFACE_112[k][1] * scale] as const);
}
