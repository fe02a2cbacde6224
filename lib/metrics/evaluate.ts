/**
 * The evaluation runner: embeds every distinct view of a benchmark once (batched, with a progress bar),
 * scores each scenario's pairs by cosine similarity and computes all of the paper's metrics per scenario,
 * plus the LFW-protocol accuracy and the threshold calibration across scenarios. The result is plain data
 * that serialises to JSON.
 *
 * The runner knows nothing about files, masks or networks: it gets a {@linkcode FaceEmbedder} and a
 * {@linkcode ViewLoader} that produces the pixels of a view (decoding, aligning and masking are the
 * loader's business).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { assertPixels, type ImageDecoder, type Pixels, toPixels, type VerificationSet } from "../data/mod.ts";
import type { FaceEmbedder } from "../models/mod.ts";
import { Progress, type ProgressOutput } from "../util/mod.ts";
import { calibrateThresholds, type Calibration, DEFAULT_CALIBRATION_FMRS } from "./calibration.ts";
import { type Scenarios, viewId, type ViewKey } from "./scenarios.ts";
import { SortedScores } from "./scores.ts";
import type { ScenarioSummary, TableRow } from "./table.ts";
import { tenFoldAccuracyFromDistances, type TenFoldResult } from "./ten_fold.ts";
import {
  type OperatingPoint,
  tarAtFar,
  type VerificationMetrics,
  verificationMetrics,
} from "./verification.ts";

/** Produces the pixels of a view (the image, aligned, with the view's mask applied if any). */
export type ViewLoader = (view: ViewKey) => Pixels | Promise<Pixels>;

/** Puts one mask variant on a face: `image` is the benchmark index (to derive per-image mask parameters). */
export type MaskApplier = (face: Pixels, image: number) => Pixels | Promise<Pixels>;

/** Options of {@linkcode verificationSetViews}. */
export interface SetViewOptions {
  /** Decodes encoded images (default: lib/image's `decodeImage`, RGB). */
  decode?: ImageDecoder;
  /** Runs on every decoded image before masking, e.g. alignment to the ArcFace template. */
  prepare?: (face: Pixels, image: number) => Pixels | Promise<Pixels>;
  /** The mask variants views may name, e.g. `{ maskinv: (face, i) => … }`. */
  masks?: Record<string, MaskApplier>;
}

/**
 * A {@linkcode ViewLoader} over a verification set (MFR2, an insightface `.bin`, synthetic faces): decodes
 * the image, prepares it, and applies the view's mask variant.
 *
 * @example
 * ```ts
 * import type { VerificationSet } from "../data/mod.ts";
 * import { verificationSetViews } from "./evaluate.ts";
 * declare const set: VerificationSet;
 * const views = verificationSetViews(set, {
 *   masks: { grey: (face) => ({ ...face, data: face.data.map((v, k) => (k > face.data.length / 2 ? 128 : v)) }) },
 * });
 * const masked = await views({ image: 0, mask: "grey" });
 * console.log(masked.width);
 * ```
 */
export function verificationSetViews(
  set: VerificationSet,
  options: SetViewOptions = {},
): (view: ViewKey) => Promise<Pixels> {
  // The codec (sharp, a native library) is loaded only when a set really holds encoded images, so that
  // importing the metrics needs no native code.
  const decode = options.decode ??
    (async (bytes: Uint8Array, source: string) =>
      (await import("../image/mod.ts")).decodeImage(bytes, source));
  const masks = options.masks ?? {};
  return async (view) => {
    if (!(view.image < set.imageCount)) {
      throw new RangeError(`${set.name}: image ${view.image} does not exist (${set.imageCount} images)`);
    }
    const name = set.imageName(view.image);
    let face = await toPixels(await set.image(view.image), name, decode);
    if (options.prepare) face = await options.prepare(face, view.image);
    if (view.mask === null) return face;
    const apply = masks[view.mask];
    if (apply === undefined) {
      const known = Object.keys(masks);
      throw new RangeError(
        `${name}: no mask variant "${view.mask}" (known: ${known.length ? known.join(", ") : "none"})`,
      );
    }
    return await apply(face, view.image);
  };
}

/** Options of {@linkcode evaluateVerification}. */
export interface EvaluateOptions {
  /** The model. */
  embedder: FaceEmbedder;
  /** Loads a view's pixels. */
  views: ViewLoader;
  /** Pair lists by scenario name, e.g. from `maskedScenarios`. */
  scenarios: Scenarios;
  /** Views embedded per call (default 32). */
  batchSize?: number;
  /** Flip-sum test-time augmentation, as the LFW protocol does (default true). */
  flip?: boolean;
  /** Where the progress bar goes (default `auto`; `none` for silence). */
  progress?: ProgressOutput;
  /** FARs at which TAR is reported per scenario (default 1e-2, 1e-3, 1e-4). */
  tarFars?: readonly number[];
  /** Scenario whose thresholds are transferred to the others (default `"UM-UM"` when present). */
  calibrationReference?: string;
  /** Target FMRs of the calibration (default 1e-2 and 1e-3). */
  calibrationFmrs?: readonly number[];
}

/** Everything computed for one scenario. */
export interface ScenarioEvaluation {
  /** Scenario name. */
  name: string;
  /** Number of pairs. */
  pairCount: number;
  /** Number of genuine pairs. */
  genuineCount: number;
  /** Number of impostor pairs. */
  impostorCount: number;
  /** EER, FMR100, FMR1000, G-mean, I-mean, FDR and their thresholds. */
  metrics: VerificationMetrics;
  /** LFW-protocol 10-fold accuracy (`null` with fewer than 10 pairs). */
  accuracy: TenFoldResult | null;
  /** TAR at the requested FARs. */
  tarAtFar: OperatingPoint[];
  /** Cosine similarity of each pair, in pair order. */
  scores: number[];
  /** Whether each pair is genuine, in pair order. */
  genuine: boolean[];
}

/** Result of {@linkcode evaluateVerification}; plain data, `JSON.stringify`-able. */
export interface VerificationEvaluation {
  /** The model's name. */
  model: string;
  /** Length of the embeddings. */
  embeddingSize: number;
  /** Whether flip-sum augmentation was used. */
  flip: boolean;
  /** Distinct views embedded. */
  viewCount: number;
  /** Wall-clock seconds of the whole evaluation. */
  seconds: number;
  /** Results by scenario name, in the order given. */
  scenarios: Record<string, ScenarioEvaluation>;
  /** Thresholds fixed on the reference scenario and the others' rates there (`null` without a reference). */
  calibration: Calibration | null;
}

/** Converts a view's pixels to an RGB float `[h, w, 3]` tensor with values in [0, 255]. */
function rgbTensor(pixels: Pixels, name: string): tf.Tensor3D {
  const { width, height, channels, data } = assertPixels(pixels, `view ${name}`);
  const rgb = new Float32Array(width * height * 3);
  for (let p = 0, q = 0; p < width * height; p++, q += channels) {
    rgb[3 * p] = data[q];
    rgb[3 * p + 1] = data[channels === 1 ? q : q + 1];
    rgb[3 * p + 2] = data[channels === 1 ? q : q + 2];
  }
  return tf.tensor3d(rgb, [height, width, 3]);
}

/**
 * Embeds the given views in batches, each once, and returns their L2-normalised embeddings (row `k` for
 * `views[k]`) as one `Float64Array` of `views.length × embeddingSize`.
 *
 * @example
 * ```ts
 * import type { FaceEmbedder } from "../models/mod.ts";
 * import { embedViews } from "./evaluate.ts";
 * declare const model: FaceEmbedder;
 * const grey = { width: 112, height: 112, channels: 1 as const, data: new Uint8Array(112 * 112) };
 * const embeddings = await embedViews(model, [{ image: 0, mask: null }], () => grey, { progress: "none" });
 * console.log(embeddings.length === model.embeddingSize);
 * ```
 */
export async function embedViews(
  embedder: FaceEmbedder,
  views: readonly ViewKey[],
  loader: ViewLoader,
  options: Pick<EvaluateOptions, "batchSize" | "flip" | "progress"> = {},
): Promise<Float64Array> {
  const batchSize = options.batchSize ?? 32;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  }
  const width = embedder.embeddingSize;
  const out = new Float64Array(views.length * width);
  const progress = new Progress({
    total: views.length,
    label: `embed ${embedder.name}`,
    unit: "img",
    output: options.progress ?? "auto",
  });
  for (let start = 0; start < views.length; start += batchSize) {
    const batch = views.slice(start, start + batchSize);
    const pixels = await Promise.all(batch.map(async (view) => {
      try {
        return await loader(view);
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        throw new Error(`could not load view ${viewId(view)}: ${reason}`, { cause: error });
      }
    }));
    const values = tf.tidy(() => {
      let images = pixels.map((p, k) => rgbTensor(p, viewId(batch[k])));
      const [h, w] = images[0].shape;
      if (images.some((image) => image.shape[0] !== h || image.shape[1] !== w)) {
        // Mixed sizes cannot share a batch: bring all to the network's input size, as the model would.
        const size = [embedder.inputSize[0], embedder.inputSize[1]] as [number, number];
        images = images.map((image) => tf.image.resizeBilinear(image, size, false, true));
      }
      const embeddings = embedder.embed(tf.stack(images) as tf.Tensor4D, { flip: options.flip ?? true });
      if (embeddings.rank !== 2 || embeddings.shape[0] !== batch.length || embeddings.shape[1] !== width) {
        throw new RangeError(
          `${embedder.name} returned embeddings of shape [${embeddings.shape}], expected [${batch.length}, ${width}]`,
        );
      }
      return embeddings.dataSync();
    });
    for (let k = 0; k < batch.length; k++) {
      let norm = 0;
      for (let c = 0; c < width; c++) norm += values[k * width + c] ** 2;
      norm = Math.sqrt(norm);
      if (!(norm > 0 && norm < Infinity)) {
        throw new RangeError(`${embedder.name}: the embedding of view ${viewId(batch[k])} has norm ${norm}`);
      }
      // Normalised again in float64 so that cosine scores do not depend on float32 rounding of the norm.
      for (let c = 0; c < width; c++) out[(start + k) * width + c] = values[k * width + c] / norm;
    }
    progress.tick(batch.length);
  }
  progress.finish();
  return out;
}

/**
 * Runs the evaluation described in the module notes.
 *
 * @throws {RangeError} For an empty scenario, a scenario without genuine or impostor pairs, bad options,
 *   or embeddings of the wrong shape; {@linkcode Error} naming the view when loading fails.
 * @example
 * ```ts
 * import type { FaceEmbedder } from "../models/mod.ts";
 * import { assertPixels, type ImageDecoder, type Pixels, toPixels, type VerificationSet } from "../data/mod.ts";
 * import { evaluateVerification, maskedScenarios } from "./mod.ts";
 * declare const model: FaceEmbedder;
 * declare const loadView: (view: { image: number; mask: string | null }) => Promise<Pixels>;
 * const pairs = [{ first: 0, second: 1, genuine: true }, { first: 0, second: 2, genuine: false }];
 * const result = await evaluateVerification({
 *   embedder: model,
 *   views: loadView,
 *   scenarios: maskedScenarios(pairs, { mask: "maskinv" }),
 * });
 * console.log(result.scenarios["M-M"].metrics.eer, JSON.stringify(result).length);
 * ```
 */
export async function evaluateVerification(options: EvaluateOptions): Promise<VerificationEvaluation> {
  const started = performance.now();
  const names = Object.keys(options.scenarios);
  if (names.length === 0) throw new RangeError("no scenarios to evaluate");
  // Each distinct view once, in first-use order.
  const index = new Map<string, number>();
  const views: ViewKey[] = [];
  for (const name of names) {
    const pairs = options.scenarios[name];
    if (pairs.length === 0) throw new RangeError(`scenario ${name} has no pairs`);
    for (const pair of pairs) {
      for (const view of [pair.first, pair.second]) {
        if (!Number.isInteger(view.image) || view.image < 0) {
          throw new RangeError(`scenario ${name}: image index ${view.image} is not a non-negative integer`);
        }
        const id = viewId(view);
        if (!index.has(id)) {
          index.set(id, views.length);
          views.push({ image: view.image, mask: view.mask });
        }
      }
    }
  }
  const embedder = options.embedder;
  const flip = options.flip ?? true;
  const embeddings = await embedViews(embedder, views, options.views, { ...options, flip });
  const width = embedder.embeddingSize;
  const scenarios: Record<string, ScenarioEvaluation> = {};
  const sorted: Record<string, SortedScores> = {};
  for (const name of names) {
    const pairs = options.scenarios[name];
    const scores = new Float64Array(pairs.length);
    const distances = new Float64Array(pairs.length);
    const genuine = pairs.map((pair) => pair.genuine);
    pairs.forEach((pair, p) => {
      const a = index.get(viewId(pair.first))! * width;
      const b = index.get(viewId(pair.second))! * width;
      let dot = 0;
      let squared = 0;
      for (let c = 0; c < width; c++) {
        dot += embeddings[a + c] * embeddings[b + c];
        squared += (embeddings[a + c] - embeddings[b + c]) ** 2;
      }
      scores[p] = dot;
      distances[p] = squared;
    });
    let scoreSets: SortedScores;
    try {
      scoreSets = SortedScores.fromPairs(scores, genuine);
    } catch (error) {
      throw new RangeError(`scenario ${name}: ${error instanceof Error ? error.message : error}`, {
        cause: error,
      });
    }
    sorted[name] = scoreSets;
    scenarios[name] = {
      name,
      pairCount: pairs.length,
      genuineCount: scoreSets.genuineCount,
      impostorCount: scoreSets.impostorCount,
      metrics: verificationMetrics(scoreSets),
      accuracy: pairs.length >= 10 ? tenFoldAccuracyFromDistances(distances, genuine) : null,
      tarAtFar: (options.tarFars ?? [1e-2, 1e-3, 1e-4]).map((far) => tarAtFar(scoreSets, far)),
      scores: Array.from(scores),
      genuine,
    };
  }
  const referenceName = options.calibrationReference ?? (names.includes("UM-UM") ? "UM-UM" : undefined);
  let calibration: Calibration | null = null;
  if (referenceName !== undefined) {
    if (!(referenceName in sorted)) {
      throw new RangeError(`calibration reference ${referenceName} is not a scenario`);
    }
    const others = Object.fromEntries(names.filter((n) => n !== referenceName).map((n) => [n, sorted[n]]));
    calibration = calibrateThresholds(
      referenceName,
      sorted[referenceName],
      others,
      options.calibrationFmrs ?? DEFAULT_CALIBRATION_FMRS,
    );
  }
  return {
    model: embedder.name,
    embeddingSize: width,
    flip,
    viewCount: views.length,
    seconds: (performance.now() - started) / 1000,
    scenarios,
    calibration,
  };
}

/**
 * The table row of an evaluation, for `resultsTableMarkdown` / `resultsTableHtml` and bar charts.
 *
 * @param name Row label (default: the model's name).
 * @example
 * ```ts
 * import { evaluationTableRow, resultsTableMarkdown, type VerificationEvaluation } from "./mod.ts";
 * declare const result: VerificationEvaluation;
 * console.log(resultsTableMarkdown([evaluationTableRow(result, "MaskInv-LG")]));
 * ```
 */
export function evaluationTableRow(evaluation: VerificationEvaluation, name = evaluation.model): TableRow {
  const scenarios: Record<string, ScenarioSummary> = {};
  for (const [scenario, result] of Object.entries(evaluation.scenarios)) {
    const { eer, fmr100, fmr1000, gMean, iMean, fdr } = result.metrics;
    scenarios[scenario] = {
      eer,
      fmr100,
      fmr1000,
      gMean,
      iMean,
      fdr,
      accuracy: result.accuracy?.meanAccuracy,
    };
  }
  return { name, scenarios };
}

/**
 * The sorted scores of one evaluated scenario, e.g. for DET plots and histograms.
 *
 * @example
 * ```ts
 * import { scenarioScores, type VerificationEvaluation } from "./mod.ts";
 * declare const result: VerificationEvaluation;
 * console.log(scenarioScores(result.scenarios["M-M"]).genuineCount);
 * ```
 */
export function scenarioScores(scenario: ScenarioEvaluation): SortedScores {
  return SortedScores.fromPairs(scenario.scores, scenario.genuine);
}
