/**
 * The ablation's evaluation: held-out verification pairs, shown in the paper's three scenarios (UM-UM, M-UM,
 * M-M) with synthetic masks that are the same on every run, and every metric of the paper per scenario.
 *
 * Evaluation masks use no random shift and are drawn per image from a fixed seed and the image's name, so an
 * image wears the same mask in M-UM and M-M, for every step, on every machine. The masked pixels are computed
 * once per image and reused for every model evaluated with the same evaluator.
 *
 * @module
 */
import type { FaceEmbedder } from "../models/embedder.ts";
import { readVerificationBin } from "../data/verification_bin.ts";
import { SyntheticFaces } from "../data/synthetic.ts";
import type { VerificationSet } from "../data/types.ts";
import type { Pixels } from "../data/pixels.ts";
import { applyMask, type MaskResources, maskResources } from "../masks/apply.ts";
import { drawMaskParamsWith, type MaskMode, rngForKey } from "../masks/params.ts";
import { readPaperTemplate } from "../masks/paper.ts";
import { loadTemplateFolder, type MaskTemplate } from "../masks/templates.ts";
import type { RecipeSize } from "../train/configs.ts";
import type { MaskSpec, ValidationCallback, ValidationSpec } from "../train/mod.ts";
import {
  embedViews,
  evaluateVerification,
  maskedScenarios,
  type VerificationEvaluation,
  verificationSetViews,
  viewId,
  type ViewKey,
} from "../metrics/mod.ts";
import type { ProgressOutput } from "../util/progress.ts";

/**
 * Seed of the evaluation masks (any fixed number: it makes the masks repeat; 2021 is the paper's year, and the
 * seed `deno task train`'s validation has always used).
 *
 * @example
 * ```ts
 * import { EVALUATION_MASK_SEED } from "./evaluation.ts";
 * console.log(EVALUATION_MASK_SEED); // 2021
 * ```
 */
export const EVALUATION_MASK_SEED = 2021;

/**
 * Name of the mask variant of masked views: `{ image, mask: MASKED_VIEW }` asks an evaluator's view loader for
 * the image with its evaluation mask.
 *
 * @example
 * ```ts
 * import { MASKED_VIEW } from "./evaluation.ts";
 * console.log({ image: 3, mask: MASKED_VIEW });
 * ```
 */
export const MASKED_VIEW = "masked";
const MASKED = MASKED_VIEW;

/** Where the ablation is evaluated, and with which masks. */
export interface AblationEvaluationPlan {
  /** The held-out pairs: synthetic identities, or insightface `.bin` benchmarks. */
  readonly data: ValidationSpec;
  /** The masks of masked views. */
  readonly masks: MaskSpec;
  /** Seed of the per-image mask parameters. */
  readonly maskSeed: number;
}

/**
 * The evaluation of each size. The synthetic sets draw their identities from the `eval` pool (never seen in
 * training) with seed 2, so they are disjoint from the recipes' validation set (seed 1) as well, on which the
 * recipes' sizes were chosen: a test set no choice was made on.
 *
 * @example
 * ```ts
 * import { ABLATION_EVALUATION } from "./evaluation.ts";
 * console.log(ABLATION_EVALUATION.default.data); // synthetic, 200 identities x 6, 3000 pairs, seed 2
 * ```
 */
export const ABLATION_EVALUATION: Readonly<Record<RecipeSize, AblationEvaluationPlan>> = {
  // The paper evaluates on LFW, CALFW, CPLFW, AgeDB-30, CFP-FP (.bin files of faces_emore, given by the user)
  // masked with the released template (MaskInv paper Sec. IV; released eval code), no shift.
  paper: {
    data: { kind: "bin", paths: null },
    masks: { mode: "paper", template: null },
    maskSeed: EVALUATION_MASK_SEED,
  },
  // 3000 pairs (1500 genuine): an EER near 10% is then known to about ±0.8 points (one standard error).
  default: {
    data: { kind: "synthetic", identities: 200, imagesPerIdentity: 6, pairs: 3000, seed: 2 },
    masks: { mode: "clean" },
    maskSeed: EVALUATION_MASK_SEED,
  },
  quick: {
    data: { kind: "synthetic", identities: 40, imagesPerIdentity: 4, pairs: 200, seed: 2 },
    masks: { mode: "clean" },
    maskSeed: EVALUATION_MASK_SEED,
  },
};

/** Paths an evaluation plan leaves to the user. */
export interface EvaluationLocations {
  /** Verification `.bin` files, for `bin` data without paths (or to override them). */
  bench?: readonly string[];
  /** The released MaskInv template (`mask_img.png`), for `paper` masks without a path. */
  maskTemplate?: string;
}

/** Options of {@linkcode AblationEvaluator.evaluate}. */
export interface EvaluatorOptions {
  /** Progress of the embedding (default `auto`). */
  progress?: ProgressOutput;
  /** Views embedded per batch (default 32). */
  batchSize?: number;
}

/**
 * How close a model's template of a masked face stays to templates of the same face unmasked: mean cosine
 * similarity over the images of a set (flip-summed embeddings, as in the evaluation).
 */
export interface MaskInvariance {
  /** The verification set. */
  set: string;
  /** Images measured. */
  images: number;
  /** The model on the masked face vs the model on the unmasked face. */
  self: number;
  /** The model on the masked face vs the teacher on the unmasked face: what distillation pulls up. */
  maskedToTeacher: number | null;
  /** The model on the unmasked face vs the teacher on the unmasked face. */
  unmaskedToTeacher: number | null;
}

/** Options of {@linkcode AblationEvaluator.open}. */
export interface OpenEvaluatorOptions extends EvaluationLocations {
  /** Most bytes of prepared (decoded, masked) views kept for the next model (default 512 MiB). */
  cacheBytes?: number;
}

/**
 * Verification sets with their reproducible evaluation masks: evaluates any {@linkcode FaceEmbedder} in
 * UM-UM, M-UM and M-M with all of the paper's metrics.
 *
 * @example
 * ```ts
 * import { AblationEvaluator } from "./evaluation.ts";
 * import { createNetwork } from "../models/mod.ts";
 * import { trainRecipe } from "../train/mod.ts";
 * const evaluator = await AblationEvaluator.open({
 *   data: { kind: "synthetic", identities: 6, imagesPerIdentity: 2, pairs: 12, seed: 2 },
 *   masks: { mode: "clean" },
 *   maskSeed: 2021,
 * });
 * const model = createNetwork(trainRecipe("baseline", "quick").train.architecture);
 * const results = await evaluator.evaluate(model, { progress: "none" });
 * console.log(results["synthetic-eval"].scenarios["M-UM"].metrics.eer);
 * model.dispose();
 * ```
 */
export class AblationEvaluator {
  /** The plan it was opened from. */
  readonly plan: AblationEvaluationPlan;
  /** The verification sets, each evaluated separately. */
  readonly sets: readonly VerificationSet[];
  readonly #templates: readonly MaskTemplate[];
  readonly #resources: MaskResources;
  readonly #cache = new Map<string, Pixels>();
  readonly #cacheLimit: number;
  #cacheBytes = 0;

  private constructor(
    plan: AblationEvaluationPlan,
    sets: VerificationSet[],
    templates: MaskTemplate[],
    resources: MaskResources,
    cacheLimit: number,
  ) {
    this.plan = plan;
    this.sets = sets;
    this.#templates = templates;
    this.#resources = resources;
    this.#cacheLimit = cacheLimit;
  }

  /**
   * Opens the sets and the mask templates a plan names.
   *
   * @throws {Error} When `.bin` files or the paper template are needed but not given, or cannot be read.
   */
  static async open(
    plan: AblationEvaluationPlan,
    options: OpenEvaluatorOptions = {},
  ): Promise<AblationEvaluator> {
    const sets = await openVerificationSets(plan.data, options);
    const mode: MaskMode = plan.masks.mode;
    const templates = mode === "clean" ? await loadTemplateFolder() : [];
    let paperTemplate: Pixels | undefined;
    if (plan.masks.mode === "paper") {
      const path = options.maskTemplate ?? plan.masks.template;
      if (path == null) {
        throw new Error(
          "the evaluation uses the paper's masks: give the released MaskInv template (mask_img.png, CC BY-NC, " +
            "not shipped) with --mask-template",
        );
      }
      paperTemplate = await readPaperTemplate(path);
    }
    return new AblationEvaluator(
      plan,
      sets,
      templates,
      maskResources(templates, paperTemplate),
      options.cacheBytes ?? 512 * 2 ** 20,
    );
  }

  /** Image `image` of set `set` with its evaluation mask (the same on every call and run). */
  maskedFace(set: VerificationSet, face: Pixels, image: number): Pixels {
    const key = set.imageName(image);
    const params = drawMaskParamsWith(rngForKey(this.plan.maskSeed, key), key, {
      seed: this.plan.maskSeed,
      mode: this.plan.masks.mode,
      templates: this.#templates,
      shift: false,
      textureProbability: this.plan.masks.mode === "clean" ? this.plan.masks.textureProbability : undefined,
    });
    return applyMask(face, params, this.#resources);
  }

  /** The view loader of one set: decoded, masked when the view says so, kept for the next model. */
  views(set: VerificationSet): (view: ViewKey) => Promise<Pixels> {
    const load = verificationSetViews(set, {
      masks: { [MASKED]: (face, image) => this.maskedFace(set, face, image) },
    });
    return async (view) => {
      const key = `${set.name}\u0000${viewId(view)}`;
      const hit = this.#cache.get(key);
      if (hit) return hit;
      const pixels = await load(view);
      if (this.#cacheBytes + pixels.data.length <= this.#cacheLimit) {
        this.#cache.set(key, pixels);
        this.#cacheBytes += pixels.data.length;
      }
      return pixels;
    };
  }

  /**
   * Evaluates a model on every set: UM-UM, M-UM (the probe masked) and M-M, with EER, FMR100, FMR1000,
   * G-mean, I-mean, FDR, 10-fold accuracy, TAR at fixed FARs and the thresholds calibrated on UM-UM.
   *
   * @returns Results by set name.
   */
  async evaluate(
    embedder: FaceEmbedder,
    options: EvaluatorOptions = {},
  ): Promise<Record<string, VerificationEvaluation>> {
    const results: Record<string, VerificationEvaluation> = {};
    for (const set of this.sets) {
      results[set.name] = await evaluateVerification({
        embedder,
        views: this.views(set),
        scenarios: maskedScenarios(set.pairs, { mask: MASKED }),
        progress: options.progress ?? "auto",
        batchSize: options.batchSize,
      });
    }
    return results;
  }

  /**
   * Measures how mask-invariant a model's templates are (see {@linkcode MaskInvariance}) on the first
   * `images` images of each set; with a teacher, also how close they come to the teacher's unmasked templates.
   */
  async maskInvariance(
    model: FaceEmbedder,
    teacher?: FaceEmbedder,
    options: EvaluatorOptions & { images?: number } = {},
  ): Promise<MaskInvariance[]> {
    const results: MaskInvariance[] = [];
    for (const set of this.sets) {
      const count = Math.min(set.imageCount, options.images ?? 400);
      const unmasked: ViewKey[] = Array.from({ length: count }, (_, image) => ({ image, mask: null }));
      const masked: ViewKey[] = unmasked.map((v) => ({ image: v.image, mask: MASKED }));
      const loader = this.views(set);
      const embed = (embedder: FaceEmbedder, views: ViewKey[]) =>
        embedViews(embedder, views, loader, {
          progress: options.progress ?? "none",
          batchSize: options.batchSize,
        });
      const modelMasked = await embed(model, masked);
      const modelUnmasked = await embed(model, unmasked);
      const width = model.embeddingSize;
      let maskedToTeacher: number | null = null;
      let unmaskedToTeacher: number | null = null;
      if (teacher) {
        if (teacher.embeddingSize !== width) {
          throw new RangeError(
            `${teacher.name} embeds to ${teacher.embeddingSize} values, ${model.name} to ${width}: templates differ`,
          );
        }
        const teacherUnmasked = await embed(teacher, unmasked);
        maskedToTeacher = meanRowCosine(modelMasked, teacherUnmasked, width);
        unmaskedToTeacher = meanRowCosine(modelUnmasked, teacherUnmasked, width);
      }
      results.push({
        set: set.name,
        images: count,
        self: meanRowCosine(modelMasked, modelUnmasked, width),
        maskedToTeacher,
        unmaskedToTeacher,
      });
    }
    return results;
  }
}

/** Mean over rows of the dot products of two row-major matrices of unit rows. */
function meanRowCosine(a: Float64Array, b: Float64Array, width: number): number {
  const rows = a.length / width;
  let total = 0;
  for (let r = 0; r < rows; r++) {
    let dot = 0;
    for (let c = 0; c < width; c++) dot += a[r * width + c] * b[r * width + c];
    total += dot;
  }
  return total / rows;
}

async function openVerificationSets(
  spec: ValidationSpec,
  locations: EvaluationLocations,
): Promise<VerificationSet[]> {
  if (spec.kind === "synthetic") {
    return [
      new SyntheticFaces({
        split: "eval",
        seed: spec.seed,
        identities: spec.identities,
        imagesPerIdentity: spec.imagesPerIdentity,
        pairs: spec.pairs,
      }),
    ];
  }
  const paths = locations.bench ?? spec.paths;
  if (paths == null || paths.length === 0) {
    throw new Error(
      "this evaluation uses verification .bin files (lfw.bin, agedb_30.bin, … from faces_emore): give them with --bench",
    );
  }
  const sets = await Promise.all(paths.map((path) => readVerificationBin(path)));
  const names = new Set<string>();
  for (const set of sets) {
    if (names.has(set.name)) throw new Error(`two verification files are both named "${set.name}"`);
    names.add(set.name);
  }
  return sets;
}

/**
 * A training-time validation callback over a recipe's held-out pairs: EER and 10-fold accuracy in UM-UM, M-UM
 * and M-M (keys `UM-UM/eer`, `M-UM/acc`, …; prefixed with the set's name when there are several sets).
 *
 * @example
 * ```ts
 * import { validationCallback } from "./evaluation.ts";
 * import { trainRecipe } from "../train/mod.ts";
 * const recipe = trainRecipe("masked", "quick");
 * const validate = await validationCallback(recipe.validation, recipe.evaluationMasks);
 * console.log(typeof validate); // function
 * ```
 */
export async function validationCallback(
  spec: ValidationSpec,
  masks: MaskSpec,
  locations: EvaluationLocations = {},
): Promise<ValidationCallback> {
  const evaluator = await AblationEvaluator.open(
    { data: spec, masks, maskSeed: EVALUATION_MASK_SEED },
    locations,
  );
  return async (embedder) => {
    const results = await evaluator.evaluate(embedder, { progress: "none" });
    const numbers: Record<string, number> = {};
    const prefixed = Object.keys(results).length > 1;
    for (const [setName, evaluation] of Object.entries(results)) {
      for (const [scenario, result] of Object.entries(evaluation.scenarios)) {
        const prefix = prefixed ? `${setName}/${scenario}` : scenario;
        numbers[`${prefix}/eer`] = result.metrics.eer;
        if (result.accuracy) numbers[`${prefix}/acc`] = result.accuracy.meanAccuracy;
      }
    }
    return numbers;
  };
}
