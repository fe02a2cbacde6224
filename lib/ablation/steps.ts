/**
 * The four steps of MaskInv's step-wise ablation (Huber et al., FG 2021, Sec. IV, Table I) as data: what each
 * step trains, from where, with which masking probability and distillation weight, and what it tests. The
 * training numbers come from `lib/train`'s recipes; this module adds what a reader of a result table needs.
 *
 * @module
 */
import {
  ABLATION_STEPS,
  type AblationStep,
  type RecipeSize,
  type TrainRecipe,
  trainRecipe,
} from "../train/configs.ts";

/** What a step is, in words: for tables, plots, notebooks and the command line. */
export interface AblationStepInfo {
  /** The step. */
  readonly step: AblationStep;
  /** Position in the ablation (1-based). */
  readonly number: number;
  /** Row label of result tables, e.g. `"MaskInv-LG"`. */
  readonly label: string;
  /** One line: what is trained. */
  readonly summary: string;
  /** The question the step answers against the previous one. */
  readonly question: string;
  /** The paper's reasoning for the step, in maskinv's words. */
  readonly rationale: string;
}

/** A step in one size: its words, its recipe, and the numbers that define it. */
export interface AblationStepDefinition extends AblationStepInfo {
  /** The training recipe (configuration, data, masks, teacher, start). */
  readonly recipe: TrainRecipe;
  /** Probability that a training face wears a mask. */
  readonly maskProbability: number;
  /** Weight λ of the template-level distillation loss (0: none). */
  readonly kdWeight: number;
  /** The step whose model is the frozen teacher, or `null`. */
  readonly teacher: AblationStep | null;
  /** The step whose final checkpoint the student starts from, or `null` (random initialisation). */
  readonly initFrom: AblationStep | null;
  /** The step this one is compared with in the paper's reasoning, or `null` for the first. */
  readonly previous: AblationStep | null;
}

/**
 * The words of every step.
 *
 * @example
 * ```ts
 * import { ABLATION_STEP_INFO } from "./steps.ts";
 * console.log(ABLATION_STEP_INFO["maskinv-hg"].label); // MaskInv-HG
 * ```
 */
export const ABLATION_STEP_INFO: Readonly<Record<AblationStep, AblationStepInfo>> = {
  baseline: {
    step: "baseline",
    number: 1,
    label: "Baseline",
    summary: "ElasticFace-Arc trained on unmasked faces; it is also the frozen teacher of steps 3 and 4",
    question: "How much does a mask hurt a model that never saw one?",
    rationale:
      "A state-of-the-art face recognition model learns identity from the whole face. A mask hides the " +
      "mouth, the nose and the lower cheeks, so the features the model relies on partly vanish: comparisons " +
      "with a masked face (M-UM, M-M) should be clearly worse than unmasked ones (UM-UM). The same model, " +
      "frozen, is the teacher of MaskInv: its embeddings of unmasked faces are what a mask-invariant model " +
      "should reproduce.",
  },
  masked: {
    step: "masked",
    number: 2,
    label: "Masked training",
    summary: "starts from the baseline and keeps training with synthetic masks on half of the faces (λ = 0)",
    question: "Does seeing masked faces during training alone close the gap?",
    rationale: "The obvious remedy is data: show the network masked faces. Fine-tuning the baseline with a " +
      "synthetic mask on half of the training faces teaches it to use what stays visible (eyes, brows, " +
      "forehead, face shape). This step isolates the effect of masked data, so that the next step can show " +
      "what distillation adds on top of it.",
  },
  "maskinv-lg": {
    step: "maskinv-lg",
    number: 3,
    label: "MaskInv-LG",
    summary: "as step 2, plus template-level distillation from the frozen baseline with λ = 100",
    question:
      "Does pulling the masked face's embedding towards the teacher's embedding of the unmasked face help?",
    rationale:
      "MaskInv's idea: the student sees a face that may be masked, the frozen teacher sees the same face " +
      "without the mask, and a loss (MSE of the L2-normalised embeddings, weight λ) pulls the student's " +
      "template towards the teacher's. The student thus learns to produce, for a masked face, the template the " +
      "unmasked face would have had: mask invariance by construction, while the margin loss keeps identities " +
      "apart. LG (low guidance) uses λ = 100.",
  },
  "maskinv-hg": {
    step: "maskinv-hg",
    number: 4,
    label: "MaskInv-HG",
    summary: "fine-tuned from MaskInv-LG with a 30x stronger distillation weight, λ = 3000",
    question: "Does stronger guidance towards the teacher help further?",
    rationale: "With a much larger λ (high guidance), the distillation term dominates the margin loss: the " +
      "student is pushed to match the teacher's unmasked templates closely. The paper reports that this " +
      "helps the masked scenarios further, at a small cost or none on unmasked pairs.",
  },
};

/** Which step each step is compared with. */
const PREVIOUS: Readonly<Record<AblationStep, AblationStep | null>> = {
  baseline: null,
  masked: "baseline",
  "maskinv-lg": "masked",
  "maskinv-hg": "maskinv-lg",
};

/**
 * One step in one size.
 *
 * @throws {Error} For an unknown step or size (naming the known ones).
 * @example
 * ```ts
 * import { ablationStep } from "./steps.ts";
 * const lg = ablationStep("maskinv-lg", "default");
 * console.log(lg.kdWeight, lg.maskProbability, lg.initFrom, lg.teacher); // 100 0.5 baseline baseline
 * ```
 */
export function ablationStep(step: AblationStep, size: RecipeSize): AblationStepDefinition {
  const recipe = trainRecipe(step, size);
  return {
    ...ABLATION_STEP_INFO[step],
    recipe,
    maskProbability: recipe.train.maskProbability,
    kdWeight: recipe.train.kdWeight,
    teacher: recipe.teacher,
    initFrom: recipe.initFrom,
    previous: PREVIOUS[step],
  };
}

/**
 * All four steps in one size, in the ablation's order.
 *
 * @example
 * ```ts
 * import { ablationSteps } from "./steps.ts";
 * console.log(ablationSteps("quick").map((s) => s.label).join(" → "));
 * // Baseline → Masked training → MaskInv-LG → MaskInv-HG
 * ```
 */
export function ablationSteps(size: RecipeSize): AblationStepDefinition[] {
  return ABLATION_STEPS.map((step) => ablationStep(step, size));
}

/**
 * Parses a comma-separated list of steps (e.g. the command line's `--steps baseline,maskinv-lg`), keeping
 * the ablation's order and dropping duplicates. Accepts short names too: `lg`, `hg`.
 *
 * @throws {RangeError} For an unknown step (naming the known ones) or an empty list.
 * @example
 * ```ts
 * import { parseSteps } from "./steps.ts";
 * console.log(parseSteps("hg,baseline")); // [ "baseline", "maskinv-hg" ]
 * ```
 */
export function parseSteps(text: string): AblationStep[] {
  const aliases: Record<string, AblationStep> = { lg: "maskinv-lg", hg: "maskinv-hg" };
  const wanted = new Set<AblationStep>();
  for (const raw of text.split(",").map((s) => s.trim().toLowerCase()).filter((s) => s !== "")) {
    const step = aliases[raw] ?? raw;
    if (!(ABLATION_STEPS as readonly string[]).includes(step)) {
      throw new RangeError(`unknown ablation step "${raw}"; known: ${ABLATION_STEPS.join(", ")} (or lg, hg)`);
    }
    wanted.add(step as AblationStep);
  }
  if (wanted.size === 0) throw new RangeError("no ablation step given");
  return ABLATION_STEPS.filter((step) => wanted.has(step));
}
