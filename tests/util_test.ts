import assert from "node:assert/strict";
import { taskArgs } from "../cli/common.ts";
import {
  formatDuration,
  hashSeed,
  Progress,
  Rng,
  writeFileAtomic,
  writeTextFileAtomic,
} from "../lib/util/mod.ts";

Deno.test("Rng: equal seeds give equal streams, different seeds differ", () => {
  const a = new Rng(42), b = new Rng(42), c = new Rng(43);
  const sa = Array.from({ length: 8 }, () => a.nextUint32());
  const sb = Array.from({ length: 8 }, () => b.nextUint32());
  const sc = Array.from({ length: 8 }, () => c.nextUint32());
  assert.deepEqual(sa, sb);
  assert.notDeepEqual(sa, sc);
});

Deno.test("Rng: a saved state continues the same stream, and state words are unsigned", () => {
  const rng = new Rng("resume");
  for (let i = 0; i < 100; i++) rng.normal();
  const saved = rng.state;
  for (const word of saved) assert.ok(Number.isInteger(word) && word >= 0 && word < 2 ** 32, `word ${word}`);
  const expected = [rng.uniform(), rng.normal(0.5, 0.05), rng.int(-40, 40)];
  const restored = Rng.fromState(JSON.parse(JSON.stringify(saved)));
  assert.deepEqual([restored.uniform(), restored.normal(0.5, 0.05), restored.int(-40, 40)], expected);
});

Deno.test("Rng: uniform, int and normal have the right ranges and moments", () => {
  const rng = new Rng(1);
  let sum = 0, sumSq = 0;
  const n = 20000;
  for (let i = 0; i < n; i++) {
    const u = rng.uniform();
    assert.ok(u >= 0 && u < 1);
    const k = rng.int(-40, 40);
    assert.ok(Number.isInteger(k) && k >= -40 && k < 40);
    const z = rng.normal(0.5, 0.05);
    sum += z;
    sumSq += z * z;
  }
  const mean = sum / n;
  const std = Math.sqrt(sumSq / n - mean * mean);
  assert.ok(Math.abs(mean - 0.5) < 0.002, `mean ${mean}`);
  assert.ok(Math.abs(std - 0.05) < 0.002, `std ${std}`);
  assert.throws(() => rng.int(3, 3), RangeError);
});

Deno.test("Rng: shuffle is a permutation and fork is independent of later draws", () => {
  const rng = new Rng(9);
  const items = rng.shuffle(Array.from({ length: 50 }, (_, i) => i));
  assert.deepEqual([...items].sort((x, y) => x - y), Array.from({ length: 50 }, (_, i) => i));
  assert.notDeepEqual(items, Array.from({ length: 50 }, (_, i) => i));
  assert.equal(new Rng(5).fork("eval/3").uniform(), new Rng(5).fork("eval/3").uniform());
  assert.equal(hashSeed("lfw"), hashSeed("lfw"));
  assert.notEqual(hashSeed("lfw"), hashSeed("cfp"));
});

Deno.test("writeFileAtomic replaces the file whole and leaves no temporary files", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/checkpoint.bin`;
  await writeFileAtomic(path, new Uint8Array([1, 2, 3]));
  await writeTextFileAtomic(path, "new contents");
  assert.equal(await Deno.readTextFile(path), "new contents");
  assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["checkpoint.bin"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("writeFileAtomic into a missing directory fails naming the path and keeps nothing", async () => {
  const dir = await Deno.makeTempDir();
  await assert.rejects(
    () => writeFileAtomic(`${dir}/missing/out.json`, new Uint8Array([1])),
    (error: Error) => error.message.includes(`${dir}/missing/out.json`),
  );
  assert.deepEqual([...Deno.readDirSync(dir)], []);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("Progress counts, computes a rate and formats an ETA line", () => {
  const bar = new Progress({ total: 10, label: "demo", unit: "img", output: "none" });
  bar.tick(4, { loss: 1.5 });
  const line = bar.line(10);
  assert.match(line, /^demo 4\/10 \[####------\] 40% /);
  assert.match(line, /img\/s ETA /);
  assert.match(line, /loss=1\.50/);
  bar.update(10);
  assert.match(bar.line(10), /100% .* in \d+s/);
  assert.equal(formatDuration(185), "3m05s");
  assert.equal(formatDuration(Number.NaN), "?");
});

Deno.test("Progress in log mode prints the final line once", async () => {
  const script = `import { Progress } from ${
    JSON.stringify(new URL("../lib/util/progress.ts", import.meta.url).href)
  };
const bar = new Progress({ total: 2, label: "once", output: "log", intervalMs: 0 });
bar.tick(); bar.tick(); bar.finish();`;
  const out = await new Deno.Command(Deno.execPath(), { args: ["eval", script], stderr: "piped" }).output();
  const lines = new TextDecoder().decode(out.stderr).trim().split("\n");
  assert.equal(lines.filter((l) => l.startsWith("once 2/2")).length, 1, lines.join("\n"));
});

Deno.test("taskArgs drops the separator `deno task name -- args` passes, also after a task's own arguments", () => {
  assert.deepEqual(taskArgs(["--quick"]), ["--quick"]);
  assert.deepEqual(taskArgs(["--", "--quick", "--seed", "1"]), ["--quick", "--seed", "1"]);
  // eval:mfr2 runs `cli/eval.ts --task mfr2`, so the user's `--` comes after the task's own arguments.
  assert.deepEqual(taskArgs(["--task", "mfr2", "--", "--mfr2", "dir"]), ["--task", "mfr2", "--mfr2", "dir"]);
});
