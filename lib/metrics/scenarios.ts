/**
 * The paper's evaluation scenarios as lists of view pairs. A *view* is one image of a benchmark as the model
 * sees it: as stored, or with a (synthetic) mask applied. Scenarios (Huber et al., FG 2021, Sec. 4):
 *
 * - **UM-UM**: both images unmasked;
 * - **M-UM**: exactly one image of each pair masked — the second one, the probe (the released MaskInv code
 *   masks "the second half of the array", which on interleaved pairs is not the probe of each pair);
 * - **M-M**: both images masked.
 *
 * The data layer's `planScenarios` plans the same three scenarios with per-image mask seeds;
 * {@linkcode scenariosFromPlans} turns such plans into the runner's input.
 *
 * @module
 */
import type { ImagePair, ScenarioPlan } from "../data/mod.ts";

/** One view of a benchmark image. */
export interface ViewKey {
  /** Index of the image in its benchmark. */
  readonly image: number;
  /**
   * The mask applied before embedding: `null` for the image as stored, else the name of a mask variant
   * (e.g. `"maskinv"`, `"surgical"`) that the view loader understands.
   */
  readonly mask: string | null;
}

/** A verification pair of views. */
export interface ScenarioPair {
  /** The reference view. */
  readonly first: ViewKey;
  /** The probe view. */
  readonly second: ViewKey;
  /** `true` for a genuine (same identity) pair, `false` for an impostor pair. */
  readonly genuine: boolean;
}

/** The paper's scenario names. */
export type ScenarioName = "UM-UM" | "M-UM" | "M-M";

/** Pair lists per scenario name. */
export type Scenarios = Record<string, readonly ScenarioPair[]>;

/**
 * A stable text key of a view, e.g. `"17"` (as stored) or `"17:maskinv"`.
 *
 * @example
 * ```ts
 * import { viewId } from "./scenarios.ts";
 * console.log(viewId({ image: 17, mask: "maskinv" })); // "17:maskinv"
 * ```
 */
export function viewId(view: ViewKey): string {
  return view.mask === null ? `${view.image}` : `${view.image}:${view.mask}`;
}

/** Options of {@linkcode maskedScenarios}. */
export interface MaskedScenarioOptions {
  /** The mask variant of masked views (default `"masked"`). */
  mask?: string;
  /** Which scenarios to build (default all three, in the order UM-UM, M-UM, M-M). */
  scenarios?: readonly ScenarioName[];
}

/**
 * Builds the UM-UM / M-UM / M-M pair lists from plain index pairs, for benchmarks masked synthetically
 * (LFW, AgeDB-30, … with the MaskInv template). In M-UM the second image of every pair is the masked one.
 *
 * @example
 * ```ts
 * import { maskedScenarios } from "./scenarios.ts";
 * const scenarios = maskedScenarios([{ first: 0, second: 1, genuine: true }], { mask: "maskinv" });
 * console.log(scenarios["M-UM"][0]);
 * // { first: { image: 0, mask: null }, second: { image: 1, mask: "maskinv" }, genuine: true }
 * ```
 */
export function maskedScenarios(
  pairs: readonly ImagePair[],
  options: MaskedScenarioOptions = {},
): Record<ScenarioName, ScenarioPair[]> {
  const mask = options.mask ?? "masked";
  if (mask === "") throw new RangeError("the mask variant name must not be empty");
  const wanted = new Set<ScenarioName>(options.scenarios ?? ["UM-UM", "M-UM", "M-M"]);
  const build = (firstMask: string | null, secondMask: string | null) =>
    pairs.map((pair) => ({
      first: { image: pair.first, mask: firstMask },
      second: { image: pair.second, mask: secondMask },
      genuine: pair.genuine,
    }));
  const scenarios = {} as Record<ScenarioName, ScenarioPair[]>;
  if (wanted.has("UM-UM")) scenarios["UM-UM"] = build(null, null);
  if (wanted.has("M-UM")) scenarios["M-UM"] = build(null, mask);
  if (wanted.has("M-M")) scenarios["M-M"] = build(mask, mask);
  return scenarios;
}

/**
 * Groups pairs of a benchmark with *real* masks (MFR2) by how many of the two images wear one; the views
 * are the images as stored. A M-UM pair is oriented so that the masked image is the probe (`second`).
 *
 * @param isMasked Whether image `index` shows a masked face.
 * @example
 * ```ts
 * import { realMaskScenarios } from "./scenarios.ts";
 * const masked = [false, true, true];
 * const scenarios = realMaskScenarios(
 *   [{ first: 1, second: 0, genuine: true }, { first: 1, second: 2, genuine: false }],
 *   (i) => masked[i],
 * );
 * console.log(scenarios["M-UM"][0].second.image, scenarios["M-M"].length); // 1 1
 * ```
 */
export function realMaskScenarios(
  pairs: readonly ImagePair[],
  isMasked: (index: number) => boolean,
): Record<ScenarioName, ScenarioPair[]> {
  const scenarios: Record<ScenarioName, ScenarioPair[]> = { "UM-UM": [], "M-UM": [], "M-M": [] };
  for (const pair of pairs) {
    const firstMasked = isMasked(pair.first);
    const secondMasked = isMasked(pair.second);
    const swap = firstMasked && !secondMasked;
    const first = { image: swap ? pair.second : pair.first, mask: null };
    const second = { image: swap ? pair.first : pair.second, mask: null };
    const name: ScenarioName = firstMasked && secondMasked
      ? "M-M"
      : firstMasked || secondMasked
      ? "M-UM"
      : "UM-UM";
    scenarios[name].push({ first, second, genuine: pair.genuine });
  }
  return scenarios;
}

/**
 * Converts the data layer's scenario plans (`planScenarios`) into the runner's pair lists. A masked view
 * gets the mask variant `mask`; its mask seed is `evaluationMaskSeed(plan.seed, view.image)` (the same for
 * an image in every scenario), which the view loader derives again.
 *
 * @param plans Plans of the data layer, one per scenario.
 * @param mask Name of the mask variant of masked views (default `"masked"`).
 * @example
 * ```ts
 * import { planScenarios } from "../data/mod.ts";
 * import { scenariosFromPlans } from "./scenarios.ts";
 * const plans = planScenarios([{ first: 0, second: 1, genuine: true }], 7);
 * console.log(scenariosFromPlans(plans, "maskinv")["M-UM"][0].second); // { image: 1, mask: "maskinv" }
 * ```
 */
export function scenariosFromPlans(plans: readonly ScenarioPlan[], mask = "masked"): Scenarios {
  if (mask === "") throw new RangeError("the mask variant name must not be empty");
  const scenarios: Record<string, ScenarioPair[]> = {};
  for (const plan of plans) {
    const view = (index: number): ViewKey => {
      const planned = plan.views[index];
      if (planned === undefined) {
        throw new RangeError(`scenario ${plan.scenario}: pair refers to missing view ${index}`);
      }
      return { image: planned.image, mask: planned.masked ? mask : null };
    };
    scenarios[plan.scenario] = plan.pairs.map((pair) => ({
      first: view(pair.first),
      second: view(pair.second),
      genuine: pair.genuine,
    }));
  }
  return scenarios;
}
