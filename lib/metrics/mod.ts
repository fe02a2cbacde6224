/**
 * Biometric verification metrics as the MaskInv paper reports them: EER, FMR100, FMR1000, G-mean, I-mean,
 * FDR, TAR at any FAR, ROC/DET curves, LFW-protocol 10-fold accuracy, threshold calibration across the
 * UM-UM / M-UM / M-M scenarios, result tables in the paper's layout, and the evaluation runner that
 * embeds a benchmark's views once and reports every scenario.
 *
 * Scores are similarities (higher = same person), sorted once ({@linkcode SortedScores}) so every metric
 * costs O(n log n) in total.
 *
 * @example From scores to the paper's numbers
 * ```ts
 * import { SortedScores, tarAtFar, verificationMetrics } from "./mod.ts";
 * const scores = SortedScores.from([0.71, 0.64, 0.52, 0.33], [0.12, 0.05, 0.31, -0.02, 0.2]);
 * const metrics = verificationMetrics(scores);
 * console.log(metrics.eer, metrics.fmr100, metrics.fdr, tarAtFar(scores, 1e-3).tar);
 * ```
 *
 * @module
 */
export * from "./scores.ts";
export * from "./sort.ts";
export * from "./verification.ts";
export * from "./ten_fold.ts";
export * from "./calibration.ts";
export * from "./table.ts";
export * from "./scenarios.ts";
export * from "./evaluate.ts";
export * from "./landmark_cache.ts";
export * from "./real_faces.ts";
