/**
 * What an architecture's forward function sees: its parameters by `state_dict` name and the layer operations
 * bound to them, in inference or training mode.
 *
 * @module
 */
import type * as tf from "@tensorflow/tfjs-core";

/** One convolution followed by batch norm and, optionally, PReLU: the names of its three layers. */
export interface ConvBnLayer {
  /** The convolution, weight `${conv}.weight`. */
  readonly conv: string;
  /** Depthwise (`[kh, kw, C, 1]` filter) rather than a full convolution. */
  readonly depthwise: boolean;
  /** Stride and symmetric padding of the convolution. */
  readonly stride: number;
  /** Symmetric zero padding on each side. */
  readonly pad: number;
  /** The batch norm after it. */
  readonly bn: string;
  /** Batch-norm epsilon. */
  readonly eps: number;
  /** The PReLU after the batch norm, if any. */
  readonly prelu?: string;
}

/** Layer operations on named parameters; implemented by {@linkcode FaceNetwork}. */
export interface ForwardContext {
  /** Training mode: batch statistics in batch norm (and running-statistics updates), active dropout. */
  readonly training: boolean;
  /** The tensor named `name` (a `state_dict` key). */
  param(name: string): tf.Tensor;
  /** Convolution with weight `${name}.weight`, symmetric padding `pad`. */
  conv(name: string, x: tf.Tensor4D, stride: number, pad: number): tf.Tensor4D;
  /** Depthwise convolution with weight `${name}.weight`, symmetric padding `pad`. */
  depthwise(name: string, x: tf.Tensor4D, stride: number, pad: number): tf.Tensor4D;
  /** Batch norm `${name}.{weight,bias,running_mean,running_var}` over the last axis. */
  batchNorm<T extends tf.Tensor>(name: string, x: T, eps: number): T;
  /** PReLU with slopes `${name}.weight`. */
  prelu<T extends tf.Tensor>(name: string, x: T): T;
  /**
   * Convolution, batch norm and optional PReLU. In inference mode outside a gradient tape, one fused kernel
   * with the batch norm folded into the filter and bias (as inference engines do; the same function up to
   * float rounding); otherwise the three layers in turn.
   */
  convBn(x: tf.Tensor4D, layer: ConvBnLayer): tf.Tensor4D;
  /** Dense layer `${name}.weight` (`[in, out]`) plus `${name}.bias` when `bias`. */
  dense(name: string, x: tf.Tensor2D, bias: boolean): tf.Tensor2D;
  /** Dropout with drop probability `rate` in training mode; identity otherwise. */
  dropout<T extends tf.Tensor>(x: T, rate: number): T;
}
