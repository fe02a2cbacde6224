/**
 * Threshold calibration across scenarios: fix the decision thresholds where the reference scores (usually
 * UM-UM, the unmasked deployment) reach a target FMR, then read the FMR and FNMR the other scenarios (M-UM,
 * M-M) actually get at those same thresholds. This answers the operational question "my system was tuned
 * on unmasked faces; what happens when people wear masks?".
 *
 * @module
 */
import { SortedScores } from "./scores.ts";
import { type OperatingPoint, tarAtFar } from "./verification.ts";

/**
 * The target FMRs calibrated by default: the FMR100 and FMR1000 operating points.
 *
 * @example
 * ```ts
 * import { DEFAULT_CALIBRATION_FMRS } from "./calibration.ts";
 * console.log(DEFAULT_CALIBRATION_FMRS); // [0.01, 0.001]
 * ```
 */
export const DEFAULT_CALIBRATION_FMRS: readonly number[] = [1e-2, 1e-3];

/** Error rates of one scenario at a threshold fixed on the reference scenario. */
export interface TransferredPoint {
  /** The threshold fixed on the reference (`null`: unreachable there, so everything is rejected). */
  threshold: number | null;
  /** FMR this scenario reaches at the threshold. */
  fmr: number;
  /** FNMR this scenario reaches at the threshold. */
  fnmr: number;
}

/** Calibration of one target FMR. */
export interface CalibrationPoint {
  /** The FMR asked for on the reference scenario. */
  targetFmr: number;
  /** The operating point on the reference scenario. */
  reference: OperatingPoint;
  /** Each other scenario's error rates at the reference threshold, by scenario name. */
  scenarios: Record<string, TransferredPoint>;
}

/** Result of {@linkcode calibrateThresholds}. */
export interface Calibration {
  /** Name of the reference scenario, e.g. `"UM-UM"`. */
  referenceName: string;
  /** One entry per target FMR, in the order asked. */
  points: CalibrationPoint[];
}

/**
 * Fixes thresholds at `targetFmrs` on the reference scores and evaluates every other scenario there.
 *
 * @param referenceName Name of the reference scenario.
 * @param reference Its scores.
 * @param others Scores of the scenarios to evaluate at the reference thresholds.
 * @param targetFmrs FMRs to calibrate at (default 1e-2 and 1e-3).
 * @example
 * ```ts
 * import { calibrateThresholds, SortedScores } from "./mod.ts";
 * const unmasked = SortedScores.from([0.9, 0.8, 0.7], [0.1, 0.2, 0.3]);
 * const masked = SortedScores.from([0.6, 0.5, 0.4], [0.2, 0.3, 0.45]);
 * const calibration = calibrateThresholds("UM-UM", unmasked, { "M-M": masked }, [0.01]);
 * console.log(calibration.points[0].scenarios["M-M"]); // { threshold: 0.7, fmr: 0, fnmr: 1 }
 * ```
 */
export function calibrateThresholds(
  referenceName: string,
  reference: SortedScores,
  others: Record<string, SortedScores>,
  targetFmrs: readonly number[] = DEFAULT_CALIBRATION_FMRS,
): Calibration {
  const points = targetFmrs.map((targetFmr) => {
    const point = tarAtFar(reference, targetFmr);
    const scenarios: Record<string, TransferredPoint> = {};
    for (const [name, scores] of Object.entries(others)) {
      scenarios[name] = point.threshold === null ? { threshold: null, fmr: 0, fnmr: 1 } : {
        threshold: point.threshold,
        fmr: scores.fmrAt(point.threshold),
        fnmr: scores.fnmrAt(point.threshold),
      };
    }
    return { targetFmr, reference: point, scenarios };
  });
  return { referenceName, points };
}
