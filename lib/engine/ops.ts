/**
 * Training-time layers with closed-form gradients, so that one backward pass costs a few fused passes
 * instead of the dozen small kernels TensorFlow.js's automatic differentiation would chain.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";

/** Options of {@linkcode batchNormTrain}. */
export interface BatchNormTrainOptions {
  /** Added to the variance before the square root (PyTorch's default 1e-5). */
  epsilon?: number;
  /**
   * Receives the batch mean and the biased batch variance (per channel) during the forward pass, e.g. to
   * update running statistics. The tensors are released when the forward pass returns: use them (or
   * `tf.keep` copies) inside the callback.
   */
  onStats?: (mean: tf.Tensor1D, variance: tf.Tensor1D) => void;
}

/**
 * Batch normalisation with batch statistics (training mode), over every axis but the last (channels):
 * `y = γ · (x − μ) / √(σ² + ε) + β`, with the textbook closed-form backward pass
 * `dx = γ/(m·√(σ²+ε)) · (m·dy − Σdy − x̂·Σ(dy·x̂))`, `dγ = Σ(dy·x̂)`, `dβ = Σdy`.
 *
 * @param x `[n, h, w, c]` or `[n, c]`.
 * @param gamma Scale, `[c]`.
 * @param beta Offset, `[c]`.
 * @returns The normalised tensor, shaped like `x`.
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { batchNormTrain } from "./ops.ts";
 * const x = tf.tensor2d([[1, 2], [3, 6]]);
 * const y = batchNormTrain(x, tf.ones([2]), tf.zeros([2]));
 * console.log(y.arraySync()); // ≈ [[-1, -1], [1, 1]]
 * ```
 */
export function batchNormTrain<T extends tf.Tensor>(
  x: T,
  gamma: tf.Tensor1D,
  beta: tf.Tensor1D,
  options: BatchNormTrainOptions = {},
): T {
  const epsilon = options.epsilon ?? 1e-5;
  const axes = x.shape.slice(0, -1).map((_, i) => i);
  const count = x.size / x.shape[x.rank - 1];
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [input, scale, offset] = args as tf.Tensor[];
    const save = args[3] as tf.GradSaveFunc;
    const mean = tf.mean(input, axes);
    const centred = tf.sub(input, mean);
    const variance = tf.mean(tf.square(centred), axes);
    options.onStats?.(mean as tf.Tensor1D, variance as tf.Tensor1D);
    const invStd = tf.rsqrt(tf.add(variance, epsilon));
    const normalised = tf.mul(centred, invStd);
    save([normalised, invStd, scale]);
    return {
      value: tf.add(tf.mul(normalised, scale), offset),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xHat, inverseStd, gammaSaved] = saved;
        const dBeta = tf.sum(dy, axes);
        const dGamma = tf.sum(tf.mul(dy, xHat), axes);
        const dx = tf.mul(
          tf.mul(gammaSaved, tf.div(inverseStd, count)),
          tf.sub(tf.sub(tf.mul(dy, count), dBeta), tf.mul(xHat, dGamma)),
        );
        return [dx, dGamma, dBeta];
      },
    };
  });
  return op(x, gamma, beta) as T;
}
