/**
 * A training run as plain data: architecture, loss, optimiser, schedule, MaskInv's masking probability and
 * distillation weight, and the bookkeeping intervals. Stored with every checkpoint, compared on resume.
 *
 * @module
 */
import type { MarginLossConfig } from "../losses/margin.ts";
import type { NetworkConfig } from "../models/network.ts";
import type { FlipMode } from "../data/pipeline.ts";
import type { LearningRateSchedule } from "./schedule.ts";

/** Which gradients the global-norm clipping sees. */
export type ClipScope = "backbone" | "all";

/** Everything that defines a training run (JSON-serialisable). */
export interface TrainConfig extends LearningRateSchedule {
  /** A short name for logs and progress bars, e.g. `"maskinv-lg"`. */
  readonly name: string;
  /** The student network. */
  readonly architecture: NetworkConfig;
  /** The margin loss of the classification head (ElasticFace-Arc in MaskInv). */
  readonly loss: MarginLossConfig;
  /** Images per step. */
  readonly batchSize: number;
  /** Passes over the training set; the run takes `epochs × batchesPerEpoch` steps unless `steps` is set. */
  readonly epochs: number;
  /** Total steps, overriding `epochs` (short runs and tests). */
  readonly steps?: number;
  /** SGD momentum. */
  readonly momentum: number;
  /** L2 weight decay, on every trainable tensor of the network and the head (as ElasticFace). */
  readonly weightDecay: number;
  /** Maximum global L2 norm of the gradients (`clip_grad_norm_`); 0 disables clipping. */
  readonly clipNorm: number;
  /** `backbone`: clip the network's gradients only (ElasticFace and MaskInv `train.py`); `all`: with the head. */
  readonly clipScope: ClipScope;
  /** Probability that a training image is masked for the student (0: unmasked training). */
  readonly maskProbability: number;
  /** Weight λ of the template-level distillation loss (0: no teacher). */
  readonly kdWeight: number;
  /** How the student and teacher views are flipped (default `"same"`). */
  readonly flip?: FlipMode;
  /** Seed of the initial weights, the data order, the masks and the margins. */
  readonly seed: number;
  /** Steps between two lines of the metrics log (and progress updates of its fields). */
  readonly logEvery: number;
  /** Steps between two checkpoints (0: only at the end). */
  readonly checkpointEvery: number;
  /** Checkpoints kept on disk. */
  readonly keepCheckpoints: number;
  /** Steps between two validations (0: only at the end, when a validation is given). */
  readonly validateEvery: number;
}

/**
 * Fields that only change bookkeeping, not the trained weights; they may differ when a run is resumed.
 *
 * @example
 * ```ts
 * import { BOOKKEEPING_FIELDS } from "./config.ts";
 * const fields = BOOKKEEPING_FIELDS;
 * console.log(fields.includes("logEvery"), fields.includes("batchSize")); // true false
 * ```
 */
export const BOOKKEEPING_FIELDS: readonly (keyof TrainConfig)[] = [
  "name",
  "logEvery",
  "checkpointEvery",
  "keepCheckpoints",
  "validateEvery",
];

/**
 * Checks a configuration and returns it; every problem is named.
 *
 * @throws {RangeError} Listing each invalid field.
 * @example
 * ```ts
 * import { validateTrainConfig } from "./config.ts";
 * import { trainRecipe } from "./configs.ts";
 * console.log(validateTrainConfig(trainRecipe("baseline", "quick").train).name); // baseline
 * ```
 */
export function validateTrainConfig(config: TrainConfig): TrainConfig {
  const problems: string[] = [];
  const positiveInteger = (key: keyof TrainConfig) => {
    const v = config[key];
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1) {
      problems.push(`${key} must be a positive integer`);
    }
  };
  const nonNegativeInteger = (key: keyof TrainConfig) => {
    const v = config[key];
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0) {
      problems.push(`${key} must be an integer >= 0`);
    }
  };
  const nonNegative = (key: keyof TrainConfig) => {
    const v = config[key];
    if (typeof v !== "number" || !(v >= 0) || !Number.isFinite(v)) {
      problems.push(`${key} must be a number >= 0`);
    }
  };
  positiveInteger("batchSize");
  positiveInteger("referenceBatch");
  positiveInteger("logEvery");
  positiveInteger("keepCheckpoints");
  nonNegativeInteger("checkpointEvery");
  nonNegativeInteger("validateEvery");
  nonNegativeInteger("warmupSteps");
  nonNegative("weightDecay");
  nonNegative("clipNorm");
  nonNegative("kdWeight");
  nonNegative("decayFactor");
  if (config.steps !== undefined) positiveInteger("steps");
  else if (!(config.epochs > 0) || !Number.isFinite(config.epochs)) problems.push("epochs must be > 0");
  if (!(config.learningRate > 0) || !Number.isFinite(config.learningRate)) {
    problems.push("learningRate must be > 0");
  }
  if (!(config.momentum >= 0 && config.momentum < 1)) problems.push("momentum must be in [0, 1)");
  if (!(config.maskProbability >= 0 && config.maskProbability <= 1)) {
    problems.push("maskProbability must be in [0, 1]");
  }
  if (config.clipScope !== "backbone" && config.clipScope !== "all") {
    problems.push(`clipScope must be backbone or all`);
  }
  if (!Array.isArray(config.decayEpochs) || !config.decayEpochs.every((e) => Number.isInteger(e) && e >= 1)) {
    problems.push("decayEpochs must be 1-based epoch numbers");
  }
  if (!Number.isInteger(config.seed)) problems.push("seed must be an integer");
  if (problems.length > 0) {
    throw new RangeError(`training configuration "${config.name}": ${problems.join("; ")}`);
  }
  return config;
}
