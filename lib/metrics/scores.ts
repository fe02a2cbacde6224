/**
 * Sorted genuine and impostor similarity scores: the one structure every verification metric is read from.
 *
 * Conventions (those of `metrics.json` in the project's reference values): a score is a similarity, higher
 * means "same person"; a comparison is accepted when `score >= threshold`. So at threshold `t`
 * `FMR(t)` = share of impostor scores `>= t` and `FNMR(t)` = share of genuine scores `< t`.
 *
 * @module
 */
import { checkRate, lowerBound, upperBound } from "./_stats.ts";
import { sortFloat64 } from "./sort.ts";

/** Any list of scores: a plain array, `Float32Array` or `Float64Array`. */
export type ScoreList = ArrayLike<number>;

/**
 * Copies `scores` into a new `Float64Array`, rejecting empty lists and non-finite values.
 *
 * @param scores The scores to check.
 * @param what Names the list in error messages, e.g. `"genuine scores"`.
 * @throws {RangeError} When the list is empty or holds NaN or an infinite value.
 * @example
 * ```ts
 * import { checkedScores } from "./scores.ts";
 * const copy = checkedScores([0.5, 0.25], "genuine scores");
 * console.log(copy.length); // 2
 * ```
 */
export function checkedScores(scores: ScoreList, what: string): Float64Array {
  const n = scores.length;
  if (n === 0) throw new RangeError(`${what}: the list is empty; at least one score is needed`);
  const copy = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const value = scores[i];
    // `value - value` is NaN exactly when value is NaN or ±Infinity: one test covers both.
    if (value - value !== 0) {
      throw new RangeError(`${what}: score ${i} is ${value}; every score must be a finite number`);
    }
    // -0 and 0 are the same threshold; storing +0 keeps reported thresholds free of -0.
    copy[i] = value + 0;
  }
  return copy;
}

/**
 * Genuine and impostor scores, validated and sorted ascending once; every metric reads from here in
 * O(n) or O(log n).
 *
 * @example Error rates at a threshold
 * ```ts
 * import { SortedScores } from "./scores.ts";
 * const scores = SortedScores.from([0.9, 0.7, 0.4], [0.1, 0.5, 0.2, 0.3]);
 * console.log(scores.fmrAt(0.45), scores.fnmrAt(0.45)); // 0.25 0.333…
 * ```
 */
export class SortedScores {
  /** Genuine (mated) scores, ascending. */
  readonly genuine: Float64Array;
  /** Impostor (non-mated) scores, ascending. */
  readonly impostor: Float64Array;

  private constructor(genuine: Float64Array, impostor: Float64Array) {
    this.genuine = genuine;
    this.impostor = impostor;
  }

  /**
   * Validates, copies and sorts the two score lists (the inputs are not modified).
   *
   * @throws {RangeError} When a list is empty or holds NaN or an infinite value.
   */
  static from(genuine: ScoreList, impostor: ScoreList): SortedScores {
    const sortedGenuine = sortFloat64(checkedScores(genuine, "genuine scores"));
    const sortedImpostor = sortFloat64(checkedScores(impostor, "impostor scores"));
    return new SortedScores(sortedGenuine, sortedImpostor);
  }

  /**
   * Splits per-pair scores by their labels, then sorts.
   *
   * @param scores One score per pair.
   * @param same `true` where the pair shows the same person.
   * @throws {RangeError} When the lengths differ, or a class is empty, or a score is not finite.
   */
  static fromPairs(scores: ScoreList, same: ArrayLike<boolean>): SortedScores {
    if (scores.length !== same.length) {
      throw new RangeError(`${scores.length} scores but ${same.length} same/different labels`);
    }
    let genuineCount = 0;
    for (let i = 0; i < same.length; i++) if (same[i]) genuineCount++;
    const genuine = new Float64Array(genuineCount);
    const impostor = new Float64Array(same.length - genuineCount);
    let g = 0;
    let m = 0;
    for (let i = 0; i < same.length; i++) {
      const value = scores[i];
      if (value - value !== 0) {
        throw new RangeError(`scores: score ${i} is ${value}; every score must be a finite number`);
      }
      if (same[i]) genuine[g++] = value + 0;
      else impostor[m++] = value + 0;
    }
    if (genuineCount === 0) throw new RangeError("genuine scores: no pair is labelled same");
    if (impostor.length === 0) throw new RangeError("impostor scores: no pair is labelled different");
    return new SortedScores(sortFloat64(genuine), sortFloat64(impostor));
  }

  /** Number of genuine scores. */
  get genuineCount(): number {
    return this.genuine.length;
  }

  /** Number of impostor scores. */
  get impostorCount(): number {
    return this.impostor.length;
  }

  /** False match rate at `threshold`: share of impostor scores `>= threshold`. */
  fmrAt(threshold: number): number {
    const n = this.impostor.length;
    return (n - lowerBound(this.impostor, threshold)) / n;
  }

  /** False non-match rate at `threshold`: share of genuine scores `< threshold`. */
  fnmrAt(threshold: number): number {
    return lowerBound(this.genuine, threshold) / this.genuine.length;
  }

  /**
   * The lowest candidate threshold (a distinct score) whose FMR is at most `targetFmr`, which is also the
   * threshold of the lowest FNMR at that FMR; `null` when no distinct score reaches it.
   *
   * @param targetFmr A rate in [0, 1], e.g. 0.01 for FMR100.
   */
  thresholdAtFmr(targetFmr: number): number | null {
    checkRate(targetFmr, "target FMR");
    const impostor = this.impostor;
    const n = impostor.length;
    // Largest count of accepted impostors whose rate, computed as a float division, stays <= target.
    let allowed = Math.min(n, Math.floor(targetFmr * n));
    while (allowed < n && (allowed + 1) / n <= targetFmr) allowed++;
    while (allowed > 0 && allowed / n > targetFmr) allowed--;
    if (allowed >= n) return Math.min(impostor[0], this.genuine[0]);
    // At most `allowed` impostors may be >= t, so t must exceed the (n - allowed)-th smallest impostor.
    const excluded = impostor[n - allowed - 1];
    const nextImpostor = upperBound(impostor, excluded);
    const nextGenuine = upperBound(this.genuine, excluded);
    const candidate = Math.min(
      nextImpostor < n ? impostor[nextImpostor] : Infinity,
      nextGenuine < this.genuine.length ? this.genuine[nextGenuine] : Infinity,
    );
    return candidate === Infinity ? null : candidate;
  }
}
