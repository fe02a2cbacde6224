import assert from "node:assert/strict";
import {
  ABLATION_EVALUATION,
  AblationEvaluator,
  ablationFindings,
  type AblationOptions,
  type AblationRun,
  ablationStep,
  ablationSteps,
  ablationTableMarkdown,
  finishedSeeds,
  MASK_PENALTY_THRESHOLD,
  parseSteps,
  runAblation,
  runAblationStep,
  writeAblationReport,
} from "../lib/ablation/mod.ts";
import { figureSummaryHtml, findChromium, PLOTLY_MIME, showFigure, showImageGrid } from "../lib/plots/mod.ts";
import { SyntheticFaces } from "../lib/data/mod.ts";
import { SCENARIO_NAMES, TABLE_COLUMNS } from "../lib/metrics/mod.ts";
import { ABLATION_STEPS } from "../lib/train/mod.ts";

/** The runner at a tiny size: 2 training steps of 8 images per step, 24 evaluation pairs. */
function tiny(out: string, extra: Partial<AblationOptions> = {}): AblationOptions {
  return {
    size: "quick",
    out,
    backend: "wasm",
    overrides: { steps: 2, batchSize: 8 },
    evaluation: {
      data: { kind: "synthetic", identities: 8, imagesPerIdentity: 3, pairs: 24, seed: 2 },
      masks: { mode: "clean" },
      maskSeed: 2021,
    },
    progress: "none",
    log: () => {},
    ...extra,
  };
}

/** Modification times of every checkpoint manifest under a run folder. */
async function manifestTimes(dir: string): Promise<Map<string, number>> {
  const times = new Map<string, number>();
  const walk = async (path: string) => {
    for await (const entry of Deno.readDir(path)) {
      const full = `${path}/${entry.name}`;
      if (entry.isDirectory) await walk(full);
      else if (entry.name === "manifest.json") times.set(full, (await Deno.stat(full)).mtime!.getTime());
    }
  };
  await walk(dir);
  return times;
}

function eers(run: AblationRun): number[] {
  return run.steps.flatMap((s) =>
    Object.values(s.evaluation["synthetic-eval"].scenarios).map((x) => x.metrics.eer)
  );
}

Deno.test("steps as data: the paper's p, λ, start points and teachers", () => {
  const steps = ablationSteps("paper");
  assert.deepEqual(steps.map((s) => s.step), [...ABLATION_STEPS]);
  const byStep = Object.fromEntries(steps.map((s) => [s.step, s]));
  assert.equal(byStep.baseline.maskProbability, 0);
  assert.equal(byStep.baseline.initFrom, null);
  assert.equal(byStep.masked.maskProbability, 0.5);
  assert.equal(byStep.masked.kdWeight, 0);
  assert.equal(byStep.masked.initFrom, "baseline");
  assert.equal(byStep["maskinv-lg"].kdWeight, 100);
  assert.equal(byStep["maskinv-lg"].teacher, "baseline");
  assert.equal(byStep["maskinv-hg"].kdWeight, 3000);
  assert.equal(byStep["maskinv-hg"].initFrom, "maskinv-lg");
  assert.equal(byStep["maskinv-hg"].recipe.train.learningRate, 1.0);
  assert.equal(ablationStep("maskinv-lg", "default").number, 3);
  assert.deepEqual(parseSteps("hg, baseline,lg,hg"), ["baseline", "maskinv-lg", "maskinv-hg"]);
  assert.throws(() => parseSteps("teacher"), /unknown ablation step "teacher"/);
  assert.throws(() => parseSteps(" , "), /no ablation step/);
  assert.equal(ABLATION_EVALUATION.default.data.kind, "synthetic");
});

Deno.test("evaluation masks are the same on every evaluator and cover the lower face", async () => {
  const plan = {
    data: { kind: "synthetic" as const, identities: 4, imagesPerIdentity: 2, pairs: 8, seed: 2 },
    masks: { mode: "clean" as const },
    maskSeed: 2021,
  };
  const [a, b] = [await AblationEvaluator.open(plan), await AblationEvaluator.open(plan)];
  const set = a.sets[0] as SyntheticFaces;
  const face = set.render(3).pixels;
  const first = a.maskedFace(set, face, 3), second = b.maskedFace(b.sets[0], face, 3);
  assert.deepEqual(first.data, second.data);
  // The mask changes the lower half (mouth, nose) and leaves the eye row alone.
  const row = (y: number, img: typeof face) => img.data.subarray(y * img.width * 3, (y + 1) * img.width * 3);
  assert.notDeepEqual(row(90, first), row(90, face));
  assert.deepEqual(row(45, first), row(45, face));
  const other = a.maskedFace(set, face, 5);
  assert.equal(first.width, other.width);
});

Deno.test("runAblation end to end: files, every step × scenario × metric, reuse, --fresh, staleness, resume", async () => {
  const out = await Deno.makeTempDir({ prefix: "maskinv-ablation-" });
  try {
    // 1. First run trains every step.
    const t0 = performance.now();
    const first = await runAblation(tiny(out));
    const firstSeconds = (performance.now() - t0) / 1000;
    assert.deepEqual(first.steps.map((s) => s.training.status), ["trained", "trained", "trained", "trained"]);
    assert.ok(first.steps.every((s) => s.training.totalSteps === 2 && s.training.history.length > 0));
    const files = await writeAblationReport(first, out);
    for (const path of Object.values(files)) assert.ok((await Deno.stat(path)).size > 0, `${path} is empty`);

    // JSON: every step × scenario × metric, finite.
    const json = JSON.parse(await Deno.readTextFile(files.json));
    assert.equal(json.format, "maskinv-ablation");
    assert.equal(json.table.length, 4);
    for (const row of json.table) {
      for (const scenario of SCENARIO_NAMES) {
        for (const metric of TABLE_COLUMNS) {
          const value = row.scenarios[scenario]?.[metric];
          assert.equal(typeof value, "number", `${row.name} ${scenario} ${metric} missing`);
          assert.ok(Number.isFinite(value), `${row.name} ${scenario} ${metric} = ${value}`);
        }
      }
    }
    assert.equal(json.steps[0].evaluation["synthetic-eval"].scenarios["M-UM"].scores.length, 24);
    // The baseline's runs are recorded where the report says.
    assert.ok((await Deno.stat(`${first.runsDir}/baseline/train_log.jsonl`)).isFile);

    // Markdown: a row per step and scenario, a column per metric.
    const markdown = await Deno.readTextFile(files.markdown);
    for (const step of first.steps) {
      for (const scenario of SCENARIO_NAMES) {
        assert.match(markdown, new RegExp(`\\| ${step.label} \\| ${scenario} \\|`));
      }
    }
    assert.equal(ablationTableMarkdown(first.steps).trim().split("\n").length, 2 + 12);
    assert.match(markdown, /Masks hurt the baseline/);

    // HTML: table and figures, plotly inlined once, nothing fetched from the network.
    const html = await Deno.readTextFile(files.html);
    assert.match(html, /<table class="maskinv-results"/);
    assert.equal(html.match(/Plotly\.newPlot/g)?.length, 6);
    assert.doesNotMatch(html, /<script[^>]+src=/);

    // 2. Second run reuses every finished step: no checkpoint is rewritten, the numbers repeat.
    const before = await manifestTimes(first.runsDir);
    const t1 = performance.now();
    const second = await runAblation(tiny(out));
    const secondSeconds = (performance.now() - t1) / 1000;
    assert.deepEqual(second.steps.map((s) => s.training.status), ["reused", "reused", "reused", "reused"]);
    assert.deepEqual(await manifestTimes(first.runsDir), before);
    assert.deepEqual(eers(second), eers(first));
    assert.ok(second.steps.every((s) => s.evaluationStored), "the evaluations were computed again");
    assert.deepEqual(await finishedSeeds(out, "quick"), [0]);
    assert.ok(secondSeconds < firstSeconds, `reuse took ${secondSeconds} s, training ${firstSeconds} s`);

    // 3. --fresh on one step retrains it and only it; its prerequisites are reused.
    const fresh = await runAblation(tiny(out, { fresh: true, steps: ["masked"] }));
    assert.deepEqual(fresh.steps.map((s) => [s.step, s.training.status]), [["masked", "trained"]]);
    // LG and HG do not depend on the masked step: still reused.
    const hg = await runAblationStep("maskinv-hg", tiny(out));
    assert.equal(hg.training.status, "reused");

    // 4. A baseline retrained differently makes every later step stale: they are trained again, not mixed.
    // (Retrained with the same configuration it is bit-identical, and the later steps stay valid.)
    const longer = { steps: 3, batchSize: 8 };
    const freshBaseline = await runAblation(
      tiny(out, { fresh: true, steps: ["baseline"], overrides: longer }),
    );
    assert.equal(freshBaseline.steps[0].training.status, "trained");
    const afterBaseline = await runAblation(
      tiny(out, { steps: ["masked", "maskinv-hg"], overrides: longer }),
    );
    assert.deepEqual(afterBaseline.steps.map((s) => s.training.status), ["trained", "trained"]);

    // 5. An interrupted step resumes from its checkpoint.
    const stop = new AbortController();
    stop.abort();
    await assert.rejects(
      runAblation(tiny(out, { fresh: true, steps: ["maskinv-lg"], overrides: longer, signal: stop.signal })),
      /stopped at step 0 of 3; the checkpoint is saved/,
    );
    const resumed = await runAblation(tiny(out, { steps: ["maskinv-lg"], overrides: longer }));
    assert.equal(resumed.steps[0].training.status, "resumed");

    // A run with another configuration in the same folder is refused, not silently mixed.
    await assert.rejects(
      runAblation(tiny(out, { steps: ["baseline"] })),
      /another configuration \(steps differ\)/,
    );
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("findings: the mask penalty and the step-to-step EER changes", () => {
  const step = (name: string, label: string, eer: [number, number, number]) => ({
    step: name,
    label,
    evaluation: {
      set: {
        scenarios: Object.fromEntries(SCENARIO_NAMES.map((s, k) => [s, { metrics: { eer: eer[k] } }])),
      },
    },
  });
  // Only the fields the findings read.
  const steps = [
    step("baseline", "Baseline", [0.1, 0.3, 0.32]),
    step("masked", "Masked", [0.09, 0.15, 0.14]),
    step("maskinv-lg", "LG", [0.08, 0.16, 0.12]),
  ] as unknown as Parameters<typeof ablationFindings>[0];
  const findings = ablationFindings(steps);
  assert.equal(findings.maskPenalty[0].ratio.toFixed(6), (3).toFixed(6));
  assert.equal(findings.maskPenalty[0].clear, 3 >= MASK_PENALTY_THRESHOLD);
  const lgVsMasked = findings.comparisons.find((c) => c.step === "LG" && c.against === "Masked")!;
  assert.ok(Math.abs(lgVsMasked.eerChange["M-UM"] - 0.01) < 1e-12);
  assert.ok(Math.abs(lgVsMasked.eerChange["M-M"] + 0.02) < 1e-12);
});

Deno.test("compact notebook display: plotly JSON plus a PNG or a small table, never inlined plotly.js", async () => {
  const figure = {
    data: [{ type: "bar", name: "M-UM", x: ["Baseline", "MaskInv-LG"], y: [27.3, 14.0] }],
    layout: { title: { text: "EER" }, width: 300, height: 200 },
  };
  const plain = await showFigure(figure, { png: false });
  assert.deepEqual((plain.bundle[PLOTLY_MIME] as typeof figure).data, figure.data);
  assert.match(String(plain.bundle["text/html"]), /Baseline: 27\.3, MaskInv-LG: 14/);
  assert.ok(String(plain.bundle["text/html"]).length < 2000);
  assert.equal(figureSummaryHtml(figure), plain.bundle["text/html"]);
  const grey = { width: 16, height: 16, channels: 3 as const, data: new Uint8Array(16 * 16 * 3).fill(100) };
  const grid = await showImageGrid([[grey, grey]], { format: "png" });
  assert.ok(atob(String(grid.bundle["image/png"])).startsWith("\x89PNG"));
  if (findChromium() === null) {
    console.warn("skipping the PNG part of the display test: no Chromium installed");
    return;
  }
  const shown = await showFigure(figure);
  const png = String(shown.bundle["image/png"]);
  assert.ok(atob(png.slice(0, 12)).startsWith("\x89PNG"));
  assert.equal(shown.bundle["text/html"], `<img alt="EER" width="300" src="data:image/png;base64,${png}">`);
});
