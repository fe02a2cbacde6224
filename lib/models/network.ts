/**
 * Trainable face networks: an architecture configuration, its parameters as named TensorFlow.js variables
 * (PyTorch `state_dict` names) and a forward function, behind the {@linkcode FaceEmbedder} interface.
 *
 * Tensors are NHWC inside (`[batch, height, width, channels]`); weights use TensorFlow.js layouts
 * (see {@linkcode TorchLayout} for the mapping from PyTorch).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { Rng } from "../util/random.ts";
import type { ConvBnLayer, ForwardContext } from "./context.ts";
import type { EmbedOptions, FaceEmbedder } from "./embedder.ts";
import { IRESNET_LAYERS, type IResNetConfig, iresnetForward, iresnetSpecs } from "./iresnet.ts";
import { batchNormTrain, preluTrain } from "../engine/mod.ts";
import {
  batchNormInference,
  type BatchNormParams,
  conv2d,
  dense,
  depthwiseConv2d,
  foldBatchNorm,
  type FoldedConv,
  TORCH_BATCH_NORM,
  updateRunningStatistics,
} from "./layers.ts";
import { type MobileFaceNetConfig, mobileFaceNetForward, mobileFaceNetSpecs } from "./mobilefacenet.ts";
import { createVariables, type ParamSpec, sizeOf } from "./params.ts";
import { embedWith, fitFaces, normaliseFaces } from "./preprocess.ts";

/** Any architecture maskinv can build, as plain data (stored in checkpoints). */
export type NetworkConfig = IResNetConfig | MobileFaceNetConfig;

/** Options of {@linkcode FaceNetwork.forward}. */
export interface ForwardOptions {
  /** Training mode: batch statistics (with running-statistics updates) and dropout. Default false. */
  training?: boolean;
  /** In training mode, update the batch-norm running statistics (default true). */
  updateStatistics?: boolean;
}

/** Options of {@linkcode createNetwork}. */
export interface CreateNetworkOptions {
  /** Seed of the initial weights and of the dropout stream (default 0). */
  seed?: number;
}

/**
 * A short name for an architecture: `iresnet18` … `iresnet100` and `mobilefacenet` for the published
 * configurations, a descriptive one otherwise.
 *
 * @example
 * ```ts
 * import { architectureName } from "./network.ts";
 * import { iresnetConfig } from "./iresnet.ts";
 * console.log(architectureName(iresnetConfig("iresnet50"))); // iresnet50
 * ```
 */
export function architectureName(config: NetworkConfig): string {
  if (config.kind === "mobilefacenet") {
    const standard = config.embeddingSize === 512 && config.inputSize[0] === 112 &&
      config.inputSize[1] === 112;
    return standard
      ? "mobilefacenet"
      : `mobilefacenet(emb ${config.embeddingSize}, ${config.inputSize.join("x")})`;
  }
  const depth = Object.entries(IRESNET_LAYERS).find(([, l]) => l.every((v, i) => v === config.layers[i]))
    ?.[0];
  const standard = depth != null && config.widths.join() === "64,128,256,512" &&
    config.embeddingSize === 512 &&
    config.inputSize.join() === "112,112" && config.dropout === 0;
  if (standard) return depth;
  return `iresnet(layers ${config.layers.join("-")}, widths ${
    config.widths.join("-")
  }, emb ${config.embeddingSize}, ` +
    `${config.inputSize.join("x")}${config.dropout > 0 ? `, dropout ${config.dropout}` : ""})`;
}

/**
 * The parameter list of an architecture, in PyTorch `state_dict` order.
 *
 * @example
 * ```ts
 * import { networkSpecs } from "./network.ts";
 * import { iresnetConfig } from "./iresnet.ts";
 * const trainable = networkSpecs(iresnetConfig("iresnet100")).filter((s) => s.trainable);
 * console.log(trainable.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0)); // 65156160
 * ```
 */
export function networkSpecs(config: NetworkConfig): ParamSpec[] {
  switch (config.kind) {
    case "iresnet":
      return iresnetSpecs(config);
    case "mobilefacenet":
      return mobileFaceNetSpecs(config);
    default:
      throw new Error(`unknown architecture kind "${(config as { kind: string }).kind}"`);
  }
}

/**
 * A face network with named variables; the {@linkcode FaceEmbedder} for trained and imported models.
 *
 * Inputs of {@linkcode FaceNetwork.forward} are NHWC, RGB, normalised to [−1, 1]; {@linkcode FaceNetwork.embed}
 * takes `[0, 255]` images and normalises them itself.
 *
 * @example Train-mode forward and an inference embedding of a tiny iResNet
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { createNetwork } from "./network.ts";
 * const net = createNetwork({ kind: "iresnet", layers: [1, 1, 1, 1], widths: [8, 8, 16, 16], embeddingSize: 16,
 *   inputSize: [32, 32], dropout: 0 }, { seed: 1 });
 * const raw = net.forward(tf.randomUniform([4, 32, 32, 3], -1, 1), { training: true });
 * const unit = net.embed(tf.randomUniform([2, 32, 32, 3], 0, 255), { flip: true });
 * console.log(raw.shape, unit.shape); // [4, 16] [2, 16]
 * net.dispose();
 * ```
 */
export class FaceNetwork implements FaceEmbedder {
  /** Short name, e.g. `iresnet100`. */
  readonly name: string;
  /** The architecture. */
  readonly config: NetworkConfig;
  /** `[height, width]` of the input. */
  readonly inputSize: readonly [number, number];
  /** Embedding length. */
  readonly embeddingSize: number;
  /** Every tensor by `state_dict` name: trainable weights and (non-trainable) running statistics. */
  readonly params: ReadonlyMap<string, tf.Variable>;
  /** What each tensor is, by name. */
  readonly specs: ReadonlyMap<string, ParamSpec>;
  #dropoutRng: Rng;
  #disposed = false;
  /** Batch norms folded into convolutions for inference, by convolution name, with the tensors they came from. */
  #folded = new Map<string, { sourceData: object[]; conv: FoldedConv }>();

  /**
   * Wraps existing variables; most callers use {@linkcode createNetwork}.
   *
   * @param config The architecture.
   * @param params One variable per spec of `networkSpecs(config)`, by name.
   * @param seed Seed of the dropout stream.
   */
  constructor(config: NetworkConfig, params: Map<string, tf.Variable>, seed = 0) {
    const specs = networkSpecs(config);
    for (const spec of specs) {
      const v = params.get(spec.name);
      if (v == null) throw new Error(`${architectureName(config)}: missing parameter ${spec.name}`);
      if (v.shape.join() !== spec.shape.join()) {
        throw new Error(
          `${architectureName(config)}: ${spec.name} has shape [${v.shape}], expected [${spec.shape}]`,
        );
      }
    }
    this.config = config;
    this.name = architectureName(config);
    this.inputSize = [config.inputSize[0], config.inputSize[1]];
    this.embeddingSize = config.embeddingSize;
    this.params = params;
    this.specs = new Map(specs.map((s) => [s.name, s]));
    this.#dropoutRng = new Rng(`${seed}:dropout`);
  }

  /** The trainable variables in `state_dict` order (excludes batch-norm running statistics). */
  trainableVariables(): tf.Variable[] {
    return [...this.specs.values()].filter((s) => s.trainable).map((s) => this.params.get(s.name)!);
  }

  /**
   * The `state_dict` name of one of this network's variables. TensorFlow.js variable names carry a
   * per-instance prefix (they must be unique in the process); optimiser slots are named after them, so map
   * through this to save optimiser state that a fresh instance can restore.
   *
   * @throws {Error} When `variable` does not belong to this network.
   */
  stateDictName(variable: tf.Variable): string {
    for (const [name, v] of this.params) if (v === variable || v.name === variable.name) return name;
    throw new Error(`${this.name}: variable ${variable.name} does not belong to this network`);
  }

  /** Number of trainable values (PyTorch's `sum(p.numel() for p in model.parameters())`). */
  parameterCount(): number {
    return [...this.specs.values()].filter((s) => s.trainable).reduce((n, s) => n + sizeOf(s.shape), 0);
  }

  /**
   * Raw (not normalised) embeddings of NHWC input already normalised to [−1, 1] and of the input size.
   * Differentiable with respect to the trainable variables; in training mode also updates running statistics.
   */
  forward(x: tf.Tensor4D, options: ForwardOptions = {}): tf.Tensor2D {
    this.#checkAlive();
    const [h, w] = this.inputSize;
    if (x.rank !== 4 || x.shape[1] !== h || x.shape[2] !== w || x.shape[3] !== 3) {
      throw new RangeError(`${this.name}: forward expects [n, ${h}, ${w}, 3], got [${x.shape}]`);
    }
    const training = options.training === true;
    if (training && x.shape[0] < 2) {
      throw new RangeError(`${this.name}: training-mode batch norm needs a batch of at least 2`);
    }
    const ctx = this.#context(training, options.updateStatistics !== false);
    return tf.tidy(() =>
      this.config.kind === "iresnet"
        ? iresnetForward(ctx, x, this.config)
        : mobileFaceNetForward(ctx, x, this.config)
    );
  }

  /** L2-normalised embeddings of `[0, 255]` RGB images, in inference mode (optionally flip-summed). */
  embed(images: tf.Tensor4D, options: EmbedOptions = {}): tf.Tensor2D {
    return tf.tidy(() =>
      embedWith((x) => this.forward(x), normaliseFaces(fitFaces(images, this.inputSize, this.name)), options)
    );
  }

  /** Releases every variable. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#dropFolded();
    for (const v of this.params.values()) v.dispose();
  }

  #dropFolded(): void {
    for (const { conv } of this.#folded.values()) tf.dispose([conv.filter, conv.bias]);
    this.#folded.clear();
  }

  /**
   * The folded filter and bias of `layer`, recomputed when any weight it came from has changed (an assignment
   * gives a variable new data) and kept outside every `tf.tidy`.
   */
  #foldedConv(layer: ConvBnLayer, filter: tf.Tensor4D, bn: BatchNormParams): FoldedConv {
    // Identity of the source data, not of the variables: a variable gets a new `dataId` on every assignment.
    const sourceData = [filter, bn.weight, bn.bias, bn.runningMean, bn.runningVar].map((t) => t.dataId);
    const cached = this.#folded.get(layer.conv);
    if (cached != null && cached.sourceData.every((id, i) => id === sourceData[i])) return cached.conv;
    if (cached != null) tf.dispose([cached.conv.filter, cached.conv.bias]);
    const conv = tf.tidy(() => {
      const folded = foldBatchNorm(filter, bn, layer.eps, layer.depthwise);
      return { filter: tf.keep(folded.filter), bias: tf.keep(folded.bias) };
    });
    this.#folded.set(layer.conv, { sourceData, conv });
    return conv;
  }

  #checkAlive(): void {
    if (this.#disposed) throw new Error(`${this.name}: the network was disposed`);
  }

  #context(training: boolean, updateStatistics: boolean): ForwardContext {
    const params = this.params;
    const param = (name: string): tf.Tensor => {
      const v = params.get(name);
      if (v == null) throw new Error(`${this.name}: no parameter ${name}`);
      return v;
    };
    const batchNormParams = (name: string): BatchNormParams => ({
      weight: param(`${name}.weight`) as tf.Tensor1D,
      bias: param(`${name}.bias`) as tf.Tensor1D,
      runningMean: param(`${name}.running_mean`) as tf.Tensor1D,
      runningVar: param(`${name}.running_var`) as tf.Tensor1D,
    });
    const dropoutRng = this.#dropoutRng;
    const context: ForwardContext = {
      training,
      param,
      conv: (name, x, stride, pad) => conv2d(x, param(`${name}.weight`) as tf.Tensor4D, stride, pad),
      depthwise: (name, x, stride, pad) =>
        depthwiseConv2d(x, param(`${name}.weight`) as tf.Tensor4D, stride, pad),
      convBn: (x, layer) => {
        const filter = param(`${layer.conv}.weight`) as tf.Tensor4D;
        // Folded weights carry no gradient to the variables: taped passes keep the layers apart.
        if (training || tf.engine().state.gradientDepth > 0) {
          const convolved = layer.depthwise
            ? context.depthwise(layer.conv, x, layer.stride, layer.pad)
            : context.conv(layer.conv, x, layer.stride, layer.pad);
          const normalised = context.batchNorm(layer.bn, convolved, layer.eps);
          return layer.prelu == null ? normalised : context.prelu(layer.prelu, normalised);
        }
        const folded = this.#foldedConv(layer, filter, batchNormParams(layer.bn));
        const fused = {
          x,
          filter: folded.filter,
          strides: layer.stride,
          pad: layer.pad === 0 ? "valid" as const : layer.pad,
          bias: folded.bias,
          activation: layer.prelu == null ? "linear" as const : "prelu" as const,
          preluActivationWeights: layer.prelu == null ? undefined : param(`${layer.prelu}.weight`),
        };
        return layer.depthwise ? tf.fused.depthwiseConv2d(fused) : tf.fused.conv2d(fused);
      },
      batchNorm: <T extends tf.Tensor>(name: string, x: T, eps: number): T => {
        const weight = param(`${name}.weight`) as tf.Tensor1D;
        const bias = param(`${name}.bias`) as tf.Tensor1D;
        const runningMean = param(`${name}.running_mean`) as tf.Variable;
        const runningVar = param(`${name}.running_var`) as tf.Variable;
        if (!training) return batchNormInference(x, batchNormParams(name), eps);
        const count = x.size / x.shape[x.rank - 1];
        return batchNormTrain(x, weight, bias, {
          epsilon: eps,
          onStats: updateStatistics
            ? (mean, variance) =>
              updateRunningStatistics(
                runningMean,
                runningVar,
                mean,
                variance,
                count,
                TORCH_BATCH_NORM.momentum,
              )
            : undefined,
        });
      },
      prelu: (name, x) => preluTrain(x, param(`${name}.weight`) as tf.Tensor1D),
      dense: (name, x, bias) =>
        dense(
          x,
          param(`${name}.weight`) as tf.Tensor2D,
          bias ? param(`${name}.bias`) as tf.Tensor1D : undefined,
        ),
      dropout: <T extends tf.Tensor>(x: T, rate: number): T =>
        training && rate > 0 ? tf.dropout(x, rate, undefined, dropoutRng.nextUint32()) as T : x,
    };
    return context;
  }
}

/**
 * Builds a network with freshly initialised weights (insightface's initialisation for iResNets, PyTorch's
 * defaults elsewhere), reproducible from `seed`.
 *
 * @example
 * ```ts
 * import { createNetwork } from "./network.ts";
 * import { iresnetConfig } from "./iresnet.ts";
 * const net = createNetwork(iresnetConfig("iresnet18"), { seed: 3 });
 * console.log(net.parameterCount()); // 24025600
 * net.dispose();
 * ```
 */
export function createNetwork(config: NetworkConfig, options: CreateNetworkOptions = {}): FaceNetwork {
  const seed = options.seed ?? 0;
  return new FaceNetwork(config, createVariables(networkSpecs(config), seed), seed);
}

let fromTensorsCount = 0;

/**
 * Builds a network whose variables take the given values (`state_dict` names, maskinv layouts); the values are
 * shared, not copied, so the caller may dispose its tensors afterwards.
 *
 * @param source Names where the values came from in errors (a file or directory).
 * @throws {Error} Naming `source`, the architecture and the tensor when one is missing or has the wrong shape.
 * @example
 * ```ts
 * import { createNetwork, networkFromTensors } from "./network.ts";
 * import { mobileFaceNetConfig } from "./mobilefacenet.ts";
 * const a = createNetwork(mobileFaceNetConfig(), { seed: 1 });
 * const b = networkFromTensors(a.config, a.params, "a copy");
 * console.log(b.parameterCount() === a.parameterCount()); // true
 * a.dispose();
 * b.dispose();
 * ```
 */
export function networkFromTensors(
  config: NetworkConfig,
  tensors: ReadonlyMap<string, tf.Tensor>,
  source: string,
): FaceNetwork {
  const name = architectureName(config);
  const scope = `loaded${fromTensorsCount++}`;
  const params = new Map<string, tf.Variable>();
  try {
    for (const spec of networkSpecs(config)) {
      const value = tensors.get(spec.name);
      if (value == null) throw new Error(`${source}: no tensor ${spec.name} for ${name}`);
      if (value.shape.join() !== spec.shape.join()) {
        throw new Error(`${source}: ${spec.name} has shape [${value.shape}], ${name} needs [${spec.shape}]`);
      }
      params.set(spec.name, tf.variable(value, spec.trainable, `${scope}/${spec.name}`, "float32"));
    }
  } catch (error) {
    tf.dispose([...params.values()]);
    throw error;
  }
  return new FaceNetwork(config, params);
}
