/**
 * DET curves (FNMR against FMR) on log-scaled or normal-deviate (probit) axes, one trace per model ×
 * scenario: colour tells the model, dash tells the scenario.
 *
 * @module
 */
import { type RocCurve, rocCurve, SortedScores, thinCurve, verificationMetrics } from "../metrics/mod.ts";
import { PALETTE, type PlotlyFigure, type PlotlyTrace, SCENARIO_DASH } from "./figure.ts";

/** One curve of a DET plot. */
export interface DetSeries {
  /** Model or training step, e.g. `"MaskInv-LG"`; one colour per distinct model. */
  model: string;
  /** Scenario, e.g. `"M-UM"`; one dash style per scenario. */
  scenario?: string;
  /** The scores, or a curve already computed with `rocCurve`. */
  scores: SortedScores | RocCurve;
}

/** How rates map to the axes. */
export type DetAxis = "log" | "probit";

/** Options of {@linkcode detFigure}. */
export interface DetOptions {
  /** Figure title. */
  title?: string;
  /** `log` (default): log10 axes; `probit`: the normal-deviate scale of classic DET plots. */
  axis?: DetAxis;
  /** Lowest rate shown on both axes (default 1e-4). */
  minRate?: number;
  /** Highest rate shown (default 1 for log axes, 0.5 for probit). */
  maxRate?: number;
  /** Points kept per curve (default 2000; exact curve points, thinned evenly on the log axes). */
  maxPoints?: number;
  /** Draw the FMR = FNMR diagonal, where each curve crosses at its EER (default true). */
  showDiagonal?: boolean;
  /** Figure width in pixels (default 800). */
  width?: number;
  /** Figure height in pixels (default 600). */
  height?: number;
}

/**
 * Inverse of the standard normal CDF (Acklam's rational approximation, relative error below 1.2e-9:
 * far finer than a pixel), for the probit axes.
 *
 * @param p A probability in (0, 1).
 * @example
 * ```ts
 * import { normalQuantile } from "./det.ts";
 * console.log(normalQuantile(0.975).toFixed(4)); // "1.9600"
 * ```
 */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) return p === 0 ? -Infinity : p === 1 ? Infinity : NaN;
  const a = [
    -3.969683028665376e1,
    2.209460984245205e2,
    -2.759285104469687e2,
    1.38357751867269e2,
    -3.066479806614716e1,
    2.506628277459239,
  ];
  const b = [
    -5.447609879822406e1,
    1.615858368580409e2,
    -1.556989798598866e2,
    6.680131188771972e1,
    -1.328068155288572e1,
  ];
  const c = [
    -7.784894002430293e-3,
    -3.223964580411365e-1,
    -2.400758277161838,
    -2.549732539343734,
    4.374664141464968,
    2.938163982698783,
  ];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const low = 0.02425;
  let x: number;
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
      ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else if (p <= 1 - low) {
    const q = p - 0.5;
    const r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
      (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  } else {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
      ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  return x;
}

const TICKS = [1e-5, 1e-4, 1e-3, 1e-2, 0.02, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 0.9, 0.95, 0.98, 0.99];

function percentLabel(rate: number): string {
  const percent = rate * 100;
  return `${Number(percent.toPrecision(3))}%`;
}

function axisLayout(title: string, axis: DetAxis, minRate: number, maxRate: number): Record<string, unknown> {
  const ticks = TICKS.filter((t) => t >= minRate && t <= maxRate);
  if (axis === "log") {
    const decades = ticks.filter((t) => Number.isInteger(Math.log10(t)) || t === 0.1 || t === 1);
    const tickvals = [...new Set([...decades, ...(maxRate >= 1 ? [1] : [])])].filter((t) => t <= maxRate);
    return {
      title: { text: title },
      type: "log",
      range: [Math.log10(minRate), Math.log10(maxRate)],
      tickvals,
      ticktext: tickvals.map(percentLabel),
      gridcolor: "#e5e5e5",
      zeroline: false,
    };
  }
  return {
    title: { text: title },
    type: "linear",
    range: [normalQuantile(minRate), normalQuantile(maxRate)],
    tickvals: ticks.map(normalQuantile),
    ticktext: ticks.map(percentLabel),
    gridcolor: "#e5e5e5",
    zeroline: false,
  };
}

/**
 * A DET plot: FNMR (y) against FMR (x), both log-scaled (or on the probit scale), one trace per series.
 * Points with a zero rate cannot be drawn on these axes and are left out.
 *
 * @param series The curves to draw.
 * @param options Axes, range, size.
 * @example
 * ```ts
 * import { SortedScores } from "../metrics/mod.ts";
 * import { detFigure } from "./det.ts";
 * const scores = SortedScores.from([0.8, 0.6, 0.7, 0.3], [0.1, 0.2, 0.4, 0.05, 0.65]);
 * const figure = detFigure([{ model: "baseline", scenario: "M-M", scores }], { title: "MFR2" });
 * console.log(figure.data.length); // 2: the curve and the FMR = FNMR diagonal
 * ```
 */
export function detFigure(series: readonly DetSeries[], options: DetOptions = {}): PlotlyFigure {
  const axis = options.axis ?? "log";
  const minRate = options.minRate ?? 1e-4;
  const maxRate = options.maxRate ?? (axis === "log" ? 1 : 0.5);
  if (!(minRate > 0 && minRate < maxRate && maxRate <= 1)) {
    throw new RangeError(
      `DET rate range must satisfy 0 < minRate < maxRate <= 1, got ${minRate}..${maxRate}`,
    );
  }
  const scale = axis === "log" ? (rate: number) => rate : normalQuantile;
  const models = [...new Set(series.map((s) => s.model))];
  const dashes = Object.values(SCENARIO_DASH);
  const scenarios = [...new Set(series.map((s) => s.scenario ?? ""))];
  const data: PlotlyTrace[] = series.map((s) => {
    const full = s.scores instanceof SortedScores ? rocCurve(s.scores) : s.scores;
    const curve = thinCurve(full, options.maxPoints ?? 2000);
    const eer = s.scores instanceof SortedScores ? verificationMetrics(s.scores).eer : undefined;
    const x: number[] = [];
    const y: number[] = [];
    const customdata: number[][] = [];
    for (let k = 0; k < curve.thresholds.length; k++) {
      const fmr = curve.fmr[k];
      const fnmr = curve.fnmr[k];
      // Rates of 0 lie at -∞ on both scales, rates of 1 at +∞ on the probit scale.
      if (fmr <= 0 || fnmr <= 0 || (axis === "probit" && (fmr >= 1 || fnmr >= 1))) continue;
      x.push(scale(fmr));
      y.push(scale(fnmr));
      customdata.push([curve.thresholds[k], fmr, fnmr]);
    }
    const scenario = s.scenario ?? "";
    const name = scenario ? `${s.model} · ${scenario}` : s.model;
    return {
      type: "scatter",
      mode: "lines",
      name: eer === undefined ? name : `${name} (EER ${percentLabel(eer)})`,
      x,
      y,
      customdata,
      hovertemplate: `${name}<br>FMR %{customdata[1]:.3%}<br>FNMR %{customdata[2]:.3%}` +
        "<br>threshold %{customdata[0]:.4f}<extra></extra>",
      line: {
        color: PALETTE[models.indexOf(s.model) % PALETTE.length],
        dash: SCENARIO_DASH[scenario] ?? dashes[scenarios.indexOf(scenario) % dashes.length],
        width: 2,
      },
    };
  });
  if (options.showDiagonal ?? true) {
    data.push({
      type: "scatter",
      mode: "lines",
      name: "FMR = FNMR",
      x: [scale(minRate), scale(maxRate)],
      y: [scale(minRate), scale(maxRate)],
      hoverinfo: "skip",
      line: { color: "#999999", dash: "dot", width: 1 },
      showlegend: false,
    });
  }
  return {
    data,
    layout: {
      title: { text: options.title ?? "DET curve" },
      width: options.width ?? 800,
      height: options.height ?? 600,
      xaxis: axisLayout("FMR (false match rate)", axis, minRate, maxRate),
      yaxis: axisLayout("FNMR (false non-match rate)", axis, minRate, maxRate),
      legend: { x: 0.99, xanchor: "right", y: 0.99, bgcolor: "rgba(255,255,255,0.8)" },
      plot_bgcolor: "#ffffff",
      margin: { l: 70, r: 20, t: 60, b: 60 },
    },
  };
}
