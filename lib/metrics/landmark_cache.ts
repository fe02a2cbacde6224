/**
 * A landmark cache for benchmarks that are aligned again and again (MFR2, ORL): finding five landmarks
 * takes a few hundred milliseconds per face on a CPU, warping the face with known landmarks well under one.
 * {@linkcode CachedLandmarker} wraps any `FaceLandmarker`, keys each result by the SHA-256 of the decoded
 * pixels and of the detection options, and keeps the results in one JSON file, so a second run of an
 * evaluation gives the same alignment (and the same report of faces without landmarks) without running the
 * detector. Delete the file to detect again.
 *
 * @module
 */
import type { Pixels } from "../data/mod.ts";
import type { FaceLandmarker, LandmarkOptions, LandmarkResult, Landmarks5 } from "../image/mod.ts";
import { writeTextFileAtomic } from "../util/mod.ts";

/**
 * Version of the cache file format and of the detector behind it; a file of another version is ignored.
 *
 * @example
 * ```ts
 * import { LANDMARK_CACHE_VERSION } from "./landmark_cache.ts";
 * console.log(typeof LANDMARK_CACHE_VERSION); // "string"
 * ```
 */
export const LANDMARK_CACHE_VERSION = "maskinv-landmarks-1/blazeface+facemesh";

type CachedResult =
  | { ok: true; points: number[][]; score: number; detectorScore: number | null; box: number[] }
  | {
    ok: false;
    reason: "no-face" | "low-confidence";
    message: string;
    detectorScore: number;
    score: number;
  };

interface CacheFile {
  version: string;
  entries: Record<string, CachedResult>;
}

/** The options that change what the detector returns, in a fixed order (part of the cache key). */
function optionsKey(options: LandmarkOptions): string {
  return JSON.stringify([
    options.minDetectorScore ?? null,
    options.minLandmarkScore ?? null,
    options.faceCrop ?? false,
    options.padding ?? null,
    options.passes ?? null,
    options.flipAverage ?? null,
  ]);
}

async function pixelsKey(image: Pixels, options: LandmarkOptions): Promise<string> {
  const header = new TextEncoder().encode(
    `${image.width}x${image.height}x${image.channels}|${optionsKey(options)}|`,
  );
  const bytes = new Uint8Array(header.length + image.data.length);
  bytes.set(header);
  bytes.set(image.data, header.length);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Hit and miss counts of a {@linkcode CachedLandmarker}. */
export interface LandmarkCacheStats {
  /** Results answered from the cache. */
  hits: number;
  /** Results computed by the wrapped detector. */
  misses: number;
}

/**
 * A `FaceLandmarker` that remembers results in a JSON file (see the module notes). Results from the cache
 * carry an empty `mesh`.
 *
 * @example
 * ```ts
 * import { CachedLandmarker } from "./landmark_cache.ts";
 * import { ARCFACE_112 } from "../image/mod.ts";
 * const fixed = {
 *   detect: () =>
 *     Promise.resolve({ ok: true as const, points: ARCFACE_112, score: 1, detectorScore: null,
 *       box: { x: 0, y: 0, width: 112, height: 112 }, mesh: [] }),
 * };
 * const path = `${await Deno.makeTempDir()}/landmarks.json`;
 * const cache = await CachedLandmarker.open(path, fixed);
 * const face = { width: 2, height: 2, channels: 3 as const, data: new Uint8Array(12) };
 * await cache.detect(face);
 * await cache.detect(face);
 * await cache.save();
 * console.log(cache.stats); // { hits: 1, misses: 1 }
 * ```
 */
export class CachedLandmarker implements FaceLandmarker {
  /** The cache file. */
  readonly path: string;
  /** Hits and misses so far. */
  readonly stats: LandmarkCacheStats = { hits: 0, misses: 0 };
  #inner: FaceLandmarker | undefined;
  readonly #entries: Record<string, CachedResult>;
  #dirty = false;

  private constructor(path: string, entries: Record<string, CachedResult>, inner?: FaceLandmarker) {
    this.path = path;
    this.#entries = entries;
    this.#inner = inner;
  }

  /**
   * Opens (or starts) the cache file at `path`. A missing file, or one of another
   * {@linkcode LANDMARK_CACHE_VERSION}, starts empty; an unreadable or corrupt file is an error.
   *
   * @param path The JSON file.
   * @param inner The detector to ask on a miss (default: lib/image's shared detector, loaded on first miss).
   * @throws {Error} Naming `path` when it exists but cannot be parsed.
   */
  static async open(path: string, inner?: FaceLandmarker): Promise<CachedLandmarker> {
    let text: string | null = null;
    try {
      text = await Deno.readTextFile(path);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) {
        throw new Error(`${path}: cannot read the landmark cache (${error})`, { cause: error });
      }
    }
    let entries: Record<string, CachedResult> = {};
    if (text !== null) {
      let parsed: CacheFile;
      try {
        parsed = JSON.parse(text);
      } catch (error) {
        throw new Error(`${path}: the landmark cache is not valid JSON; delete it to detect again`, {
          cause: error,
        });
      }
      if (typeof parsed !== "object" || parsed === null || typeof parsed.entries !== "object") {
        throw new Error(`${path}: not a landmark cache file; delete it to detect again`);
      }
      if (parsed.version === LANDMARK_CACHE_VERSION) entries = parsed.entries;
    }
    return new CachedLandmarker(path, entries, inner);
  }

  /** Number of cached results. */
  get size(): number {
    return Object.keys(this.#entries).length;
  }

  /** The cached result for `image`, or the wrapped detector's (then remembered). */
  async detect(image: Pixels, options: LandmarkOptions = {}): Promise<LandmarkResult> {
    const key = await pixelsKey(image, options);
    const cached = this.#entries[key];
    if (cached !== undefined) {
      this.stats.hits++;
      return fromCached(cached);
    }
    this.stats.misses++;
    // Loaded on demand: importing the metrics layer needs no native image code.
    this.#inner ??= await (await import("../image/mod.ts")).loadSharedDetector();
    const result = await this.#inner.detect(image, options);
    this.#entries[key] = toCached(result);
    this.#dirty = true;
    return result;
  }

  /** Writes the file (atomically, creating its folder) when results were added. */
  async save(): Promise<void> {
    if (!this.#dirty) return;
    const slash = this.path.lastIndexOf("/");
    if (slash > 0) await Deno.mkdir(this.path.slice(0, slash), { recursive: true });
    const file: CacheFile = { version: LANDMARK_CACHE_VERSION, entries: this.#entries };
    await writeTextFileAtomic(this.path, JSON.stringify(file));
    this.#dirty = false;
  }
}

function toCached(result: LandmarkResult): CachedResult {
  if (!result.ok) {
    const { reason, message, detectorScore, score } = result;
    return { ok: false, reason, message, detectorScore, score };
  }
  return {
    ok: true,
    points: result.points.map(([x, y]) => [x, y]),
    score: result.score,
    detectorScore: result.detectorScore,
    box: [result.box.x, result.box.y, result.box.width, result.box.height],
  };
}

function fromCached(cached: CachedResult): LandmarkResult {
  if (!cached.ok) return { ...cached };
  const [x, y, width, height] = cached.box;
  return {
    ok: true,
    points: cached.points.map(([px, py]) => [px, py] as const) as unknown as Landmarks5,
    score: cached.score,
    detectorScore: cached.detectorScore,
    box: { x, y, width, height },
    mesh: [],
  };
}
