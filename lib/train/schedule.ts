/**
 * Learning-rate schedules of ElasticFace and MaskInv: a base rate scaled linearly with the batch size, a step
 * decay at configured epochs and an optional linear warm-up.
 *
 * @module
 */

/** The learning-rate part of a training configuration. */
export interface LearningRateSchedule {
  /** Learning rate at {@linkcode LearningRateSchedule.referenceBatch} (0.1 at 512 in ElasticFace and MaskInv). */
  readonly learningRate: number;
  /** Batch size at which `learningRate` applies; the rate scales linearly with the actual batch. */
  readonly referenceBatch: number;
  /**
   * 1-based epochs from whose start the rate is multiplied by `decayFactor` (cumulatively). ElasticFace's
   * `lr_step_func` counts `m` when `m − 1 <= epoch` (0-based), so `[8, 14, 20, 25]` lowers the rate for the
   * 8th, 14th, 20th and 25th epochs.
   */
  readonly decayEpochs: readonly number[];
  /** Factor applied at each decay epoch (0.1). */
  readonly decayFactor: number;
  /** Steps of linear warm-up from `lr/warmupSteps` to `lr` (0: none, as ElasticFace's `warmup_epoch = -1`). */
  readonly warmupSteps: number;
}

/**
 * The base rate for a batch: `learningRate · batch / referenceBatch` (ElasticFace `train.py`:
 * `lr = cfg.lr / 512 * cfg.batch_size * world_size`).
 *
 * @example
 * ```ts
 * import { scaledLearningRate } from "./schedule.ts";
 * console.log(scaledLearningRate(0.1, 128, 512)); // 0.025
 * ```
 */
export function scaledLearningRate(learningRate: number, batchSize: number, referenceBatch = 512): number {
  return learningRate * batchSize / referenceBatch;
}

/**
 * The learning rate of a step.
 *
 * @param schedule The schedule.
 * @param batchSize The actual batch size.
 * @param step 0-based index of the step about to run.
 * @param epoch 0-based epoch of that step.
 * @example The paper's schedule at batch 512: 0.1, then 0.01 from the 8th epoch
 * ```ts
 * import { learningRateAt } from "./schedule.ts";
 * const paper = { learningRate: 0.1, referenceBatch: 512, decayEpochs: [8, 14, 20, 25], decayFactor: 0.1, warmupSteps: 0 };
 * console.log(learningRateAt(paper, 512, 0, 6), learningRateAt(paper, 512, 0, 7)); // 0.1 0.01 (≈)
 * ```
 */
export function learningRateAt(
  schedule: LearningRateSchedule,
  batchSize: number,
  step: number,
  epoch: number,
): number {
  const decays = schedule.decayEpochs.filter((m) => m - 1 <= epoch).length;
  let rate = scaledLearningRate(schedule.learningRate, batchSize, schedule.referenceBatch) *
    schedule.decayFactor ** decays;
  if (schedule.warmupSteps > 0 && step < schedule.warmupSteps) rate *= (step + 1) / schedule.warmupSteps;
  return rate;
}
