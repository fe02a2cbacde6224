/**
 * The objectives of MaskInv: margin-based softmax losses on class centres (ElasticFace-Arc/Cos and their "+"
 * variants, ArcFace, CosFace, normalised softmax) and template-level knowledge distillation.
 *
 * @example The MaskInv student loss: ElasticFace-Arc plus λ·KD
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { ELASTIC_ARC, MarginHead, templateDistillationLoss } from "./mod.ts";
 * const head = new MarginHead({ embeddingSize: 16, classes: 10, loss: ELASTIC_ARC, seed: 1 });
 * const student = tf.randomNormal([4, 16]) as tf.Tensor2D, teacher = tf.randomNormal([4, 16]) as tf.Tensor2D;
 * const labels = tf.tensor1d([0, 3, 3, 7], "int32");
 * const total = tf.add(head.loss(student, labels).loss, tf.mul(100, templateDistillationLoss(student, teacher)));
 * console.log(total.shape.length); // 0
 * head.dispose();
 * ```
 *
 * @module
 */
export * from "./margin.ts";
export * from "./head.ts";
export * from "./distillation.ts";
