/**
 * `deno task eval`: verification results of face models on a benchmark, per scenario (UM-UM, M-UM, M-M),
 * with every metric of the paper, the operational thresholds, and optionally the synthetic-vs-real mask
 * comparison and DET plots.
 *
 * ```
 * deno task eval -- --model <checkpoint dir | .pth | npm:mobilefacenet | npm:mobileface> [--model …]
 *                   --data <mfr2 dir | orl dir | file.bin | synthetic> [options]
 * deno task eval:mfr2 -- --mfr2 <dir> [--model …] [options]     (MFR2 with the synthetic-vs-real comparison;
 *                                                                 default models: both npm models)
 *
 *   --scenarios LIST       um-um,m-um,m-m (default all three)
 *   --json FILE            write everything (metrics, scores, thresholds, alignment report) as JSON
 *   --plots DIR            write DET plots as HTML (and PNG when Chromium is installed)
 *   --backend NAME         auto (default), tensorflow, webgpu, wasm or cpu
 *   --batch N              views embedded per call (default 32)
 *   --no-flip              no flip-sum test-time augmentation
 *   --skip-bad             leave images that are not decodable (truncated, corrupt, empty, oversized) and
 *                          their pairs out, and list them; default: the first one stops the evaluation
 *
 *   Real faces (MFR2: real masks; ORL: grey photos, all pairs):
 *   --fallback mean|none   faces without landmarks: align with the mean landmarks and report them (default),
 *                          or leave them out and report them and every pair they are in
 *   --cache DIR            landmark cache folder (default .maskinv-cache/landmarks in the project)
 *   --no-cache             always run the landmark detector
 *   --compare-synthetic    MFR2: compare the score shift of synthetic masks with that of real masks
 *
 *   Synthetic masks (.bin, synthetic data, ORL's masked scenarios, the MFR2 comparison):
 *   --mask NAME            clean (default: one of the project's templates per image), a template name
 *                          (surgical, kn95, n95, cloth, …) or paper (the released MaskInv template)
 *   --paper-template FILE  the released mask_img.png (CC BY-NC; default: ../shared/data/maskinv/mask_img.png
 *                          beside the project, when present)
 *   --seed N               seed of the per-image mask parameters (default 0)
 *
 *   Synthetic data (--data synthetic): --identities N (100) --images-per-identity N (6) --pairs N
 *                                      --data-seed N (0); identities of the evaluation pool
 * ```
 *
 * Exit status: 0 on success, 1 when the evaluation fails, 2 for bad arguments.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { taskArgs } from "./common.ts";
import {
  Mfr2,
  Orl,
  type Pixels,
  readVerificationBin,
  skipBadImages,
  type SkippedImage,
  SyntheticFaces,
  type VerificationSet,
} from "../lib/data/mod.ts";
import { decodeImage } from "../lib/image/mod.ts";
import { backendInfo, useBackend } from "../lib/engine/mod.ts";
import { loadTemplateFolder, type MaskTemplate, readPaperTemplate } from "../lib/masks/mod.ts";
import {
  alignedFaceViews,
  type AlignmentProblem,
  type AlignmentSummary,
  alignVerificationFaces,
  calibrationTableMarkdown,
  evaluateVerification,
  evaluationTableRow,
  type ExcludedPair,
  type MaskApplier,
  maskedScenarios,
  type MaskShiftDesign,
  maskShiftDesign,
  maskShiftDetSeries,
  type MaskShiftRow,
  maskShiftRows,
  maskShiftTableMarkdown,
  type Mfr2AlignmentProblem,
  mfr2ImageName,
  mfr2Report,
  prepareMfr2,
  resultsTableMarkdown,
  type ScenarioCounts,
  type ScenarioName,
  type ScenarioPair,
  type Scenarios,
  scenarioScores,
  syntheticMaskAppliers,
  type VerificationEvaluation,
  verificationSetViews,
  type ViewKey,
} from "../lib/metrics/mod.ts";
import { loadEmbedder } from "../lib/models/mod.ts";
import {
  detFigure,
  findChromium,
  type PlotlyFigure,
  writeFigureHtml,
  writeFigurePng,
} from "../lib/plots/mod.ts";
import { BadFileError, writeTextFileAtomic } from "../lib/util/mod.ts";

const USAGE =
  "usage: deno task eval -- --model <checkpoint dir | .pth | npm:mobilefacenet | npm:mobileface> " +
  "--data <mfr2 dir | orl dir | file.bin | synthetic> [--scenarios um-um,m-um,m-m] [--json out.json] " +
  "[--plots dir] [--backend auto|wasm|cpu|…] [--mask clean|paper|<template>] [--compare-synthetic]\n" +
  "       deno task eval:mfr2 -- --mfr2 <dir> [--model …] [--json out.json]";

function usage(message: string): never {
  console.error(`eval: ${message}\n${USAGE}`);
  Deno.exit(2);
}

const PROJECT = new URL("../", import.meta.url);
const DEFAULT_CACHE = decodeURIComponent(new URL(".maskinv-cache/landmarks", PROJECT).pathname);
const DEFAULT_PAPER_TEMPLATE = decodeURIComponent(
  new URL("../shared/data/maskinv/mask_img.png", PROJECT).pathname,
);
const NPM_MODELS = ["npm:mobilefacenet", "npm:mobileface"];
/** Mask sources drawn in the synthetic-vs-real DET plot (the per-template rows stay in the table). */
const DET_MASKS = ["none", "real", "clean", "paper"];

const argv = taskArgs();
let parsed;
try {
  parsed = parseArgs({
    args: argv,
    options: {
      task: { type: "string" },
      model: { type: "string", multiple: true },
      data: { type: "string" },
      mfr2: { type: "string" },
      scenarios: { type: "string", default: "um-um,m-um,m-m" },
      json: { type: "string" },
      plots: { type: "string" },
      backend: { type: "string", default: "auto" },
      batch: { type: "string", default: "32" },
      "no-flip": { type: "boolean", default: false },
      "skip-bad": { type: "boolean", default: false },
      fallback: { type: "string", default: "mean" },
      cache: { type: "string" },
      "no-cache": { type: "boolean", default: false },
      "compare-synthetic": { type: "boolean", default: false },
      mask: { type: "string", default: "clean" },
      "paper-template": { type: "string" },
      seed: { type: "string", default: "0" },
      identities: { type: "string", default: "100" },
      "images-per-identity": { type: "string", default: "6" },
      pairs: { type: "string" },
      "data-seed": { type: "string", default: "0" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
} catch (error) {
  usage(error instanceof Error ? error.message : String(error));
}
const args = parsed.values;
if (args.help) {
  console.log(USAGE);
  Deno.exit(0);
}
const mfr2Task = args.task === "mfr2";
if (args.task !== undefined && !mfr2Task) usage(`unknown --task ${JSON.stringify(args.task)}`);
const dataArg = args.mfr2 ?? args.data ?? usage(mfr2Task ? "--mfr2 <dir> is required" : "--data is required");
const modelNames = (args.model ?? (mfr2Task ? NPM_MODELS : [])).flatMap((m) => m.split(",")).filter((m) => m);
if (modelNames.length === 0) usage("--model is required");
const SCENARIO_FLAGS: Record<string, ScenarioName> = { "um-um": "UM-UM", "m-um": "M-UM", "m-m": "M-M" };
const wanted = args.scenarios.split(",").map((s) => s.trim().toLowerCase()).filter((s) => s).map((s) =>
  SCENARIO_FLAGS[s] ?? usage(`unknown scenario ${JSON.stringify(s)} (use um-um, m-um, m-m)`)
);
const integer = (name: string, text: string, min: number): number => {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min) usage(`--${name} must be an integer ≥ ${min}, got ${text}`);
  return value;
};
const batchSize = integer("batch", args.batch, 1);
const maskSeed = integer("seed", args.seed, 0);
if (args.fallback !== "mean" && args.fallback !== "none") usage(`--fallback must be mean or none`);
const fallback = args.fallback as "mean" | "none";
const compareSynthetic = args["compare-synthetic"] || mfr2Task;
const cacheDir = args["no-cache"] ? null : (args.cache ?? DEFAULT_CACHE);
const skipBad = args["skip-bad"];

// ------------------------------------------------------------------------------------------- the data

type DataKind = "mfr2" | "orl" | "bin" | "synthetic";

async function dataKind(source: string): Promise<DataKind> {
  if (source === "synthetic") return "synthetic";
  if (source.endsWith(".bin")) return "bin";
  const exists = (path: string) => Deno.stat(path).then(() => true, () => false);
  const dir = source.replace(/\/+$/, "");
  if (await exists(`${dir}/mfr2_labels.txt`)) return "mfr2";
  if (await exists(`${dir}/s1`)) return "orl";
  usage(`${source}: not an MFR2 folder (mfr2_labels.txt), an ORL folder (s1/…), a .bin file or "synthetic"`);
}

const kind = await dataKind(dataArg);
if (compareSynthetic && kind !== "mfr2") usage("--compare-synthetic needs MFR2 data");
const engine = await useBackend(args.backend);
console.error(`eval: engine ${engine.name}; data ${kind} (${dataArg}); models ${modelNames.join(", ")}`);

/** Loads the synthetic-mask templates on first need. */
let templates: MaskTemplate[] | undefined;
let paperTemplate: Pixels | undefined;
let paperTemplatePath: string | null = null;
async function maskAppliers(keyOf: (image: number) => string, perTemplate: boolean) {
  templates ??= await loadTemplateFolder();
  const needPaper = args.mask === "paper" || compareSynthetic;
  if (needPaper && paperTemplate === undefined) {
    const path = args["paper-template"] ?? DEFAULT_PAPER_TEMPLATE;
    const present = await Deno.stat(path).then(() => true, () => false);
    if (present) {
      paperTemplate = await readPaperTemplate(path);
      paperTemplatePath = path;
    } else if (args.mask === "paper" || args["paper-template"] !== undefined) {
      usage(`${path}: the released MaskInv template is not there (give it with --paper-template)`);
    } else {
      console.error("eval: the MaskInv template is absent: synthetic masks are the project's own only");
    }
  }
  return await syntheticMaskAppliers({ templates, paperTemplate, seed: maskSeed, keyOf, perTemplate });
}

/** The mask variant named by --mask, as an applier name. */
function maskVariant(appliers: Record<string, MaskApplier>): string {
  const name = args.mask === "clean" || args.mask === "paper" ? args.mask : `clean:${args.mask}`;
  if (!(name in appliers)) {
    const known = Object.keys(appliers).map((n) => n.replace(/^clean:/, "")).join(", ");
    usage(`unknown --mask ${JSON.stringify(args.mask)} (known: ${known})`);
  }
  return name;
}

function pickScenarios(all: Record<ScenarioName, ScenarioPair[]>): Scenarios {
  return Object.fromEntries(wanted.map((name) => [name, all[name]]));
}

function countsOf(scenarios: Scenarios): Record<string, ScenarioCounts> {
  return Object.fromEntries(
    Object.entries(scenarios).map(([name, pairs]) => {
      const genuine = pairs.filter((p) => p.genuine).length;
      return [name, { pairs: pairs.length, genuine, impostor: pairs.length - genuine }];
    }),
  );
}

interface Prepared {
  description: Record<string, unknown>;
  /** Images left out with --skip-bad (and how many pairs went with them). */
  skippedImages: { images: SkippedImage[]; pairs: number };
  scenarios: Scenarios;
  views: (view: ViewKey) => Pixels | Promise<Pixels>;
  alignment: AlignmentSummary | null;
  excludedPairs: ExcludedPair[];
  maskVariant: string | null;
  shift: { design: MaskShiftDesign; views: (view: ViewKey) => Promise<Pixels> } | null;
}

/** Unreadable photos found by the alignment: fatal unless --skip-bad, then reported like other skips. */
function unreadable(summary: AlignmentSummary, pairsLeftOut: number): Prepared["skippedImages"] {
  const images = summary.problems.filter((p) => p.reason === "unreadable").map((p) => ({
    index: p.image,
    name: p.name,
    reason: p.message,
  }));
  if (images.length > 0 && !skipBad) {
    throw new BadFileError(
      images[0].name,
      `${images[0].reason.replace(`${images[0].name}: `, "")}` +
        (images.length > 1 ? ` (and ${images.length - 1} more unreadable images)` : "") +
        "; --skip-bad leaves unreadable images and their pairs out and lists them",
    );
  }
  return { images, pairs: pairsLeftOut };
}

async function prepare(): Promise<Prepared> {
  if (kind === "mfr2") {
    const mfr2 = await Mfr2.open(dataArg);
    const prepared = await prepareMfr2(mfr2, {
      fallback,
      cacheFile: cacheDir ? `${cacheDir}/mfr2.json` : undefined,
    });
    const report = mfr2Report(prepared);
    let shift: Prepared["shift"] = null;
    if (compareSynthetic) {
      const appliers = await maskAppliers((i) => mfr2ImageName(mfr2.images[i]), true);
      const variants = Object.keys(appliers);
      const design = maskShiftDesign(mfr2, (i) => prepared.aligned.faces[i] !== null, variants);
      shift = { design, views: alignedFaceViews(prepared.aligned.faces, appliers) };
    }
    const unreadableImages = new Set(
      prepared.aligned.summary.problems.filter((p) => p.reason === "unreadable").map((p) => p.image),
    );
    const skippedImages = unreadable(
      prepared.aligned.summary,
      mfr2.pairs.filter((p) => unreadableImages.has(p.first) || unreadableImages.has(p.second)).length,
    );
    return {
      skippedImages,
      description: {
        kind,
        source: dataArg,
        images: mfr2.imageCount,
        identities: mfr2.classCount,
        officialPairs: mfr2.pairs.length,
        officialCounts: report.officialCounts,
      },
      scenarios: pickScenarios(prepared.scenarios),
      views: alignedFaceViews(prepared.aligned.faces),
      alignment: report.alignment,
      excludedPairs: report.excludedPairs,
      maskVariant: null,
      shift,
    };
  }
  if (kind === "orl") {
    const orl = await Orl.open(dataArg);
    const aligned = await alignVerificationFaces(orl, {
      fallback,
      cacheFile: cacheDir ? `${cacheDir}/orl.json` : undefined,
    });
    const usable = orl.pairs.filter((p) =>
      aligned.faces[p.first] !== null && aligned.faces[p.second] !== null
    );
    const needMasks = wanted.some((s) => s !== "UM-UM");
    const appliers = needMasks ? await maskAppliers((i) => orl.imageName(i), args.mask !== "clean") : {};
    const variant = needMasks ? maskVariant(appliers) : null;
    const excludedPairs = orl.pairs.length - usable.length;
    if (excludedPairs > 0) console.error(`eval: ${excludedPairs} ORL pairs left out (unaligned faces)`);
    const unreadableImages = new Set(
      aligned.summary.problems.filter((p) => p.reason === "unreadable").map((p) => p.image),
    );
    const skippedImages = unreadable(
      aligned.summary,
      orl.pairs.filter((p) => unreadableImages.has(p.first) || unreadableImages.has(p.second)).length,
    );
    return {
      skippedImages,
      description: {
        kind,
        source: dataArg,
        images: orl.imageCount,
        identities: orl.classCount,
        allPairs: orl.pairs.length,
        pairsLeftOut: excludedPairs,
      },
      scenarios: pickScenarios(maskedScenarios(usable, { mask: variant ?? "masked" })),
      views: alignedFaceViews(aligned.faces, appliers),
      alignment: aligned.summary,
      excludedPairs: [],
      maskVariant: variant,
      shift: null,
    };
  }
  let set: VerificationSet;
  let keyOf: (i: number) => string;
  let description: Record<string, unknown>;
  if (kind === "bin") {
    const bin = await readVerificationBin(dataArg);
    set = bin;
    keyOf = (i) => `${bin.name}#${i}`;
    description = { kind, source: dataArg, images: bin.imageCount, pairs: bin.pairs.length };
  } else {
    const identities = integer("identities", args.identities, 2);
    const imagesPerIdentity = integer("images-per-identity", args["images-per-identity"], 2);
    const dataSeed = integer("data-seed", args["data-seed"], 0);
    const pairs = args.pairs === undefined ? undefined : integer("pairs", args.pairs, 2);
    const faces = new SyntheticFaces({ split: "eval", seed: dataSeed, identities, imagesPerIdentity, pairs });
    set = faces;
    keyOf = (i) => faces.imageName(i);
    description = {
      kind,
      split: "eval",
      seed: dataSeed,
      identities,
      imagesPerIdentity,
      pairs: faces.pairs.length,
    };
  }
  let skippedImages: Prepared["skippedImages"] = { images: [], pairs: 0 };
  if (skipBad) {
    const screened = await skipBadImages(set, {
      decode: (bytes, name) => decodeImage(bytes, name),
      progress: "auto",
    });
    set = screened.set;
    skippedImages = { images: [...screened.skipped], pairs: screened.droppedPairs.length };
  }
  const needMasks = wanted.some((s) => s !== "UM-UM");
  const appliers = needMasks ? await maskAppliers(keyOf, args.mask !== "clean") : {};
  const variant = needMasks ? maskVariant(appliers) : null;
  return {
    skippedImages,
    description,
    scenarios: pickScenarios(maskedScenarios(set.pairs, { mask: variant ?? "masked" })),
    views: verificationSetViews(set, { masks: appliers }),
    alignment: null,
    excludedPairs: [],
    maskVariant: variant,
    shift: null,
  };
}

// --------------------------------------------------------------------------------------------- run

const percent = (v: number) => (v * 100).toFixed(2);

function alignmentText(
  summary: AlignmentSummary & { problems: (AlignmentProblem & Partial<Mfr2AlignmentProblem>)[] },
): string {
  const lines = [
    `alignment: ${summary.total} faces, ${summary.detected} from detected landmarks, ${summary.meanFallback} ` +
    `with the mean landmarks, ${summary.notAligned} not aligned (fallback ${summary.fallback}; ` +
    `${summary.seconds.toFixed(1)} s${
      summary.cache ? `, cache ${summary.cache.hits} hits / ${summary.cache.misses} misses` : ""
    })`,
  ];
  for (const p of summary.problems) {
    const extra = p.maskType !== undefined ? ` [${p.maskType}, in ${p.pairs} pairs]` : "";
    lines.push(`  ${p.name}${extra}: ${p.reason} (${p.message}) → ${p.handled}`);
  }
  return lines.join("\n");
}

function detFor(evaluation: VerificationEvaluation, title: string): PlotlyFigure {
  return detFigure(
    Object.values(evaluation.scenarios).map((s) => ({
      model: evaluation.model,
      scenario: s.name,
      scores: scenarioScores(s),
    })),
    { title },
  );
}

async function writePlot(name: string, figure: PlotlyFigure): Promise<void> {
  if (!args.plots) return;
  await Deno.mkdir(args.plots, { recursive: true });
  const base = `${args.plots.replace(/\/+$/, "")}/${name.replace(/[^A-Za-z0-9._-]+/g, "_")}`;
  await writeFigureHtml(`${base}.html`, figure);
  let png = "";
  if (findChromium() !== null) {
    try {
      await writeFigurePng(`${base}.png`, figure);
      png = ` and ${base}.png`;
    } catch (error) {
      console.error(`eval: no PNG of ${name}: ${error instanceof Error ? error.message : error}`);
    }
  }
  console.error(`eval: wrote ${base}.html${png}`);
}

try {
  const prepared = await prepare();
  if (prepared.alignment) console.log(alignmentText(prepared.alignment));
  if (skipBad) {
    const { images, pairs } = prepared.skippedImages;
    console.log(`skipped (--skip-bad): ${images.length} unreadable images, ${pairs} pairs left out`);
    for (const image of images) console.log(`  ${image.name}: ${image.reason}`);
  }
  for (const pair of prepared.excludedPairs) {
    console.log(
      `  pair ${pair.pair + 1} (${pair.scenario}, ${pair.genuine ? "genuine" : "impostor"}) left out: ` +
        `${pair.first} / ${pair.second}`,
    );
  }
  const pairCounts = countsOf(prepared.scenarios);
  const results: {
    model: string;
    evaluation: VerificationEvaluation;
    maskShift: { rows: MaskShiftRow[]; evaluation: VerificationEvaluation } | null;
  }[] = [];
  for (const name of modelNames) {
    const embedder = await loadEmbedder(name);
    try {
      const evaluation = await evaluateVerification({
        embedder,
        views: prepared.views,
        scenarios: prepared.scenarios,
        batchSize,
        flip: !args["no-flip"],
      });
      let maskShift = null;
      if (prepared.shift) {
        const shiftEvaluation = await evaluateVerification({
          embedder,
          views: prepared.shift.views,
          scenarios: prepared.shift.design.scenarios,
          batchSize,
          flip: !args["no-flip"],
          calibrationReference: "UM-UM",
        });
        maskShift = {
          rows: maskShiftRows(shiftEvaluation, prepared.shift.design),
          evaluation: shiftEvaluation,
        };
      }
      results.push({ model: name, evaluation, maskShift });
      await writePlot(`det_${kind}_${name}`, detFor(evaluation, `${kind}: ${name}`));
      if (maskShift && prepared.shift) {
        await writePlot(
          `mask_shift_det_${name}`,
          detFigure(maskShiftDetSeries(maskShift.evaluation, prepared.shift.design, { masks: DET_MASKS }), {
            title: `MFR2, synthetic vs real masks: ${name}`,
          }),
        );
      }
    } finally {
      embedder.dispose();
    }
  }

  console.log(
    `\n## ${kind}${
      prepared.maskVariant ? ` (synthetic masks: ${prepared.maskVariant}, seed ${maskSeed})` : ""
    }\n`,
  );
  console.log(resultsTableMarkdown(results.map((r) => evaluationTableRow(r.evaluation, r.model)), {
    columns: ["eer", "fmr100", "fmr1000", "fdr"],
  }));
  console.log(
    `\npairs: ${
      Object.entries(pairCounts).map(([n, c]) => `${n} ${c.pairs} (${c.genuine} G / ${c.impostor} I)`).join(
        ", ",
      )
    }`,
  );
  if (results.some((r) => r.evaluation.calibration)) {
    console.log(
      `\n## Operational thresholds (fixed on UM-UM: ${pairCounts["UM-UM"]?.impostor} impostor pairs)\n`,
    );
    console.log(calibrationTableMarkdown(results.map((r) => r.evaluation)));
  }
  if (results.some((r) => r.maskShift)) {
    console.log("\n## Synthetic vs real masks (MFR2; shift against UM-UM)\n");
    console.log(
      maskShiftTableMarkdown(
        results.filter((r) => r.maskShift).map((r) => ({ model: r.model, rows: r.maskShift!.rows })),
      ),
    );
    const design = prepared.shift!.design;
    console.log(
      `\n${design.identities.length} identities; ${design.unmasked.length} unmasked photos, ` +
        `${design.realMasked.length} real-masked photos; synthetic masks seed ${maskSeed}` +
        (paperTemplatePath ? "; paper = the released MaskInv template" : "; paper template absent"),
    );
    const shiftEvaluations = results.flatMap((r) => r.maskShift ? [r.maskShift.evaluation] : []);
    const columns = ["UM-UM", "M-UM real", "M-M real", "M-UM clean", "M-UM paper", "M-M clean", "M-M paper"]
      .filter((name) => name in design.scenarios);
    const impostors = shiftEvaluations[0].scenarios["UM-UM"].impostorCount;
    console.log(`\n## Operational thresholds on all pairs (fixed on UM-UM: ${impostors} impostor pairs)\n`);
    console.log(calibrationTableMarkdown(shiftEvaluations, columns));
  }
  for (const r of results) {
    for (const s of Object.values(r.evaluation.scenarios)) {
      if (s.metrics.eer >= 0.5) {
        console.error(`eval: warning: ${r.model} ${s.name} EER ${percent(s.metrics.eer)}% is at chance`);
      }
    }
  }
  if (args.json) {
    const report = {
      tool: "maskinv eval",
      createdAt: new Date().toISOString(),
      engine: backendInfo(),
      data: prepared.description,
      alignment: prepared.alignment,
      excludedPairs: prepared.excludedPairs,
      skippedImages: prepared.skippedImages,
      pairCounts,
      masks: {
        variant: prepared.maskVariant,
        seed: maskSeed,
        paperTemplate: paperTemplatePath !== null,
      },
      maskShiftDesign: prepared.shift
        ? {
          identities: prepared.shift.design.identities,
          unmasked: prepared.shift.design.unmasked.length,
          realMasked: prepared.shift.design.realMasked.length,
          conditions: prepared.shift.design.conditions,
        }
        : null,
      models: results,
    };
    const slash = args.json.lastIndexOf("/");
    if (slash > 0) await Deno.mkdir(args.json.slice(0, slash), { recursive: true });
    await writeTextFileAtomic(args.json, JSON.stringify(report));
    console.error(`eval: wrote ${args.json}`);
  }
} catch (error) {
  console.error(`eval: ${error instanceof Error ? error.message : error}`);
  if (!skipBad && error instanceof Error && error.cause instanceof BadFileError) {
    console.error("eval: --skip-bad leaves unreadable images and their pairs out and lists them");
  }
  Deno.exit(1);
}
