/**
 * Template-level knowledge distillation (MaskInv, Huber et al., FG 2021, Eq. 2): the student's embedding of
 * the (maybe masked) face is pulled towards the frozen teacher's embedding of the unmasked face.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { l2Normalize } from "./margin.ts";

/**
 * `MSE(l2n(student), l2n(teacher))`, the mean over batch AND embedding dimensions (PyTorch `nn.MSELoss`
 * default, as the released MaskInv code). Compute `teacher` outside the differentiated function (a frozen model
 * in inference mode) so it acts as a constant target.
 *
 * @param student `[batch, dim]` student embeddings (any norm).
 * @param teacher `[batch, dim]` teacher embeddings (any norm).
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { templateDistillationLoss } from "./distillation.ts";
 * const s = tf.tensor2d([[1, 0]]), t = tf.tensor2d([[0, 2]]);
 * templateDistillationLoss(s, t).print(); // 1
 * ```
 */
export function templateDistillationLoss(student: tf.Tensor2D, teacher: tf.Tensor2D): tf.Scalar {
  if (student.shape[0] !== teacher.shape[0] || student.shape[1] !== teacher.shape[1]) {
    throw new RangeError(
      `templateDistillationLoss: student ${student.shape} and teacher ${teacher.shape} differ in shape`,
    );
  }
  return tf.tidy(() => {
    return tf.mean(tf.squaredDifference(l2Normalize(student, 1), l2Normalize(teacher, 1))) as tf.Scalar;
  });
}
