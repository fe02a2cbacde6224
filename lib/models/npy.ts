/**
 * A reader for NumPy `.npy` arrays (format versions 1–3; little-endian float32/float64/int32/int64/uint8),
 * e.g. inputs saved next to a PyTorch model to check an import.
 *
 * @module
 */
import { BadFileError } from "../util/errors.ts";

/**
 * A `.npy` file is missing, truncated or malformed, or holds what this reader does not support; the message
 * names the file and the problem.
 *
 * @example
 * ```ts
 * import { NpyError, parseNpy } from "./npy.ts";
 * try {
 *   parseNpy(new Uint8Array(4), "a.npy");
 * } catch (error) {
 *   console.log(error instanceof NpyError); // true
 * }
 * ```
 */
export class NpyError extends BadFileError {
  /**
   * Creates the error.
   *
   * @param source The file.
   * @param reason What is wrong with it.
   * @param options The underlying error, if any.
   */
  constructor(source: string, reason: string, options?: { cause?: unknown }) {
    super(source, reason, options);
    this.name = "NpyError";
  }
}

/** A decoded `.npy` array, values widened or narrowed to float32 in C (row-major) order. */
export interface NpyArray {
  /** The array's shape. */
  readonly shape: number[];
  /** NumPy dtype string as stored, e.g. `<f4`. */
  readonly dtype: string;
  /** The values as float32, row-major. */
  readonly data: Float32Array;
}

/**
 * Parses `.npy` bytes.
 *
 * @param bytes The file's contents.
 * @param source Names the file in errors.
 * @throws {NpyError} Naming `source` for a bad magic string, an unsupported dtype, Fortran order or truncation.
 * @example
 * ```ts
 * import { parseNpy } from "./npy.ts";
 * const header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
 * const padded = header.padEnd(118, " ") + "\n";
 * const bytes = new Uint8Array(128 + 8);
 * bytes.set([0x93, 78, 85, 77, 80, 89, 1, 0, 118, 0]);
 * bytes.set(new TextEncoder().encode(padded), 10);
 * new DataView(bytes.buffer).setFloat32(128, 1.5, true);
 * console.log(parseNpy(bytes, "a.npy").data[0]); // 1.5
 * ```
 */
export function parseNpy(bytes: Uint8Array, source: string): NpyArray {
  const fail = (reason: string): never => {
    throw new NpyError(source, reason);
  };
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
  if (bytes.length < 10 || magic.some((b, i) => bytes[i] !== b)) fail("not a .npy file (bad magic string)");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6];
  let headerLength: number, offset: number;
  if (major === 1) [headerLength, offset] = [view.getUint16(8, true), 10];
  else if ((major === 2 || major === 3) && bytes.length >= 12) {
    [headerLength, offset] = [view.getUint32(8, true), 12];
  } else if (major === 2 || major === 3) return fail("truncated header");
  else return fail(`unsupported .npy version ${major}`);
  if (offset > bytes.length || offset + headerLength > bytes.length) fail("truncated header");
  const header = new TextDecoder(major === 3 ? "utf-8" : "latin1").decode(
    bytes.subarray(offset, offset + headerLength),
  );
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1] ?? fail(`no dtype in header ${header}`);
  if (/'fortran_order':\s*True/.test(header)) fail("Fortran-ordered arrays are not supported");
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1] ?? fail(`no shape in header ${header}`);
  const shape = shapeText.split(",").map((s) => s.trim()).filter((s) => s !== "").map(Number);
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) fail(`bad shape (${shapeText})`);
  const count = shape.reduce((a, b) => a * b, 1);
  const width: Record<string, number> = { "<f4": 4, "<f8": 8, "<i4": 4, "<i8": 8, "|u1": 1, "<u1": 1 };
  const itemSize = width[descr] ??
    fail(`unsupported dtype ${descr} (supported: ${Object.keys(width).join(", ")})`);
  const start = offset + headerLength;
  if (start + count * itemSize > bytes.length) {
    fail(
      `truncated: ${count} values of ${descr} need ${count * itemSize} bytes, ${bytes.length - start} left`,
    );
  }
  const data = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    const at = start + i * itemSize;
    switch (descr) {
      case "<f4":
        data[i] = view.getFloat32(at, true);
        break;
      case "<f8":
        data[i] = view.getFloat64(at, true);
        break;
      case "<i4":
        data[i] = view.getInt32(at, true);
        break;
      case "<i8":
        data[i] = Number(view.getBigInt64(at, true));
        break;
      default:
        data[i] = bytes[at];
    }
  }
  return { shape, dtype: descr, data };
}

/**
 * Reads a `.npy` file.
 *
 * @throws {NpyError} Naming `path` when it is missing or malformed.
 * @example
 * ```ts
 * import { readNpy } from "./npy.ts";
 * try {
 *   await readNpy("missing.npy");
 * } catch (error) {
 *   console.log(String(error).includes("missing.npy")); // true
 * }
 * ```
 */
export async function readNpy(path: string): Promise<NpyArray> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (error) {
    throw new NpyError(path, `cannot read (${error instanceof Error ? error.message : error})`, {
      cause: error,
    });
  }
  return parseNpy(bytes, path);
}
