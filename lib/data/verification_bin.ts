/**
 * insightface verification benchmarks (`lfw.bin`, `cfp_fp.bin`, `agedb_30.bin`, `calfw.bin`, `cplfw.bin`):
 * a Python pickle of `(bins, issame_list)` where `bins` holds the encoded images (JPEG/PNG bytes; Python 2
 * `str` in the older files, occasionally uint8 numpy arrays) and pair `i` is `bins[2i]`, `bins[2i+1]`.
 * Parsed with the restricted {@linkcode unpickle}: nothing in the file is ever executed.
 *
 * @module
 */
import { BadFileError } from "../util/errors.ts";
import { isPickleTuple, PickleObject, type PickleValue, unpickle } from "./pickle.ts";
import type { ImagePair, SampleImage, VerificationSet } from "./types.ts";

/**
 * A verification `.bin` is missing or does not hold `(bins, issame_list)`: the message names the file and the
 * problem. (A forbidden or malformed pickle is a {@linkcode PickleError}; both are {@linkcode BadFileError}s.)
 *
 * @example
 * ```ts
 * import { parseVerificationBin, VerificationBinError } from "./verification_bin.ts";
 * try {
 *   parseVerificationBin(new Uint8Array([0x80, 4, 0x4e, 0x2e]), "none.bin"); // pickle of None
 * } catch (error) {
 *   console.log(error instanceof VerificationBinError); // true
 * }
 * ```
 */
export class VerificationBinError extends BadFileError {
  /**
   * Creates the error.
   *
   * @param source The file.
   * @param reason What is wrong with it.
   * @param options The underlying error, if any.
   */
  constructor(source: string, reason: string, options?: { cause?: unknown }) {
    super(source, reason, options);
    this.name = "VerificationBinError";
  }
}

/**
 * Python 3 writes `bytes` at protocol 2 as `_codecs.encode(text, "latin1")`: a pure data conversion, done here.
 */
function latin1Encode() {
  return (args: PickleValue[]): PickleValue => {
    const [text, encoding] = args;
    if (typeof text !== "string" || (encoding !== "latin1" && encoding !== "latin-1")) {
      throw new Error(`_codecs.encode is only accepted as encode(str, "latin1")`);
    }
    const out = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) {
      const code = text.charCodeAt(i);
      if (code > 255) throw new Error(`character ${code} is not latin-1`);
      out[i] = code;
    }
    return out;
  };
}

/** Python globals a numpy uint8 array needs (kept as data, never called), plus bytes at protocol 2. */
function binGlobals(): Record<string, (args: PickleValue[]) => PickleValue> {
  const keep = (name: string) => (args: PickleValue[]) => new PickleObject(name, args);
  return {
    "_codecs.encode": latin1Encode(),
    "numpy.core.multiarray._reconstruct": keep("numpy.ndarray"),
    "numpy._core.multiarray._reconstruct": keep("numpy.ndarray"),
    "numpy.ndarray": keep("numpy.ndarray"),
    "numpy.dtype": keep("numpy.dtype"),
  };
}

/** The bytes of a 1-byte-per-element numpy array kept as a {@linkcode PickleObject}, or `null`. */
function numpyBytes(value: PickleObject): Uint8Array | null {
  // ndarray state: (version, shape, dtype, is_fortran, raw data)
  const state = value.state;
  if (!isPickleTuple(state) || state.length !== 5) return null;
  const dtype = state[2];
  const raw = state[4];
  if (!(dtype instanceof PickleObject) || !(raw instanceof Uint8Array)) return null;
  const kind = dtype.args[0];
  return kind === "u1" || kind === "i1" || kind === "b1" ? raw : null;
}

/**
 * A verification benchmark read from an insightface `.bin` file; images stay encoded.
 *
 * @example
 * ```ts
 * import { readVerificationBin } from "./verification_bin.ts";
 * const path = new URL("../../../shared/reference/faces_emore_tiny/tiny_pairs.bin", import.meta.url).pathname;
 * try {
 *   const bin = await readVerificationBin(path);
 *   console.log(bin.pairs.length, bin.imageCount); // 10 20
 * } catch {
 *   console.log("tiny_pairs.bin not present");
 * }
 * ```
 */
export class VerificationBin implements VerificationSet {
  /** Name for tables: the file name without `.bin`. */
  readonly name: string;
  /** The file path. */
  readonly path: string;
  /** Encoded images, in file order. */
  readonly images: readonly Uint8Array[];
  /** `issame[i]` tells whether pair `i` is genuine. */
  readonly issame: readonly boolean[];
  /** Pair `i` = images `2i` and `2i+1`. */
  readonly pairs: readonly ImagePair[];

  /**
   * Creates a `VerificationBin`.
   *
   * @param path The file path (for names and errors).
   * @param images Encoded images; must be exactly twice as many as `issame`.
   * @param issame Pair labels.
   */
  constructor(path: string, images: readonly Uint8Array[], issame: readonly boolean[]) {
    if (images.length !== 2 * issame.length) {
      throw new VerificationBinError(
        path,
        `${images.length} images for ${issame.length} pairs; a verification .bin holds exactly two ` +
          `images per pair`,
      );
    }
    this.path = path;
    this.name = (path.split("/").pop() ?? path).replace(/\.bin$/, "");
    this.images = images;
    this.issame = issame;
    this.pairs = issame.map((genuine, i) => ({ first: 2 * i, second: 2 * i + 1, genuine }));
  }

  /** Number of images (twice the number of pairs). */
  get imageCount(): number {
    return this.images.length;
  }

  /** The encoded image at `index`. */
  image(index: number): Promise<SampleImage> {
    const image = this.images[index];
    if (image === undefined) {
      return Promise.reject(
        new RangeError(`${this.path}: image index ${index} outside [0, ${this.imageCount})`),
      );
    }
    return Promise.resolve(image);
  }

  /** `"<path>#<index>"`. */
  imageName(index: number): string {
    return `${this.path}#${index}`;
  }
}

/**
 * Parses the bytes of a verification `.bin`.
 *
 * @param bytes File contents.
 * @param path Names the file in errors.
 * @throws {PickleError} For a forbidden, truncated or malformed pickle.
 * @throws {VerificationBinError} For a pickle that is not `(bins, issame_list)`.
 * @example
 * ```ts
 * import { parseVerificationBin } from "./verification_bin.ts";
 * // pickle protocol 4 of ([b"a", b"b"], [True])
 * const bytes = new Uint8Array([0x80, 4, 0x5d, 0x28, 0x43, 1, 97, 0x43, 1, 98, 0x65, 0x5d, 0x88, 0x61, 0x86, 0x2e]);
 * console.log(parseVerificationBin(bytes, "inline.bin").issame); // [ true ]
 * ```
 */
export function parseVerificationBin(bytes: Uint8Array, path: string): VerificationBin {
  const value = unpickle(bytes, { source: path, globals: binGlobals() });
  if (!Array.isArray(value) || value.length !== 2) {
    throw new VerificationBinError(
      path,
      "expected a pickled pair (bins, issame_list), found another structure",
    );
  }
  const [bins, issame] = value;
  if (!Array.isArray(bins) || !Array.isArray(issame)) {
    throw new VerificationBinError(path, "expected (list of images, list of bool)");
  }
  const images = bins.map((bin, i) => {
    if (bin instanceof Uint8Array) return bin;
    const raw = bin instanceof PickleObject ? numpyBytes(bin) : null;
    if (raw) return raw;
    throw new VerificationBinError(path, `image ${i} is not bytes (nor a uint8 numpy array)`);
  });
  const labels = issame.map((flag, i) => {
    if (typeof flag === "boolean") return flag;
    if (flag === 0 || flag === 1) return flag === 1;
    throw new VerificationBinError(path, `issame[${i}] is not a bool`);
  });
  return new VerificationBin(path, images, labels);
}

/**
 * Reads a verification `.bin` file (the whole file is read: these benchmarks are tens of megabytes).
 *
 * @throws {VerificationBinError} Naming the file when it is missing or not `(bins, issame_list)`.
 * @throws {PickleError} When its pickle is truncated, forbidden or malformed.
 * @example
 * ```ts
 * import { readVerificationBin } from "./verification_bin.ts";
 * await readVerificationBin("missing.bin").catch((e) => console.log(e.message.startsWith("missing.bin")));
 * ```
 */
export async function readVerificationBin(path: string): Promise<VerificationBin> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (error) {
    const reason = error instanceof Deno.errors.NotFound ? "file not found" : String(error);
    throw new VerificationBinError(path, `cannot read verification .bin (${reason})`, { cause: error });
  }
  return parseVerificationBin(bytes, path);
}
