/**
 * Netpbm grey images (PGM): the binary `P5` and plain-text `P2` variants, 8 or 16 bits per sample, as the
 * AT&T/ORL face database stores them. sharp (libvips) does not read PGM from memory, so this small reader
 * fills the gap; 16-bit samples are scaled to 8 bits.
 *
 * @module
 */
import { assertPixels, type Pixels } from "./pixels.ts";
import { BadFileError } from "../util/errors.ts";

/**
 * A PGM file could not be parsed; the message names the source and the problem.
 *
 * @example
 * ```ts
 * import { decodePgm, PgmError } from "./pgm.ts";
 * import { BadFileError } from "../util/errors.ts";
 * try {
 *   decodePgm(new Uint8Array(0), "empty.pgm");
 * } catch (error) {
 *   console.log(error instanceof PgmError, error instanceof BadFileError); // true true
 *   console.log((error as PgmError).message); // empty.pgm: the file is empty (0 bytes)
 * }
 * ```
 */
export class PgmError extends BadFileError {
  /**
   * Creates the error.
   *
   * @param source The file path or entry.
   * @param reason What is wrong with it.
   */
  constructor(source: string, reason: string) {
    super(source, reason);
    this.name = "PgmError";
  }
}

/**
 * Whether `bytes` start like a PGM file (`P5` or `P2` followed by white space).
 *
 * @example
 * ```ts
 * import { isPgm } from "./pgm.ts";
 * console.log(isPgm(new TextEncoder().encode("P5\n2 1\n255\n")), isPgm(new Uint8Array([0x89, 0x50]))); // true false
 * ```
 */
export function isPgm(bytes: Uint8Array): boolean {
  return bytes.length >= 3 && bytes[0] === 0x50 && (bytes[1] === 0x35 || bytes[1] === 0x32) &&
    isSpace(bytes[2]);
}

function isSpace(byte: number): boolean {
  return byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d || byte === 0x0b || byte === 0x0c;
}

/**
 * Decodes a PGM image to 8-bit grey {@linkcode Pixels} (`channels: 1`).
 *
 * @param bytes The file contents.
 * @param source Names the image in errors.
 * @throws {PgmError} For a file that is not PGM, a malformed header, a zero size, a maximum value outside
 *   1..65535, truncated pixel data or (P2) a sample above the maximum.
 * @example
 * ```ts
 * import { decodePgm } from "./pgm.ts";
 * const header = new TextEncoder().encode("P5\n# a comment\n2 1\n255\n");
 * const bytes = new Uint8Array([...header, 10, 250]);
 * const pixels = decodePgm(bytes, "tiny.pgm");
 * console.log(pixels.width, pixels.height, pixels.channels, pixels.data); // 2 1 1 Uint8Array(2) [ 10, 250 ]
 * ```
 */
export function decodePgm(bytes: Uint8Array, source: string): Pixels {
  if (bytes.length === 0) throw new PgmError(source, "the file is empty (0 bytes)");
  if (!isPgm(bytes)) {
    throw new PgmError(source, "not a PGM image (expected the magic number P5 or P2)");
  }
  const plain = bytes[1] === 0x32;
  let at = 2;
  const token = (what: string): number => {
    // Skip white space and `#` comments up to the end of their line.
    while (at < bytes.length) {
      if (isSpace(bytes[at])) at++;
      else if (bytes[at] === 0x23) {
        while (at < bytes.length && bytes[at] !== 0x0a && bytes[at] !== 0x0d) at++;
      } else break;
    }
    const start = at;
    while (at < bytes.length && bytes[at] >= 0x30 && bytes[at] <= 0x39) at++;
    if (at === start) {
      const found = at < bytes.length ? `byte 0x${bytes[at].toString(16).padStart(2, "0")}` : "end of file";
      throw new PgmError(
        source,
        `malformed PGM header: expected the ${what}, found ${found} at offset ${at}`,
      );
    }
    if (at - start > 9) throw new PgmError(source, `malformed PGM header: the ${what} is too large`);
    return Number(new TextDecoder().decode(bytes.subarray(start, at)));
  };
  const width = token("width");
  const height = token("height");
  const maxValue = token("maximum value");
  if (width < 1 || height < 1) throw new PgmError(source, `invalid PGM size ${width}x${height}`);
  if (maxValue < 1 || maxValue > 65535) {
    throw new PgmError(source, `invalid PGM maximum value ${maxValue} (expected 1..65535)`);
  }
  const count = width * height;
  // Every sample takes at least one byte of the file: a header announcing more is refused before allocating.
  if (count > bytes.length - at) {
    throw new PgmError(
      source,
      `truncated PGM data: ${width}x${height} needs ${count} samples, the file has ${
        bytes.length - at
      } bytes left`,
    );
  }
  const data = new Uint8Array(count);
  const scale = (value: number) => (maxValue === 255 ? value : Math.round((value * 255) / maxValue));
  if (plain) {
    for (let i = 0; i < count; i++) {
      let value: number;
      try {
        value = token(`sample ${i}`);
      } catch (error) {
        if (at >= bytes.length) {
          throw new PgmError(source, `truncated PGM data: ${i} of ${count} samples present`);
        }
        throw error;
      }
      if (value > maxValue) {
        throw new PgmError(source, `sample ${i} is ${value}, above the maximum value ${maxValue}`);
      }
      data[i] = scale(value);
    }
  } else {
    // Exactly one white-space byte separates the header from binary samples.
    if (at >= bytes.length || !isSpace(bytes[at])) {
      throw new PgmError(source, "malformed PGM header: no white space after the maximum value");
    }
    at++;
    const sampleBytes = maxValue < 256 ? 1 : 2;
    const needed = count * sampleBytes;
    if (bytes.length - at < needed) {
      throw new PgmError(
        source,
        `truncated PGM data: ${bytes.length - at} bytes of pixel data, ${width}x${height} needs ${needed}`,
      );
    }
    if (sampleBytes === 1) {
      for (let i = 0; i < count; i++) data[i] = scale(Math.min(bytes[at + i], maxValue));
    } else {
      for (let i = 0; i < count; i++) {
        data[i] = scale(Math.min((bytes[at + 2 * i] << 8) | bytes[at + 2 * i + 1], maxValue));
      }
    }
  }
  return assertPixels({ width, height, channels: 1, data }, source);
}

/**
 * Reads and decodes a PGM file.
 *
 * @throws {PgmError} When the file is missing, unreadable or not a valid PGM image.
 * @example
 * ```ts
 * import { readPgm } from "./pgm.ts";
 * const path = await Deno.makeTempFile({ suffix: ".pgm" });
 * await Deno.writeFile(path, new Uint8Array([...new TextEncoder().encode("P5 1 1 255\n"), 77]));
 * console.log((await readPgm(path)).data[0]); // 77
 * ```
 */
export async function readPgm(path: string): Promise<Pixels> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (error) {
    throw new PgmError(
      path,
      error instanceof Deno.errors.NotFound ? "file not found" : `cannot read (${error})`,
    );
  }
  return decodePgm(bytes, path);
}

/**
 * Replicates a grey image into three RGB channels (an RGB image is returned as is, RGBA loses its alpha).
 *
 * @example
 * ```ts
 * import { greyToRgb } from "./pgm.ts";
 * const rgb = greyToRgb({ width: 1, height: 1, channels: 1, data: new Uint8Array([9]) });
 * console.log(rgb.channels, rgb.data); // 3 Uint8Array(3) [ 9, 9, 9 ]
 * ```
 */
export function greyToRgb(image: Pixels): Pixels {
  assertPixels(image, "image");
  if (image.channels === 3) return image;
  const count = image.width * image.height;
  const data = new Uint8Array(count * 3);
  const grey = image.channels === 1;
  for (let p = 0, q = 0; p < count; p++, q += image.channels) {
    data[3 * p] = image.data[q];
    data[3 * p + 1] = image.data[grey ? q : q + 1];
    data[3 * p + 2] = image.data[grey ? q : q + 2];
  }
  return { width: image.width, height: image.height, channels: 3, data };
}
