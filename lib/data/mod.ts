/**
 * Datasets and their formats — the bottom layer of maskinv. Readers for insightface's MXNet RecordIO training
 * sets (`faces_emore`), verification `.bin` benchmarks (through a safe, restricted pickle reader), MFR2 with
 * its real mask types, plain image folders with LFW-style pairs; `SyntheticFaces`, the embedded
 * deterministic default in which a mask hides part of the identity; the MaskInv batch pipeline (student view
 * masked with probability p through an injected {@linkcode BatchMasker}, teacher view an unmasked copy); and
 * the UM-UM / M-UM / M-M evaluation scenarios as data.
 *
 * Readers hand out encoded bytes or pixels with labels; decoding and masking are injected by higher layers.
 *
 * @example Train batches from the synthetic default, no masks
 * ```ts
 * import { MaskInvPipeline, SyntheticFaces } from "./mod.ts";
 * const faces = new SyntheticFaces({ identities: 8, imagesPerIdentity: 4, pairs: 0 });
 * const pipeline = new MaskInvPipeline(faces, { batchSize: 16, maskProbability: 0 });
 * const batch = await pipeline.next();
 * console.log(batch.teacherView.shape); // [ 16, 112, 112, 3 ]
 * batch.dispose();
 * await pipeline.close();
 * ```
 *
 * @module
 */
export * from "./pixels.ts";
export * from "./types.ts";
export * from "./pickle.ts";
export * from "./recordio.ts";
export * from "./verification_bin.ts";
export * from "./image_folder.ts";
export * from "./mfr2.ts";
export * from "./pgm.ts";
export * from "./orl.ts";
export * from "./synthetic_traits.ts";
export * from "./synthetic_render.ts";
export * from "./synthetic.ts";
export * from "./pipeline.ts";
export * from "./skip_bad.ts";
export * from "./scenarios.ts";
