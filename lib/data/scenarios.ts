/**
 * Evaluation scenarios of the MaskInv protocol as plain data: for a set of verification pairs, which image is
 * shown masked or unmasked, and with which mask seed.
 *
 * - `UM-UM`: both images unmasked.
 * - `M-UM`: exactly one image of every pair masked — the probe, i.e. the pair's second image; the reference
 *   (first image) stays unmasked. (The released code masked "the second half of the array", which on
 *   insightface's interleaved pairs masks both images of half the pairs instead.)
 * - `M-M`: both images masked.
 *
 * Each image's mask seed is derived from the plan's seed and the image index alone, so an image masked in
 * `M-UM` and in `M-M` wears the same mask, and runs repeat exactly. The masks layer turns a seed into mask
 * parameters (template, colour) and applies them.
 *
 * @module
 */
import { hashSeed } from "../util/random.ts";
import type { ImagePair } from "./types.ts";

/**
 * The three evaluation scenarios.
 *
 * @example
 * ```ts
 * import { SCENARIOS } from "./scenarios.ts";
 * console.log(SCENARIOS.join(" ")); // "UM-UM M-UM M-M"
 * ```
 */
export const SCENARIOS = ["UM-UM", "M-UM", "M-M"] as const;

/** An evaluation scenario. */
export type Scenario = (typeof SCENARIOS)[number];

/** One image as shown to the model in a scenario. */
export interface EvaluationView {
  /** Index of the image in its verification set. */
  readonly image: number;
  /** Whether a synthetic mask is put on it. */
  readonly masked: boolean;
  /** Seed of the image's mask parameters (the same for the image in every scenario). */
  readonly maskSeed: number;
}

/** A pair of views: indices into {@linkcode ScenarioPlan.views}. */
export interface ViewPair {
  /** View of the reference image. */
  readonly first: number;
  /** View of the probe image. */
  readonly second: number;
  /** Same identity. */
  readonly genuine: boolean;
}

/** Everything needed to evaluate one scenario: distinct views (embed each once) and the pairs over them. */
export interface ScenarioPlan {
  /** The scenario. */
  readonly scenario: Scenario;
  /** Seed the mask seeds were derived from. */
  readonly seed: number;
  /** Distinct (image, masked) views, in order of first use. */
  readonly views: readonly EvaluationView[];
  /** The pairs, in the set's order. */
  readonly pairs: readonly ViewPair[];
}

/**
 * The mask seed of image `image` under evaluation seed `seed`.
 *
 * @example
 * ```ts
 * import { evaluationMaskSeed } from "./scenarios.ts";
 * console.log(evaluationMaskSeed(0, 5) === evaluationMaskSeed(0, 5)); // true
 * ```
 */
export function evaluationMaskSeed(seed: number, image: number): number {
  return hashSeed(`maskinv/eval-mask/${seed}/${image}`);
}

/**
 * Plans one scenario over `pairs` (e.g. `set.pairs` of any verification set).
 *
 * @param pairs The verification pairs.
 * @param scenario Which images are masked.
 * @param seed Seed of the per-image mask seeds (default 0).
 * @example M-UM on two interleaved pairs: only the probes (images 1 and 3) are masked
 * ```ts
 * import { planScenario } from "./scenarios.ts";
 * const pairs = [{ first: 0, second: 1, genuine: true }, { first: 2, second: 3, genuine: false }];
 * const plan = planScenario(pairs, "M-UM");
 * console.log(plan.views.map((v) => v.masked)); // [ false, true, false, true ]
 * ```
 */
export function planScenario(pairs: readonly ImagePair[], scenario: Scenario, seed = 0): ScenarioPlan {
  if (!SCENARIOS.includes(scenario)) throw new RangeError(`unknown scenario ${JSON.stringify(scenario)}`);
  const views: EvaluationView[] = [];
  const viewIndex = new Map<string, number>();
  const view = (image: number, masked: boolean): number => {
    if (!Number.isInteger(image) || image < 0) {
      throw new RangeError(`pair refers to invalid image index ${image}`);
    }
    const key = `${image}/${masked ? 1 : 0}`;
    let index = viewIndex.get(key);
    if (index === undefined) {
      index = views.length;
      views.push({ image, masked, maskSeed: evaluationMaskSeed(seed, image) });
      viewIndex.set(key, index);
    }
    return index;
  };
  const maskFirst = scenario === "M-M";
  const maskSecond = scenario !== "UM-UM";
  const planned = pairs.map((pair): ViewPair => ({
    first: view(pair.first, maskFirst),
    second: view(pair.second, maskSecond),
    genuine: pair.genuine,
  }));
  return { scenario, seed, views, pairs: planned };
}

/**
 * Plans all three scenarios.
 *
 * @example
 * ```ts
 * import { planScenarios } from "./scenarios.ts";
 * const plans = planScenarios([{ first: 0, second: 1, genuine: true }], 3);
 * console.log(plans.map((p) => p.scenario)); // [ "UM-UM", "M-UM", "M-M" ]
 * ```
 */
export function planScenarios(pairs: readonly ImagePair[], seed = 0): ScenarioPlan[] {
  return SCENARIOS.map((scenario) => planScenario(pairs, scenario, seed));
}
