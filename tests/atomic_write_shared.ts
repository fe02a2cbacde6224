/** What the crash-safety child writes and the parent checks: self-verifying documents and a tiny config. */
import type { NetworkConfig } from "../lib/models/mod.ts";

/** Architecture recorded in the test checkpoints (the tensors themselves are synthetic). */
export const TINY_CONFIG: NetworkConfig = {
  kind: "iresnet",
  layers: [1, 1, 1, 1],
  widths: [2, 2, 2, 2],
  embeddingSize: 4,
  inputSize: [16, 16],
  dropout: 0,
};

/** A ~2 MB JSON result whose every entry repeats the iteration, so any mixture of two writes is visible. */
export function resultDocument(iteration: number): string {
  return JSON.stringify({ iteration, scores: new Array(250_000).fill(iteration), end: iteration });
}

/** Parses a result written by {@linkcode resultDocument}; throws when it is torn or inconsistent. */
export function checkResultDocument(text: string): number {
  const value = JSON.parse(text) as { iteration: number; scores: number[]; end: number };
  if (value.scores.length !== 250_000 || value.end !== value.iteration) {
    throw new Error("incomplete document");
  }
  if (!value.scores.every((s) => s === value.iteration)) throw new Error("mixed document");
  return value.iteration;
}
