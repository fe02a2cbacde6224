/**
 * Internal numeric helpers of the metrics module: binary searches on sorted arrays, compensated mean and
 * variance, rate checks.
 *
 * @module
 */

/**
 * Index of the first element of ascending `sorted` that is `>= value` (length when none).
 *
 * @example
 * ```ts
 * import { lowerBound } from "./_stats.ts";
 * console.log(lowerBound(new Float64Array([1, 2, 2, 3]), 2)); // 1
 * ```
 */
export function lowerBound(sorted: Float64Array, value: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (sorted[middle] < value) low = middle + 1;
    else high = middle;
  }
  return low;
}

/**
 * Index of the first element of ascending `sorted` that is `> value` (length when none).
 *
 * @example
 * ```ts
 * import { upperBound } from "./_stats.ts";
 * console.log(upperBound(new Float64Array([1, 2, 2, 3]), 2)); // 3
 * ```
 */
export function upperBound(sorted: Float64Array, value: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (sorted[middle] <= value) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** Mean and population variance of a list of numbers. */
export interface MeanStd {
  /** Arithmetic mean. */
  mean: number;
  /** Population variance (divides by n, as numpy's `var`). */
  variance: number;
}

/**
 * Mean and population variance with Neumaier-compensated sums, so 10^7 scores keep full precision.
 *
 * @param values At least one number.
 * @example
 * ```ts
 * import { meanVariance } from "./_stats.ts";
 * console.log(meanVariance(new Float64Array([1, 2, 3]))); // { mean: 2, variance: 0.666… }
 * ```
 */
export function meanVariance(values: Float64Array): MeanStd {
  const n = values.length;
  const mean = compensatedSum(values, 0) / n;
  return { mean, variance: compensatedSum(values, mean) / n };
}

/** Σ values (when `center` is 0) or Σ (values − center)² otherwise, Neumaier-compensated. */
function compensatedSum(values: Float64Array, center: number): number {
  let sum = 0;
  let compensation = 0;
  const squares = center !== 0;
  for (let i = 0; i < values.length; i++) {
    const d = values[i] - center;
    const term = squares ? d * d : d;
    const next = sum + term;
    compensation += Math.abs(sum) >= Math.abs(term) ? (sum - next) + term : (term - next) + sum;
    sum = next;
  }
  return sum + compensation;
}

/**
 * Throws unless `rate` is a number in [0, 1].
 *
 * @example
 * ```ts
 * import { checkRate } from "./_stats.ts";
 * checkRate(0.001, "target FMR");
 * ```
 */
export function checkRate(rate: number, what: string): void {
  if (!(rate >= 0 && rate <= 1)) throw new RangeError(`${what} must be in [0, 1], got ${rate}`);
}
