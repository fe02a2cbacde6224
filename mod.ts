/**
 * maskinv: mask-invariant face recognition through template-level knowledge distillation
 * (Huber, Boutros, Kirchbuchner, Damer, FG 2021), on TensorFlow.js for Deno.
 *
 * Each concern lives in its own folder under `lib/` and is re-exported here. Data flows one way:
 * data → image → masks → models + losses → train → metrics → plots → ablation, with `engine` usable by all.
 *
 * @example Pick the fastest engine available on this machine
 * ```ts
 * import { backendInfo, useBackend } from "./mod.ts";
 * await useBackend("auto");
 * console.log(backendInfo().name);
 * ```
 *
 * @module
 */
export * from "./lib/engine/mod.ts";
export * from "./lib/util/mod.ts";
export * from "./lib/data/mod.ts";
export * from "./lib/image/mod.ts";
export * from "./lib/masks/mod.ts";
export * from "./lib/models/mod.ts";
export * from "./lib/losses/mod.ts";
export * from "./lib/train/mod.ts";
export * from "./lib/metrics/mod.ts";
export * from "./lib/plots/mod.ts";
export * from "./lib/ablation/mod.ts";
