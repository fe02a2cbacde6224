/**
 * Progress reporting for long work: a one-line bar with rate and ETA on a terminal, a single live-updating
 * line in a Jupyter notebook (Deno kernel), and sparse plain lines in logs (CI) — chosen automatically.
 *
 * @module
 */
import { escapeHtml } from "./html.ts";

/** Where progress goes: picked automatically, or forced. */
export type ProgressOutput = "auto" | "terminal" | "notebook" | "log" | "none";

/** Settings of a {@linkcode Progress}. */
export interface ProgressOptions {
  /** Units of work in total (images, steps, batches). */
  total: number;
  /** What is being done, e.g. `"train baseline"`. */
  label?: string;
  /** Name of one unit, e.g. `"img"`, used in the rate. */
  unit?: string;
  /** Output channel; `auto` detects a notebook, a terminal or a log. */
  output?: ProgressOutput;
  /** Minimum milliseconds between two redraws (default 200; 10 000 for `log`). */
  intervalMs?: number;
}

/** Extra values shown after the bar, e.g. `{ loss: 1.23, lr: 0.1 }`. */
export type ProgressFields = Record<string, string | number>;

/**
 * Whether this code runs inside a Deno Jupyter kernel.
 *
 * @example
 * ```ts
 * import { inNotebook } from "./progress.ts";
 * console.log(inNotebook()); // false (true in a `deno jupyter` notebook)
 * ```
 */
export function inNotebook(): boolean {
  // Outside `deno jupyter`, merely reading `Deno.jupyter` throws.
  try {
    return typeof Deno.jupyter.broadcast === "function";
  } catch {
    return false;
  }
}

/**
 * A progress bar with rate and ETA.
 *
 * @example
 * ```ts
 * import { Progress } from "./progress.ts";
 * const bar = new Progress({ total: 3, label: "demo", unit: "img", output: "none" });
 * for (let i = 0; i < 3; i++) bar.tick(1, { loss: 0.5 });
 * bar.finish();
 * console.log(bar.done); // 3
 * ```
 */
export class Progress {
  /** Units completed so far. */
  done = 0;
  readonly #total: number;
  readonly #label: string;
  readonly #unit: string;
  readonly #output: Exclude<ProgressOutput, "auto">;
  readonly #interval: number;
  readonly #start = performance.now();
  readonly #displayId = `maskinv-progress-${crypto.randomUUID()}`;
  #lastDraw = -Infinity;
  #shownInNotebook = false;
  #lastLogged = "";
  #fields: ProgressFields = {};

  /**
   * Creates a `Progress`.
   *
   * @param options See {@linkcode ProgressOptions}.
   */
  constructor(options: ProgressOptions) {
    this.#total = Math.max(0, options.total);
    this.#label = options.label ?? "";
    this.#unit = options.unit ?? "it";
    const wanted = options.output ?? "auto";
    this.#output = wanted !== "auto"
      ? wanted
      : inNotebook()
      ? "notebook"
      : Deno.stderr.isTerminal()
      ? "terminal"
      : "log";
    this.#interval = options.intervalMs ?? (this.#output === "log" ? 10_000 : 200);
  }

  /** Seconds since the bar was created. */
  get elapsedSeconds(): number {
    return (performance.now() - this.#start) / 1000;
  }

  /** Adds `amount` completed units and updates the shown fields. */
  tick(amount = 1, fields?: ProgressFields): void {
    this.update(this.done + amount, fields);
  }

  /** Sets the completed count to `done` and updates the shown fields. */
  update(done: number, fields?: ProgressFields): void {
    this.done = done;
    if (fields) this.#fields = { ...this.#fields, ...fields };
    const now = performance.now();
    if (now - this.#lastDraw >= this.#interval || done >= this.#total) {
      this.#lastDraw = now;
      this.#draw(false);
    }
  }

  /** Draws the final state and ends the line. */
  finish(fields?: ProgressFields): void {
    if (fields) this.#fields = { ...this.#fields, ...fields };
    this.#draw(true);
  }

  /** The current line of text, e.g. `train 40/100 [####------] 40% 12.0 img/s ETA 5s loss=1.2`. */
  line(width = 24): string {
    const fraction = this.#total > 0 ? Math.min(1, this.done / this.#total) : 1;
    const filled = Math.round(fraction * width);
    const bar = "#".repeat(filled) + "-".repeat(width - filled);
    const elapsed = this.elapsedSeconds;
    const rate = elapsed > 0 ? this.done / elapsed : 0;
    const remaining = rate > 0 ? (this.#total - this.done) / rate : NaN;
    const fields = Object.entries(this.#fields)
      .map(([k, v]) => `${k}=${typeof v === "number" ? formatNumber(v) : v}`)
      .join(" ");
    const parts = [
      this.#label,
      `${this.done}/${this.#total}`,
      `[${bar}]`,
      `${Math.floor(fraction * 100)}%`,
      `${formatNumber(rate)} ${this.#unit}/s`,
      this.done >= this.#total ? `in ${formatDuration(elapsed)}` : `ETA ${formatDuration(remaining)}`,
      fields,
    ];
    return parts.filter((p) => p !== "").join(" ");
  }

  #draw(final: boolean): void {
    switch (this.#output) {
      case "none":
        return;
      case "terminal": {
        const text = this.line();
        const columns = consoleColumns();
        const clipped = text.length > columns - 1 ? text.slice(0, columns - 1) : text;
        Deno.stderr.writeSync(new TextEncoder().encode(`\r\x1b[2K${clipped}${final ? "\n" : ""}`));
        return;
      }
      case "log": {
        // A bar that reached its total has already printed that state; finish() must not repeat it.
        const state = `${this.done}|${JSON.stringify(this.#fields)}`;
        if (final && this.#lastLogged === state) return;
        this.#lastLogged = state;
        Deno.stderr.writeSync(new TextEncoder().encode(`${this.line()}\n`));
        return;
      }
      case "notebook":
        this.#drawNotebook();
        return;
    }
  }

  #drawNotebook(): void {
    const text = this.line(30);
    const fraction = this.#total > 0 ? Math.min(1, this.done / this.#total) : 1;
    const html = `<div style="font-family:monospace"><progress value="${fraction}" max="1" ` +
      `style="width:240px;vertical-align:middle"></progress> ${escapeHtml(text)}</div>`;
    const content = {
      data: { "text/plain": text, "text/html": html },
      metadata: {},
      transient: { display_id: this.#displayId },
    };
    const type = this.#shownInNotebook ? "update_display_data" : "display_data";
    this.#shownInNotebook = true;
    // Typed as a promise, but some Deno versions return nothing: never let a display message fail the work.
    Promise.resolve(Deno.jupyter.broadcast(type, content)).catch(() => {});
  }
}

function consoleColumns(): number {
  try {
    return Deno.consoleSize().columns;
  } catch {
    return 120;
  }
}

/**
 * Formats a number compactly for progress lines: 3 significant digits, no exponent below 1e6.
 *
 * @example
 * ```ts
 * import { formatNumber } from "./progress.ts";
 * console.log(formatNumber(1234.5), formatNumber(0.012345), formatNumber(2.5e7)); // 1235 0.012 2.50e+7
 * ```
 */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  if (abs >= 1e6 || (abs > 0 && abs < 1e-3)) return value.toExponential(2);
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  return value.toFixed(abs >= 1 ? 2 : 3);
}

/**
 * Formats seconds as `45s`, `3m05s` or `2h03m`; `?` when unknown.
 *
 * @example
 * ```ts
 * import { formatDuration } from "./progress.ts";
 * console.log(formatDuration(45), formatDuration(185), formatDuration(7380), formatDuration(NaN)); // 45s 3m05s 2h03m ?
 * ```
 */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}
