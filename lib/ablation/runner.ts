/**
 * The ablation runner behind `deno task ablation` and the step notebooks: trains each step of the paper's
 * ablation (or reuses it when it already finished), evaluates it in UM-UM, M-UM and M-M with every metric,
 * and returns plain data.
 *
 * Runs live in `<out>/runs/<size>-seed<seed>/<step>/` (checkpoints, training log, configuration). A step is
 * trained when its folder holds no finished run, resumed from its newest checkpoint when a run was
 * interrupted, and reused when it finished — unless `fresh` asks to retrain it. Each run records the exact
 * checkpoints it started from and learned from (`ablation_step.json`); when one of them has been retrained
 * since, the step is stale and is trained again, so a table never mixes a student with another teacher.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { type BackendInfo, backendInfo, useBackend } from "../engine/mod.ts";
import { MaskInvPipeline } from "../data/pipeline.ts";
import type { Pixels } from "../data/pixels.ts";
import type { FaceEmbedder } from "../models/embedder.ts";
import { canonicalJson } from "../models/checkpoint.ts";
import { loadEmbedder } from "../models/load.ts";
import { FaceNetwork } from "../models/network.ts";
import {
  ABLATION_STEPS,
  type AblationStep,
  BOOKKEEPING_FIELDS,
  CheckpointStore,
  type MetricsLogEntry,
  type OpenedTrainingData,
  openTrainingData,
  type RecipeSize,
  type StudentInit,
  train,
  type TrainConfig,
  type TrainData,
  TrainLog,
  type TrainLogEntry,
  type TrainState,
  type ValidationCallback,
} from "../train/mod.ts";
import type { VerificationEvaluation } from "../metrics/mod.ts";
import { inNotebook, type ProgressOutput } from "../util/progress.ts";
import { writeTextFileAtomic } from "../util/atomic.ts";
import {
  ABLATION_EVALUATION,
  type AblationEvaluationPlan,
  AblationEvaluator,
  validationCallback,
} from "./evaluation.ts";
import { ablationStep, type AblationStepDefinition } from "./steps.ts";

/** Options of {@linkcode runAblation}, {@linkcode runAblationStep} and {@linkcode AblationSession}. */
export interface AblationOptions {
  /** Recipe size: `default` (synthetic identities, 2 CPU cores), `quick` (CI), `paper` (MS1MV2, GPU). */
  size?: RecipeSize;
  /** Steps to train and evaluate (default all four); steps they depend on are trained or reused as needed. */
  steps?: readonly AblationStep[];
  /** Seed of initial weights, data order, training masks and margins (default 0). Data and test set stay. */
  seed?: number;
  /** Engine: `auto` (default), `tensorflow`, `webgpu`, `wasm` or `cpu`. */
  backend?: string;
  /** Folder of the report files and of `runs/` (default `results`). */
  out?: string;
  /** Retrain the requested steps even when they finished (steps depending on them follow). */
  fresh?: boolean;
  /** The RecordIO training folder (paper size: MS1MV2 `faces_emore`). */
  data?: string;
  /** Verification `.bin` files for the evaluation (paper size). */
  bench?: readonly string[];
  /**
   * A pretrained baseline (e.g. the published ElasticFace-Arc `.pth`, or a checkpoint folder): used as step 1,
   * the teacher and the students' start, instead of training the baseline.
   */
  teacher?: string;
  /** The released MaskInv mask template (`mask_img.png`), for the paper size's masks. */
  maskTemplate?: string;
  /** Replaces the size's evaluation plan (e.g. a smaller test set). */
  evaluation?: AblationEvaluationPlan;
  /** Changes to each step's training configuration (e.g. `{ steps: 3 }` for a smoke test). */
  overrides?: Partial<TrainConfig>;
  /** Progress bars of training and embedding (default `auto`). */
  progress?: ProgressOutput;
  /** Receives one line per event (default: the console; stderr outside notebooks). */
  log?: (message: string) => void;
  /** Stops training after the current step (a checkpoint is saved; rerun to continue). */
  signal?: AbortSignal;
}

/** How a step's model came about in this call. */
export type StepStatus =
  /** Trained from its start in this call. */
  | "trained"
  /** Continued from an interrupted run's newest checkpoint. */
  | "resumed"
  /** A finished run was found and used as it is. */
  | "reused"
  /** Given by the user (`teacher`), not trained. */
  | "given";

/** Training facts of one step. */
export interface StepTraining {
  /** How the model came about in this call. */
  status: StepStatus;
  /** The run's folder (`null` for a given model). */
  runDir: string | null;
  /** The final checkpoint (or the given model's path). */
  checkpoint: string;
  /** The configuration trained with (`null` for a given model). */
  config: TrainConfig | null;
  /** Steps of the run. */
  totalSteps: number;
  /** Seconds of training in this call (0 when reused). */
  secondsThisCall: number;
  /** Seconds of training over the whole run, from its log (including earlier calls). */
  seconds: number;
  /** Mean training throughput over the run, images per second. */
  imagesPerSecond: number;
  /** Mean loss of the last logged window. */
  finalLoss: number | null;
  /** The metrics lines of the training log (loss, margin loss, distillation loss, learning rate, …). */
  history: MetricsLogEntry[];
}

/** Everything about one evaluated step; plain data. */
export interface AblationStepResult {
  /** The step. */
  step: AblationStep;
  /** Its position (1-based). */
  number: number;
  /** Row label. */
  label: string;
  /** What is trained. */
  summary: string;
  /** What it tests. */
  question: string;
  /** The numbers that define the step. */
  definition: {
    maskProbability: number;
    kdWeight: number;
    teacher: AblationStep | null;
    initFrom: AblationStep | null;
    learningRate: number;
    epochs: number;
    batchSize: number;
    architecture: string;
  };
  /** How it was trained. */
  training: StepTraining;
  /** Evaluation results by verification set. */
  evaluation: Record<string, VerificationEvaluation>;
  /** Seconds of the evaluation (when it was computed, also for a stored one). */
  evaluationSeconds: number;
  /** Whether the evaluation was read back from the run folder (same model, same evaluation plan). */
  evaluationStored: boolean;
}

/** A stored evaluation: valid for one model (checkpoint identity) and one evaluation plan. */
interface StoredEvaluation {
  format: "maskinv-ablation-evaluation";
  key: string;
  seconds: number;
  evaluation: Record<string, VerificationEvaluation>;
}

const EVALUATION_FILE = "evaluation.json";

/** A training batch as the student and the teacher see it. */
export interface TrainingPreview {
  /** The student's views (masked where `masked` says). */
  student: Pixels[];
  /** The teacher's views: the same faces, never masked. */
  teacher: Pixels[];
  /** Which student views wear a mask. */
  masked: boolean[];
  /** Identity labels. */
  labels: number[];
}

/** Converts a float `[n, h, w, 3]` batch with values in [0, 255] to 8-bit images. */
async function batchPixels(batch: tf.Tensor4D): Promise<Pixels[]> {
  const [n, height, width] = batch.shape;
  const values = (await batch.data()) as Float32Array;
  const size = height * width * 3;
  return Array.from({ length: n }, (_, k) => ({
    width,
    height,
    channels: 3 as const,
    data: Uint8Array.from(
      values.subarray(k * size, (k + 1) * size),
      (v: number) => Math.max(0, Math.min(255, Math.round(v))),
    ),
  }));
}

/** Provenance of a run: which checkpoints it started from and learned from. */
interface StepProvenance {
  format: "maskinv-ablation-step";
  step: AblationStep;
  init: string | null;
  teacher: string | null;
}

const PROVENANCE_FILE = "ablation_step.json";

/** What the newest checkpoint of a run folder says, read from its manifest alone. */
interface CheckpointSummary {
  directory: string;
  sha256: string;
  state: TrainState | null;
}

async function latestCheckpoint(runDir: string): Promise<CheckpointSummary | null> {
  const entries = await new CheckpointStore(`${runDir}/checkpoints`).list();
  for (let i = entries.length - 1; i >= 0; i--) {
    try {
      const manifest = JSON.parse(await Deno.readTextFile(`${entries[i].directory}/manifest.json`));
      const state = manifest?.metadata?.training as TrainState | undefined;
      return {
        directory: entries[i].directory,
        sha256: String(manifest?.data?.sha256 ?? ""),
        state: state?.format === "maskinv-train-state" ? state : null,
      };
    } catch {
      // An unreadable manifest: the trainer skips it too; try the previous checkpoint.
    }
  }
  return null;
}

async function readProvenance(runDir: string): Promise<StepProvenance | null> {
  try {
    const value = JSON.parse(await Deno.readTextFile(`${runDir}/${PROVENANCE_FILE}`));
    return value?.format === "maskinv-ablation-step" ? value as StepProvenance : null;
  } catch {
    return null;
  }
}

function differingFields(saved: TrainConfig, current: TrainConfig): string[] {
  const keys = new Set([...Object.keys(saved), ...Object.keys(current)]);
  return [...keys].filter((key) =>
    !(BOOKKEEPING_FIELDS as readonly string[]).includes(key) &&
    canonicalJson((saved as unknown as Record<string, unknown>)[key]) !==
      canonicalJson((current as unknown as Record<string, unknown>)[key])
  );
}

/** Training seconds, throughput and last loss over a whole run, from its log (one segment per resume). */
function summariseLog(entries: readonly TrainLogEntry[]): {
  seconds: number;
  imagesPerSecond: number;
  finalLoss: number | null;
  history: MetricsLogEntry[];
} {
  const history = entries.filter((e): e is MetricsLogEntry => e.kind === "metrics");
  let seconds = 0;
  let segment = 0;
  let previous = -1;
  let weighted = 0;
  let steps = 0;
  let lastStep = 0;
  for (const entry of history) {
    if (entry.elapsedSeconds < previous) {
      seconds += segment;
      segment = 0;
    }
    segment = entry.elapsedSeconds;
    previous = entry.elapsedSeconds;
    const window = Math.max(0, entry.step - lastStep);
    weighted += entry.imagesPerSecond * window;
    steps += window;
    lastStep = entry.step;
  }
  seconds += segment;
  return {
    seconds,
    imagesPerSecond: steps > 0 ? weighted / steps : 0,
    finalLoss: history.at(-1)?.loss ?? null,
    history,
  };
}

/** A step whose final model is on disk (or given). */
interface ResolvedStep {
  identity: string;
  training: StepTraining;
}

/**
 * One ablation in progress: opened once, it shares the training data, the evaluation set (with its masked
 * views prepared once) and the trained networks between steps. {@linkcode runAblation} and
 * {@linkcode runAblationStep} open and close one; use it directly to run steps one by one and keep going.
 *
 * @example
 * ```ts
 * import { AblationSession } from "./runner.ts";
 * const session = await AblationSession.open({
 *   size: "quick",
 *   out: await Deno.makeTempDir(),
 *   overrides: { steps: 2 },
 *   evaluation: {
 *     data: { kind: "synthetic", identities: 6, imagesPerIdentity: 2, pairs: 12, seed: 2 },
 *     masks: { mode: "clean" },
 *     maskSeed: 2021,
 *   },
 *   progress: "none",
 * });
 * try {
 *   const baseline = await session.runStep("baseline");
 *   console.log(baseline.training.status, baseline.evaluation["synthetic-eval"].scenarios["UM-UM"].metrics.eer);
 * } finally {
 *   session.close();
 * }
 * ```
 */
export class AblationSession {
  /** Recipe size. */
  readonly size: RecipeSize;
  /** Training seed. */
  readonly seed: number;
  /** Folder of the report files. */
  readonly out: string;
  /** Folder of this size's and seed's runs: `<out>/runs/<size>-seed<seed>`. */
  readonly runsDir: string;
  /** The engine. */
  readonly engine: BackendInfo;
  /** The evaluation plan. */
  readonly evaluationPlan: AblationEvaluationPlan;
  readonly #options: AblationOptions;
  readonly #log: (message: string) => void;
  readonly #requested: ReadonlySet<AblationStep>;
  readonly #resolved = new Map<AblationStep, Promise<ResolvedStep>>();
  readonly #networks = new Map<AblationStep, FaceEmbedder>();
  readonly #wiped = new Set<AblationStep>();
  #data: Promise<OpenedTrainingData> | null = null;
  #evaluator: Promise<AblationEvaluator> | null = null;
  #validation: Promise<ValidationCallback> | null = null;

  private constructor(options: AblationOptions, engine: BackendInfo) {
    this.#options = options;
    this.size = options.size ?? "default";
    this.seed = options.seed ?? 0;
    if (!Number.isInteger(this.seed)) {
      throw new RangeError(`the seed must be an integer, got ${options.seed}`);
    }
    this.out = (options.out ?? "results").replace(/\/+$/, "") || ".";
    this.runsDir = `${this.out}/runs/${this.size}-seed${this.seed}`;
    this.engine = engine;
    this.evaluationPlan = options.evaluation ?? ABLATION_EVALUATION[this.size];
    if (this.evaluationPlan == null) throw new RangeError(`unknown recipe size "${this.size}"`);
    this.#requested = new Set(options.steps ?? ABLATION_STEPS);
    const notebook = inNotebook();
    this.#log = options.log ?? ((message) => notebook ? console.log(message) : console.error(message));
  }

  /**
   * Activates the engine and prepares a session (nothing is trained or opened yet).
   *
   * @throws {BackendUnavailableError} When the engine cannot be used.
   */
  static async open(options: AblationOptions = {}): Promise<AblationSession> {
    const engine = await useBackend(options.backend ?? "auto");
    return new AblationSession(options, engine);
  }

  /** The definition of a step in this session's size. */
  definition(step: AblationStep): AblationStepDefinition {
    return ablationStep(step, this.size);
  }

  /** The run folder of a step. */
  runDir(step: AblationStep): string {
    return `${this.runsDir}/${step}`;
  }

  /** The training configuration of a step in this session (seed and overrides applied). */
  config(step: AblationStep): TrainConfig {
    return { ...this.definition(step).recipe.train, seed: this.seed, ...this.#options.overrides };
  }

  /**
   * Makes sure a step's final model exists — training, resuming or reusing it, and its prerequisites first —
   * and returns how it came about.
   */
  async train(step: AblationStep): Promise<StepTraining> {
    return (await this.#resolve(step)).training;
  }

  /** The trained model of a step (owned by the session: do not dispose it). */
  async network(step: AblationStep): Promise<FaceEmbedder> {
    await this.#resolve(step);
    let network = this.#networks.get(step);
    if (network == null) {
      const given = step === "baseline" ? this.#options.teacher : undefined;
      network = await loadEmbedder(given ?? (await latestCheckpoint(this.runDir(step)))!.directory);
      this.#networks.set(step, network);
    }
    return network;
  }

  /** The evaluator (opened on first use). */
  evaluator(): Promise<AblationEvaluator> {
    this.#evaluator ??= AblationEvaluator.open(this.evaluationPlan, {
      bench: this.#options.bench,
      maskTemplate: this.#options.maskTemplate,
    });
    return this.#evaluator;
  }

  /**
   * Trains (or reuses) one step and evaluates it. An evaluation of the same model under the same plan is read
   * back from the run folder instead of being computed again.
   */
  async runStep(step: AblationStep): Promise<AblationStepResult> {
    const resolved = await this.#resolve(step);
    const training = resolved.training;
    const definition = this.definition(step);
    const network = await this.network(step);
    const key = canonicalJson({
      plan: this.evaluationPlan,
      model: resolved.identity,
      bench: this.#options.bench ?? null,
    });
    const storedPath = training.runDir ? `${training.runDir}/${EVALUATION_FILE}` : null;
    let stored: StoredEvaluation | null = null;
    if (storedPath) {
      try {
        const value = JSON.parse(await Deno.readTextFile(storedPath)) as StoredEvaluation;
        if (value?.format === "maskinv-ablation-evaluation" && value.key === key) stored = value;
      } catch {
        // None yet (or unreadable): evaluate.
      }
    }
    let evaluation: Record<string, VerificationEvaluation>;
    let evaluationSeconds: number;
    if (stored) {
      this.#log(`${step}: using its stored evaluation (same model, same evaluation set and masks)`);
      evaluation = stored.evaluation;
      evaluationSeconds = stored.seconds;
    } else {
      const evaluator = await this.evaluator();
      this.#log(
        `${step}: evaluating on ${
          evaluator.sets.map((s) => `${s.name} (${s.pairs.length} pairs)`).join(", ")
        }`,
      );
      const started = performance.now();
      evaluation = await evaluator.evaluate(network, { progress: this.#options.progress });
      evaluationSeconds = (performance.now() - started) / 1000;
      if (storedPath) {
        const document: StoredEvaluation = {
          format: "maskinv-ablation-evaluation",
          key,
          seconds: evaluationSeconds,
          evaluation,
        };
        await writeTextFileAtomic(storedPath, `${JSON.stringify(document)}\n`);
      }
    }
    const config = training.config ?? definition.recipe.train;
    return {
      step,
      number: definition.number,
      label: definition.label,
      summary: definition.summary,
      question: definition.question,
      definition: {
        maskProbability: definition.maskProbability,
        kdWeight: definition.kdWeight,
        teacher: definition.teacher,
        initFrom: definition.initFrom,
        learningRate: config.learningRate,
        epochs: config.epochs,
        batchSize: config.batchSize,
        architecture: network.name,
      },
      training,
      evaluation,
      evaluationSeconds,
      evaluationStored: stored != null,
    };
  }

  /**
   * One training batch of a step as its student and teacher see it (the pipeline the trainer uses, with this
   * session's seed): to look at the data, not part of any run.
   */
  async trainingPreview(step: AblationStep, count = 8): Promise<TrainingPreview> {
    const config = this.config(step);
    const opened = await this.#openData();
    const pipeline = new MaskInvPipeline(opened.source, {
      batchSize: count,
      maskProbability: config.maskProbability,
      masker: config.maskProbability > 0 ? opened.masker : undefined,
      decode: opened.decode,
      seed: this.seed,
      flip: config.flip ?? "same",
      prefetch: 0,
    });
    const batch = await pipeline.next();
    try {
      return {
        student: await batchPixels(batch.studentView),
        teacher: await batchPixels(batch.teacherView),
        masked: [...batch.masked],
        labels: Array.from(await batch.label.data()),
      };
    } finally {
      batch.dispose();
      await pipeline.close();
    }
  }

  /** Releases the networks and the training data. */
  close(): void {
    for (const network of this.#networks.values()) network.dispose();
    this.#networks.clear();
    this.#data?.then((data) => data.close(), () => {});
  }

  #resolve(step: AblationStep): Promise<ResolvedStep> {
    let pending = this.#resolved.get(step);
    if (pending == null) {
      pending = this.#resolveNow(step);
      this.#resolved.set(step, pending);
    }
    return pending;
  }

  async #resolveNow(step: AblationStep): Promise<ResolvedStep> {
    const definition = this.definition(step);
    if (step === "baseline" && this.#options.teacher != null) return await this.#given(this.#options.teacher);
    // Prerequisites first: the start point and the teacher must be final.
    const init = definition.initFrom ? await this.#resolve(definition.initFrom) : null;
    const teacher = definition.teacher ? await this.#resolve(definition.teacher) : null;
    const provenance: StepProvenance = {
      format: "maskinv-ablation-step",
      step,
      init: init?.identity ?? null,
      teacher: teacher?.identity ?? null,
    };
    const runDir = this.runDir(step);
    const config = this.config(step);
    let latest = await latestCheckpoint(runDir);
    if (latest != null) {
      let reason: string | null = null;
      if (this.#options.fresh && this.#requested.has(step) && !this.#wiped.has(step)) {
        reason = "fresh run asked for";
      } else {
        const recorded = await readProvenance(runDir);
        const dependsOn = [...new Set([definition.initFrom, definition.teacher])].filter((s) => s != null);
        if (recorded == null && dependsOn.length > 0) {
          reason = `it has no record of the ${dependsOn.join(" / ")} model it was trained from`;
        } else if (
          recorded != null && (recorded.init !== provenance.init || recorded.teacher !== provenance.teacher)
        ) {
          reason = `the ${dependsOn.join(" / ")} model it was trained from has been retrained since`;
        }
      }
      if (reason != null) {
        this.#log(`${step}: retraining (${reason}); removing ${runDir}`);
        await Deno.remove(runDir, { recursive: true });
        latest = null;
      } else if (latest.state != null) {
        const differing = differingFields(latest.state.config, config);
        if (differing.length > 0) {
          throw new Error(
            `${runDir} holds a ${step} run with another configuration (${differing.join(", ")} differ); ` +
              "retrain it with --fresh (fresh: true) or choose another output folder",
          );
        }
      }
    }
    this.#wiped.add(step);
    if (latest?.state?.finished) {
      const summary = summariseLog(await new TrainLog(`${runDir}/train_log.jsonl`).read().catch(() => []));
      this.#log(`${step}: reusing the finished run in ${runDir} (${latest.state.step} steps)`);
      return {
        identity: `${step}@${latest.sha256}`,
        training: {
          status: "reused",
          runDir,
          checkpoint: latest.directory,
          config,
          totalSteps: latest.state.totalSteps,
          secondsThisCall: 0,
          ...summary,
        },
      };
    }
    return await this.#trainStep(step, definition, config, provenance, latest != null);
  }

  async #given(path: string): Promise<ResolvedStep> {
    const network = await loadEmbedder(path);
    this.#networks.set("baseline", network);
    this.#log(`baseline: the given model ${network.name} from ${path} (not trained here)`);
    return {
      identity: `given:${path}`,
      training: {
        status: "given",
        runDir: null,
        checkpoint: path,
        config: null,
        totalSteps: 0,
        secondsThisCall: 0,
        seconds: 0,
        imagesPerSecond: 0,
        finalLoss: null,
        history: [],
      },
    };
  }

  async #trainStep(
    step: AblationStep,
    definition: AblationStepDefinition,
    config: TrainConfig,
    provenance: StepProvenance,
    resuming: boolean,
  ): Promise<ResolvedStep> {
    const runDir = this.runDir(step);
    const opened = await this.#openData();
    const data: TrainData = config.maskProbability > 0
      ? opened
      : { source: opened.source, decode: opened.decode };
    const teacher = config.kdWeight > 0 && definition.teacher
      ? await this.network(definition.teacher)
      : undefined;
    let init: StudentInit | undefined;
    if (definition.initFrom === "baseline" && this.#options.teacher != null) {
      const given = await this.network("baseline");
      if (
        !(given instanceof FaceNetwork) || canonicalJson(given.config) !== canonicalJson(config.architecture)
      ) {
        throw new Error(
          `${step}: the student starts from the given baseline ${given.name}, which must be a network of the ` +
            `recipe's architecture; it is not`,
        );
      }
      init = given;
    } else if (definition.initFrom) {
      init = this.runDir(definition.initFrom);
    }
    await Deno.mkdir(runDir, { recursive: true });
    await writeTextFileAtomic(`${runDir}/${PROVENANCE_FILE}`, `${JSON.stringify(provenance, null, 2)}\n`);
    const validateEvery = config.validateEvery > 0;
    const validate = validateEvery ? await this.#validationCallback(definition) : undefined;
    this.#log(
      `${step}: ${resuming ? "resuming" : "training"} in ${runDir} — ${definition.summary}` +
        ` (p = ${config.maskProbability}, λ = ${config.kdWeight}, lr ${config.learningRate} at batch ` +
        `${config.referenceBatch}, ${config.steps ? `${config.steps} steps` : `${config.epochs} epochs`})`,
    );
    const result = await train({
      config,
      data,
      outDir: runDir,
      teacher,
      init,
      resume: true,
      validate,
      progress: this.#options.progress,
      signal: this.#options.signal,
    });
    if (result.stopped !== "finished") {
      result.dispose();
      throw new Error(
        `${step}: stopped at step ${result.step} of ${result.totalSteps}; the checkpoint is saved — run again to continue`,
      );
    }
    result.head.dispose();
    this.#networks.set(step, result.network);
    const latest = await latestCheckpoint(runDir);
    const summary = summariseLog(await new TrainLog(`${runDir}/train_log.jsonl`).read().catch(() => []));
    return {
      identity: `${step}@${latest?.sha256 ?? crypto.randomUUID()}`,
      training: {
        status: resuming ? "resumed" : "trained",
        runDir,
        checkpoint: result.checkpoint?.directory ?? latest?.directory ?? runDir,
        config,
        totalSteps: result.totalSteps,
        secondsThisCall: result.seconds,
        ...summary,
      },
    };
  }

  #openData(): Promise<OpenedTrainingData> {
    if (this.#data == null) {
      // Every step trains on the same images; the masked steps share one mask specification.
      const masked = ABLATION_STEPS.map((s) => this.definition(s).recipe).find((r) => r.masks != null)!;
      this.#data = openTrainingData(masked.data, masked.masks, {
        data: this.#options.data,
        maskTemplate: this.#options.maskTemplate,
      });
    }
    return this.#data;
  }

  #validationCallback(definition: AblationStepDefinition): Promise<ValidationCallback> {
    this.#validation ??= validationCallback(definition.recipe.validation, definition.recipe.evaluationMasks, {
      bench: this.#options.bench,
      maskTemplate: this.#options.maskTemplate,
    });
    return this.#validation;
  }
}

/** Everything {@linkcode runAblation} produced; plain data except nothing (JSON-serialisable). */
export interface AblationRun {
  /** Recipe size. */
  size: RecipeSize;
  /** Training seed. */
  seed: number;
  /** The engine. */
  engine: { name: string; device: string; threads: number };
  /** When the run started (ISO 8601). */
  started: string;
  /** Wall-clock seconds of the whole run (training, evaluation, report). */
  wallSeconds: number;
  /** The evaluation plan. */
  evaluation: AblationEvaluationPlan;
  /** The verification sets: name, pairs, images. */
  sets: { name: string; pairs: number; images: number }[];
  /** Folder of the runs. */
  runsDir: string;
  /** One entry per evaluated step, in the ablation's order. */
  steps: AblationStepResult[];
}

/**
 * Opens a session, trains (or reuses) and evaluates each requested step, closes the session.
 * Writing the report files is {@linkcode writeAblationReport}'s job (the CLI does both).
 *
 * @example
 * ```ts
 * import { runAblation } from "./runner.ts";
 * const run = await runAblation({
 *   size: "quick",
 *   steps: ["baseline", "masked"],
 *   out: await Deno.makeTempDir(),
 *   overrides: { steps: 2 },
 *   evaluation: {
 *     data: { kind: "synthetic", identities: 6, imagesPerIdentity: 2, pairs: 12, seed: 2 },
 *     masks: { mode: "clean" },
 *     maskSeed: 2021,
 *   },
 *   progress: "none",
 * });
 * console.log(run.steps.map((s) => `${s.label}: ${s.training.status}`));
 * ```
 */
export async function runAblation(options: AblationOptions = {}): Promise<AblationRun> {
  const started = performance.now();
  const startedAt = new Date().toISOString();
  const session = await AblationSession.open(options);
  try {
    const steps: AblationStepResult[] = [];
    for (const step of ABLATION_STEPS.filter((s) => (options.steps ?? ABLATION_STEPS).includes(s))) {
      steps.push(await session.runStep(step));
    }
    const evaluator = await session.evaluator();
    const info = backendInfo();
    return {
      size: session.size,
      seed: session.seed,
      engine: { name: info.name, device: info.device, threads: info.threads },
      started: startedAt,
      wallSeconds: (performance.now() - started) / 1000,
      evaluation: session.evaluationPlan,
      sets: evaluator.sets.map((s) => ({ name: s.name, pairs: s.pairs.length, images: s.imageCount })),
      runsDir: session.runsDir,
      steps,
    };
  } finally {
    session.close();
  }
}

/**
 * Trains (or reuses) one step — and whatever it depends on — and evaluates it: what each step notebook calls.
 *
 * @example
 * ```ts
 * import { runAblationStep } from "./runner.ts";
 * const result = await runAblationStep("baseline", {
 *   size: "quick",
 *   out: await Deno.makeTempDir(),
 *   overrides: { steps: 2 },
 *   evaluation: {
 *     data: { kind: "synthetic", identities: 6, imagesPerIdentity: 2, pairs: 12, seed: 2 },
 *     masks: { mode: "clean" },
 *     maskSeed: 2021,
 *   },
 *   progress: "none",
 * });
 * console.log(result.training.status); // trained
 * ```
 */
export async function runAblationStep(
  step: AblationStep,
  options: AblationOptions = {},
): Promise<AblationStepResult> {
  const session = await AblationSession.open({ ...options, steps: [step] });
  try {
    return await session.runStep(step);
  } finally {
    session.close();
  }
}

/**
 * The seeds whose runs of every given step have finished under `<out>/runs/<size>-seed<N>`, in increasing
 * order: e.g. to compare seeds after `deno task ablation --seed 1` without training anything.
 *
 * @example
 * ```ts
 * import { finishedSeeds } from "./runner.ts";
 * console.log(await finishedSeeds("results", "default")); // e.g. [ 0, 1 ]
 * ```
 */
export async function finishedSeeds(
  out: string,
  size: RecipeSize,
  steps: readonly AblationStep[] = ABLATION_STEPS,
): Promise<number[]> {
  const runs = `${out.replace(/\/+$/, "") || "."}/runs`;
  const pattern = new RegExp(`^${size}-seed(-?\\d+)$`);
  const seeds: number[] = [];
  try {
    for await (const entry of Deno.readDir(runs)) {
      const match = pattern.exec(entry.name);
      if (!entry.isDirectory || match == null) continue;
      const finished = await Promise.all(
        steps.map(async (step) =>
          (await latestCheckpoint(`${runs}/${entry.name}/${step}`))?.state?.finished === true
        ),
      );
      if (finished.every((f) => f)) seeds.push(Number(match[1]));
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return seeds.sort((a, b) => a - b);
}
