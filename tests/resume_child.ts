/**
 * The child process of the kill-and-resume tests: runs (or resumes) the scenario of `resumeScenario` in the
 * folder given, printing one JSON line per completed step, so the parent can kill it mid-run.
 *
 * Usage: deno run -A tests/resume_child.ts <outDir> <checkpointEvery>
 */
import { useBackend } from "../lib/engine/mod.ts";
import { distill } from "../lib/train/mod.ts";
import { resumeScenario } from "./train_helpers.ts";

await useBackend("wasm");
const [outDir, every] = Deno.args;
const { config, source, masker, teacher } = await resumeScenario(Number(every));
const result = await distill({
  config,
  data: { source, masker },
  teacher,
  studentInit: "scratch",
  outDir,
  resume: true,
  progress: "none",
  onLog: (entry) => {
    if (entry.kind === "metrics") console.log(JSON.stringify({ step: entry.step }));
  },
});
console.log(JSON.stringify({ finished: result.step }));
result.dispose();
teacher.dispose();
