/**
 * The figure type every plot function returns: plotly's own JSON (`{ data, layout }`), so it can be shown
 * by plotly.js in a browser, by Jupyter's plotly renderer, or saved and edited as plain data.
 *
 * @module
 */

/** One plotly trace (`scatter`, `bar`, …) as plain JSON. */
export type PlotlyTrace = Record<string, unknown>;

/** A plotly layout as plain JSON. */
export type PlotlyLayout = Record<string, unknown>;

/** A complete plotly figure. */
export interface PlotlyFigure {
  /** The traces, drawn in order. */
  data: PlotlyTrace[];
  /** Axes, titles, size, shapes and annotations. */
  layout: PlotlyLayout;
}

/**
 * Colours of the plotly default palette, used to give each model one colour across scenarios.
 *
 * @example
 * ```ts
 * import { PALETTE } from "./figure.ts";
 * const trace = { type: "scatter", x: [1, 2], y: [3, 4], line: { color: PALETTE[2] } };
 * console.log(trace.line.color); // "#2ca02c"
 * ```
 */
export const PALETTE: readonly string[] = [
  "#1f77b4",
  "#ff7f0e",
  "#2ca02c",
  "#d62728",
  "#9467bd",
  "#8c564b",
  "#e377c2",
  "#7f7f7f",
  "#bcbd22",
  "#17becf",
];

/**
 * Line dash per scenario, so models are told apart by colour and scenarios by dash.
 *
 * @example
 * ```ts
 * import { SCENARIO_DASH } from "./figure.ts";
 * console.log(SCENARIO_DASH["M-M"]); // "dot"
 * ```
 */
export const SCENARIO_DASH: Readonly<Record<string, string>> = {
  "UM-UM": "solid",
  "M-UM": "dash",
  "M-M": "dot",
};

/**
 * Checks that a value is a figure: `data` an array of objects, `layout` an object.
 *
 * @throws {TypeError} Naming what is wrong.
 * @example
 * ```ts
 * import { assertFigure } from "./figure.ts";
 * assertFigure({ data: [{ type: "scatter", x: [1], y: [2] }], layout: {} });
 * ```
 */
export function assertFigure(figure: PlotlyFigure): PlotlyFigure {
  if (typeof figure !== "object" || figure === null) throw new TypeError("a figure must be an object");
  if (!Array.isArray(figure.data)) throw new TypeError("figure.data must be an array of traces");
  figure.data.forEach((trace, k) => {
    if (typeof trace !== "object" || trace === null) {
      throw new TypeError(`figure.data[${k}] is not an object`);
    }
  });
  if (typeof figure.layout !== "object" || figure.layout === null) {
    throw new TypeError("figure.layout must be an object");
  }
  return figure;
}

/**
 * Serialises a figure as JSON that is safe inside an HTML `<script>` (no `<`, `>` or `&` characters, which
 * could otherwise end the script element early) and turns typed arrays into plain arrays.
 *
 * @example
 * ```ts
 * import { figureJson } from "./figure.ts";
 * console.log(figureJson({ data: [{ name: "</script>" }], layout: {} }).includes("</script>")); // false
 * ```
 */
export function figureJson(figure: PlotlyFigure): string {
  const json = JSON.stringify(assertFigure(figure), (_key, value) => {
    if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
      return Array.from(value as unknown as ArrayLike<number>);
    }
    return value;
  });
  return json.replaceAll("<", "\\u003c").replaceAll(">", "\\u003e").replaceAll("&", "\\u0026");
}

/**
 * A figure as plain JSON data (typed arrays become arrays), e.g. for Jupyter's plotly mime type.
 *
 * @example
 * ```ts
 * import { plainFigure } from "./figure.ts";
 * const plain = plainFigure({ data: [{ x: new Float64Array([1, 2]) }], layout: {} });
 * console.log(Array.isArray(plain.data[0].x)); // true
 * ```
 */
export function plainFigure(figure: PlotlyFigure): PlotlyFigure {
  return JSON.parse(figureJson(figure));
}
