/**
 * Named parameters of a network: what each tensor is (shape, layout relative to PyTorch, initialisation,
 * trainable or a running statistic) and how to create them reproducibly from a seed.
 *
 * Names are insightface's PyTorch `state_dict` keys (`conv1.weight`, `layer1.0.bn1.running_mean`,
 * `layer1.0.prelu.weight`, `fc.weight`, `features.weight`, …), so a checkpoint of the published models maps
 * onto a network key by key. Shapes are TensorFlow.js layouts (NHWC activations): convolutions `[kh, kw, in,
 * out]`, depthwise `[kh, kw, C, 1]`, dense `[in, out]`; {@linkcode TorchLayout} says how to convert.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { Rng } from "../util/random.ts";

/** How a tensor's PyTorch layout maps onto maskinv's. */
export type TorchLayout =
  /** Same shape in both (biases, batch-norm vectors, PReLU slopes). */
  | { readonly kind: "vector" }
  /** `nn.Conv2d` weight `[out, in, kh, kw]` → `[kh, kw, in, out]`. */
  | { readonly kind: "conv" }
  /** Depthwise `nn.Conv2d(groups = C)` weight `[C, 1, kh, kw]` → `[kh, kw, C, 1]`. */
  | { readonly kind: "depthwise" }
  /** `nn.Linear` weight `[out, in]` → `[in, out]`. */
  | { readonly kind: "linear" }
  /**
   * `nn.Linear` after `torch.flatten` of an NCHW map: weight `[out, C·H·W]` with inputs in (C, H, W) order →
   * `[H·W·C, out]` with inputs in the (H, W, C) order in which an NHWC map flattens.
   */
  | {
    readonly kind: "linear-flatten";
    readonly channels: number;
    readonly height: number;
    readonly width: number;
  };

/** How a tensor is initialised. */
export type ParamInit =
  | { readonly kind: "normal"; readonly std: number }
  | { readonly kind: "uniform"; readonly bound: number }
  | { readonly kind: "constant"; readonly value: number };

/** One named tensor of a network. */
export interface ParamSpec {
  /** The PyTorch `state_dict` key. */
  readonly name: string;
  /** Shape in maskinv's layout. */
  readonly shape: readonly number[];
  /** Learned by gradient descent (false for batch-norm running statistics). */
  readonly trainable: boolean;
  /** Mapping from the PyTorch layout. */
  readonly layout: TorchLayout;
  /** Initial values. */
  readonly init: ParamInit;
}

/**
 * Number of values of a shape.
 *
 * @example
 * ```ts
 * import { sizeOf } from "./params.ts";
 * console.log(sizeOf([3, 3, 64, 128])); // 73728
 * ```
 */
export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Collects {@linkcode ParamSpec}s of the usual PyTorch modules under their `state_dict` names.
 *
 * @example
 * ```ts
 * import { ParamList } from "./params.ts";
 * const list = new ParamList();
 * list.batchNorm("bn1", 8);
 * console.log(list.specs.map((s) => s.name)); // bn1.weight, bn1.bias, bn1.running_mean, bn1.running_var
 * ```
 */
export class ParamList {
  /** Specs in the order of the PyTorch `state_dict`. */
  readonly specs: ParamSpec[] = [];

  /** Adds one spec. */
  add(spec: ParamSpec): void {
    if (this.specs.some((s) => s.name === spec.name)) {
      throw new Error(`duplicate parameter name ${spec.name}`);
    }
    this.specs.push(spec);
  }

  /** A bias-free `nn.Conv2d(cin, cout, k)` weight named `${name}.weight`. */
  conv(name: string, kernel: number, cin: number, cout: number, init: ParamInit): void {
    this.add({
      name: `${name}.weight`,
      shape: [kernel, kernel, cin, cout],
      trainable: true,
      layout: { kind: "conv" },
      init,
    });
  }

  /** A bias-free depthwise `nn.Conv2d(c, c, k, groups = c)` weight named `${name}.weight`. */
  depthwise(name: string, kernel: number, channels: number, init: ParamInit): void {
    this.add({
      name: `${name}.weight`,
      shape: [kernel, kernel, channels, 1],
      trainable: true,
      layout: { kind: "depthwise" },
      init,
    });
  }

  /** `nn.BatchNorm{1,2}d(c)`: weight 1, bias 0, running mean 0, running variance 1 (PyTorch defaults). */
  batchNorm(name: string, channels: number): void {
    const vector = { kind: "vector" } as const;
    this.add({
      name: `${name}.weight`,
      shape: [channels],
      trainable: true,
      layout: vector,
      init: constant(1),
    });
    this.add({ name: `${name}.bias`, shape: [channels], trainable: true, layout: vector, init: constant(0) });
    for (const [stat, value] of [["running_mean", 0], ["running_var", 1]] as const) {
      this.add({
        name: `${name}.${stat}`,
        shape: [channels],
        trainable: false,
        layout: vector,
        init: constant(value),
      });
    }
  }

  /** `nn.PReLU(c)`: one slope per channel, 0.25 (PyTorch default). */
  prelu(name: string, channels: number): void {
    this.add({
      name: `${name}.weight`,
      shape: [channels],
      trainable: true,
      layout: { kind: "vector" },
      init: constant(0.25),
    });
  }

  /**
   * `nn.Linear(in, out)` with PyTorch's default initialisation (uniform ±1/√in for weight and bias).
   * `flattenFrom` marks a layer fed by `torch.flatten` of a `[C, H, W]` map.
   */
  linear(
    name: string,
    inputs: number,
    outputs: number,
    bias: boolean,
    flattenFrom?: { channels: number; height: number; width: number },
  ): void {
    const bound = 1 / Math.sqrt(inputs);
    this.add({
      name: `${name}.weight`,
      shape: [inputs, outputs],
      trainable: true,
      layout: flattenFrom == null ? { kind: "linear" } : { kind: "linear-flatten", ...flattenFrom },
      init: { kind: "uniform", bound },
    });
    if (bias) {
      this.add({
        name: `${name}.bias`,
        shape: [outputs],
        trainable: true,
        layout: { kind: "vector" },
        init: { kind: "uniform", bound },
      });
    }
  }
}

function constant(value: number): ParamInit {
  return { kind: "constant", value };
}

/**
 * PyTorch's default convolution initialisation, `kaiming_uniform_(a=√5)`: uniform ±1/√fan_in.
 *
 * @example
 * ```ts
 * import { torchDefaultConvInit } from "./params.ts";
 * console.log(torchDefaultConvInit(9)); // { kind: "uniform", bound: 0.333… }
 * ```
 */
export function torchDefaultConvInit(fanIn: number): ParamInit {
  return { kind: "uniform", bound: 1 / Math.sqrt(fanIn) };
}

let variableScope = 0;

/**
 * Creates one variable per spec, in spec order, from `seed` (each tensor from its own generator forked by
 * name and `seed`, so adding a layer does not change the others' initial values).
 *
 * Variable names are prefixed with a process-unique scope (TensorFlow.js requires unique names), so a teacher
 * and a student of the same architecture coexist; the returned map is keyed by the plain `state_dict` name.
 *
 * @example
 * ```ts
 * import { createVariables, ParamList } from "./params.ts";
 * const list = new ParamList();
 * list.prelu("prelu", 4);
 * const vars = createVariables(list.specs, 7);
 * console.log(vars.get("prelu.weight")!.shape); // [4]
 * ```
 */
export function createVariables(specs: readonly ParamSpec[], seed: number): Map<string, tf.Variable> {
  const scope = `net${variableScope++}`;
  const out = new Map<string, tf.Variable>();
  for (const spec of specs) {
    const values = new Float32Array(sizeOf(spec.shape));
    const init = spec.init;
    if (init.kind === "constant") {
      values.fill(init.value);
    } else {
      const rng = new Rng(`${seed}:${spec.name}`);
      if (init.kind === "normal") {
        for (let i = 0; i < values.length; i++) values[i] = rng.normal(0, init.std);
      } else for (let i = 0; i < values.length; i++) values[i] = rng.range(-init.bound, init.bound);
    }
    const variable = tf.tidy(() =>
      tf.variable(tf.tensor(values, [...spec.shape]), spec.trainable, `${scope}/${spec.name}`)
    );
    out.set(spec.name, variable);
  }
  return out;
}
