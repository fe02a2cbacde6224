/** Comparisons of computed values against reference values, shared by the parity tests. */
import assert from "node:assert/strict";

/**
 * `max|actual − expected| / max|expected|`: the largest error relative to the reference's scale (a reference
 * of all zeros counts as scale 1e-12). The lengths must agree.
 */
export function scaledError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  assert.equal(actual.length, expected.length, "compared arrays differ in length");
  let worst = 0, scale = 0;
  for (let i = 0; i < expected.length; i++) {
    worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return worst / Math.max(scale, 1e-12);
}
