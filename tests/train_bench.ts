/**
 * maskinv's training and inference throughput against PyTorch's on the same CPU, in one run.
 *
 * For each model, `../shared/bench/torch_train_step.py` (Debian's python3-torch) and maskinv's
 * `deno task bench -- train` run back to back with the same thread count, batch and input size; the ratios
 * (maskinv / PyTorch) are printed with the load average around each measurement. When `/usr/bin/python3`
 * cannot import torch, the PyTorch side is skipped and the output says so.
 *
 * Run: `deno run -A tests/train_bench.ts [--models mobilefacenet,iresnet18] [--threads 2] [--steps 3]
 *   [--batch 32] [--size 112] [--rounds 1]`
 * Prints one JSON line per model and round:
 * `{"bench":"train-vs-torch","model",…,"maskinv":{…},"torch":{…}|null,"train_ratio","infer_ratio","load"}`.
 */
import { parseArgs } from "node:util";
import { taskArgs } from "../cli/common.ts";

const { values: args } = parseArgs({
  args: taskArgs(),
  options: {
    models: { type: "string", default: "mobilefacenet,iresnet18" },
    threads: { type: "string", default: String(Math.min(navigator.hardwareConcurrency, 8)) },
    steps: { type: "string", default: "3" },
    batch: { type: "string", default: "32" },
    size: { type: "string", default: "112" },
    rounds: { type: "string", default: "1" },
  },
});

const PYTHON = "/usr/bin/python3";
const TORCH_SCRIPT = new URL("../../shared/bench/torch_train_step.py", import.meta.url);
const BENCH = new URL("../cli/bench.ts", import.meta.url);

interface Throughput {
  train_img_per_s: number;
  infer_img_per_s: number;
  threads: number;
  [key: string]: unknown;
}

async function run(
  command: string,
  commandArgs: string[],
): Promise<{ ok: boolean; stdout: string; stderr: string }> {
  const output = await new Deno.Command(command, { args: commandArgs, stdout: "piped", stderr: "piped" })
    .output();
  const decoder = new TextDecoder();
  return { ok: output.success, stdout: decoder.decode(output.stdout), stderr: decoder.decode(output.stderr) };
}

function loadAverage(): number[] {
  try {
    return Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).map(Number);
  } catch {
    return [];
  }
}

function lastJson(text: string): Throughput {
  const line = text.trim().split("\n").filter((l) => l.startsWith("{")).pop();
  if (line == null) throw new Error(`no JSON result in:\n${text}`);
  return JSON.parse(line) as Throughput;
}

async function torchAvailable(): Promise<string | null> {
  try {
    await Deno.stat(TORCH_SCRIPT);
  } catch {
    return `${TORCH_SCRIPT.pathname} not found (../shared is absent)`;
  }
  try {
    const probe = await run(PYTHON, ["-c", "import torch"]);
    return probe.ok ? null : `${PYTHON} cannot import torch (install Debian's python3-torch)`;
  } catch {
    return `${PYTHON} not found`;
  }
}

const common = ["--size", args.size, "--batch", args.batch, "--steps", args.steps];
const torchProblem = await torchAvailable();
if (torchProblem != null) console.warn(`PyTorch comparison skipped: ${torchProblem}`);

for (let round = 0; round < Number(args.rounds); round++) {
  for (const model of args.models.split(",")) {
    let torch: Throughput | null = null;
    const loadBefore = loadAverage();
    if (torchProblem == null) {
      const result = await run(PYTHON, [
        TORCH_SCRIPT.pathname,
        "--models",
        model,
        "--threads",
        args.threads,
        ...common,
      ]);
      if (!result.ok) throw new Error(`torch_train_step.py failed:\n${result.stderr}`);
      torch = lastJson(result.stdout);
    }
    const loadBetween = loadAverage();
    const ours = await run(Deno.execPath(), [
      "run",
      "-A",
      BENCH.pathname,
      "train",
      "--model",
      model,
      "--threads",
      args.threads,
      "--json",
      ...common,
    ]);
    if (!ours.ok) throw new Error(`bench failed:\n${ours.stderr}`);
    const maskinv = lastJson(ours.stdout);
    const ratio = (a: number, b: number) => Math.round((a / b) * 1000) / 1000;
    console.log(JSON.stringify({
      bench: "train-vs-torch",
      model,
      size: Number(args.size),
      batch: Number(args.batch),
      threads: Number(args.threads),
      maskinv,
      torch,
      train_ratio: torch == null ? null : ratio(maskinv.train_img_per_s, torch.train_img_per_s),
      infer_ratio: torch == null ? null : ratio(maskinv.infer_img_per_s, torch.infer_img_per_s),
      load: { before_torch: loadBefore, before_maskinv: loadBetween, after: loadAverage() },
    }));
  }
}
