/**
 * The one interface every face model offers, trainable or frozen: images in, L2-normalised embeddings out.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";

/** Options of {@linkcode FaceEmbedder.embed}. */
export interface EmbedOptions {
  /** Flip-sum test-time augmentation: embed the image and its mirror, sum, then L2-normalise. */
  flip?: boolean;
}

/**
 * A face-recognition model seen from outside: what evaluation, distillation teachers and plots need.
 *
 * Input convention (the same for every model, normalisation happens inside): float32 NHWC RGB tensors with
 * values in [0, 255]; images whose size differs from {@linkcode FaceEmbedder.inputSize} are resized
 * bilinearly. Output: `[n, embeddingSize]`, each row of unit L2 norm.
 *
 * @example Use any embedder the same way
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import type { FaceEmbedder } from "./embedder.ts";
 * function cosine(model: FaceEmbedder, a: tf.Tensor4D, b: tf.Tensor4D): number {
 *   return tf.tidy(() => tf.sum(tf.mul(model.embed(a), model.embed(b))).dataSync()[0]);
 * }
 * ```
 */
export interface FaceEmbedder {
  /** A short name for tables and plots, e.g. `"iresnet18"` or `"npm:mobilefacenet"`. */
  readonly name: string;
  /** `[height, width]` the network expects. */
  readonly inputSize: readonly [number, number];
  /** Length of one embedding. */
  readonly embeddingSize: number;
  /**
   * Embeds a batch in inference mode.
   *
   * @param images float32 `[n, h, w, 3]`, RGB, values in [0, 255].
   * @returns `[n, embeddingSize]`, L2-normalised rows. The caller disposes it.
   */
  embed(images: tf.Tensor4D, options?: EmbedOptions): tf.Tensor2D;
  /** Releases the model's weights. */
  dispose(): void;
}
