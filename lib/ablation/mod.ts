/**
 * MaskInv's step-wise ablation (Huber et al., FG 2021): the four steps as data, the runner that trains (or
 * reuses) and evaluates them, and the report — what `deno task ablation` and the step notebooks share.
 *
 * 1. `baseline`: ElasticFace-Arc on unmasked faces (also the frozen teacher);
 * 2. `masked`: from the baseline, trained with masks on half of the faces, λ = 0;
 * 3. `maskinv-lg`: as 2 plus template-level distillation from the teacher, λ = 100;
 * 4. `maskinv-hg`: fine-tuned from 3 with λ = 3000.
 *
 * Each step is evaluated in UM-UM, M-UM and M-M (reproducible masks) with EER, FMR100, FMR1000, G-mean,
 * I-mean, FDR and 10-fold accuracy.
 *
 * @example The quick ablation, written as results/ablation.{json,md,html}
 * ```ts
 * import { ablationTableMarkdown, runAblation, writeAblationReport } from "./mod.ts";
 * const run = await runAblation({ size: "quick", out: "results" });
 * await writeAblationReport(run, "results");
 * console.log(ablationTableMarkdown(run.steps));
 * ```
 *
 * @module
 */
export * from "./steps.ts";
export * from "./evaluation.ts";
export * from "./runner.ts";
export * from "./report.ts";
