/**
 * The plain pixel container every layer of maskinv passes around.
 *
 * @module
 */

/** Number of interleaved channels in a {@linkcode Pixels} buffer: grey, RGB or RGBA. */
export type ChannelCount = 1 | 3 | 4;

/**
 * An 8-bit image in row-major, channel-interleaved (HWC) order.
 *
 * `data.length` is always `width * height * channels`. RGB order (never BGR).
 *
 * @example A 2x1 red/green RGB image
 * ```ts
 * import type { Pixels } from "./pixels.ts";
 * const image: Pixels = { width: 2, height: 1, channels: 3, data: new Uint8Array([255, 0, 0, 0, 255, 0]) };
 * console.log(image.data.length === image.width * image.height * image.channels); // true
 * ```
 */
export interface Pixels {
  /** Width in pixels. */
  readonly width: number;
  /** Height in pixels. */
  readonly height: number;
  /** Interleaved channels per pixel. */
  readonly channels: ChannelCount;
  /** `width * height * channels` bytes, row-major. */
  readonly data: Uint8Array;
}

/**
 * Checks that `image` is a well-formed {@linkcode Pixels} value and returns it.
 *
 * @param image The value to check.
 * @param what Names the image in the error (a file path, a dataset index).
 * @throws {RangeError} When dimensions are not positive integers or the buffer length is wrong.
 * @example
 * ```ts
 * import { assertPixels } from "./pixels.ts";
 * assertPixels({ width: 1, height: 1, channels: 1, data: new Uint8Array([7]) }, "one grey pixel");
 * ```
 */
export function assertPixels(image: Pixels, what: string): Pixels {
  const { width, height, channels, data } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new RangeError(`${what}: image dimensions must be positive integers, got ${width}x${height}`);
  }
  if (channels !== 1 && channels !== 3 && channels !== 4) {
    throw new RangeError(`${what}: channels must be 1, 3 or 4, got ${channels}`);
  }
  if (data.length !== width * height * channels) {
    throw new RangeError(
      `${what}: buffer holds ${data.length} bytes, expected ${width}x${height}x${channels} = ${
        width * height * channels
      }`,
    );
  }
  return image;
}
