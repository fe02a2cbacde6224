/**
 * The trainable class-centre layer of a margin loss.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs-core";
import { Rng, type RngState } from "../util/random.ts";
import { type MarginLossConfig, type MarginLossResult, marginSoftmaxLoss } from "./margin.ts";

/** Settings of a {@linkcode MarginHead}. */
export interface MarginHeadOptions {
  /** Length of an embedding. */
  embeddingSize: number;
  /** Number of identities. */
  classes: number;
  /** The margin loss. */
  loss: MarginLossConfig;
  /** Seed of the initial centres and of the margin stream (default 0). */
  seed?: number;
  /** Standard deviation of the normal initialisation of `W` (default 0.01, as fdbtrs/ElasticFace). */
  initStd?: number;
}

let headCount = 0;

/**
 * Class centres `W` (`[embeddingSize, classes]`, trainable, initialised from N(0, 0.01)) plus a margin loss
 * with its own seeded margin stream, whose state is saved with checkpoints so a resumed run draws the same
 * margins.
 *
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs-core";
 * import { MarginHead } from "./head.ts";
 * import { ELASTIC_ARC } from "./margin.ts";
 * const head = new MarginHead({ embeddingSize: 8, classes: 5, loss: ELASTIC_ARC, seed: 1 });
 * const { loss } = head.loss(tf.randomNormal([4, 8]), tf.tensor1d([0, 1, 2, 3], "int32"));
 * console.log(loss.shape.length); // 0
 * head.dispose();
 * ```
 */
export class MarginHead {
  /** The class centres, `[embeddingSize, classes]`. */
  readonly kernel: tf.Variable<tf.Rank.R2>;
  /** The margin loss. */
  readonly config: MarginLossConfig;
  #rng: Rng;

  /**
   * Creates `W` from the seed and starts the margin stream.
   *
   * @param options See {@linkcode MarginHeadOptions}.
   */
  constructor(options: MarginHeadOptions) {
    const { embeddingSize, classes } = options;
    if (!(Number.isInteger(embeddingSize) && embeddingSize > 0 && Number.isInteger(classes) && classes > 0)) {
      throw new RangeError(`MarginHead: embeddingSize and classes must be positive integers`);
    }
    const init = new Rng(options.seed ?? 0);
    const std = options.initStd ?? 0.01;
    const values = new Float32Array(embeddingSize * classes);
    for (let i = 0; i < values.length; i++) values[i] = init.normal(0, std);
    // tf.variable copies its initial value: release the temporary so the head holds W only once.
    const initial = tf.tensor2d(values, [embeddingSize, classes]);
    this.kernel = tf.variable(initial, true, `head${headCount++}/kernel`);
    initial.dispose();
    this.config = options.loss;
    this.#rng = init.fork("margins");
  }

  /** The trainable variables by name (`kernel`), for optimisers and checkpoints. */
  get variables(): Map<string, tf.Variable> {
    return new Map([["kernel", this.kernel]]);
  }

  /** State of the margin generator; {@linkcode MarginHead.restoreRngState} continues it. */
  get rngState(): RngState {
    return this.#rng.state;
  }

  /** Continues a margin stream saved with {@linkcode MarginHead.rngState}. */
  restoreRngState(state: RngState): void {
    this.#rng = Rng.fromState(state);
  }

  /**
   * The loss for a batch: draws per-sample margins (unless `margins` is given), applies the "+" assignment
   * when configured, returns loss, logits and the margins used.
   */
  loss(embeddings: tf.Tensor2D, labels: tf.Tensor1D, margins?: ArrayLike<number>): MarginLossResult {
    return marginSoftmaxLoss(embeddings, this.kernel, labels, this.config, { margins, rng: this.#rng });
  }

  /** Releases `W`. */
  dispose(): void {
    this.kernel.dispose();
  }
}
