/**
 * `DepthwiseConv2dNativeBackpropInput` for the wasm backend (wasm has none), as one XNNPACK depthwise
 * convolution: the output gradient, spread by the forward stride and padded for a full correlation,
 * convolved channel by channel with the 180°-rotated filter. With a channel multiplier `M > 1` the `M`
 * gradients that flow back into each input channel are summed.
 *
 * @module
 */
import {
  backend_util,
  DepthwiseConv2dNativeBackpropInput,
  type DepthwiseConv2dNativeBackpropInputAttrs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from "@tensorflow/tfjs-core";
import { composeKernels, type KernelArgs } from "./kernel_calls.ts";
import { spreadOutputGradient } from "./geometry.ts";

function depthwiseBackpropInput(
  args: KernelArgs<DepthwiseConv2dNativeBackpropInputAttrs>,
): TensorInfo {
  const { inputs, attrs, backend } = args;
  const dy = inputs.dy as TensorInfo;
  const filter = inputs.filter as TensorInfo;
  const { strides, pad, dilations, dimRoundingMode, inputShape } = attrs;
  const [filterHeight, filterWidth, channels, multiplier] = filter.shape;
  const info = backend_util.computeConv2DInfo(
    inputShape,
    filter.shape as [number, number, number, number],
    strides,
    dilations,
    pad,
    dimRoundingMode,
    true,
  );
  return composeKernels(backend, "wasm", ({ call }) => {
    const flipped = call("Reverse", { x: filter }, { dims: [0, 1] });
    const rotated = call("Reshape", { x: flipped }, {
      shape: [filterHeight, filterWidth, channels * multiplier, 1],
    });
    const spread = spreadOutputGradient(call, dy, info);
    const perOutputChannel = call("DepthwiseConv2dNative", { x: spread, filter: rotated }, {
      strides: [1, 1],
      pad: "valid",
      dilations: [info.dilationHeight, info.dilationWidth],
    }); // [n, h, w, c·M]
    if (multiplier === 1) return perOutputChannel;
    const [n, h, w] = perOutputChannel.shape;
    const split = call("Reshape", { x: perOutputChannel }, { shape: [n, h, w, channels, multiplier] });
    return call("Sum", { x: split }, { axis: [4], keepDims: false });
  });
}

/** Kernel registration for `DepthwiseConv2dNativeBackpropInput` on wasm. */
export const depthwiseBackpropInputConfig: KernelConfig = {
  kernelName: DepthwiseConv2dNativeBackpropInput,
  backendName: "wasm",
  kernelFunc: depthwiseBackpropInput as unknown as KernelFunc,
};
