import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { useBackend } from "../lib/engine/mod.ts";
import { CheckpointStore, distill, TrainLog } from "../lib/train/mod.ts";
import { maxDifference, resumeScenario } from "./train_helpers.ts";

const CHILD = new URL("./resume_child.ts", import.meta.url).pathname;

/** Every tensor of a run's newest checkpoint (network, head, optimiser buffers), by group/name. */
async function finalTensors(outDir: string): Promise<{ step: number; values: Map<string, Float32Array> }> {
  const latest = await new CheckpointStore(`${outDir}/checkpoints`).loadLatest();
  assert.ok(latest != null, `${outDir} has a checkpoint`);
  const values = new Map<string, Float32Array>();
  for (const [group, tensors] of Object.entries(latest.checkpoint.groups)) {
    for (const [name, t] of tensors) values.set(`${group}/${name}`, Float32Array.from(t.dataSync()));
    tf.dispose([...tensors.values()]);
  }
  return { step: latest.entry.step, values };
}

/** The uninterrupted run, computed once in this process. */
let reference: Promise<Map<string, Float32Array>> | null = null;
function uninterrupted(): Promise<Map<string, Float32Array>> {
  reference ??= (async () => {
    await useBackend("wasm");
    const outDir = await Deno.makeTempDir();
    const { config, source, masker, teacher } = await resumeScenario(0);
    const result = await distill({
      config,
      data: { source, masker },
      teacher,
      studentInit: "scratch",
      outDir,
      progress: "none",
    });
    assert.equal(result.step, 12);
    result.dispose();
    teacher.dispose();
    const { step, values } = await finalTensors(outDir);
    assert.equal(step, 12);
    return values;
  })();
  return reference;
}

/**
 * Runs the child until it prints a step ≥ `killAfterStep` (then SIGKILLs it) or, with `killAfterMs`, until that
 * many milliseconds after its first step; returns the steps it reported and whether it finished by itself.
 */
async function runChild(
  outDir: string,
  checkpointEvery: number,
  kill: { afterStep?: number; afterMs?: number },
): Promise<{ steps: number[]; finished: boolean; killed: boolean }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", CHILD, outDir, String(checkpointEvery)],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const steps: number[] = [];
  let finished = false;
  let killed = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const killNow = () => {
    if (killed || finished) return;
    killed = true;
    try {
      child.kill("SIGKILL");
    } catch {
      // Already gone.
    }
  };
  const decoder = new TextDecoder();
  let buffered = "";
  for await (const chunk of child.stdout) {
    buffered += decoder.decode(chunk, { stream: true });
    let newline: number;
    while ((newline = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, newline).trim();
      buffered = buffered.slice(newline + 1);
      if (!line.startsWith("{")) continue;
      const message = JSON.parse(line) as { step?: number; finished?: number };
      if (message.finished != null) finished = true;
      if (message.step == null) continue;
      steps.push(message.step);
      if (kill.afterStep != null && message.step >= kill.afterStep) killNow();
      if (kill.afterMs != null && timer == null) timer = setTimeout(killNow, kill.afterMs);
    }
  }
  clearTimeout(timer);
  const status = await child.status;
  if (!killed) assert.equal(status.code, 0, "the child ran to the end");
  else if (!finished) assert.equal(status.signal, "SIGKILL");
  return { steps, finished, killed: killed && !finished };
}

Deno.test("resume: a run killed with SIGKILL mid-epoch and resumed ends with the uninterrupted run's weights", async () => {
  await useBackend("wasm");
  const outDir = await Deno.makeTempDir();
  // 4 steps per epoch, checkpoints every 3 steps: killed after step 7 (mid-epoch 2), it resumes from step 6.
  const first = await runChild(outDir, 3, { afterStep: 7 });
  assert.ok(first.killed, "the first child was killed");
  assert.ok(first.steps.at(-1)! >= 7 && first.steps.at(-1)! < 12, `killed at step ${first.steps.at(-1)}`);
  const second = await runChild(outDir, 3, {});
  assert.ok(second.finished);
  assert.equal(second.steps[0], 7, "the resumed run continued with step 7");
  const events = (await new TrainLog(`${outDir}/train_log.jsonl`).read()).flatMap((e) =>
    e.kind === "event" ? [e] : []
  );
  assert.ok(events.some((e) => e.event === "resume" && e.step === 6), "resumed from the step-6 checkpoint");
  const metricsSteps = (await new TrainLog(`${outDir}/train_log.jsonl`).read()).flatMap((e) =>
    e.kind === "metrics" ? [e.step] : []
  );
  assert.deepEqual(metricsSteps, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], "the log holds each step once");
  const resumed = await finalTensors(outDir);
  assert.equal(resumed.step, 12);
  const difference = maxDifference(await uninterrupted(), resumed.values);
  assert.ok(difference <= 1e-6, `largest difference ${difference}`);
});

Deno.test("resume: killed at random moments, even mid-save, every restart finds an intact checkpoint", async () => {
  await useBackend("wasm");
  const outDir = await Deno.makeTempDir();
  // A checkpoint after every step, so that kills land inside saves too.
  let kills = 0;
  let delay = 150;
  for (let attempt = 0; attempt < 6; attempt++) {
    const run = await runChild(outDir, 1, { afterMs: delay });
    delay = (delay * 1.7) % 900 + 50;
    if (!run.killed) break;
    kills++;
    const skipped: number[] = [];
    const latest = await new CheckpointStore(`${outDir}/checkpoints`).loadLatest((entry) =>
      skipped.push(entry.step)
    );
    assert.deepEqual(skipped, [], "no torn checkpoint after a kill");
    if (latest != null) {
      for (const group of Object.values(latest.checkpoint.groups)) tf.dispose([...group.values()]);
    }
  }
  const last = await runChild(outDir, 1, {});
  assert.ok(last.finished);
  assert.ok(kills >= 2, `killed ${kills} times`);
  const resumed = await finalTensors(outDir);
  assert.equal(resumed.step, 12);
  const difference = maxDifference(await uninterrupted(), resumed.values);
  assert.ok(difference <= 1e-6, `largest difference ${difference} after ${kills} kills`);
});
