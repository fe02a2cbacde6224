/**
 * Image decoding, encoding and resizing through sharp (libvips): PNG, JPEG (including CMYK), WebP, TIFF,
 * GIF, grey and 16-bit inputs all come out as 8-bit sRGB {@linkcode Pixels}.
 *
 * @module
 */
import sharp from "sharp";
import { assertPixels, type ChannelCount, type Pixels } from "../data/pixels.ts";
import { writeFileAtomic } from "../util/atomic.ts";
import { BadFileError } from "../util/errors.ts";

/**
 * Default refusal threshold for decompression bombs: 64 megapixels.
 *
 * @example
 * ```ts
 * import { DEFAULT_MAX_PIXELS } from "./codec.ts";
 * console.log(DEFAULT_MAX_PIXELS); // 64000000
 * console.log(8000 * 8000 <= DEFAULT_MAX_PIXELS, 8001 * 8000 <= DEFAULT_MAX_PIXELS); // true false
 * ```
 */
export const DEFAULT_MAX_PIXELS = 64_000_000;

/**
 * Raster formats {@linkcode decodeImage} accepts (sharp's names). Vector and document formats (SVG, PDF) are
 * refused: a face photo never is one, and rendering them from untrusted files is a needless risk.
 *
 * @example
 * ```ts
 * import { DECODABLE_FORMATS } from "./codec.ts";
 * console.log(DECODABLE_FORMATS.includes("png"), DECODABLE_FORMATS.includes("svg")); // true false
 * ```
 */
export const DECODABLE_FORMATS: readonly string[] = ["jpeg", "png", "webp", "gif", "tiff", "heif"];

/**
 * The raster format a file's first bytes announce (one of {@linkcode DECODABLE_FORMATS}), or `null`.
 * Only files that pass are handed to the decoder.
 *
 * @example
 * ```ts
 * import { sniffImageFormat } from "./codec.ts";
 * console.log(sniffImageFormat(new Uint8Array([0xff, 0xd8, 0xff, 0xe0])), sniffImageFormat(new TextEncoder().encode("<svg"))); // jpeg null
 * ```
 */
export function sniffImageFormat(bytes: Uint8Array): string | null {
  const at = (offset: number, text: string) =>
    bytes.length >= offset + text.length && [...text].every((c, i) => bytes[offset + i] === c.charCodeAt(0));
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return "jpeg";
  if (at(0, "\x89PNG\r\n\x1a\n")) return "png";
  if (at(0, "GIF87a") || at(0, "GIF89a")) return "gif";
  if (at(0, "RIFF") && at(8, "WEBP")) return "webp";
  if (at(0, "II*\x00") || at(0, "MM\x00*")) return "tiff";
  if (at(4, "ftyp")) return "heif";
  return null;
}

/**
 * An image could not be read or decoded; `source` names the file (or dataset entry).
 *
 * @example
 * ```ts
 * import { decodeImage, ImageDecodeError } from "./codec.ts";
 * import { BadFileError } from "../util/errors.ts";
 * try {
 *   await decodeImage(new Uint8Array(0), "empty.png");
 * } catch (error) {
 *   console.log(error instanceof ImageDecodeError, error instanceof BadFileError); // true true
 *   console.log((error as ImageDecodeError).message); // empty.png: the file is empty (0 bytes)
 * }
 * ```
 */
export class ImageDecodeError extends BadFileError {
  /**
   * Creates the error.
   *
   * @param source The file path or dataset entry.
   * @param reason What is wrong with it.
   * @param cause The underlying library error, if any.
   */
  constructor(source: string, reason: string, cause?: unknown) {
    super(source, reason, { cause });
    this.name = "ImageDecodeError";
  }
}

/** Options of {@linkcode decodeImage} and {@linkcode readImage}. */
export interface DecodeOptions {
  /** Channels of the result: 3 (RGB, default), 1 (grey) or 4 (RGBA). */
  channels?: ChannelCount;
  /** Refuse images with more pixels than this (decompression bombs). Default {@linkcode DEFAULT_MAX_PIXELS}. */
  maxPixels?: number;
}

/**
 * Decodes an encoded image to 8-bit {@linkcode Pixels}.
 *
 * @param bytes The encoded file contents.
 * @param source Names the image in errors (a path, `"lfw.bin#17"`).
 * @param options Channels and pixel limit.
 * @throws {ImageDecodeError} For empty, truncated, corrupt, unsupported or oversized images. The size is read
 *   from the header first, so a decompression bomb is refused before any pixel is decoded.
 * @example
 * ```ts
 * import { decodeImage, encodePng } from "./codec.ts";
 * const png = await encodePng({ width: 1, height: 1, channels: 3, data: new Uint8Array([1, 2, 3]) });
 * const pixels = await decodeImage(png, "inline.png");
 * console.log(pixels.data); // Uint8Array(3) [ 1, 2, 3 ]
 * ```
 */
export async function decodeImage(
  bytes: Uint8Array,
  source: string,
  options: DecodeOptions = {},
): Promise<Pixels> {
  const channels = options.channels ?? 3;
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  if (bytes.length === 0) throw new ImageDecodeError(source, "the file is empty (0 bytes)");
  if (sniffImageFormat(bytes) === null) {
    const start = [...bytes.subarray(0, 8)].map((b) => b.toString(16).padStart(2, "0")).join(" ");
    throw new ImageDecodeError(
      source,
      `not a ${DECODABLE_FORMATS.join(", ")} file (it starts with bytes ${start})`,
    );
  }
  try {
    // The header alone: format and size, no pixels decoded yet.
    const meta = await sharp(bytes, { limitInputPixels: false, failOn: "warning" }).metadata();
    if (!DECODABLE_FORMATS.includes(meta.format ?? "")) {
      throw new ImageDecodeError(
        source,
        `format ${meta.format ?? "unknown"} is not accepted (${DECODABLE_FORMATS.join(", ")} are)`,
      );
    }
    const width = meta.width ?? 0;
    const height = meta.height ?? 0;
    if (width * height > maxPixels) {
      throw new ImageDecodeError(
        source,
        `image is ${width}x${height}, above the limit of ${maxPixels} pixels`,
      );
    }
    let pipeline = sharp(bytes, { limitInputPixels: maxPixels, failOn: "warning" });
    pipeline = channels === 1 ? pipeline.toColourspace("b-w") : pipeline.toColourspace("srgb");
    pipeline = channels === 4 ? pipeline.ensureAlpha() : pipeline.removeAlpha();
    const { data, info } = await pipeline.raw({ depth: "uchar" }).toBuffer({ resolveWithObject: true });
    if (info.channels !== channels) {
      throw new ImageDecodeError(source, `decoder produced ${info.channels} channels, expected ${channels}`);
    }
    return assertPixels(
      {
        width: info.width,
        height: info.height,
        channels,
        data: new Uint8Array(data.buffer, data.byteOffset, data.length),
      },
      source,
    );
  } catch (error) {
    if (error instanceof ImageDecodeError) throw error;
    const reason = error instanceof Error ? error.message.trim() : String(error);
    throw new ImageDecodeError(source, `cannot decode image (${reason})`, error);
  }
}

/**
 * Reads and decodes an image file.
 *
 * @throws {ImageDecodeError} When the file is missing, unreadable or not a decodable image.
 * @example
 * ```ts
 * import { readImage, writeImage } from "./codec.ts";
 * const path = `${await Deno.makeTempDir()}/dot.png`;
 * await writeImage(path, { width: 1, height: 1, channels: 3, data: new Uint8Array([9, 9, 9]) });
 * console.log((await readImage(path)).width); // 1
 * ```
 */
export async function readImage(path: string, options: DecodeOptions = {}): Promise<Pixels> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (error) {
    const reason = error instanceof Deno.errors.NotFound ? "file not found" : `cannot read file (${error})`;
    throw new ImageDecodeError(path, reason, error);
  }
  return await decodeImage(bytes, path, options);
}

function fromPixels(pixels: Pixels): ReturnType<typeof sharp> {
  assertPixels(pixels, "image to encode");
  return sharp(pixels.data, {
    raw: { width: pixels.width, height: pixels.height, channels: pixels.channels },
  });
}

/**
 * Encodes pixels as PNG (lossless).
 *
 * @example
 * ```ts
 * import { encodePng } from "./codec.ts";
 * const png = await encodePng({ width: 2, height: 2, channels: 1, data: new Uint8Array(4) });
 * console.log(png[1] === 0x50); // true ("PNG" signature)
 * ```
 */
export async function encodePng(pixels: Pixels): Promise<Uint8Array> {
  return new Uint8Array(await fromPixels(pixels).png().toBuffer());
}

/**
 * Encodes pixels as JPEG.
 *
 * @param quality 1–100 (default 95).
 * @example
 * ```ts
 * import { encodeJpeg } from "./codec.ts";
 * const jpeg = await encodeJpeg({ width: 8, height: 8, channels: 3, data: new Uint8Array(192) }, 90);
 * console.log(jpeg[0] === 0xff && jpeg[1] === 0xd8); // true
 * ```
 */
export async function encodeJpeg(pixels: Pixels, quality = 95): Promise<Uint8Array> {
  return new Uint8Array(await fromPixels(pixels).jpeg({ quality }).toBuffer());
}

/**
 * Writes pixels to `path` atomically, as PNG or JPEG chosen by the extension (`.png`, `.jpg`, `.jpeg`).
 *
 * @example
 * ```ts
 * import { writeImage } from "./codec.ts";
 * await writeImage(`${await Deno.makeTempDir()}/grey.png`, { width: 1, height: 1, channels: 1, data: new Uint8Array([128]) });
 * ```
 */
export async function writeImage(path: string, pixels: Pixels): Promise<void> {
  const lower = path.toLowerCase();
  let bytes: Uint8Array;
  if (lower.endsWith(".png")) bytes = await encodePng(pixels);
  else if (lower.endsWith(".jpg") || lower.endsWith(".jpeg")) bytes = await encodeJpeg(pixels);
  else throw new Error(`${path}: unsupported output format (use .png, .jpg or .jpeg)`);
  await writeFileAtomic(path, bytes);
}

/** Resampling filters for {@linkcode resizeImage}. */
export type ResizeKernel = "nearest" | "linear" | "cubic" | "lanczos3";

/**
 * Resizes to exactly `width x height` (no aspect-ratio preservation), libvips resampling.
 *
 * @example
 * ```ts
 * import { resizeImage } from "./codec.ts";
 * const big = await resizeImage({ width: 1, height: 1, channels: 3, data: new Uint8Array([5, 6, 7]) }, 4, 4);
 * console.log(big.width, big.data.length); // 4 48
 * ```
 */
export async function resizeImage(
  pixels: Pixels,
  width: number,
  height: number,
  kernel: ResizeKernel = "linear",
): Promise<Pixels> {
  const { data, info } = await fromPixels(pixels)
    .resize(width, height, { fit: "fill", kernel: kernel === "linear" ? "linear" : kernel })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return assertPixels(
    {
      width: info.width,
      height: info.height,
      channels: info.channels as ChannelCount,
      data: new Uint8Array(data.buffer, data.byteOffset, data.length),
    },
    "resized image",
  );
}
