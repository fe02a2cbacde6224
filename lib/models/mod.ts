/**
 * Face-recognition networks (iResNet-18/34/50/100, MobileFaceNet) as plain TensorFlow.js functions with
 * named variables, checkpoints, importers of published weights (PyTorch `state_dict`, TensorFlow.js graph
 * models) and the common {@linkcode FaceEmbedder} interface.
 *
 * Tensors are NHWC (`[batch, height, width, channels]`) throughout; parameters keep insightface's PyTorch
 * `state_dict` names, in TensorFlow.js layouts.
 *
 * @example Embed faces with a freshly initialised iResNet-18 and with a packaged teacher
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { createNetwork, iresnetConfig, loadEmbedder } from "./mod.ts";
 * const student = createNetwork(iresnetConfig("iresnet18"), { seed: 1 });
 * const teacher = await loadEmbedder("npm:mobilefacenet");
 * const faces = tf.randomUniform([2, 112, 112, 3], 0, 255) as tf.Tensor4D;
 * console.log(student.embed(faces).shape, teacher.embed(faces, { flip: true }).shape); // [2, 512] [2, 192]
 * student.dispose();
 * teacher.dispose();
 * ```
 *
 * @module
 */
export * from "./embedder.ts";
export * from "./preprocess.ts";
export * from "./layers.ts";
export * from "./params.ts";
export type { ConvBnLayer, ForwardContext } from "./context.ts";
export * from "./iresnet.ts";
export * from "./mobilefacenet.ts";
export * from "./network.ts";
export * from "./checkpoint.ts";
export * from "./torch_import.ts";
export * from "./graph_model.ts";
export * from "./load.ts";
export * from "./npy.ts";
export * from "./zip.ts";
