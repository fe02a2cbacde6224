/**
 * Showing figures in a Deno Jupyter notebook: a value whose display bundle carries both plotly's own mime
 * type (rendered natively by JupyterLab, VS Code and nteract) and a self-contained `text/html` fallback
 * (rendered anywhere HTML with scripts is, with no network).
 *
 * @module
 */
import { plainFigure, type PlotlyFigure } from "./figure.ts";
import { figureHtmlFragment, type HtmlOptions } from "./html.ts";

/**
 * The symbol the Deno Jupyter kernel looks up to display a value.
 *
 * @example
 * ```ts
 * import { JUPYTER_DISPLAY } from "./notebook.ts";
 * const text = { [JUPYTER_DISPLAY]: () => ({ "text/plain": "hello" }) };
 * console.log(text[JUPYTER_DISPLAY]());
 * ```
 */
export const JUPYTER_DISPLAY: unique symbol = Symbol.for("Jupyter.display");

/**
 * Mime type of plotly figures in Jupyter.
 *
 * @example
 * ```ts
 * import { figureMimeBundle, PLOTLY_MIME } from "./notebook.ts";
 * const bundle = figureMimeBundle({ data: [], layout: {} }, { inlinePlotly: false });
 * console.log(PLOTLY_MIME in bundle); // true
 * ```
 */
export const PLOTLY_MIME = "application/vnd.plotly.v1+json";

/** A Jupyter mime bundle: mime type → content. */
export type MimeBundle = Record<string, unknown>;

/**
 * The display bundle of a figure: `application/vnd.plotly.v1+json` and `text/html`.
 *
 * @example
 * ```ts
 * import { figureMimeBundle } from "./notebook.ts";
 * const bundle = figureMimeBundle({ data: [{ type: "bar", x: ["a"], y: [1] }], layout: {} });
 * console.log(Object.keys(bundle)); // ["application/vnd.plotly.v1+json", "text/html"]
 * ```
 */
export function figureMimeBundle(figure: PlotlyFigure, options: HtmlOptions = {}): MimeBundle {
  return { [PLOTLY_MIME]: plainFigure(figure), "text/html": figureHtmlFragment(figure, options) };
}

/** A value the Deno Jupyter kernel displays as a figure. */
export interface FigureDisplay {
  /** Called by the kernel: returns the mime bundle. */
  [JUPYTER_DISPLAY](): MimeBundle;
  /** The figure shown. */
  readonly figure: PlotlyFigure;
}

/**
 * Wraps a figure so that a notebook cell ending with it (or `Deno.jupyter.display(...)` of it) shows the
 * plot. The bundle is built only when displayed.
 *
 * @example
 * ```ts
 * import { displayFigure } from "./notebook.ts";
 * const shown = displayFigure({ data: [{ type: "scatter", x: [1, 2], y: [2, 1] }], layout: {} });
 * // In a notebook, end a cell with `shown` to draw it.
 * console.log(shown.figure.data.length); // 1
 * ```
 */
export function displayFigure(figure: PlotlyFigure, options: HtmlOptions = {}): FigureDisplay {
  return {
    figure,
    [JUPYTER_DISPLAY]: () => figureMimeBundle(figure, options),
  };
}
