/**
 * Pixels: decoding and encoding with a real codec library (sharp/libvips), resizing, geometric warps
 * (CPU, with an OpenCV-exact mode, and batched on the engine), facial landmarks from models shipped in an
 * npm package, alignment of faces to the ArcFace 112x112 template, and contact sheets.
 *
 * @example Align a face photo to the ArcFace template
 * ```ts
 * import { alignFace, detectLandmarks } from "./mod.ts";
 * const photo = { width: 160, height: 160, channels: 3 as const, data: new Uint8Array(160 * 160 * 3) };
 * const found = await detectLandmarks(photo, { faceCrop: true });
 * if (found.ok) console.log(alignFace(photo, found.points).width); // 112
 * else console.log(found.reason); // a blank image has no face
 * ```
 *
 * @module
 */
export * from "./codec.ts";
export * from "./geometry.ts";
export * from "./warp.ts";
export * from "./model_files.ts";
export * from "./landmarks.ts";
export * from "./align.ts";
export * from "./sheet.ts";
