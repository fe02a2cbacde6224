/**
 * SGD with momentum and L2 weight decay exactly as PyTorch's `torch.optim.SGD` (dampening 0, not Nesterov),
 * and global gradient-norm clipping as `torch.nn.utils.clip_grad_norm_`, on named TensorFlow.js variables.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";

/** Settings of {@linkcode SgdMomentum}. */
export interface SgdOptions {
  /** Momentum `m` (0.9 in ElasticFace and MaskInv). */
  momentum: number;
  /** L2 weight decay `wd` added to the gradient (5e-4 in ElasticFace and MaskInv). */
  weightDecay: number;
}

/**
 * The global L2 norm of a set of gradients, `sqrt(Σ‖g‖²)`, as a scalar tensor (NaN or Inf when any value is).
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { globalNorm } from "./optimizer.ts";
 * globalNorm([tf.tensor1d([3]), tf.tensor1d([4])]).print(); // 5
 * ```
 */
export function globalNorm(gradients: readonly tf.Tensor[]): tf.Scalar {
  return tf.tidy(() => {
    if (gradients.length === 0) return tf.scalar(0);
    // Not tf.addN: tfjs-backend-webgpu 4.22's AddN sums only its first four inputs.
    const squares = gradients.map((g) => tf.sum(tf.square(g)));
    return tf.sqrt(tf.sum(tf.stack(squares))) as tf.Scalar;
  });
}

/**
 * The factor `clip_grad_norm_` multiplies gradients by: `maxNorm / (norm + 1e-6)` when that is below 1,
 * otherwise 1 (no clipping). `maxNorm <= 0` or `Infinity` disables clipping.
 *
 * @example
 * ```ts
 * import { clipCoefficient } from "./optimizer.ts";
 * console.log(clipCoefficient(10, 5), clipCoefficient(2, 5)); // ≈0.5 1
 * ```
 */
export function clipCoefficient(norm: number, maxNorm: number): number {
  if (!(maxNorm > 0) || !Number.isFinite(maxNorm)) return 1;
  const coefficient = maxNorm / (norm + 1e-6);
  return coefficient < 1 ? coefficient : 1;
}

/**
 * SGD with momentum on named variables. Per variable, with gradient `g` (already clipped) and learning rate `lr`:
 * `g ← g + wd·p; buf ← m·buf + g; p ← p − lr·buf` (PyTorch `torch.optim.SGD`; the first step's `buf` is `g`,
 * which a zero-initialised buffer reproduces exactly). Momentum buffers are named like the variables and can
 * be saved and restored for exact resumption.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { SgdMomentum } from "./optimizer.ts";
 * const w = tf.variable(tf.tensor1d([1]));
 * const sgd = new SgdMomentum(new Map([["w", w]]), { momentum: 0.9, weightDecay: 0 });
 * sgd.step(new Map([["w", tf.tensor1d([1])]]), 0.1); // buf = 1, w = 0.9
 * sgd.step(new Map([["w", tf.tensor1d([1])]]), 0.1); // buf = 1.9, w = 0.71
 * console.log(w.dataSync()[0]); // ≈0.71
 * sgd.dispose();
 * ```
 */
export class SgdMomentum {
  /** The variables updated, by name. */
  readonly variables: ReadonlyMap<string, tf.Variable>;
  /** Momentum and weight decay. */
  readonly options: Readonly<SgdOptions>;
  readonly #buffers = new Map<string, tf.Variable>();

  /**
   * Creates a `SgdMomentum`.
   *
   * @param variables The trainable variables by name (e.g. `model/conv1.weight`, `head/kernel`).
   * @param options Momentum and weight decay.
   */
  constructor(variables: ReadonlyMap<string, tf.Variable>, options: SgdOptions) {
    if (!(options.momentum >= 0 && options.momentum < 1)) {
      throw new RangeError(`SgdMomentum: momentum must be in [0, 1), got ${options.momentum}`);
    }
    if (!(options.weightDecay >= 0)) {
      throw new RangeError(`SgdMomentum: weightDecay must be >= 0, got ${options.weightDecay}`);
    }
    this.variables = variables;
    this.options = { ...options };
    for (const [name, variable] of variables) {
      this.#buffers.set(
        name,
        tf.tidy(() => tf.variable(tf.zerosLike(variable), false, undefined, "float32")),
      );
    }
  }

  /**
   * Applies one update.
   *
   * @param gradients Gradient of each variable by name; variables without one are left unchanged (PyTorch skips
   *   parameters whose `.grad` is `None`).
   * @param learningRate `lr` of this step.
   * @param scale Optional factor per gradient name (the clipping coefficient), applied before weight decay.
   */
  step(
    gradients: ReadonlyMap<string, tf.Tensor>,
    learningRate: number,
    scale?: (name: string) => number,
  ): void {
    const { momentum, weightDecay } = this.options;
    for (const [name, gradient] of gradients) {
      const variable = this.variables.get(name);
      const buffer = this.#buffers.get(name);
      if (variable == null || buffer == null) throw new Error(`SgdMomentum: no variable named ${name}`);
      tf.tidy(() => {
        const factor = scale?.(name) ?? 1;
        let g: tf.Tensor = factor === 1 ? gradient : tf.mul(gradient, factor);
        if (weightDecay !== 0) g = tf.add(g, tf.mul(variable, weightDecay));
        const nextBuffer = momentum !== 0 ? tf.add(tf.mul(buffer, momentum), g) : g;
        buffer.assign(nextBuffer);
        variable.assign(tf.sub(variable, tf.mul(nextBuffer, learningRate)));
      });
    }
  }

  /** The momentum buffers by variable name (the variables themselves; save them, do not dispose them). */
  get state(): ReadonlyMap<string, tf.Tensor> {
    return this.#buffers;
  }

  /**
   * Restores momentum buffers saved from {@linkcode SgdMomentum.state}.
   *
   * @param source Names where the state came from in errors.
   * @throws {Error} When a buffer is missing or has the wrong shape.
   */
  restore(state: ReadonlyMap<string, tf.Tensor>, source = "optimizer state"): void {
    for (const [name, buffer] of this.#buffers) {
      const saved = state.get(name);
      if (saved == null) throw new Error(`${source}: no momentum buffer for ${name}`);
      if (saved.shape.join() !== buffer.shape.join()) {
        throw new Error(
          `${source}: momentum buffer ${name} has shape [${saved.shape}], expected [${buffer.shape}]`,
        );
      }
      buffer.assign(saved);
    }
  }

  /** Releases the momentum buffers (not the variables). */
  dispose(): void {
    for (const buffer of this.#buffers.values()) buffer.dispose();
    this.#buffers.clear();
  }
}
