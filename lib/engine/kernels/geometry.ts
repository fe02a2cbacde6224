/**
 * Shape bookkeeping shared by the gradient kernels: exactly which rows and columns of the input a
 * convolution reads, and how to lay out its output gradient for the transposed convolution.
 *
 * @module
 */
import type { backend_util, TensorInfo } from "@tensorflow/tfjs-core";
import type { KernelCall } from "./kernel_calls.ts";

/** `[before, after]` pairs for the height and width axes; negative values crop. */
export type SpatialPadding = readonly [readonly [number, number], readonly [number, number]];

/**
 * Pads (positive amounts) or crops (negative amounts) the spatial axes of an NHWC tensor.
 *
 * @param call Kernel caller of the current backend.
 * @param x NHWC tensor.
 * @param padding `[[top, bottom], [left, right]]`.
 * @returns `x` itself when nothing changes, otherwise a new tensor.
 */
export function padOrCrop(call: KernelCall, x: TensorInfo, padding: SpatialPadding): TensorInfo {
  const [[top, bottom], [left, right]] = padding;
  let out = x;
  if (top < 0 || bottom < 0 || left < 0 || right < 0) {
    const [n, h, w, c] = x.shape;
    const begin = [0, Math.max(0, -top), Math.max(0, -left), 0];
    const size = [n, h - begin[1] - Math.max(0, -bottom), w - begin[2] - Math.max(0, -right), c];
    out = call("Slice", { x: out }, { begin, size });
  }
  if (top > 0 || bottom > 0 || left > 0 || right > 0) {
    const paddings = [[0, 0], [Math.max(0, top), Math.max(0, bottom)], [
      Math.max(0, left),
      Math.max(0, right),
    ], [
      0,
      0,
    ]];
    out = call("PadV2", { x: out }, { paddings, constantValue: 0 });
  }
  return out;
}

/**
 * The input window a convolution actually reads: padded by the convolution's own padding and cropped so
 * that it holds exactly `(outHeight - 1) * strideHeight + effectiveFilterHeight` rows (and likewise columns).
 */
export function readWindow(call: KernelCall, x: TensorInfo, info: backend_util.Conv2DInfo): TensorInfo {
  const rows = (info.outHeight - 1) * info.strideHeight + info.effectiveFilterHeight;
  const cols = (info.outWidth - 1) * info.strideWidth + info.effectiveFilterWidth;
  const { top, left } = info.padInfo;
  return padOrCrop(call, x, [[top, rows - info.inHeight - top], [left, cols - info.inWidth - left]]);
}

/**
 * Lays out an output gradient `dy` for the input gradient computed as a stride-1 convolution with the
 * rotated filter: `stride - 1` zeros between neighbouring values, then the full-correlation padding that
 * makes the result exactly `inHeight x inWidth`.
 */
export function spreadOutputGradient(
  call: KernelCall,
  dy: TensorInfo,
  info: backend_util.Conv2DInfo,
): TensorInfo {
  const [n, outHeight, outWidth, channels] = dy.shape;
  const sh = info.strideHeight;
  const sw = info.strideWidth;
  let spread = dy;
  if (sh > 1 || sw > 1) {
    // Interleave zeros through a 6-d view: [n, oh, 1, ow, 1, c] padded to [n, oh, sh, ow, sw, c].
    const view = call("Reshape", { x: dy }, { shape: [n, outHeight, 1, outWidth, 1, channels] });
    const padded = call("PadV2", { x: view }, {
      paddings: [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]],
      constantValue: 0,
    });
    spread = call("Reshape", { x: padded }, { shape: [n, outHeight * sh, outWidth * sw, channels] });
  }
  // The spread tensor already ends with `stride - 1` zero rows/columns past the last value.
  const spreadRows = (outHeight - 1) * sh + 1;
  const spreadCols = (outWidth - 1) * sw + 1;
  const top = info.effectiveFilterHeight - 1 - info.padInfo.top;
  const left = info.effectiveFilterWidth - 1 - info.padInfo.left;
  const bottom = info.inHeight - spreadRows + info.padInfo.top - (sh - 1);
  const right = info.inWidth - spreadCols + info.padInfo.left - (sw - 1);
  return padOrCrop(call, spread, [[top, bottom], [left, right]]);
}
