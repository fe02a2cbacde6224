/**
 * The building blocks of maskinv's networks as plain TensorFlow.js functions on NHWC tensors: convolutions
 * with PyTorch's symmetric padding, batch normalisation in inference mode and PyTorch's running-statistics
 * update (training-mode batch normalisation is the engine's `batchNormTrain`), PReLU with a closed-form
 * gradient (`tf.customGrad`, far fewer kernels than the taped composition) and dense layers.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
// The engine registers every gradient of TensorFlow.js (tfjs-core's npm bundle registers none).
import "../engine/mod.ts";

/** Batch-norm settings, as PyTorch's `nn.BatchNorm*d` (eps 1e-5, momentum 0.1). */
export interface BatchNormOptions {
  /** Added to the variance. */
  eps: number;
  /** Weight of the batch statistic in the running average (PyTorch convention: `new = (1−m)·old + m·batch`). */
  momentum: number;
}

/**
 * PyTorch's defaults: eps 1e-5, momentum 0.1.
 *
 * @example
 * ```ts
 * import { TORCH_BATCH_NORM } from "./layers.ts";
 * console.log(TORCH_BATCH_NORM.eps, TORCH_BATCH_NORM.momentum); // 0.00001 0.1
 * ```
 */
export const TORCH_BATCH_NORM: BatchNormOptions = { eps: 1e-5, momentum: 0.1 };

/** The four tensors of one batch-norm layer. */
export interface BatchNormParams {
  /** Scale γ, `[C]`. */
  weight: tf.Tensor1D;
  /** Shift β, `[C]`. */
  bias: tf.Tensor1D;
  /** Running mean, `[C]` (a non-trainable variable in training). */
  runningMean: tf.Tensor1D;
  /** Running (unbiased) variance, `[C]`. */
  runningVar: tf.Tensor1D;
}

/**
 * Batch normalisation with fixed statistics: `γ·(x − μ)/√(σ² + eps) + β` over the last axis.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { batchNormInference } from "./layers.ts";
 * const p = { weight: tf.ones([2]), bias: tf.zeros([2]), runningMean: tf.zeros([2]), runningVar: tf.ones([2]) };
 * batchNormInference(tf.ones([1, 2]), p as never, 0).print(); // [[1, 1]]
 * ```
 */
export function batchNormInference<T extends tf.Tensor>(x: T, p: BatchNormParams, eps: number): T {
  return tf.tidy(() => {
    const scale = tf.mul(p.weight, tf.rsqrt(tf.add(p.runningVar, eps)));
    const shift = tf.sub(p.bias, tf.mul(p.runningMean, scale));
    return tf.add(tf.mul(x, scale), shift) as T;
  });
}

/** A convolution with a batch norm folded in: `conv(x, filter) + bias` equals `batchNorm(conv(x, original))`. */
export interface FoldedConv {
  /** The filter scaled per output channel by `γ/√(σ² + eps)`. */
  filter: tf.Tensor4D;
  /** `β − μ·γ/√(σ² + eps)`, `[C]`. */
  bias: tf.Tensor1D;
}

/**
 * Folds an inference-mode batch norm into the convolution before it (HWIO filter, or `[kh, kw, C, 1]` when
 * `depthwise`).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { foldBatchNorm } from "./layers.ts";
 * const p = { weight: tf.tensor1d([2]), bias: tf.tensor1d([1]), runningMean: tf.tensor1d([0.5]),
 *   runningVar: tf.tensor1d([1]) };
 * const folded = foldBatchNorm(tf.ones([1, 1, 1, 1]), p, 0, false);
 * console.log(folded.filter.dataSync()[0], folded.bias.dataSync()[0]); // 2 0
 * ```
 */
export function foldBatchNorm(
  filter: tf.Tensor4D,
  p: BatchNormParams,
  eps: number,
  depthwise: boolean,
): FoldedConv {
  return tf.tidy(() => {
    const scale = tf.mul(p.weight, tf.rsqrt(tf.add(p.runningVar, eps))) as tf.Tensor1D;
    const bias = tf.sub(p.bias, tf.mul(p.runningMean, scale)) as tf.Tensor1D;
    // Output channels are the last filter axis of a convolution, the third of a depthwise one.
    const folded = tf.mul(filter, depthwise ? tf.reshape(scale, [-1, 1]) : scale) as tf.Tensor4D;
    return { filter: folded, bias };
  });
}

/**
 * Updates running statistics in place as PyTorch does in training mode: `new = (1 − m)·old + m·batch`, with the
 * unbiased batch variance (`n/(n−1)`, `n` values per channel).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { updateRunningStatistics } from "./layers.ts";
 * const mean = tf.variable(tf.zeros([1]), false), variance = tf.variable(tf.ones([1]), false);
 * updateRunningStatistics(mean, variance, tf.tensor1d([1]), tf.tensor1d([1]), 2, 0.1);
 * mean.print(); // [0.1]
 * ```
 */
export function updateRunningStatistics(
  runningMean: tf.Variable,
  runningVar: tf.Variable,
  batchMean: tf.Tensor,
  batchVariance: tf.Tensor,
  count: number,
  momentum: number,
): void {
  const unbiased = count > 1 ? count / (count - 1) : 1;
  tf.tidy(() => {
    runningMean.assign(tf.add(tf.mul(runningMean, 1 - momentum), tf.mul(batchMean, momentum)));
    runningVar.assign(
      tf.add(tf.mul(runningVar, 1 - momentum), tf.mul(batchVariance, momentum * unbiased)),
    );
  });
}

/**
 * 2-D convolution (NHWC input, HWIO filter) with PyTorch's symmetric zero padding `pad` on each side.
 *
 * TensorFlow.js' `same` pads stride-2 convolutions asymmetrically (0 before, 1 after); PyTorch's `padding=1`
 * pads 1 on both sides, so explicit padding is used to keep imported weights exact.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { conv2d } from "./layers.ts";
 * console.log(conv2d(tf.ones([1, 4, 4, 1]), tf.ones([3, 3, 1, 2]), 2, 1).shape); // [1, 2, 2, 2]
 * ```
 */
export function conv2d(x: tf.Tensor4D, filter: tf.Tensor4D, stride: number, pad: number): tf.Tensor4D {
  return tf.conv2d(x, filter, stride, pad === 0 ? "valid" : pad);
}

/**
 * Depthwise 2-D convolution (filter `[kh, kw, C, 1]`) with symmetric padding `pad`, as a grouped PyTorch
 * convolution with `groups = C`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { depthwiseConv2d } from "./layers.ts";
 * console.log(depthwiseConv2d(tf.ones([1, 7, 7, 4]), tf.ones([7, 7, 4, 1]), 1, 0).shape); // [1, 1, 1, 4]
 * ```
 */
export function depthwiseConv2d(
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  stride: number,
  pad: number,
): tf.Tensor4D {
  return tf.depthwiseConv2d(x, filter, stride, pad === 0 ? "valid" : pad);
}

/**
 * Dense layer `x·W (+ b)` with `W` as `[in, out]`.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { dense } from "./layers.ts";
 * dense(tf.ones([1, 2]), tf.ones([2, 3]), tf.ones([3])).print(); // [[3, 3, 3]]
 * ```
 */
export function dense(x: tf.Tensor2D, weight: tf.Tensor2D, bias?: tf.Tensor1D): tf.Tensor2D {
  const y = tf.matMul(x, weight);
  return (bias == null ? y : tf.add(y, bias)) as tf.Tensor2D;
}

/**
 * Output side of a convolution with PyTorch's arithmetic: `floor((size + 2·pad − kernel) / stride) + 1`.
 *
 * @example
 * ```ts
 * import { convOutputSize } from "./layers.ts";
 * console.log(convOutputSize(112, 3, 2, 1)); // 56
 * ```
 */
export function convOutputSize(size: number, kernel: number, stride: number, pad: number): number {
  return Math.floor((size + 2 * pad - kernel) / stride) + 1;
}
