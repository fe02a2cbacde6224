/**
 * Evaluation on real faces: MFR2 (real masks) and other photo benchmarks (ORL) that must be aligned first.
 *
 * - {@linkcode alignVerificationFaces}: decodes every image of a set, finds its five landmarks (through an
 *   optional {@linkcode CachedLandmarker}) and aligns it to the ArcFace 112x112 template. Nothing is dropped
 *   silently: a face without landmarks is aligned with the mean landmarks of the set (`fallback: "mean"`,
 *   for crops framed alike such as MFR2) or reported as not aligned, with the detector's reason.
 * - {@linkcode prepareMfr2}: aligns MFR2 and splits its 848 official pairs by real mask state into UM-UM /
 *   M-UM / M-M (`mfr2_labels.txt`); pairs with an image that could not be aligned are listed, not hidden.
 * - {@linkcode syntheticMaskAppliers}: reproducible synthetic masks (the project's templates, or the paper's
 *   released template) for aligned faces, keyed per image.
 * - {@linkcode maskShiftDesign}: the synthetic-vs-real comparison on MFR2 (see its notes), and
 *   {@linkcode maskShiftRows} / {@linkcode maskShiftTableMarkdown} for the score shift each mask source causes.
 * - {@linkcode calibrationTableMarkdown}: the operational thresholds (FMR 1e-2 / 1e-3 on UM-UM) and the
 *   FMR/FNMR the masked scenarios get there.
 *
 * Native image code (sharp, the landmark models) is imported only when a function needs it.
 *
 * @module
 */
import {
  greyToRgb,
  type Mfr2,
  type Mfr2Image,
  type Pixels,
  toPixels,
  type VerificationSet,
} from "../data/mod.ts";
import type { FaceLandmarker, LandmarkFailure, LandmarkOrigin } from "../image/mod.ts";
import type { MaskTemplate } from "../masks/mod.ts";
import type { ProgressOutput } from "../util/mod.ts";
import type { MaskApplier, VerificationEvaluation } from "./evaluate.ts";
import { CachedLandmarker } from "./landmark_cache.ts";
import {
  realMaskScenarios,
  type ScenarioName,
  type ScenarioPair,
  type Scenarios,
  type ViewKey,
} from "./scenarios.ts";
import { SortedScores } from "./scores.ts";
import type { VerificationMetrics } from "./verification.ts";

// ------------------------------------------------------------------------------------------- alignment

/** Options of {@linkcode alignVerificationFaces}. */
export interface FaceAlignmentOptions {
  /**
   * Faces whose landmarks are not found: `mean` (default) aligns them with the mean relative landmark
   * positions of the faces found in the same run and reports them; `none` leaves them unaligned (reported).
   */
  fallback?: "none" | "mean";
  /** The images are face crops (MFR2, ORL): helps the detector (default true). */
  faceCrop?: boolean;
  /** A landmark cache file (JSON, see {@linkcode CachedLandmarker}); absent: no cache. */
  cacheFile?: string;
  /** The landmark finder (default: lib/image's shared detector). */
  detector?: FaceLandmarker;
  /** Progress output (default `auto`). */
  progress?: ProgressOutput;
  /** Progress label (default `align <set name>`). */
  label?: string;
  /** Names of images in the report (default `set.imageName`); must be distinct. */
  nameOf?: (image: number) => string;
}

/** A face that was not aligned from its own landmarks. */
export interface AlignmentProblem {
  /** Index of the image in its set. */
  image: number;
  /** Its name. */
  name: string;
  /** `unreadable`, `no-face` or `low-confidence`. */
  reason: string;
  /** The detector's or decoder's sentence. */
  message: string;
  /** `mean-landmarks`: aligned with the mean landmarks; `not-aligned`: left out. */
  handled: "mean-landmarks" | "not-aligned";
}

/** Counts and problems of an alignment run; plain data. */
export interface AlignmentSummary {
  /** Images asked for. */
  total: number;
  /** Aligned from detected landmarks. */
  detected: number;
  /** Aligned with the mean landmarks. */
  meanFallback: number;
  /** Not aligned at all. */
  notAligned: number;
  /** The fallback used. */
  fallback: "none" | "mean";
  /** Problems by reason. */
  byReason: Record<string, number>;
  /** Every face not aligned from its own landmarks, in image order. */
  problems: AlignmentProblem[];
  /** Landmark cache use, when a cache file was given. */
  cache: { path: string; hits: number; misses: number } | null;
  /** Wall-clock seconds. */
  seconds: number;
}

/** Aligned faces of a set, by image index. */
export interface AlignedFaces {
  /** ArcFace-aligned 112x112 RGB faces; `null` where the image could not be aligned. */
  faces: (Pixels | null)[];
  /** Where each face's landmarks came from (`null`: not aligned). */
  origins: (LandmarkOrigin | null)[];
  /** Counts and problems. */
  summary: AlignmentSummary;
}

/**
 * Aligns every image of a verification set (see the module notes). Grey images are replicated to RGB.
 *
 * @throws {Error} When the landmark cache file is corrupt or names collide.
 * @example
 * ```ts
 * import { Orl } from "../data/mod.ts";
 * import { alignVerificationFaces } from "./real_faces.ts";
 * declare const orl: Orl; // e.g. await Orl.open("data/orl")
 * const aligned = await alignVerificationFaces(orl, { cacheFile: ".maskinv-cache/landmarks/orl.json" });
 * console.log(aligned.summary.detected, aligned.summary.problems);
 * ```
 */
export async function alignVerificationFaces(
  set: VerificationSet,
  options: FaceAlignmentOptions = {},
): Promise<AlignedFaces> {
  const started = performance.now();
  const { alignImages, decodeImage } = await import("../image/mod.ts");
  const fallback = options.fallback ?? "mean";
  if (fallback !== "none" && fallback !== "mean") {
    throw new RangeError(`fallback must be "none" or "mean", got ${JSON.stringify(fallback)}`);
  }
  const nameOf = options.nameOf ?? ((i: number) => set.imageName(i));
  const count = set.imageCount;
  const names = Array.from({ length: count }, (_, i) => nameOf(i));
  const indexOf = new Map<string, number>();
  names.forEach((name, i) => {
    if (indexOf.has(name)) throw new Error(`${set.name}: two images are named ${JSON.stringify(name)}`);
    indexOf.set(name, i);
  });
  const problems: AlignmentProblem[] = [];
  const sources: { name: string; image: Pixels }[] = [];
  for (let i = 0; i < count; i++) {
    try {
      const pixels = await toPixels(
        await set.image(i),
        set.imageName(i),
        (bytes, source) => decodeImage(bytes, source),
      );
      sources.push({ name: names[i], image: greyToRgb(pixels) });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      problems.push({ image: i, name: names[i], reason: "unreadable", message, handled: "not-aligned" });
    }
  }
  const cache = options.cacheFile ? await CachedLandmarker.open(options.cacheFile, options.detector) : null;
  // Remember why detection failed on each image, for faces the mean fallback aligns.
  const failures = new WeakMap<Pixels, LandmarkFailure>();
  let inner: FaceLandmarker | undefined = cache ?? options.detector;
  const recording: FaceLandmarker = {
    detect: async (image, detectOptions) => {
      inner ??= await (await import("../image/mod.ts")).loadSharedDetector();
      const result = await inner.detect(image, detectOptions);
      if (!result.ok) failures.set(image, result);
      return result;
    },
  };
  const report = await alignImages(sources, {
    faceCrop: options.faceCrop ?? true,
    fallback,
    detector: recording,
    progress: options.progress ?? "auto",
    label: options.label ?? `align ${set.name}`,
  });
  await cache?.save();
  const sourceByName = new Map(sources.map((source) => [source.name, source]));
  const faces: (Pixels | null)[] = new Array(count).fill(null);
  const origins: (LandmarkOrigin | null)[] = new Array(count).fill(null);
  for (const face of report.aligned) {
    const i = indexOf.get(face.name)!;
    faces[i] = face.image;
    origins[i] = face.landmarkSource;
    if (face.landmarkSource === "mean") {
      const failure = failures.get(sourceByName.get(face.name)!.image);
      problems.push({
        image: i,
        name: face.name,
        reason: failure?.reason ?? "no-face",
        message: failure?.message ?? face.detectionFailure ?? "landmarks not found",
        handled: "mean-landmarks",
      });
    }
  }
  for (const failure of report.failed) {
    const i = indexOf.get(failure.name)!;
    problems.push({
      image: i,
      name: failure.name,
      reason: failure.reason,
      message: failure.message,
      handled: "not-aligned",
    });
  }
  problems.sort((a, b) => a.image - b.image);
  const byReason: Record<string, number> = {};
  for (const p of problems) byReason[p.reason] = (byReason[p.reason] ?? 0) + 1;
  return {
    faces,
    origins,
    summary: {
      total: count,
      detected: origins.filter((o) => o === "detected").length,
      meanFallback: origins.filter((o) => o === "mean").length,
      notAligned: faces.filter((f) => f === null).length,
      fallback,
      byReason,
      problems,
      cache: cache ? { path: cache.path, hits: cache.stats.hits, misses: cache.stats.misses } : null,
      seconds: (performance.now() - started) / 1000,
    },
  };
}

/**
 * A view loader over aligned faces: the face of `view.image`, with the view's mask variant applied.
 *
 * @param faces Aligned faces by image index (`null`: not aligned, an error when asked for).
 * @param masks Mask variants by name.
 * @example
 * ```ts
 * import { alignedFaceViews } from "./real_faces.ts";
 * const face = { width: 112, height: 112, channels: 3 as const, data: new Uint8Array(112 * 112 * 3) };
 * const views = alignedFaceViews([face], { dark: (f) => ({ ...f, data: f.data.map(() => 0) }) });
 * console.log((await views({ image: 0, mask: "dark" })).width); // 112
 * ```
 */
export function alignedFaceViews(
  faces: readonly (Pixels | null)[],
  masks: Record<string, MaskApplier> = {},
): (view: ViewKey) => Promise<Pixels> {
  return async (view) => {
    const face = faces[view.image];
    if (face == null) throw new Error(`image ${view.image} was not aligned and cannot be embedded`);
    if (view.mask === null) return face;
    const apply = masks[view.mask];
    if (apply === undefined) {
      throw new RangeError(
        `no mask variant "${view.mask}" (known: ${Object.keys(masks).join(", ") || "none"})`,
      );
    }
    return await apply(face, view.image);
  };
}

// ------------------------------------------------------------------------------------------------ MFR2

/** Pair counts of one scenario. */
export interface ScenarioCounts {
  /** All pairs. */
  pairs: number;
  /** Genuine pairs. */
  genuine: number;
  /** Impostor pairs. */
  impostor: number;
}

/** An official pair left out because one of its images could not be aligned. */
export interface ExcludedPair {
  /** Index in `pairs.txt` order (0-based). */
  pair: number;
  /** Its real-mask scenario. */
  scenario: ScenarioName;
  /** First image name. */
  first: string;
  /** Second image name. */
  second: string;
  /** Genuine pair. */
  genuine: boolean;
}

/** An MFR2 face not aligned from its own landmarks, with its mask type and the pairs it is in. */
export interface Mfr2AlignmentProblem extends AlignmentProblem {
  /** `no-mask`, `surgical_blue`, … */
  maskType: string;
  /** Real mask worn. */
  masked: boolean;
  /** Number of official pairs the image is in. */
  pairs: number;
}

/** MFR2 aligned and split by real mask state. */
export interface PreparedMfr2 {
  /** The benchmark. */
  mfr2: Mfr2;
  /** Aligned faces by image index. */
  aligned: AlignedFaces;
  /** Problems with mask types and pair counts. */
  problems: Mfr2AlignmentProblem[];
  /** Pairs per scenario (the masked image of a M-UM pair is the probe), without excluded pairs. */
  scenarios: Record<ScenarioName, ScenarioPair[]>;
  /** Counts of the official pairs per scenario. */
  officialCounts: Record<ScenarioName, ScenarioCounts>;
  /** Counts of the pairs evaluated (official minus excluded). */
  counts: Record<ScenarioName, ScenarioCounts>;
  /** Official pairs left out (only with `fallback: "none"`). */
  excludedPairs: ExcludedPair[];
}

/**
 * The portable name of an MFR2 image, e.g. `"AdrianDunbar/AdrianDunbar_0001.png"`.
 *
 * @example
 * ```ts
 * import { mfr2ImageName } from "./real_faces.ts";
 * console.log(mfr2ImageName({ identity: "A", number: 3 })); // "A/A_0003.png"
 * ```
 */
export function mfr2ImageName(image: Pick<Mfr2Image, "identity" | "number">): string {
  return `${image.identity}/${image.identity}_${String(image.number).padStart(4, "0")}.png`;
}

function countPairs(pairs: readonly { genuine: boolean }[]): ScenarioCounts {
  const genuine = pairs.filter((p) => p.genuine).length;
  return { pairs: pairs.length, genuine, impostor: pairs.length - genuine };
}

/**
 * Aligns MFR2 and splits its official pairs by real mask state (see the module notes).
 *
 * @example
 * ```ts
 * import type { Mfr2 } from "../data/mod.ts";
 * import { prepareMfr2 } from "./real_faces.ts";
 * declare const mfr2: Mfr2; // e.g. await Mfr2.open("data/mfr2")
 * const prepared = await prepareMfr2(mfr2, { cacheFile: ".maskinv-cache/landmarks/mfr2.json" });
 * console.log(prepared.counts["M-UM"], prepared.problems.length);
 * ```
 */
export async function prepareMfr2(mfr2: Mfr2, options: FaceAlignmentOptions = {}): Promise<PreparedMfr2> {
  const aligned = await alignVerificationFaces(mfr2, {
    nameOf: (i) => mfr2ImageName(mfr2.images[i]),
    label: "align mfr2",
    ...options,
  });
  const official = realMaskScenarios(mfr2.pairs, (i) => mfr2.images[i].masked);
  const scenarioOf = mfr2.pairScenarios();
  const usable = (i: number) => aligned.faces[i] !== null;
  const excludedPairs: ExcludedPair[] = [];
  mfr2.pairs.forEach((pair, p) => {
    if (usable(pair.first) && usable(pair.second)) return;
    excludedPairs.push({
      pair: p,
      scenario: scenarioOf[p],
      first: mfr2ImageName(mfr2.images[pair.first]),
      second: mfr2ImageName(mfr2.images[pair.second]),
      genuine: pair.genuine,
    });
  });
  const scenarios = {} as Record<ScenarioName, ScenarioPair[]>;
  const officialCounts = {} as Record<ScenarioName, ScenarioCounts>;
  const counts = {} as Record<ScenarioName, ScenarioCounts>;
  for (const name of ["UM-UM", "M-UM", "M-M"] as const) {
    officialCounts[name] = countPairs(official[name]);
    scenarios[name] = official[name].filter((p) => usable(p.first.image) && usable(p.second.image));
    counts[name] = countPairs(scenarios[name]);
  }
  const pairsOf = new Array(mfr2.imageCount).fill(0);
  for (const pair of mfr2.pairs) pairsOf[pair.first]++, pairsOf[pair.second]++;
  const problems = aligned.summary.problems.map((p): Mfr2AlignmentProblem => ({
    ...p,
    maskType: mfr2.images[p.image].maskType,
    masked: mfr2.images[p.image].masked,
    pairs: pairsOf[p.image],
  }));
  return { mfr2, aligned, problems, scenarios, officialCounts, counts, excludedPairs };
}

/**
 * The plain-data part of a {@linkcode PreparedMfr2} (no pixels), for JSON reports.
 *
 * @example
 * ```ts
 * import { mfr2Report, type PreparedMfr2 } from "./real_faces.ts";
 * declare const prepared: PreparedMfr2;
 * console.log(JSON.stringify(mfr2Report(prepared)));
 * ```
 */
export function mfr2Report(prepared: PreparedMfr2): {
  alignment: AlignmentSummary & { problems: Mfr2AlignmentProblem[] };
  officialCounts: Record<ScenarioName, ScenarioCounts>;
  counts: Record<ScenarioName, ScenarioCounts>;
  excludedPairs: ExcludedPair[];
} {
  return {
    alignment: { ...prepared.aligned.summary, problems: prepared.problems },
    officialCounts: prepared.officialCounts,
    counts: prepared.counts,
    excludedPairs: prepared.excludedPairs,
  };
}

// --------------------------------------------------------------------------------------- synthetic masks

/** Options of {@linkcode syntheticMaskAppliers}. */
export interface SyntheticMaskOptions {
  /** The project's templates (`loadTemplateFolder()`), for the `clean` variants. */
  templates: readonly MaskTemplate[];
  /** The released MaskInv template (RGBA, `readPaperTemplate`); enables the `paper` variant. */
  paperTemplate?: Pixels;
  /** Seed of the per-image parameters (default 0). */
  seed?: number;
  /** A stable key per image (e.g. its portable name): with the seed, it fixes the image's mask. */
  keyOf: (image: number) => string;
  /** Also one variant per template, `clean:<name>` (default false). */
  perTemplate?: boolean;
  /** Probability of a fabric pattern on texturable templates (default 0.5, as `drawMaskParams`). */
  textureProbability?: number;
}

/**
 * Mask variants for aligned 112x112 faces, each drawn reproducibly from `(seed, key)`:
 *
 * - `clean`: one of the project's templates per image, with a colour of its palette (and maybe a fabric);
 * - `clean:<template>` (with `perTemplate`): that template on every face;
 * - `paper` (with `paperTemplate`): the paper's released compositing, byte-exact, colour per image, no shift.
 *
 * @example
 * ```ts
 * import { loadTemplateFolder } from "../masks/mod.ts";
 * import { syntheticMaskAppliers } from "./real_faces.ts";
 * const masks = await syntheticMaskAppliers({ templates: await loadTemplateFolder(), keyOf: (i) => `face${i}` });
 * const face = { width: 112, height: 112, channels: 3 as const, data: new Uint8Array(112 * 112 * 3).fill(150) };
 * console.log(Object.keys(masks), (await masks.clean(face, 0)).width); // [ "clean" ] 112
 * ```
 */
export async function syntheticMaskAppliers(
  options: SyntheticMaskOptions,
): Promise<Record<string, MaskApplier>> {
  const { applyMask, drawMaskParams, maskResources } = await import("../masks/mod.ts");
  const seed = options.seed ?? 0;
  const resources = maskResources(options.templates, options.paperTemplate);
  const appliers: Record<string, MaskApplier> = {};
  const clean = (templates: readonly MaskTemplate[]): MaskApplier => (face, image) => {
    const [params] = drawMaskParams([options.keyOf(image)], {
      seed,
      mode: "clean",
      templates,
      textureProbability: options.textureProbability,
    });
    return applyMask(face, params, resources);
  };
  if (options.templates.length > 0) {
    appliers.clean = clean(options.templates);
    if (options.perTemplate) {
      for (const template of options.templates) appliers[`clean:${template.name}`] = clean([template]);
    }
  }
  if (options.paperTemplate) {
    appliers.paper = (face, image) => {
      const [params] = drawMaskParams([options.keyOf(image)], { seed, mode: "paper" });
      return applyMask(face, params, resources);
    };
  }
  return appliers;
}

// ------------------------------------------------------------------------------- synthetic vs real masks

/** One condition of the synthetic-vs-real comparison. */
export interface MaskShiftCondition {
  /** Scenario name in the evaluation, e.g. `"M-UM real"`, `"M-M paper"`, `"UM-UM"`. */
  name: string;
  /** Which images wear a mask. */
  scenario: ScenarioName;
  /** `none` (UM-UM), `real`, or the synthetic mask variant. */
  masks: string;
}

/** The comparison's pairs and what they are made of. */
export interface MaskShiftDesign {
  /** Identities with at least two usable unmasked photos and one usable real-masked photo. */
  identities: string[];
  /** Their usable unmasked photos (image indices): the references, and the faces masked synthetically. */
  unmasked: number[];
  /** Their usable real-masked photos. */
  realMasked: number[];
  /** Conditions, in table order. */
  conditions: MaskShiftCondition[];
  /** Pairs per condition name, for `evaluateVerification` (calibrate on `"UM-UM"`). */
  scenarios: Scenarios;
}

/**
 * The synthetic-vs-real comparison on MFR2. Real masks come on other photos than the unmasked ones, so the
 * comparison is built so that every genuine comparison is between two *different photos* of a person, the
 * reference always unmasked, and only the probe's mask source changes:
 *
 * - identities: those with ≥ 2 unmasked and ≥ 1 real-masked usable photo (45 of 53 in MFR2); U = their
 *   unmasked photos, M = their real-masked photos;
 * - `UM-UM` (baseline): every unordered pair of distinct photos in U;
 * - `M-UM real`: every (u, m), u ∈ U, m ∈ M;
 * - `M-UM <mask>`: every ordered (u, mask(u′)), u ≠ u′ ∈ U — the probe is an unmasked photo masked
 *   synthetically, so the pairs are exactly the baseline's with the probe masked;
 * - `M-M real`: every unordered pair of distinct photos in M;
 * - `M-M <mask>`: every unordered pair {mask(u), mask(u′)}, u ≠ u′ ∈ U.
 *
 * The shift of a condition is its metric minus the baseline's. A synthetic mask stands in for real masks
 * to the extent that its shift matches the real one; the real shift also contains what differs between the
 * photos people took with and without masks (time, pose, light), which the synthetic one cannot.
 *
 * @param mfr2 The benchmark.
 * @param usable Whether image `i` can be used (aligned).
 * @param syntheticMasks Mask variant names, e.g. `["clean", "paper"]`.
 * @example
 * ```ts
 * import { maskShiftDesign, type PreparedMfr2 } from "./real_faces.ts";
 * declare const prepared: PreparedMfr2;
 * const design = maskShiftDesign(prepared.mfr2, (i) => prepared.aligned.faces[i] !== null, ["clean"]);
 * console.log(design.identities.length, Object.keys(design.scenarios));
 * ```
 */
export function maskShiftDesign(
  mfr2: Pick<Mfr2, "images" | "identities">,
  usable: (image: number) => boolean,
  syntheticMasks: readonly string[],
): MaskShiftDesign {
  const unmaskedOf = new Map<number, number[]>();
  const maskedOf = new Map<number, number[]>();
  mfr2.images.forEach((image, i) => {
    if (!usable(i)) return;
    const table = image.masked ? maskedOf : unmaskedOf;
    const list = table.get(image.label) ?? [];
    list.push(i);
    table.set(image.label, list);
  });
  const labels = [...unmaskedOf.keys()]
    .filter((label) => (unmaskedOf.get(label)?.length ?? 0) >= 2 && (maskedOf.get(label)?.length ?? 0) >= 1)
    .sort((a, b) => a - b);
  const unmasked = labels.flatMap((label) => unmaskedOf.get(label)!);
  const realMasked = labels.flatMap((label) => maskedOf.get(label)!);
  const labelOf = (i: number) => mfr2.images[i].label;
  const view = (image: number, mask: string | null): ViewKey => ({ image, mask });
  const unordered = (images: number[], mask: string | null): ScenarioPair[] => {
    const pairs: ScenarioPair[] = [];
    for (let a = 0; a < images.length; a++) {
      for (let b = a + 1; b < images.length; b++) {
        pairs.push({
          first: view(images[a], mask),
          second: view(images[b], mask),
          genuine: labelOf(images[a]) === labelOf(images[b]),
        });
      }
    }
    return pairs;
  };
  const conditions: MaskShiftCondition[] = [{ name: "UM-UM", scenario: "UM-UM", masks: "none" }];
  const scenarios: Scenarios = { "UM-UM": unordered(unmasked, null) };
  const add = (scenario: ScenarioName, masks: string, pairs: ScenarioPair[]) => {
    const name = `${scenario} ${masks}`;
    if (name in scenarios) throw new RangeError(`mask variant "${masks}" is given twice`);
    conditions.push({ name, scenario, masks });
    scenarios[name] = pairs;
  };
  for (const masks of ["real", ...syntheticMasks]) {
    if (masks === "" || masks === "none") throw new RangeError(`"${masks}" is not a mask variant name`);
    if (masks === "real") {
      add(
        "M-UM",
        masks,
        unmasked.flatMap((u) =>
          realMasked.map((m) => ({
            first: view(u, null),
            second: view(m, null),
            genuine: labelOf(u) === labelOf(m),
          }))
        ),
      );
    } else {
      add(
        "M-UM",
        masks,
        unmasked.flatMap((u) =>
          unmasked.filter((v) => v !== u).map((v) => ({
            first: view(u, null),
            second: view(v, masks),
            genuine: labelOf(u) === labelOf(v),
          }))
        ),
      );
    }
  }
  for (const masks of ["real", ...syntheticMasks]) {
    add("M-M", masks, masks === "real" ? unordered(realMasked, null) : unordered(unmasked, masks));
  }
  return {
    identities: labels.map((label) => mfr2.identities[label]),
    unmasked,
    realMasked,
    conditions,
    scenarios,
  };
}

/** One row of the synthetic-vs-real table. */
export interface MaskShiftRow {
  /** The condition. */
  condition: MaskShiftCondition;
  /** Genuine and impostor pair counts. */
  genuine: number;
  /** Impostor pairs. */
  impostor: number;
  /** All metrics of the condition. */
  metrics: VerificationMetrics;
  /** Shift against the UM-UM baseline: G-mean, I-mean, EER, FMR100 (this minus baseline). */
  shift: { gMean: number; iMean: number; eer: number; fmr100: number };
}

/**
 * The rows of the synthetic-vs-real table from an evaluation of {@linkcode MaskShiftDesign.scenarios}.
 *
 * @throws {RangeError} When the evaluation lacks a condition of the design.
 * @example
 * ```ts
 * import { maskShiftRows, type MaskShiftDesign } from "./real_faces.ts";
 * import type { VerificationEvaluation } from "./evaluate.ts";
 * declare const design: MaskShiftDesign;
 * declare const evaluation: VerificationEvaluation;
 * console.log(maskShiftRows(evaluation, design).map((r) => r.shift.eer));
 * ```
 */
export function maskShiftRows(evaluation: VerificationEvaluation, design: MaskShiftDesign): MaskShiftRow[] {
  const metricsOf = (name: string): { metrics: VerificationMetrics; genuine: number; impostor: number } => {
    const scenario = evaluation.scenarios[name];
    if (!scenario) throw new RangeError(`the evaluation has no scenario "${name}"`);
    return {
      metrics: scenario.metrics,
      genuine: scenario.genuineCount,
      impostor: scenario.impostorCount,
    };
  };
  const baseline = metricsOf("UM-UM").metrics;
  return design.conditions.map((condition) => {
    const { metrics, genuine, impostor } = metricsOf(condition.name);
    return {
      condition,
      genuine,
      impostor,
      metrics,
      shift: {
        gMean: metrics.gMean - baseline.gMean,
        iMean: metrics.iMean - baseline.iMean,
        eer: metrics.eer - baseline.eer,
        fmr100: metrics.fmr100 - baseline.fmr100,
      },
    };
  });
}

const signed = (value: number, digits: number) =>
  `${value >= 0 ? "+" : "−"}${Math.abs(value).toFixed(digits)}`;

/**
 * The synthetic-vs-real table as Markdown: one block of rows per model; G-mean, I-mean, EER, FMR100 with
 * their shift against UM-UM.
 *
 * @example
 * ```ts
 * import { type MaskShiftDesign, maskShiftRows, maskShiftTableMarkdown } from "./real_faces.ts";
 * import type { VerificationEvaluation } from "./evaluate.ts";
 * declare const design: MaskShiftDesign;
 * declare const evaluation: VerificationEvaluation;
 * console.log(maskShiftTableMarkdown([{ model: "npm:mobileface", rows: maskShiftRows(evaluation, design) }]));
 * ```
 */
export function maskShiftTableMarkdown(
  models: readonly { model: string; rows: readonly MaskShiftRow[] }[],
): string {
  const lines = [
    "| model | scenario | masks | pairs (G / I) | G-mean (Δ) | I-mean (Δ) | EER % (Δ) | FMR100 % (Δ) |",
    "|---|---|---|---|---|---|---|---|",
  ];
  for (const { model, rows } of models) {
    for (const row of rows) {
      const m = row.metrics;
      const baseline = row.condition.masks === "none";
      const delta = (v: number, digits: number) => baseline ? "" : ` (${signed(v, digits)})`;
      lines.push(
        `| ${model} | ${row.condition.scenario} | ${row.condition.masks} | ${row.genuine} / ${row.impostor} | ` +
          `${m.gMean.toFixed(3)}${delta(row.shift.gMean, 3)} | ${m.iMean.toFixed(3)}${
            delta(row.shift.iMean, 3)
          } | ` +
          `${(m.eer * 100).toFixed(2)}${delta(row.shift.eer * 100, 2)} | ` +
          `${(m.fmr100 * 100).toFixed(2)}${delta(row.shift.fmr100 * 100, 2)} |`,
      );
    }
  }
  return lines.join("\n");
}

/** Options of {@linkcode maskShiftDetSeries}. */
export interface MaskShiftDetOptions {
  /** Put before the mask source, e.g. the model name when several models share a plot. */
  prefix?: string;
  /** Mask sources to include (`none`, `real`, variant names); default all. */
  masks?: readonly string[];
}

/**
 * Score sets of a design's conditions for DET plots (`detFigure` of lib/plots): the mask source as the
 * series' model, the scenario as its dash.
 *
 * @example
 * ```ts
 * import { maskShiftDetSeries, type MaskShiftDesign } from "./real_faces.ts";
 * import type { VerificationEvaluation } from "./evaluate.ts";
 * declare const evaluation: VerificationEvaluation;
 * declare const design: MaskShiftDesign;
 * const series = maskShiftDetSeries(evaluation, design, { masks: ["none", "real", "paper"] });
 * console.log(series.map((s) => `${s.model} ${s.scenario}`));
 * ```
 */
export function maskShiftDetSeries(
  evaluation: VerificationEvaluation,
  design: MaskShiftDesign,
  options: MaskShiftDetOptions = {},
): { model: string; scenario: string; scores: SortedScores }[] {
  const include = options.masks ? new Set(options.masks) : null;
  return design.conditions.filter((c) => include === null || include.has(c.masks)).map((condition) => {
    const scenario = evaluation.scenarios[condition.name];
    if (!scenario) throw new RangeError(`the evaluation has no scenario "${condition.name}"`);
    const source = condition.masks === "none"
      ? "no mask"
      : condition.masks === "real"
      ? "real masks"
      : `synthetic ${condition.masks}`;
    return {
      model: options.prefix ? `${options.prefix} · ${source}` : source,
      scenario: condition.scenario,
      scores: SortedScores.fromPairs(scenario.scores, scenario.genuine),
    };
  });
}

// ----------------------------------------------------------------------------------------- calibration

/**
 * The operational-threshold table: per model and target FMR, the threshold fixed on the reference scenario
 * (UM-UM) and the FMR / FNMR each scenario reaches at it.
 *
 * @param models Evaluations with a calibration (e.g. from `evaluateVerification` with UM-UM present).
 * @param scenarios Columns (default: the reference, then the others of the first calibration).
 * @example
 * ```ts
 * import { calibrationTableMarkdown } from "./real_faces.ts";
 * import type { VerificationEvaluation } from "./evaluate.ts";
 * declare const evaluation: VerificationEvaluation;
 * console.log(calibrationTableMarkdown([evaluation]));
 * ```
 */
export function calibrationTableMarkdown(
  models: readonly VerificationEvaluation[],
  scenarios?: readonly string[],
): string {
  const first = models.find((m) => m.calibration !== null)?.calibration;
  if (!first) return "(no calibration: the evaluation has no UM-UM reference scenario)";
  const reference = first.referenceName;
  const columns = scenarios ?? [reference, ...Object.keys(first.points[0]?.scenarios ?? {})];
  const percent = (v: number) => (v * 100).toFixed(2);
  const lines = [
    `| model | target FMR on ${reference} | threshold | ${
      columns.map((c) => `${c} FMR % / FNMR %`).join(" | ")
    } |`,
    `|---|---|---|${columns.map(() => "---").join("|")}|`,
  ];
  for (const model of models) {
    for (const point of model.calibration?.points ?? []) {
      const cells = columns.map((name) => {
        if (name === reference) return `${percent(point.reference.fmr)} / ${percent(point.reference.fnmr)}`;
        const at = point.scenarios[name];
        return at ? `${percent(at.fmr)} / ${percent(at.fnmr)}` : "";
      });
      const threshold = point.reference.threshold === null
        ? "unreachable"
        : point.reference.threshold.toPrecision(6);
      lines.push(`| ${model.model} | ${point.targetFmr} | ${threshold} | ${cells.join(" | ")} |`);
    }
  }
  return lines.join("\n");
}
