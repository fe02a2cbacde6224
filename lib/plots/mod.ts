/**
 * Figures of verification results with plotly: DET curves, genuine/impostor score histograms with the EER
 * threshold, grouped bar charts of ablation tables. Every figure is plain plotly JSON (`{ data, layout }`),
 * shown in Deno notebooks (plotly mime type plus a self-contained HTML fallback), written as standalone
 * HTML that needs no network, and rendered to PNG/SVG by headless Chromium where it is installed.
 *
 * @example A DET plot, shown in a notebook or saved as HTML
 * ```ts
 * import { SortedScores } from "../metrics/mod.ts";
 * import { detFigure, displayFigure, writeFigureHtml } from "./mod.ts";
 * const scores = SortedScores.from([0.8, 0.6, 0.7, 0.3], [0.1, 0.2, 0.4, 0.05, 0.65]);
 * const figure = detFigure([{ model: "baseline", scenario: "UM-UM", scores }]);
 * await writeFigureHtml(await Deno.makeTempFile({ suffix: ".html" }), figure);
 * displayFigure(figure); // the last value of a notebook cell is drawn
 * ```
 *
 * @module
 */
export * from "./figure.ts";
export * from "./det.ts";
export * from "./histogram.ts";
export * from "./bars.ts";
export * from "./html.ts";
export * from "./notebook.ts";
export * from "./render.ts";
export * from "./display.ts";
