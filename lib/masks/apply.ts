/**
 * Applying saved {@linkcode MaskParams} to one image, in either mode.
 *
 * @module
 */
import { assertPixels, type Pixels } from "../data/pixels.ts";
import { arcfaceTemplate, type Landmarks5 } from "../image/geometry.ts";
import { maskClean, toRgb } from "./clean.ts";
import { maskPaperExact, PAPER_FACE_SIZE } from "./paper.ts";
import type { MaskParams } from "./params.ts";
import type { MaskTemplate } from "./templates.ts";

/** Templates available to {@linkcode applyMask}. */
export interface MaskResources {
  /** Clean-mode templates by name. */
  templates: ReadonlyMap<string, MaskTemplate>;
  /** The released MaskInv template (RGBA), needed for paper mode. */
  paperTemplate?: Pixels;
}

/**
 * Builds {@linkcode MaskResources} from a list of templates.
 *
 * @example
 * ```ts
 * import { maskResources } from "./apply.ts";
 * console.log(maskResources([]).templates.size); // 0
 * ```
 */
export function maskResources(templates: readonly MaskTemplate[], paperTemplate?: Pixels): MaskResources {
  return { templates: new Map(templates.map((t) => [t.name, t])), paperTemplate };
}

/**
 * Masks one image with its parameters.
 *
 * Paper mode needs an ArcFace-aligned 112x112 face (the released code's setting). Clean mode takes any
 * photo with its five landmarks; for an aligned square face (112, 224, …) the landmarks default to the
 * ArcFace template.
 *
 * @throws {Error} When the template is unknown, the paper template is missing, or the face does not fit
 *   the mode (the message says which).
 * @example
 * ```ts
 * import { applyMask, maskResources } from "./apply.ts";
 * import { loadTemplateFolder } from "./templates.ts";
 * import { drawMaskParams } from "./params.ts";
 * const templates = await loadTemplateFolder();
 * const [params] = drawMaskParams(["f.png"], { seed: 1, mode: "clean", templates });
 * const face = { width: 112, height: 112, channels: 3 as const, data: new Uint8Array(112 * 112 * 3).fill(120) };
 * console.log(applyMask(face, params, maskResources(templates)).width); // 112
 * ```
 */
export function applyMask(
  face: Pixels,
  params: MaskParams,
  resources: MaskResources,
  landmarks?: Landmarks5,
): Pixels {
  assertPixels(face, params.key);
  if (params.mode === "paper") {
    if (!resources.paperTemplate) {
      throw new Error(`${params.key}: paper mode needs the released MaskInv template (mask_img.png)`);
    }
    if (face.width !== PAPER_FACE_SIZE || face.height !== PAPER_FACE_SIZE) {
      throw new Error(
        `${params.key}: paper mode needs an ArcFace-aligned 112x112 face, got ${face.width}x${face.height}`,
      );
    }
    const [rx, rs] = params.shift;
    return maskPaperExact(toRgb(face), resources.paperTemplate, { colour: params.colour, rs, rx });
  }
  const template = resources.templates.get(params.template);
  if (!template) {
    const known = [...resources.templates.keys()].join(", ") || "none loaded";
    throw new Error(`${params.key}: unknown mask template "${params.template}" (known: ${known})`);
  }
  let points = landmarks;
  if (!points) {
    if (face.width !== face.height || face.width % 112 !== 0) {
      throw new Error(
        `${params.key}: not an aligned square face (${face.width}x${face.height}); landmarks are needed`,
      );
    }
    points = arcfaceTemplate(face.width);
  }
  return maskClean(face, template, points, {
    colour: params.colour,
    texture: params.texture,
    shift: params.shift,
  });
}
