/**
 * MobileFaceNet (Chen et al., "MobileFaceNets", CCBR 2018): depthwise-separable bottlenecks and a global
 * depthwise convolution (GDC) head, 112x112 → 512-d.
 *
 * The layout is the one the project's PyTorch peer benchmark trains (`ConvBN`/`DWRes` modules in an
 * `nn.Sequential` named `body`, then `fc` (no bias) and `bn`), so parameter names are that model's
 * `state_dict` keys and benchmarks compare the same network:
 *
 * | body index | module |
 * |---|---|
 * | 0 | conv3x3(3→64, stride 2) + BN + PReLU |
 * | 1 | depthwise conv3x3(64) + BN + PReLU |
 * | 2 | bottleneck 64→(128)→64, stride 2 |
 * | 3–6 | 4 × residual bottleneck 64→(128)→64 |
 * | 7 | bottleneck 64→(256)→128, stride 2 |
 * | 8–13 | 6 × residual bottleneck 128→(256)→128 |
 * | 14 | bottleneck 128→(512)→128, stride 2 |
 * | 15–16 | 2 × residual bottleneck 128→(256)→128 |
 * | 17 | conv1x1(128→512) + BN + PReLU |
 * | 18 | GDC: depthwise conv7x7(512, valid) + BN |
 *
 * A bottleneck is conv1x1 + BN + PReLU → depthwise conv3x3(stride) + BN + PReLU → conv1x1 + BN, with an identity
 * shortcut when stride is 1 and the channels match. All batch norms use PyTorch's default eps 1e-5.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import type { ForwardContext } from "./context.ts";
import { convOutputSize } from "./layers.ts";
import { ParamList, type ParamSpec, torchDefaultConvInit } from "./params.ts";

/** A MobileFaceNet as plain data (stored in checkpoints). */
export interface MobileFaceNetConfig {
  /** Architecture family. */
  readonly kind: "mobilefacenet";
  /** Embedding length (512). */
  readonly embeddingSize: number;
  /** `[height, width]` of the input (112x112); the GDC kernel covers the whole last map. */
  readonly inputSize: readonly [number, number];
}

/**
 * The 112x112 → 512-d MobileFaceNet.
 *
 * @example
 * ```ts
 * import { mobileFaceNetConfig } from "./mobilefacenet.ts";
 * console.log(mobileFaceNetConfig().embeddingSize); // 512
 * ```
 */
export function mobileFaceNetConfig(
  overrides: Partial<Omit<MobileFaceNetConfig, "kind">> = {},
): MobileFaceNetConfig {
  return { kind: "mobilefacenet", embeddingSize: 512, inputSize: [112, 112], ...overrides };
}

/** One bottleneck: input channels, expansion, stride, output channels. */
interface Bottleneck {
  readonly cin: number;
  readonly hidden: number;
  readonly stride: number;
  readonly cout: number;
}

/** `body.2` … `body.16` of the peer benchmark's MobileFaceNet. */
const BOTTLENECKS: readonly Bottleneck[] = [
  { cin: 64, hidden: 128, stride: 2, cout: 64 },
  ...repeat(4, { cin: 64, hidden: 128, stride: 1, cout: 64 }),
  { cin: 64, hidden: 256, stride: 2, cout: 128 },
  ...repeat(6, { cin: 128, hidden: 256, stride: 1, cout: 128 }),
  { cin: 128, hidden: 512, stride: 2, cout: 128 },
  ...repeat(2, { cin: 128, hidden: 256, stride: 1, cout: 128 }),
];

function repeat<T>(n: number, item: T): T[] {
  return Array.from({ length: n }, () => item);
}

/**
 * Spatial `[height, width]` of the map entering the GDC head (four stride-2 layers).
 *
 * @example
 * ```ts
 * import { mobileFaceNetConfig, mobileFaceNetFeatureSize } from "./mobilefacenet.ts";
 * console.log(mobileFaceNetFeatureSize(mobileFaceNetConfig())); // [7, 7]
 * ```
 */
export function mobileFaceNetFeatureSize(config: MobileFaceNetConfig): [number, number] {
  let [h, w] = config.inputSize;
  for (let i = 0; i < 4; i++) {
    h = convOutputSize(h, 3, 2, 1);
    w = convOutputSize(w, 3, 2, 1);
  }
  return [h, w];
}

/**
 * The parameters of a MobileFaceNet under the peer benchmark's `state_dict` names.
 *
 * @example
 * ```ts
 * import { mobileFaceNetConfig, mobileFaceNetSpecs } from "./mobilefacenet.ts";
 * console.log(mobileFaceNetSpecs(mobileFaceNetConfig()).at(-1)!.name); // bn.running_var
 * ```
 */
export function mobileFaceNetSpecs(config: MobileFaceNetConfig): ParamSpec[] {
  const [h, w] = mobileFaceNetFeatureSize(config);
  if (h !== w || h < 1) throw new RangeError(`MobileFaceNet: input ${config.inputSize} must be square`);
  const list = new ParamList();
  const convBn = (name: string, k: number, cin: number, cout: number, act: boolean) => {
    list.conv(`${name}.0`, k, cin, cout, torchDefaultConvInit(cin * k * k));
    list.batchNorm(`${name}.1`, cout);
    if (act) list.prelu(`${name}.2`, cout);
  };
  const depthwiseBn = (name: string, k: number, c: number, act: boolean) => {
    list.depthwise(`${name}.0`, k, c, torchDefaultConvInit(k * k));
    list.batchNorm(`${name}.1`, c);
    if (act) list.prelu(`${name}.2`, c);
  };
  convBn("body.0", 3, 3, 64, true);
  depthwiseBn("body.1", 3, 64, true);
  BOTTLENECKS.forEach((b, i) => {
    const name = `body.${i + 2}.body`;
    convBn(`${name}.0`, 1, b.cin, b.hidden, true);
    depthwiseBn(`${name}.1`, 3, b.hidden, true);
    convBn(`${name}.2`, 1, b.hidden, b.cout, false);
  });
  const last = BOTTLENECKS.length + 2;
  convBn(`body.${last}`, 1, 128, 512, true);
  depthwiseBn(`body.${last + 1}`, h, 512, false);
  list.linear("fc", 512, config.embeddingSize, false);
  list.batchNorm("bn", config.embeddingSize);
  return list.specs;
}

const EPS = 1e-5;

/**
 * Runs a MobileFaceNet on NHWC input normalised to [−1, 1]; returns the raw embeddings.
 *
 * @example
 * ```ts
 * import { createNetwork } from "./network.ts";
 * import { mobileFaceNetConfig } from "./mobilefacenet.ts";
 * const net = createNetwork(mobileFaceNetConfig());
 * console.log(net.embeddingSize); // 512
 * net.dispose();
 * ```
 */
export function mobileFaceNetForward(
  ctx: ForwardContext,
  x: tf.Tensor4D,
  _config: MobileFaceNetConfig,
): tf.Tensor2D {
  const layer = (
    name: string,
    y: tf.Tensor4D,
    stride: number,
    pad: number,
    act: boolean,
    depthwise: boolean,
  ) =>
    ctx.convBn(y, {
      conv: `${name}.0`,
      depthwise,
      stride,
      pad,
      bn: `${name}.1`,
      eps: EPS,
      prelu: act ? `${name}.2` : undefined,
    });
  const convBn = (name: string, y: tf.Tensor4D, stride: number, pad: number, act: boolean) =>
    layer(name, y, stride, pad, act, false);
  const depthwiseBn = (name: string, y: tf.Tensor4D, stride: number, pad: number, act: boolean) =>
    layer(name, y, stride, pad, act, true);
  let y = convBn("body.0", x, 2, 1, true);
  y = depthwiseBn("body.1", y, 1, 1, true);
  BOTTLENECKS.forEach((b, i) => {
    const name = `body.${i + 2}.body`;
    let z = convBn(`${name}.0`, y, 1, 0, true);
    z = depthwiseBn(`${name}.1`, z, b.stride, 1, true);
    z = convBn(`${name}.2`, z, 1, 0, false);
    y = b.stride === 1 && b.cin === b.cout ? tf.add(y, z) : z;
  });
  const last = BOTTLENECKS.length + 2;
  y = convBn(`body.${last}`, y, 1, 0, true);
  y = depthwiseBn(`body.${last + 1}`, y, 1, 0, false);
  const flat = tf.reshape(y, [y.shape[0], -1]) as tf.Tensor2D;
  return ctx.batchNorm("bn", ctx.dense("fc", flat, false), EPS);
}
