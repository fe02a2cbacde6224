/**
 * The multi-threaded wasm engine under Deno.
 *
 * `@tensorflow/tfjs-backend-wasm` ships a threaded SIMD build (XNNPACK on a pthreadpool) but never uses it
 * outside browsers, and its browser loader hands the pthread workers a `blob:` URL that Deno's
 * `node:worker_threads` cannot start. This module builds the same backend from the same files: the worker
 * script goes to a temporary `.cjs` file (CommonJS, as Emscripten's node mode expects), the main script and
 * the `.wasm` binary are read where the package installed them, and the backend class is the package's own
 * `BackendWasm`, so every wasm kernel (and maskinv's gradient kernels) runs unchanged — only XNNPACK and
 * the other pthreadpool-parallel kernels now split their work across threads, with identical arithmetic
 * per output element.
 *
 * @module
 */
import { createRequire } from "node:module";
import os from "node:os";

/** The subset of the Emscripten module of tfjs-backend-wasm that maskinv touches. */
export interface WasmModule {
  /** C entry points, set up as tfjs-backend-wasm's own loader does. */
  tfjs: Record<string, (...args: number[]) => unknown>;
  /** Emscripten's `cwrap`. */
  cwrap(name: string, returnType: string | null, argTypes: string[]): (...args: number[]) => unknown;
  /** Emscripten's pthread bookkeeping (workers are Node `Worker`s under Deno). */
  PThread: { runningWorkers: NodeWorker[]; unusedWorkers: NodeWorker[] };
  /** The wasm heap (its buffer is replaced when memory grows). */
  HEAPU8: Uint8Array;
  /** Where the `.wasm` binary was read from (set by {@linkcode instantiateThreadedWasm}). */
  wasmBinaryPath?: string;
  /** The shared memory, created here so that other modules (SIMD kernels) can import it too. */
  wasmMemory?: WebAssembly.Memory;
}

interface NodeWorker {
  unref(): void;
}

type ModuleFactory = (config: Record<string, unknown>) => Promise<WasmModule>;

/** Emscripten's pthread pool of the threaded build (`PTHREAD_POOL_SIZE` in tfjs-backend-wasm's build). */
export const MAX_WASM_THREADS = 8;

/**
 * Instantiates tfjs-backend-wasm's threaded SIMD build with workers Deno can start.
 *
 * @param threads Threads of XNNPACK's pool, 2 … {@linkcode MAX_WASM_THREADS}.
 * @returns The initialised Emscripten module, ready for `new BackendWasm(module)`.
 * @throws {Error} When the environment lacks shared memory or the files cannot be found or started.
 * @example
 * ```ts
 * import { instantiateThreadedWasm } from "./wasm_threads.ts";
 * const module = await instantiateThreadedWasm(2);
 * console.log(typeof module.tfjs.getThreadsCount); // function
 * ```
 */
export async function instantiateThreadedWasm(threads: number): Promise<WasmModule> {
  if (typeof SharedArrayBuffer === "undefined") throw new Error("SharedArrayBuffer is not available");
  const require = createRequire(import.meta.url);
  const mainScript = require.resolve(
    "@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.js",
  );
  const folder = mainScript.slice(0, mainScript.lastIndexOf("/") + 1);
  const factory = require(mainScript) as ModuleFactory;
  const { wasmWorkerContents } = require(`${folder}tfjs-backend-wasm-threaded-simd.worker.js`) as {
    wasmWorkerContents: string;
  };
  const workerFile = await Deno.makeTempFile({ prefix: "maskinv-wasm-worker-", suffix: ".cjs" });
  try {
    // As tfjs' own loader: keep "\n" escapes inside string literals. Deno's worker global scope has
    // read-only properties (`location`) that Emscripten's node shim assigns; skip those.
    const script = wasmWorkerContents.replace(/\n/g, "\\n").replace(
      "Object.assign(global,{",
      "((t,s)=>{for(const k of Object.keys(s)){try{t[k]=s[k]}catch{}}})(global,{",
    );
    await Deno.writeTextFile(workerFile, script);
    // The threaded build caps its pool at half the logical cores (it assumes two hyper-threads per core)
    // and reads that count once, while starting; let it see enough cores for `threads`.
    const cpus = os.cpus;
    const fakeCpus = cpus().slice(0, 1);
    (os as { cpus: () => os.CpuInfo[] }).cpus = () => Array.from({ length: 2 * threads }, () => fakeCpus[0]);
    let module: WasmModule;
    try {
      module = await factory({
        locateFile: (path: string, prefix: string) => {
          if (path.endsWith(".worker.js")) return workerFile;
          if (path.endsWith(".wasm")) return `${folder}tfjs-backend-wasm-threaded-simd.wasm`;
          return prefix + path;
        },
        mainScriptUrlOrBlob: mainScript,
        // As the build's own default (16 MiB initial, 4 GiB maximum), but held here for SIMD kernels.
        wasmMemory: new WebAssembly.Memory({ initial: 256, maximum: 65536, shared: true }),
      });
    } finally {
      (os as { cpus: () => os.CpuInfo[] }).cpus = cpus;
    }
    module.wasmBinaryPath = `${folder}tfjs-backend-wasm-threaded-simd.wasm`;
    module.tfjs = {
      init: module.cwrap("init", null, []),
      initWithThreadsCount: module.cwrap("init_with_threads_count", null, ["number"]),
      getThreadsCount: module.cwrap("get_threads_count", "number", []),
      registerTensor: module.cwrap("register_tensor", null, ["number", "number", "number"]),
      disposeData: module.cwrap("dispose_data", null, ["number"]),
      dispose: module.cwrap("dispose", null, []),
    };
    return module;
  } finally {
    // Every pooled worker has loaded the script by the time the module is ready.
    await Deno.remove(workerFile).catch(() => {});
  }
}

/**
 * Lets the process exit while XNNPACK's pool threads wait for work (they are Node workers, which Emscripten
 * keeps referenced while a thread runs).
 *
 * @example
 * ```ts
 * import { instantiateThreadedWasm, releaseWasmWorkers } from "./wasm_threads.ts";
 * releaseWasmWorkers(await instantiateThreadedWasm(2));
 * ```
 */
export function releaseWasmWorkers(module: WasmModule): void {
  for (const worker of [...module.PThread.runningWorkers, ...module.PThread.unusedWorkers]) worker.unref();
}

/**
 * The address of tfjs-backend-wasm's `threadpool` global (the pool every XNNPACK call is given), read from the
 * code of its exported `get_threads_count`, which begins by loading it: `i32.const addr; i32.load offset`.
 * Returns undefined when the binary does not have that shape.
 *
 * @example
 * ```ts
 * import { findThreadpoolAddress } from "./wasm_threads.ts";
 * console.log(findThreadpoolAddress(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]))); // undefined
 * ```
 */
export function findThreadpoolAddress(wasm: Uint8Array): number | undefined {
  let at = 8;
  const leb = (): number => {
    let value = 0, shift = 0, byte: number;
    do {
      byte = wasm[at++];
      value += (byte & 0x7f) * 2 ** shift;
      shift += 7;
    } while (byte & 0x80);
    return value;
  };
  const skipName = () => {
    const length = leb();
    at += length;
  };
  const readName = (): string => {
    const length = leb();
    const name = new TextDecoder().decode(wasm.subarray(at, at + length));
    at += length;
    return name;
  };
  let importedFunctions = 0;
  let exported = -1;
  while (at < wasm.length) {
    const id = wasm[at++];
    const size = leb();
    const end = at + size;
    if (id === 2) { // imports
      for (let count = leb(); count > 0; count--) {
        skipName();
        skipName();
        const kind = wasm[at++];
        if (kind === 0) {
          leb();
          importedFunctions++;
        } else if (kind === 1 || kind === 2) {
          if (kind === 1) at++;
          const flags = leb();
          leb();
          if (flags & 1) leb();
        } else if (kind === 3) {
          at += 2;
        } else {
          return undefined;
        }
      }
    } else if (id === 7) { // exports
      for (let count = leb(); count > 0; count--) {
        const name = readName();
        const kind = wasm[at++];
        const index = leb();
        if (kind === 0 && name === "get_threads_count") exported = index;
      }
    } else if (id === 10 && exported >= importedFunctions) { // code
      const wanted = exported - importedFunctions;
      const count = leb();
      for (let i = 0; i < count; i++) {
        const bodySize = leb();
        if (i !== wanted) {
          at += bodySize;
          continue;
        }
        for (let groups = leb(); groups > 0; groups--) {
          leb();
          at++;
        }
        if (wasm[at++] !== 0x41) return undefined; // i32.const
        const address = leb();
        if (wasm[at++] !== 0x28) return undefined; // i32.load
        leb();
        return address + leb();
      }
    }
    at = end;
  }
  return undefined;
}

/** Kernels whose cost is counted in multiply-adds rather than in values touched. */
const CONVOLUTIONS = new Set(["Conv2D", "FusedConv2D", "DepthwiseConv2dNative", "FusedDepthwiseConv2D"]);

/**
 * Below these sizes a kernel runs on the calling thread alone: waking XNNPACK's pool costs up to a millisecond
 * on a busy machine, more than splitting a small job saves.
 */
const THREADED_MULTIPLY_ADDS = 32e6;
const THREADED_VALUES = 4e6;

/** Rough work of a kernel call: multiply-adds for convolutions, input values otherwise. */
function threadWorthy(kernelName: string, inputs: Record<string, { shape: number[] } | undefined>): boolean {
  const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
  if (CONVOLUTIONS.has(kernelName)) {
    const x = inputs.x, filter = inputs.filter;
    if (x == null || filter == null) return true;
    const [kh, kw, ci, co] = filter.shape;
    const perPixel = kernelName.startsWith("Depthwise") || kernelName.startsWith("FusedDepthwise")
      ? kh * kw * co
      : kh * kw * ci * co;
    return size(x.shape.slice(0, 3)) * perPixel >= THREADED_MULTIPLY_ADDS;
  }
  let values = 0;
  for (const input of Object.values(inputs)) if (input != null) values += size(input.shape);
  return values >= THREADED_VALUES;
}

const GATED = Symbol("maskinv thread gate");

/**
 * Makes every kernel of the threaded wasm engine use XNNPACK's thread pool only for jobs big enough to pay
 * for waking it: for small ones the pool global is set to null (XNNPACK then runs inline) for the duration of
 * the call. Checks the global's address through `get_threads_count` first, and does nothing if that check
 * fails. Idempotent.
 *
 * @param skip Kernels to leave alone (maskinv's composed kernels: the kernels they call are gated).
 * @returns Whether the gate is active.
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { installThreadGate, instantiateThreadedWasm } from "./wasm_threads.ts";
 * const module = await instantiateThreadedWasm(2);
 * console.log(installThreadGate(module, [], new Set())); // false until a backend created the pool
 * ```
 */
export function installThreadGate(
  module: WasmModule,
  kernels: readonly { kernelName: string; kernelFunc: (args: never) => unknown }[],
  skip: ReadonlySet<string>,
): boolean {
  if (module.wasmBinaryPath == null) return false;
  const address = findThreadpoolAddress(Deno.readFileSync(module.wasmBinaryPath));
  if (address == null || address % 4 !== 0) return false;
  const slot = address / 4;
  const heap = () => new Int32Array(module.HEAPU8.buffer, 0, slot + 1);
  const pool = heap()[slot];
  const threads = module.tfjs.getThreadsCount() as number;
  // The address is right if clearing it makes the engine report "no pool" (-1), and restoring it gives back
  // the pool's thread count.
  heap()[slot] = 0;
  const cleared = module.tfjs.getThreadsCount() as number;
  heap()[slot] = pool;
  if (pool === 0 || threads < 2 || cleared !== -1 || module.tfjs.getThreadsCount() !== threads) return false;
  for (const config of kernels) {
    const original = config.kernelFunc as ((args: never) => unknown) & { [GATED]?: true };
    if (skip.has(config.kernelName) || original[GATED]) continue;
    const name = config.kernelName;
    const gated = ((args: { inputs: Record<string, { shape: number[] } | undefined> }) => {
      const view = heap();
      const previous = view[slot];
      view[slot] = threadWorthy(name, args.inputs) ? pool : 0;
      try {
        return original(args as never);
      } finally {
        heap()[slot] = previous;
      }
    }) as unknown as ((args: never) => unknown) & { [GATED]?: true };
    gated[GATED] = true;
    config.kernelFunc = gated;
  }
  return true;
}
