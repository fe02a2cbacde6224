/**
 * A small ZIP reader for checkpoint archives (PyTorch's `torch.save` writes an uncompressed ZIP): central
 * directory, ZIP64 sizes and offsets, stored and deflated entries (deflate through the runtime's
 * `DecompressionStream`), CRC-32 checked. Every problem is an error naming the archive and the entry.
 *
 * @module
 */
import { BadFileError } from "../util/errors.ts";

/**
 * A ZIP archive is truncated or malformed, or an entry is missing, corrupt or not what its header declares;
 * the message names the archive (and entry) and the problem.
 *
 * @example
 * ```ts
 * import { openZip, ZipError } from "./zip.ts";
 * try {
 *   openZip(new Uint8Array(10), "tiny.zip");
 * } catch (error) {
 *   console.log(error instanceof ZipError); // true
 * }
 * ```
 */
export class ZipError extends BadFileError {
  /**
   * Creates the error.
   *
   * @param source The archive.
   * @param reason What is wrong with it.
   * @param options The underlying error, if any.
   */
  constructor(source: string, reason: string, options?: { cause?: unknown }) {
    super(source, reason, options);
    this.name = "ZipError";
  }
}

/** One file inside a ZIP archive. */
export interface ZipEntry {
  /** Path inside the archive. */
  readonly name: string;
  /** 0 = stored, 8 = deflate. */
  readonly method: number;
  /** Bytes as stored. */
  readonly compressedSize: number;
  /** Bytes after decompression. */
  readonly size: number;
  /** CRC-32 of the uncompressed bytes. */
  readonly crc32: number;
  /** Offset of the entry's local header. */
  readonly localHeaderOffset: number;
}

/** An opened archive: its entries by name and a way to read each. */
export interface ZipArchive {
  /** Names the archive in errors. */
  readonly source: string;
  /** Every entry by path. */
  readonly entries: ReadonlyMap<string, ZipEntry>;
  /** The uncompressed bytes of `name` (a view into the archive for stored entries). */
  read(name: string): Promise<Uint8Array>;
}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

/**
 * Opens a ZIP archive held in memory.
 *
 * @param bytes The whole archive.
 * @param source Names the archive in errors (a file path).
 * @throws {ZipError} When the archive is truncated or malformed, naming `source`; its `read` throws
 *   {@linkcode ZipError} too.
 * @example
 * ```ts
 * import { openZip } from "./zip.ts";
 * // The smallest archive: an end-of-central-directory record with no entries.
 * const empty = new Uint8Array(22);
 * new DataView(empty.buffer).setUint32(0, 0x06054b50, true);
 * console.log(openZip(empty, "empty.zip").entries.size); // 0
 * ```
 */
export function openZip(bytes: Uint8Array, source: string): ZipArchive {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fail = (reason: string, cause?: unknown): never => {
    throw new ZipError(source, reason, { cause });
  };
  let eocd = -1;
  for (let p = bytes.length - 22; p >= Math.max(0, bytes.length - 22 - 65535); p--) {
    if (view.getUint32(p, true) === EOCD) {
      eocd = p;
      break;
    }
  }
  if (eocd < 0) fail("not a ZIP archive or truncated (no end-of-central-directory record)");
  let count = view.getUint16(eocd + 10, true);
  let cdSize = view.getUint32(eocd + 12, true);
  let cdOffset = view.getUint32(eocd + 16, true);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const locator = eocd - 20;
    if (locator < 0 || view.getUint32(locator, true) !== ZIP64_LOCATOR) fail("ZIP64 locator missing");
    const record = toNumber(view.getBigUint64(locator + 8, true), source);
    if (record + 56 > eocd || view.getUint32(record, true) !== ZIP64_EOCD) {
      fail("ZIP64 record missing");
    }
    count = toNumber(view.getBigUint64(record + 32, true), source);
    cdSize = toNumber(view.getBigUint64(record + 40, true), source);
    cdOffset = toNumber(view.getBigUint64(record + 48, true), source);
  }
  if (cdOffset + cdSize > eocd) {
    fail("truncated: the central directory lies beyond the end of the file");
  }
  const entries = new Map<string, ZipEntry>();
  let p = cdOffset;
  // Every central directory entry takes at least 46 bytes: a count beyond that is a lie, found before looping.
  if (count * 46 > cdSize) fail(`corrupt central directory: ${count} entries cannot fit in ${cdSize} bytes`);
  const cdEnd = cdOffset + cdSize;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cdEnd || view.getUint32(p, true) !== CENTRAL) {
      fail(`corrupt central directory entry ${i}`);
    }
    const method = view.getUint16(p + 10, true);
    const crc32 = view.getUint32(p + 16, true);
    let compressedSize = view.getUint32(p + 20, true);
    let size = view.getUint32(p + 24, true);
    const nameLength = view.getUint16(p + 28, true);
    const extraLength = view.getUint16(p + 30, true);
    const commentLength = view.getUint16(p + 32, true);
    let localHeaderOffset = view.getUint32(p + 42, true);
    if (p + 46 + nameLength + extraLength + commentLength > cdEnd) {
      fail(`corrupt central directory entry ${i}: its name and extra fields run past the directory`);
    }
    const name = new TextDecoder().decode(bytes.subarray(p + 46, p + 46 + nameLength));
    // ZIP64 extended information: 8-byte values for exactly the fields saturated at 0xffffffff, in order.
    let e = p + 46 + nameLength;
    const extraEnd = e + extraLength;
    while (e + 4 <= extraEnd) {
      const id = view.getUint16(e, true);
      const length = view.getUint16(e + 2, true);
      if (e + 4 + length > extraEnd) fail(`corrupt extra field in central directory entry ${i}`);
      if (id === 0x0001) {
        let q = e + 4;
        const next = () => {
          if (q + 8 > e + 4 + length) fail(`ZIP64 extra field of "${name}" is too short`);
          const value = toNumber(view.getBigUint64(q, true), source);
          q += 8;
          return value;
        };
        if (size === 0xffffffff) size = next();
        if (compressedSize === 0xffffffff) compressedSize = next();
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = next();
      }
      e += 4 + length;
    }
    entries.set(name, { name, method, compressedSize, size, crc32, localHeaderOffset });
    p = extraEnd + commentLength;
  }
  const read = async (name: string): Promise<Uint8Array> => {
    const entry = entries.get(name);
    if (entry == null) return fail(`no entry "${name}"`);
    const at = entry.localHeaderOffset;
    if (at + 30 > bytes.length || view.getUint32(at, true) !== LOCAL) {
      fail(`corrupt local header of "${name}"`);
    }
    const start = at + 30 + view.getUint16(at + 26, true) + view.getUint16(at + 28, true);
    const end = start + entry.compressedSize;
    if (end > bytes.length) fail(`truncated: entry "${name}" ends beyond the end of the file`);
    const stored = bytes.subarray(start, end);
    let data: Uint8Array;
    if (entry.method === 0) data = stored;
    else if (entry.method === 8) {
      data = await inflateRaw(
        stored,
        entry.size,
        (reason, cause) => fail(`entry "${name}" ${reason}`, cause),
      );
    } else data = fail(`entry "${name}" uses unsupported compression method ${entry.method}`);
    if (data.length !== entry.size) {
      fail(`entry "${name}" has ${data.length} bytes, expected ${entry.size}`);
    }
    if (crc32(data) !== entry.crc32) fail(`entry "${name}" is corrupt (CRC-32 mismatch)`);
    return data;
  };
  return { source, entries, read };
}

function toNumber(value: bigint, source: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new ZipError(source, "ZIP64 value too large");
  return Number(value);
}

/**
 * Inflates a raw deflate stream, stopping as soon as it yields more than the `expected` bytes its header
 * declares (a deflate bomb gets no further than that).
 */
async function inflateRaw(
  data: Uint8Array,
  expected: number,
  fail: (reason: string, cause?: unknown) => never,
): Promise<Uint8Array> {
  const reader = new Blob([data as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
    new DecompressionStream("deflate-raw"),
  ).getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > expected) {
        await reader.cancel().catch(() => {});
        return fail(`inflates to more than the ${expected} bytes its header declares`);
      }
      chunks.push(value);
    }
  } catch (error) {
    if (error instanceof ZipError) throw error;
    return fail(`is not valid deflate data (${error instanceof Error ? error.message : error})`, error);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

let crcTable: Uint32Array | undefined;

/**
 * CRC-32 (IEEE 802.3, as ZIP and PNG use).
 *
 * @example
 * ```ts
 * import { crc32 } from "./zip.ts";
 * console.log(crc32(new TextEncoder().encode("123456789")).toString(16)); // cbf43926
 * ```
 */
export function crc32(data: Uint8Array): number {
  if (crcTable == null) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = crcTable[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
