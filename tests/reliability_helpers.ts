/**
 * Shared pieces of the reliability tests (hostile files, fuzzing, crash safety): fixture paths, tiny file
 * writers (a stored ZIP, a verification `.bin` pickle, gradient images) and the seeded mutations.
 */
import type { Pixels } from "../lib/data/pixels.ts";
import { crc32 } from "../lib/models/zip.ts";
import { Rng } from "../lib/util/random.ts";

/** The hostile corpus and the small valid files made by tests/fixtures/hostile/make_hostile.py. */
export const HOSTILE = new URL("./fixtures/hostile/", import.meta.url);

/** Path of a file of the hostile corpus. */
export function hostilePath(relative: string): string {
  return decodeURIComponent(new URL(relative, HOSTILE).pathname);
}

/** One entry of cases.json. */
export interface HostileCase {
  file: string;
  reader: "verification-bin" | "torch-state-dict" | "image" | "pgm";
  expect: "error" | "decode";
  what: string;
  error?: string;
  match?: string;
  marker?: string;
  pairs?: number;
  tensors?: number;
  width?: number;
  height?: number;
  rgb?: number[][];
  probes?: [number, number, number[], number?][];
  tolerance?: number;
  maxPixels?: number;
}

/** The corpus description. */
export interface HostileCorpus {
  tinyPth: Record<string, { shape: number[]; values: number[] }>;
  cases: HostileCase[];
}

/** Reads cases.json. */
export async function hostileCorpus(): Promise<HostileCorpus> {
  return JSON.parse(await Deno.readTextFile(hostilePath("cases.json")));
}

/** A ZIP archive with stored (uncompressed) entries, as `torch.save` writes. */
export function storedZip(entries: readonly { name: string; data: Uint8Array }[]): Uint8Array {
  const encoder = new TextEncoder();
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const entry of entries) {
    const name = encoder.encode(entry.name);
    const crc = crc32(entry.data);
    const local = new Uint8Array(30 + name.length);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(4, 20, true);
    lv.setUint32(14, crc, true);
    lv.setUint32(18, entry.data.length, true);
    lv.setUint32(22, entry.data.length, true);
    lv.setUint16(26, name.length, true);
    local.set(name, 30);
    const record = new Uint8Array(46 + name.length);
    const cv = new DataView(record.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(4, 20, true);
    cv.setUint16(6, 20, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, entry.data.length, true);
    cv.setUint32(24, entry.data.length, true);
    cv.setUint16(28, name.length, true);
    cv.setUint32(42, offset, true);
    record.set(name, 46);
    parts.push(local, entry.data);
    central.push(record);
    offset += local.length + entry.data.length;
  }
  const centralSize = central.reduce((n, c) => n + c.length, 0);
  const end = new Uint8Array(22);
  const ev = new DataView(end.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, entries.length, true);
  ev.setUint16(10, entries.length, true);
  ev.setUint32(12, centralSize, true);
  ev.setUint32(16, offset, true);
  return concat([...parts, ...central, end]);
}

/** Concatenates byte arrays. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** A protocol-4 pickle of `(images, issame)`, the layout of insightface's verification `.bin` files. */
export function verificationBinPickle(images: readonly Uint8Array[], issame: readonly boolean[]): Uint8Array {
  const parts: Uint8Array[] = [new Uint8Array([0x80, 4, 0x5d, 0x28])];
  for (const image of images) {
    const head = new Uint8Array(5);
    head[0] = 0x42; // BINBYTES
    new DataView(head.buffer).setUint32(1, image.length, true);
    parts.push(head, image);
  }
  parts.push(new Uint8Array([0x65, 0x5d, 0x28, ...issame.map((g) => (g ? 0x88 : 0x89)), 0x65, 0x86, 0x2e]));
  return concat(parts);
}

/** A `size`×`size` RGB pattern that differs per `seed` (not a face). */
export function patternPixels(size: number, seed: number): Pixels {
  const data = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const i = 3 * (y * size + x);
      data[i] = (x * 9 + seed * 37) % 256;
      data[i + 1] = (y * 7 + seed * 53) % 256;
      data[i + 2] = ((x ^ y) * 5 + seed * 11) % 256;
    }
  }
  return { width: size, height: size, channels: 3, data };
}

/** Interesting values for a corrupted length field. */
const LENGTH_VALUES = [0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff];

/** How a fuzz case was made, for messages. */
export interface Mutation {
  kind: "bitflip" | "insert" | "delete" | "truncate" | "length";
  detail: string;
  bytes: Uint8Array;
}

/**
 * One seeded random mutation of `input`: bit flips, byte insertion, deletion, truncation, or a length field
 * overwritten with an extreme value. `lengthFields` lists `[offset, width, littleEndian]` of the format's own
 * length fields (a random aligned position is used when none are given or by chance).
 */
export function mutate(
  rng: Rng,
  input: Uint8Array,
  lengthFields: readonly [number, number, boolean][] = [],
): Mutation {
  const bytes = input.slice();
  const kind = (["bitflip", "insert", "delete", "truncate", "length"] as const)[rng.int(0, 5)];
  const at = rng.int(0, Math.max(1, bytes.length));
  switch (kind) {
    case "bitflip": {
      const flips = 1 + rng.int(0, 8);
      const where: number[] = [];
      for (let k = 0; k < flips && bytes.length > 0; k++) {
        const p = rng.int(0, bytes.length);
        bytes[p] ^= 1 << rng.int(0, 8);
        where.push(p);
      }
      return { kind, detail: `bits at ${where.join(",")}`, bytes };
    }
    case "insert": {
      const extra = new Uint8Array(1 + rng.int(0, 16)).map(() => rng.int(0, 256));
      return {
        kind,
        detail: `${extra.length} bytes at ${at}`,
        bytes: concat([input.subarray(0, at), extra, input.subarray(at)]),
      };
    }
    case "delete": {
      const count = 1 + rng.int(0, 16);
      return {
        kind,
        detail: `${count} bytes at ${at}`,
        bytes: concat([input.subarray(0, at), input.subarray(at + count)]),
      };
    }
    case "truncate":
      return { kind, detail: `to ${at} bytes`, bytes: input.slice(0, at) };
    case "length": {
      const value = LENGTH_VALUES[rng.int(0, LENGTH_VALUES.length)] + (rng.chance(0.3) ? rng.int(-2, 3) : 0);
      let field: [number, number, boolean];
      if (lengthFields.length > 0 && rng.chance(0.8)) field = lengthFields[rng.int(0, lengthFields.length)];
      else field = [at & ~3, [1, 2, 4, 8][rng.int(0, 4)], rng.chance(0.5)];
      const [offset, width, little] = field;
      if (offset + width > bytes.length) return { kind, detail: "past the end (unchanged)", bytes };
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const v = value >>> 0;
      if (width === 1) bytes[offset] = v & 0xff;
      else if (width === 2) view.setUint16(offset, v & 0xffff, little);
      else if (width === 4) view.setUint32(offset, v, little);
      else view.setBigUint64(offset, BigInt(v) * (rng.chance(0.5) ? 1n : 1n << 31n), little);
      return { kind, detail: `${width}-byte field at ${offset} := ${value}`, bytes };
    }
  }
}

export { Rng };
