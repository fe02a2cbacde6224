/**
 * The training recipes of MaskInv's step-wise ablation as plain data, each in three sizes:
 *
 * - `paper`: the published setup — iResNet-100 on 112x112 MS1MV2 (RecordIO), batch 512, 26 epochs with the
 *   ×0.1 steps at epochs 8/14/20/25, the released MaskInv masks; for a GPU.
 * - `default`: a small iResNet on 56x56 views of maskinv's synthetic identities with the project's own
 *   masks, sized so that the four steps plus their evaluation run in well under 20 minutes on 2 CPU cores
 *   with the wasm engine (about 5 minutes measured).
 * - `quick`: smaller still (under a minute for all four steps), for CI and `MASKINV_QUICK=1`.
 *
 * Steps: `baseline` (ElasticFace-Arc, unmasked; also the teacher), `masked` (from the teacher, p = 0.5, λ = 0),
 * `maskinv-lg` (λ = 100), `maskinv-hg` (fine-tuned from LG, λ = 3000). Every number carries its source.
 *
 * @module
 */
import { ELASTIC_ARC } from "../losses/margin.ts";
import { type IResNetConfig, iresnetConfig } from "../models/iresnet.ts";
import type { TrainConfig } from "./config.ts";
import type { MaskSpec, TrainingDataSpec, ValidationSpec } from "./data.ts";

/**
 * The steps of the paper's ablation.
 *
 * @example
 * ```ts
 * import { ABLATION_STEPS } from "./configs.ts";
 * console.log(ABLATION_STEPS.join(" → ")); // baseline → masked → maskinv-lg → maskinv-hg
 * ```
 */
export const ABLATION_STEPS = ["baseline", "masked", "maskinv-lg", "maskinv-hg"] as const;

/** One step of the ablation. */
export type AblationStep = (typeof ABLATION_STEPS)[number];

/**
 * The sizes of every recipe.
 *
 * @example
 * ```ts
 * import { RECIPE_SIZES } from "./configs.ts";
 * console.log(RECIPE_SIZES.join(", ")); // paper, default, quick
 * ```
 */
export const RECIPE_SIZES = ["paper", "default", "quick"] as const;

/** A recipe size. */
export type RecipeSize = (typeof RECIPE_SIZES)[number];

/** Everything needed to run one step: the training configuration, its data, masks, teacher and start. */
export interface TrainRecipe {
  /** The step. */
  readonly step: AblationStep;
  /** The size. */
  readonly size: RecipeSize;
  /** The training configuration. */
  readonly train: TrainConfig;
  /** Training images. */
  readonly data: TrainingDataSpec;
  /** Training masks (`null`: unmasked training, no masker needed). */
  readonly masks: MaskSpec | null;
  /** The step whose final model is the frozen teacher (`null`: no teacher). */
  readonly teacher: AblationStep | null;
  /** The step whose final checkpoint (network and head) initialises the student (`null`: random). */
  readonly initFrom: AblationStep | null;
  /** Held-out pairs for validation during training. */
  readonly validation: ValidationSpec;
  /** Masks of the masked views of validation and evaluation (fixed per image, no shift). */
  readonly evaluationMasks: MaskSpec;
}

// ---------------------------------------------------------------------------------------------------------
// Shared by all sizes.

/**
 * Optimiser and bookkeeping of ElasticFace / MaskInv. Sources: fdbtrs/ElasticFace `config/config.py`
 * (`momentum = 0.9`, `weight_decay = 5e-4`, `lr = 0.1`, `warmup_epoch = -1`, steps `[8, 14, 20, 25]` with factor
 * 0.1 in `lr_step_func`) and `train.py` (`lr = cfg.lr / 512 * batch_size * world_size`, i.e. 0.1 at batch 512;
 * `clip_grad_norm_(backbone.parameters(), max_norm=5)`: the backbone only; weight decay on every parameter
 * of backbone and header, none excluded). fdbtrs/Masked-Face-Recognition-KD `train_kd.py` and `configKD.py`
 * use the same values.
 */
const ELASTICFACE_OPTIMISER = {
  learningRate: 0.1, // ElasticFace config.py `config.lr = 0.1`, at batch 512 (train.py)
  referenceBatch: 512, // train.py `cfg.lr / 512 * cfg.batch_size * world_size`
  decayFactor: 0.1, // config.py `lr_step_func`: `0.1 ** len([m for m in [8, 14, 20, 25] if m - 1 <= epoch])`
  warmupSteps: 0, // config.py `warmup_epoch = -1`
  momentum: 0.9, // config.py `config.momentum = 0.9`
  weightDecay: 5e-4, // config.py `config.weight_decay = 5e-4`
  clipNorm: 5, // train.py `clip_grad_norm_(backbone.parameters(), max_norm=5, norm_type=2)`
  clipScope: "backbone",
  flip: "same", // the teacher sees the student's (flipped) image, unmasked; see lib/data's pipeline
} as const;

/** Masking probability of the masked and MaskInv steps: 0.5 (MaskInv paper, Sec. III; DESIGN). */
const MASK_PROBABILITY = 0.5;

/** λ of MaskInv-LG: 100 (MaskInv paper; released `config/configKD.py` `config.w = 100`). */
const LAMBDA_LG = 100;

/** λ of MaskInv-HG: 3000 (MaskInv paper; released `configHG.py` `config.w = 3000`). */
const LAMBDA_HG = 3000;

interface StepShape {
  maskProbability: number;
  kdWeight: number;
  teacher: AblationStep | null;
  initFrom: AblationStep | null;
}

/** What each step changes, independent of size. */
const STEP_SHAPE: Readonly<Record<AblationStep, StepShape>> = {
  baseline: { maskProbability: 0, kdWeight: 0, teacher: null, initFrom: null },
  // The ablation's step 2: the student starts from the teacher (the baseline), trained with masks, λ = 0.
  "masked": { maskProbability: MASK_PROBABILITY, kdWeight: 0, teacher: null, initFrom: "baseline" },
  "maskinv-lg": {
    maskProbability: MASK_PROBABILITY,
    kdWeight: LAMBDA_LG,
    teacher: "baseline",
    initFrom: "baseline",
  },
  // MaskInv-HG fine-tunes the LG model (released configHG.py: `student_pth` = the LG run).
  "maskinv-hg": {
    maskProbability: MASK_PROBABILITY,
    kdWeight: LAMBDA_HG,
    teacher: "baseline",
    initFrom: "maskinv-lg",
  },
};

/** Per size: everything that is not the step's shape. */
interface SizePlan {
  architecture: IResNetConfig;
  batchSize: number;
  data: TrainingDataSpec;
  masks: MaskSpec;
  validation: ValidationSpec;
  evaluationMasks: MaskSpec;
  bookkeeping: Pick<TrainConfig, "logEvery" | "checkpointEvery" | "keepCheckpoints" | "validateEvery">;
  /** Epochs, decay epochs and learning rate (at batch 512) per step. */
  schedule: Record<AblationStep, Pick<TrainConfig, "epochs" | "decayEpochs" | "learningRate">>;
}

// ---------------------------------------------------------------------------------------------------------
// paper: the published setup.

/** The paper's 26-epoch schedule (MaskInv paper, Sec. IV; ElasticFace config.py `num_epoch = 26`, `[8, 14, 20, 25]`). */
const PAPER_SCHEDULE = { epochs: 26, decayEpochs: [8, 14, 20, 25], learningRate: 0.1 } as const;

const PAPER: SizePlan = {
  // iResNet-100, 112x112, 512-d (MaskInv paper Sec. IV; ElasticFace `iresnet100(num_features=512)`, no dropout).
  architecture: iresnetConfig("iresnet100"),
  batchSize: 512, // 4 GPUs x 128 (ElasticFace / MaskInv config `batch_size = 128` per GPU, 4 GPUs in the papers)
  data: { kind: "recordio", path: null }, // MS1MV2 = insightface faces_emore (85,742 ids, 5.8M images)
  masks: { mode: "paper", template: null }, // the released mask_img.png (CC BY-NC): given by the user
  validation: { kind: "bin", paths: null }, // lfw.bin, agedb_30.bin, … from faces_emore: given by the user
  evaluationMasks: { mode: "paper", template: null }, // MaskInv evaluates with the same released template
  bookkeeping: {
    logEvery: 50, // ElasticFace train.py `CallBackLogging(50, …)`
    validateEvery: 5686, // ElasticFace / MaskInv config `eval_step = 5686` (half an epoch at batch 512)
    checkpointEvery: 2000, // maskinv's choice: ~1/6 epoch, so a crash loses little of a multi-day run
    keepCheckpoints: 3,
  },
  schedule: {
    baseline: PAPER_SCHEDULE,
    masked: PAPER_SCHEDULE, // released configKD.py: lr 0.1, 26 epochs, the same steps
    "maskinv-lg": PAPER_SCHEDULE, // released configKD.py (`w = 100`)
    // Released configHG.py: `lr = 1.0` (scaled as the others: 1.0 at batch 512), `num_epoch = 26`, the same
    // steps, starting from the LG run. (The DESIGN notes: "λ = 3000 fine-tuning from an LG checkpoint with lr 1.0".)
    "maskinv-hg": { ...PAPER_SCHEDULE, learningRate: 1.0 },
  },
};

// ---------------------------------------------------------------------------------------------------------
// default: 2 CPU cores, wasm engine.
//
// Measured when sized (wasm, a shared 2-core machine under other load, an earlier and slower engine): the
// four steps took 616 + 267 + 420 + 225 s; validation EER (UM-UM / M-UM / M-M, 800 synthetic pairs):
// baseline 0.093 / 0.273 / 0.290, masked 0.078 / 0.143 / 0.130, LG 0.070 / 0.140 / 0.128,
// HG (one epoch, no decay) 0.085 / 0.140 / 0.130.
// Measured with this recipe (`deno task ablation`, wasm on both cores, mean load 1.3): 91 + 49 + 56 + 56 s of
// training, 4 min 55 s in all with the evaluation of every step on 3000 test pairs (lib/ablation).

const DEFAULT: SizePlan = {
  // iResNet with one block per stage and a quarter of the widths: the paper's architecture family at a size
  // a CPU trains in minutes. 56x56 is an exact 2x2 average of the 112x112 aligned faces (masks are drawn at
  // 112), and each stage halves it as in the paper's network (56 → 28 → 14 → 7 → 4).
  architecture: iresnetConfig("iresnet18", {
    layers: [1, 1, 1, 1],
    widths: [16, 32, 64, 128],
    embeddingSize: 128,
    inputSize: [56, 56],
  }),
  batchSize: 32, // the learning rate follows it linearly (0.8 at 512 → 0.05 at 32)
  // 200 identities x 12 photos: maskinv's choice — many identities (the held-out identities must be told apart
  // by features learned on others) and 4 epochs of them within the time.
  data: { kind: "synthetic", identities: 200, imagesPerIdentity: 12, seed: 0 },
  // The project's own templates with palette colours and random shifts as in the paper's training; no fabric
  // patterns (measured: patterned masks make a batch of 32 cost 513 instead of 403 ms to prepare, as each
  // pattern is warped anew).
  masks: { mode: "clean", textureProbability: 0 },
  validation: { kind: "synthetic", identities: 100, imagesPerIdentity: 4, pairs: 800, seed: 1 },
  evaluationMasks: { mode: "clean" },
  bookkeeping: { logEvery: 10, validateEvery: 0, checkpointEvery: 50, keepCheckpoints: 2 },
  schedule: {
    // From scratch: 8x the paper's rate (the paper's 0.1 at 512 is meant for 26 epochs of 5.8M images, this
    // run sees 9,600 images), lowered for the last two of four epochs.
    baseline: { epochs: 4, decayEpochs: [3, 4], learningRate: 0.8 },
    // Fine-tuning from the baseline (network and head) at half the baseline's rate.
    masked: { epochs: 2, decayEpochs: [2], learningRate: 0.4 },
    "maskinv-lg": { epochs: 2, decayEpochs: [2], learningRate: 0.4 },
    // From LG with LG's schedule, decay included, as the paper's HG repeats the whole schedule with its
    // steps (released configHG.py: 26 epochs, steps [8, 14, 20, 25]). At LG's rate, not the paper's 10x
    // (configHG.py lr 1.0 vs 0.1): measured here, 4.0 raised the held-out EERs from 0.085 / 0.140 / 0.130
    // to 0.105 / 0.168 / 0.150. Measured (test pairs, seeds 0 and 1): one epoch without the decay restarted
    // LG at 10x its final rate, and that restart alone (λ = 0) raised M-UM EER by 2.8 and 4.3 points over LG.
    "maskinv-hg": { epochs: 2, decayEpochs: [2], learningRate: 0.4 },
  },
};

// ---------------------------------------------------------------------------------------------------------
// quick: CI and MASKINV_QUICK=1 — the default's recipe on a network of half the widths and a fifth of the
// identities (measured on the shared machine: the baseline's 30 steps in 26 s, held-out EER 0.17 UM-UM and
// 0.31 M-UM).

const QUICK: SizePlan = {
  architecture: iresnetConfig("iresnet18", {
    layers: [1, 1, 1, 1],
    widths: [8, 16, 32, 64],
    embeddingSize: 64,
    inputSize: [56, 56],
  }),
  batchSize: 32,
  data: { kind: "synthetic", identities: 40, imagesPerIdentity: 8, seed: 0 },
  masks: { mode: "clean", textureProbability: 0 },
  validation: { kind: "synthetic", identities: 40, imagesPerIdentity: 4, pairs: 200, seed: 1 },
  evaluationMasks: { mode: "clean" },
  bookkeeping: { logEvery: 5, validateEvery: 0, checkpointEvery: 20, keepCheckpoints: 2 },
  schedule: {
    baseline: { epochs: 3, decayEpochs: [3], learningRate: 0.8 },
    masked: { epochs: 1, decayEpochs: [], learningRate: 0.4 },
    "maskinv-lg": { epochs: 1, decayEpochs: [], learningRate: 0.4 },
    "maskinv-hg": { epochs: 1, decayEpochs: [], learningRate: 0.4 },
  },
};

const PLANS: Readonly<Record<RecipeSize, SizePlan>> = { paper: PAPER, default: DEFAULT, quick: QUICK };

/**
 * The recipe of one ablation step in one size.
 *
 * @throws {Error} For an unknown step or size (naming the known ones).
 * @example
 * ```ts
 * import { trainRecipe } from "./configs.ts";
 * const hg = trainRecipe("maskinv-hg", "paper");
 * console.log(hg.train.kdWeight, hg.train.learningRate, hg.initFrom); // 3000 1 maskinv-lg
 * ```
 */
export function trainRecipe(step: AblationStep, size: RecipeSize): TrainRecipe {
  const plan = PLANS[size];
  if (plan == null) throw new Error(`unknown recipe size "${size}"; known: ${RECIPE_SIZES.join(", ")}`);
  const shape = STEP_SHAPE[step];
  if (shape == null) throw new Error(`unknown ablation step "${step}"; known: ${ABLATION_STEPS.join(", ")}`);
  const train: TrainConfig = {
    name: step,
    architecture: plan.architecture,
    loss: ELASTIC_ARC, // MaskInv trains with ElasticFace-Arc (paper Sec. III; released train_kd.py)
    batchSize: plan.batchSize,
    ...ELASTICFACE_OPTIMISER,
    ...plan.schedule[step],
    maskProbability: shape.maskProbability,
    kdWeight: shape.kdWeight,
    seed: 0,
    ...plan.bookkeeping,
  };
  return {
    step,
    size,
    train,
    data: plan.data,
    masks: shape.maskProbability > 0 ? plan.masks : null,
    teacher: shape.teacher,
    initFrom: shape.initFrom,
    validation: plan.validation,
    evaluationMasks: plan.evaluationMasks,
  };
}

/**
 * Every recipe, by size and step.
 *
 * @example
 * ```ts
 * import { TRAIN_RECIPES } from "./configs.ts";
 * console.log(TRAIN_RECIPES.default["maskinv-lg"].train.kdWeight); // 100
 * ```
 */
export const TRAIN_RECIPES: Readonly<Record<RecipeSize, Readonly<Record<AblationStep, TrainRecipe>>>> = Object
  .fromEntries(
    RECIPE_SIZES.map((
      size,
    ) => [size, Object.fromEntries(ABLATION_STEPS.map((step) => [step, trainRecipe(step, size)]))]),
  ) as Record<RecipeSize, Record<AblationStep, TrainRecipe>>;
