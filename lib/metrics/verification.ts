/**
 * The verification metrics the MaskInv paper reports: EER, FMR100, FMR1000, G-mean, I-mean and FDR, plus
 * TAR at any FAR and the full ROC/DET curve.
 *
 * Candidate thresholds are the distinct scores. EER is `(FMR + FNMR) / 2` at the first (lowest) threshold
 * minimising `|FMR − FNMR|`; FMR100 / FMR1000 are the lowest FNMR with FMR ≤ 1% / 0.1% (1 when no threshold
 * reaches it); FDR = (μG − μI)² / (σG² + σI²) with population variances. These are the definitions of
 * ISO/IEC 19795-1 style reporting used by the paper (Huber et al., FG 2021, Tables 1–4).
 *
 * @module
 */
import { checkRate, meanVariance } from "./_stats.ts";
import { type ScoreList, SortedScores } from "./scores.ts";

/** Everything the paper's tables report for one score set. */
export interface VerificationMetrics {
  /** Number of genuine (mated) comparisons. */
  genuineCount: number;
  /** Number of impostor (non-mated) comparisons. */
  impostorCount: number;
  /** Equal error rate, a fraction in [0, 1]. */
  eer: number;
  /** The threshold at which the EER is read. */
  eerThreshold: number;
  /** Lowest FNMR at FMR ≤ 1%. */
  fmr100: number;
  /** Threshold of {@linkcode VerificationMetrics.fmr100}; `null` when no distinct score reaches FMR ≤ 1%. */
  fmr100Threshold: number | null;
  /** Lowest FNMR at FMR ≤ 0.1%. */
  fmr1000: number;
  /** Threshold of {@linkcode VerificationMetrics.fmr1000}; `null` when unreachable. */
  fmr1000Threshold: number | null;
  /** Mean genuine score (G-mean). */
  gMean: number;
  /** Mean impostor score (I-mean). */
  iMean: number;
  /** Population standard deviation of the genuine scores. */
  gStd: number;
  /** Population standard deviation of the impostor scores. */
  iStd: number;
  /** Fisher discriminant ratio (μG − μI)² / (σG² + σI²); `Infinity` when both variances are 0. */
  fdr: number;
}

/** Accepts raw lists or an already sorted {@linkcode SortedScores}. */
function sorted(genuineOrScores: ScoreList | SortedScores, impostor?: ScoreList): SortedScores {
  if (genuineOrScores instanceof SortedScores) return genuineOrScores;
  if (impostor === undefined) throw new TypeError("impostor scores are missing");
  return SortedScores.from(genuineOrScores, impostor);
}

/**
 * Computes every metric of {@linkcode VerificationMetrics} in one O(n log n) pass (sort, then merge).
 *
 * @param genuine Genuine similarity scores (or a {@linkcode SortedScores}, then omit `impostor`).
 * @param impostor Impostor similarity scores.
 * @throws {RangeError} When a list is empty or holds NaN / infinite values.
 * @example
 * ```ts
 * import { verificationMetrics } from "./verification.ts";
 * const m = verificationMetrics([0.9, 0.8, 0.3], [0.1, 0.2, 0.35, 0.0]);
 * console.log(m.eer, m.fmr100, m.fdr.toFixed(2));
 * ```
 */
export function verificationMetrics(
  genuine: ScoreList | SortedScores,
  impostor?: ScoreList,
): VerificationMetrics {
  const scores = sorted(genuine, impostor);
  const g = scores.genuine;
  const m = scores.impostor;
  const nG = g.length;
  const nI = m.length;
  let i = 0; // genuine scores < t
  let j = 0; // impostor scores < t
  let bestGap = Infinity;
  let eer = NaN;
  let eerThreshold = NaN;
  let fmr100 = 1;
  let fmr1000 = 1;
  let fmr100Threshold: number | null = null;
  let fmr1000Threshold: number | null = null;
  // Ascending distinct thresholds: FMR falls and FNMR rises, so the first threshold reaching a target FMR
  // also has the lowest FNMR there.
  while (i < nG || j < nI) {
    const t = i < nG && (j >= nI || g[i] <= m[j]) ? g[i] : m[j];
    const fmr = (nI - j) / nI;
    const fnmr = i / nG;
    const gap = Math.abs(fmr - fnmr);
    if (gap < bestGap) {
      bestGap = gap;
      eer = (fmr + fnmr) / 2;
      eerThreshold = t;
    }
    if (fmr100Threshold === null && fmr <= 0.01) {
      fmr100 = fnmr;
      fmr100Threshold = t;
    }
    if (fmr1000Threshold === null && fmr <= 0.001) {
      fmr1000 = fnmr;
      fmr1000Threshold = t;
    }
    while (i < nG && g[i] === t) i++;
    while (j < nI && m[j] === t) j++;
  }
  const genuineStats = meanVariance(g);
  const impostorStats = meanVariance(m);
  const spread = genuineStats.variance + impostorStats.variance;
  const separation = (genuineStats.mean - impostorStats.mean) ** 2;
  return {
    genuineCount: nG,
    impostorCount: nI,
    eer,
    eerThreshold,
    fmr100,
    fmr100Threshold,
    fmr1000,
    fmr1000Threshold,
    gMean: genuineStats.mean,
    iMean: impostorStats.mean,
    gStd: Math.sqrt(genuineStats.variance),
    iStd: Math.sqrt(impostorStats.variance),
    fdr: spread > 0 ? separation / spread : separation > 0 ? Infinity : NaN,
  };
}

/** One operating point: a threshold and the error rates it gives. */
export interface OperatingPoint {
  /** The FMR (FAR) asked for. */
  targetFmr: number;
  /** The chosen threshold (`score >= threshold` accepts); `null` when no distinct score reaches the target. */
  threshold: number | null;
  /** FMR reached at the threshold (0 when the threshold is `null`: everything rejected). */
  fmr: number;
  /** FNMR at the threshold (1 when the threshold is `null`). */
  fnmr: number;
  /** True accept rate, `1 − fnmr`. */
  tar: number;
}

/**
 * True accept rate at a false accept rate: the highest TAR (lowest FNMR) among thresholds whose FMR ≤ `far`.
 * O(log n) on sorted scores.
 *
 * @param scores Sorted genuine and impostor scores.
 * @param far Target false accept (match) rate in [0, 1], e.g. `1e-3`.
 * @example
 * ```ts
 * import { SortedScores } from "./scores.ts";
 * import { tarAtFar } from "./verification.ts";
 * const scores = SortedScores.from([0.9, 0.8, 0.3], [0.1, 0.2, 0.35, 0.0]);
 * console.log(tarAtFar(scores, 0.25)); // { targetFmr: 0.25, threshold: 0.35, fmr: 0.25, fnmr: 0.333…, tar: 0.666… }
 * ```
 */
export function tarAtFar(scores: SortedScores, far: number): OperatingPoint {
  checkRate(far, "FAR");
  const threshold = scores.thresholdAtFmr(far);
  if (threshold === null) return { targetFmr: far, threshold, fmr: 0, fnmr: 1, tar: 0 };
  const fnmr = scores.fnmrAt(threshold);
  return { targetFmr: far, threshold, fmr: scores.fmrAt(threshold), fnmr, tar: 1 - fnmr };
}

/** Points of the ROC / DET curve at every distinct score, thresholds ascending. */
export interface RocCurve {
  /** Distinct scores, ascending. */
  thresholds: Float64Array;
  /** FMR at each threshold (non-increasing). */
  fmr: Float64Array;
  /** FNMR at each threshold (non-decreasing). */
  fnmr: Float64Array;
}

/**
 * The full ROC / DET curve: FMR and FNMR at every distinct score.
 *
 * @param scores Sorted genuine and impostor scores.
 * @example
 * ```ts
 * import { SortedScores } from "./scores.ts";
 * import { rocCurve } from "./verification.ts";
 * const curve = rocCurve(SortedScores.from([0.9, 0.5], [0.5, 0.1]));
 * console.log(curve.thresholds, curve.fmr, curve.fnmr); // [0.1, 0.5, 0.9] [1, 0.5, 0] [0, 0, 0.5]
 * ```
 */
export function rocCurve(scores: SortedScores): RocCurve {
  const g = scores.genuine;
  const m = scores.impostor;
  const nG = g.length;
  const nI = m.length;
  // Count distinct values first so the three arrays are allocated once at their exact size.
  let distinct = 0;
  {
    let i = 0;
    let j = 0;
    while (i < nG || j < nI) {
      const t = i < nG && (j >= nI || g[i] <= m[j]) ? g[i] : m[j];
      while (i < nG && g[i] === t) i++;
      while (j < nI && m[j] === t) j++;
      distinct++;
    }
  }
  const thresholds = new Float64Array(distinct);
  const fmr = new Float64Array(distinct);
  const fnmr = new Float64Array(distinct);
  let i = 0;
  let j = 0;
  for (let k = 0; k < distinct; k++) {
    const t = i < nG && (j >= nI || g[i] <= m[j]) ? g[i] : m[j];
    thresholds[k] = t;
    fmr[k] = (nI - j) / nI;
    fnmr[k] = i / nG;
    while (i < nG && g[i] === t) i++;
    while (j < nI && m[j] === t) j++;
  }
  return { thresholds, fmr, fnmr };
}

/**
 * Thins a curve to at most `maxPoints` points spread evenly on log-scaled FMR and FNMR axes (what a
 * DET plot shows), always keeping both ends. The kept points are exact points of the curve.
 *
 * @param curve A curve from {@linkcode rocCurve}.
 * @param maxPoints Upper bound on the number of points kept (at least 10).
 * @example
 * ```ts
 * import { SortedScores } from "./scores.ts";
 * import { rocCurve, thinCurve } from "./verification.ts";
 * const curve = rocCurve(SortedScores.from([0.9, 0.7, 0.5], [0.6, 0.2, 0.1]));
 * console.log(thinCurve(curve, 1000).thresholds.length); // 6: short curves are kept whole
 * ```
 */
export function thinCurve(curve: RocCurve, maxPoints = 2000): RocCurve {
  const n = curve.thresholds.length;
  if (!(maxPoints >= 10)) throw new RangeError(`maxPoints must be at least 10, got ${maxPoints}`);
  if (n <= maxPoints) return curve;
  const keep = new Uint8Array(n);
  keep[0] = 1;
  keep[n - 1] = 1;
  // Each level keeps up to two points (either side of a step) on each of the two axes, plus both ends.
  const levels = Math.max(1, Math.floor((maxPoints - 6) / 4));
  // FMR is non-increasing in the index: for each log-spaced level, keep the first index at or below it.
  markLevels(curve.fmr, levels, keep, false);
  markLevels(curve.fnmr, levels, keep, true);
  let count = 0;
  for (let k = 0; k < n; k++) count += keep[k];
  const thresholds = new Float64Array(count);
  const fmr = new Float64Array(count);
  const fnmr = new Float64Array(count);
  let out = 0;
  for (let k = 0; k < n; k++) {
    if (!keep[k]) continue;
    thresholds[out] = curve.thresholds[k];
    fmr[out] = curve.fmr[k];
    fnmr[out] = curve.fnmr[k];
    out++;
  }
  return { thresholds, fmr, fnmr };
}

/** Marks, for log-spaced levels between the smallest positive rate and 1, the first index crossing each. */
function markLevels(
  rates: Float64Array,
  levels: number,
  keep: Uint8Array,
  ascending: boolean,
): void {
  const n = rates.length;
  let smallest = Infinity;
  for (let k = 0; k < n; k++) if (rates[k] > 0 && rates[k] < smallest) smallest = rates[k];
  if (smallest === Infinity) return;
  const logLow = Math.log10(smallest);
  for (let level = 0; level <= levels; level++) {
    const value = 10 ** (logLow + (-logLow * level) / levels);
    // Binary search on a monotone array: first index whose rate is at/below (FMR) or at/above (FNMR) value.
    let low = 0;
    let high = n;
    while (low < high) {
      const middle = (low + high) >>> 1;
      const passed = ascending ? rates[middle] >= value : rates[middle] <= value;
      if (passed) high = middle;
      else low = middle + 1;
    }
    if (low < n) keep[low] = 1;
    if (low > 0) keep[low - 1] = 1;
  }
}
