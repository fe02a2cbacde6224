/**
 * What every command-line entry point needs: its arguments as `deno task` hands them over, and a Ctrl-C that
 * asks a long run to stop cleanly.
 *
 * @module
 */

/**
 * The arguments without the `--` that `deno task name -- args` passes through, so both `deno task name args`
 * and `deno task name -- args` work — also for tasks whose command already carries arguments of its own
 * (`deno task eval:mfr2 -- --mfr2 dir` runs `cli/eval.ts --task mfr2 -- --mfr2 dir`). Only the first `--` is
 * the task's separator; none of maskinv's commands take one of their own.
 *
 * @example
 * ```ts
 * import { taskArgs } from "./common.ts";
 * console.log(taskArgs(["--", "--quick"]), taskArgs(["--quick"])); // [ "--quick" ] [ "--quick" ]
 * console.log(taskArgs(["--task", "mfr2", "--", "--mfr2", "dir"])); // [ "--task", "mfr2", "--mfr2", "dir" ]
 * ```
 */
export function taskArgs(args: readonly string[] = Deno.args): string[] {
  const separator = args.indexOf("--");
  return separator < 0 ? [...args] : [...args.slice(0, separator), ...args.slice(separator + 1)];
}

/** A signal the first Ctrl-C aborts; {@linkcode InterruptSignal.dispose} stops listening. */
export interface InterruptSignal {
  /** Aborted by the first SIGINT. */
  readonly signal: AbortSignal;
  /** Removes the SIGINT listener (call it in `finally`). */
  dispose(): void;
}

/**
 * Turns the first Ctrl-C into an abort of the returned signal, printing `message` to stderr; the listener then
 * removes itself, so a second Ctrl-C quits at once.
 *
 * @example
 * ```ts
 * import { abortOnInterrupt } from "./common.ts";
 * const interrupt = abortOnInterrupt("interrupted: finishing the current step");
 * try {
 *   console.log(interrupt.signal.aborted); // false
 * } finally {
 *   interrupt.dispose();
 * }
 * ```
 */
export function abortOnInterrupt(message: string): InterruptSignal {
  const controller = new AbortController();
  const onInterrupt = () => {
    console.error(`\n${message}`);
    controller.abort();
    Deno.removeSignalListener("SIGINT", onInterrupt);
  };
  Deno.addSignalListener("SIGINT", onInterrupt);
  return {
    signal: controller.signal,
    dispose: () => {
      if (!controller.signal.aborted) Deno.removeSignalListener("SIGINT", onInterrupt);
    },
  };
}
