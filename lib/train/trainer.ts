/**
 * The training loop of ElasticFace and MaskInv: a face network and a margin head trained with SGD on batches
 * from the MaskInv pipeline, optionally distilled from a frozen teacher at the template level, with a metrics
 * log, a progress bar, periodic validation, crash-safe checkpoints and exact resumption.
 *
 * One step, for a batch with student view `x'` (masked with probability p) and teacher view `x` (the unmasked
 * copy): `L = L_margin(head, student(x'), y) + λ · MSE(l2n(student(x')), l2n(teacher(x)))`; the teacher's
 * embeddings are computed in inference mode outside the differentiated function, so no gradient reaches it.
 * Gradients are clipped to a global L2 norm (the backbone's, as ElasticFace's `clip_grad_norm_`), then
 * SGD with momentum and weight decay updates network and head with the scheduled learning rate.
 *
 * A checkpoint holds everything the next step depends on — weights and batch-norm statistics, class centres,
 * momentum buffers, the step, the data pipeline's position and generator, the margin generator — so a resumed
 * run repeats the uninterrupted one exactly on the same engine. (Networks with dropout, which none of the
 * recipes use, resume with a fresh dropout stream.)
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import "../engine/mod.ts";
import { MaskInvPipeline, type PipelineState } from "../data/pipeline.ts";
import type { BatchMasker, MaskInvBatch } from "../data/pipeline.ts";
import type { ImageDecoder, TrainingSource } from "../data/types.ts";
import { MarginHead } from "../losses/head.ts";
import { templateDistillationLoss } from "../losses/distillation.ts";
import {
  canonicalJson,
  type JsonValue,
  loadCheckpoint,
  type LoadedCheckpoint,
  networkState,
  restoreNetwork,
} from "../models/checkpoint.ts";
import type { FaceEmbedder } from "../models/embedder.ts";
import { architectureName, createNetwork, FaceNetwork } from "../models/network.ts";
import { fitFaces, normaliseFaces } from "../models/preprocess.ts";
import { Progress, type ProgressOutput } from "../util/progress.ts";
import { hashSeed, type RngState } from "../util/random.ts";
import { writeTextFileAtomic } from "../util/atomic.ts";
import { type CheckpointEntry, CheckpointStore, type CheckpointWriter } from "./checkpoints.ts";
import { BOOKKEEPING_FIELDS, type TrainConfig, validateTrainConfig } from "./config.ts";
import { type EventLogEntry, type MetricsLogEntry, TrainLog, type TrainLogEntry } from "./log.ts";
import { clipCoefficient, globalNorm, SgdMomentum } from "./optimizer.ts";
import { learningRateAt } from "./schedule.ts";

/** Where training images come from. */
export interface TrainData {
  /** Labelled images (synthetic identities, RecordIO, an image folder). */
  source: TrainingSource;
  /** Puts masks on student views; required when `maskProbability > 0`. */
  masker?: BatchMasker;
  /** Decodes encoded images (RecordIO); required for encoded sources. */
  decode?: ImageDecoder;
}

/** Verifies the model being trained on held-out data; returns named numbers (e.g. `eer`, `accuracy`). */
export type ValidationCallback = (embedder: FaceEmbedder) => Promise<Record<string, number>>;

/** Where the student's initial weights come from. */
export type StudentInit =
  /** A training folder (its newest checkpoint) or a checkpoint folder: network, and head when it fits. */
  | string
  /** A loaded checkpoint: network, and head when it fits. */
  | LoadedCheckpoint
  /** A network of the same architecture: its weights and running statistics (the head starts fresh). */
  | FaceNetwork;

/** Options of {@linkcode train}. */
export interface TrainOptions {
  /** The run. */
  config: TrainConfig;
  /** Training images. */
  data: TrainData;
  /** Folder of this run: `checkpoints/`, `train_log.jsonl`, `config.json`. */
  outDir: string;
  /** Frozen teacher; required when `config.kdWeight > 0`. Its embedding size must equal the student's. */
  teacher?: FaceEmbedder;
  /** Initial weights of a fresh run (ignored when resuming). Default: random, from `config.seed`. */
  init?: StudentInit;
  /** Also take the head (class centres) from `init` when it has one of the right shape (default true). */
  initHead?: boolean;
  /**
   * Continue from the newest checkpoint in `outDir` when there is one (default false: a folder that already
   * holds checkpoints is refused rather than overwritten).
   */
  resume?: boolean;
  /** Periodic verification (every `config.validateEvery` steps and at the end). */
  validate?: ValidationCallback;
  /** Progress output (default `auto`: a bar on a terminal, a live line in a notebook, lines in a log). */
  progress?: ProgressOutput;
  /** Stops the run after the current step; a checkpoint is saved first. */
  signal?: AbortSignal;
  /** Receives every log entry as it is written (e.g. for a live plot). */
  onLog?: (entry: TrainLogEntry) => void;
  /** Replaces the checkpoint writer (a failing disk in tests, another storage). */
  checkpointWriter?: CheckpointWriter;
}

/** How a call to {@linkcode train} ended. */
export type TrainStop = "finished" | "aborted";

/** Result of {@linkcode train}; the caller owns (and disposes) `network` and `head`. */
export interface TrainResult {
  /** The trained student (a {@linkcode FaceEmbedder}). */
  network: FaceNetwork;
  /** The trained margin head. */
  head: MarginHead;
  /** Steps completed in total (including those before a resume). */
  step: number;
  /** Steps of the whole run. */
  totalSteps: number;
  /** Steps per epoch. */
  stepsPerEpoch: number;
  /** Why the call returned. */
  stopped: TrainStop;
  /** The newest checkpoint (the final one when finished). */
  checkpoint: CheckpointEntry | null;
  /** Log entries written by this call. */
  history: TrainLogEntry[];
  /** The last validation, if any ran in this call. */
  validation: Record<string, number> | null;
  /** Mean training throughput of this call (data, forward, backward, update; not validation or saving). */
  imagesPerSecond: number;
  /** Wall-clock seconds of this call. */
  seconds: number;
  /** Releases network and head. */
  dispose(): void;
}

/**
 * The loss or the gradients became NaN or infinite; the run stopped without applying that step.
 *
 * @example
 * ```ts
 * import { TrainingDivergedError } from "./trainer.ts";
 * const error = new TrainingDivergedError(37, null, "baseline: step 37 (epoch 1): the loss is NaN");
 * console.log(error.name, error.step, error.lastCheckpoint); // TrainingDivergedError 37 null
 * ```
 */
export class TrainingDivergedError extends Error {
  /** The step (1-based) whose loss or gradients were not finite. */
  readonly step: number;
  /** The newest checkpoint on disk (written before the failure), or `null`. */
  readonly lastCheckpoint: CheckpointEntry | null;

  /**
   * Creates the error.
   *
   * @param step The failing step.
   * @param lastCheckpoint The newest good checkpoint.
   * @param message What went wrong.
   */
  constructor(step: number, lastCheckpoint: CheckpointEntry | null, message: string) {
    super(message);
    this.name = "TrainingDivergedError";
    this.step = step;
    this.lastCheckpoint = lastCheckpoint;
  }
}

/** Format tag of the training state in checkpoint metadata. */
const STATE_FORMAT = "maskinv-train-state";

/** What a checkpoint's metadata records about the run (besides the tensors). */
export interface TrainState {
  /** Format tag. */
  format: typeof STATE_FORMAT;
  /** Steps completed. */
  step: number;
  /** Steps of the whole run. */
  totalSteps: number;
  /** Where the data pipeline continues. */
  pipeline: PipelineState;
  /** State of the head's margin generator. */
  marginRng: RngState;
  /** The configuration. */
  config: TrainConfig;
  /** The training source. */
  source: { name: string; length: number; classCount: number };
  /** The teacher's name, when distilling. */
  teacher: string | null;
  /** Whether the run is complete. */
  finished: boolean;
  /** Mean loss of the last logged window. */
  loss: number | null;
  /** Wall-clock time of the save (ISO 8601). */
  time: string;
}

/**
 * Trains a face network (and its margin head) as `config` says, with or without a teacher.
 *
 * @throws {TrainingDivergedError} When a loss or gradient is NaN/Inf (the last good checkpoint is kept).
 * @throws {CheckpointWriteError} When a checkpoint cannot be written (the previous one is kept).
 * @example Three steps of a tiny network on synthetic identities
 * ```ts
 * import { train } from "./trainer.ts";
 * import { trainRecipe } from "./configs.ts";
 * import { SyntheticFaces } from "../data/synthetic.ts";
 * const recipe = trainRecipe("baseline", "quick");
 * const source = new SyntheticFaces({ identities: 8, imagesPerIdentity: 4, pairs: 0 });
 * const result = await train({
 *   config: { ...recipe.train, steps: 3, batchSize: 8 },
 *   data: { source },
 *   outDir: await Deno.makeTempDir(),
 *   progress: "none",
 * });
 * console.log(result.step, result.history.at(-1)); // 3 …
 * result.dispose();
 * ```
 */
export async function train(options: TrainOptions): Promise<TrainResult> {
  const config = validateTrainConfig(options.config);
  const started = performance.now();
  const { source, masker, decode } = options.data;
  const outDir = options.outDir.replace(/\/+$/, "") || "/";
  const teacher = options.teacher;
  if (config.kdWeight > 0 && teacher == null) {
    throw new Error(`${config.name}: kdWeight is ${config.kdWeight} but no teacher was given`);
  }
  if (config.maskProbability > 0 && masker == null) {
    throw new Error(`${config.name}: maskProbability is ${config.maskProbability} but no masker was given`);
  }
  if (config.kdWeight > 0 && teacher!.embeddingSize !== config.architecture.embeddingSize) {
    throw new Error(
      `${config.name}: the teacher ${teacher!.name} embeds to ${
        teacher!.embeddingSize
      } values, the student to ` +
        `${config.architecture.embeddingSize}; template-level distillation needs equal embedding sizes`,
    );
  }
  await Deno.mkdir(outDir, { recursive: true });
  const store = new CheckpointStore(`${outDir}/checkpoints`, {
    keep: config.keepCheckpoints,
    writer: options.checkpointWriter,
  });
  const log = new TrainLog(`${outDir}/train_log.jsonl`);
  const history: TrainLogEntry[] = [];
  const record = async (entry: TrainLogEntry) => {
    history.push(entry);
    options.onLog?.(entry);
    try {
      await log.append(entry);
    } catch (error) {
      // The log is not a checkpoint: a full disk shows up at the next checkpoint, with its own message.
      if (entry.kind === "event") console.warn(`${log.path}: could not append to the log (${error})`);
    }
  };
  const event = (step: number, kind: EventLogEntry["event"], message: string) =>
    record({ kind: "event", step, event: kind, message, time: new Date().toISOString() });

  const network = createNetwork(config.architecture, { seed: config.seed });
  const head = new MarginHead({
    embeddingSize: config.architecture.embeddingSize,
    classes: source.classCount,
    loss: config.loss,
    seed: hashSeed(`${config.seed}/head`),
  });
  const variables = new Map<string, tf.Variable>();
  for (const [name, variable] of network.params) {
    if (network.specs.get(name)!.trainable) variables.set(`model/${name}`, variable);
  }
  variables.set("head/kernel", head.kernel);
  const sgd = new SgdMomentum(variables, { momentum: config.momentum, weightDecay: config.weightDecay });
  let pipeline: MaskInvPipeline | null = null;
  let succeeded = false;
  try {
    // Start fresh or continue.
    let step = 0;
    let pipelineState: PipelineState | undefined;
    let lastCheckpoint: CheckpointEntry | null = null;
    const latest = await store.loadLatest((entry, error) =>
      console.warn(`skipping unreadable checkpoint ${entry.directory}: ${error.message}`)
    );
    if (latest != null) {
      if (options.resume !== true) {
        disposeCheckpoint(latest.checkpoint);
        throw new Error(
          `${outDir} already holds checkpoints (newest: step ${latest.entry.step}); resume the run ` +
            `(resume: true, --resume) or choose another folder`,
        );
      }
      try {
        const state = restoreTrainState(latest.checkpoint, config, source, network, head, sgd);
        step = state.step;
        pipelineState = state.pipeline;
      } finally {
        disposeCheckpoint(latest.checkpoint);
      }
      lastCheckpoint = latest.entry;
      await log.truncateAfter(step);
      await event(step, "resume", `resumed from ${latest.entry.directory}`);
    } else {
      await log.clear();
      await writeTextFileAtomic(`${outDir}/config.json`, `${JSON.stringify(config, null, 2)}\n`);
      let initMessage = `random initialisation (seed ${config.seed})`;
      if (options.init != null) {
        initMessage = await initialiseStudent(options.init, options.initHead !== false, network, head);
      }
      await event(
        0,
        "start",
        `${config.name}: ${network.name}, ${source.name} (${source.length} images, ` +
          `${source.classCount} identities); ${initMessage}` + (teacher ? `; teacher ${teacher.name}` : ""),
      );
    }

    pipeline = new MaskInvPipeline(source, {
      batchSize: config.batchSize,
      maskProbability: config.maskProbability,
      masker,
      decode,
      seed: config.seed,
      resume: pipelineState,
      flip: config.flip ?? "same",
    });
    const stepsPerEpoch = pipeline.batchesPerEpoch;
    const totalSteps = config.steps ?? Math.max(1, Math.round(config.epochs * stepsPerEpoch));
    const firstStep = step;
    const progress = new Progress({
      total: Math.max(0, totalSteps - step) * config.batchSize,
      label: config.name,
      unit: "img",
      output: options.progress ?? "auto",
    });

    let stopped: TrainStop = "finished";
    let validation: Record<string, number> | null = null;
    let trainSeconds = 0;
    let window = newWindow();
    let lastLoss: number | null = null;
    const save = async (finished: boolean) => {
      const state: TrainState = {
        format: STATE_FORMAT,
        step,
        totalSteps,
        pipeline: pipeline!.state,
        marginRng: head.rngState,
        config,
        source: { name: source.name, length: source.length, classCount: source.classCount },
        teacher: config.kdWeight > 0 ? teacher!.name : null,
        finished,
        loss: lastLoss,
        time: new Date().toISOString(),
      };
      try {
        lastCheckpoint = await store.save(step, {
          architecture: config.architecture,
          groups: { model: networkState(network), head: head.variables, optimizer: sgd.state },
          metadata: { training: state as unknown as JsonValue },
        });
      } catch (error) {
        await event(step, "checkpoint-failed", error instanceof Error ? error.message : String(error));
        throw error;
      }
      await event(step, "checkpoint", lastCheckpoint.directory);
    };
    const runValidation = async () => {
      if (options.validate == null) return;
      const t0 = performance.now();
      validation = await options.validate(network);
      const entry: TrainLogEntry = {
        kind: "validation",
        step,
        epoch: epochOf(step, stepsPerEpoch),
        metrics: validation,
        seconds: (performance.now() - t0) / 1000,
      };
      await record(entry);
      progress.update(progress.done, roundFields(validation));
    };

    while (step < totalSteps) {
      if (options.signal?.aborted) {
        stopped = "aborted";
        break;
      }
      const t0 = performance.now();
      const batch = await pipeline.next();
      const learningRate = learningRateAt(config, config.batchSize, step, batch.epoch);
      let outcome: StepOutcome;
      try {
        outcome = await trainStep(network, head, sgd, teacher, config, batch, learningRate);
        if (!outcome.finite) {
          const inputs = await describeNonFinite(batch);
          const message = `${config.name}: step ${step + 1} (epoch ${batch.epoch + 1}): ` +
            `${outcome.problem}${inputs}; training stopped without applying this step. ` +
            (lastCheckpoint
              ? `The last good checkpoint is ${lastCheckpoint.directory} (step ${lastCheckpoint.step}).`
              : "No checkpoint was written yet.") +
            " Lower the learning rate or check the data.";
          await event(step, "diverged", message);
          progress.finish();
          throw new TrainingDivergedError(step + 1, lastCheckpoint, message);
        }
      } finally {
        batch.dispose();
      }
      step++;
      const seconds = (performance.now() - t0) / 1000;
      trainSeconds += seconds;
      window = addToWindow(window, outcome, seconds, config.batchSize);
      progress.tick(config.batchSize, {
        loss: outcome.loss,
        lr: learningRate,
        ep: `${batch.epoch + 1}/${Math.ceil(totalSteps / stepsPerEpoch)}`,
      });
      if (step % config.logEvery === 0 || step === totalSteps) {
        const entry = windowEntry(
          window,
          step,
          batch.epoch,
          learningRate,
          (performance.now() - started) / 1000,
        );
        lastLoss = entry.loss;
        window = newWindow();
        await record(entry);
      }
      if (step === totalSteps) break;
      if (config.validateEvery > 0 && step % config.validateEvery === 0) await runValidation();
      if (config.checkpointEvery > 0 && step % config.checkpointEvery === 0) await save(false);
    }

    if (step >= totalSteps) {
      // A run found complete on resume is returned as it is, without validating or saving again.
      if (step > firstStep) {
        await runValidation();
        await save(true);
        await event(step, "finished", `${config.name}: ${step} steps`);
      }
    } else {
      await save(false);
      await event(step, "aborted", `${config.name}: stopped at step ${step} of ${totalSteps}`);
    }
    progress.finish();
    const trained = step - firstStep;
    succeeded = true;
    return {
      network,
      head,
      step,
      totalSteps,
      stepsPerEpoch,
      stopped,
      checkpoint: lastCheckpoint,
      history,
      validation,
      imagesPerSecond: trainSeconds > 0 ? trained * config.batchSize / trainSeconds : 0,
      seconds: (performance.now() - started) / 1000,
      dispose: () => {
        network.dispose();
        head.dispose();
      },
    };
  } finally {
    sgd.dispose();
    await pipeline?.close();
    if (!succeeded) {
      network.dispose();
      head.dispose();
    }
  }
}

/** Options of {@linkcode distill}. */
export interface DistillOptions extends Omit<TrainOptions, "teacher"> {
  /** The frozen teacher: any {@linkcode FaceEmbedder} (a maskinv network, an imported `.pth`, a GraphModel). */
  teacher: FaceEmbedder;
  /**
   * Where the student starts when `init` is not given: `teacher` copies the teacher's weights (it must be a
   * maskinv network of the student's architecture), `scratch` initialises randomly. Default: `teacher` when
   * the architectures match, otherwise `scratch`.
   */
  studentInit?: "teacher" | "scratch";
}

/**
 * MaskInv's template-level distillation: trains a student on masked faces (probability `config.maskProbability`)
 * with `L_margin + λ·MSE(l2n(student(x')), l2n(teacher(x)))`, `λ = config.kdWeight` (0 gives masked
 * training without distillation), the teacher frozen and fed the unmasked copy.
 *
 * @throws {Error} When `studentInit` is `teacher` but the teacher is not a network of the student's architecture.
 * @example
 * ```ts
 * import { distill } from "./trainer.ts";
 * import { trainRecipe } from "./configs.ts";
 * import { createNetwork } from "../models/mod.ts";
 * import { SyntheticFaces } from "../data/synthetic.ts";
 * const recipe = trainRecipe("maskinv-lg", "quick");
 * const teacher = createNetwork(recipe.train.architecture, { seed: 9 });
 * const result = await distill({
 *   config: { ...recipe.train, steps: 2, batchSize: 8, maskProbability: 0 },
 *   data: { source: new SyntheticFaces({ identities: 8, imagesPerIdentity: 4, pairs: 0 }) },
 *   teacher,
 *   outDir: await Deno.makeTempDir(),
 *   progress: "none",
 * });
 * result.dispose();
 * teacher.dispose();
 * ```
 */
export async function distill(options: DistillOptions): Promise<TrainResult> {
  const { teacher, studentInit, ...rest } = options;
  let init = rest.init;
  if (init == null) {
    const matches = teacher instanceof FaceNetwork &&
      canonicalJson(teacher.config) === canonicalJson(options.config.architecture);
    if (studentInit === "teacher" && !matches) {
      throw new Error(
        `${options.config.name}: the student cannot start from the teacher ${teacher.name}: it is not a maskinv ` +
          `network of the student's architecture (${architectureName(options.config.architecture)})`,
      );
    }
    if (studentInit !== "scratch" && matches) init = teacher as FaceNetwork;
  }
  return await train({ ...rest, teacher, init });
}

interface StepOutcome {
  finite: boolean;
  problem: string;
  loss: number;
  classification: number;
  distillation: number | null;
  gradNorm: number;
}

/** One optimisation step; nothing is applied when the loss or a gradient is not finite. */
async function trainStep(
  network: FaceNetwork,
  head: MarginHead,
  sgd: SgdMomentum,
  teacher: FaceEmbedder | undefined,
  config: TrainConfig,
  batch: MaskInvBatch,
  learningRate: number,
): Promise<StepOutcome> {
  const distilling = config.kdWeight > 0;
  // The teacher sees the unmasked copy, in inference mode, outside the gradient tape: a constant target.
  const teacherEmbedding = distilling ? tf.tidy(() => teacher!.embed(batch.teacherView)) : null;
  const input = tf.tidy(() => normaliseFaces(fitFaces(batch.studentView, network.inputSize, network.name)));
  const keys = new Map<string, string>();
  for (const [name, variable] of sgd.variables) keys.set(variable.name, name);
  // Loss terms kept out of the tape's scope for the log.
  const terms: { classification?: tf.Scalar; distillation?: tf.Scalar } = {};
  const { value, grads } = tf.variableGrads(() => {
    const embeddings = network.forward(input, { training: true });
    const classification = tf.keep(head.loss(embeddings, batch.label).loss);
    terms.classification = classification;
    if (!distilling) return classification;
    const distillation = tf.keep(templateDistillationLoss(embeddings, teacherEmbedding!));
    terms.distillation = distillation;
    return tf.add(classification, tf.mul(distillation, config.kdWeight)) as tf.Scalar;
  }, [...sgd.variables.values()]);
  const gradients = new Map<string, tf.Tensor>();
  for (const [variableName, gradient] of Object.entries(grads)) {
    gradients.set(keys.get(variableName)!, gradient);
  }
  try {
    const summary = tf.tidy(() => {
      const backbone = [...gradients].filter(([name]) => name.startsWith("model/")).map(([, g]) => g);
      const all = [...gradients.values()];
      return tf.stack([
        value,
        terms.classification!,
        terms.distillation ?? tf.scalar(0),
        globalNorm(config.clipScope === "all" ? all : backbone),
        globalNorm(all),
      ]);
    });
    const [loss, ce, kd, clippedNorm, fullNorm] = await summary.data();
    summary.dispose();
    const outcome: StepOutcome = {
      finite: true,
      problem: "",
      loss,
      classification: ce,
      distillation: distilling ? kd : null,
      gradNorm: clippedNorm,
    };
    if (!Number.isFinite(loss)) {
      return {
        ...outcome,
        finite: false,
        problem: `the loss is ${loss} (margin loss ${ce}${distilling ? `, distillation ${kd}` : ""})`,
      };
    }
    if (!Number.isFinite(fullNorm)) {
      return { ...outcome, finite: false, problem: `the gradients contain ${fullNorm} (loss ${loss})` };
    }
    const coefficient = clipCoefficient(clippedNorm, config.clipNorm);
    sgd.step(
      gradients,
      learningRate,
      (name) => config.clipScope === "all" || name.startsWith("model/") ? coefficient : 1,
    );
    return outcome;
  } finally {
    tf.dispose([value, ...gradients.values(), input]);
    tf.dispose([terms.classification, terms.distillation].filter((t): t is tf.Scalar => t != null));
    if (teacherEmbedding) teacherEmbedding.dispose();
  }
}

/** Names non-finite values in a batch's views, for the divergence message. */
async function describeNonFinite(batch: MaskInvBatch): Promise<string> {
  const bad = tf.tidy(() =>
    tf.stack([batch.studentView, batch.teacherView].map((view) => tf.any(tf.logicalNot(tf.isFinite(view)))))
  );
  const [student, teacherView] = await bad.data();
  bad.dispose();
  const parts = [student ? "student" : "", teacherView ? "teacher" : ""].filter((p) => p !== "");
  return parts.length > 0 ? ` — the ${parts.join(" and ")} input images contain NaN or Inf values` : "";
}

interface Window {
  steps: number;
  loss: number;
  classification: number;
  distillation: number;
  gradNorm: number;
  seconds: number;
  images: number;
}

function newWindow(): Window {
  return { steps: 0, loss: 0, classification: 0, distillation: 0, gradNorm: 0, seconds: 0, images: 0 };
}

function addToWindow(w: Window, outcome: StepOutcome, seconds: number, images: number): Window {
  return {
    steps: w.steps + 1,
    loss: w.loss + outcome.loss,
    classification: w.classification + outcome.classification,
    distillation: w.distillation + (outcome.distillation ?? NaN),
    gradNorm: w.gradNorm + outcome.gradNorm,
    seconds: w.seconds + seconds,
    images: w.images + images,
  };
}

function windowEntry(
  w: Window,
  step: number,
  epoch: number,
  learningRate: number,
  elapsedSeconds: number,
): MetricsLogEntry {
  const n = Math.max(1, w.steps);
  return {
    kind: "metrics",
    step,
    epoch,
    loss: w.loss / n,
    classification: w.classification / n,
    distillation: Number.isNaN(w.distillation) ? null : w.distillation / n,
    learningRate,
    gradNorm: w.gradNorm / n,
    imagesPerSecond: w.seconds > 0 ? w.images / w.seconds : 0,
    elapsedSeconds,
  };
}

function epochOf(step: number, stepsPerEpoch: number): number {
  return Math.floor(Math.max(0, step - 1) / stepsPerEpoch);
}

function roundFields(values: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, Math.round(v * 1e4) / 1e4]));
}

function disposeCheckpoint(checkpoint: LoadedCheckpoint): void {
  for (const group of Object.values(checkpoint.groups)) tf.dispose([...group.values()]);
}

/** Restores network, head, optimiser and generators from a checkpoint; returns its training state. */
function restoreTrainState(
  checkpoint: LoadedCheckpoint,
  config: TrainConfig,
  source: TrainingSource,
  network: FaceNetwork,
  head: MarginHead,
  sgd: SgdMomentum,
): TrainState {
  const where = `checkpoint ${checkpoint.directory}`;
  const state = checkpoint.metadata.training as unknown as TrainState | undefined;
  if (state == null || state.format !== STATE_FORMAT) {
    throw new Error(`${where}: no training state (not written by maskinv's trainer)`);
  }
  const differing = differingFields(state.config, config);
  if (differing.length > 0) {
    throw new Error(
      `${where} was written with another configuration (${differing.join(", ")} differ); resume with the ` +
        `same configuration or start a new folder`,
    );
  }
  if (state.source.length !== source.length || state.source.classCount !== source.classCount) {
    throw new Error(
      `${where} was trained on ${state.source.name} (${state.source.length} images, ` +
        `${state.source.classCount} identities), not on ${source.name} (${source.length}, ${source.classCount})`,
    );
  }
  restoreNetwork(network, checkpoint);
  const kernel = checkpoint.groups.head?.get("kernel");
  if (kernel == null) throw new Error(`${where}: no head/kernel`);
  if (kernel.shape.join() !== head.kernel.shape.join()) {
    throw new Error(`${where}: head/kernel has shape [${kernel.shape}], expected [${head.kernel.shape}]`);
  }
  head.kernel.assign(kernel as tf.Tensor2D);
  head.restoreRngState(state.marginRng);
  sgd.restore(checkpoint.groups.optimizer ?? new Map(), `${where} (optimizer)`);
  return state;
}

function differingFields(saved: TrainConfig, current: TrainConfig): string[] {
  const keys = new Set([...Object.keys(saved), ...Object.keys(current)]);
  const out: string[] = [];
  for (const key of keys) {
    if ((BOOKKEEPING_FIELDS as readonly string[]).includes(key)) continue;
    const a = (saved as unknown as Record<string, unknown>)[key];
    const b = (current as unknown as Record<string, unknown>)[key];
    if (canonicalJson(a) !== canonicalJson(b)) out.push(key);
  }
  return out;
}

/** Copies initial weights into the student (and head); returns a description for the log. */
async function initialiseStudent(
  init: StudentInit,
  withHead: boolean,
  network: FaceNetwork,
  head: MarginHead,
): Promise<string> {
  if (init instanceof FaceNetwork) {
    if (canonicalJson(init.config) !== canonicalJson(network.config)) {
      throw new Error(`cannot initialise ${network.name} from ${init.name}: the architectures differ`);
    }
    for (const [name, variable] of network.params) variable.assign(init.params.get(name)!);
    return `initialised from the network ${init.name}`;
  }
  let checkpoint: LoadedCheckpoint;
  let owned = false;
  if (typeof init === "string") {
    const directory = await resolveCheckpointDirectory(init);
    checkpoint = await loadCheckpoint(directory);
    owned = true;
  } else {
    checkpoint = init;
  }
  try {
    restoreNetwork(network, checkpoint);
    const kernel = checkpoint.groups.head?.get("kernel");
    const headFits = withHead && kernel != null && kernel.shape.join() === head.kernel.shape.join();
    if (headFits) head.kernel.assign(kernel as tf.Tensor2D);
    return `initialised from ${checkpoint.directory} (network${headFits ? " and head" : "; new head"})`;
  } finally {
    if (owned) disposeCheckpoint(checkpoint);
  }
}

/**
 * The checkpoint folder a path stands for: a checkpoint itself, or a training folder (its newest checkpoint).
 *
 * @throws {Error} When `path` holds neither.
 * @example
 * ```ts
 * import { resolveCheckpointDirectory } from "./trainer.ts";
 * await resolveCheckpointDirectory(await Deno.makeTempDir()).catch((e) => console.log(e.message));
 * ```
 */
export async function resolveCheckpointDirectory(path: string): Promise<string> {
  const trimmed = path.replace(/\/+$/, "") || "/";
  try {
    if ((await Deno.stat(`${trimmed}/manifest.json`)).isFile) return trimmed;
  } catch {
    // Not a checkpoint itself.
  }
  const latest = await new CheckpointStore(`${trimmed}/checkpoints`).latest();
  if (latest == null) {
    throw new Error(`${path}: neither a checkpoint (manifest.json) nor a training folder with checkpoints/`);
  }
  return latest.directory;
}

/**
 * The training state stored in a checkpoint's metadata, or `null` when it has none.
 *
 * @example
 * ```ts
 * import { trainStateOf } from "./trainer.ts";
 * console.log(trainStateOf({ metadata: {} })); // null
 * ```
 */
export function trainStateOf(checkpoint: { metadata: { [key: string]: JsonValue } }): TrainState | null {
  const state = checkpoint.metadata.training as unknown as TrainState | undefined;
  return state != null && state.format === STATE_FORMAT ? state : null;
}
