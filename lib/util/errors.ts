/**
 * The common base of every reader's "this file is bad" error, so that callers can tell a bad input file
 * (skip it, report it) from a bug or an environment failure (stop).
 *
 * Each reader throws its own subclass — `PickleError`, `RecordIOError`, `VerificationBinError`, `ZipError`,
 * `TorchCheckpointError`, `NpyError`, `CheckpointReadError`, `ImageDecodeError`, `PgmError`,
 * `MaskParamsError` — whose message starts with the file (or entry) and says what is wrong with it.
 *
 * @module
 */

/**
 * A file (or an entry inside one) that cannot be read as what it should be: missing, empty, truncated,
 * corrupt, hostile, or with values out of bounds. The message is `"<source>: <reason>"`.
 *
 * @example Skip bad files, let every other error through
 * ```ts
 * import { BadFileError } from "./errors.ts";
 * const bad: string[] = [];
 * for (const name of ["a.png", "b.png"]) {
 *   try {
 *     if (name === "b.png") throw new BadFileError(name, "truncated PNG");
 *   } catch (error) {
 *     if (!(error instanceof BadFileError)) throw error;
 *     bad.push(error.message);
 *   }
 * }
 * console.log(bad); // [ "b.png: truncated PNG" ]
 * ```
 */
export class BadFileError extends Error {
  /** The file path or entry (`"lfw.bin#17"`, `"model.pth:archive/data.pkl"`). */
  readonly source: string;
  /** What is wrong, without the source. */
  readonly reason: string;

  /**
   * Creates the error.
   *
   * @param source The file path or entry.
   * @param reason What is wrong with it.
   * @param options The underlying error, if any.
   */
  constructor(source: string, reason: string, options?: { cause?: unknown }) {
    super(`${source}: ${reason}`, options);
    this.name = "BadFileError";
    this.source = source;
    this.reason = reason;
  }
}
