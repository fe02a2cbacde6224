/**
 * Synthetic face masks. Two modes:
 *
 * - **paper** — the MaskInv paper's released compositing, byte-exact: the user-supplied template
 *   (`mask_img.png`) fitted by OpenCV's least-squares homography, warped with OpenCV's fixed-point bilinear
 *   interpolation, shaded, coloured and cast to 8 bits exactly as released ({@linkcode maskPaperExact}).
 * - **clean** — the project's own templates (`masks/`: surgical, KN95, N95, cloth; add more by dropping an
 *   RGBA image and a JSON descriptor into a folder), placed on any face from five landmarks, with colour,
 *   texture, shading, brightness matched to the face and proper alpha compositing ({@linkcode maskClean}).
 *
 * Parameters (template, colour, shift, texture) are drawn from a seed and each image's key and saved as
 * JSON lines, so evaluation sets are masked identically on every run ({@linkcode drawMaskParams}). For
 * training, {@linkcode TensorMasker} masks whole batches on the TensorFlow.js engine and plugs into the
 * data pipeline as its `BatchMasker`.
 *
 * @example Mask an aligned face with a blue surgical mask
 * ```ts
 * import { loadTemplateFolder, maskClean } from "./mod.ts";
 * import { ARCFACE_112 } from "../image/geometry.ts";
 * const [surgical] = (await loadTemplateFolder()).filter((t) => t.name === "surgical");
 * const face = { width: 112, height: 112, channels: 3 as const, data: new Uint8Array(112 * 112 * 3).fill(160) };
 * const masked = maskClean(face, surgical, ARCFACE_112, { colour: [150, 200, 230] });
 * console.log(masked.width, masked.channels); // 112 3
 * ```
 *
 * @module
 */
export * from "./linalg.ts";
export * from "./homography.ts";
export * from "./warp_perspective.ts";
export * from "./paper.ts";
export * from "./templates.ts";
export * from "./texture.ts";
export * from "./placement.ts";
export * from "./clean.ts";
export * from "./params.ts";
export * from "./apply.ts";
export * from "./batch.ts";
export * from "./folder.ts";
