/**
 * Training-time layers with closed-form gradients, so that one backward pass costs a few fused passes
 * instead of the dozen small kernels TensorFlow.js's automatic differentiation would chain.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { BATCH_NORM_BACKWARD, BATCH_NORM_FORWARD, batchNormConfigs } from "./kernels/batch_norm.ts";
import { PRELU_BACKWARD, preluConfigs } from "./kernels/prelu.ts";

// The fused batch-norm and PReLU kernels (wasm: SIMD on the heap; cpu: plain loops); other engines use the
// compositions below.
for (const config of [...batchNormConfigs, ...preluConfigs]) {
  if (tf.getKernel(config.kernelName, config.backendName) == null) tf.registerKernel(config);
}

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
 * Batch normalisation with batch statistics (training mode), over every axis but the last (channels), as two
 * fused kernels forward and two backward on the wasm and cpu engines (a composition of TensorFlow.js ops
 * elsewhere):
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
    if (tf.getKernel(BATCH_NORM_FORWARD, tf.getBackend()) != null) {
      // Two passes forward, two backward; only the input (alive anyway) is kept for the gradient.
      const [value, mean, variance, invStd] = tf.engine().runKernel(
        BATCH_NORM_FORWARD,
        { x: input, gamma: scale, beta: offset },
        { epsilon },
      ) as tf.Tensor[];
      options.onStats?.(mean as tf.Tensor1D, variance as tf.Tensor1D);
      save([input, mean, invStd, scale]);
      return {
        value,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [xs, m, inverseStd, gammaSaved] = saved;
          return tf.engine().runKernel(
            BATCH_NORM_BACKWARD,
            { dy, x: xs, mean: m, invStd: inverseStd, gamma: gammaSaved },
            {},
          ) as tf.Tensor[];
        },
      };
    }
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

/**
 * PReLU with one slope per channel (the last axis), `y = x > 0 ? x : α·x`, with the closed-form gradient
 * `dx = dy · (x > 0 ? 1 : α)`, `dα = Σ dy · min(x, 0)` (PyTorch's convention at `x = 0`): one fused kernel on
 * the wasm and cpu engines, a composition of TensorFlow.js ops elsewhere.
 *
 * @param x Any rank, channels last.
 * @param alpha Slopes, `[channels]`.
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { preluTrain } from "./ops.ts";
 * const x = tf.tensor2d([[-2, 3]]);
 * const alpha = tf.tensor1d([0.25, 0.25]);
 * console.log(preluTrain(x, alpha).arraySync()); // [[-0.5, 3]]
 * const [dx, da] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(preluTrain(a, b as tf.Tensor1D)))([x, alpha]);
 * console.log(dx.arraySync(), da.arraySync()); // [[0.25, 1]] [-2, 0]
 * ```
 */
export function preluTrain<T extends tf.Tensor>(x: T, alpha: tf.Tensor1D): T {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [input, slope] = args as tf.Tensor[];
    const save = args[2] as tf.GradSaveFunc;
    save([input, slope]);
    return {
      value: tf.prelu(input, slope),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, a] = saved;
        if (tf.getKernel(PRELU_BACKWARD, tf.getBackend()) != null) {
          return tf.engine().runKernel(PRELU_BACKWARD, { dy, x: xs, alpha: a }, {}) as tf.Tensor[];
        }
        const positive = tf.step(xs);
        const dx = tf.mul(dy, tf.add(tf.mul(positive, tf.sub(1, a)), a));
        const channels = a.shape[0];
        const da = tf.sum(tf.reshape(tf.mul(dy, tf.minimum(xs, 0)), [-1, channels]), 0);
        return [dx, da];
      },
    };
  });
  return op(x, alpha) as T;
}
