/**
 * Margin-based softmax losses on the unit hypersphere: ElasticFace-Arc/Cos and their "+" variants, ArcFace,
 * CosFace and the plain normalised softmax, as pure functions of embeddings, class centres and margins.
 *
 * Logits follow the ElasticFace reference implementation (fdbtrs/ElasticFace, `utils/losses.py`):
 * `cos θ = clamp(l2n(x) · l2n(W), −1+1e-7, 1−1e-7)` with `W` of shape `[embedding, classes]` normalised per
 * column; only the target column is changed: `s·cos(θ_y + m_i)` (arc) or `s·(cos θ_y − m_i)` (cos); every
 * other logit is `s·cos θ_j`. The loss is the batch mean of the softmax cross-entropy.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
// The engine registers every gradient of TensorFlow.js (tfjs-core's npm bundle registers none).
import "../engine/mod.ts";
import type { Rng } from "../util/random.ts";

/** How the margin enters the target logit. */
export type MarginKind = "arc" | "cos";

/**
 * How the "+" variants pair sorted margins with samples.
 *
 * - `rank` (the intended rule): rank the samples by `cos θ_y`, descending, and give the sample of rank k the
 *   k-th smallest margin, so samples close to their class centre get small margins and far ones large.
 * - `released`: the indexing of the released ElasticFace code, `margin_sorted[argsort_desc(cos θ_y)[i]]` for
 *   sample i. It uses the sorting permutation where its inverse is needed, so it agrees with `rank` only when
 *   that permutation is its own inverse; kept to reproduce the published models' training exactly.
 */
export type PlusIndexing = "rank" | "released";

/** A margin loss as plain data. */
export interface MarginLossConfig {
  /** Short name for logs and tables. */
  readonly name: string;
  /** Additive angular (`arc`) or additive cosine (`cos`) margin. */
  readonly kind: MarginKind;
  /** Scale `s` of the logits. */
  readonly scale: number;
  /** Mean margin `m`. */
  readonly margin: number;
  /** Standard deviation `σ` of the per-sample margin; 0 gives a fixed margin (ArcFace, CosFace). */
  readonly std: number;
  /** ElasticFace+: pair sorted margins with samples ranked by `cos θ_y`. */
  readonly plus: boolean;
  /** Pairing rule of the "+" variants (default `rank`). */
  readonly plusIndexing?: PlusIndexing;
}

/**
 * Clamp bound of the cosines: `[−1 + COS_EPSILON, 1 − COS_EPSILON]`, as the reference losses.
 *
 * @example
 * ```ts
 * import { COS_EPSILON } from "./margin.ts";
 * const clamp = (cos: number) => Math.min(1 - COS_EPSILON, Math.max(-1 + COS_EPSILON, cos));
 * console.log(COS_EPSILON, clamp(1.2), Number.isFinite(Math.acos(clamp(1.2)))); // 1e-7 0.9999999 true
 * ```
 */
export const COS_EPSILON = 1e-7;

/**
 * ElasticFace-Arc: s = 64, m = 0.5, σ = 0.05.
 * Source: Boutros et al., "ElasticFace", CVPRW 2022, Sec. 4 (s = 64, m = 0.5, σ = 0.05 for ElasticFace-Arc);
 * fdbtrs/ElasticFace `config/config.py` (`s=64.0, m=0.50, std=0.05`). MaskInv trains with this loss.
 *
 * @example
 * ```ts
 * import { ELASTIC_ARC } from "./margin.ts";
 * console.log(ELASTIC_ARC.kind, ELASTIC_ARC.scale, ELASTIC_ARC.margin, ELASTIC_ARC.std); // arc 64 0.5 0.05
 * ```
 */
export const ELASTIC_ARC: MarginLossConfig = {
  name: "elastic-arc",
  kind: "arc",
  scale: 64,
  margin: 0.5,
  std: 0.05,
  plus: false,
};

/**
 * ElasticFace-Arc+ (the "+" rank assignment of {@linkcode ELASTIC_ARC}); source as ElasticFace, Sec. 3.
 *
 * @example
 * ```ts
 * import { ELASTIC_ARC_PLUS } from "./margin.ts";
 * const { name, plus, margin } = ELASTIC_ARC_PLUS;
 * console.log(name, plus, margin); // elastic-arc-plus true 0.5
 * ```
 */
export const ELASTIC_ARC_PLUS: MarginLossConfig = { ...ELASTIC_ARC, name: "elastic-arc-plus", plus: true };

/**
 * ElasticFace-Cos: s = 64, m = 0.35, σ = 0.05.
 * Source: ElasticFace, Sec. 4 (m = 0.35, σ = 0.05 for ElasticFace-Cos); fdbtrs/ElasticFace
 * `config/config_ElasticCosFace.py`.
 *
 * @example
 * ```ts
 * import { ELASTIC_COS } from "./margin.ts";
 * console.log(ELASTIC_COS.kind, ELASTIC_COS.scale, ELASTIC_COS.margin, ELASTIC_COS.std); // cos 64 0.35 0.05
 * ```
 */
export const ELASTIC_COS: MarginLossConfig = {
  name: "elastic-cos",
  kind: "cos",
  scale: 64,
  margin: 0.35,
  std: 0.05,
  plus: false,
};

/**
 * ElasticFace-Cos+ (the "+" rank assignment of {@linkcode ELASTIC_COS}).
 *
 * @example
 * ```ts
 * import { ELASTIC_COS_PLUS } from "./margin.ts";
 * const { name, plus, margin } = ELASTIC_COS_PLUS;
 * console.log(name, plus, margin); // elastic-cos-plus true 0.35
 * ```
 */
export const ELASTIC_COS_PLUS: MarginLossConfig = { ...ELASTIC_COS, name: "elastic-cos-plus", plus: true };

/**
 * ArcFace: s = 64, m = 0.5 (Deng et al., CVPR 2019, Sec. 3), i.e. ElasticFace-Arc with σ = 0.
 *
 * @example
 * ```ts
 * import { ARCFACE } from "./margin.ts";
 * console.log(ARCFACE.kind, ARCFACE.scale, ARCFACE.margin, ARCFACE.std); // arc 64 0.5 0
 * ```
 */
export const ARCFACE: MarginLossConfig = {
  name: "arcface",
  kind: "arc",
  scale: 64,
  margin: 0.5,
  std: 0,
  plus: false,
};

/**
 * CosFace: s = 64, m = 0.35 (Wang et al., CVPR 2018, Sec. 4.1), i.e. ElasticFace-Cos with σ = 0.
 *
 * @example
 * ```ts
 * import { COSFACE } from "./margin.ts";
 * console.log(COSFACE.kind, COSFACE.scale, COSFACE.margin, COSFACE.std); // cos 64 0.35 0
 * ```
 */
export const COSFACE: MarginLossConfig = {
  name: "cosface",
  kind: "cos",
  scale: 64,
  margin: 0.35,
  std: 0,
  plus: false,
};

/**
 * Normalised softmax (no margin), s = 64 as the margin losses.
 *
 * @example
 * ```ts
 * import { NORMALISED_SOFTMAX } from "./margin.ts";
 * console.log(NORMALISED_SOFTMAX.scale, NORMALISED_SOFTMAX.margin, NORMALISED_SOFTMAX.std); // 64 0 0
 * ```
 */
export const NORMALISED_SOFTMAX: MarginLossConfig = {
  name: "normalised-softmax",
  kind: "cos",
  scale: 64,
  margin: 0,
  std: 0,
  plus: false,
};

/**
 * Every predefined loss by name.
 *
 * @example
 * ```ts
 * import { MARGIN_LOSSES } from "./margin.ts";
 * console.log(Object.keys(MARGIN_LOSSES).length, MARGIN_LOSSES["cosface"].margin); // 7 0.35
 * ```
 */
export const MARGIN_LOSSES: Readonly<Record<string, MarginLossConfig>> = Object.fromEntries(
  [ELASTIC_ARC, ELASTIC_ARC_PLUS, ELASTIC_COS, ELASTIC_COS_PLUS, ARCFACE, COSFACE, NORMALISED_SOFTMAX].map((
    c,
  ) => [c.name, c]),
);

/**
 * Looks up a predefined margin loss by name.
 *
 * @throws {Error} Naming the known losses when `name` is not one of them.
 * @example
 * ```ts
 * import { marginLoss } from "./margin.ts";
 * console.log(marginLoss("elastic-arc").margin); // 0.5
 * ```
 */
export function marginLoss(name: string): MarginLossConfig {
  const found = MARGIN_LOSSES[name];
  if (found == null) {
    throw new Error(`unknown margin loss "${name}"; known: ${Object.keys(MARGIN_LOSSES).join(", ")}`);
  }
  return found;
}

/**
 * L2-normalises `x` along `axis`, as PyTorch's `F.normalize` (`x / max(‖x‖, 1e-12)`).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { l2Normalize } from "./margin.ts";
 * l2Normalize(tf.tensor2d([[3, 4]])).print(); // [[0.6, 0.8]]
 * ```
 */
export function l2Normalize<T extends tf.Tensor>(x: T, axis = 1): T {
  return tf.tidy(() => {
    const norm = tf.sqrt(tf.sum(tf.square(x), axis, true));
    return tf.div(x, tf.maximum(norm, 1e-12)) as T;
  });
}

/**
 * Clamped cosines between L2-normalised embeddings (rows) and class centres (columns of `kernel`).
 *
 * @param embeddings `[batch, dim]`, any norm.
 * @param kernel `[dim, classes]`, any column norms.
 * @returns `[batch, classes]` in `[−1 + 1e-7, 1 − 1e-7]`.
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { cosineToCentres } from "./margin.ts";
 * cosineToCentres(tf.tensor2d([[2, 0]]), tf.tensor2d([[1, 0], [0, 1]])).print(); // [[0.9999999, 0]]
 * ```
 */
export function cosineToCentres(embeddings: tf.Tensor2D, kernel: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() =>
    tf.clipByValue(
      tf.matMul(l2Normalize(embeddings, 1), l2Normalize(kernel, 0)),
      -1 + COS_EPSILON,
      1 - COS_EPSILON,
    )
  );
}

/**
 * Margin logits from clamped cosines: the target column gets the margin, every column is scaled by `s`.
 *
 * @param cosine `[batch, classes]` clamped cosines ({@linkcode cosineToCentres}).
 * @param labels `[batch]` int32 class indices.
 * @param margins `[batch]` one margin per sample.
 * @param kind `arc`: `s·cos(acos(c) + m)`; `cos`: `s·(c − m)`, on the target column only.
 * @param scale `s`.
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { marginLogits } from "./margin.ts";
 * const logits = marginLogits(tf.tensor2d([[0.5, 0.1]]), tf.tensor1d([0], "int32"), tf.tensor1d([0.1]), "cos", 2);
 * logits.print(); // [[0.8, 0.2]]
 * ```
 */
export function marginLogits(
  cosine: tf.Tensor2D,
  labels: tf.Tensor1D,
  margins: tf.Tensor1D,
  kind: MarginKind,
  scale: number,
): tf.Tensor2D {
  return tf.tidy(() => {
    const classes = cosine.shape[1];
    const onehot = tf.oneHot(labels, classes, 1, 0, "float32");
    const marginHot = tf.mul(onehot, tf.reshape(margins, [-1, 1]));
    const target = kind === "arc" ? tf.cos(tf.add(tf.acos(cosine), marginHot)) : tf.sub(cosine, marginHot);
    return tf.mul(target, scale) as tf.Tensor2D;
  });
}

/**
 * Mean softmax cross-entropy of `logits` against integer `labels` (PyTorch `F.cross_entropy`).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { softmaxCrossEntropy } from "./margin.ts";
 * softmaxCrossEntropy(tf.tensor2d([[0, 0]]), tf.tensor1d([1], "int32")).print(); // 0.6931
 * ```
 */
export function softmaxCrossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    const onehot = tf.oneHot(labels, logits.shape[1], 1, 0, "float32");
    const logProbabilities = tf.logSoftmax(logits, 1);
    return tf.neg(tf.mean(tf.sum(tf.mul(onehot, logProbabilities), 1))) as tf.Scalar;
  });
}

/**
 * Draws one margin per sample from N(m, σ) (a fixed `m` when σ = 0).
 *
 * @example
 * ```ts
 * import { Rng } from "../util/random.ts";
 * import { drawMargins, ELASTIC_ARC } from "./margin.ts";
 * const margins = drawMargins(new Rng(1), 4, ELASTIC_ARC);
 * console.log(margins.length); // 4
 * ```
 */
export function drawMargins(rng: Rng, batch: number, config: MarginLossConfig): Float32Array {
  const margins = new Float32Array(batch);
  for (let i = 0; i < batch; i++) {
    margins[i] = config.std > 0 ? rng.normal(config.margin, config.std) : config.margin;
  }
  return margins;
}

/**
 * Pairs margins with samples for the "+" variants from each sample's target cosine.
 *
 * @param margins Margins as drawn, one per sample.
 * @param targetCosine `cos θ_y` of each sample.
 * @param indexing `rank` (intended) or `released` (the released code's indexing); see {@linkcode PlusIndexing}.
 * @returns The margin of each sample.
 * @example
 * ```ts
 * import { assignPlusMargins } from "./margin.ts";
 * const m = assignPlusMargins(new Float32Array([0.6, 0.4, 0.5]), new Float32Array([0.1, 0.9, 0.5]), "rank");
 * console.log(Array.from(m)); // the closest sample (cos 0.9) gets the smallest margin
 * ```
 */
export function assignPlusMargins(
  margins: Float32Array,
  targetCosine: ArrayLike<number>,
  indexing: PlusIndexing = "rank",
): Float32Array {
  const n = margins.length;
  if (targetCosine.length !== n) {
    throw new RangeError(`assignPlusMargins: ${n} margins but ${targetCosine.length} cosines`);
  }
  const sorted = Float32Array.from(margins).sort();
  // Stable order of samples by descending cos θ_y (torch.sort is stable on ties too on CPU).
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) =>
    targetCosine[b] - targetCosine[a] || a - b
  );
  const assigned = new Float32Array(n);
  for (let k = 0; k < n; k++) {
    if (indexing === "rank") assigned[order[k]] = sorted[k];
    else assigned[k] = sorted[order[k]];
  }
  return assigned;
}

/** Result of {@linkcode marginSoftmaxLoss}. */
export interface MarginLossResult {
  /** Mean cross-entropy (scalar). */
  loss: tf.Scalar;
  /** `[batch, classes]` scaled logits with margins. */
  logits: tf.Tensor2D;
  /** The margin used for each sample (after the "+" assignment). */
  margins: Float32Array;
}

/** Options of {@linkcode marginSoftmaxLoss}. */
export interface MarginLossOptions {
  /** Use these margins (one per sample) instead of drawing them; the "+" assignment is still applied. */
  margins?: ArrayLike<number>;
  /** Generator for the margins; required when σ > 0 and `margins` is not given. */
  rng?: Rng;
}

/**
 * The full margin loss: cosines, per-sample margins (drawn or given, "+"-assigned when configured), logits and
 * mean cross-entropy. Differentiable with respect to `embeddings` and `kernel`.
 *
 * @example ElasticFace-Arc on a toy batch
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { Rng } from "../util/random.ts";
 * import { ELASTIC_ARC, marginSoftmaxLoss } from "./margin.ts";
 * const rng = new Rng(3);
 * const { loss } = marginSoftmaxLoss(
 *   tf.randomNormal([4, 8]), tf.randomNormal([8, 5]), tf.tensor1d([0, 1, 2, 3], "int32"), ELASTIC_ARC, { rng },
 * );
 * console.log(loss.dataSync()[0] > 0); // true
 * ```
 */
export function marginSoftmaxLoss(
  embeddings: tf.Tensor2D,
  kernel: tf.Tensor2D,
  labels: tf.Tensor1D,
  config: MarginLossConfig,
  options: MarginLossOptions = {},
): MarginLossResult {
  const batch = embeddings.shape[0];
  let margins: Float32Array;
  if (options.margins != null) {
    if (options.margins.length !== batch) {
      throw new RangeError(`marginSoftmaxLoss: ${options.margins.length} margins for a batch of ${batch}`);
    }
    margins = Float32Array.from(options.margins);
  } else if (config.std > 0) {
    if (options.rng == null) throw new Error(`${config.name}: σ > 0 needs an Rng to draw the margins`);
    margins = drawMargins(options.rng, batch, config);
  } else {
    margins = new Float32Array(batch).fill(config.margin);
  }
  const out = tf.tidy(() => {
    const cosine = cosineToCentres(embeddings, kernel);
    if (config.plus) {
      const target = tf.sum(tf.mul(cosine, tf.oneHot(labels, cosine.shape[1], 1, 0, "float32")), 1);
      margins = assignPlusMargins(margins, target.dataSync(), config.plusIndexing ?? "rank");
    }
    const logits = marginLogits(cosine, labels, tf.tensor1d(margins), config.kind, config.scale);
    return { loss: softmaxCrossEntropy(logits, labels), logits };
  });
  return { ...out, margins };
}
