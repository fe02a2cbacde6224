/**
 * Small cross-cutting helpers every layer may use: a seedable random generator with saveable state,
 * atomic file writes, and progress reporting for terminals, notebooks and logs.
 *
 * @module
 */
export * from "./random.ts";
export * from "./atomic.ts";
export * from "./progress.ts";
export * from "./html.ts";
export * from "./errors.ts";
