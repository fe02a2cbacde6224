/**
 * `deno task train`: trains one step of the MaskInv ablation from its recipe, with a progress bar, a JSON-lines
 * log, checkpoints that survive a crash (`--resume`) and validation on held-out pairs (EER and accuracy in the
 * UM-UM, M-UM and M-M scenarios).
 *
 * ```
 * deno task train -- <step> [options]
 *
 *   <step>               baseline | masked | maskinv-lg | maskinv-hg
 *   --size S             default (synthetic identities, 2 CPU cores) | quick (CI) | paper (MS1MV2, GPU)
 *   --runs DIR           folder of the ablation's runs (default results/train); a step's teacher and start
 *                        point are read from DIR/<step>
 *   --out DIR            this run's folder (default DIR/<step>)
 *   --teacher SRC        the frozen teacher: a run or checkpoint folder, a .pth state_dict, npm:mobilefacenet
 *                        (default: the recipe's, from --runs)
 *   --init SRC           the student's start: a run or checkpoint folder (default: the recipe's, from --runs)
 *   --resume             continue from the newest checkpoint in --out
 *   --backend B          auto | tensorflow | webgpu | wasm | cpu (default auto)
 *   --data DIR           the RecordIO folder (paper size: MS1MV2 faces_emore)
 *   --mask-template PNG  the released MaskInv mask_img.png (paper size)
 *   --bench FILES        comma-separated verification .bin files for validation (paper size)
 *   --steps N | --epochs N | --batch N | --lr X | --seed N   override the recipe
 *   --no-validate        skip validation
 *   --progress P         auto | terminal | notebook | log | none
 * ```
 *
 * Ctrl-C stops after the current step and saves a checkpoint; `--resume` continues. Exit status: 0 when the
 * run finished (or was stopped and saved), 1 on a training failure (NaN, unwritable checkpoint), 2 for bad
 * arguments.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { validationCallback } from "../lib/ablation/mod.ts";
import { useBackend } from "../lib/engine/mod.ts";
import { type FaceEmbedder, loadEmbedder } from "../lib/models/mod.ts";
import {
  ABLATION_STEPS,
  type AblationStep,
  distill,
  openTrainingData,
  RECIPE_SIZES,
  type RecipeSize,
  resolveCheckpointDirectory,
  train,
  type TrainConfig,
  type TrainRecipe,
  trainRecipe,
} from "../lib/train/mod.ts";
import type { ProgressOutput } from "../lib/util/mod.ts";
import { abortOnInterrupt, taskArgs } from "./common.ts";

function usage(message: string): never {
  console.error(
    `train: ${message}\nusage: deno task train -- <${ABLATION_STEPS.join("|")}> [--size ${
      RECIPE_SIZES.join("|")
    }] [--runs DIR] [--out DIR] [--resume] [--backend B] … (see cli/train.ts)`,
  );
  Deno.exit(2);
}

function positive(name: string, text: string | undefined, integer: boolean): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!(value > 0) || (integer && !Number.isInteger(value))) usage(`--${name} must be a positive number`);
  return value;
}

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: taskArgs(),
      allowPositionals: true,
      options: {
        size: { type: "string", default: "default" },
        runs: { type: "string", default: "results/train" },
        out: { type: "string" },
        teacher: { type: "string" },
        init: { type: "string" },
        resume: { type: "boolean", default: false },
        backend: { type: "string", default: "auto" },
        data: { type: "string" },
        "mask-template": { type: "string" },
        bench: { type: "string" },
        steps: { type: "string" },
        epochs: { type: "string" },
        batch: { type: "string" },
        lr: { type: "string" },
        seed: { type: "string" },
        "no-validate": { type: "boolean", default: false },
        progress: { type: "string", default: "auto" },
      },
    });
  } catch (error) {
    usage(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1) usage("give exactly one step");
  const step = positionals[0] as AblationStep;
  if (!ABLATION_STEPS.includes(step)) usage(`unknown step "${step}"`);
  const size = values.size as RecipeSize;
  if (!RECIPE_SIZES.includes(size)) usage(`unknown size "${size}"`);
  const recipe: TrainRecipe = trainRecipe(step, size);
  const seed = values.seed === undefined ? undefined : Number(values.seed);
  if (seed !== undefined && !Number.isInteger(seed)) usage("--seed must be an integer");
  const config: TrainConfig = {
    ...recipe.train,
    ...(values.steps ? { steps: positive("steps", values.steps, true) } : {}),
    ...(values.epochs ? { epochs: positive("epochs", values.epochs, false)! } : {}),
    ...(values.batch ? { batchSize: positive("batch", values.batch, true)! } : {}),
    ...(values.lr ? { learningRate: positive("lr", values.lr, false)! } : {}),
    ...(seed !== undefined ? { seed } : {}),
  };
  const runs = values.runs.replace(/\/+$/, "");
  const outDir = values.out ?? `${runs}/${step}`;

  const engine = await useBackend(values.backend);
  console.error(`train ${step} (${size}): ${engine.name} on ${engine.device}; run folder ${outDir}`);
  const locations = { data: values.data, maskTemplate: values["mask-template"] };
  const data = await openTrainingData(recipe.data, recipe.masks, locations);
  let teacher: FaceEmbedder | undefined;
  const teacherSource = values.teacher ?? (recipe.teacher ? `${runs}/${recipe.teacher}` : undefined);
  if (config.kdWeight > 0 || values.teacher) {
    if (teacherSource == null) usage("this step needs --teacher");
    const resolved = teacherSource.startsWith("npm:") || /\.(pth|pt)$/i.test(teacherSource)
      ? teacherSource
      : await resolveCheckpointDirectory(teacherSource);
    teacher = await loadEmbedder(resolved);
    console.error(`teacher: ${teacher.name} from ${resolved}`);
  }
  const init = values.init ?? (recipe.initFrom ? `${runs}/${recipe.initFrom}` : undefined);
  const validate = values["no-validate"]
    ? undefined
    : await validationCallback(recipe.validation, recipe.evaluationMasks, {
      bench: values.bench?.split(",").filter((p) => p !== ""),
      maskTemplate: values["mask-template"],
    });

  const interrupt = abortOnInterrupt(
    "interrupted: finishing the current step and saving a checkpoint (Ctrl-C again to quit)",
  );
  try {
    const options = {
      config,
      data,
      outDir,
      init,
      resume: values.resume,
      validate,
      progress: values.progress as ProgressOutput,
      signal: interrupt.signal,
    };
    const result = teacher ? await distill({ ...options, teacher }) : await train(options);
    console.log(JSON.stringify({
      step,
      size,
      stopped: result.stopped,
      steps: result.step,
      totalSteps: result.totalSteps,
      checkpoint: result.checkpoint?.directory ?? null,
      imagesPerSecond: Math.round(result.imagesPerSecond * 10) / 10,
      seconds: Math.round(result.seconds),
      validation: result.validation,
    }));
    result.dispose();
    return 0;
  } catch (error) {
    console.error(`train ${step}: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  } finally {
    interrupt.dispose();
    teacher?.dispose();
    data.close();
  }
}

if (import.meta.main) Deno.exit(await main());
