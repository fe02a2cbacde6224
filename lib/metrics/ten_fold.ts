/**
 * LFW-protocol verification accuracy: 10-fold cross-validation of a distance threshold, as insightface's
 * `verification.py` does for LFW, CALFW, CPLFW, AgeDB-30 and CFP-FP.
 *
 * Embeddings (flip-summed when the flipped views are given) are L2-normalised, compared by squared L2
 * distance, and a pair is called "same" when `distance < threshold`. The folds are contiguous
 * (scikit-learn `KFold(10, shuffle=False)`); on each training part the first threshold of
 * `0, 0.01, …, 3.99` with the highest accuracy is chosen and applied to the held-out fold.
 *
 * @module
 */
import type { Tensor2D } from "@tensorflow/tfjs-core";
import { upperBound } from "./_stats.ts";

/** Embedding rows: a `[n, d]` tensor, or `n` rows of length `d` (`Float32Array`s or arrays). */
export type EmbeddingRows = Tensor2D | readonly ArrayLike<number>[];

/** Options of {@linkcode tenFoldAccuracy}. */
export interface TenFoldOptions {
  /** Number of folds (10 in the LFW protocol). */
  folds?: number;
  /** Candidate thresholds on squared distance, ascending (default {@linkcode lfwThresholds}). */
  thresholds?: ArrayLike<number>;
}

/** Options of {@linkcode tenFoldAccuracy} when flipped-image embeddings are summed in. */
export interface FlipSumOptions extends TenFoldOptions {
  /** Embeddings of the mirrored first images, added to `first` before normalising. */
  flippedFirst?: EmbeddingRows;
  /** Embeddings of the mirrored second images, added to `second` before normalising. */
  flippedSecond?: EmbeddingRows;
}

/** Outcome of the 10-fold protocol. */
export interface TenFoldResult {
  /** Accuracy on each held-out fold. */
  foldAccuracies: number[];
  /** Threshold (squared L2 distance) chosen on the other folds, per fold. */
  foldThresholds: number[];
  /** Mean of the fold accuracies. */
  meanAccuracy: number;
  /** Population standard deviation of the fold accuracies (numpy `std`). */
  stdAccuracy: number;
}

/**
 * The LFW protocol's thresholds `0, 0.01, …, 3.99`, computed as numpy's `arange(0, 4, 0.01)` does
 * (`i * 0.01`), so the chosen thresholds match to the last bit.
 *
 * @example
 * ```ts
 * import { lfwThresholds } from "./ten_fold.ts";
 * console.log(lfwThresholds().length); // 400
 * ```
 */
export function lfwThresholds(): Float64Array {
  const thresholds = new Float64Array(400);
  for (let i = 0; i < 400; i++) thresholds[i] = i * 0.01;
  return thresholds;
}

/**
 * Contiguous folds as scikit-learn's `KFold(folds, shuffle=False)` makes them: the first `n % folds` folds
 * hold one extra item.
 *
 * @param count Number of items.
 * @param folds Number of folds, 2 ≤ folds ≤ count.
 * @returns `[start, end)` of each test fold.
 * @example
 * ```ts
 * import { kFoldRanges } from "./ten_fold.ts";
 * console.log(kFoldRanges(7, 3)); // [[0, 3], [3, 5], [5, 7]]
 * ```
 */
export function kFoldRanges(count: number, folds: number): Array<[number, number]> {
  if (!Number.isInteger(folds) || folds < 2) {
    throw new RangeError(`folds must be an integer >= 2, got ${folds}`);
  }
  if (count < folds) throw new RangeError(`${count} pairs cannot be split into ${folds} folds`);
  const ranges: Array<[number, number]> = [];
  let start = 0;
  for (let f = 0; f < folds; f++) {
    const size = Math.floor(count / folds) + (f < count % folds ? 1 : 0);
    ranges.push([start, start + size]);
    start += size;
  }
  return ranges;
}

/**
 * 10-fold accuracy from precomputed squared L2 distances of normalised embeddings (smaller = more similar).
 * O(n log T + folds · T) with T thresholds.
 *
 * @param distances One squared distance per pair.
 * @param issame `true` where the pair shows the same person.
 * @throws {RangeError} On length mismatch, a NaN distance, unsorted thresholds or too few pairs.
 * @example
 * ```ts
 * import { tenFoldAccuracyFromDistances } from "./ten_fold.ts";
 * const distances = Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? 0.5 : 2.5));
 * const issame = distances.map((d) => d < 1);
 * console.log(tenFoldAccuracyFromDistances(distances, issame).meanAccuracy); // 1
 * ```
 */
export function tenFoldAccuracyFromDistances(
  distances: ArrayLike<number>,
  issame: ArrayLike<boolean>,
  options: TenFoldOptions = {},
): TenFoldResult {
  const n = distances.length;
  if (issame.length !== n) throw new RangeError(`${n} distances but ${issame.length} same/different labels`);
  const thresholds = Float64Array.from(options.thresholds ?? lfwThresholds());
  const t = thresholds.length;
  if (t === 0) throw new RangeError("thresholds: the list is empty");
  for (let k = 0; k < t; k++) {
    if (Number.isNaN(thresholds[k]) || (k > 0 && thresholds[k] < thresholds[k - 1])) {
      throw new RangeError(`thresholds must be ascending numbers; entry ${k} is ${thresholds[k]}`);
    }
  }
  const ranges = kFoldRanges(n, options.folds ?? 10);
  // firstAccepting[p]: index of the first threshold with distance < threshold; the pair is called "same"
  // at that threshold and every later one.
  const firstAccepting = new Int32Array(n);
  for (let p = 0; p < n; p++) {
    const d = distances[p];
    if (Number.isNaN(d)) throw new RangeError(`distances: entry ${p} is NaN`);
    firstAccepting[p] = upperBound(thresholds, d);
  }
  const histogram = (start: number, end: number, same: Float64Array, different: Float64Array) => {
    for (let p = start; p < end; p++) (issame[p] ? same : different)[firstAccepting[p]]++;
  };
  const sameAll = new Float64Array(t + 1);
  const differentAll = new Float64Array(t + 1);
  histogram(0, n, sameAll, differentAll);
  const foldAccuracies: number[] = [];
  const foldThresholds: number[] = [];
  for (const [start, end] of ranges) {
    const sameTest = new Float64Array(t + 1);
    const differentTest = new Float64Array(t + 1);
    histogram(start, end, sameTest, differentTest);
    // correct(k) = same pairs accepted at k + different pairs rejected at k.
    let differentRejected = 0;
    for (let k = 0; k <= t; k++) differentRejected += differentAll[k] - differentTest[k];
    let sameAccepted = 0;
    let best = -1;
    let bestIndex = 0;
    for (let k = 0; k < t; k++) {
      sameAccepted += sameAll[k] - sameTest[k];
      differentRejected -= differentAll[k] - differentTest[k];
      const correct = sameAccepted + differentRejected;
      if (correct > best) {
        best = correct;
        bestIndex = k;
      }
    }
    let correctTest = 0;
    for (let p = start; p < end; p++) {
      const accepted = firstAccepting[p] <= bestIndex;
      if (accepted === Boolean(issame[p])) correctTest++;
    }
    foldAccuracies.push(correctTest / (end - start));
    foldThresholds.push(thresholds[bestIndex]);
  }
  const meanAccuracy = foldAccuracies.reduce((a, b) => a + b, 0) / foldAccuracies.length;
  const variance = foldAccuracies.reduce((a, b) => a + (b - meanAccuracy) ** 2, 0) / foldAccuracies.length;
  return { foldAccuracies, foldThresholds, meanAccuracy, stdAccuracy: Math.sqrt(variance) };
}

/** Reads embedding rows into one flat `Float64Array` and reports the row count and width. */
function flatRows(rows: EmbeddingRows, what: string): { data: Float64Array; count: number; width: number } {
  if (!Array.isArray(rows)) {
    const tensor = rows as Tensor2D;
    if (tensor.rank !== 2) {
      throw new RangeError(`${what}: expected a [n, d] tensor, got shape [${tensor.shape}]`);
    }
    return { data: Float64Array.from(tensor.dataSync()), count: tensor.shape[0], width: tensor.shape[1] };
  }
  const list = rows as readonly ArrayLike<number>[];
  const count = list.length;
  const width = count > 0 ? list[0].length : 0;
  const data = new Float64Array(count * width);
  for (let r = 0; r < count; r++) {
    if (list[r].length !== width) {
      throw new RangeError(`${what}: row ${r} has ${list[r].length} values, row 0 has ${width}`);
    }
    data.set(list[r], r * width);
  }
  return { data, count, width };
}

/**
 * Squared L2 distances between the L2-normalised rows of `first` and `second` (row i against row i),
 * summing the flipped-image embeddings in first when given (insightface's flip test).
 *
 * @throws {RangeError} On shape mismatch or a zero / non-finite embedding.
 * @example
 * ```ts
 * import { pairDistances } from "./ten_fold.ts";
 * console.log(pairDistances([[1, 0]], [[0, 3]])); // Float64Array [2]
 * ```
 */
export function pairDistances(
  first: EmbeddingRows,
  second: EmbeddingRows,
  options: Pick<FlipSumOptions, "flippedFirst" | "flippedSecond"> = {},
): Float64Array {
  const a = combined(first, options.flippedFirst, "first embeddings");
  const b = combined(second, options.flippedSecond, "second embeddings");
  if (a.count !== b.count || a.width !== b.width) {
    throw new RangeError(
      `first embeddings are ${a.count}x${a.width} but second embeddings are ${b.count}x${b.width}`,
    );
  }
  const distances = new Float64Array(a.count);
  for (let r = 0; r < a.count; r++) {
    const offset = r * a.width;
    let normA = 0;
    let normB = 0;
    for (let c = 0; c < a.width; c++) {
      normA += a.data[offset + c] ** 2;
      normB += b.data[offset + c] ** 2;
    }
    normA = Math.sqrt(normA);
    normB = Math.sqrt(normB);
    if (!(normA > 0 && normA < Infinity)) {
      throw new RangeError(`first embeddings: row ${r} has norm ${normA}`);
    }
    if (!(normB > 0 && normB < Infinity)) {
      throw new RangeError(`second embeddings: row ${r} has norm ${normB}`);
    }
    let sum = 0;
    for (let c = 0; c < a.width; c++) {
      const d = a.data[offset + c] / normA - b.data[offset + c] / normB;
      sum += d * d;
    }
    distances[r] = sum;
  }
  return distances;
}

function combined(rows: EmbeddingRows, flipped: EmbeddingRows | undefined, what: string) {
  const base = flatRows(rows, what);
  if (flipped === undefined) return base;
  const mirror = flatRows(flipped, `flipped ${what}`);
  if (mirror.count !== base.count || mirror.width !== base.width) {
    throw new RangeError(
      `flipped ${what} are ${mirror.count}x${mirror.width} but ${what} are ${base.count}x${base.width}`,
    );
  }
  for (let k = 0; k < base.data.length; k++) base.data[k] += mirror.data[k];
  return base;
}

/**
 * LFW-protocol 10-fold accuracy on embedding pairs (see the module notes).
 *
 * @param first Embeddings of the first image of each pair.
 * @param second Embeddings of the second image of each pair.
 * @param issame `true` where the pair shows the same person.
 * @param options Folds, thresholds, and the flipped-image embeddings to sum in.
 * @example
 * ```ts
 * import { tenFoldAccuracy } from "./ten_fold.ts";
 * const first = Array.from({ length: 20 }, (_, i) => new Float32Array([1, i % 2]));
 * const second = Array.from({ length: 20 }, () => new Float32Array([1, 0]));
 * const issame = first.map((_, i) => i % 2 === 0);
 * console.log(tenFoldAccuracy(first, second, issame).meanAccuracy); // 1
 * ```
 */
export function tenFoldAccuracy(
  first: EmbeddingRows,
  second: EmbeddingRows,
  issame: ArrayLike<boolean>,
  options: FlipSumOptions = {},
): TenFoldResult {
  return tenFoldAccuracyFromDistances(pairDistances(first, second, options), issame, options);
}
