/**
 * Genuine and impostor score distributions with the EER threshold marked: how far apart the two classes
 * are (the picture behind G-mean, I-mean and FDR).
 *
 * @module
 */
import { type SortedScores, verificationMetrics } from "../metrics/mod.ts";
import type { PlotlyFigure } from "./figure.ts";

/** Options of {@linkcode scoreHistogramFigure}. */
export interface HistogramOptions {
  /** Figure title. */
  title?: string;
  /** Number of bins spanning all scores (default 60). */
  bins?: number;
  /** Threshold to mark (default: the EER threshold of the scores); `null` marks none. */
  threshold?: number | null;
  /** Figure width in pixels (default 800). */
  width?: number;
  /** Figure height in pixels (default 450). */
  height?: number;
}

/** Bin edges and the share of each class per bin. */
export interface ScoreHistogram {
  /** `bins + 1` ascending bin edges. */
  edges: number[];
  /** Share of genuine scores per bin (sums to 1). */
  genuine: number[];
  /** Share of impostor scores per bin (sums to 1). */
  impostor: number[];
}

/**
 * Bins both classes on common edges; each class is normalised to shares so that 10^3 genuine and 10^7
 * impostor scores are comparable. Reads the sorted arrays once: O(n).
 *
 * @example
 * ```ts
 * import { SortedScores } from "../metrics/mod.ts";
 * import { scoreHistogram } from "./histogram.ts";
 * const h = scoreHistogram(SortedScores.from([0.5, 0.9], [0.1, 0.2]), 4);
 * console.log(h.genuine, h.impostor); // [0, 0, 0.5, 0.5] [1, 0, 0, 0]
 * ```
 */
export function scoreHistogram(scores: SortedScores, bins = 60): ScoreHistogram {
  if (!Number.isInteger(bins) || bins < 1) {
    throw new RangeError(`bins must be a positive integer, got ${bins}`);
  }
  const low = Math.min(scores.genuine[0], scores.impostor[0]);
  let high = Math.max(scores.genuine.at(-1)!, scores.impostor.at(-1)!);
  if (high === low) high = low + 1;
  const width = (high - low) / bins;
  const edges = Array.from({ length: bins + 1 }, (_, k) => (k === bins ? high : low + k * width));
  const share = (values: Float64Array) => {
    const counts = new Float64Array(bins);
    for (let i = 0; i < values.length; i++) {
      counts[Math.min(bins - 1, Math.floor((values[i] - low) / width))]++;
    }
    return Array.from(counts, (c) => c / values.length);
  };
  return { edges, genuine: share(scores.genuine), impostor: share(scores.impostor) };
}

/**
 * Overlaid genuine / impostor histograms with a dashed line at the EER threshold (or a given threshold).
 *
 * @example
 * ```ts
 * import { SortedScores } from "../metrics/mod.ts";
 * import { scoreHistogramFigure } from "./histogram.ts";
 * const scores = SortedScores.from([0.8, 0.6, 0.7, 0.3], [0.1, 0.2, 0.4, 0.05, 0.65]);
 * const figure = scoreHistogramFigure(scores, { title: "M-M", bins: 10 });
 * console.log(figure.data.map((trace) => trace.name)); // ["genuine (4)", "impostor (5)"]
 * ```
 */
export function scoreHistogramFigure(scores: SortedScores, options: HistogramOptions = {}): PlotlyFigure {
  const histogram = scoreHistogram(scores, options.bins ?? 60);
  const centres = histogram.edges.slice(0, -1).map((e, k) => (e + histogram.edges[k + 1]) / 2);
  const binWidth = histogram.edges[1] - histogram.edges[0];
  let threshold = options.threshold;
  let label = "threshold";
  if (threshold === undefined) {
    const metrics = verificationMetrics(scores);
    threshold = metrics.eerThreshold;
    label = `EER ${(metrics.eer * 100).toFixed(2)}%`;
  }
  const shapes = threshold === null ? [] : [{
    type: "line",
    xref: "x",
    yref: "paper",
    x0: threshold,
    x1: threshold,
    y0: 0,
    y1: 1,
    line: { color: "#333333", dash: "dash", width: 2 },
  }];
  const annotations = threshold === null ? [] : [{
    x: threshold,
    xref: "x",
    y: 1,
    yref: "paper",
    yanchor: "bottom",
    showarrow: false,
    text: `${label} @ ${threshold.toFixed(4)}`,
  }];
  return {
    data: [
      {
        type: "bar",
        name: `genuine (${scores.genuineCount})`,
        x: centres,
        y: histogram.genuine,
        width: binWidth,
        marker: { color: "#2ca02c" },
        opacity: 0.6,
      },
      {
        type: "bar",
        name: `impostor (${scores.impostorCount})`,
        x: centres,
        y: histogram.impostor,
        width: binWidth,
        marker: { color: "#d62728" },
        opacity: 0.6,
      },
    ],
    layout: {
      title: { text: options.title ?? "Score distributions" },
      barmode: "overlay",
      bargap: 0,
      width: options.width ?? 800,
      height: options.height ?? 450,
      xaxis: { title: { text: "similarity score" } },
      yaxis: { title: { text: "share of comparisons" } },
      shapes,
      annotations,
      plot_bgcolor: "#ffffff",
      margin: { l: 70, r: 20, t: 70, b: 60 },
    },
  };
}
