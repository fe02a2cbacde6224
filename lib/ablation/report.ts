/**
 * The ablation's report: result tables (the paper's wide layout and a long one that reads well in Markdown),
 * the comparisons the ablation is about (how much masks hurt the baseline, what each step changes), figures
 * (grouped bars, DET curves per scenario, training loss), and the files `ablation.json`, `ablation.md` and a
 * self-contained `ablation.html`, each written atomically.
 *
 * @module
 */
import {
  evaluationTableRow,
  PERCENT_COLUMNS,
  resultsTableHtml,
  resultsTableMarkdown,
  SCENARIO_NAMES,
  scenarioScores,
  TABLE_COLUMNS,
  type TableColumn,
  type TableRow,
} from "../metrics/mod.ts";
import {
  detFigure,
  figureHtmlFragment,
  groupedBarFigure,
  PALETTE,
  type PlotlyFigure,
  type PlotlyTrace,
} from "../plots/mod.ts";
import { writeTextFileAtomic } from "../util/atomic.ts";
import { architectureName } from "../models/network.ts";
import type { TrainConfig } from "../train/mod.ts";
import type { AblationRun, AblationStepResult } from "./runner.ts";
import type { AblationStepDefinition } from "./steps.ts";
import { escapeHtml } from "../util/html.ts";

/**
 * Format tag of `ablation.json`.
 *
 * @example
 * ```ts
 * import { ABLATION_REPORT_FORMAT } from "./report.ts";
 * const document = JSON.parse(await Deno.readTextFile("results/ablation.json").catch(() => "{}"));
 * console.log(document.format === ABLATION_REPORT_FORMAT);
 * ```
 */
export const ABLATION_REPORT_FORMAT = "maskinv-ablation";

/**
 * Ratio of the baseline's M-UM EER to its UM-UM EER above which masks clearly hurt: the check that the
 * evaluation data lets a mask hide identity (the ablation has nothing to show otherwise).
 *
 * @example
 * ```ts
 * import { MASK_PENALTY_THRESHOLD } from "./report.ts";
 * console.log(0.27 / 0.09 >= MASK_PENALTY_THRESHOLD); // true
 * ```
 */
export const MASK_PENALTY_THRESHOLD = 1.5;

/**
 * Table rows for `lib/metrics`' table renderers and bar charts: one per step (and set, when there are several).
 *
 * @example
 * ```ts
 * import { ablationRows } from "./report.ts";
 * import type { AblationRun } from "./runner.ts";
 * declare const run: AblationRun;
 * console.log(ablationRows(run.steps).map((row) => row.name));
 * ```
 */
export function ablationRows(steps: readonly AblationStepResult[]): TableRow[] {
  const sets = [...new Set(steps.flatMap((s) => Object.keys(s.evaluation)))];
  return steps.flatMap((step) =>
    sets.filter((set) => step.evaluation[set] != null).map((set) =>
      evaluationTableRow(step.evaluation[set], sets.length > 1 ? `${step.label} · ${set}` : step.label)
    )
  );
}

const HEADERS: Record<TableColumn, string> = {
  eer: "EER %",
  fmr100: "FMR100 %",
  fmr1000: "FMR1000 %",
  gMean: "G-mean",
  iMean: "I-mean",
  fdr: "FDR",
  accuracy: "Acc. %",
};

function cell(column: TableColumn, value: number | undefined): string {
  if (value === undefined) return "";
  if (!Number.isFinite(value)) return Number.isNaN(value) ? "—" : value > 0 ? "∞" : "−∞";
  return PERCENT_COLUMNS.has(column)
    ? (100 * value).toFixed(2)
    : column === "fdr"
    ? value.toFixed(3)
    : value.toFixed(4);
}

/**
 * The results as Markdown. `long` (default): one row per step and scenario, one column per metric — readable
 * on a page. `wide`: the paper's layout, one row per step with a column group per scenario.
 *
 * @example
 * ```ts
 * import { ablationTableMarkdown } from "./report.ts";
 * import type { AblationRun } from "./runner.ts";
 * declare const run: AblationRun;
 * console.log(ablationTableMarkdown(run.steps));
 * ```
 */
export function ablationTableMarkdown(
  steps: readonly AblationStepResult[],
  options: { layout?: "long" | "wide" } = {},
): string {
  const rows = ablationRows(steps);
  if (options.layout === "wide") return resultsTableMarkdown(rows);
  const lines = [
    `| Step | Scenario | ${TABLE_COLUMNS.map((c) => HEADERS[c]).join(" | ")} |`,
    `| :--- | :--- | ${TABLE_COLUMNS.map(() => "---:").join(" | ")} |`,
  ];
  for (const row of rows) {
    for (const scenario of SCENARIO_NAMES) {
      const summary = row.scenarios[scenario];
      if (summary == null) continue;
      lines.push(
        `| ${row.name} | ${scenario} | ${TABLE_COLUMNS.map((c) => cell(c, summary[c])).join(" | ")} |`,
      );
    }
  }
  return lines.join("\n") + "\n";
}

/** How much masks hurt the baseline on one set. */
export interface MaskPenalty {
  /** The verification set. */
  set: string;
  /** The baseline's UM-UM EER. */
  umUmEer: number;
  /** The baseline's M-UM EER. */
  mUmEer: number;
  /** The baseline's M-M EER. */
  mMEer: number;
  /** `mUmEer / umUmEer`. */
  ratio: number;
  /** Whether the ratio reaches {@linkcode MASK_PENALTY_THRESHOLD}. */
  clear: boolean;
}

/** One step against another on one set: EER differences per scenario (negative = better). */
export interface StepComparison {
  /** The verification set. */
  set: string;
  /** The step. */
  step: string;
  /** What it is compared with. */
  against: string;
  /** EER of the step minus EER of `against`, per scenario. */
  eerChange: Record<string, number>;
}

/** What the ablation shows, computed from a run. */
export interface AblationFindings {
  /** The baseline's mask penalty per set (empty without the baseline). */
  maskPenalty: MaskPenalty[];
  /** Each step against the one before it (and the masked steps against the baseline). */
  comparisons: StepComparison[];
}

/**
 * The comparisons the ablation is about.
 *
 * @example
 * ```ts
 * import { ablationFindings } from "./report.ts";
 * import type { AblationRun } from "./runner.ts";
 * declare const run: AblationRun;
 * const { maskPenalty } = ablationFindings(run.steps);
 * console.log(maskPenalty.every((p) => p.clear));
 * ```
 */
export function ablationFindings(steps: readonly AblationStepResult[]): AblationFindings {
  const byStep = new Map(steps.map((s) => [s.step as string, s]));
  const baseline = byStep.get("baseline");
  const maskPenalty: MaskPenalty[] = [];
  if (baseline) {
    for (const [set, evaluation] of Object.entries(baseline.evaluation)) {
      const eer = (scenario: string) => evaluation.scenarios[scenario]?.metrics.eer ?? NaN;
      const ratio = eer("M-UM") / eer("UM-UM");
      maskPenalty.push({
        set,
        umUmEer: eer("UM-UM"),
        mUmEer: eer("M-UM"),
        mMEer: eer("M-M"),
        ratio,
        clear: ratio >= MASK_PENALTY_THRESHOLD,
      });
    }
  }
  const pairs: [string, string][] = [
    ["masked", "baseline"],
    ["maskinv-lg", "masked"],
    ["maskinv-lg", "baseline"],
    ["maskinv-hg", "maskinv-lg"],
    ["maskinv-hg", "baseline"],
  ];
  const comparisons: StepComparison[] = [];
  for (const [step, against] of pairs) {
    const a = byStep.get(step), b = byStep.get(against);
    if (!a || !b) continue;
    for (const [set, evaluation] of Object.entries(a.evaluation)) {
      const other = b.evaluation[set];
      if (!other) continue;
      const eerChange: Record<string, number> = {};
      for (const scenario of Object.keys(evaluation.scenarios)) {
        const before = other.scenarios[scenario]?.metrics.eer;
        if (before !== undefined) eerChange[scenario] = evaluation.scenarios[scenario].metrics.eer - before;
      }
      comparisons.push({ set, step: a.label, against: b.label, eerChange });
    }
  }
  return { maskPenalty, comparisons };
}

function points(change: number): string {
  const value = (100 * change).toFixed(2);
  return change > 0 ? `+${value}` : value;
}

/**
 * The findings as Markdown bullet points.
 *
 * @example
 * ```ts
 * import { ablationFindingsMarkdown } from "./report.ts";
 * import type { AblationRun } from "./runner.ts";
 * declare const run: AblationRun;
 * console.log(ablationFindingsMarkdown(run.steps));
 * ```
 */
export function ablationFindingsMarkdown(steps: readonly AblationStepResult[]): string {
  const { maskPenalty, comparisons } = ablationFindings(steps);
  const lines: string[] = [];
  for (const p of maskPenalty) {
    lines.push(
      `- Masks hurt the baseline${maskPenalty.length > 1 ? ` on ${p.set}` : ""}: EER ${
        (100 * p.umUmEer).toFixed(2)
      }% ` +
        `UM-UM → ${(100 * p.mUmEer).toFixed(2)}% M-UM (${p.ratio.toFixed(2)}x; the check asks ≥ ` +
        `${MASK_PENALTY_THRESHOLD}x: ${p.clear ? "passed" : "FAILED"}) and ${
          (100 * p.mMEer).toFixed(2)
        }% M-M.`,
    );
  }
  for (const c of comparisons) {
    const changes = SCENARIO_NAMES.filter((s) => s in c.eerChange).map((s) =>
      `${s} ${points(c.eerChange[s])}`
    );
    lines.push(
      `- ${c.step} vs ${c.against}${
        comparisons.some((x) => x.set !== c.set) ? ` (${c.set})` : ""
      }: EER change ` +
        `in points ${changes.join(", ")}.`,
    );
  }
  return lines.join("\n") + (lines.length ? "\n" : "");
}

/**
 * Grouped bars of one metric: one group per step, one bar per scenario.
 *
 * @example
 * ```ts
 * import { ablationBarFigure } from "./report.ts";
 * import type { AblationRun } from "./runner.ts";
 * declare const run: AblationRun;
 * const figure = ablationBarFigure(run.steps, "eer");
 * ```
 */
export function ablationBarFigure(
  steps: readonly AblationStepResult[],
  metric: TableColumn = "eer",
  options: { title?: string; width?: number; height?: number } = {},
): PlotlyFigure {
  const names: Record<TableColumn, string> = {
    eer: "EER",
    fmr100: "FMR100",
    fmr1000: "FMR1000",
    gMean: "G-mean",
    iMean: "I-mean",
    fdr: "FDR",
    accuracy: "10-fold accuracy",
  };
  const lowerIsBetter = ["eer", "fmr100", "fmr1000", "iMean"].includes(metric);
  return groupedBarFigure(ablationRows(steps), {
    metric,
    title: options.title ??
      `${names[metric]} per ablation step and scenario (${lowerIsBetter ? "lower" : "higher"} is better)`,
    width: options.width ?? 760,
    height: options.height ?? 420,
  });
}

/**
 * DET curves of the steps in one scenario (one colour per step), or in every scenario.
 *
 * @example
 * ```ts
 * import { ablationDetFigure } from "./report.ts";
 * import type { AblationRun } from "./runner.ts";
 * declare const run: AblationRun;
 * const figure = ablationDetFigure(run.steps, { scenario: "M-M" });
 * ```
 */
export function ablationDetFigure(
  steps: readonly AblationStepResult[],
  options: {
    scenario?: string;
    set?: string;
    title?: string;
    maxPoints?: number;
    width?: number;
    height?: number;
  } = {},
): PlotlyFigure {
  const scenarios = options.scenario ? [options.scenario] : [...SCENARIO_NAMES];
  const series = steps.flatMap((step) => {
    const set = options.set ?? Object.keys(step.evaluation)[0];
    const evaluation = step.evaluation[set];
    if (!evaluation) return [];
    return scenarios.filter((s) => evaluation.scenarios[s]).map((scenario) => ({
      model: step.label,
      scenario: options.scenario ? undefined : scenario,
      scores: scenarioScores(evaluation.scenarios[scenario]),
    }));
  });
  const figure = detFigure(series, {
    title: options.title ?? (options.scenario ? `DET, ${options.scenario}` : "DET per step and scenario"),
    maxPoints: options.maxPoints ?? 400,
    minRate: 1e-3,
    width: options.width ?? 640,
    height: options.height ?? 480,
  });
  // Low FMR with low FNMR (bottom left) is where no curve of a model with a few percent EER goes.
  figure.layout.legend = {
    x: 0.02,
    xanchor: "left",
    y: 0.02,
    yanchor: "bottom",
    bgcolor: "rgba(255,255,255,0.85)",
  };
  return figure;
}

/**
 * Training loss against step for each step's run (total loss; the distillation term dashed where there is one).
 *
 * @example
 * ```ts
 * import { trainingLossFigure } from "./report.ts";
 * import type { AblationRun } from "./runner.ts";
 * declare const run: AblationRun;
 * const figure = trainingLossFigure(run.steps);
 * ```
 */
export function trainingLossFigure(
  steps: readonly AblationStepResult[],
  options: { title?: string; width?: number; height?: number } = {},
): PlotlyFigure {
  const data: PlotlyTrace[] = [];
  steps.forEach((step, k) => {
    const history = step.training.history;
    if (history.length === 0) return;
    const color = PALETTE[k % PALETTE.length];
    data.push({
      type: "scatter",
      mode: "lines",
      name: `${step.label}: loss`,
      x: history.map((e) => e.step),
      y: history.map((e) => e.loss),
      line: { color, width: 2 },
    });
    if (history.some((e) => e.distillation != null)) {
      data.push({
        type: "scatter",
        mode: "lines",
        name: `${step.label}: λ·KD term`,
        x: history.map((e) => e.step),
        y: history.map((e) => (e.distillation ?? 0) * step.definition.kdWeight),
        line: { color, width: 1.5, dash: "dash" },
      });
    }
  });
  return {
    data,
    layout: {
      title: { text: options.title ?? "Training loss (margin loss + λ · distillation)" },
      width: options.width ?? 760,
      height: options.height ?? 400,
      xaxis: { title: { text: "step" } },
      yaxis: { title: { text: "loss" }, rangemode: "tozero" },
      plot_bgcolor: "#ffffff",
      margin: { l: 60, r: 20, t: 50, b: 50 },
    },
  };
}

function duration(seconds: number): string {
  const s = Math.round(seconds);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
}

/**
 * The steps' training facts as a Markdown table.
 *
 * @example
 * ```ts
 * import { trainingTableMarkdown } from "./report.ts";
 * import type { AblationRun } from "./runner.ts";
 * declare const run: AblationRun;
 * console.log(trainingTableMarkdown(run.steps));
 * ```
 */
export function trainingTableMarkdown(steps: readonly AblationStepResult[]): string {
  const lines = [
    "| Step | Starts from | Teacher | p (mask) | λ | lr (batch 512) | Epochs | Steps | Training time | img/s | This call |",
    "| :--- | :--- | :--- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | :--- |",
  ];
  for (const s of steps) {
    const d = s.definition, t = s.training;
    lines.push(
      `| ${s.label} | ${d.initFrom ?? "random"} | ${
        d.teacher ?? "—"
      } | ${d.maskProbability} | ${d.kdWeight} | ` +
        `${d.learningRate} | ${d.epochs} | ${t.totalSteps} | ${
          t.status === "given" ? "—" : duration(t.seconds)
        } | ` +
        `${t.imagesPerSecond > 0 ? t.imagesPerSecond.toFixed(1) : "—"} | ${t.status} |`,
    );
  }
  return lines.join("\n") + "\n";
}

function reuseNote(run: AblationRun): string {
  const reused =
    run.steps.filter((s) => s.training.status === "reused" || s.training.status === "given").length;
  if (reused === 0) return " (training, evaluation and report)";
  return reused === run.steps.length
    ? " (every step reused from its finished run; training times below)"
    : ` (${reused} of ${run.steps.length} steps reused from their finished runs)`;
}

function describeData(run: AblationRun): string {
  const d = run.evaluation.data;
  const sets = run.sets.map((s) => `${s.name}: ${s.pairs} pairs of ${s.images} images`).join("; ");
  const masks = run.evaluation.masks.mode === "clean"
    ? "the project's own mask templates (clean mode)"
    : "the paper's released template (paper mode)";
  return d.kind === "synthetic"
    ? `${d.identities} held-out synthetic identities × ${d.imagesPerIdentity} photos (seed ${d.seed}, never ` +
      `seen in training); ${sets}; masks: ${masks}, no shift, seed ${run.evaluation.maskSeed}`
    : `${sets}; masks: ${masks}, no shift, seed ${run.evaluation.maskSeed}`;
}

/**
 * The report as Markdown: how it ran, the table, the findings and the training facts.
 *
 * @example
 * ```ts
 * import { ablationMarkdown } from "./report.ts";
 * import type { AblationRun } from "./runner.ts";
 * declare const run: AblationRun;
 * console.log(ablationMarkdown(run));
 * ```
 */
export function ablationMarkdown(run: AblationRun): string {
  return [
    `# MaskInv ablation — ${run.size} size, seed ${run.seed}`,
    "",
    `Engine: ${run.engine.name} (${run.engine.device}). Started ${run.started}; wall time ${
      duration(run.wallSeconds)
    }${reuseNote(run)}.`,
    "",
    `Evaluation: ${
      describeData(run)
    }. EER, FMR100 and FMR1000 in %, lower is better; G-mean / I-mean: mean ` +
    "genuine / impostor cosine similarity; FDR: Fisher discriminant ratio (higher separates better); Acc.: " +
    "LFW-protocol 10-fold accuracy on flip-summed embeddings.",
    "",
    ablationTableMarkdown(run.steps),
    "## Findings",
    "",
    ablationFindingsMarkdown(run.steps),
    "## Training",
    "",
    trainingTableMarkdown(run.steps),
    `Runs: \`${run.runsDir}/<step>\` (checkpoints, \`train_log.jsonl\`, \`config.json\`).`,
    "",
  ].join("\n");
}

/** A small Markdown-to-HTML for the report's own bullet lists and paragraphs (no user input). */
function markdownLines(text: string): string {
  const items = text.trim().split("\n").filter((l) => l.startsWith("- "));
  return `<ul>${
    items.map((l) => `<li>${escapeHtml(l.slice(2)).replace(/`([^`]+)`/g, "<code>$1</code>")}</li>`).join("")
  }</ul>`;
}

/**
 * The report as one self-contained HTML page (plotly inlined once; no network needed): the table in the
 * paper's layout, the findings, grouped bars of EER and FMR100, DET curves per scenario, the training loss.
 *
 * @example
 * ```ts
 * import { ablationHtml } from "./report.ts";
 * import type { AblationRun } from "./runner.ts";
 * declare const run: AblationRun;
 * const page = ablationHtml(run);
 * ```
 */
export function ablationHtml(run: AblationRun): string {
  const figures: PlotlyFigure[] = [
    ablationBarFigure(run.steps, "eer"),
    ablationBarFigure(run.steps, "fmr100"),
    ...SCENARIO_NAMES.map((scenario) => ablationDetFigure(run.steps, { scenario, width: 420, height: 400 })),
    trainingLossFigure(run.steps),
  ];
  const fragments = figures.map((figure, k) =>
    `<div class="figure">${figureHtmlFragment(figure, { inlinePlotly: k === 0 })}</div>`
  );
  const title = `MaskInv ablation — ${run.size} size, seed ${run.seed}`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(title)}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 24px; color: #222; }
table.maskinv-results { font-size: 13px; margin: 12px 0; }
table.maskinv-results td, table.maskinv-results th { padding: 3px 8px; }
.figures { display: flex; flex-wrap: wrap; gap: 8px; }
.figure { display: inline-block; }
code { background: #f3f3f3; padding: 0 3px; }
</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
<p>Engine: ${escapeHtml(`${run.engine.name} (${run.engine.device})`)}. Started ${escapeHtml(run.started)};
wall time ${escapeHtml(duration(run.wallSeconds) + reuseNote(run))}.</p>
<p>Evaluation: ${escapeHtml(describeData(run))}.</p>
${resultsTableHtml(ablationRows(run.steps), { caption: "EER, FMR100, FMR1000 and accuracy in %" })}
<h2>Findings</h2>
${markdownLines(ablationFindingsMarkdown(run.steps))}
<h2>Figures</h2>
<div class="figures">
${fragments.join("\n")}
</div>
<h2>Training</h2>
<pre>${escapeHtml(trainingTableMarkdown(run.steps))}</pre>
</body>
</html>
`;
}

/**
 * The JSON document of a run: the run itself plus the table rows and findings, with a format tag.
 *
 * @example
 * ```ts
 * import { ablationJson } from "./report.ts";
 * import type { AblationRun } from "./runner.ts";
 * declare const run: AblationRun;
 * console.log(JSON.parse(ablationJson(run)).format); // maskinv-ablation
 * ```
 */
export function ablationJson(run: AblationRun): string {
  const document = {
    format: ABLATION_REPORT_FORMAT,
    version: 1,
    ...run,
    table: ablationRows(run.steps),
    findings: ablationFindings(run.steps),
  };
  return `${JSON.stringify(document)}\n`;
}

/** Paths of the report files. */
export interface AblationReportFiles {
  /** `ablation.json`: everything, including every pair's score (for new plots). */
  json: string;
  /** `ablation.md`: the table, findings and training facts. */
  markdown: string;
  /** `ablation.html`: table and figures, self-contained. */
  html: string;
}

/**
 * Writes `ablation.json`, `ablation.md` and `ablation.html` into `out`, each atomically.
 *
 * @example
 * ```ts
 * import { writeAblationReport } from "./report.ts";
 * import type { AblationRun } from "./runner.ts";
 * declare const run: AblationRun;
 * const files = await writeAblationReport(run, "results");
 * console.log(files.html); // results/ablation.html
 * ```
 */
export async function writeAblationReport(run: AblationRun, out: string): Promise<AblationReportFiles> {
  const dir = out.replace(/\/+$/, "") || ".";
  await Deno.mkdir(dir, { recursive: true });
  const files = {
    json: `${dir}/ablation.json`,
    markdown: `${dir}/ablation.md`,
    html: `${dir}/ablation.html`,
  };
  await writeTextFileAtomic(files.json, ablationJson(run));
  await writeTextFileAtomic(files.markdown, ablationMarkdown(run));
  await writeTextFileAtomic(files.html, ablationHtml(run));
  return files;
}

/**
 * A step's recipe as a Markdown table: network, data, optimiser, schedule, masking and distillation — what a
 * notebook shows before training.
 *
 * @param definition The step (`ablationStep(step, size)`).
 * @param config The configuration trained with (default: the recipe's; pass the session's to show its seed).
 * @example
 * ```ts
 * import { ablationStep } from "./steps.ts";
 * import { stepRecipeMarkdown } from "./report.ts";
 * console.log(stepRecipeMarkdown(ablationStep("maskinv-lg", "default")));
 * ```
 */
export function stepRecipeMarkdown(definition: AblationStepDefinition, config?: TrainConfig): string {
  const c = config ?? definition.recipe.train;
  const r = definition.recipe;
  const data = r.data.kind === "synthetic"
    ? `${r.data.identities} synthetic identities × ${r.data.imagesPerIdentity} photos (seed ${r.data.seed}), ` +
      "112x112 ArcFace-aligned"
    : `RecordIO folder ${r.data.path ?? "(given with --data)"}`;
  const masks = r.masks == null
    ? "none (unmasked training)"
    : r.masks.mode === "clean"
    ? "the project's templates (surgical, KN95, N95, cloth), palette colours, random shift"
    : "the paper's released template (byte-exact compositing), random colour and shift";
  const effectiveLr = c.learningRate * c.batchSize / c.referenceBatch;
  const loss = c.loss;
  const rows: [string, string][] = [
    ["Step", `${definition.number} · ${definition.label} — ${definition.summary}`],
    ["Network", architectureName(c.architecture)],
    ["Loss", `${loss.name}: s = ${loss.scale}, margin ~ N(${loss.margin}, ${loss.std}) per sample`],
    ["Training data", data],
    ["Masks (training)", `${masks}; p = ${c.maskProbability}`],
    [
      "Distillation",
      c.kdWeight > 0
        ? `λ = ${c.kdWeight}, teacher: ${definition.teacher} (sees the unmasked copy)`
        : "none (λ = 0)",
    ],
    ["Starts from", definition.initFrom ?? "random initialisation"],
    [
      "Optimiser",
      `SGD, momentum ${c.momentum}, weight decay ${c.weightDecay}, gradient-norm clip ${c.clipNorm} (${c.clipScope})`,
    ],
    [
      "Schedule",
      `lr ${c.learningRate} at batch ${c.referenceBatch} → ${
        Number(effectiveLr.toPrecision(4))
      } at batch ${c.batchSize}; ` +
      (c.steps ? `${c.steps} steps` : `${c.epochs} epochs`) +
      (c.decayEpochs.length ? `, ×${c.decayFactor} at epochs ${c.decayEpochs.join(", ")}` : ", no decay"),
    ],
    ["Seed", String(c.seed)],
  ];
  return ["| | |", "| :--- | :--- |", ...rows.map(([k, v]) => `| ${k} | ${v} |`)].join("\n") + "\n";
}
