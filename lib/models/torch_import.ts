/**
 * Imports PyTorch `state_dict` checkpoints (`torch.save` ZIP files: `<name>/data.pkl` plus one storage file
 * per tensor under `<name>/data/`) of insightface-style iResNets and of maskinv's MobileFaceNet layout, as the
 * official ElasticFace and MaskInv models are published.
 *
 * The pickle is decoded by maskinv's restricted unpickler: only the globals a `state_dict` needs are allowed
 * (`collections.OrderedDict`, `torch._utils._rebuild_tensor_v2`, `torch._utils._rebuild_parameter` and the
 * typed storages); anything else is rejected with an error naming it, and no Python code is ever run.
 * Weights are converted to maskinv's NHWC layouts (conv `OIHW → HWIO`, depthwise `[C,1,kh,kw] → [kh,kw,C,1]`,
 * linear `[out,in] → [in,out]`, and the first fully connected layer's rows reordered from PyTorch's (C, H, W)
 * flatten order to (H, W, C)); batch-norm running statistics and PReLU slopes are copied.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { isPickleTuple, PickleGlobal, PickleObject, type PickleValue, unpickle } from "../data/pickle.ts";
import { type IResNetConfig, iresnetFeatureSize } from "./iresnet.ts";
import { mobileFaceNetConfig } from "./mobilefacenet.ts";
import {
  architectureName,
  type FaceNetwork,
  type NetworkConfig,
  networkFromTensors,
  networkSpecs,
} from "./network.ts";
import { sizeOf, type TorchLayout } from "./params.ts";
import { openZip } from "./zip.ts";
import { BadFileError } from "../util/errors.ts";

/**
 * A PyTorch checkpoint is not a `torch.save` `state_dict` maskinv can read (legacy format, no `data.pkl`,
 * missing or short storages, tensors outside their storage, an unsupported storage type); the message names
 * the file and the problem. Broken archives are {@linkcode ZipError}s and forbidden pickles
 * {@linkcode PickleError}s — all three are {@linkcode BadFileError}s.
 *
 * @example
 * ```ts
 * import { readTorchStateDict, TorchCheckpointError } from "./torch_import.ts";
 * try {
 *   await readTorchStateDict(new Uint8Array([0x80, 2, 0x4e, 0x2e]), "old.pth");
 * } catch (error) {
 *   console.log(error instanceof TorchCheckpointError); // true: a legacy (pre-ZIP) file
 * }
 * ```
 */
export class TorchCheckpointError extends BadFileError {
  /**
   * Creates the error.
   *
   * @param source The file (or file and tensor).
   * @param reason What is wrong with it.
   * @param options The underlying error, if any.
   */
  constructor(source: string, reason: string, options?: { cause?: unknown }) {
    super(source, reason, options);
    this.name = "TorchCheckpointError";
  }
}

/** One tensor of a PyTorch `state_dict`, in PyTorch's layout, as float32. */
export interface TorchTensor {
  /** PyTorch shape. */
  readonly shape: number[];
  /** Storage type, e.g. `FloatStorage`. */
  readonly storage: string;
  /** Values in row-major order of `shape`. */
  readonly data: Float32Array;
}

/** Storage element types maskinv reads, with their byte widths. */
const STORAGE_TYPES: Record<string, number> = {
  FloatStorage: 4,
  DoubleStorage: 8,
  HalfStorage: 2,
  BFloat16Storage: 2,
  LongStorage: 8,
  IntStorage: 4,
};

/** Storage reference produced by the persistent-id resolver. */
interface StorageRef {
  type: string;
  key: string;
}

/** A `_rebuild_tensor_v2` call recorded by the unpickler. */
interface TensorRef {
  storage: StorageRef;
  offset: number;
  shape: number[];
  stride: number[];
}

/**
 * Reads every tensor of a `torch.save` ZIP checkpoint holding a `state_dict` (or a dict with a `state_dict`
 * entry). A `module.` prefix left by `DataParallel` is removed.
 *
 * @param bytes The file's contents.
 * @param source Names the file in errors.
 * @throws {TorchCheckpointError} For a legacy (pre-1.6) file, a missing storage, an unsupported storage type
 *   or a tensor outside its storage; {@linkcode ZipError} for a truncated or corrupt archive;
 *   {@linkcode PickleError} for a forbidden or malformed `data.pkl`. Every message names `source`.
 * @example
 * ```ts
 * import { readTorchStateDict } from "./torch_import.ts";
 * try {
 *   await readTorchStateDict(new Uint8Array(4), "broken.pth");
 * } catch (error) {
 *   console.log(String(error).includes("broken.pth")); // true
 * }
 * ```
 */
export async function readTorchStateDict(
  bytes: Uint8Array,
  source: string,
): Promise<Map<string, TorchTensor>> {
  if (bytes.length >= 2 && bytes[0] === 0x80 && bytes[1] <= 5) {
    throw new TorchCheckpointError(
      source,
      "a legacy torch.save file (PyTorch < 1.6, not a ZIP archive); re-save it with " +
        "torch.save(state_dict, path) from PyTorch >= 1.6",
    );
  }
  const zip = openZip(bytes, source);
  const pklName = [...zip.entries.keys()].find((n) => n.endsWith("/data.pkl") || n === "data.pkl");
  if (pklName == null) {
    throw new TorchCheckpointError(source, "no data.pkl inside; not a torch.save checkpoint");
  }
  const root = pklName.slice(0, pklName.length - "data.pkl".length);
  const byteorder = zip.entries.has(`${root}byteorder`)
    ? new TextDecoder().decode(await zip.read(`${root}byteorder`)).trim()
    : "little";
  if (byteorder !== "little") {
    throw new TorchCheckpointError(source, "big-endian checkpoints are not supported");
  }

  const storageGlobal = (name: string) => () => {
    throw new Error(`torch.${name} must not be called`);
  };
  const globals: Record<string, (args: PickleValue[]) => PickleValue> = {
    "collections.OrderedDict": (args) => {
      const map = new Map<PickleValue, PickleValue>();
      const items = args[0];
      if (Array.isArray(items)) {
        for (const pair of items) if (Array.isArray(pair) && pair.length === 2) map.set(pair[0], pair[1]);
      }
      return map;
    },
    "torch._utils._rebuild_tensor_v2": (args) => {
      const [storage, offset, size, stride] = args;
      const ref = storage instanceof PickleObject ? storage.payload as StorageRef | undefined : undefined;
      if (
        ref == null || !isCount(offset) || !isIntList(size) || !isIntList(stride) ||
        size.length !== stride.length || !size.every(isCount) || !stride.every(isCount)
      ) {
        throw new Error("malformed arguments (storage, offset ≥ 0, sizes ≥ 0, strides ≥ 0 of equal length)");
      }
      const tensor = new PickleObject("torch.Tensor", []);
      tensor.payload = { storage: ref, offset, shape: size, stride } satisfies TensorRef;
      return tensor;
    },
    // A saved nn.Parameter: (data, requires_grad, backward_hooks) → the tensor itself.
    "torch._utils._rebuild_parameter": (args) => args[0],
  };
  for (const type of Object.keys(STORAGE_TYPES)) globals[`torch.${type}`] = storageGlobal(type);

  const pickle = await zip.read(pklName);
  const value = unpickle(pickle, {
    source: `${source}:${pklName}`,
    globals,
    persistentLoad: (pid) => {
      // ('storage', torch.FloatStorage, key, location, numel)
      if (!isPickleTuple(pid) || pid[0] !== "storage" || typeof pid[2] !== "string") {
        throw new Error("unexpected persistent id (expected ('storage', type, key, location, size))");
      }
      const typeGlobal = pid[1];
      const type = typeGlobal instanceof PickleGlobal ? typeGlobal.name : "";
      if (!Object.hasOwn(STORAGE_TYPES, type)) {
        throw new Error(`unsupported storage type ${type || "(none)"}`);
      }
      const storage = new PickleObject("torch.Storage", []);
      storage.payload = { type, key: pid[2] } satisfies StorageRef;
      return storage;
    },
    build: (target) => target, // an OrderedDict's `_metadata` (module versions) carries no weights
  });

  let dict = value;
  if (dict instanceof Map && !hasTensors(dict) && dict.get("state_dict") instanceof Map) {
    dict = dict.get("state_dict")!;
  }
  if (!(dict instanceof Map)) {
    throw new TorchCheckpointError(source, "data.pkl holds no state_dict (dict of tensors)");
  }

  const storages = new Map<string, Uint8Array>();
  const out = new Map<string, TorchTensor>();
  for (const [rawKey, item] of dict) {
    if (typeof rawKey !== "string" || !(item instanceof PickleObject) || item.className !== "torch.Tensor") {
      continue;
    }
    const key = rawKey.startsWith("module.") ? rawKey.slice("module.".length) : rawKey;
    const ref = item.payload as TensorRef;
    let bytesOfStorage = storages.get(ref.storage.key);
    if (bytesOfStorage == null) {
      const name = `${root}data/${ref.storage.key}`;
      if (!zip.entries.has(name)) {
        throw new TorchCheckpointError(source, `storage ${name} of ${key} is missing`);
      }
      bytesOfStorage = await zip.read(name);
      storages.set(ref.storage.key, bytesOfStorage);
    }
    out.set(key, {
      shape: ref.shape,
      storage: ref.storage.type,
      data: gather(bytesOfStorage, ref, source, key),
    });
  }
  if (out.size === 0) throw new TorchCheckpointError(source, "the state_dict holds no tensors");
  return out;
}

function hasTensors(map: Map<PickleValue, PickleValue>): boolean {
  for (const v of map.values()) if (v instanceof PickleObject && v.className === "torch.Tensor") return true;
  return false;
}

function isIntList(value: PickleValue): value is number[] {
  return Array.isArray(value) && value.every((v) => Number.isInteger(v));
}

function isCount(value: PickleValue): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

/**
 * Copies a (possibly strided) tensor out of its storage bytes into a dense float32 array. The tensor must lie
 * inside its storage and have no more elements than it (no overlapping strides), checked before allocating.
 */
function gather(storage: Uint8Array, ref: TensorRef, source: string, key: string): Float32Array {
  const width = STORAGE_TYPES[ref.storage.type];
  const view = new DataView(storage.buffer, storage.byteOffset, storage.byteLength);
  const values = Math.floor(storage.length / width);
  const count = sizeOf(ref.shape);
  if (count === 0) return new Float32Array(0);
  let last = ref.offset;
  for (let d = 0; d < ref.shape.length; d++) last += (ref.shape[d] - 1) * ref.stride[d];
  if (!(last < values) || count > values) {
    throw new TorchCheckpointError(
      source,
      `${key}: shape [${ref.shape}] with strides [${ref.stride}] from offset ${ref.offset} needs ` +
        `${count} values up to element ${last}, but its storage holds ${values}`,
    );
  }
  const out = new Float32Array(count);
  const read = (element: number): number => {
    const at = element * width;
    switch (ref.storage.type) {
      case "FloatStorage":
        return view.getFloat32(at, true);
      case "DoubleStorage":
        return view.getFloat64(at, true);
      case "HalfStorage":
        return halfToFloat(view.getUint16(at, true));
      case "BFloat16Storage": {
        const scratch = new DataView(new ArrayBuffer(4));
        scratch.setUint32(0, view.getUint16(at, true) << 16);
        return scratch.getFloat32(0);
      }
      case "LongStorage":
        return Number(view.getBigInt64(at, true));
      default:
        return view.getInt32(at, true);
    }
  };
  const rank = ref.shape.length;
  const index = new Array(rank).fill(0);
  for (let i = 0; i < count; i++) {
    let element = ref.offset;
    for (let d = 0; d < rank; d++) element += index[d] * ref.stride[d];
    out[i] = read(element);
    for (let d = rank - 1; d >= 0; d--) {
      if (++index[d] < ref.shape[d]) break;
      index[d] = 0;
    }
  }
  return out;
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 31) return fraction === 0 ? sign * Infinity : NaN;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

/**
 * Works out the architecture of a `state_dict`: an insightface iResNet (blocks per stage, widths, embedding
 * size and input size from the `fc` width) or maskinv's MobileFaceNet layout.
 *
 * @throws {TorchCheckpointError} When the keys match neither family.
 * @example
 * ```ts
 * import { inferArchitecture } from "./torch_import.ts";
 * const shapes = new Map<string, number[]>([["conv1.weight", [64, 3, 3, 3]]]);
 * try {
 *   inferArchitecture(shapes, "model.pth");
 * } catch (error) {
 *   console.log(String(error).includes("model.pth")); // true: not a complete iResNet
 * }
 * ```
 */
export function inferArchitecture(
  shapes: ReadonlyMap<string, readonly number[]>,
  source: string,
): NetworkConfig {
  const shape = (key: string): readonly number[] => {
    const s = shapes.get(key);
    if (s == null) throw new TorchCheckpointError(source, `cannot tell the architecture: no tensor ${key}`);
    return s;
  };
  if (shapes.has("body.0.0.weight")) {
    return mobileFaceNetConfig({ embeddingSize: shape("bn.weight")[0] });
  }
  if (shapes.has("conv1.weight") && shapes.has("features.weight")) {
    const layers = [1, 2, 3, 4].map((stage) => {
      let blocks = 0;
      while (shapes.has(`layer${stage}.${blocks}.conv1.weight`)) blocks++;
      return blocks;
    }) as unknown as [number, number, number, number];
    if (layers.some((n) => n === 0)) {
      throw new TorchCheckpointError(source, `an iResNet stage has no blocks ([${layers}])`);
    }
    const widths = [1, 2, 3, 4].map((stage) => shape(`layer${stage}.0.conv1.weight`)[0]) as unknown as [
      number,
      number,
      number,
      number,
    ];
    const embeddingSize = shape("features.weight")[0];
    const cells = shape("fc.weight")[1] / widths[3];
    const side = Math.round(Math.sqrt(cells));
    if (side * side !== cells) {
      throw new TorchCheckpointError(source, `fc.weight does not fit a square input`);
    }
    const config: IResNetConfig = {
      kind: "iresnet",
      layers,
      widths,
      embeddingSize,
      inputSize: [side * 16, side * 16],
      dropout: 0,
    };
    if (iresnetFeatureSize(config)[0] !== side) {
      throw new TorchCheckpointError(source, `cannot infer the input size`);
    }
    return config;
  }
  throw new TorchCheckpointError(
    source,
    `neither an insightface iResNet nor a MobileFaceNet state_dict (no conv1/body.0 keys)`,
  );
}

/** Converts one tensor from PyTorch's layout to maskinv's. */
function toMaskinvLayout(t: TorchTensor, layout: TorchLayout): tf.Tensor {
  return tf.tidy(() => {
    const x = tf.tensor(t.data, t.shape);
    switch (layout.kind) {
      case "vector":
        return x;
      case "conv":
        return tf.transpose(x, [2, 3, 1, 0]);
      case "depthwise":
        return tf.transpose(x, [2, 3, 0, 1]);
      case "linear":
        return tf.transpose(x, [1, 0]);
      case "linear-flatten": {
        const { channels, height, width } = layout;
        const out = t.shape[0];
        const nchw = tf.reshape(x, [out, channels, height, width]);
        return tf.reshape(tf.transpose(nchw, [2, 3, 1, 0]), [height * width * channels, out]);
      }
    }
  });
}

/** Options of {@linkcode networkFromStateDict} and {@linkcode importTorchCheckpoint}. */
export interface TorchImportOptions {
  /** The architecture; inferred from the keys when omitted. */
  config?: NetworkConfig;
}

/**
 * Builds a {@linkcode FaceNetwork} from a decoded `state_dict`.
 *
 * @throws {TorchCheckpointError} Naming `source`, the architecture and the keys when tensors are missing, unexpected or of the
 *   wrong shape.
 * @example
 * ```ts
 * import { networkFromStateDict } from "./torch_import.ts";
 * import { iresnetConfig } from "./iresnet.ts";
 * try {
 *   networkFromStateDict(new Map(), "empty.pth", { config: iresnetConfig("iresnet18") });
 * } catch (error) {
 *   console.log(String(error).includes("conv1.weight")); // true
 * }
 * ```
 */
export function networkFromStateDict(
  stateDict: ReadonlyMap<string, TorchTensor>,
  source: string,
  options: TorchImportOptions = {},
): FaceNetwork {
  const config = options.config ??
    inferArchitecture(new Map([...stateDict].map(([k, v]) => [k, v.shape])), source);
  const name = architectureName(config);
  const specs = networkSpecs(config);
  const known = new Set(specs.map((s) => s.name));
  const missing = specs.filter((s) => !stateDict.has(s.name)).map((s) => s.name);
  const unexpected = [...stateDict.keys()].filter((k) =>
    !known.has(k) && !k.endsWith(".num_batches_tracked")
  );
  if (missing.length > 0 || unexpected.length > 0) {
    const list = (keys: string[]) =>
      keys.slice(0, 8).join(", ") + (keys.length > 8 ? `, … (${keys.length})` : "");
    throw new TorchCheckpointError(
      source,
      `does not match ${name}` + (missing.length > 0 ? `; missing: ${list(missing)}` : "") +
        (unexpected.length > 0 ? `; unexpected: ${list(unexpected)}` : ""),
    );
  }
  const converted = new Map<string, tf.Tensor>();
  try {
    for (const spec of specs) {
      const t = stateDict.get(spec.name)!;
      let value: tf.Tensor;
      try {
        value = toMaskinvLayout(t, spec.layout);
      } catch (error) {
        throw new TorchCheckpointError(
          source,
          `${spec.name} has PyTorch shape [${t.shape}], which does not fit ${name} (needs [${spec.shape}] ` +
            `in maskinv's layout)`,
          { cause: error },
        );
      }
      converted.set(spec.name, value);
      if (value.shape.join() !== spec.shape.join()) {
        throw new TorchCheckpointError(
          source,
          `${spec.name} has PyTorch shape [${t.shape}], which does not fit ${name} (needs [${spec.shape}] ` +
            `in maskinv's layout)`,
        );
      }
    }
    return networkFromTensors(config, converted, source);
  } finally {
    tf.dispose([...converted.values()]);
  }
}

/**
 * Reads a `torch.save` `state_dict` file and returns the network it holds.
 *
 * @param path A `.pth`/`.pt` file written by `torch.save(model.state_dict(), path)`.
 * @example
 * ```ts
 * import { importTorchCheckpoint } from "./torch_import.ts";
 * try {
 *   await importTorchCheckpoint("missing.pth");
 * } catch (error) {
 *   console.log(String(error).includes("missing.pth")); // true
 * }
 * ```
 */
export async function importTorchCheckpoint(
  path: string,
  options: TorchImportOptions = {},
): Promise<FaceNetwork> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (error) {
    throw new TorchCheckpointError(path, `cannot read (${error instanceof Error ? error.message : error})`, {
      cause: error,
    });
  }
  return networkFromStateDict(await readTorchStateDict(bytes, path), path, options);
}
