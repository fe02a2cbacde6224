/**
 * The child process of the crash-safety tests: writes one file (or checkpoint) over and over, printing the
 * iteration after each completed write, until the parent kills it with SIGKILL. Each run continues from the
 * iteration it finds on disk, so a restart also proves the previous state is readable.
 *
 * Usage: deno run -A tests/atomic_write_child.ts <dir> <result|direct|checkpoint|store>
 *   result      writeTextFileAtomic of a ~2 MB JSON result
 *   direct      the same JSON written in place in 64 KiB chunks on a "slow disk" (not atomic: the control)
 *   checkpoint  saveCheckpoint into one folder (tensors filled with the iteration number)
 *   store       CheckpointStore.save of numbered checkpoints, keeping the newest two
 */
import * as tf from "@tensorflow/tfjs-core";
import { useBackend } from "../lib/engine/mod.ts";
import { loadCheckpoint, saveCheckpoint } from "../lib/models/checkpoint.ts";
import { CheckpointStore } from "../lib/train/checkpoints.ts";
import { writeTextFileAtomic } from "../lib/util/atomic.ts";
import { resultDocument, TINY_CONFIG } from "./atomic_write_shared.ts";

const [dir, mode] = Deno.args;
await useBackend("cpu");

async function lastIteration(): Promise<number> {
  if (mode === "result" || mode === "direct") {
    const text = await Deno.readTextFile(`${dir}/result.json`).catch(() => null);
    return text === null ? 0 : JSON.parse(text).iteration;
  }
  if (mode === "checkpoint") {
    const loaded = await loadCheckpoint(`${dir}/checkpoint`).catch(() => null);
    if (loaded === null) return 0;
    for (const group of Object.values(loaded.groups)) tf.dispose([...group.values()]);
    return loaded.metadata.iteration as number;
  }
  return (await new CheckpointStore(`${dir}/store`).latest())?.step ?? 0;
}

async function writeDirect(path: string, text: string): Promise<void> {
  const bytes = new TextEncoder().encode(text);
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  try {
    for (let at = 0; at < bytes.length; at += 65536) {
      await file.write(bytes.subarray(at, at + 65536));
      await new Promise((resolve) => setTimeout(resolve, 1)); // a slow disk: the write takes a while
    }
  } finally {
    file.close();
  }
}

const store = new CheckpointStore(`${dir}/store`, { keep: 2 });
for (let iteration = (await lastIteration()) + 1;; iteration++) {
  if (mode === "result") await writeTextFileAtomic(`${dir}/result.json`, resultDocument(iteration));
  else if (mode === "direct") await writeDirect(`${dir}/result.json`, resultDocument(iteration));
  else {
    const weights = tf.fill([128, 256], iteration);
    const contents = {
      architecture: TINY_CONFIG,
      groups: { model: new Map([["w", weights]]) },
      metadata: { iteration },
    };
    if (mode === "checkpoint") await saveCheckpoint(`${dir}/checkpoint`, contents);
    else await store.save(iteration, contents);
    weights.dispose();
  }
  console.log(iteration);
}
