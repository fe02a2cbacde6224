/**
 * Inference time of the face networks at 112x112 (batch 8 by default) after a warm-up, and optionally the
 * time of one training step (forward + backward in training mode, gradients of every trainable variable).
 *
 * Run: `deno run -A tests/models_bench.ts [--engine wasm] [--models iresnet18,iresnet50,iresnet100,mobilefacenet]
 *   [--batch 8] [--runs 3] [--train]`
 * Prints one JSON line per model: `{"bench":"models-forward","model",...,"ms_per_image",...}`.
 */
import * as tf from "@tensorflow/tfjs-core";
import { parseArgs } from "node:util";
import { backendInfo, useBackend } from "../lib/engine/mod.ts";
import { createNetwork, iresnetConfig, type IResNetDepth, mobileFaceNetConfig } from "../lib/models/mod.ts";
import { taskArgs } from "../cli/common.ts";

const { values: args } = parseArgs({
  args: taskArgs(),
  options: {
    engine: { type: "string", default: "wasm" },
    models: { type: "string", default: "iresnet18,iresnet50,iresnet100,mobilefacenet" },
    batch: { type: "string", default: "8" },
    runs: { type: "string", default: "3" },
    train: { type: "boolean", default: false },
  },
});
const batch = Number(args.batch);
const runs = Number(args.runs);
await useBackend(args.engine);

for (const name of args.models.split(",")) {
  const config = name === "mobilefacenet" ? mobileFaceNetConfig() : iresnetConfig(name as IResNetDepth);
  const net = createNetwork(config, { seed: 1 });
  const x = tf.randomUniform([batch, 112, 112, 3], -1, 1, "float32", 1) as tf.Tensor4D;
  const time = (f: () => void) => {
    f(); // warm-up: kernel setup, weight packing
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const start = performance.now();
      f();
      times.push(performance.now() - start);
    }
    return Math.min(...times);
  };
  const forwardMs = time(() => tf.tidy(() => void net.forward(x).dataSync()));
  const result: Record<string, unknown> = {
    bench: "models-forward",
    model: net.name,
    engine: backendInfo().name,
    device: backendInfo().device,
    batch,
    parameters: net.parameterCount(),
    ms_per_batch: +forwardMs.toFixed(1),
    ms_per_image: +(forwardMs / batch).toFixed(2),
    img_per_s: +(1000 * batch / forwardMs).toFixed(2),
  };
  if (args.train) {
    const vars = net.trainableVariables();
    const stepMs = time(() =>
      tf.tidy(() => {
        const { grads } = tf.variableGrads(
          () => tf.mean(tf.square(net.forward(x, { training: true }))) as tf.Scalar,
          vars,
        );
        tf.sum(grads[vars[0].name]).dataSync();
      })
    );
    result.train_ms_per_step = +stepMs.toFixed(1);
    result.train_img_per_s = +(1000 * batch / stepMs).toFixed(2);
  }
  console.log(JSON.stringify(result));
  x.dispose();
  net.dispose();
}
