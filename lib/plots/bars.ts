/**
 * Grouped bar charts of result tables: one group per model or ablation step, one bar per scenario, for
 * a chosen metric.
 *
 * @module
 */
import type { TableColumn, TableRow } from "../metrics/mod.ts";
import { PERCENT_COLUMNS, SCENARIO_NAMES } from "../metrics/mod.ts";
import { PALETTE, type PlotlyFigure } from "./figure.ts";

/** Options of {@linkcode groupedBarFigure}. */
export interface BarOptions {
  /** The metric to show (default `eer`). */
  metric?: TableColumn;
  /** Scenarios, one bar each (default: those present, in the order UM-UM, M-UM, M-M, then others). */
  scenarios?: readonly string[];
  /** Figure title. */
  title?: string;
  /** Figure width in pixels (default 800). */
  width?: number;
  /** Figure height in pixels (default 450). */
  height?: number;
}

const AXIS_TITLES: Record<TableColumn, string> = {
  eer: "EER (%)",
  fmr100: "FMR100 (%)",
  fmr1000: "FMR1000 (%)",
  gMean: "G-mean",
  iMean: "I-mean",
  fdr: "FDR",
  accuracy: "accuracy (%)",
};

/**
 * A grouped bar chart of one metric: x = rows (models / ablation steps), one bar colour per scenario.
 * Error rates and accuracy are shown in percent; a missing value leaves a gap.
 *
 * @example
 * ```ts
 * import { groupedBarFigure } from "./bars.ts";
 * const s = (eer: number) => ({ eer, fmr100: 0, fmr1000: 0, gMean: 0, iMean: 0, fdr: 0 });
 * const figure = groupedBarFigure([
 *   { name: "baseline", scenarios: { "UM-UM": s(0.01), "M-M": s(0.08) } },
 *   { name: "MaskInv-LG", scenarios: { "UM-UM": s(0.01), "M-M": s(0.05) } },
 * ], { metric: "eer" });
 * console.log(figure.data.length); // 2 scenarios
 * ```
 */
export function groupedBarFigure(rows: readonly TableRow[], options: BarOptions = {}): PlotlyFigure {
  const metric = options.metric ?? "eer";
  const present = new Set(rows.flatMap((row) => Object.keys(row.scenarios)));
  const scenarios = options.scenarios ?? [
    ...SCENARIO_NAMES.filter((name) => present.has(name)),
    ...[...present].filter((name) => !SCENARIO_NAMES.includes(name)),
  ];
  const factor = PERCENT_COLUMNS.has(metric) ? 100 : 1;
  const data = scenarios.map((scenario, k) => {
    const y = rows.map((row) => {
      const value = row.scenarios[scenario]?.[metric];
      return value === undefined || !Number.isFinite(value) ? null : value * factor;
    });
    return {
      type: "bar",
      name: scenario,
      x: rows.map((row) => row.name),
      y,
      text: y.map((v) => (v === null ? "" : v.toFixed(factor === 100 ? 2 : 3))),
      textposition: "outside",
      marker: { color: PALETTE[k % PALETTE.length] },
    };
  });
  return {
    data,
    layout: {
      title: { text: options.title ?? AXIS_TITLES[metric] },
      barmode: "group",
      width: options.width ?? 800,
      height: options.height ?? 450,
      yaxis: { title: { text: AXIS_TITLES[metric] }, rangemode: "tozero" },
      plot_bgcolor: "#ffffff",
      margin: { l: 70, r: 20, t: 60, b: 80 },
    },
  };
}
