/**
 * Training and template-level distillation: the ElasticFace/MaskInv training loop (SGD with momentum and weight
 * decay as PyTorch's, batch-scaled step schedule, gradient clipping), MaskInv's distillation from a frozen
 * teacher that sees the unmasked copy, crash-safe checkpoints with exact resumption, a JSON-lines log, progress
 * for terminals and notebooks, and the ablation's recipes as data.
 *
 * @example Train the quick baseline on synthetic identities, then distil a masked student from it
 * ```ts
 * import { distill, openTrainingData, train, trainRecipe } from "./mod.ts";
 * const base = trainRecipe("baseline", "quick");
 * const data = await openTrainingData(base.data, null);
 * const teacher = await train({ config: { ...base.train, steps: 2 }, data, outDir: await Deno.makeTempDir() });
 * const lg = trainRecipe("maskinv-lg", "quick");
 * const masked = await openTrainingData(lg.data, lg.masks);
 * const student = await distill({
 *   config: { ...lg.train, steps: 2 },
 *   data: masked,
 *   teacher: teacher.network,
 *   outDir: await Deno.makeTempDir(),
 * });
 * student.dispose();
 * teacher.dispose();
 * ```
 *
 * @module
 */
export * from "./schedule.ts";
export * from "./optimizer.ts";
export * from "./config.ts";
export * from "./configs.ts";
export * from "./checkpoints.ts";
export * from "./log.ts";
export * from "./data.ts";
export * from "./trainer.ts";
