/**
 * The training half of the memory test: `train()` on the smallest iResNet for many steps, printing one JSON
 * line every 100 steps with the step, `tf.memory().numTensors` and the process's resident memory.
 *
 * Usage: deno run -A tests/memory_child.ts <steps>
 */
import * as tf from "@tensorflow/tfjs-core";
import { useBackend } from "../lib/engine/mod.ts";
import { iresnetConfig } from "../lib/models/mod.ts";
import { train } from "../lib/train/mod.ts";
import { tinyConfig, tinyFaces } from "./train_helpers.ts";

const steps = Number(Deno.args[0] ?? 2000);
await useBackend("wasm");
const outDir = await Deno.makeTempDir();
const started = performance.now();
const result = await train({
  config: tinyConfig({
    name: "memory",
    architecture: iresnetConfig("iresnet18", {
      layers: [1, 1, 1, 1],
      widths: [4, 4, 4, 4],
      embeddingSize: 8,
      inputSize: [16, 16],
    }),
    steps,
    batchSize: 4,
    logEvery: 100,
    checkpointEvery: 1000,
  }),
  data: { source: tinyFaces(4, 4, 16) },
  outDir,
  progress: "none",
  onLog: (entry) => {
    if (entry.kind !== "metrics") return;
    console.log(JSON.stringify({
      step: entry.step,
      tensors: tf.memory().numTensors,
      rss: Deno.memoryUsage().rss,
      seconds: (performance.now() - started) / 1000,
    }));
  },
});
result.dispose();
await Deno.remove(outDir, { recursive: true });
console.log(JSON.stringify({ done: steps, tensors: tf.memory().numTensors }));
