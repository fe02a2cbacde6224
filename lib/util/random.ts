/**
 * A small, fast, seedable random generator whose whole state can be saved and restored, so that data
 * order, masks and margins repeat exactly across runs, machines and resumed checkpoints.
 *
 * @module
 */

/** The complete state of a {@linkcode Rng}: four unsigned 32-bit words. */
export type RngState = readonly [number, number, number, number];

/**
 * sfc32 (Chris Doty-Humphrey's Small Fast Counting generator), seeded through splitmix32.
 *
 * @example
 * ```ts
 * import { Rng } from "./random.ts";
 * const a = new Rng(7), b = new Rng(7);
 * console.log(a.uniform() === b.uniform()); // true
 * const saved = a.state;
 * const next = a.int(0, 10);
 * console.log(Rng.fromState(saved).int(0, 10) === next); // true
 * ```
 */
export class Rng {
  #a = 0;
  #b = 0;
  #c = 0;
  #d = 0;

  /**
   * Creates a `Rng`.
   *
   * @param seed Any finite number; equal seeds give equal streams. Strings are hashed with {@linkcode hashSeed}.
   */
  constructor(seed: number | string = 0) {
    let s = (typeof seed === "string" ? hashSeed(seed) : Math.floor(seed)) >>> 0;
    const next = () => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.#a = next();
    this.#b = next();
    this.#c = next();
    this.#d = next();
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  /** Restores a generator from a saved {@linkcode Rng.state}. */
  static fromState(state: RngState): Rng {
    const rng = new Rng(0);
    [rng.#a, rng.#b, rng.#c, rng.#d] = state.map((v) => v >>> 0);
    return rng;
  }

  /** The generator's state; `Rng.fromState(rng.state)` continues the same stream. */
  get state(): RngState {
    return [this.#a >>> 0, this.#b >>> 0, this.#c >>> 0, this.#d >>> 0];
  }

  /** A uniformly distributed unsigned 32-bit integer. */
  nextUint32(): number {
    const t = (((this.#a + this.#b) >>> 0) + this.#d) >>> 0;
    this.#d = (this.#d + 1) >>> 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) >>> 0;
    this.#c = ((this.#c << 21) | (this.#c >>> 11)) >>> 0;
    this.#c = (this.#c + t) >>> 0;
    return t;
  }

  /** A uniform float in `[0, 1)` with 32 random bits. */
  uniform(): number {
    return this.nextUint32() / 4294967296;
  }

  /** A uniform float in `[low, high)`. */
  range(low: number, high: number): number {
    return low + (high - low) * this.uniform();
  }

  /** A uniform integer in `[low, high)` (high exclusive, like Python's `randint(low, high - 1)`). */
  int(low: number, high: number): number {
    if (!(high > low)) throw new RangeError(`Rng.int: empty range [${low}, ${high})`);
    return low + Math.floor(this.uniform() * (high - low));
  }

  /**
   * A normally distributed float (Box–Muller). Uses exactly two draws and keeps no spare value, so the
   * whole generator state stays in {@linkcode Rng.state}.
   */
  normal(mean = 0, std = 1): number {
    const u = 1 - this.uniform(); // (0, 1]: log stays finite
    const v = this.uniform();
    return mean + std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** `true` with probability `p`. */
  chance(p: number): boolean {
    return this.uniform() < p;
  }

  /** Shuffles `items` in place (Fisher–Yates) and returns it. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(0, i + 1);
      [items[i], items[j]] = [items[j], items[i]];
    }
    return items;
  }

  /** An independent generator derived from this one's seed stream and `key` (e.g. an image index). */
  fork(key: number | string): Rng {
    const k = typeof key === "string" ? hashSeed(key) : key >>> 0;
    return new Rng((this.nextUint32() ^ Math.imul(k, 0x9e3779b1)) >>> 0);
  }
}

/**
 * Hashes a string to a 32-bit seed (FNV-1a), so names like `"eval/lfw/17"` can seed a {@linkcode Rng}.
 *
 * @example
 * ```ts
 * import { hashSeed } from "./random.ts";
 * console.log(hashSeed("a") === hashSeed("a")); // true
 * ```
 */
export function hashSeed(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
