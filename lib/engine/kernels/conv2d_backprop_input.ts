/**
 * `Conv2DBackpropInput` for the wasm backend, as one XNNPACK convolution.
 *
 * The input gradient is a stride-1 convolution of the output gradient — spread out by the forward stride
 * (zeros between values) and padded for a full correlation — with the filter rotated by 180° and its
 * channel axes swapped. Replaces wasm's own loop-based kernel, which is an order of magnitude slower.
 *
 * @module
 */
import {
  backend_util,
  Conv2DBackpropInput,
  type Conv2DBackpropInputAttrs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from "@tensorflow/tfjs-core";
import { composeKernels, type KernelArgs } from "./kernel_calls.ts";
import { spreadOutputGradient } from "./geometry.ts";

function conv2dBackpropInput(
  args: KernelArgs<Conv2DBackpropInputAttrs>,
): TensorInfo {
  const { inputs, attrs, backend } = args;
  const dy = inputs.dy as TensorInfo;
  const filter = inputs.filter as TensorInfo;
  const { inputShape, strides, pad, dataFormat, dimRoundingMode } = attrs;
  if (backend_util.convertConv2DDataFormat(dataFormat) !== "channelsLast") {
    throw new Error(`Conv2DBackpropInput on wasm supports NHWC only, got ${dataFormat}`);
  }
  const info = backend_util.computeConv2DInfo(
    inputShape,
    filter.shape as [number, number, number, number],
    strides,
    1,
    pad,
    dimRoundingMode,
  );
  return composeKernels(backend, "wasm", ({ call }) => {
    const flipped = call("Reverse", { x: filter }, { dims: [0, 1] });
    const rotated = call("Transpose", { x: flipped }, { perm: [0, 1, 3, 2] }); // [kh, kw, co, ci]
    const spread = spreadOutputGradient(call, dy, info);
    return call("Conv2D", { x: spread, filter: rotated }, {
      strides: [1, 1],
      pad: "valid",
      dataFormat: "NHWC",
      dilations: [1, 1],
    });
  });
}

/** Kernel registration for `Conv2DBackpropInput` on wasm. */
export const conv2dBackpropInputConfig: KernelConfig = {
  kernelName: Conv2DBackpropInput,
  backendName: "wasm",
  kernelFunc: conv2dBackpropInput as unknown as KernelFunc,
};
