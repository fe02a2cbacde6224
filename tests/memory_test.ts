// Long runs must not accumulate memory: 2,000 training steps (`train()`, in a child process) and an
// evaluation of 2,000 batches (`evaluateVerification`, decoding PNGs with sharp, in this process) run side by
// side on the smallest iResNet. The number of live tensors must stay exactly flat; resident memory is
// reported (it moves with the garbage collector, so it is printed rather than asserted).
// MASKINV_MEMORY_BATCHES overrides the 2,000 (e.g. for a quick local run).
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { type VerificationSet } from "../lib/data/mod.ts";
import { useBackend } from "../lib/engine/mod.ts";
import { encodePng } from "../lib/image/codec.ts";
import { evaluateVerification, type ScenarioPair, verificationSetViews } from "../lib/metrics/mod.ts";
import { createNetwork, iresnetConfig } from "../lib/models/mod.ts";
import { patternPixels } from "./reliability_helpers.ts";

const BATCHES = Number(Deno.env.get("MASKINV_MEMORY_BATCHES") ?? 2000);
const CHILD = new URL("./memory_child.ts", import.meta.url).pathname;
const MiB = 2 ** 20;

interface Sample {
  step: number;
  tensors: number;
  rss: number;
}

/** Resident memory from a quarter of the way in (V8 and the wasm heap are still growing before that) to the end. */
function rssSummary(samples: Sample[]): string {
  const settled = samples.slice(Math.floor(samples.length / 4));
  const mib = (bytes: number) => (bytes / MiB).toFixed(0);
  const rss = settled.map((s) => s.rss);
  return `RSS from step ${Math.floor(settled[0].step)}: ${mib(rss[0])} MiB, range ${mib(Math.min(...rss))}–${
    mib(Math.max(...rss))
  } MiB, end ${mib(rss.at(-1)!)} MiB (change ${mib(rss.at(-1)! - rss[0])} MiB)`;
}

Deno.test(`memory: ${BATCHES} training steps and ${BATCHES} evaluation batches keep the tensor count flat`, async () => {
  // Training runs in a child process (its own resident memory), at the same time as the evaluation here.
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", CHILD, String(BATCHES)],
    stdout: "piped",
    stderr: "piped",
  }).output();

  await useBackend("wasm");
  const network = createNetwork(
    iresnetConfig("iresnet18", {
      layers: [1, 1, 1, 1],
      widths: [4, 4, 4, 4],
      embeddingSize: 8,
      inputSize: [16, 16],
    }),
    { seed: 5 },
  );
  const pngs = await Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map((k) => encodePng(patternPixels(16, k))));
  const imageCount = 2 * BATCHES; // batch size 2, every view distinct
  const set: VerificationSet = {
    name: "patterns",
    imageCount,
    pairs: Array.from(
      { length: BATCHES },
      (_, k) => ({ first: 2 * k, second: 2 * k + 1, genuine: k % 2 === 0 }),
    ),
    image: (index) => Promise.resolve(pngs[index % 8]),
    imageName: (index) => `pattern#${index}`,
  };
  const load = verificationSetViews(set);
  const every = 2 * Math.max(1, Math.floor(BATCHES / 20)); // about 20 samples, at batch boundaries
  const samples: Sample[] = [];
  let loaded = 0;
  const before = tf.memory().numTensors;
  const started = performance.now();
  const result = await evaluateVerification({
    embedder: network,
    views: (view) => {
      if (loaded++ % every === 0) {
        samples.push({ step: loaded / 2, tensors: tf.memory().numTensors, rss: Deno.memoryUsage().rss });
      }
      return load(view);
    },
    scenarios: {
      "UM-UM": set.pairs.map((p): ScenarioPair => ({
        first: { image: p.first, mask: null },
        second: { image: p.second, mask: null },
        genuine: p.genuine,
      })),
    },
    batchSize: 2,
    flip: false,
    progress: "none",
  });
  const evalSeconds = (performance.now() - started) / 1000;
  assert.equal(result.viewCount, imageCount);
  assert.equal(result.scenarios["UM-UM"].pairCount, BATCHES);
  assert.ok(samples.length >= 5);
  assert.ok(
    samples.every((s) => s.tensors === samples[0].tensors),
    `tensor count moved during evaluation: ${samples.map((s) => s.tensors)}`,
  );
  network.dispose();
  assert.equal(tf.memory().numTensors, before - network.params.size);
  console.log(
    `evaluation: ${BATCHES} batches in ${evalSeconds.toFixed(0)} s, ${
      samples[0].tensors
    } tensors throughout; ` +
      rssSummary(samples),
  );

  const { code, stdout, stderr } = await child;
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  const lines = new TextDecoder().decode(stdout).trim().split("\n").map((l) => JSON.parse(l));
  const steps: (Sample & { seconds: number })[] = lines.filter((l) => "step" in l);
  assert.equal(steps.at(-1)!.step, BATCHES);
  assert.ok(
    steps.every((s) => s.tensors === steps[0].tensors),
    `tensor count moved during training: ${steps.map((s) => s.tensors)}`,
  );
  console.log(
    `training: ${BATCHES} steps in ${steps.at(-1)!.seconds.toFixed(0)} s, ${
      steps[0].tensors
    } tensors throughout; ` +
      rssSummary(steps),
  );
});
