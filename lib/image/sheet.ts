/**
 * Contact sheets: many images tiled into one grid, for looking at a data set at a glance.
 *
 * @module
 */
import { assertPixels, type Pixels } from "../data/pixels.ts";

/** Options of {@linkcode contactSheet}. */
export interface ContactSheetOptions {
  /** Pixels between cells and around the sheet (default 2). */
  gap?: number;
  /** Background RGB (default white). */
  background?: readonly [number, number, number];
}

/**
 * Tiles rows of images into one RGB image. Each cell is as large as the largest image; smaller images sit
 * in the cell's top-left corner, `null` leaves a cell empty, and rows may have different lengths. Grey
 * images are replicated to RGB; alpha is dropped.
 *
 * @param rows The grid, row by row.
 * @param options Gap and background colour.
 * @throws {RangeError} When there is no image at all.
 * @example
 * ```ts
 * import { contactSheet } from "./sheet.ts";
 * const dot = { width: 2, height: 2, channels: 3 as const, data: new Uint8Array(12).fill(9) };
 * const sheet = contactSheet([[dot, null, dot], [dot]], { gap: 1 });
 * console.log(sheet.width, sheet.height); // 10 7
 * ```
 */
export function contactSheet(
  rows: readonly (readonly (Pixels | null)[])[],
  options: ContactSheetOptions = {},
): Pixels {
  const gap = options.gap ?? 2;
  const [br, bg, bb] = options.background ?? [255, 255, 255];
  let cellW = 0, cellH = 0, columns = 0;
  rows.forEach((row, r) => {
    columns = Math.max(columns, row.length);
    row.forEach((image, c) => {
      if (image == null) return;
      assertPixels(image, `contact sheet cell (${r}, ${c})`);
      cellW = Math.max(cellW, image.width);
      cellH = Math.max(cellH, image.height);
    });
  });
  if (cellW === 0) throw new RangeError("contact sheet: no images given");
  const width = gap + columns * (cellW + gap);
  const height = gap + rows.length * (cellH + gap);
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i += 3) data[i] = br, data[i + 1] = bg, data[i + 2] = bb;
  rows.forEach((row, r) => {
    row.forEach((image, c) => {
      if (image == null) return;
      const left = gap + c * (cellW + gap), top = gap + r * (cellH + gap);
      const cn = image.channels;
      for (let y = 0; y < image.height; y++) {
        for (let x = 0; x < image.width; x++) {
          const p = (y * image.width + x) * cn;
          const o = ((top + y) * width + left + x) * 3;
          data[o] = image.data[p];
          data[o + 1] = image.data[cn === 1 ? p : p + 1];
          data[o + 2] = image.data[cn === 1 ? p : p + 2];
        }
      }
    });
  });
  return { width, height, channels: 3, data };
}
