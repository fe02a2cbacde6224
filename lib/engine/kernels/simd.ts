/**
 * Small WebAssembly SIMD kernels that work directly on the wasm backend's memory, for the loops XNNPACK does
 * not offer: the transforms of Winograd's F(2x2, 3x3) convolution and the depthwise filter gradient.
 *
 * The module is assembled here, instruction by instruction (a few dozen opcodes of the WebAssembly 2.0 binary
 * format), so nothing needs compiling at install time. It imports the backend's own memory, so its
 * functions take plain heap addresses. All kernels vectorise over channels (4 per `f32x4`), which must be a
 * multiple of 4.
 *
 * @module
 */

const I32 = 0x7f;
const V128 = 0x7b;

function unsignedLeb(value: number): number[] {
  const bytes: number[] = [];
  do {
    let byte = value & 0x7f;
    value = Math.floor(value / 128);
    if (value !== 0) byte |= 0x80;
    bytes.push(byte);
  } while (value !== 0);
  return bytes;
}

function signedLeb(value: number): number[] {
  const bytes: number[] = [];
  let more = true;
  while (more) {
    let byte = value & 0x7f;
    value >>= 7;
    if ((value === 0 && (byte & 0x40) === 0) || (value === -1 && (byte & 0x40) !== 0)) more = false;
    else byte |= 0x80;
    bytes.push(byte);
  }
  return bytes;
}

function encodeName(name: string): number[] {
  const bytes = [...new TextEncoder().encode(name)];
  return [...unsignedLeb(bytes.length), ...bytes];
}

/** Builds one function body: `i32` parameters, typed locals and a stream of instructions. */
class FunctionBuilder {
  readonly code: number[] = [];
  readonly localTypes: number[] = [];

  constructor(readonly name: string, readonly paramCount: number) {}

  /** A new local of `type`; returns its index. */
  local(type: number): number {
    this.localTypes.push(type);
    return this.paramCount + this.localTypes.length - 1;
  }

  get(index: number): this {
    return this.op(0x20, ...unsignedLeb(index));
  }

  set(index: number): this {
    return this.op(0x21, ...unsignedLeb(index));
  }

  i32(value: number): this {
    return this.op(0x41, ...signedLeb(value | 0));
  }

  add(): this {
    return this.op(0x6a);
  }

  mul(): this {
    return this.op(0x6c);
  }

  /** `local = local + value` for an `i32` local. */
  increment(index: number, value: number | { local: number }): this {
    this.get(index);
    if (typeof value === "number") this.i32(value);
    else this.get(value.local);
    return this.add().set(index);
  }

  /** `if (cond) body()` with the condition already on the stack. */
  when(body: () => void): this {
    this.op(0x04, 0x40);
    body();
    return this.op(0x0b);
  }

  /** `i32.lt_u`: `0 ≤ a < b` for a signed `a` and a non-negative `b`. */
  below(): this {
    return this.op(0x49);
  }

  /** `local = a · b` from two locals. */
  product(target: number, a: number, b: number): this {
    return this.get(a).get(b).mul().set(target);
  }

  /** Pushes `address + offset` (locals), ready for a load or store. */
  address(base: number, offset?: number): this {
    this.get(base);
    if (offset !== undefined) this.get(offset).add();
    return this;
  }

  /** `v128.load` from the address on the stack. */
  load(): this {
    return this.op(0xfd, ...unsignedLeb(0x00), 2, 0);
  }

  /** `v128.store` of the value on the stack to the address below it. */
  store(): this {
    return this.op(0xfd, ...unsignedLeb(0x0b), 2, 0);
  }

  f32x4(operation: "add" | "sub" | "mul" | "min" | "gt"): this {
    const code = { add: 0xe4, sub: 0xe5, mul: 0xe6, min: 0xe8, gt: 0x44 }[operation];
    return this.op(0xfd, ...unsignedLeb(code));
  }

  /** `v128.and` of the two vectors on the stack. */
  and(): this {
    return this.op(0xfd, ...unsignedLeb(0x4e));
  }

  /** `f32x4.splat` of an `f32` constant. */
  splat(value: number): this {
    const bytes = new Uint8Array(new Float32Array([value]).buffer);
    return this.op(0x43, ...bytes).op(0xfd, ...unsignedLeb(0x13));
  }

  /** `for (counter = 0; counter < limit; counter += step) body()` with `limit` a local. */
  loop(counter: number, limit: number, step: number, body: () => void): this {
    this.i32(0).set(counter);
    this.op(0x02, 0x40); // block
    this.op(0x03, 0x40); // loop
    this.get(counter).get(limit).op(0x48).op(0x45).op(0x0d, 1); // if !(counter < limit) break
    body();
    this.increment(counter, step);
    this.op(0x0c, 0); // continue
    this.op(0x0b).op(0x0b); // end loop, end block
    return this;
  }

  op(...bytes: number[]): this {
    this.code.push(...bytes);
    return this;
  }

  /** The function's body in the binary format: locals, code, `end`. */
  body(): number[] {
    const groups = this.localTypes.map((type) => [1, type]);
    const bytes = [...unsignedLeb(groups.length), ...groups.flat(), ...this.code, 0x0b];
    return [...unsignedLeb(bytes.length), ...bytes];
  }
}

/** A module importing `env.memory` and exporting the given functions (all `(i32 …) → ()`). */
function assemble(functions: FunctionBuilder[], shared: boolean): Uint8Array<ArrayBuffer> {
  const section = (id: number, content: number[]) => [id, ...unsignedLeb(content.length), ...content];
  const vector = (items: number[][]) => [...unsignedLeb(items.length), ...items.flat()];
  const types = functions.map((
    f,
  ) => [0x60, ...unsignedLeb(f.paramCount), ...new Array(f.paramCount).fill(I32), 0]);
  // Shared memory must declare a maximum; 65536 pages is the 4 GiB any wasm32 memory can reach.
  const limits = shared ? [0x03, 0, ...unsignedLeb(65536)] : [0x00, 0];
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, vector(types)),
    ...section(2, vector([[...encodeName("env"), ...encodeName("memory"), 0x02, ...limits]])),
    ...section(3, vector(functions.map((_, i) => unsignedLeb(i)))),
    ...section(7, vector(functions.map((f, i) => [...encodeName(f.name), 0x00, ...unsignedLeb(i)]))),
    ...section(10, vector(functions.map((f) => f.body()))),
  ]);
}

/**
 * `winogradInput(x, rowBytes, images, tilesH, tilesW, channels, v0 … v15)`: for every 2x2 output tile of a
 * stride-1 3x3 convolution, the input transform `Bᵀ·d·B` of its 4x4 input patch `d`, written to the 16
 * matrices `v_k[tile, c]` (`k = 4ξ + ν`). `x` is the input already padded so that every patch lies inside it
 * (`[images, 2·tilesH + 2, 2·tilesW + 2, channels]`); `rowBytes` is the byte length of one padded row.
 */
function winogradInput(): FunctionBuilder {
  const f = new FunctionBuilder("winogradInput", 22);
  const [x, rowBytes, images, tilesH, tilesW, channels] = [0, 1, 2, 3, 4, 5];
  const v = Array.from({ length: 16 }, (_, k) => 6 + k);
  const [image, ty, tx, c, colBytes, cursor, out, rowStart, imageBytes] = [
    I32,
    I32,
    I32,
    I32,
    I32,
    I32,
    I32,
    I32,
    I32,
  ]
    .map((t) => f.local(t));
  const column = [f.local(I32), f.local(I32), f.local(I32)]; // 1, 2, 3 columns to the right, in bytes
  const row = [f.local(I32), f.local(I32), f.local(I32), f.local(I32)];
  const d = [f.local(V128), f.local(V128), f.local(V128), f.local(V128)];
  const t = Array.from({ length: 16 }, () => f.local(V128));
  f.get(channels).i32(4).mul().set(colBytes);
  for (let j = 0; j < 3; j++) f.get(colBytes).i32(j + 1).mul().set(column[j]);
  // One padded image: (2·tilesH + 2) rows.
  f.get(tilesH).i32(2).mul().i32(2).add().get(rowBytes).mul().set(imageBytes);
  f.i32(0).set(out);
  f.loop(image, images, 1, () => {
    f.loop(ty, tilesH, 1, () => {
      // Top-left of the tile row: x + image·imageBytes + 2·ty·rowBytes.
      f.get(x).get(image).get(imageBytes).mul().add().get(ty).i32(2).mul().get(rowBytes).mul().add().set(
        rowStart,
      );
      f.loop(tx, tilesW, 1, () => {
        f.get(rowStart).get(tx).i32(2).mul().get(colBytes).mul().add().set(cursor);
        f.loop(c, channels, 4, () => {
          for (let i = 0; i < 4; i++) f.get(cursor).get(rowBytes).i32(i).mul().add().set(row[i]);
          for (let j = 0; j < 4; j++) {
            for (let i = 0; i < 4; i++) {
              f.get(row[i]);
              if (j > 0) f.get(column[j - 1]).add();
              f.load().set(d[i]);
            }
            // Bᵀ·d down the column: d0 − d2, d1 + d2, d2 − d1, d1 − d3.
            f.get(d[0]).get(d[2]).f32x4("sub").set(t[0 * 4 + j]);
            f.get(d[1]).get(d[2]).f32x4("add").set(t[1 * 4 + j]);
            f.get(d[2]).get(d[1]).f32x4("sub").set(t[2 * 4 + j]);
            f.get(d[1]).get(d[3]).f32x4("sub").set(t[3 * 4 + j]);
          }
          // ·B along each row, stored to v[4ξ + ν] at out (bytes from each matrix's start).
          for (let xi = 0; xi < 4; xi++) {
            const [t0, t1, t2, t3] = [0, 1, 2, 3].map((j) => t[xi * 4 + j]);
            const outputs: [number, number, "add" | "sub"][] = [[t0, t2, "sub"], [t1, t2, "add"], [
              t2,
              t1,
              "sub",
            ], [
              t1,
              t3,
              "sub",
            ]];
            outputs.forEach(([a, b, operation], nu) => {
              f.address(v[xi * 4 + nu], out).get(a).get(b).f32x4(operation).store();
            });
          }
          f.increment(cursor, 16).increment(out, 16);
        });
      });
    });
  });
  return f;
}

/**
 * `winogradOutput(y, rowBytes, images, tilesH, tilesW, channels, m0 … m15)`: the output transform `Aᵀ·M·A`
 * of every tile's 16 products `m_k[tile, c]`, written as 2x2 pixels to `y` (`[images, 2·tilesH, 2·tilesW,
 * channels]`, `rowBytes` per row).
 */
function winogradOutput(): FunctionBuilder {
  const f = new FunctionBuilder("winogradOutput", 22);
  const [y, rowBytes, images, tilesH, tilesW, channels] = [0, 1, 2, 3, 4, 5];
  const m = Array.from({ length: 16 }, (_, k) => 6 + k);
  const [image, ty, tx, c, colBytes, cursor, input, rowStart, imageBytes, below] = Array.from(
    { length: 10 },
    () => f.local(I32),
  );
  const values = [f.local(V128), f.local(V128), f.local(V128), f.local(V128)];
  const s = Array.from({ length: 8 }, () => f.local(V128));
  const [r0, r1] = [f.local(V128), f.local(V128)];
  f.get(channels).i32(4).mul().set(colBytes);
  f.get(tilesH).i32(2).mul().get(rowBytes).mul().set(imageBytes);
  f.i32(0).set(input);
  f.loop(image, images, 1, () => {
    f.loop(ty, tilesH, 1, () => {
      f.get(y).get(image).get(imageBytes).mul().add().get(ty).i32(2).mul().get(rowBytes).mul().add().set(
        rowStart,
      );
      f.loop(tx, tilesW, 1, () => {
        f.get(rowStart).get(tx).i32(2).mul().get(colBytes).mul().add().set(cursor);
        f.loop(c, channels, 4, () => {
          // Aᵀ·M down each column j: s0 = m0 + m1 + m2, s1 = m1 − m2 − m3 (rows of M are k = 4i + j).
          for (let j = 0; j < 4; j++) {
            for (let i = 0; i < 4; i++) f.address(m[i * 4 + j], input).load().set(values[i]);
            f.get(values[0]).get(values[1]).f32x4("add").get(values[2]).f32x4("add").set(s[j]);
            f.get(values[1]).get(values[2]).f32x4("sub").get(values[3]).f32x4("sub").set(s[4 + j]);
          }
          // ·A along each row a: y0 = s0 + s1 + s2, y1 = s1 − s2 − s3.
          f.get(cursor).get(rowBytes).add().set(below);
          for (let a = 0; a < 2; a++) {
            const [s0, s1, s2, s3] = [0, 1, 2, 3].map((j) => s[a * 4 + j]);
            f.get(s0).get(s1).f32x4("add").get(s2).f32x4("add").set(r0);
            f.get(s1).get(s2).f32x4("sub").get(s3).f32x4("sub").set(r1);
            const pixel = a === 0 ? cursor : below;
            f.get(pixel).get(r0).store();
            f.address(pixel, colBytes).get(r1).store();
          }
          f.increment(cursor, 16).increment(input, 16);
        });
      });
    });
  });
  return f;
}

/**
 * `winogradFilter(g, count, u0 … u15)`: the filter transform `G·g·Gᵀ` of 3x3 filters stored `[3, 3, count]`
 * (`count = in·out` channels, a multiple of 4), written to the 16 matrices `u_k[count]`.
 */
function winogradFilter(): FunctionBuilder {
  const f = new FunctionBuilder("winogradFilter", 18);
  const [g, count] = [0, 1];
  const u = Array.from({ length: 16 }, (_, k) => 2 + k);
  const [e, offset, tapBytes] = [f.local(I32), f.local(I32), f.local(I32)];
  const taps = Array.from({ length: 9 }, () => f.local(V128));
  const t = Array.from({ length: 12 }, () => f.local(V128));
  const [half] = [f.local(V128)];
  const [a, b] = [f.local(V128), f.local(V128)];
  f.get(count).i32(4).mul().set(tapBytes);
  f.splat(0.5).set(half);
  f.i32(0).set(offset);
  // G rows: g0; (g0 + g1 + g2)/2; (g0 − g1 + g2)/2; g2.
  const transform = (g0: number, g1: number, g2: number, store: (row: number, emit: () => void) => void) => {
    store(0, () => f.get(g0));
    f.get(g0).get(g2).f32x4("add").set(a);
    store(1, () => f.get(a).get(g1).f32x4("add").get(half).f32x4("mul"));
    store(2, () => f.get(a).get(g1).f32x4("sub").get(half).f32x4("mul"));
    store(3, () => f.get(g2));
  };
  f.loop(e, count, 4, () => {
    for (let k = 0; k < 9; k++) {
      f.get(g).get(offset).add();
      if (k > 0) f.get(tapBytes).i32(k).mul().add();
      f.load().set(taps[k]);
    }
    // G·g down each column kw → t[ξ][kw].
    for (let kw = 0; kw < 3; kw++) {
      transform(taps[kw], taps[3 + kw], taps[6 + kw], (xi, emit) => {
        emit();
        f.set(t[xi * 3 + kw]);
      });
    }
    // ·Gᵀ along each row ξ → u[4ξ + ν].
    for (let xi = 0; xi < 4; xi++) {
      transform(t[xi * 3], t[xi * 3 + 1], t[xi * 3 + 2], (nu, emit) => {
        emit();
        f.set(b);
        f.address(u[xi * 4 + nu], offset).get(b).store();
      });
    }
    f.increment(offset, 16);
  });
  return f;
}

/**
 * `depthwiseFilterGradient(x, dy, sums, inH, inW, channels, outH, outW, strideH, strideW, top, left, filterH,
 * filterW, dilationH, dilationW)` for one image and channel multiplier 1: adds
 * `x[i·sh + kh·dh − top, j·sw + kw·dw − left, c] · dy[i, j, c]` into the float32 `sums[kh, kw, c]`.
 */
function depthwiseFilterGradient(): FunctionBuilder {
  const f = new FunctionBuilder("depthwiseFilterGradient", 16);
  const [
    x,
    dy,
    sums,
    inH,
    inW,
    channels,
    outH,
    outW,
    strideH,
    strideW,
    top,
    left,
    filterH,
    filterW,
    dilationH,
    dilationW,
  ] = Array.from({ length: 16 }, (_, i) => i);
  const [i, j, kh, kw, c, row, col, px, pd, pa, rowBytes, tapBytes] = Array.from(
    { length: 12 },
    () => f.local(I32),
  );
  f.get(channels).i32(4).mul().set(tapBytes);
  f.get(inW).get(tapBytes).mul().set(rowBytes);
  f.loop(i, outH, 1, () => {
    f.loop(kh, filterH, 1, () => {
      // row = i·sh + kh·dh − top
      f.get(i).get(strideH).mul().get(kh).get(dilationH).mul().add().get(top).op(0x6b).set(row);
      f.get(row).get(inH).below().when(() => {
        f.loop(j, outW, 1, () => {
          f.loop(kw, filterW, 1, () => {
            f.get(j).get(strideW).mul().get(kw).get(dilationW).mul().add().get(left).op(0x6b).set(col);
            f.get(col).get(inW).below().when(() => {
              f.get(x).get(row).get(rowBytes).mul().add().get(col).get(tapBytes).mul().add().set(px);
              f.get(dy).get(i).get(outW).mul().get(j).add().get(tapBytes).mul().add().set(pd);
              f.get(sums).get(kh).get(filterW).mul().get(kw).add().get(tapBytes).mul().add().set(pa);
              f.loop(c, channels, 4, () => {
                f.get(pa).get(pa).load().get(px).load().get(pd).load().f32x4("mul").f32x4("add").store();
                f.increment(px, 16).increment(pd, 16).increment(pa, 16);
              });
            });
          });
        });
      });
    });
  });
  return f;
}

/**
 * `channelMoments(y, x, shiftY, shiftX, rows, channels, s1, s2)`: per channel of `[rows, channels]` data,
 * `s1[c] += Σ (y − shiftY[c])` and `s2[c] += Σ (y − shiftY[c]) · (x − shiftX[c])` (float32 accumulators:
 * callers shift by values close to the mean, keep `rows` to a few hundred and gather blocks in float64).
 */
function channelMoments(): FunctionBuilder {
  const f = new FunctionBuilder("channelMoments", 8);
  const [y, x, shiftY, shiftX, rows, channels, s1, s2] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [r, c, py, px, psy, psx, p1, p2] = Array.from({ length: 8 }, () => f.local(I32));
  const value = f.local(V128);
  f.get(y).set(py).get(x).set(px);
  f.loop(r, rows, 1, () => {
    f.get(shiftY).set(psy).get(shiftX).set(psx).get(s1).set(p1).get(s2).set(p2);
    f.loop(c, channels, 4, () => {
      f.get(py).load().get(psy).load().f32x4("sub").set(value);
      f.get(p1).get(p1).load().get(value).f32x4("add").store();
      f.get(p2).get(p2).load().get(value).get(px).load().get(psx).load().f32x4("sub").f32x4("mul").f32x4(
        "add",
      )
        .store();
      for (const pointer of [py, px, psy, psx, p1, p2]) f.increment(pointer, 16);
    });
  });
  return f;
}

/**
 * `channelAffine(out, rows, channels, a, u, b, v, c)`: per channel of `[rows, channels]` data,
 * `out = a[c]·u + b[c]·v + c[c]` (`v` and `b` may be 0 for `out = a·u + c`).
 */
function channelAffine(): FunctionBuilder {
  const f = new FunctionBuilder("channelAffine", 8);
  const [out, rows, channels, a, u, b, v, cc] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [r, c, po, pu, pv, pa, pb, pc] = Array.from({ length: 8 }, () => f.local(I32));
  const sum = f.local(V128);
  f.get(out).set(po).get(u).set(pu).get(v).set(pv);
  f.loop(r, rows, 1, () => {
    f.get(a).set(pa).get(b).set(pb).get(cc).set(pc);
    f.loop(c, channels, 4, () => {
      f.get(pa).load().get(pu).load().f32x4("mul").get(pc).load().f32x4("add").set(sum);
      f.get(v).i32(0).op(0x47).when(() => { // v != 0
        f.get(sum).get(pb).load().get(pv).load().f32x4("mul").f32x4("add").set(sum);
      });
      f.get(po).get(sum).store();
      for (const pointer of [po, pu, pv, pa, pb, pc]) f.increment(pointer, 16);
    });
  });
  return f;
}

/**
 * `preluBackward(dy, x, alpha, rows, channels, dx, sums)`: per channel of `[rows, channels]` data,
 * `dx = dy · (x > 0 ? 1 : α[c])` and `sums[c] += Σ dy · min(x, 0)` (float32 accumulators, as
 * `channelMoments`).
 */
function preluBackward(): FunctionBuilder {
  const f = new FunctionBuilder("preluBackward", 7);
  const [dy, x, alpha, rows, channels, dx, sums] = [0, 1, 2, 3, 4, 5, 6];
  const [r, c, pd, px, pa, po, ps] = Array.from({ length: 7 }, () => f.local(I32));
  const [zero, one, xs, g, slope] = Array.from({ length: 5 }, () => f.local(V128));
  f.splat(0).set(zero).splat(1).set(one);
  f.get(dy).set(pd).get(x).set(px).get(dx).set(po);
  f.loop(r, rows, 1, () => {
    f.get(alpha).set(pa).get(sums).set(ps);
    f.loop(c, channels, 4, () => {
      f.get(px).load().set(xs);
      f.get(pd).load().set(g);
      // slope = α + (1 − α)·[x > 0]
      f.get(pa).load().get(one).get(pa).load().f32x4("sub").get(xs).get(zero).f32x4("gt").get(one).and()
        .f32x4("mul").f32x4("add").set(slope);
      f.get(po).get(g).get(slope).f32x4("mul").store();
      f.get(ps).get(ps).load().get(g).get(xs).get(zero).f32x4("min").f32x4("mul").f32x4("add").store();
      for (const pointer of [pd, px, pa, po, ps]) f.increment(pointer, 16);
    });
  });
  return f;
}

/** The SIMD kernels, bound to one memory. */
export interface SimdKernels {
  /** See the module documentation of `winogradInput`. */
  winogradInput(
    x: number,
    rowBytes: number,
    images: number,
    tilesH: number,
    tilesW: number,
    channels: number,
    ...v: number[]
  ): void;
  /** See the module documentation of `winogradOutput`. */
  winogradOutput(
    y: number,
    rowBytes: number,
    images: number,
    tilesH: number,
    tilesW: number,
    channels: number,
    ...m: number[]
  ): void;
  /** See the module documentation of `winogradFilter`. */
  winogradFilter(g: number, count: number, ...u: number[]): void;
  /** See `depthwiseFilterGradient` in the module source. */
  depthwiseFilterGradient(x: number, dy: number, sums: number, ...geometry: number[]): void;
  /** See `channelMoments` in the module source. */
  channelMoments(
    y: number,
    x: number,
    shiftY: number,
    shiftX: number,
    rows: number,
    channels: number,
    s1: number,
    s2: number,
  ): void;
  /** See `preluBackward` in the module source. */
  preluBackward(
    dy: number,
    x: number,
    alpha: number,
    rows: number,
    channels: number,
    dx: number,
    sums: number,
  ): void;
  /** See `channelAffine` in the module source. */
  channelAffine(
    out: number,
    rows: number,
    channels: number,
    a: number,
    u: number,
    b: number,
    v: number,
    c: number,
  ): void;
}

const instances = new WeakMap<WebAssembly.Memory, SimdKernels | null>();

/**
 * The SIMD kernels working on `memory`, or null where this runtime cannot instantiate them (no SIMD).
 *
 * @example
 * ```ts
 * import { simdKernels } from "./simd.ts";
 * const memory = new WebAssembly.Memory({ initial: 1 });
 * const kernels = simdKernels(memory);
 * const heap = new Float32Array(memory.buffer);
 * heap.set([1, 2, 3, 4, 5, 6, 7, 8, 9].flatMap((v) => [v, v, v, v])); // a 3x3 filter, 4 channels
 * kernels?.winogradFilter(0, 4, ...Array.from({ length: 16 }, (_, k) => 256 + 16 * k));
 * console.log(heap[64]); // u0 = g[0][0] = 1
 * ```
 */
export function simdKernels(memory: WebAssembly.Memory): SimdKernels | null {
  if (instances.has(memory)) return instances.get(memory)!;
  let kernels: SimdKernels | null = null;
  try {
    const shared = typeof SharedArrayBuffer !== "undefined" && memory.buffer instanceof SharedArrayBuffer;
    const module = new WebAssembly.Module(
      assemble([
        winogradInput(),
        winogradOutput(),
        winogradFilter(),
        depthwiseFilterGradient(),
        channelMoments(),
        channelAffine(),
        preluBackward(),
      ], shared),
    );
    const instance = new WebAssembly.Instance(module, { env: { memory } });
    kernels = instance.exports as unknown as SimdKernels;
  } catch {
    kernels = null;
  }
  instances.set(memory, kernels);
  return kernels;
}
