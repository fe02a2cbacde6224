/**
 * `deno task ablation`: the paper's step-wise ablation — baseline, masked training, MaskInv-LG, MaskInv-HG —
 * trained and evaluated in UM-UM, M-UM and M-M, with a progress bar per step and the table at the end.
 *
 * ```
 * deno task ablation [options]
 *
 *   --quick              the quick size (CI; a few minutes on 2 CPU cores)
 *   --size S             default (synthetic identities, 2 CPU cores) | quick | paper (MS1MV2, GPU)
 *   --steps LIST         comma-separated steps: baseline,masked,maskinv-lg,maskinv-hg (or lg, hg); default all
 *   --seed N             training seed (initial weights, data order, masks, margins); default 0
 *   --backend B          auto | tensorflow | webgpu | wasm | cpu (default auto)
 *   --out DIR            report files and runs/ (default results; results/quick and results/paper for those sizes)
 *   --fresh              retrain the chosen steps even when they finished (steps built on them follow)
 *   --data DIR           paper size: the MS1MV2 RecordIO folder (insightface faces_emore)
 *   --bench FILES        paper size: comma-separated verification .bin files (lfw.bin, agedb_30.bin, …)
 *   --teacher SRC        a pretrained baseline (.pth state_dict or checkpoint folder) used as step 1 and teacher
 *   --mask-template PNG  paper size: the released MaskInv mask_img.png (CC BY-NC; not shipped)
 *   --progress P         auto | terminal | notebook | log | none
 *   --docs DIR           also render DIR/ablation_eer.png and DIR/ablation_det.png (needs Chromium)
 * ```
 *
 * Writes `<out>/ablation.json`, `<out>/ablation.md` and `<out>/ablation.html`. Re-running reuses finished
 * steps; Ctrl-C stops after the current training step with a checkpoint saved, and the next run continues.
 * Exit status: 0 done, 1 failure, 2 bad arguments, 130 interrupted.
 *
 * @module
 */
import { parseArgs } from "node:util";
import {
  ablationBarFigure,
  ablationDetFigure,
  ablationFindingsMarkdown,
  ablationTableMarkdown,
  parseSteps,
  runAblation,
  writeAblationReport,
} from "../lib/ablation/mod.ts";
import { RECIPE_SIZES, type RecipeSize } from "../lib/train/mod.ts";
import type { ProgressOutput } from "../lib/util/mod.ts";
import { writeFigurePng } from "../lib/plots/mod.ts";
import { abortOnInterrupt, taskArgs } from "./common.ts";

function usage(message: string): never {
  console.error(
    `ablation: ${message}\nusage: deno task ablation [--quick | --size ${RECIPE_SIZES.join("|")}] ` +
      "[--steps baseline,masked,maskinv-lg,maskinv-hg] [--seed N] [--backend B] [--out DIR] [--fresh] " +
      "[--data DIR --bench FILES --teacher SRC --mask-template PNG] [--docs DIR] (see cli/ablation.ts)",
  );
  Deno.exit(2);
}

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: taskArgs(),
      options: {
        quick: { type: "boolean", default: false },
        size: { type: "string" },
        steps: { type: "string" },
        seed: { type: "string", default: "0" },
        backend: { type: "string", default: "auto" },
        out: { type: "string" },
        fresh: { type: "boolean", default: false },
        data: { type: "string" },
        bench: { type: "string" },
        teacher: { type: "string" },
        "mask-template": { type: "string" },
        progress: { type: "string", default: "auto" },
        docs: { type: "string" },
      },
    });
  } catch (error) {
    usage(error instanceof Error ? error.message : String(error));
  }
  const { values } = parsed;
  if (values.quick && values.size && values.size !== "quick") usage("--quick and --size disagree");
  const size = (values.quick ? "quick" : values.size ?? "default") as RecipeSize;
  if (!RECIPE_SIZES.includes(size)) usage(`unknown size "${size}"`);
  let steps;
  try {
    steps = values.steps ? parseSteps(values.steps) : undefined;
  } catch (error) {
    usage(error instanceof Error ? error.message : String(error));
  }
  const out = values.out ?? (size === "default" ? "results" : `results/${size}`);
  const seed = Number(values.seed);
  if (!Number.isInteger(seed)) usage("--seed must be an integer");
  if (!["auto", "terminal", "notebook", "log", "none"].includes(values.progress)) {
    usage(`unknown --progress "${values.progress}"`);
  }

  const interrupt = abortOnInterrupt(
    "interrupted: finishing the current step and saving a checkpoint (Ctrl-C again to quit)",
  );
  const started = performance.now();
  try {
    console.error(
      `ablation: ${size} size, seed ${seed}, steps ${steps?.join(", ") ?? "all"}; output in ${out}`,
    );
    const run = await runAblation({
      size,
      steps,
      seed,
      backend: values.backend,
      out,
      fresh: values.fresh,
      data: values.data,
      bench: values.bench?.split(",").map((p) => p.trim()).filter((p) => p !== ""),
      teacher: values.teacher,
      maskTemplate: values["mask-template"],
      progress: values.progress as ProgressOutput,
      signal: interrupt.signal,
    });
    run.wallSeconds = (performance.now() - started) / 1000;
    const files = await writeAblationReport(run, out);
    console.log(`\nMaskInv ablation — ${size} size, seed ${seed}, ${run.engine.name}\n`);
    console.log(ablationTableMarkdown(run.steps));
    console.log(ablationFindingsMarkdown(run.steps));
    const minutes = Math.floor(run.wallSeconds / 60), seconds = Math.round(run.wallSeconds % 60);
    const reused = run.steps.filter((s) => s.training.status === "reused").length;
    if (reused > 0) {
      console.log(`${reused} of ${run.steps.length} steps reused from finished runs (--fresh retrains)`);
    }
    console.log(
      `wall time ${minutes} min ${seconds} s; wrote ${files.json}, ${files.markdown}, ${files.html}`,
    );
    if (values.docs) {
      const dir = values.docs.replace(/\/+$/, "") || ".";
      await writeFigurePng(`${dir}/ablation_eer.png`, ablationBarFigure(run.steps, "eer"));
      await writeFigurePng(
        `${dir}/ablation_det.png`,
        ablationDetFigure(run.steps, { scenario: "M-UM", title: "DET, M-UM (probe masked)" }),
      );
      console.log(`rendered ${dir}/ablation_eer.png and ${dir}/ablation_det.png`);
    }
    return 0;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    console.error(`ablation: ${message}`);
    return interrupt.signal.aborted ? 130 : 1;
  } finally {
    interrupt.dispose();
  }
}

if (import.meta.main) Deno.exit(await main());
