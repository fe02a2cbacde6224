/**
 * Result tables in the layout of the MaskInv paper (Huber et al., FG 2021, Tables 1–4): one row per model or
 * training step, one column group per scenario (UM-UM, M-UM, M-M), and in each group EER, FMR100, FMR1000,
 * G-mean, I-mean, FDR and the LFW-protocol accuracy. Rendered as Markdown or HTML.
 *
 * @module
 */
import { escapeHtml } from "../util/html.ts";

/** The numbers of one scenario in one table row. */
export interface ScenarioSummary {
  /** Equal error rate, a fraction. */
  eer: number;
  /** Lowest FNMR at FMR ≤ 1%, a fraction. */
  fmr100: number;
  /** Lowest FNMR at FMR ≤ 0.1%, a fraction. */
  fmr1000: number;
  /** Mean genuine score. */
  gMean: number;
  /** Mean impostor score. */
  iMean: number;
  /** Fisher discriminant ratio. */
  fdr: number;
  /** 10-fold accuracy, a fraction (absent when not computed). */
  accuracy?: number;
}

/** One table row: a model or training step and its numbers per scenario. */
export interface TableRow {
  /** Row label, e.g. `"MaskInv-LG"`. */
  name: string;
  /** Numbers per scenario name; a missing scenario shows as empty cells. */
  scenarios: Record<string, ScenarioSummary | undefined>;
}

/** A column of the table. */
export type TableColumn = "eer" | "fmr100" | "fmr1000" | "gMean" | "iMean" | "fdr" | "accuracy";

/**
 * Every column in the paper's order.
 *
 * @example
 * ```ts
 * import { resultsTableMarkdown, TABLE_COLUMNS } from "./table.ts";
 * const errorRatesOnly = TABLE_COLUMNS.slice(0, 3);
 * console.log(resultsTableMarkdown([], { columns: errorRatesOnly, scenarios: ["M-M"] }));
 * ```
 */
export const TABLE_COLUMNS: readonly TableColumn[] = [
  "eer",
  "fmr100",
  "fmr1000",
  "gMean",
  "iMean",
  "fdr",
  "accuracy",
];

/**
 * The paper's scenario order.
 *
 * @example
 * ```ts
 * import { SCENARIO_NAMES } from "./table.ts";
 * console.log(SCENARIO_NAMES.join(", ")); // "UM-UM, M-UM, M-M"
 * ```
 */
export const SCENARIO_NAMES: readonly string[] = ["UM-UM", "M-UM", "M-M"];

const HEADERS: Record<TableColumn, string> = {
  eer: "EER (%)",
  fmr100: "FMR100 (%)",
  fmr1000: "FMR1000 (%)",
  gMean: "G-mean",
  iMean: "I-mean",
  fdr: "FDR",
  accuracy: "Acc. (%)",
};

/**
 * The columns that hold rates (EER, FMR100, FMR1000, accuracy): stored as fractions, shown in percent.
 *
 * @example
 * ```ts
 * import { PERCENT_COLUMNS } from "./table.ts";
 * console.log(PERCENT_COLUMNS.has("eer"), PERCENT_COLUMNS.has("fdr")); // true false
 * ```
 */
export const PERCENT_COLUMNS: ReadonlySet<TableColumn> = new Set(["eer", "fmr100", "fmr1000", "accuracy"]);

/** Layout options of the table renderers. */
export interface TableOptions {
  /** Scenario groups, in order (default: those present, in the order UM-UM, M-UM, M-M, then others). */
  scenarios?: readonly string[];
  /** Columns within each group (default: all, in the paper's order). */
  columns?: readonly TableColumn[];
  /** Decimals of percentages (default 2). */
  percentDigits?: number;
  /** Decimals of means and FDR (default 4). */
  valueDigits?: number;
  /** A caption above the table. */
  caption?: string;
}

/** Formats one cell; empty when the value is missing, `∞` / `—` for infinite / NaN values. */
function formatCell(
  column: TableColumn,
  summary: ScenarioSummary | undefined,
  options: TableOptions,
): string {
  const value = summary?.[column];
  if (value === undefined || value === null) return "";
  if (Number.isNaN(value)) return "—";
  if (!Number.isFinite(value)) return value > 0 ? "∞" : "−∞";
  return PERCENT_COLUMNS.has(column)
    ? (value * 100).toFixed(options.percentDigits ?? 2)
    : value.toFixed(options.valueDigits ?? 4);
}

function scenarioOrder(rows: readonly TableRow[], options: TableOptions): string[] {
  if (options.scenarios) return [...options.scenarios];
  const present = new Set(rows.flatMap((row) => Object.keys(row.scenarios)));
  const known = SCENARIO_NAMES.filter((name) => present.has(name));
  return [...known, ...[...present].filter((name) => !SCENARIO_NAMES.includes(name))];
}

/**
 * Renders the results as a Markdown table. Markdown has a single header row, so each header names its
 * group: `UM-UM EER (%)`.
 *
 * @example
 * ```ts
 * import { resultsTableMarkdown } from "./table.ts";
 * const summary = { eer: 0.0123, fmr100: 0.02, fmr1000: 0.05, gMean: 0.61, iMean: 0.01, fdr: 12.3 };
 * console.log(resultsTableMarkdown([{ name: "baseline", scenarios: { "UM-UM": summary } }]));
 * ```
 */
export function resultsTableMarkdown(rows: readonly TableRow[], options: TableOptions = {}): string {
  const scenarios = scenarioOrder(rows, options);
  const columns = options.columns ?? TABLE_COLUMNS;
  const escape = (text: string) => text.replaceAll("|", "\\|");
  const header = ["Model", ...scenarios.flatMap((s) => columns.map((c) => `${escape(s)} ${HEADERS[c]}`))];
  const align = [":---", ...header.slice(1).map(() => "---:")];
  const body = rows.map((row) => [
    escape(row.name),
    ...scenarios.flatMap((s) => columns.map((c) => formatCell(c, row.scenarios[s], options))),
  ]);
  const lines = [header, align, ...body].map((cells) => `| ${cells.join(" | ")} |`);
  return (options.caption ? `${options.caption}\n\n` : "") + lines.join("\n") + "\n";
}

/**
 * Renders the results as an HTML `<table>` with a two-level header (scenario groups over metric columns).
 *
 * @example
 * ```ts
 * import { resultsTableHtml } from "./table.ts";
 * const summary = { eer: 0.0123, fmr100: 0.02, fmr1000: 0.05, gMean: 0.61, iMean: 0.01, fdr: 12.3 };
 * const html = resultsTableHtml([{ name: "baseline", scenarios: { "M-M": summary } }], { caption: "MFR2" });
 * console.log(html.startsWith("<table")); // true
 * ```
 */
export function resultsTableHtml(rows: readonly TableRow[], options: TableOptions = {}): string {
  const scenarios = scenarioOrder(rows, options);
  const columns = options.columns ?? TABLE_COLUMNS;
  const groupStyle = 'style="text-align:center;border-left:1px solid #999"';
  const out: string[] = ['<table class="maskinv-results" style="border-collapse:collapse">'];
  if (options.caption) out.push(`<caption>${escapeHtml(options.caption)}</caption>`);
  out.push("<thead>");
  out.push(
    `<tr><th rowspan="2" style="text-align:left">Model</th>${
      scenarios.map((s) => `<th colspan="${columns.length}" ${groupStyle}>${escapeHtml(s)}</th>`).join("")
    }</tr>`,
  );
  out.push(
    `<tr>${
      scenarios.map(() =>
        columns.map((c, k) =>
          `<th style="text-align:right${k === 0 ? ";border-left:1px solid #999" : ""}">${
            escapeHtml(HEADERS[c])
          }</th>`
        ).join("")
      ).join("")
    }</tr>`,
  );
  out.push("</thead>", "<tbody>");
  for (const row of rows) {
    const cells = scenarios.flatMap((s) =>
      columns.map((c, k) =>
        `<td style="text-align:right${k === 0 ? ";border-left:1px solid #999" : ""}">${
          escapeHtml(formatCell(c, row.scenarios[s], options))
        }</td>`
      )
    );
    out.push(`<tr><th style="text-align:left">${escapeHtml(row.name)}</th>${cells.join("")}</tr>`);
  }
  out.push("</tbody>", "</table>");
  return out.join("\n") + "\n";
}
