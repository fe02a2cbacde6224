/**
 * `deno task bench -- train …`: training and inference throughput of maskinv's face networks.
 *
 * The step is the one `../shared/bench/torch_train_step.py` times in PyTorch: forward in training mode,
 * ElasticFace-Arc head over `--classes` classes, cross-entropy, backward, SGD with momentum 0.9 and weight
 * decay 5e-4 (PyTorch's `weight_decay`: the decay joins the gradient before the momentum). Inference is the
 * forward pass in evaluation mode.
 *
 * ```sh
 * deno task bench -- train --model mobilefacenet,iresnet18 --size 112 --batch 32 --steps 5 --json
 * ```
 *
 * Prints one JSON line per model:
 * `{"model","size","batch","backend","train_img_per_s","infer_img_per_s","threads"}`; with `--profile`, the
 * kernels that took the most time in the timed training steps go to stderr (and into the JSON as
 * `profile`).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { parseArgs } from "node:util";
import {
  type BackendPreference,
  formatKernelTimes,
  type KernelTime,
  profileKernels,
  useBackend,
} from "../lib/engine/mod.ts";
import { createNetwork, iresnetConfig, mobileFaceNetConfig, type NetworkConfig } from "../lib/models/mod.ts";
import { ELASTIC_ARC, MarginHead } from "../lib/losses/mod.ts";
import { Rng } from "../lib/util/random.ts";
import { taskArgs } from "./common.ts";

/** Settings of one throughput measurement. */
export interface TrainBenchOptions {
  /** `mobilefacenet`, `iresnet18`, `iresnet34`, `iresnet50` or `iresnet100`. */
  model: string;
  /** Input side (square). */
  size: number;
  /** Images per step. */
  batch: number;
  /** Timed steps (after one untimed warm-up step). */
  steps: number;
  /** Classes of the margin head. */
  classes: number;
  /** Record per-kernel times of the timed training steps. */
  profile?: boolean;
}

/** One measurement, as printed. */
export interface TrainBenchResult {
  /** Model name. */
  model: string;
  /** Input side. */
  size: number;
  /** Images per step. */
  batch: number;
  /** TensorFlow.js backend. */
  backend: string;
  /** Training images per second (forward, loss, backward, SGD update). */
  train_img_per_s: number;
  /** Inference images per second (forward in evaluation mode). */
  infer_img_per_s: number;
  /** Threads of the engine. */
  threads: number;
  /** Top kernels of the timed training steps (with `profile`). */
  profile?: KernelTime[];
}

/**
 * The configuration of a model the bench knows, by name, for a square input of side `size`.
 *
 * @example
 * ```ts
 * import { benchNetworkConfig } from "./bench.ts";
 * console.log(benchNetworkConfig("iresnet18", 112).kind); // iresnet
 * ```
 */
export function benchNetworkConfig(model: string, size: number): NetworkConfig {
  if (model === "mobilefacenet") return mobileFaceNetConfig({ inputSize: [size, size] });
  if (model === "iresnet18" || model === "iresnet34" || model === "iresnet50" || model === "iresnet100") {
    return iresnetConfig(model, { inputSize: [size, size] });
  }
  throw new Error(
    `bench: unknown model "${model}" (mobilefacenet, iresnet18, iresnet34, iresnet50, iresnet100)`,
  );
}

/** SGD hyper-parameters of the PyTorch peer benchmark. */
const LEARNING_RATE = 0.1, MOMENTUM = 0.9, WEIGHT_DECAY = 5e-4;

/**
 * Times `steps` training steps and `steps` inference passes of one model on the active engine.
 * Call {@linkcode useBackend} first.
 *
 * @param threads The engine's thread count, reported with the result.
 * @example
 * ```ts
 * import { useBackend } from "../lib/engine/mod.ts";
 * import { benchTrain } from "./bench.ts";
 * const info = await useBackend("wasm");
 * const result = benchTrain({ model: "mobilefacenet", size: 112, batch: 2, steps: 1, classes: 10 }, info.threads);
 * console.log(result.train_img_per_s > 0); // true
 * ```
 */
export function benchTrain(options: TrainBenchOptions, threads: number): TrainBenchResult {
  const { model, size, batch, steps, classes } = options;
  const net = createNetwork(benchNetworkConfig(model, size), { seed: 0 });
  const head = new MarginHead({ embeddingSize: net.embeddingSize, classes, loss: ELASTIC_ARC, seed: 0 });
  const rng = new Rng(0);
  const pixels = new Float32Array(batch * size * size * 3);
  for (let i = 0; i < pixels.length; i++) pixels[i] = rng.normal(0, 1);
  const x = tf.tensor4d(pixels, [batch, size, size, 3]);
  const labels = tf.tensor1d(Array.from({ length: batch }, () => rng.int(0, classes)), "int32");
  const variables = [...net.trainableVariables(), head.kernel];
  const optimizer = tf.train.momentum(LEARNING_RATE, MOMENTUM);
  const trainStep = (): number =>
    tf.tidy(() => {
      const { value, grads } = tf.variableGrads(
        () => head.loss(net.forward(x, { training: true }), labels).loss,
        variables,
      );
      optimizer.applyGradients(
        variables.map((v) => ({ name: v.name, tensor: tf.add(grads[v.name], tf.mul(v, WEIGHT_DECAY)) })),
      );
      return value.dataSync()[0];
    });
  const inferStep = (): void => {
    tf.tidy(() => net.forward(x).dataSync());
  };
  try {
    trainStep();
    const profiler = options.profile ? profileKernels() : undefined;
    let start = performance.now();
    for (let i = 0; i < steps; i++) {
      const loss = trainStep();
      if (!Number.isFinite(loss)) throw new Error(`bench: ${model} loss became ${loss}`);
    }
    const trainSeconds = (performance.now() - start) / 1000;
    profiler?.stop();
    inferStep();
    start = performance.now();
    for (let i = 0; i < steps; i++) inferStep();
    const inferSeconds = (performance.now() - start) / 1000;
    const result: TrainBenchResult = {
      model,
      size,
      batch,
      backend: tf.getBackend(),
      train_img_per_s: round(batch * steps / trainSeconds),
      infer_img_per_s: round(batch * steps / inferSeconds),
      threads,
    };
    if (profiler != null) result.profile = profiler.table();
    return result;
  } finally {
    optimizer.dispose();
    tf.dispose([x, labels]);
    head.dispose();
    net.dispose();
  }
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

const USAGE = `usage: deno task bench -- train [--model mobilefacenet,iresnet18] [--size 112] [--batch 32]
  [--steps 3] [--classes 1000] [--backend wasm] [--threads N] [--profile] [--json]`;

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = taskArgs(argv);
  if (command !== "train") {
    console.error(USAGE);
    Deno.exit(2);
  }
  const { values } = parseArgs({
    args: rest,
    options: {
      model: { type: "string", default: "mobilefacenet,iresnet18" },
      size: { type: "string", default: "112" },
      batch: { type: "string", default: "32" },
      steps: { type: "string", default: "3" },
      classes: { type: "string", default: "1000" },
      backend: { type: "string", default: "wasm" },
      threads: { type: "string" },
      profile: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
    },
  });
  const info = await useBackend(values.backend as BackendPreference, {
    threads: values.threads == null ? undefined : Number(values.threads),
  });
  if (!values.json) console.error(`engine: ${info.name} — ${info.device}`);
  for (const model of values.model.split(",")) {
    const result = benchTrain({
      model,
      size: Number(values.size),
      batch: Number(values.batch),
      steps: Number(values.steps),
      classes: Number(values.classes),
      profile: values.profile,
    }, info.threads);
    if (result.profile != null) {
      console.error(
        `${model}: kernels of ${values.steps} training step(s)\n${formatKernelTimes(result.profile)}`,
      );
      result.profile = result.profile.slice(0, 15).map((t) => ({
        ...t,
        selfMs: round(t.selfMs),
        totalMs: round(t.totalMs),
      }));
    }
    if (values.json) console.log(JSON.stringify(result));
    else {
      console.log(
        `${model} ${values.size}x${values.size} batch ${values.batch}: train ${result.train_img_per_s} img/s, ` +
          `inference ${result.infer_img_per_s} img/s (${info.name}, ${info.threads} thread(s))`,
      );
    }
  }
}

if (import.meta.main) await main(Deno.args);
