/**
 * `deno task ablation`: the paper's step-wise ablation on the embedded default data.
 *
 * @module
 */
console.error("ablation: not yet available — the training and evaluation layers are still being built");
Deno.exit(2);
