/**
 * Speed of the verification metrics on 10^6 genuine + 10^7 impostor scores, against scikit-learn's
 * `roc_curve` on the same scores in the same run (when Debian's python3-sklearn is installed).
 *
 * Run: `deno run -A tests/metrics_bench.ts [--genuine 1000000] [--impostor 10000000]`
 * Prints one JSON line.
 */
import { rocCurve, SortedScores, verificationMetrics } from "../lib/metrics/mod.ts";
import { Rng } from "../lib/util/random.ts";

function flag(name: string, fallback: number): number {
  const at = Deno.args.indexOf(`--${name}`);
  return at >= 0 ? Number(Deno.args[at + 1]) : fallback;
}

const genuineCount = flag("genuine", 1_000_000);
const impostorCount = flag("impostor", 10_000_000);
const rng = new Rng(20211210);
const genuine = new Float64Array(genuineCount);
const impostor = new Float64Array(impostorCount);
for (let i = 0; i < genuineCount; i++) genuine[i] = rng.normal(0.45, 0.15);
for (let i = 0; i < impostorCount; i++) impostor[i] = rng.normal(0.02, 0.1);

let start = performance.now();
const scores = SortedScores.from(genuine, impostor);
const sortSeconds = (performance.now() - start) / 1000;
start = performance.now();
const metrics = verificationMetrics(scores);
const metricsSeconds = (performance.now() - start) / 1000;
start = performance.now();
const curve = rocCurve(scores);
const curveSeconds = (performance.now() - start) / 1000;
const oursSeconds = sortSeconds + metricsSeconds + curveSeconds;

const python = "/usr/bin/python3";
const hasSklearn = await new Deno.Command(python, {
  args: ["-c", "import sklearn"],
  stdout: "null",
  stderr: "null",
})
  .output()
  .then((r) => r.success, () => false);

let sklearn: { seconds: number; points: number; version: string } | null = null;
if (hasSklearn) {
  const dir = await Deno.makeTempDir({ prefix: "maskinv-bench-" });
  try {
    await Deno.writeFile(`${dir}/genuine.f64`, new Uint8Array(genuine.buffer));
    await Deno.writeFile(`${dir}/impostor.f64`, new Uint8Array(impostor.buffer));
    const script = `
import json, sys, time
import numpy as np, sklearn
from sklearn.metrics import roc_curve
g = np.fromfile(sys.argv[1] + "/genuine.f64", dtype="<f8")
i = np.fromfile(sys.argv[1] + "/impostor.f64", dtype="<f8")
scores = np.concatenate([g, i])
labels = np.concatenate([np.ones(g.size, dtype=np.int8), np.zeros(i.size, dtype=np.int8)])
t = time.perf_counter()
fpr, tpr, thr = roc_curve(labels, scores)
seconds = time.perf_counter() - t
print(json.dumps({"seconds": seconds, "points": int(thr.size), "version": sklearn.__version__}))
`;
    const out = await new Deno.Command(python, { args: ["-c", script, dir], stderr: "inherit" }).output();
    if (!out.success) throw new Error("the scikit-learn benchmark script failed");
    sklearn = JSON.parse(new TextDecoder().decode(out.stdout).trim());
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
} else {
  console.error(
    `scikit-learn comparison skipped: ${python} -c "import sklearn" failed (apt-get install python3-sklearn)`,
  );
}

console.log(JSON.stringify({
  bench: "metrics",
  genuine: genuineCount,
  impostor: impostorCount,
  ours: {
    seconds: round(oursSeconds),
    sortSeconds: round(sortSeconds),
    metricsSeconds: round(metricsSeconds),
    curveSeconds: round(curveSeconds),
    curvePoints: curve.thresholds.length,
  },
  sklearnRocCurve: sklearn
    ? { seconds: round(sklearn.seconds), points: sklearn.points, version: sklearn.version }
    : null,
  ratio: sklearn ? round(sklearn.seconds / oursSeconds) : null,
  eer: metrics.eer,
  fmr1000: metrics.fmr1000,
}));

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
