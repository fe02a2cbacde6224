/**
 * `deno task mask`: puts synthetic masks on face images.
 *
 * ```
 * deno task mask -- <input dir|file> <output dir> [options]
 *
 *   --template NAME|PATH   a template name (masks/ or --templates), a descriptor .json, "random" (default:
 *                          one of all templates per image) or "maskinv" for the paper-exact mode
 *   --paper-template PATH  the released MaskInv template mask_img.png (needed by --template maskinv)
 *   --templates DIR        also load the templates of DIR (a user's own RGBA + JSON pairs)
 *   --seed N               seed of the per-image parameters (default 0)
 *   --params FILE          write the parameters as JSON lines; if FILE exists, replay it instead
 *   --aligned              inputs are ArcFace-aligned squares (112, 224, ...): no landmark search
 *   --detect               find the five landmarks with the landmark model (default)
 *   --landmarks FILE       landmarks per image: {"relative/path.png": [[x, y] x 5], ...}
 *   --crops                inputs are tight face crops (MFR2, LFW): helps detection
 *   --align                write ArcFace-aligned 112x112 crops (paper mode always aligns)
 *   --mfr2-no-mask         the input is the MFR2 folder: mask only its no-mask photos
 *   --list FILE            only the images listed in FILE (relative paths, one per line)
 *   --shift                random template shifts, as in training (default: none)
 *   --colours random       random colours instead of the templates' palettes
 *   --report FILE          also write the summary as JSON
 *   --skip-bad             leave files that are not decodable images out and list them (default: the first
 *                          one stops the run with its error)
 * ```
 *
 * Exit status: 0 when every image was masked (or skipped with --skip-bad), 1 when some failed (each listed
 * with its reason) or an unreadable file stopped the run, 2 for bad arguments.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { useBackend } from "../lib/engine/mod.ts";
import type { Landmarks5 } from "../lib/image/geometry.ts";
import {
  defaultTemplateDirectory,
  loadTemplate,
  loadTemplateFolder,
  type MaskFolderOptions,
  maskImageFolder,
  type MaskParams,
  type MaskTemplate,
  PAPER_TEMPLATE_NAME,
  readMaskParams,
  readPaperTemplate,
  writeMaskParams,
} from "../lib/masks/mod.ts";
import { writeTextFileAtomic } from "../lib/util/atomic.ts";
import { BadFileError } from "../lib/util/errors.ts";
import { taskArgs } from "./common.ts";

const USAGE = "usage: deno task mask -- <input dir|file> <output dir> [--template name|path] [--seed N] " +
  "[--params out.jsonl] [--aligned | --detect | --landmarks file.json] [--align] [--crops] [--mfr2-no-mask] " +
  "[--skip-bad]";

function usage(message: string): never {
  console.error(`mask: ${message}\n${USAGE}`);
  Deno.exit(2);
}

const argv = taskArgs();
const { values: args, positionals } = parseArgs({
  args: argv,
  allowPositionals: true,
  options: {
    template: { type: "string", default: "random" },
    "paper-template": { type: "string" },
    templates: { type: "string" },
    seed: { type: "string", default: "0" },
    params: { type: "string" },
    aligned: { type: "boolean", default: false },
    detect: { type: "boolean", default: false },
    landmarks: { type: "string" },
    crops: { type: "boolean", default: false },
    align: { type: "boolean", default: false },
    "mfr2-no-mask": { type: "boolean", default: false },
    list: { type: "string" },
    shift: { type: "boolean", default: false },
    colours: { type: "string", default: "palette" },
    report: { type: "string" },
    "skip-bad": { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});

if (args.help) {
  console.log(USAGE);
  Deno.exit(0);
}
if (positionals.length !== 2) usage("expected an input and an output");
const [input, output] = positionals;
const seed = Number(args.seed);
if (!Number.isInteger(seed)) usage(`--seed must be an integer, got ${args.seed}`);
if ([args.aligned, args.detect, args.landmarks !== undefined].filter(Boolean).length > 1) {
  usage("choose one of --aligned, --detect, --landmarks");
}
if (args.colours !== "palette" && args.colours !== "random") usage(`--colours must be palette or random`);

function fail(message: string): never {
  console.error(`mask: ${message}`);
  Deno.exit(2);
}

// Templates.
let templates: MaskTemplate[] = [];
const paper = args.template === PAPER_TEMPLATE_NAME || args.template === "paper";
let paperTemplate;
try {
  const all = await loadTemplateFolder(defaultTemplateDirectory());
  if (args.templates) all.push(...await loadTemplateFolder(args.templates));
  if (paper) {
    if (!args["paper-template"]) fail("--template maskinv needs --paper-template path/to/mask_img.png");
    paperTemplate = await readPaperTemplate(args["paper-template"]!);
  } else if (args.template === "random") {
    templates = all;
  } else if (args.template.endsWith(".json")) {
    templates = [await loadTemplate(args.template)];
  } else {
    templates = all.filter((t) => t.name === args.template);
    if (templates.length === 0) {
      fail(
        `unknown template "${args.template}" (known: ${all.map((t) => t.name).join(", ")}, maskinv)`,
      );
    }
  }
} catch (error) {
  fail((error as Error).message);
}

// Which images.
let only: string[] | undefined;
try {
  if (args["mfr2-no-mask"]) {
    const labels = await Deno.readTextFile(`${input.replace(/\/+$/, "")}/mfr2_labels.txt`);
    only = labels.split(/\r?\n/).map((l) => l.split(",").map((f) => f.trim())).filter((f) =>
      f.length === 3 && f[2] === "no-mask"
    )
      .map(([name, k]) => `${name}/${name}_${k.padStart(4, "0")}.png`);
  }
  if (args.list) {
    const listed = (await Deno.readTextFile(args.list)).split(/\r?\n/).map((l) => l.trim()).filter((l) =>
      l && !l.startsWith("#")
    );
    only = only ? only.filter((k) => listed.includes(k)) : listed;
  }
} catch (error) {
  fail((error as Error).message);
}

// Landmarks.
let givenLandmarks: Map<string, Landmarks5> | undefined;
if (args.landmarks) {
  try {
    const parsed = JSON.parse(await Deno.readTextFile(args.landmarks)) as Record<string, unknown>;
    givenLandmarks = new Map();
    for (const [key, value] of Object.entries(parsed)) {
      const ok = Array.isArray(value) && value.length === 5 &&
        value.every((p) =>
          Array.isArray(p) && p.length === 2 && p.every((v) => typeof v === "number" && Number.isFinite(v))
        );
      if (!ok) fail(`${args.landmarks}: "${key}" must be five [x, y] points`);
      givenLandmarks.set(key, value as unknown as Landmarks5);
    }
  } catch (error) {
    fail(`${args.landmarks}: ${(error as Error).message}`);
  }
}

// Parameters: replay an existing file, or draw and write.
let replay: MaskParams[] | undefined;
if (args.params) {
  const exists = await Deno.stat(args.params).then(() => true, () => false);
  if (exists) {
    try {
      replay = await readMaskParams(args.params);
    } catch (error) {
      fail((error as Error).message);
    }
    console.log(`mask: replaying ${replay!.length} parameter sets from ${args.params}`);
  }
}

const landmarkSource = args.aligned ? "aligned" : givenLandmarks ? "given" : "detect";
if (landmarkSource === "detect") await useBackend("auto");

const options: MaskFolderOptions = {
  input,
  output,
  mode: paper ? "paper" : "clean",
  templates,
  paperTemplate,
  seed,
  shift: args.shift,
  colours: args.colours as "palette" | "random",
  replay,
  landmarks: landmarkSource,
  givenLandmarks,
  align: args.align,
  faceCrops: args.crops || args["mfr2-no-mask"],
  only,
  skipBad: args["skip-bad"],
};

let result;
try {
  result = await maskImageFolder(options);
} catch (error) {
  if (error instanceof BadFileError) {
    console.error(`mask: ${error.message}`);
    Deno.exit(1);
  }
  fail((error as Error).message);
}
const { done, failed, skipped, params } = result!;
if (args.params && !replay) await writeMaskParams(args.params, params);

const total = done.length + failed.length + skipped.length;
console.log(
  `\nmask: ${total} images: ${done.length} masked, ${failed.length} failed` +
    (args["skip-bad"] ? `, ${skipped.length} skipped as unreadable` : "") +
    ` (${options.mode} mode, ${landmarkSource} landmarks, ${
      replay ? `parameters from ${args.params}` : `seed ${seed}`
    })` +
    ` -> ${output}`,
);
if (failed.length > 0) {
  console.log("failed:");
  for (const f of failed) console.log(`  ${f.key}: ${f.reason}`);
}
if (skipped.length > 0) {
  console.log("skipped (unreadable):");
  for (const f of skipped) console.log(`  ${f.key}: ${f.reason}`);
}
if (args.params && !replay) console.log(`parameters: ${args.params} (${params.length} lines)`);
if (args.report) {
  await writeTextFileAtomic(
    args.report,
    JSON.stringify(
      {
        input,
        output,
        mode: options.mode,
        landmarks: landmarkSource,
        seed,
        total,
        done: done.length,
        failed,
        skipped,
        templates: Object.fromEntries(
          [...new Set(done.map((d) => d.params.template))].map((
            t,
          ) => [t, done.filter((d) => d.params.template === t).length]),
        ),
      },
      null,
      2,
    ) + "\n",
  );
}
Deno.exit(failed.length > 0 ? 1 : 0);
