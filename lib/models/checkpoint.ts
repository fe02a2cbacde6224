/**
 * Checkpoints: a network's weights and running statistics, and any other named tensor groups (the margin
 * head's class centres, the optimiser's slots), with the architecture and free JSON metadata, in a directory.
 *
 * Layout: `tensors-<id>.bin` (every tensor's little-endian values, concatenated) and `manifest.json` (the
 * architecture, each tensor's group, name, dtype, shape and byte range, the data file's size and SHA-256, and
 * the metadata). Both are written with atomic renames, the manifest last, and the manifest names its data file,
 * so a crash mid-save leaves the previous checkpoint intact and readable; stale data files are removed after.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { writeFileAtomic, writeTextFileAtomic } from "../util/atomic.ts";
import { BadFileError } from "../util/errors.ts";
import { architectureName, type FaceNetwork, type NetworkConfig, networkFromTensors } from "./network.ts";

/**
 * File name of a checkpoint's manifest.
 *
 * @example
 * ```ts
 * import { CHECKPOINT_MANIFEST } from "./checkpoint.ts";
 * console.log(`runs/baseline/${CHECKPOINT_MANIFEST}`); // runs/baseline/manifest.json
 * ```
 */
export const CHECKPOINT_MANIFEST = "manifest.json";
const FORMAT = "maskinv-checkpoint";
const VERSION = 1;

/**
 * A checkpoint cannot be read: its manifest is missing or malformed, or its data file is missing, truncated
 * or corrupt (size or SHA-256 mismatch); the message names the file and the problem.
 *
 * @example
 * ```ts
 * import { CheckpointReadError, loadCheckpoint } from "./checkpoint.ts";
 * try {
 *   await loadCheckpoint(await Deno.makeTempDir());
 * } catch (error) {
 *   console.log(error instanceof CheckpointReadError); // true
 * }
 * ```
 */
export class CheckpointReadError extends BadFileError {
  /**
   * Creates the error.
   *
   * @param source The manifest or data file.
   * @param reason What is wrong with it.
   * @param options The underlying error, if any.
   */
  constructor(source: string, reason: string, options?: { cause?: unknown }) {
    super(source, reason, options);
    this.name = "CheckpointReadError";
  }
}

/** JSON-compatible values for checkpoint metadata. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** What a checkpoint holds. */
export interface CheckpointContents {
  /** The network's architecture. */
  architecture: NetworkConfig;
  /**
   * Named tensor groups. `model` holds the network (`state_dict` names); others are free, e.g. `head`
   * (`kernel`) and `optimizer` (the optimiser's slot variables by name).
   */
  groups: Record<string, ReadonlyMap<string, tf.Tensor>>;
  /** Anything else to keep: step, epoch, learning rate, generator states, configuration. */
  metadata?: { [key: string]: JsonValue };
}

/** A loaded checkpoint; the caller owns (and disposes) its tensors. */
export interface LoadedCheckpoint extends CheckpointContents {
  /** The directory it came from. */
  directory: string;
  /** Metadata as saved (`{}` when none). */
  metadata: { [key: string]: JsonValue };
}

interface TensorRecord {
  group: string;
  name: string;
  dtype: "float32" | "int32";
  shape: number[];
  offset: number;
  bytes: number;
}

interface Manifest {
  format: string;
  version: number;
  architecture: NetworkConfig;
  architectureName: string;
  data: { file: string; bytes: number; sha256: string };
  tensors: TensorRecord[];
  metadata: { [key: string]: JsonValue };
}

/**
 * Canonical JSON of a value with sorted object keys, for comparing configurations.
 *
 * @example
 * ```ts
 * import { canonicalJson } from "./checkpoint.ts";
 * console.log(canonicalJson({ b: 1, a: [2] })); // {"a":[2],"b":1}
 * ```
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/**
 * The tensors of a network as a checkpoint group (`state_dict` names; the variables themselves, not copies).
 *
 * @example
 * ```ts
 * import { createNetwork } from "./network.ts";
 * import { networkState } from "./checkpoint.ts";
 * const net = createNetwork({ kind: "mobilefacenet", embeddingSize: 64, inputSize: [112, 112] });
 * console.log(networkState(net).has("body.0.0.weight")); // true
 * net.dispose();
 * ```
 */
export function networkState(network: FaceNetwork): Map<string, tf.Tensor> {
  return new Map(network.params);
}

/**
 * Saves a checkpoint into `directory` (created if needed), atomically.
 *
 * @throws {Error} Naming the file when a write fails, or the tensor when its dtype is not float32/int32.
 * @example
 * ```ts
 * import { createNetwork } from "./network.ts";
 * import { loadCheckpoint, networkState, saveCheckpoint } from "./checkpoint.ts";
 * const net = createNetwork({ kind: "iresnet", layers: [1, 1, 1, 1], widths: [4, 4, 4, 4], embeddingSize: 8,
 *   inputSize: [32, 32], dropout: 0 });
 * const dir = await Deno.makeTempDir();
 * await saveCheckpoint(dir, { architecture: net.config, groups: { model: networkState(net) }, metadata: { step: 3 } });
 * const loaded = await loadCheckpoint(dir);
 * console.log(loaded.metadata.step); // 3
 * net.dispose();
 * ```
 */
export async function saveCheckpoint(directory: string, contents: CheckpointContents): Promise<void> {
  if (contents.groups.model == null) throw new Error(`${directory}: a checkpoint needs a "model" group`);
  const records: TensorRecord[] = [];
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [group, tensors] of Object.entries(contents.groups)) {
    for (const [name, tensor] of tensors) {
      if (tensor.dtype !== "float32" && tensor.dtype !== "int32") {
        throw new Error(
          `${directory}: ${group}/${name} has dtype ${tensor.dtype}; only float32 and int32 are saved`,
        );
      }
      const values = await tensor.data();
      const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
      records.push({
        group,
        name,
        dtype: tensor.dtype,
        shape: [...tensor.shape],
        offset,
        bytes: bytes.length,
      });
      chunks.push(bytes);
      offset += bytes.length;
    }
  }
  const data = new Uint8Array(offset);
  let at = 0;
  for (const chunk of chunks) {
    data.set(chunk, at);
    at += chunk.length;
  }
  await Deno.mkdir(directory, { recursive: true });
  const file = `tensors-${crypto.randomUUID().slice(0, 12)}.bin`;
  await writeFileAtomic(`${directory}/${file}`, data);
  const manifest: Manifest = {
    format: FORMAT,
    version: VERSION,
    architecture: contents.architecture,
    architectureName: architectureName(contents.architecture),
    data: { file, bytes: data.length, sha256: await sha256(data) },
    tensors: records,
    metadata: contents.metadata ?? {},
  };
  await writeTextFileAtomic(`${directory}/${CHECKPOINT_MANIFEST}`, `${JSON.stringify(manifest, null, 1)}\n`);
  for await (const entry of Deno.readDir(directory)) {
    if (entry.isFile && /^tensors-.*\.bin$/.test(entry.name) && entry.name !== file) {
      await Deno.remove(`${directory}/${entry.name}`).catch(() => {});
    }
  }
}

async function sha256(data: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Whether `directory` holds a maskinv checkpoint (has a manifest).
 *
 * @example
 * ```ts
 * import { isCheckpoint } from "./checkpoint.ts";
 * console.log(await isCheckpoint(await Deno.makeTempDir())); // false
 * ```
 */
export async function isCheckpoint(directory: string): Promise<boolean> {
  try {
    return (await Deno.stat(`${directory}/${CHECKPOINT_MANIFEST}`)).isFile;
  } catch {
    return false;
  }
}

/**
 * Reads a checkpoint; every tensor is new and owned by the caller.
 *
 * @throws {CheckpointReadError} Naming the file when the manifest is missing or malformed, the data file is
 *   missing, truncated or corrupt (size or SHA-256 mismatch).
 * @example
 * ```ts
 * import { loadCheckpoint } from "./checkpoint.ts";
 * try {
 *   await loadCheckpoint("no/such/checkpoint");
 * } catch (error) {
 *   console.log(String(error).includes("manifest.json")); // true
 * }
 * ```
 */
export async function loadCheckpoint(directory: string): Promise<LoadedCheckpoint> {
  const manifestPath = `${directory}/${CHECKPOINT_MANIFEST}`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(await Deno.readTextFile(manifestPath));
  } catch (error) {
    const reason = error instanceof Deno.errors.NotFound
      ? "not found (not a maskinv checkpoint)"
      : String(error);
    throw new CheckpointReadError(manifestPath, reason, { cause: error });
  }
  const manifest = checkManifest(parsed, manifestPath);
  const dataPath = `${directory}/${manifest.data.file}`;
  let data: Uint8Array;
  try {
    data = await Deno.readFile(dataPath);
  } catch (error) {
    throw new CheckpointReadError(dataPath, `cannot read the checkpoint's tensors (${error})`, {
      cause: error,
    });
  }
  if (data.length !== manifest.data.bytes) {
    throw new CheckpointReadError(
      dataPath,
      `truncated or wrong file: ${data.length} bytes, the manifest says ${manifest.data.bytes}`,
    );
  }
  if ((await sha256(data)) !== manifest.data.sha256) {
    throw new CheckpointReadError(dataPath, "corrupt (SHA-256 mismatch)");
  }
  const groups: Record<string, Map<string, tf.Tensor>> = {};
  for (const r of manifest.tensors) {
    const count = r.shape.reduce((a, b) => a * b, 1);
    if (r.offset + r.bytes > data.length || r.bytes !== count * 4) {
      throw new CheckpointReadError(manifestPath, `bad byte range for ${r.group}/${r.name}`);
    }
    const copy = data.slice(r.offset, r.offset + r.bytes);
    const values = r.dtype === "int32" ? new Int32Array(copy.buffer) : new Float32Array(copy.buffer);
    (groups[r.group] ??= new Map()).set(r.name, tf.tensor(values, r.shape, r.dtype));
  }
  groups.model ??= new Map();
  return { directory, architecture: manifest.architecture, groups, metadata: manifest.metadata ?? {} };
}

/** Checks the shape of a parsed manifest, so that a damaged one is an error naming it, not a crash. */
function checkManifest(value: unknown, path: string): Manifest {
  const fail = (reason: string): never => {
    throw new CheckpointReadError(path, reason);
  };
  const isObject = (v: unknown): v is Record<string, unknown> =>
    typeof v === "object" && v !== null && !Array.isArray(v);
  const isCount = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
  if (!isObject(value)) return fail("not a JSON object");
  if (value.format !== FORMAT || value.version !== VERSION) {
    fail(`not a ${FORMAT} version ${VERSION} manifest`);
  }
  const data = value.data;
  if (
    !isObject(data) || typeof data.file !== "string" || !/^tensors-[A-Za-z0-9-]+\.bin$/.test(data.file) ||
    !isCount(data.bytes) || typeof data.sha256 !== "string"
  ) {
    fail(`"data" must name a tensors-*.bin file in the same folder, with its size and SHA-256`);
  }
  if (!isObject(value.architecture)) fail(`"architecture" must be an object`);
  if (value.metadata !== undefined && !isObject(value.metadata)) fail(`"metadata" must be an object`);
  if (!Array.isArray(value.tensors)) return fail(`"tensors" must be a list`);
  value.tensors.forEach((r: unknown, i: number) => {
    if (
      !isObject(r) || typeof r.group !== "string" || typeof r.name !== "string" ||
      (r.dtype !== "float32" && r.dtype !== "int32") || !Array.isArray(r.shape) || !r.shape.every(isCount) ||
      !isCount(r.offset) || !isCount(r.bytes)
    ) {
      fail(`tensor record ${i} must have group, name, dtype float32|int32, shape, offset and bytes`);
    }
  });
  return value as unknown as Manifest;
}

/**
 * Copies a checkpoint's `model` group into `network`'s variables.
 *
 * @throws {Error} When the checkpoint's architecture differs from the network's (naming both), or a tensor is
 *   missing.
 * @example
 * ```ts
 * import { createNetwork } from "./network.ts";
 * import { iresnetConfig } from "./iresnet.ts";
 * import { mobileFaceNetConfig } from "./mobilefacenet.ts";
 * import { loadCheckpoint, networkState, restoreNetwork, saveCheckpoint } from "./checkpoint.ts";
 * const mobile = createNetwork(mobileFaceNetConfig());
 * const dir = await Deno.makeTempDir();
 * await saveCheckpoint(dir, { architecture: mobile.config, groups: { model: networkState(mobile) } });
 * const resnet = createNetwork(iresnetConfig("iresnet18"));
 * try {
 *   restoreNetwork(resnet, await loadCheckpoint(dir));
 * } catch (error) {
 *   console.log(String(error)); // … holds mobilefacenet, but the network is iresnet18
 * }
 * ```
 */
export function restoreNetwork(
  network: FaceNetwork,
  checkpoint: LoadedCheckpoint | CheckpointContents,
): void {
  const where = "directory" in checkpoint ? `checkpoint ${checkpoint.directory}` : "checkpoint";
  if (canonicalJson(checkpoint.architecture) !== canonicalJson(network.config)) {
    throw new Error(
      `${where} holds ${architectureName(checkpoint.architecture)}, but the network is ${network.name}`,
    );
  }
  const model = checkpoint.groups.model;
  for (const [name, variable] of network.params) {
    const value = model.get(name);
    if (value == null) throw new Error(`${where}: no tensor ${name} for ${network.name}`);
    if (value.shape.join() !== variable.shape.join()) {
      throw new Error(
        `${where}: ${name} has shape [${value.shape}], ${network.name} needs [${variable.shape}]`,
      );
    }
    variable.assign(value);
  }
}

/**
 * Builds the network a checkpoint holds and loads its weights; other groups are disposed.
 *
 * @example
 * ```ts
 * import { loadNetworkCheckpoint } from "./checkpoint.ts";
 * try {
 *   await loadNetworkCheckpoint("no/such/checkpoint");
 * } catch (error) {
 *   console.log(String(error).includes("no/such/checkpoint")); // true
 * }
 * ```
 */
export async function loadNetworkCheckpoint(directory: string): Promise<FaceNetwork> {
  const checkpoint = await loadCheckpoint(directory);
  try {
    return networkFromTensors(checkpoint.architecture, checkpoint.groups.model, `checkpoint ${directory}`);
  } finally {
    for (const group of Object.values(checkpoint.groups)) tf.dispose([...group.values()]);
  }
}
