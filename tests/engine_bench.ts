/**
 * Training-step time of a 3-layer conv net (batch 32, 56x56x3, 10 classes) on each engine, with the
 * wasm engine measured twice: with maskinv's XNNPACK gradient kernels and with the naive stand-ins they
 * replace (a loop-based filter gradient plus wasm's own loop-based input gradient). PyTorch runs the same
 * net in the same process tree when Debian's python3-torch is installed.
 *
 * Run: `deno run -A tests/engine_bench.ts [--steps 5] [--engines wasm,wasm-naive,cpu] [--no-torch] [--profile]`
 * Prints one JSON line per engine: `{"bench":"engine-3conv","engine",...,"step_s","ratio_vs_torch"}`; with
 * `--profile`, also `"top_kernels"`: the five kernels with the most self time over the timed steps.
 */
import * as tf from "@tensorflow/tfjs-core";
import { parseArgs } from "node:util";
import {
  type KernelTime,
  profileKernels,
  unregisterWasmTrainingKernels,
  useBackend,
} from "../lib/engine/mod.ts";
import { Rng } from "../lib/util/random.ts";
import { taskArgs } from "../cli/common.ts";

const { values: args } = parseArgs({
  args: taskArgs(),
  options: {
    steps: { type: "string", default: "5" },
    engines: { type: "string", default: "wasm,wasm-naive,cpu" },
    "no-torch": { type: "boolean", default: false },
    profile: { type: "boolean", default: false },
  },
});
const steps = Number(args.steps);
const BATCH = 32, SIZE = 56, CLASSES = 10;

/** The loop-based filter gradient every engine without a fast kernel falls back to (for the "before" figure). */
function naiveConv2dBackpropFilter(
  { inputs, attrs, backend }: {
    inputs: tf.NamedTensorInfoMap;
    attrs: {
      strides: [number, number];
      pad: "same" | "valid";
      filterShape: [number, number, number, number];
    };
    backend: tf.KernelBackend;
  },
): tf.TensorInfo {
  const x = inputs.x as tf.TensorInfo;
  const dy = inputs.dy as tf.TensorInfo;
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterShape,
    attrs.strides,
    1,
    attrs.pad,
  );
  const xv = backend.readSync(x.dataId) as Float32Array;
  const dyv = backend.readSync(dy.dataId) as Float32Array;
  const [fh, fw, ci, co] = attrs.filterShape;
  const out = new Float32Array(fh * fw * ci * co);
  const { inHeight: h, inWidth: w, outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw } = info;
  for (let n = 0; n < x.shape[0]; n++) {
    for (let i = 0; i < oh; i++) {
      for (let j = 0; j < ow; j++) {
        const dyBase = ((n * oh + i) * ow + j) * co;
        for (let kh = 0; kh < fh; kh++) {
          const r = i * sh + kh - info.padInfo.top;
          if (r < 0 || r >= h) continue;
          for (let kw = 0; kw < fw; kw++) {
            const c = j * sw + kw - info.padInfo.left;
            if (c < 0 || c >= w) continue;
            const xBase = ((n * h + r) * w + c) * ci;
            for (let a = 0; a < ci; a++) {
              const xa = xv[xBase + a];
              const outBase = ((kh * fw + kw) * ci + a) * co;
              for (let b = 0; b < co; b++) out[outBase + b] += xa * dyv[dyBase + b];
            }
          }
        }
      }
    }
  }
  const dataId = backend.write(out, attrs.filterShape, "float32");
  return { dataId, shape: attrs.filterShape, dtype: "float32" };
}

async function useEngine(engine: string): Promise<void> {
  if (engine === "wasm-naive") {
    await useBackend("wasm");
    // Put back what wasm has without maskinv: its own input gradient and a loop-based filter gradient.
    unregisterWasmTrainingKernels();
    tf.registerKernel({
      kernelName: "Conv2DBackpropFilter",
      backendName: "wasm",
      kernelFunc: naiveConv2dBackpropFilter as unknown as tf.KernelFunc,
    });
  } else {
    if (tf.getKernel("Conv2DBackpropFilter", "wasm") != null) {
      tf.unregisterKernel("Conv2DBackpropFilter", "wasm");
    }
    await useBackend(engine); // re-registers maskinv's kernels for wasm
  }
}

function stepTime(): { seconds: number; profile?: KernelTime[] } {
  const rng = new Rng(1);
  const init = (shape: number[], std: number) =>
    tf.variable(
      tf.tensor(
        Float32Array.from({ length: shape.reduce((a, b) => a * b) }, () => rng.normal(0, std)),
        shape,
      ),
    );
  const w1 = init([3, 3, 3, 32], 0.2), w2 = init([3, 3, 32, 64], 0.06), w3 = init([3, 3, 64, 128], 0.04);
  const fc = init([128, CLASSES], 0.1);
  const vars = [w1, w2, w3, fc];
  const x = tf.randomNormal([BATCH, SIZE, SIZE, 3]) as tf.Tensor4D;
  const y = tf.oneHot(tf.tensor1d(Array.from({ length: BATCH }, (_, i) => i % CLASSES), "int32"), CLASSES);
  const step = () =>
    tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => {
        let h = tf.relu(tf.conv2d(x, w1 as tf.Tensor4D, 1, "same"));
        h = tf.relu(tf.conv2d(h, w2 as tf.Tensor4D, 2, "same"));
        h = tf.relu(tf.conv2d(h, w3 as tf.Tensor4D, 2, "same"));
        return tf.losses.softmaxCrossEntropy(
          y,
          tf.matMul(tf.mean(h, [1, 2]), fc as tf.Tensor2D),
        ) as tf.Scalar;
      }, vars);
      for (const v of vars) v.assign(tf.sub(v, tf.mul(grads[v.name], 0.01)));
      value.dataSync();
    });
  step();
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) step();
  const seconds = (performance.now() - t0) / 1000 / steps;
  let profile: KernelTime[] | undefined;
  if (args.profile) {
    // Profiled separately: the wrapper's own overhead stays out of the timing above.
    const profiler = profileKernels();
    for (let i = 0; i < steps; i++) step();
    profiler.stop();
    profile = profiler.table().slice(0, 5).map((k) => ({
      kernel: k.kernel,
      calls: k.calls / steps,
      selfMs: Math.round(k.selfMs / steps),
      totalMs: Math.round(k.totalMs / steps),
    }));
  }
  tf.dispose([x, y, ...vars]);
  return { seconds, profile };
}

function torchStepTime(): number | undefined {
  if (args["no-torch"]) return undefined;
  const script = `
import time, torch, torch.nn as nn, torch.nn.functional as F, json
torch.set_num_threads(${navigator.hardwareConcurrency}); torch.manual_seed(0)
net = nn.Sequential(nn.Conv2d(3,32,3,1,1,bias=False), nn.ReLU(), nn.Conv2d(32,64,3,2,1,bias=False), nn.ReLU(),
                    nn.Conv2d(64,128,3,2,1,bias=False), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(128,${CLASSES},bias=False))
opt = torch.optim.SGD(net.parameters(), lr=0.01)
x = torch.randn(${BATCH},3,${SIZE},${SIZE}); y = torch.arange(${BATCH}) % ${CLASSES}
def step():
    opt.zero_grad(); F.cross_entropy(net(x), y).backward(); opt.step()
step(); t0 = time.perf_counter()
for _ in range(${steps}): step()
print(json.dumps((time.perf_counter() - t0) / ${steps}))
`;
  try {
    const out = new Deno.Command("/usr/bin/python3", { args: ["-c", script], stderr: "piped" }).outputSync();
    if (!out.success) {
      console.error(
        `PyTorch comparison skipped: ${new TextDecoder().decode(out.stderr).trim().split("\n").pop()}`,
      );
      return undefined;
    }
    return Number(new TextDecoder().decode(out.stdout));
  } catch (error) {
    console.error(`PyTorch comparison skipped: ${error}`);
    return undefined;
  }
}

const torchSeconds = torchStepTime();
if (torchSeconds !== undefined) {
  console.log(
    JSON.stringify({
      bench: "engine-3conv",
      engine: "pytorch-cpu",
      batch: BATCH,
      size: SIZE,
      step_s: torchSeconds,
    }),
  );
}
for (const engine of args.engines.split(",")) {
  await useEngine(engine);
  const { seconds, profile } = stepTime();
  console.log(JSON.stringify({
    bench: "engine-3conv",
    engine,
    batch: BATCH,
    size: SIZE,
    step_s: Number(seconds.toFixed(4)),
    ratio_vs_torch: torchSeconds === undefined ? null : Number((torchSeconds / seconds).toFixed(4)),
    ...(profile == null ? {} : { top_kernels_ms_per_step: profile }),
  }));
}
