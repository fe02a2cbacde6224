/**
 * The wasm package's own kernels that maskinv replaced, for the cases maskinv's kernels hand back to them.
 *
 * @module
 */
import type { KernelConfig, KernelFunc } from "@tensorflow/tfjs-core";

const replaced = new Map<string, KernelConfig>();

/**
 * Remembers the kernel registration `config` that maskinv replaced.
 *
 * @example
 * ```ts
 * import { rememberReplaced, replacedConfig } from "./registry.ts";
 * const config = { kernelName: "Example", backendName: "wasm", kernelFunc: () => ({ dataId: {}, shape: [], dtype: "float32" as const }) };
 * rememberReplaced(config);
 * console.log(replacedConfig("Example", "wasm") === config); // true
 * ```
 */
export function rememberReplaced(config: KernelConfig): void {
  replaced.set(`${config.backendName}/${config.kernelName}`, config);
}

/**
 * The replaced registration of `kernelName`, if maskinv replaced one.
 *
 * @example
 * ```ts
 * import { replacedConfig } from "./registry.ts";
 * console.log(replacedConfig("NoSuchKernel", "wasm")); // undefined
 * ```
 */
export function replacedConfig(kernelName: string, backendName: string): KernelConfig | undefined {
  return replaced.get(`${backendName}/${kernelName}`);
}

/**
 * The replaced kernel function of `kernelName`; throws when there is none.
 *
 * @example
 * ```ts
 * import { replacedKernel } from "./registry.ts";
 * try {
 *   replacedKernel("NoSuchKernel", "wasm");
 * } catch (error) {
 *   console.log((error as Error).message);
 * }
 * ```
 */
export function replacedKernel(kernelName: string, backendName: string): KernelFunc {
  const config = replacedConfig(kernelName, backendName);
  if (config == null) throw new Error(`no original ${kernelName} kernel for ${backendName} to fall back to`);
  return config.kernelFunc;
}
