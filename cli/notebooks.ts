/**
 * `deno task notebooks`: executes every notebook in `notebooks/` with the Deno Jupyter kernel through
 * Jupyter's nbconvert, top to bottom, failing on the first cell error.
 *
 * Quick mode (`MASKINV_QUICK=1`) is the default so CI stays short; `--full` runs the default sizes.
 * `--write` stores the executed notebooks (with their outputs) back in place — except the outputs of cells
 * tagged `shared-data`, which show material from `../shared` (real faces, the CC BY-NC MaskInv template)
 * that must not be redistributed with the repository: those are replaced by a one-line note.
 * Jupyter comes from Debian (`jupyter-nbconvert python3-nbclient python3-ipykernel`); when it is missing
 * and this runs as root with apt-get, it is installed, otherwise the run is skipped with a notice
 * (and fails under `CI=true`).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { writeTextFileAtomic } from "../lib/util/atomic.ts";
import { taskArgs } from "./common.ts";

const PYTHON = "/usr/bin/python3";
const JUPYTER_PACKAGES = ["jupyter-nbconvert", "python3-nbclient", "python3-ipykernel"];

const { values: args, positionals } = parseArgs({
  args: taskArgs(),
  allowPositionals: true,
  options: {
    full: { type: "boolean", default: false },
    write: { type: "boolean", default: false },
    timeout: { type: "string", default: "1800" },
  },
});

function run(command: string, commandArgs: string[], options: Deno.CommandOptions = {}): Deno.CommandOutput {
  return new Deno.Command(command, { args: commandArgs, stdout: "piped", stderr: "piped", ...options })
    .outputSync();
}

function jupyterAvailable(): boolean {
  try {
    return run(PYTHON, ["-c", "import nbconvert, nbclient, ipykernel"]).success;
  } catch {
    return false;
  }
}

function ensureJupyter(): boolean {
  if (jupyterAvailable()) return true;
  const isRoot = Deno.uid?.() === 0;
  let hasApt = false;
  try {
    hasApt = run("apt-get", ["--version"]).success;
  } catch {
    hasApt = false;
  }
  if (isRoot && hasApt) {
    console.log(`notebooks: installing Jupyter from Debian (${JUPYTER_PACKAGES.join(" ")})`);
    const env = { DEBIAN_FRONTEND: "noninteractive" };
    run("apt-get", ["update", "-qq"], { env });
    const install = run("apt-get", ["install", "-y", "-qq", ...JUPYTER_PACKAGES], { env });
    if (!install.success) console.error(new TextDecoder().decode(install.stderr));
    return jupyterAvailable();
  }
  return false;
}

const notebookDir = new URL("../notebooks/", import.meta.url).pathname;
const notebooks = positionals.length > 0
  ? positionals.map((p) => Deno.realPathSync(p))
  : [...Deno.readDirSync(notebookDir)]
    .filter((e) => e.isFile && e.name.endsWith(".ipynb"))
    .map((e) => `${notebookDir}${e.name}`)
    .sort();

if (notebooks.length === 0) {
  console.log("notebooks: no notebooks to execute");
  Deno.exit(0);
}
if (!ensureJupyter()) {
  const message = `notebooks: Jupyter is not installed (apt-get install -y ${JUPYTER_PACKAGES.join(" ")}); ` +
    `${notebooks.length} notebook(s) NOT executed`;
  if (Deno.env.get("CI") === "true") {
    console.error(message);
    Deno.exit(1);
  }
  console.warn(`SKIPPED ${message}`);
  Deno.exit(0);
}

// Register this Deno as the `deno` kernel (idempotent), so the kernel runs the same Deno as this task.
const install = run(Deno.execPath(), ["jupyter", "--install", "--force"]);
if (!install.success) {
  console.error(new TextDecoder().decode(install.stderr));
  Deno.exit(1);
}

/** A notebook cell as stored in `.ipynb` JSON (only the fields touched here). */
interface NotebookCell {
  cell_type: string;
  metadata?: { tags?: string[] };
  outputs?: unknown[];
}

const SHARED_DATA_NOTE =
  "[output not stored in the repository: it shows material from ../shared (real faces or the " +
  "CC BY-NC MaskInv template) that may not be redistributed; run the notebook to see it]\n";

/** Replaces the outputs of `shared-data` cells by a note, atomically. */
async function stripSharedDataOutputs(path: string): Promise<void> {
  const notebook = JSON.parse(await Deno.readTextFile(path)) as { cells: NotebookCell[] };
  let stripped = 0;
  for (const cell of notebook.cells) {
    if (cell.cell_type !== "code" || !cell.metadata?.tags?.includes("shared-data")) continue;
    cell.outputs = [{ output_type: "stream", name: "stdout", text: [SHARED_DATA_NOTE] }];
    stripped++;
  }
  if (stripped === 0) return;
  await writeTextFileAtomic(path, JSON.stringify(notebook, null, 1) + "\n");
}

const outDir = await Deno.makeTempDir({ prefix: "maskinv-notebooks-" });
let failed = 0;
for (const path of notebooks) {
  const name = path.slice(path.lastIndexOf("/") + 1);
  const started = performance.now();
  const result = run(PYTHON, [
    "-m",
    "nbconvert",
    "--to",
    "notebook",
    "--execute",
    "--ExecutePreprocessor.kernel_name=deno",
    `--ExecutePreprocessor.timeout=${args.timeout}`,
    ...(args.write ? ["--inplace"] : ["--output-dir", outDir]),
    path,
  ], {
    cwd: path.slice(0, path.lastIndexOf("/")),
    env: args.full ? {} : { MASKINV_QUICK: "1" },
  });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  if (result.success && args.write) await stripSharedDataOutputs(path);
  if (result.success) {
    console.log(`notebooks: executed ${name} (${seconds} s, ${args.full ? "full" : "quick"} mode)`);
  } else {
    failed++;
    const stderr = new TextDecoder().decode(result.stderr);
    console.error(
      `notebooks: FAILED ${name} after ${seconds} s\n${stderr.split("\n").slice(-60).join("\n")}`,
    );
  }
}
await Deno.remove(outDir, { recursive: true }).catch(() => {});
console.log(`notebooks: ${notebooks.length - failed}/${notebooks.length} executed without errors`);
Deno.exit(failed === 0 ? 0 : 1);
