/**
 * Back-propagation that frees memory as it goes.
 *
 * TensorFlow.js keeps every intermediate gradient, and every tensor the forward pass saved for the backward
 * pass, until the whole backward pass is over, so a training step peaks at several times the memory of its
 * activations: a batch of 32 112x112 faces overflows the wasm engine's 4 GiB. This module computes exactly
 * the same gradients, in the same order with the same kernels, but releases each gradient once the node that
 * consumes it has run, and each node's saved tensors right after its gradient function. Peak memory is then
 * about the memory of the forward pass.
 *
 * {@linkcode installLeanGradients} puts it behind TensorFlow.js's own `tf.grad`, `tf.grads`,
 * `tf.variableGrads`, `optimizer.minimize`, … (the engine's `gradients` method); the engine module installs it
 * when imported. Higher-order gradients (a gradient computed while another tape is recording) keep the
 * original implementation.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";

/** A recorded operation on TensorFlow.js's gradient tape (its internal `TapeNode`). */
interface TapeNode {
  id: number;
  kernelName: string;
  inputs: Record<string, tf.Tensor>;
  outputs: tf.Tensor[];
  saved?: tf.Tensor[];
  gradient?: (dys: (tf.Tensor | null)[]) => Record<string, () => tf.Tensor>;
}

/** The engine internals this module relies on (present in tfjs-core 4.x). */
interface EngineInternals {
  state: { activeTape: TapeNode[] | null; gradientDepth: number };
  startTape(): void;
  endTape(): void;
  scopedRun<T>(start: () => void, end: () => void, f: () => T): T;
  tidy<T extends tf.TensorContainer>(nameOrFn: string | (() => T), fn?: () => T): T;
  gradients: GradientsFunction;
}

type GradientsFunction = (
  f: () => tf.Tensor,
  xs: tf.Tensor[],
  dy?: tf.Tensor,
  allowNoGradients?: boolean,
) => { value: tf.Tensor; grads: tf.Tensor[] };

let original: GradientsFunction | undefined;

/**
 * Routes TensorFlow.js's gradient computations through {@linkcode leanGradients} (`enabled`, the default once
 * the engine module is loaded) or back to TensorFlow.js's own implementation.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { installLeanGradients } from "./gradients.ts";
 * installLeanGradients(true);
 * const g = tf.grad((x: tf.Tensor) => tf.sum(tf.square(x)))(tf.tensor1d([1, 2]));
 * console.log(Array.from(g.dataSync())); // [2, 4]
 * ```
 */
export function installLeanGradients(enabled = true): void {
  const engine = tf.engine() as unknown as EngineInternals;
  if (original == null) original = engine.gradients;
  const base = original;
  engine.gradients = enabled
    ? function (this: EngineInternals, f, xs, dy, allowNoGradients = false) {
      // Inside another recording tape (higher-order gradients) the saved tensors must outlive this call.
      if (this.state.gradientDepth > 0) return base.call(this, f, xs, dy, allowNoGradients);
      return leanGradients(this, f, xs, dy, allowNoGradients);
    }
    : base;
}

/** The engine's `gradients(f, xs, dy, allowNoGradients)`, freeing gradients and saved tensors early. */
function leanGradients(
  engine: EngineInternals,
  f: () => tf.Tensor,
  xs: tf.Tensor[],
  dy: tf.Tensor | undefined,
  allowNoGradients: boolean,
): { value: tf.Tensor; grads: tf.Tensor[] } {
  if (xs.length === 0) throw new Error("gradients() received an empty list of xs.");
  if (dy != null && dy.dtype !== "float32") {
    throw new Error(`dy must have 'float32' dtype, but has '${dy.dtype}'`);
  }
  const y = engine.scopedRun(
    () => engine.startTape(),
    () => engine.endTape(),
    () => engine.tidy("forward", f),
  );
  if (!(y instanceof tf.Tensor)) throw new Error("The result y returned by f() must be a tensor.");
  const tape = engine.state.activeTape ?? [];
  const path = nodesFromXsToY(tape, xs, y);
  if (!allowNoGradients && path.length === 0) {
    throw new Error(
      "Cannot compute gradient of y=f(x) with respect to x. Make sure that the f you passed encloses all " +
        "operations that lead from x to y.",
    );
  }
  try {
    return engine.tidy("backward", () => {
      const grads = backpropagate(engine, path, xs, y, dy);
      return { value: y, grads };
    });
  } finally {
    for (const node of tape) tf.dispose(node.saved ?? []);
    engine.state.activeTape = null;
  }
}

/**
 * The nodes of the tape that both depend on one of `xs` and lead to `y`, in tape order, each with only the
 * inputs that depend on `xs` (TensorFlow.js's own pruning rule).
 */
function nodesFromXsToY(tape: TapeNode[], xs: tf.Tensor[], y: tf.Tensor): TapeNode[] {
  const fromX = new Set<number>(xs.map((x) => x.id));
  const nodesFromX = new Set<number>();
  for (const node of tape) {
    if (Object.values(node.inputs).some((input) => fromX.has(input.id))) {
      for (const output of node.outputs) fromX.add(output.id);
      nodesFromX.add(node.id);
    }
  }
  const toY = new Set<number>([y.id]);
  const nodesToY = new Set<number>();
  for (let i = tape.length - 1; i >= 0; i--) {
    const node = tape[i];
    if (node.outputs.some((output) => toY.has(output.id))) {
      for (const input of Object.values(node.inputs)) toY.add(input.id);
      nodesToY.add(node.id);
    }
  }
  const path: TapeNode[] = [];
  for (const node of tape) {
    if (!nodesFromX.has(node.id) || !nodesToY.has(node.id)) continue;
    const inputs: Record<string, tf.Tensor> = {};
    for (const [name, input] of Object.entries(node.inputs)) if (fromX.has(input.id)) inputs[name] = input;
    path.push({ ...node, inputs });
  }
  return path;
}

/** Walks `path` backwards from `y`; returns the gradient of each of `xs` (undefined where none flows). */
function backpropagate(
  engine: EngineInternals,
  path: TapeNode[],
  xs: tf.Tensor[],
  y: tf.Tensor,
  dy: tf.Tensor | undefined,
): tf.Tensor[] {
  // Accumulated gradient per tensor id. Gradient functions may hand the same tensor object to several inputs
  // (e.g. `Add` passes dy through), so a gradient is disposed only when no entry refers to it any more.
  const gradientOf = new Map<number, tf.Tensor>();
  const holders = new Map<tf.Tensor, number>();
  const wanted = new Set(xs.map((x) => x.id));
  const hold = (id: number, gradient: tf.Tensor) => {
    gradientOf.set(id, gradient);
    holders.set(gradient, (holders.get(gradient) ?? 0) + 1);
  };
  const release = (id: number) => {
    const gradient = gradientOf.get(id);
    if (gradient == null) return;
    gradientOf.delete(id);
    const left = holders.get(gradient)! - 1;
    if (left > 0) {
      holders.set(gradient, left);
    } else {
      holders.delete(gradient);
      // The caller's dy is theirs to dispose.
      if (gradient !== dy) gradient.dispose();
    }
  };
  hold(y.id, dy ?? tf.onesLike(y));
  for (let i = path.length - 1; i >= 0; i--) {
    const node = path[i];
    if (node.gradient == null) {
      throw new Error(`Cannot compute gradient: gradient function not found for ${node.kernelName}.`);
    }
    const dys = node.outputs.map((output) => gradientOf.get(output.id) ?? null);
    const gradient = node.gradient;
    // One scope per node: gradient functions (custom gradients in particular) may compute intermediate
    // tensors before handing out the input gradients; those die here instead of at the end of the pass.
    const inputGradients = engine.tidy(() => {
      const closures = gradient(dys);
      const computed: Record<string, tf.Tensor> = {};
      for (const name of Object.keys(node.inputs)) {
        if (!(name in closures)) {
          throw new Error(
            `Cannot backprop through input ${name}. Available gradients found: ${Object.keys(closures)}.`,
          );
        }
        computed[name] = closures[name]();
      }
      return computed;
    });
    for (const [name, x] of Object.entries(node.inputs)) {
      const dx = inputGradients[name];
      if (dx.dtype !== "float32") {
        throw new Error(
          `Error in gradient for op ${node.kernelName}. The gradient of input ${name} must have 'float32' ` +
            `dtype, but has '${dx.dtype}'`,
        );
      }
      if (!tf.util.arraysEqual(dx.shape, x.shape)) {
        throw new Error(
          `Error in gradient for op ${node.kernelName}. The gradient of input '${name}' has shape ` +
            `'${dx.shape}', which does not match the shape of the input '${x.shape}'`,
        );
      }
      const previous = gradientOf.get(x.id);
      if (previous == null) {
        hold(x.id, dx);
      } else {
        const sum = tf.add(previous, dx);
        release(x.id);
        if (!holders.has(dx) && dx !== dy) dx.dispose();
        hold(x.id, sum);
      }
    }
    // Every consumer of this node's outputs came later on the tape, so their gradients are complete and used.
    for (const output of node.outputs) if (!wanted.has(output.id)) release(output.id);
    tf.dispose(node.saved ?? []);
  }
  return xs.map((x) => gradientOf.get(x.id)!);
}
