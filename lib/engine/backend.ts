/**
 * Choosing the TensorFlow.js engine maskinv computes on.
 *
 * Engines, fastest first: `tensorflow` (libtensorflow through `@tensorflow/tfjs-node-gpu` or
 * `@tensorflow/tfjs-node`, used only when already installed), `webgpu` (Deno's native WebGPU; taken by `auto`
 * only on a real adapter, never on a software fallback such as llvmpipe), `wasm` (XNNPACK; the default CPU
 * engine, with the gradient kernels it lacks registered by maskinv) and `cpu` (plain JavaScript, last resort).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
// tfjs-core's npm bundles register no gradients; the union package registers all of them (and the
// chained tensor methods) in the shared global registry.
import "@tensorflow/tfjs";
import { registerWasmTrainingKernels, wasmTrainingKernelNames } from "./kernels/mod.ts";
import {
  installThreadGate,
  instantiateThreadedWasm,
  MAX_WASM_THREADS,
  releaseWasmWorkers,
  type WasmModule,
} from "./wasm_threads.ts";
import { installLeanGradients } from "./gradients.ts";

// Same gradients, a fraction of the peak memory: every engine of maskinv trains through it
// (`MASKINV_LEAN_GRADIENTS=0` keeps TensorFlow.js's own back-propagation, e.g. to compare).
installLeanGradients(envFlag("MASKINV_LEAN_GRADIENTS") !== "0");

/** An environment variable, or undefined where it is unset or may not be read. */
function envFlag(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

/** Engines maskinv can run on; `auto` picks the fastest available one. */
export type BackendPreference = "auto" | "tensorflow" | "webgpu" | "wasm" | "cpu";

/**
 * Every accepted value of {@linkcode BackendPreference}.
 *
 * @example
 * ```ts
 * import { BACKEND_PREFERENCES } from "./backend.ts";
 * console.log(BACKEND_PREFERENCES.join(", ")); // auto, tensorflow, webgpu, wasm, cpu
 * const requested: string = "wasm";
 * console.log((BACKEND_PREFERENCES as readonly string[]).includes(requested)); // true
 * ```
 */
export const BACKEND_PREFERENCES: readonly BackendPreference[] = [
  "auto",
  "tensorflow",
  "webgpu",
  "wasm",
  "cpu",
];

/** What the active engine is and can do. */
export interface BackendInfo {
  /** The TensorFlow.js backend name: `tensorflow`, `webgpu`, `wasm` or `cpu`. */
  readonly name: string;
  /** A human description of the device (GPU adapter, CPU and SIMD/threads). */
  readonly device: string;
  /** Threads the engine computes with. */
  readonly threads: number;
  /** Whether every kernel a CNN training step needs exists on this engine. */
  readonly canTrain: boolean;
  /** Kernels maskinv registered on this engine to make training possible or fast. */
  readonly standInKernels: readonly string[];
}

/** Options of {@linkcode useBackend}. */
export interface UseBackendOptions {
  /**
   * Threads of the `wasm` engine (XNNPACK's thread pool), 1 … 8. Default: the `MASKINV_THREADS` environment
   * variable, else every logical core (at most 8). Fixed by the first activation of `wasm` in a process;
   * later calls report the count in use.
   */
  threads?: number;
}

/**
 * A requested engine cannot be used here; the message names what to install or change.
 *
 * @example
 * ```ts
 * import { BackendUnavailableError } from "./backend.ts";
 * try {
 *   throw new BackendUnavailableError("TensorFlow.js could not initialise the webgpu backend");
 * } catch (error) {
 *   if (!(error instanceof BackendUnavailableError)) throw error;
 *   console.log(error.name); // BackendUnavailableError
 *   console.log(error.message); // TensorFlow.js could not initialise the webgpu backend
 * }
 * ```
 */
export class BackendUnavailableError extends Error {
  /**
   * Creates the error.
   *
   * @param message What is missing and how to get it.
   */
  constructor(message: string) {
    super(message);
    this.name = "BackendUnavailableError";
  }
}

let active: BackendInfo | undefined;

/**
 * Makes `preference` the active TensorFlow.js engine and returns what it is.
 *
 * `auto` honours the `MASKINV_BACKEND` environment variable when it is set, otherwise takes the first of
 * `tensorflow`, `webgpu` (real adapters only), `wasm`, `cpu` that works. An explicit engine that cannot
 * be used throws {@linkcode BackendUnavailableError}; there is never a silent fallback.
 *
 * The `wasm` engine computes on several threads (tfjs-backend-wasm's threaded SIMD build, started with
 * workers Deno can run); where that is impossible (no shared memory, no file access) it runs on one thread
 * and {@linkcode BackendInfo.device} says why.
 *
 * @param preference The engine to use, or `auto`.
 * @param options Engine settings, e.g. the number of wasm threads.
 * @returns The active engine's description, as {@linkcode backendInfo} will return it.
 * @throws {BackendUnavailableError} When the requested engine is unknown or unavailable.
 * @example
 * ```ts
 * import { useBackend } from "./backend.ts";
 * const info = await useBackend("wasm");
 * console.log(info.name, info.canTrain); // wasm true
 * ```
 */
export async function useBackend(
  preference: BackendPreference | string = "auto",
  options: UseBackendOptions = {},
): Promise<BackendInfo> {
  let wanted = preference;
  if (wanted === "auto") {
    const fromEnv = Deno.env.get("MASKINV_BACKEND");
    if (fromEnv != null && fromEnv !== "") wanted = fromEnv;
  }
  if (!(BACKEND_PREFERENCES as readonly string[]).includes(wanted)) {
    const source = wanted === preference ? "requested engine" : "MASKINV_BACKEND";
    throw new BackendUnavailableError(
      `unknown ${source} "${wanted}": choose one of ${BACKEND_PREFERENCES.join(", ")}`,
    );
  }
  if (wanted !== "auto") {
    active = await activate(wanted as Exclude<BackendPreference, "auto">, false, options);
    return active;
  }
  for (const candidate of ["tensorflow", "webgpu", "wasm", "cpu"] as const) {
    try {
      active = await activate(candidate, true, options);
      return active;
    } catch (error) {
      if (!(error instanceof BackendUnavailableError)) throw error;
    }
  }
  throw new BackendUnavailableError("no TensorFlow.js engine could be initialised");
}

/**
 * Describes the active engine. Call {@linkcode useBackend} first; before that it describes whatever
 * TensorFlow.js chose by itself.
 *
 * @example
 * ```ts
 * import { backendInfo, useBackend } from "./backend.ts";
 * await useBackend("cpu");
 * console.log(backendInfo().threads); // 1
 * ```
 */
export function backendInfo(): BackendInfo {
  if (active != null && active.name === tf.getBackend()) return active;
  const name = tf.getBackend();
  return { name, device: name, threads: 1, canTrain: name !== "wasm", standInKernels: [] };
}

async function activate(
  name: Exclude<BackendPreference, "auto">,
  quiet: boolean,
  options: UseBackendOptions,
): Promise<BackendInfo> {
  switch (name) {
    case "tensorflow":
      return await activateTensorflow();
    case "webgpu":
      return await activateWebgpu(quiet);
    case "wasm":
      return await activateWasm(wantedThreads(options));
    case "cpu":
      await setBackend("cpu");
      // The cpu backend's first write advertises tfjs-node, which does not apply to Deno; maskinv's own
      // engine choice already names the faster options.
      (tf.backend() as unknown as { firstUse: boolean }).firstUse = false;
      return {
        name: "cpu",
        device: cpuDescription("plain JavaScript"),
        threads: 1,
        canTrain: true,
        standInKernels: [],
      };
  }
}

async function setBackend(name: string): Promise<void> {
  const ok = await tf.setBackend(name);
  await tf.ready();
  if (!ok || tf.getBackend() !== name) {
    throw new BackendUnavailableError(`TensorFlow.js could not initialise the ${name} backend`);
  }
}

/** Threads asked for: the option, else `MASKINV_THREADS`, else every logical core; within 1 … 8. */
function wantedThreads(options: UseBackendOptions): number {
  const fromEnv = Deno.env.get("MASKINV_THREADS");
  const requested = options.threads ??
    (fromEnv != null && fromEnv !== "" ? Number(fromEnv) : navigator.hardwareConcurrency);
  if (!Number.isInteger(requested) || requested < 1) {
    throw new BackendUnavailableError(
      `wasm: threads must be a positive integer, got ${options.threads ?? `MASKINV_THREADS="${fromEnv}"`}`,
    );
  }
  return Math.min(requested, MAX_WASM_THREADS);
}

/** Why the wasm engine runs on one thread although more were asked for (empty when it does not). */
let wasmThreadingProblem = "";
/** The threaded Emscripten module behind the wasm backend, when maskinv started it. */
let threadedModule: WasmModule | undefined;

async function activateWasm(threads: number): Promise<BackendInfo> {
  const wasm = await import("@tensorflow/tfjs-backend-wasm");
  // The thread pool is created with the backend, once per process: only an uninitialised backend changes.
  if (tf.findBackend("wasm") == null && threads > 1) {
    try {
      const module = await instantiateThreadedWasm(threads);
      threadedModule = module;
      wasm.setThreadsCount(threads);
      tf.removeBackend("wasm");
      tf.registerBackend("wasm", () => {
        const backend = new wasm.BackendWasm(module as never);
        releaseWasmWorkers(module);
        return backend;
      }, 2);
      wasmThreadingProblem = "";
    } catch (error) {
      wasmThreadingProblem = `single-threaded: ${error instanceof Error ? error.message : String(error)}`;
    }
  }
  await setBackend("wasm");
  // After initialisation, so that the kernels replaced here have run their own set-up (and can be restored).
  registerWasmTrainingKernels();
  if (threadedModule != null && tf.findBackend("wasm") != null) {
    installThreadGate(
      threadedModule,
      tf.getKernelsForBackend("wasm") as { kernelName: string; kernelFunc: (args: never) => unknown }[],
      new Set(wasmTrainingKernelNames),
    );
  }
  const simd = await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT");
  const actualThreads = Math.max(1, wasm.getThreadsCount());
  const problem = actualThreads < threads && wasmThreadingProblem !== "" ? ` (${wasmThreadingProblem})` : "";
  return {
    name: "wasm",
    device: cpuDescription(
      `WebAssembly XNNPACK${simd ? " SIMD" : ""}, ${actualThreads} thread(s)${problem}`,
    ),
    threads: actualThreads,
    canTrain: true,
    standInKernels: wasmTrainingKernelNames,
  };
}

async function activateWebgpu(quiet: boolean): Promise<BackendInfo> {
  const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
  const adapter = gpu == null ? null : await gpu.requestAdapter();
  if (adapter == null) {
    throw new BackendUnavailableError(
      "webgpu: this Deno has no WebGPU adapter (a GPU with Vulkan, Metal or D3D12 drivers is needed)",
    );
  }
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  const fallback = info.isFallbackAdapter === true;
  // `auto` never takes a software adapter: llvmpipe is slower than wasm for training.
  if (fallback && quiet) {
    throw new BackendUnavailableError(
      `webgpu: only a software fallback adapter (${info.description}) is present`,
    );
  }
  await import("@tensorflow/tfjs-backend-webgpu");
  await setBackend("webgpu");
  const description = [info.vendor, info.architecture, info.description].filter((s) => s !== "").join(" ");
  return {
    name: "webgpu",
    device: `${description}${fallback ? " (software fallback adapter)" : ""}`,
    threads: 1,
    canTrain: true,
    standInKernels: [],
  };
}

/** The npm packages that provide the `tensorflow` backend, preferred first. */
const TENSORFLOW_PACKAGES = ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"] as const;

async function activateTensorflow(): Promise<BackendInfo> {
  for (const pkg of TENSORFLOW_PACKAGES) {
    if (!nativeBindingInstalled(pkg)) continue;
    await import(`npm:${pkg}@4.22.0`);
    await setBackend("tensorflow");
    return {
      name: "tensorflow",
      device: pkg.endsWith("-gpu")
        ? "libtensorflow with CUDA (tfjs-node-gpu)"
        : cpuDescription("libtensorflow"),
      threads: navigator.hardwareConcurrency,
      canTrain: true,
      standInKernels: [],
    };
  }
  throw new BackendUnavailableError(
    "tensorflow: neither @tensorflow/tfjs-node-gpu nor @tensorflow/tfjs-node is installed with its native " +
      "library; run `deno task setup:gpu` on a machine with internet access (its install script downloads libtensorflow)",
  );
}

/**
 * Whether `pkg` sits in this project's `node_modules` with the native binding its install script builds.
 * Importing it otherwise would make Deno fetch it and then fail without libtensorflow.
 */
function nativeBindingInstalled(pkg: string): boolean {
  const root = `${Deno.cwd()}/node_modules/${pkg}/lib`;
  try {
    for (const entry of Deno.readDirSync(root)) {
      if (!entry.isDirectory || !entry.name.startsWith("napi-v")) continue;
      Deno.statSync(`${root}/${entry.name}/tfjs_binding.node`);
      return true;
    }
  } catch {
    return false;
  }
  return false;
}

function cpuDescription(engine: string): string {
  return `${engine} on ${navigator.hardwareConcurrency} CPU core(s), ${Deno.build.arch} ${Deno.build.os}`;
}
