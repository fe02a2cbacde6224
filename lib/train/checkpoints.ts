/**
 * A folder of numbered training checkpoints (`step-00000120/`, …), each a complete maskinv checkpoint
 * (`lib/models`' format: network, head, optimiser buffers and the training state as metadata).
 *
 * Each checkpoint is written into a hidden temporary folder and renamed into place in one step, so a crash
 * (even SIGKILL) at any moment leaves either the previous set of checkpoints or the new one, never a torn
 * checkpoint; only then are checkpoints beyond the newest `keep` removed. A failed write (disk full,
 * permissions) removes its temporary folder, leaves every earlier checkpoint untouched and says so.
 *
 * @module
 */
import {
  type CheckpointContents,
  isCheckpoint,
  loadCheckpoint,
  type LoadedCheckpoint,
  saveCheckpoint,
} from "../models/checkpoint.ts";

/** Writes one checkpoint into a (new, empty) folder; {@linkcode saveCheckpoint} unless replaced. */
export type CheckpointWriter = (directory: string, contents: CheckpointContents) => Promise<void>;

/** Options of {@linkcode CheckpointStore}. */
export interface CheckpointStoreOptions {
  /** How many of the newest checkpoints to keep (default 2; at least 1). */
  keep?: number;
  /** Replaces the writer, e.g. to simulate a failing disk or to write elsewhere. */
  writer?: CheckpointWriter;
}

/** A checkpoint in a {@linkcode CheckpointStore}. */
export interface CheckpointEntry {
  /** The training step it holds (steps completed). */
  readonly step: number;
  /** Its folder. */
  readonly directory: string;
}

/**
 * Saving a checkpoint failed; earlier checkpoints are untouched.
 *
 * @example
 * ```ts
 * import { CheckpointWriteError } from "./checkpoints.ts";
 * const previous = { step: 100, directory: "runs/baseline/step-00000100" };
 * const error = new CheckpointWriteError(200, previous, "cannot save step 200: disk full");
 * console.log(error.step, error.previous?.directory); // 200 runs/baseline/step-00000100
 * ```
 */
export class CheckpointWriteError extends Error {
  /** The step that could not be saved. */
  readonly step: number;
  /** The newest checkpoint still on disk, if any. */
  readonly previous: CheckpointEntry | null;

  /**
   * Creates the error.
   *
   * @param step The step that could not be saved.
   * @param previous The newest intact checkpoint.
   * @param message What happened.
   * @param cause The underlying error.
   */
  constructor(step: number, previous: CheckpointEntry | null, message: string, cause?: unknown) {
    super(message, { cause });
    this.name = "CheckpointWriteError";
    this.step = step;
    this.previous = previous;
  }
}

const ENTRY = /^step-(\d+)$/;
const TEMPORARY = /^(\.step-\d+\..*|step-\d+\.old-.*)\.tmp$/;

/** Folder name of the checkpoint of `step`: `step-00000120`. */
function entryName(step: number): string {
  return `step-${String(step).padStart(8, "0")}`;
}

/**
 * Numbered checkpoints in one folder, newest last.
 *
 * @example
 * ```ts
 * import { CheckpointStore } from "./checkpoints.ts";
 * import { createNetwork, networkState } from "../models/mod.ts";
 * const net = createNetwork({ kind: "iresnet", layers: [1, 1, 1, 1], widths: [4, 4, 4, 4], embeddingSize: 8,
 *   inputSize: [32, 32], dropout: 0 });
 * const store = new CheckpointStore(await Deno.makeTempDir(), { keep: 2 });
 * for (const step of [10, 20, 30]) {
 *   await store.save(step, { architecture: net.config, groups: { model: networkState(net) }, metadata: { step } });
 * }
 * console.log((await store.list()).map((e) => e.step)); // [20, 30]
 * net.dispose();
 * ```
 */
export class CheckpointStore {
  /** The folder. */
  readonly directory: string;
  /** Checkpoints kept. */
  readonly keep: number;
  readonly #writer: CheckpointWriter;

  /**
   * Creates a `CheckpointStore`.
   *
   * @param directory Folder of the checkpoints (created on the first save).
   * @param options How many to keep; an optional writer.
   */
  constructor(directory: string, options: CheckpointStoreOptions = {}) {
    const keep = options.keep ?? 2;
    if (!Number.isInteger(keep) || keep < 1) {
      throw new RangeError(`CheckpointStore: keep must be a positive integer, got ${keep}`);
    }
    this.directory = directory.replace(/\/+$/, "") || "/";
    this.keep = keep;
    this.#writer = options.writer ?? saveCheckpoint;
  }

  /** Every complete checkpoint, oldest first (folders without a manifest are ignored). */
  async list(): Promise<CheckpointEntry[]> {
    const entries: CheckpointEntry[] = [];
    try {
      for await (const item of Deno.readDir(this.directory)) {
        const match = ENTRY.exec(item.name);
        if (!item.isDirectory || match == null) continue;
        const directory = `${this.directory}/${item.name}`;
        if (await isCheckpoint(directory)) entries.push({ step: Number(match[1]), directory });
      }
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return [];
      throw new Error(`${this.directory}: cannot list checkpoints (${error})`, { cause: error });
    }
    return entries.sort((a, b) => a.step - b.step);
  }

  /** The newest complete checkpoint, or `null`. */
  async latest(): Promise<CheckpointEntry | null> {
    return (await this.list()).at(-1) ?? null;
  }

  /**
   * Loads the newest checkpoint that reads back intact; a corrupt newer one is reported through `onSkip` and
   * the next older one is tried.
   *
   * @returns The checkpoint and its entry, or `null` when none is readable.
   */
  async loadLatest(
    onSkip?: (entry: CheckpointEntry, error: Error) => void,
  ): Promise<{ entry: CheckpointEntry; checkpoint: LoadedCheckpoint } | null> {
    const entries = await this.list();
    for (let i = entries.length - 1; i >= 0; i--) {
      try {
        return { entry: entries[i], checkpoint: await loadCheckpoint(entries[i].directory) };
      } catch (error) {
        onSkip?.(entries[i], error instanceof Error ? error : new Error(String(error)));
      }
    }
    return null;
  }

  /**
   * Saves the checkpoint of `step` atomically, then removes all but the newest `keep`.
   *
   * @returns The new entry.
   * @throws {CheckpointWriteError} When the write fails; earlier checkpoints are untouched.
   */
  async save(step: number, contents: CheckpointContents): Promise<CheckpointEntry> {
    if (!Number.isInteger(step) || step < 0) throw new RangeError(`CheckpointStore: bad step ${step}`);
    const name = entryName(step);
    const target = `${this.directory}/${name}`;
    const temporary = `${this.directory}/.${name}.${crypto.randomUUID().slice(0, 8)}.tmp`;
    try {
      await Deno.mkdir(this.directory, { recursive: true });
      await this.#writer(temporary, contents);
      if (!(await isCheckpoint(temporary))) throw new Error("the writer produced no manifest");
      await replaceDirectory(temporary, target);
    } catch (error) {
      await Deno.remove(temporary, { recursive: true }).catch(() => {});
      const previous = await this.latest().catch(() => null);
      const reason = error instanceof Error ? error.message : String(error);
      const kept = previous
        ? `the previous checkpoint (step ${previous.step}, ${previous.directory}) is intact`
        : "no earlier checkpoint exists";
      throw new CheckpointWriteError(
        step,
        previous,
        `could not save the checkpoint of step ${step} to ${target}: ${reason}; ${kept}`,
        error,
      );
    }
    await this.prune();
    return { step, directory: target };
  }

  /** Removes all but the newest `keep` checkpoints, and temporary folders left by interrupted saves. */
  async prune(): Promise<void> {
    const entries = await this.list();
    for (const entry of entries.slice(0, Math.max(0, entries.length - this.keep))) {
      // Renamed out of the listing first, so that a crash mid-removal never leaves a half-deleted checkpoint
      // that still looks complete; the leftover temporary folder is removed by a later prune.
      const aside = `${entry.directory}.old-${crypto.randomUUID().slice(0, 8)}.tmp`;
      try {
        await Deno.rename(entry.directory, aside);
      } catch {
        continue;
      }
      await Deno.remove(aside, { recursive: true }).catch(() => {});
    }
    try {
      for await (const item of Deno.readDir(this.directory)) {
        // A temporary folder may belong to a save in progress elsewhere: only remove those older than a minute.
        if (!TEMPORARY.test(item.name)) continue;
        const path = `${this.directory}/${item.name}`;
        const info = await Deno.stat(path).catch(() => null);
        const age = info?.mtime ? Date.now() - info.mtime.getTime() : Infinity;
        if (age > 60_000) await Deno.remove(path, { recursive: true }).catch(() => {});
      }
    } catch {
      // Nothing to clean.
    }
  }
}

/** Renames `source` onto `target`; an existing `target` is moved aside first and removed after. */
async function replaceDirectory(source: string, target: string): Promise<void> {
  let aside: string | null = null;
  try {
    await Deno.stat(target);
    aside = `${target}.old-${crypto.randomUUID().slice(0, 8)}.tmp`;
    await Deno.rename(target, aside);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  await Deno.rename(source, target);
  if (aside != null) await Deno.remove(aside, { recursive: true }).catch(() => {});
}
