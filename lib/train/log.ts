/**
 * The training log: one JSON object per line (metrics every N steps, validations, events), appended as the run
 * goes, readable while it runs and trimmed back to the checkpoint's step when a run resumes.
 *
 * @module
 */
import { writeTextFileAtomic } from "../util/atomic.ts";

/** Averages over the steps since the previous metrics line. */
export interface MetricsLogEntry {
  /** Entry type. */
  readonly kind: "metrics";
  /** Steps completed. */
  readonly step: number;
  /** 0-based epoch of the last step. */
  readonly epoch: number;
  /** Mean total loss over the window. */
  readonly loss: number;
  /** Mean margin (classification) loss over the window. */
  readonly classification: number;
  /** Mean distillation loss (before λ) over the window; `null` without distillation. */
  readonly distillation: number | null;
  /** Learning rate of the last step. */
  readonly learningRate: number;
  /** Mean global gradient norm before clipping (of the clipped scope) over the window. */
  readonly gradNorm: number;
  /** Training throughput over the window (data, forward, backward and update). */
  readonly imagesPerSecond: number;
  /** Seconds since this process started (or resumed) the run. */
  readonly elapsedSeconds: number;
}

/** A periodic verification result. */
export interface ValidationLogEntry {
  /** Entry type. */
  readonly kind: "validation";
  /** Steps completed. */
  readonly step: number;
  /** 0-based epoch of the last step. */
  readonly epoch: number;
  /** What the validation callback returned, e.g. `{ eer: 0.08, accuracy: 0.91 }`. */
  readonly metrics: Readonly<Record<string, number>>;
  /** Seconds the validation took. */
  readonly seconds: number;
}

/** Start, resume, checkpoint, stop and failure events. */
export interface EventLogEntry {
  /** Entry type. */
  readonly kind: "event";
  /** Steps completed when it happened. */
  readonly step: number;
  /** What happened. */
  readonly event:
    | "start"
    | "resume"
    | "checkpoint"
    | "finished"
    | "aborted"
    | "diverged"
    | "checkpoint-failed";
  /** Human-readable details. */
  readonly message: string;
  /** Wall-clock time (ISO 8601). */
  readonly time: string;
}

/** One line of the training log. */
export type TrainLogEntry = MetricsLogEntry | ValidationLogEntry | EventLogEntry;

/**
 * A JSON-lines training log.
 *
 * @example
 * ```ts
 * import { TrainLog } from "./log.ts";
 * const log = new TrainLog(`${await Deno.makeTempDir()}/train_log.jsonl`);
 * await log.append({ kind: "event", step: 0, event: "start", message: "demo", time: new Date().toISOString() });
 * console.log((await log.read()).length); // 1
 * ```
 */
export class TrainLog {
  /** The file. */
  readonly path: string;

  /**
   * Creates a `TrainLog`.
   *
   * @param path The `.jsonl` file (created on the first append).
   */
  constructor(path: string) {
    this.path = path;
  }

  /** Appends one entry as a line. */
  async append(entry: TrainLogEntry): Promise<void> {
    await Deno.writeTextFile(this.path, `${JSON.stringify(entry)}\n`, { append: true, create: true });
  }

  /**
   * Every entry, in order; a last line cut short by a crash is skipped.
   *
   * @throws {Error} Naming the file and line when an earlier line is not JSON.
   */
  async read(): Promise<TrainLogEntry[]> {
    let text: string;
    try {
      text = await Deno.readTextFile(this.path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return [];
      throw new Error(`${this.path}: cannot read the training log (${error})`, { cause: error });
    }
    const lines = text.split("\n");
    const entries: TrainLogEntry[] = [];
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i].trim();
      if (line === "") continue;
      try {
        entries.push(JSON.parse(line) as TrainLogEntry);
      } catch (error) {
        const last = lines.slice(i + 1).every((rest) => rest.trim() === "");
        if (last) break; // torn by a crash mid-append
        throw new Error(`${this.path}: line ${i + 1} is not JSON (${error})`, { cause: error });
      }
    }
    return entries;
  }

  /** Keeps only the entries up to `step` (rewritten atomically), e.g. when resuming from that step's checkpoint. */
  async truncateAfter(step: number): Promise<void> {
    const kept = (await this.read()).filter((entry) => entry.step <= step);
    await writeTextFileAtomic(this.path, kept.map((entry) => `${JSON.stringify(entry)}\n`).join(""));
  }

  /** Empties the log. */
  async clear(): Promise<void> {
    await writeTextFileAtomic(this.path, "");
  }
}
