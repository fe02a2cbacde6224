/**
 * Compact notebook display, for notebooks that are stored with their outputs: a figure is shown as plotly
 * JSON (interactive where the front end renders it), a PNG drawn by headless Chromium, and a small
 * `text/html` fallback — an `<img>` of that PNG, or without Chromium a table of the traces' key numbers — instead
 * of {@linkcode displayFigure}'s HTML with plotly.js inlined (about 5 MB per figure). Image grids (faces, masks)
 * are shown as one JPEG or PNG.
 *
 * Show results with `await Deno.jupyter.display(await showFigure(figure))`: a cell's last value can be lost
 * when a notebook is executed headlessly.
 *
 * @module
 */
import type { Pixels } from "../data/pixels.ts";
import { contactSheet } from "../image/sheet.ts";
import { plainFigure, type PlotlyFigure } from "./figure.ts";
import { JUPYTER_DISPLAY, type MimeBundle, PLOTLY_MIME } from "./notebook.ts";
import { findChromium, renderFigurePng } from "./render.ts";
import { escapeHtml } from "../util/html.ts";

/** Options of {@linkcode showFigure}. */
export interface ShowFigureOptions {
  /** Draw a PNG with headless Chromium (default: when Chromium is installed). */
  png?: boolean;
  /** Include the plotly JSON, interactive in JupyterLab and VS Code (default true). */
  interactive?: boolean;
  /** PNG width in CSS pixels (default: the layout's, else 800). */
  width?: number;
  /** PNG height in CSS pixels (default: the layout's, else 600). */
  height?: number;
  /** PNG device pixel ratio (default 1). */
  scale?: number;
}

/** A value the Deno Jupyter kernel displays, with what it shows. */
export interface CompactDisplay {
  /** Called by the kernel: the mime bundle. */
  [JUPYTER_DISPLAY](): MimeBundle;
  /** The bundle (also what the kernel gets). */
  readonly bundle: MimeBundle;
}

/** Base64 of bytes, in chunks (no stack overflow on large images). */
function base64(bytes: Uint8Array): string {
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(text);
}

function figureTitle(figure: PlotlyFigure): string {
  const title = figure.layout.title;
  if (typeof title === "string") return title;
  if (typeof title === "object" && title !== null && "text" in title && typeof title.text === "string") {
    return title.text;
  }
  return "figure";
}

function numbers(value: unknown): number[] {
  if (!Array.isArray(value) && !ArrayBuffer.isView(value)) return [];
  return Array.from(value as ArrayLike<unknown>).filter((v): v is number => typeof v === "number");
}

function compact(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  return abs !== 0 && (abs < 1e-3 || abs >= 1e5)
    ? value.toExponential(2)
    : String(Number(value.toPrecision(4)));
}

/**
 * A small HTML table of a figure's traces: name, type, points, and for bars their values, for lines the ranges
 * of x and y. The fallback where neither plotly nor a PNG can be shown.
 *
 * @example
 * ```ts
 * import { figureSummaryHtml } from "./display.ts";
 * const html = figureSummaryHtml({ data: [{ type: "bar", name: "EER", x: ["a", "b"], y: [1.5, 2] }], layout: {} });
 * console.log(html.includes("a: 1.5")); // true
 * ```
 */
export function figureSummaryHtml(figure: PlotlyFigure): string {
  const rows = figure.data.filter((trace) => trace.showlegend !== false).map((trace) => {
    const type = String(trace.type ?? "scatter");
    const x = Array.isArray(trace.x) || ArrayBuffer.isView(trace.x)
      ? Array.from(trace.x as ArrayLike<unknown>)
      : [];
    const y = numbers(trace.y);
    let detail: string;
    if (type === "bar") {
      detail = x.map((label, k) => `${label}: ${y[k] === undefined ? "—" : compact(y[k])}`).join(", ");
    } else {
      const xs = numbers(trace.x);
      const range = (v: number[]) =>
        v.length ? `${compact(Math.min(...v))} … ${compact(Math.max(...v))}` : "—";
      detail = `x ${range(xs)}, y ${range(y)}`;
    }
    return `<tr><td>${escapeHtml(String(trace.name ?? ""))}</td><td>${escapeHtml(type)}</td>` +
      `<td style="text-align:right">${Math.max(x.length, y.length)}</td><td>${escapeHtml(detail)}</td></tr>`;
  });
  return `<table class="maskinv-figure-summary"><caption>${escapeHtml(figureTitle(figure))}</caption>` +
    `<thead><tr><th>trace</th><th>type</th><th>points</th><th>values</th></tr></thead>` +
    `<tbody>${rows.join("")}</tbody></table>`;
}

/**
 * A compact notebook display of a figure (see the module notes). Renders the PNG now, so the bundle is ready.
 *
 * @example
 * ```ts
 * import { showFigure } from "./display.ts";
 * const shown = await showFigure({ data: [{ type: "bar", x: ["a"], y: [1] }], layout: { title: "demo" } });
 * console.log(Object.keys(shown.bundle));
 * // In a notebook: await Deno.jupyter.display(shown);
 * ```
 */
export async function showFigure(
  figure: PlotlyFigure,
  options: ShowFigureOptions = {},
): Promise<CompactDisplay> {
  const bundle: MimeBundle = { "text/plain": figureTitle(figure) };
  if (options.interactive ?? true) bundle[PLOTLY_MIME] = plainFigure(figure);
  const wantPng = options.png ?? findChromium() !== null;
  if (wantPng) {
    const png = base64(
      await renderFigurePng(figure, { width: options.width, height: options.height, scale: options.scale }),
    );
    bundle["image/png"] = png;
    const width = options.width ?? (typeof figure.layout.width === "number" ? figure.layout.width : 800);
    bundle["text/html"] = `<img alt="${escapeHtml(figureTitle(figure))}" width="${width}" ` +
      `src="data:image/png;base64,${png}">`;
  } else {
    bundle["text/html"] = figureSummaryHtml(figure);
  }
  return { bundle, [JUPYTER_DISPLAY]: () => bundle };
}

/** Options of {@linkcode showImageGrid}. */
export interface ImageGridOptions {
  /** A line of text shown with the grid (its `text/plain`). */
  caption?: string;
  /** Pixels between images (default 2). */
  gap?: number;
  /** `jpeg` (default, small) or `png` (exact). */
  format?: "jpeg" | "png";
  /** JPEG quality (default 88). */
  quality?: number;
  /** Fit every image into a `cell x cell` square first (aspect kept); default: images as they are. */
  cell?: number;
}

/**
 * A grid of images (rows of faces; `null` leaves a cell empty) as one JPEG or PNG for a notebook.
 *
 * @example
 * ```ts
 * import { showImageGrid } from "./display.ts";
 * const grey = { width: 8, height: 8, channels: 3 as const, data: new Uint8Array(192).fill(128) };
 * const shown = await showImageGrid([[grey, grey], [grey]], { caption: "two rows" });
 * console.log(Object.keys(shown.bundle)); // [ "text/plain", "image/jpeg", "text/html" ]
 * ```
 */
export async function showImageGrid(
  rows: readonly (readonly (Pixels | null)[])[],
  options: ImageGridOptions = {},
): Promise<CompactDisplay> {
  // The codec (sharp, native) is loaded only when a grid is shown, so importing the plots needs no native code.
  const { encodeJpeg, encodePng, resizeImage } = await import("../image/codec.ts");
  const cell = options.cell;
  const fitted = cell === undefined
    ? rows
    : await Promise.all(rows.map((row) =>
      Promise.all(row.map((image) => {
        if (image === null) return null;
        const scale = cell / Math.max(image.width, image.height);
        return resizeImage(
          image,
          Math.max(1, Math.round(image.width * scale)),
          Math.max(1, Math.round(image.height * scale)),
        );
      }))
    ));
  const sheet = contactSheet(fitted, { gap: options.gap ?? 2 });
  const format = options.format ?? "jpeg";
  const bytes = format === "png" ? await encodePng(sheet) : await encodeJpeg(sheet, options.quality ?? 88);
  const mime = format === "png" ? "image/png" : "image/jpeg";
  const caption = options.caption ?? `${rows.length} rows of images`;
  const encoded = base64(bytes);
  const bundle: MimeBundle = {
    "text/plain": caption,
    [mime]: encoded,
    // Front ends that render no images natively still show HTML.
    "text/html":
      `<figure style="margin:0"><img src="data:${mime};base64,${encoded}" alt="${escapeHtml(caption)}" ` +
      `style="max-width:100%"/><figcaption>${escapeHtml(caption)}</figcaption></figure>`,
  };
  return { bundle, [JUPYTER_DISPLAY]: () => bundle };
}
