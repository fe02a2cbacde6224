/**
 * The one place where face images become network input, and where outputs become embeddings:
 * `[0, 255]` RGB → `[−1, 1]` (`x/127.5 − 1`, i.e. insightface's `(x/255 − 0.5)/0.5`), resizing to the network's
 * input size, flip-sum test-time augmentation and row-wise L2 normalisation.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { EmbedOptions } from "./embedder.ts";

/**
 * Checks that `images` is an NHWC RGB batch and resizes it (bilinear, half-pixel centres) to `size` if needed.
 *
 * @throws {RangeError} When `images` is not `[n, h, w, 3]`.
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { fitFaces } from "./preprocess.ts";
 * console.log(fitFaces(tf.zeros([2, 56, 56, 3]), [112, 112], "test").shape); // [2, 112, 112, 3]
 * ```
 */
export function fitFaces(images: tf.Tensor4D, size: readonly [number, number], model: string): tf.Tensor4D {
  if (images.rank !== 4 || images.shape[3] !== 3) {
    throw new RangeError(`${model}: expected RGB images [n, h, w, 3], got [${images.shape}]`);
  }
  const [h, w] = size;
  if (images.shape[1] === h && images.shape[2] === w) return images;
  return tf.image.resizeBilinear(images, [h, w], false, true);
}

/**
 * `[0, 255]` → `[−1, 1]`: `x / 127.5 − 1`, the input scaling of insightface, ElasticFace and MaskInv.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { normaliseFaces } from "./preprocess.ts";
 * normaliseFaces(tf.tensor4d([0, 127.5, 255], [1, 1, 1, 3])).print(); // [-1, 0, 1]
 * ```
 */
export function normaliseFaces(images: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => tf.sub(tf.div(images, 127.5), 1));
}

/**
 * Mirrors NHWC images left-right.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { flipHorizontal } from "./preprocess.ts";
 * flipHorizontal(tf.tensor4d([1, 2], [1, 1, 2, 1])).print(); // [[[[2], [1]]]]
 * ```
 */
export function flipHorizontal(images: tf.Tensor4D): tf.Tensor4D {
  return tf.reverse(images, 2);
}

/**
 * Divides each row by its L2 norm (`max(‖x‖, 1e-12)`).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { l2NormalizeRows } from "./preprocess.ts";
 * l2NormalizeRows(tf.tensor2d([[3, 4]])).print(); // [[0.6, 0.8]]
 * ```
 */
export function l2NormalizeRows(x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.div(x, tf.maximum(tf.sqrt(tf.sum(tf.square(x), 1, true)), 1e-12)));
}

/**
 * Runs `raw` on a batch (and, with `flip`, on its mirror, summing the raw outputs as insightface's evaluation
 * does) and L2-normalises the rows.
 *
 * @param raw Maps network-ready input to raw embeddings `[n, d]`.
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { embedWith } from "./preprocess.ts";
 * const raw = (x: tf.Tensor4D) => tf.reshape(tf.mean(x, [1, 2]), [-1, 3]) as tf.Tensor2D;
 * console.log(embedWith(raw, tf.ones([2, 4, 4, 3]), { flip: true }).shape); // [2, 3]
 * ```
 */
export function embedWith(
  raw: (input: tf.Tensor4D) => tf.Tensor2D,
  input: tf.Tensor4D,
  options: EmbedOptions = {},
): tf.Tensor2D {
  return tf.tidy(() => {
    let sum = raw(input);
    if (options.flip === true) sum = tf.add(sum, raw(flipHorizontal(input)));
    return l2NormalizeRows(sum);
  });
}
