/**
 * Where a computation spends its time, kernel by kernel.
 *
 * Every kernel registered for the active backend is wrapped with a timer while profiling is on, including
 * the kernels that maskinv's composed gradient kernels call internally. Times are wall-clock and exact for
 * synchronous backends (`wasm`, `cpu`); each kernel's own ("self") time excludes the kernels it called.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import process from "node:process";

/** Options of {@linkcode profileKernels}. */
export interface ProfileOptions {
  /** Backend whose kernels are timed (default: the active one). */
  backendName?: string;
  /**
   * Name kernels called by other kernels after their callers, e.g. `Conv2DBackpropFilter>Conv2D`, to see
   * where composed kernels spend their time (default false: kernels are tallied by their own name).
   */
  nested?: boolean;
  /**
   * `wall` (default): elapsed time. `cpu`: CPU time of the whole process (all its threads), which a loaded
   * machine distorts far less; with several threads it counts each thread's share.
   */
  clock?: "wall" | "cpu";
}

/** Time spent in one kernel. */
export interface KernelTime {
  /** Kernel name, e.g. `Conv2DBackpropFilter` (with its callers when profiling `nested`). */
  readonly kernel: string;
  /** Number of calls. */
  readonly calls: number;
  /** Milliseconds inside the kernel, kernels it called excluded. */
  readonly selfMs: number;
  /** Milliseconds inside the kernel, kernels it called included. */
  readonly totalMs: number;
}

/** A running profile; {@linkcode KernelProfiler.stop} restores the kernels. */
export interface KernelProfiler {
  /** Per-kernel times so far, largest self time first. */
  table(): KernelTime[];
  /** Forgets the times recorded so far (e.g. after a warm-up step). */
  reset(): void;
  /** Unwraps every kernel; the profile stays readable. */
  stop(): void;
}

interface Tally {
  calls: number;
  selfMs: number;
  totalMs: number;
}

/**
 * Starts timing every kernel of the active backend (or `options.backendName`).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { useBackend } from "./backend.ts";
 * import { formatKernelTimes, profileKernels } from "./profile.ts";
 * await useBackend("cpu");
 * const profiler = profileKernels();
 * tf.tidy(() => tf.matMul(tf.ones([64, 64]), tf.ones([64, 64])).dataSync());
 * profiler.stop();
 * console.log(formatKernelTimes(profiler.table(), 5));
 * ```
 */
export function profileKernels(options: ProfileOptions = {}): KernelProfiler {
  const backendName = options.backendName ?? tf.getBackend();
  const nested = options.nested ?? false;
  const now = options.clock === "cpu"
    ? () => {
      const usage = process.cpuUsage();
      return (usage.user + usage.system) / 1000;
    }
    : () => performance.now();
  const tallies = new Map<string, Tally>();
  const callers: string[] = [];
  const wrapped: { config: tf.KernelConfig; original: tf.KernelFunc }[] = [];
  // Time spent in callees of the innermost running kernel, per nesting level.
  const childMs: number[] = [];
  for (const config of tf.getKernelsForBackend(backendName)) {
    const original = config.kernelFunc;
    const kernelName = config.kernelName;
    const timed: tf.KernelFunc = (args) => {
      const name = nested && callers.length > 0 ? `${callers[callers.length - 1]}>${kernelName}` : kernelName;
      childMs.push(0);
      callers.push(name);
      const start = now();
      try {
        return original(args);
      } finally {
        const elapsed = now() - start;
        callers.pop();
        const inChildren = childMs.pop()!;
        if (childMs.length > 0) childMs[childMs.length - 1] += elapsed;
        const tally = tallies.get(name) ?? { calls: 0, selfMs: 0, totalMs: 0 };
        tally.calls++;
        tally.selfMs += elapsed - inChildren;
        tally.totalMs += elapsed;
        tallies.set(name, tally);
      }
    };
    // The registry hands out the registered config object itself; swapping its function in place keeps
    // every caller (the engine and composed kernels alike) on the timed version.
    (config as { kernelFunc: tf.KernelFunc }).kernelFunc = timed;
    wrapped.push({ config, original });
  }
  let stopped = false;
  return {
    table: () =>
      [...tallies.entries()]
        .map(([kernel, t]) => ({ kernel, ...t }))
        .sort((a, b) => b.selfMs - a.selfMs),
    reset: () => tallies.clear(),
    stop: () => {
      if (stopped) return;
      stopped = true;
      for (const { config, original } of wrapped) {
        (config as { kernelFunc: tf.KernelFunc }).kernelFunc = original;
      }
    },
  };
}

/**
 * A plain-text table of the `top` kernels by self time, with their share of the total.
 *
 * @example
 * ```ts
 * import { formatKernelTimes } from "./profile.ts";
 * console.log(formatKernelTimes([{ kernel: "Conv2D", calls: 3, selfMs: 30, totalMs: 30 }]));
 * ```
 */
export function formatKernelTimes(times: readonly KernelTime[], top = 15): string {
  const total = times.reduce((sum, t) => sum + t.selfMs, 0);
  const lines = [
    `${"kernel".padEnd(46)} ${"calls".padStart(6)} ${"self ms".padStart(10)} ${"share".padStart(6)}`,
  ];
  for (const t of times.slice(0, top)) {
    const share = total > 0 ? (100 * t.selfMs / total).toFixed(1) : "0.0";
    lines.push(
      `${t.kernel.padEnd(46)} ${String(t.calls).padStart(6)} ${t.selfMs.toFixed(1).padStart(10)} ${
        share.padStart(5)
      }%`,
    );
  }
  lines.push(`${"all kernels".padEnd(46)} ${"".padStart(6)} ${total.toFixed(1).padStart(10)}`);
  return lines.join("\n");
}
