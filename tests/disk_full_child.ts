/**
 * The child process of the disk-full test. It runs inside `unshare --user --map-root-user --mount`, so it may
 * mount a tiny tmpfs (visible to itself only) and fill it for real: an atomic result write and a training run
 * whose second checkpoint does not fit. It prints one JSON line with what it observed.
 *
 * Usage: unshare -rm deno run -A tests/disk_full_child.ts [folder]
 */
import * as tf from "@tensorflow/tfjs-core";
import { useBackend } from "../lib/engine/mod.ts";
import { CheckpointStore, CheckpointWriteError, train } from "../lib/train/mod.ts";
import { writeTextFileAtomic } from "../lib/util/atomic.ts";
import { tinyConfig, tinyFaces } from "./train_helpers.ts";

await useBackend("wasm");
const report: Record<string, unknown> = {};

async function mountTmpfs(dir: string, bytes: number): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const kib = Math.ceil(bytes / 4096) * 4;
  const { code, stderr } = await new Deno.Command("mount", {
    args: ["-t", "tmpfs", "-o", `size=${kib}k`, "tmpfs", dir],
    stderr: "piped",
  }).output();
  if (code !== 0) throw new Error(`mount failed: ${new TextDecoder().decode(stderr)}`);
}

async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    total += entry.isDirectory ? await folderBytes(path) : (await Deno.stat(path)).size;
  }
  return total;
}

const root = Deno.args[0] ?? await Deno.makeTempDir();

// 1. An atomic result write that does not fit leaves the previous result as it was, and no temporary file.
await mountTmpfs(`${root}/results`, 64 * 1024);
await writeTextFileAtomic(`${root}/results/result.json`, JSON.stringify({ eer: 0.05 }));
try {
  await writeTextFileAtomic(
    `${root}/results/result.json`,
    JSON.stringify({ scores: new Array(200_000).fill(0.5) }),
  );
  report.resultWrite = "accepted";
} catch (error) {
  report.resultWrite = String(error);
}
report.resultAfter = await Deno.readTextFile(`${root}/results/result.json`);
report.resultFolder = [...Deno.readDirSync(`${root}/results`)].map((e) => e.name);

// 2. Training whose second checkpoint does not fit: measure one checkpoint on the normal disk first.
const config = tinyConfig({ steps: 4, checkpointEvery: 1, keepCheckpoints: 2 });
const probe = await train({
  config: { ...config, steps: 1 },
  data: { source: tinyFaces() },
  outDir: `${root}/probe`,
  progress: "none",
});
probe.dispose();
const checkpointBytes = await folderBytes(`${root}/probe/checkpoints`);
const runBytes = await folderBytes(`${root}/probe`);
report.checkpointBytes = checkpointBytes;
// Room for the log, the configuration and one and a half checkpoints (tmpfs counts whole pages).
await mountTmpfs(`${root}/run`, runBytes + checkpointBytes / 2 + 64 * 1024);
try {
  const result = await train({
    config,
    data: { source: tinyFaces() },
    outDir: `${root}/run`,
    progress: "none",
  });
  result.dispose();
  report.train = "finished";
} catch (error) {
  report.train = error instanceof CheckpointWriteError
    ? { step: error.step, previous: error.previous?.step ?? null, message: error.message }
    : `unexpected: ${error}`;
}
const store = new CheckpointStore(`${root}/run/checkpoints`);
report.checkpointsAfter = (await store.list()).map((e) => e.step);
const latest = await store.loadLatest();
if (latest) {
  report.latestLoads = latest.entry.step;
  report.latestFinite = [...latest.checkpoint.groups.model.values()].every((t) =>
    t.dataSync().every(Number.isFinite)
  );
  for (const group of Object.values(latest.checkpoint.groups)) tf.dispose([...group.values()]);
}
report.runFolder = [...Deno.readDirSync(`${root}/run/checkpoints`)].map((e) => e.name).sort();
console.log(JSON.stringify(report));
