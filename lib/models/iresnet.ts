/**
 * insightface's improved ResNet (iResNet; Duta et al. 2020, as in deepinsight/insightface
 * `recognition/arcface_torch/backbones/iresnet.py`, the backbone of ElasticFace and MaskInv).
 *
 * - stem: conv3x3(64, stride 1) → BN → PReLU;
 * - four stages of `IBasicBlock`s, the first of each with stride 2:
 *   BN → conv3x3 → BN → PReLU → conv3x3(stride) → BN, plus a 1x1 conv(stride) + BN shortcut when the shape
 *   changes;
 * - head: BN2d → dropout → flatten → Linear(C·H·W → embedding) → BN1d. All batch norms use eps 1e-5.
 *
 * Activations are NHWC. PyTorch flattens the last map in (C, H, W) order; here it flattens in (H, W, C) order
 * and `fc.weight` is stored with its rows in that order (the importer permutes published weights).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { ForwardContext } from "./context.ts";
import { convOutputSize } from "./layers.ts";
import { ParamList, type ParamSpec } from "./params.ts";

/** An iResNet as plain data (stored in checkpoints). */
export interface IResNetConfig {
  /** Architecture family. */
  readonly kind: "iresnet";
  /** Blocks per stage, e.g. `[3, 13, 30, 3]` for iResNet-100. */
  readonly layers: readonly [number, number, number, number];
  /** Channels per stage; insightface: `[64, 128, 256, 512]` (the stem has `widths[0]`). */
  readonly widths: readonly [number, number, number, number];
  /** Embedding length (512 in insightface). */
  readonly embeddingSize: number;
  /** `[height, width]` of the input (112x112 ArcFace-aligned faces). */
  readonly inputSize: readonly [number, number];
  /** Dropout before the fully connected layer (0 in insightface's MS1MV2 configurations). */
  readonly dropout: number;
}

/**
 * Blocks per stage of the published depths (insightface `iresnet.py`: `iresnet18/34/50/100`).
 *
 * @example
 * ```ts
 * import { IRESNET_LAYERS } from "./iresnet.ts";
 * console.log(IRESNET_LAYERS.iresnet50); // [ 3, 4, 14, 3 ]
 * ```
 */
export const IRESNET_LAYERS = {
  iresnet18: [2, 2, 2, 2],
  iresnet34: [3, 4, 6, 3],
  iresnet50: [3, 4, 14, 3],
  iresnet100: [3, 13, 30, 3],
} as const satisfies Record<string, readonly [number, number, number, number]>;

/** A published iResNet depth. */
export type IResNetDepth = keyof typeof IRESNET_LAYERS;

/**
 * The configuration of a published iResNet (112x112 input, widths 64-128-256-512, 512-d, no dropout).
 *
 * @example
 * ```ts
 * import { iresnetConfig } from "./iresnet.ts";
 * console.log(iresnetConfig("iresnet100").layers); // [3, 13, 30, 3]
 * ```
 */
export function iresnetConfig(
  depth: IResNetDepth,
  overrides: Partial<Omit<IResNetConfig, "kind">> = {},
): IResNetConfig {
  const layers = IRESNET_LAYERS[depth];
  if (layers == null) {
    throw new Error(`unknown iResNet depth "${depth}"; known: ${Object.keys(IRESNET_LAYERS).join(", ")}`);
  }
  return {
    kind: "iresnet",
    layers,
    widths: [64, 128, 256, 512],
    embeddingSize: 512,
    inputSize: [112, 112],
    dropout: 0,
    ...overrides,
  };
}

/**
 * Spatial `[height, width]` of the last feature map (four stride-2 stages).
 *
 * @example
 * ```ts
 * import { iresnetConfig, iresnetFeatureSize } from "./iresnet.ts";
 * console.log(iresnetFeatureSize(iresnetConfig("iresnet50"))); // [7, 7]
 * ```
 */
export function iresnetFeatureSize(config: IResNetConfig): [number, number] {
  let [h, w] = config.inputSize;
  for (let stage = 0; stage < 4; stage++) {
    h = convOutputSize(h, 3, 2, 1);
    w = convOutputSize(w, 3, 2, 1);
  }
  return [h, w];
}

/** insightface initialises every convolution from N(0, 0.1) (`iresnet.py`, `nn.init.normal_(m.weight, 0, 0.1)`). */
const CONV_INIT = { kind: "normal", std: 0.1 } as const;

/**
 * The parameters of an iResNet under insightface's `state_dict` names, in `state_dict` order.
 *
 * @example
 * ```ts
 * import { iresnetConfig, iresnetSpecs } from "./iresnet.ts";
 * console.log(iresnetSpecs(iresnetConfig("iresnet18"))[0].name); // conv1.weight
 * ```
 */
export function iresnetSpecs(config: IResNetConfig): ParamSpec[] {
  validate(config);
  const list = new ParamList();
  const [w0] = config.widths;
  list.conv("conv1", 3, 3, w0, CONV_INIT);
  list.batchNorm("bn1", w0);
  list.prelu("prelu", w0);
  let cin = w0;
  config.layers.forEach((blocks, stage) => {
    const cout = config.widths[stage];
    for (let b = 0; b < blocks; b++) {
      const name = `layer${stage + 1}.${b}`;
      const stride = b === 0 ? 2 : 1;
      list.batchNorm(`${name}.bn1`, cin);
      list.conv(`${name}.conv1`, 3, cin, cout, CONV_INIT);
      list.batchNorm(`${name}.bn2`, cout);
      list.prelu(`${name}.prelu`, cout);
      list.conv(`${name}.conv2`, 3, cout, cout, CONV_INIT);
      list.batchNorm(`${name}.bn3`, cout);
      if (stride !== 1 || cin !== cout) {
        list.conv(`${name}.downsample.0`, 1, cin, cout, CONV_INIT);
        list.batchNorm(`${name}.downsample.1`, cout);
      }
      cin = cout;
    }
  });
  const [h, w] = iresnetFeatureSize(config);
  list.batchNorm("bn2", cin);
  list.linear("fc", cin * h * w, config.embeddingSize, true, { channels: cin, height: h, width: w });
  list.batchNorm("features", config.embeddingSize);
  return list.specs;
}

/** Batch-norm eps of every iResNet layer (insightface: `eps=1e-05`). */
const EPS = 1e-5;

/**
 * Runs an iResNet on NHWC input normalised to [−1, 1]; returns the raw (not normalised) embeddings.
 *
 * @example See {@linkcode FaceNetwork}, which binds the parameters and calls this.
 * ```ts
 * import { createNetwork } from "./network.ts";
 * const net = createNetwork({ kind: "iresnet", layers: [1, 1, 1, 1], widths: [4, 4, 4, 4], embeddingSize: 8,
 *   inputSize: [32, 32], dropout: 0 });
 * net.dispose();
 * ```
 */
export function iresnetForward(ctx: ForwardContext, x: tf.Tensor4D, config: IResNetConfig): tf.Tensor2D {
  let y = ctx.prelu("prelu", ctx.batchNorm("bn1", ctx.conv("conv1", x, 1, 1), EPS));
  let cin = config.widths[0];
  config.layers.forEach((blocks, stage) => {
    const cout = config.widths[stage];
    for (let b = 0; b < blocks; b++) {
      const name = `layer${stage + 1}.${b}`;
      const stride = b === 0 ? 2 : 1;
      let body = ctx.batchNorm(`${name}.bn1`, y, EPS);
      body = ctx.conv(`${name}.conv1`, body, 1, 1);
      body = ctx.prelu(`${name}.prelu`, ctx.batchNorm(`${name}.bn2`, body, EPS));
      body = ctx.batchNorm(`${name}.bn3`, ctx.conv(`${name}.conv2`, body, stride, 1), EPS);
      const shortcut = stride !== 1 || cin !== cout
        ? ctx.batchNorm(`${name}.downsample.1`, ctx.conv(`${name}.downsample.0`, y, stride, 0), EPS)
        : y;
      y = tf.add(body, shortcut);
      cin = cout;
    }
  });
  y = ctx.dropout(ctx.batchNorm("bn2", y, EPS), config.dropout);
  const flat = tf.reshape(y, [y.shape[0], -1]) as tf.Tensor2D;
  return ctx.batchNorm("features", ctx.dense("fc", flat, true), EPS);
}

function validate(config: IResNetConfig): void {
  const positive = (v: number) => Number.isInteger(v) && v > 0;
  if (config.layers.length !== 4 || !config.layers.every(positive)) {
    throw new RangeError(`iResNet: layers must be four positive integers, got [${config.layers}]`);
  }
  if (config.widths.length !== 4 || !config.widths.every(positive)) {
    throw new RangeError(`iResNet: widths must be four positive integers, got [${config.widths}]`);
  }
  if (!positive(config.embeddingSize)) {
    throw new RangeError(`iResNet: bad embeddingSize ${config.embeddingSize}`);
  }
  if (config.inputSize.length !== 2 || !config.inputSize.every((v) => positive(v) && v >= 16)) {
    throw new RangeError(`iResNet: inputSize must be two integers >= 16, got [${config.inputSize}]`);
  }
  if (!(config.dropout >= 0 && config.dropout < 1)) {
    throw new RangeError(`iResNet: dropout must be in [0, 1)`);
  }
}
