/**
 * `DepthwiseConv2dNativeBackpropFilter` for the wasm backend (wasm has none).
 *
 * Each filter tap `(kh, kw)` of channel `c` (multiplier `m`) is one dot product between the strided input
 * window that tap reads and the output gradient of channel `c·M + m`. Channel-major layouts make every one
 * of those a row of a single batched matrix product: `[c, M, n·oh·ow] × [c, n·oh·ow, kh·kw]`.
 *
 * @module
 */
import {
  backend_util,
  DepthwiseConv2dNativeBackpropFilter,
  type DepthwiseConv2dNativeBackpropFilterAttrs,
  type KernelConfig,
  type KernelFunc,
  type TensorInfo,
} from "@tensorflow/tfjs-core";
import { composeKernels, type KernelArgs } from "./kernel_calls.ts";
import { readWindow } from "./geometry.ts";

function depthwiseBackpropFilter(
  args: KernelArgs<DepthwiseConv2dNativeBackpropFilterAttrs>,
): TensorInfo {
  const { inputs, attrs, backend } = args;
  const x = inputs.x as TensorInfo;
  const dy = inputs.dy as TensorInfo;
  const { strides, pad, dilations, dimRoundingMode, filterShape } = attrs;
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    strides,
    dilations,
    pad,
    dimRoundingMode,
    true,
  );
  const [filterHeight, filterWidth, channels, multiplier] = filterShape;
  const [n, outHeight, outWidth] = dy.shape;
  const positions = n * outHeight * outWidth;
  return composeKernels(backend, "wasm", ({ call }) => {
    const window = readWindow(call, x, info);
    const channelMajor = call("Transpose", { x: window }, { perm: [3, 0, 1, 2] }); // [c, n, rows, cols]
    const [, , rows, cols] = channelMajor.shape;
    const taps: TensorInfo[] = [];
    for (let kh = 0; kh < filterHeight; kh++) {
      for (let kw = 0; kw < filterWidth; kw++) {
        const top = kh * info.dilationHeight;
        const left = kw * info.dilationWidth;
        const tap = call("StridedSlice", { x: channelMajor }, {
          begin: [0, 0, top, left],
          end: [
            channels,
            n,
            Math.min(rows, top + (outHeight - 1) * info.strideHeight + 1),
            Math.min(
              cols,
              left + (outWidth - 1) * info.strideWidth + 1,
            ),
          ],
          strides: [1, 1, info.strideHeight, info.strideWidth],
          beginMask: 0,
          endMask: 0,
          ellipsisMask: 0,
          newAxisMask: 0,
          shrinkAxisMask: 0,
        }); // [c, n, oh, ow]
        taps.push(call("Reshape", { x: tap }, { shape: [channels, positions, 1] }));
      }
    }
    const columns = taps.length === 1
      ? taps[0]
      : call("Concat", taps as unknown as Record<string, TensorInfo>, {
        axis: 2,
      }); // [c, positions, taps]
    const grads = call("Reshape", { x: dy }, { shape: [positions, channels * multiplier] });
    const gradsT = call("Transpose", { x: grads }, { perm: [1, 0] }); // [c·M, positions]
    const gradsByChannel = call("Reshape", { x: gradsT }, { shape: [channels, multiplier, positions] });
    const perChannel = call("BatchMatMul", { a: gradsByChannel, b: columns }, {
      transposeA: false,
      transposeB: false,
    }); // [c, M, taps]
    const tapsFirst = call("Transpose", { x: perChannel }, { perm: [2, 0, 1] }); // [taps, c, M]
    return call("Reshape", { x: tapsFirst }, { shape: [filterHeight, filterWidth, channels, multiplier] });
  });
}

/** Kernel registration for `DepthwiseConv2dNativeBackpropFilter` on wasm. */
export const depthwiseBackpropFilterConfig: KernelConfig = {
  kernelName: DepthwiseConv2dNativeBackpropFilter,
  backendName: "wasm",
  kernelFunc: depthwiseBackpropFilter as unknown as KernelFunc,
};
