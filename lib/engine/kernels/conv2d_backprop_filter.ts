/**
 * `Conv2DBackpropFilter` for the wasm backend, as one XNNPACK convolution.
 *
 * The filter gradient `dW[kh,kw,ci,co] = Σ_{n,i,j} x[n, i·s+kh, j·s+kw, ci] · dy[n,i,j,co]` is itself a
 * convolution: take the input as `ci` images of `n` channels (`[ci, h, w, n]`), the output gradient as a
 * filter (`[oh, ow, n, co]`) and dilate that filter by the forward stride. The result `[ci, kh, kw, co]`
 * transposes to the filter layout. Roughly as fast as the forward convolution.
 *
 * @module
 */
import {
  backend_util,
  Conv2DBackpropFilter,
  type Conv2DBackpropFilterAttrs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from "@tensorflow/tfjs-core";
import { composeKernels, type KernelArgs } from "./kernel_calls.ts";
import { readWindow } from "./geometry.ts";

function conv2dBackpropFilter(
  args: KernelArgs<Conv2DBackpropFilterAttrs>,
): TensorInfo {
  const { inputs, attrs, backend } = args;
  const x = inputs.x as TensorInfo;
  const dy = inputs.dy as TensorInfo;
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs;
  if (backend_util.convertConv2DDataFormat(dataFormat) !== "channelsLast") {
    throw new Error(`Conv2DBackpropFilter on wasm supports NHWC only, got ${dataFormat}`);
  }
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    strides,
    1,
    pad,
    dimRoundingMode,
  );
  return composeKernels(backend, "wasm", ({ call }) => {
    const window = readWindow(call, x, info);
    const images = call("Transpose", { x: window }, { perm: [3, 1, 2, 0] }); // [ci, rows, cols, n]
    const filter = call("Transpose", { x: dy }, { perm: [1, 2, 0, 3] }); // [oh, ow, n, co]
    const grad = call("Conv2D", { x: images, filter }, {
      strides: [1, 1],
      pad: "valid",
      dataFormat: "NHWC",
      dilations: [info.strideHeight, info.strideWidth],
    }); // [ci, kh, kw, co]
    return call("Transpose", { x: grad }, { perm: [1, 2, 0, 3] });
  });
}

/** Kernel registration for `Conv2DBackpropFilter` on wasm. */
export const conv2dBackpropFilterConfig: KernelConfig = {
  kernelName: Conv2DBackpropFilter,
  backendName: "wasm",
  kernelFunc: conv2dBackpropFilter as unknown as KernelFunc,
};
