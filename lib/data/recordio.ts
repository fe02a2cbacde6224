/**
 * MXNet RecordIO, the container of insightface's training sets (`faces_emore` = MS1MV2, Glint360K, …):
 * `train.rec` (records), `train.idx` (text lines `key<TAB>byte offset`) and `property` (`classes,h,w`).
 *
 * Format (dmlc-core `recordio.h`): each part of a record is `magic 0xced7230a` (uint32 LE), a length word
 * whose top 3 bits are the continuation flag `cflag` and lower 29 bits the part's length, the part's bytes,
 * and zero padding to a multiple of 4. A record whose payload contains the magic word at a 4-byte-aligned
 * position is split there: parts carry cflag 1 (first), 2 (middle), 3 (last), and the reader puts the magic
 * back between them; cflag 0 is a whole record. A record's payload starts with an IRHeader `<IfQQ`
 * (flag uint32, label float32, id uint64, id2 uint64); when `flag > 0`, `flag` float32 labels follow it.
 * In insightface's files, record 0 is a header with `flag > 0` whose `label[0]` is one past the last image
 * key (images are keys `1 … label[0] − 1`), followed by per-identity records.
 *
 * Everything is read lazily with seek + read, so a multi-gigabyte `.rec` never sits in memory.
 *
 * @module
 */
import type { LabelledSample, TrainingSource } from "./types.ts";
import { writeFileAtomic, writeTextFileAtomic } from "../util/atomic.ts";
import { BadFileError } from "../util/errors.ts";

/**
 * A RecordIO file (`.rec`, `.idx`, `property`) is missing, truncated or malformed, or a record is not what it
 * declares; the message names the file (and record) and the problem.
 *
 * @example
 * ```ts
 * import { RecordIOError, unpackRecord } from "./recordio.ts";
 * try {
 *   unpackRecord(new Uint8Array(3), "train.rec#5");
 * } catch (error) {
 *   console.log(error instanceof RecordIOError); // true
 * }
 * ```
 */
export class RecordIOError extends BadFileError {
  /**
   * Creates the error.
   *
   * @param source The file or record.
   * @param reason What is wrong with it.
   * @param options The underlying error, if any.
   */
  constructor(source: string, reason: string, options?: { cause?: unknown }) {
    super(source, reason, options);
    this.name = "RecordIOError";
  }
}

/**
 * The magic word that starts every record part.
 *
 * @example
 * ```ts
 * import { RECORDIO_MAGIC } from "./recordio.ts";
 * console.log(RECORDIO_MAGIC.toString(16)); // "ced7230a"
 * ```
 */
export const RECORDIO_MAGIC = 0xced7230a;

/**
 * Byte size of the fixed IRHeader `<IfQQ`.
 *
 * @example
 * ```ts
 * import { IRHEADER_SIZE } from "./recordio.ts";
 * console.log(IRHEADER_SIZE); // 24
 * ```
 */
export const IRHEADER_SIZE = 24;

const LENGTH_MASK = (1 << 29) - 1;

/** The header insightface (MXNet `recordio.pack`) puts in front of every payload. */
export interface IRHeader {
  /** 0 for a single float label; `n > 0` for `n` float labels following the header. */
  readonly flag: number;
  /** The label: one number when `flag` is 0, otherwise the `flag` labels. */
  readonly label: number | Float32Array;
  /** Record id (uint64, exact up to 2^53). */
  readonly id: number;
  /** Second id (uint64, exact up to 2^53). */
  readonly id2: number;
}

/** A record's header and the bytes after it (for images: the encoded JPEG/PNG). */
export interface UnpackedRecord {
  /** The decoded IRHeader. */
  readonly header: IRHeader;
  /** The bytes after the header and its labels (a view into the record). */
  readonly payload: Uint8Array;
}

/**
 * Splits a record into its IRHeader and payload (MXNet's `recordio.unpack`).
 *
 * @param record The record bytes (as returned by {@linkcode RecordIOFile.read}).
 * @param source Names the record in errors.
 * @throws {RecordIOError} When the record is shorter than its header or its declared labels.
 * @example
 * ```ts
 * import { packRecord, unpackRecord } from "./recordio.ts";
 * const record = packRecord({ flag: 0, label: 7, id: 1, id2: 0 }, new Uint8Array([1, 2]));
 * console.log(unpackRecord(record, "inline").header.label); // 7
 * ```
 */
export function unpackRecord(record: Uint8Array, source: string): UnpackedRecord {
  if (record.length < IRHEADER_SIZE) {
    throw new RecordIOError(source, `record of ${record.length} bytes is shorter than its 24-byte IRHeader`);
  }
  const view = new DataView(record.buffer, record.byteOffset, record.byteLength);
  const flag = view.getUint32(0, true);
  const id = Number(view.getBigUint64(8, true));
  const id2 = Number(view.getBigUint64(16, true));
  if (flag === 0) {
    return {
      header: { flag, label: view.getFloat32(4, true), id, id2 },
      payload: record.subarray(IRHEADER_SIZE),
    };
  }
  const end = IRHEADER_SIZE + 4 * flag;
  if (end > record.length) {
    throw new RecordIOError(
      source,
      `IRHeader declares ${flag} labels (${4 * flag} bytes) but the record has only ` +
        `${record.length - IRHEADER_SIZE} bytes after its header`,
    );
  }
  const label = new Float32Array(flag);
  for (let i = 0; i < flag; i++) label[i] = view.getFloat32(IRHEADER_SIZE + 4 * i, true);
  return { header: { flag, label, id, id2 }, payload: record.subarray(end) };
}

/**
 * Builds a record from an IRHeader and a payload (MXNet's `recordio.pack`); the flag is taken from the
 * label: a number gives flag 0, an array of `n` labels gives flag `n`.
 *
 * @example
 * ```ts
 * import { packRecord } from "./recordio.ts";
 * console.log(packRecord({ flag: 0, label: [3, 4], id: 0, id2: 0 }, new Uint8Array()).length); // 32
 * ```
 */
export function packRecord(
  header: {
    readonly flag?: number;
    readonly label: number | ArrayLike<number>;
    readonly id: number;
    readonly id2?: number;
  },
  payload: Uint8Array,
): Uint8Array {
  const labels = typeof header.label === "number" ? null : Array.from(header.label);
  const flag = labels ? labels.length : 0;
  const out = new Uint8Array(IRHEADER_SIZE + 4 * flag + payload.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, flag, true);
  view.setFloat32(4, labels ? 0 : (header.label as number), true);
  view.setBigUint64(8, BigInt(header.id), true);
  view.setBigUint64(16, BigInt(header.id2 ?? 0), true);
  labels?.forEach((value, i) => view.setFloat32(IRHEADER_SIZE + 4 * i, value, true));
  out.set(payload, IRHEADER_SIZE + 4 * flag);
  return out;
}

/**
 * Encodes records as a RecordIO byte stream exactly as dmlc-core's writer does (splitting a record wherever
 * its payload holds the magic word at a 4-byte-aligned position, zero padding to 4 bytes).
 *
 * @param records Record payloads (e.g. from {@linkcode packRecord}).
 * @returns The stream and each record's start offset (for a `.idx`).
 * @example
 * ```ts
 * import { encodeRecordIO } from "./recordio.ts";
 * const { bytes, offsets } = encodeRecordIO([new Uint8Array([1, 2, 3])]);
 * console.log(bytes.length, offsets); // 12 [ 0 ]
 * ```
 */
export function encodeRecordIO(records: readonly Uint8Array[]): { bytes: Uint8Array; offsets: number[] } {
  const chunks: Uint8Array[] = [];
  const offsets: number[] = [];
  let size = 0;
  const part = (cflag: number, data: Uint8Array) => {
    const padded = (data.length + 3) & ~3;
    const chunk = new Uint8Array(8 + padded);
    const view = new DataView(chunk.buffer);
    view.setUint32(0, RECORDIO_MAGIC, true);
    view.setUint32(4, ((cflag << 29) | data.length) >>> 0, true);
    chunk.set(data, 8);
    chunks.push(chunk);
    size += chunk.length;
  };
  for (const record of records) {
    if (record.length > LENGTH_MASK) throw new RangeError(`a RecordIO record must be below 2^29 bytes`);
    offsets.push(size);
    const view = new DataView(record.buffer, record.byteOffset, record.byteLength);
    let start = 0;
    for (let i = 0; i + 4 <= record.length; i += 4) {
      if (view.getUint32(i, true) === RECORDIO_MAGIC) {
        part(start === 0 ? 1 : 2, record.subarray(start, i));
        start = i + 4;
      }
    }
    part(start === 0 ? 0 : 3, record.subarray(start));
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.length;
  }
  return { bytes, offsets };
}

/**
 * Writes a small RecordIO set (`.rec`, `.idx` with keys 0…n−1, and optionally `property`) atomically.
 * Meant for fixtures and exports that fit in memory.
 *
 * @example
 * ```ts
 * import { packRecord, writeRecordIO } from "./recordio.ts";
 * const dir = await Deno.makeTempDir();
 * await writeRecordIO(`${dir}/train`, [packRecord({ label: 0, id: 0 }, new Uint8Array(4))]);
 * ```
 */
export async function writeRecordIO(
  pathWithoutExtension: string,
  records: readonly Uint8Array[],
): Promise<void> {
  const { bytes, offsets } = encodeRecordIO(records);
  await writeFileAtomic(`${pathWithoutExtension}.rec`, bytes);
  await writeTextFileAtomic(`${pathWithoutExtension}.idx`, offsets.map((o, i) => `${i}\t${o}\n`).join(""));
}

/**
 * Random access to the records of a `.rec` file by byte offset, reading only what is asked for.
 *
 * @example
 * ```ts
 * import { encodeRecordIO, RecordIOFile } from "./recordio.ts";
 * const path = `${await Deno.makeTempDir()}/a.rec`;
 * await Deno.writeFile(path, encodeRecordIO([new Uint8Array([9, 9])]).bytes);
 * const file = await RecordIOFile.open(path);
 * console.log((await file.read(0)).record); // Uint8Array(2) [ 9, 9 ]
 * file.close();
 * ```
 */
export class RecordIOFile {
  /** Path of the `.rec` file. */
  readonly path: string;
  /** Size of the file in bytes. */
  readonly size: number;
  readonly #file: Deno.FsFile;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(path: string, file: Deno.FsFile, size: number) {
    this.path = path;
    this.#file = file;
    this.size = size;
  }

  /**
   * Opens a `.rec` file.
   *
   * @throws {RecordIOError} Naming the file when it is missing or unreadable.
   */
  static async open(path: string): Promise<RecordIOFile> {
    let file: Deno.FsFile;
    try {
      file = await Deno.open(path, { read: true });
    } catch (error) {
      const reason = error instanceof Deno.errors.NotFound ? "file not found" : String(error);
      throw new RecordIOError(path, `cannot open RecordIO file (${reason})`, { cause: error });
    }
    const { size } = await file.stat();
    return new RecordIOFile(path, file, size);
  }

  /** Closes the file. */
  close(): void {
    this.#file.close();
  }

  /**
   * Reads the record starting at byte `offset`, joining split parts.
   *
   * @returns The record bytes and the offset just past it (the next record's start).
   * @throws {RecordIOError} Naming the file and offset for a bad magic word, a length beyond the end of the file,
   *   a truncated record, or an offset inside a split record.
   */
  read(offset: number): Promise<{ record: Uint8Array; next: number }> {
    // Reads share one file position, so they run one at a time.
    const result = this.#queue.then(() => this.#readNow(offset));
    this.#queue = result.catch(() => {});
    return result;
  }

  /** Iterates over all records from the start of the file (no `.idx` needed). */
  async *records(): AsyncGenerator<{ offset: number; record: Uint8Array }> {
    let offset = 0;
    while (offset < this.size) {
      const { record, next } = await this.read(offset);
      yield { offset, record };
      offset = next;
    }
  }

  async #readExactly(offset: number, length: number, what: string): Promise<Uint8Array> {
    const out = new Uint8Array(length);
    await this.#file.seek(offset, Deno.SeekMode.Start);
    let filled = 0;
    while (filled < length) {
      const n = await this.#file.read(out.subarray(filled));
      if (n === null) {
        throw new RecordIOError(
          this.path,
          `truncated RecordIO file: ${what} at byte ${offset} needs ${length} bytes, ` +
            `the file ends after ${filled}`,
        );
      }
      filled += n;
    }
    return out;
  }

  async #readNow(offset: number): Promise<{ record: Uint8Array; next: number }> {
    if (!Number.isInteger(offset) || offset < 0 || offset >= this.size) {
      throw new RecordIOError(
        this.path,
        `record offset ${offset} is outside the file (${this.size} bytes; truncated file?)`,
      );
    }
    const parts: Uint8Array[] = [];
    let position = offset;
    let total = 0;
    for (let index = 0;; index++) {
      if (position + 8 > this.size) {
        throw new RecordIOError(
          this.path,
          `truncated RecordIO file: record at byte ${offset} continues past the end of the file`,
        );
      }
      const head = new DataView((await this.#readExactly(position, 8, "record header")).buffer);
      const magic = head.getUint32(0, true);
      if (magic !== RECORDIO_MAGIC) {
        throw new RecordIOError(
          this.path,
          `bad RecordIO magic 0x${magic.toString(16).padStart(8, "0")} at byte ${position} ` +
            `(expected 0xced7230a): not a RecordIO file, or a wrong .idx offset`,
        );
      }
      const word = head.getUint32(4, true);
      const cflag = word >>> 29;
      const length = word & LENGTH_MASK;
      if (index === 0 && (cflag === 2 || cflag === 3)) {
        throw new RecordIOError(
          this.path,
          `byte ${position} is inside a split record (cflag ${cflag}), not its start`,
        );
      }
      if (index > 0 && cflag !== 2 && cflag !== 3) {
        throw new RecordIOError(
          this.path,
          `split record at byte ${offset} is broken: part at byte ${position} has cflag ${cflag}`,
        );
      }
      const available = this.size - position - 8;
      if (length > available) {
        throw new RecordIOError(
          this.path,
          `truncated RecordIO file: record part at byte ${position} declares ${length} bytes, ` +
            `only ${available} remain in the file`,
        );
      }
      parts.push(await this.#readExactly(position + 8, length, "record data"));
      total += length;
      position += 8 + ((length + 3) & ~3);
      if (cflag === 0 || cflag === 3) break;
      total += 4; // the magic word the writer cut out
    }
    if (parts.length === 1) return { record: parts[0], next: Math.min(position, this.size) };
    const record = new Uint8Array(total);
    const magic = new Uint8Array(4);
    new DataView(magic.buffer).setUint32(0, RECORDIO_MAGIC, true);
    let at = 0;
    parts.forEach((part, i) => {
      if (i > 0) {
        record.set(magic, at);
        at += 4;
      }
      record.set(part, at);
      at += part.length;
    });
    return { record, next: Math.min(position, this.size) };
  }
}

/**
 * A parsed `.idx` file: record keys and their byte offsets in the `.rec`.
 *
 * @example
 * ```ts
 * import { RecordIndex } from "./recordio.ts";
 * const index = new RecordIndex(new Float64Array([0, 1]), new Float64Array([0, 40]));
 * console.log(index.offsetOf(1), index.offsetOf(2)); // 40 undefined
 * ```
 */
export class RecordIndex {
  /** Keys in file order. */
  readonly keys: Float64Array;
  /** Byte offsets, parallel to {@linkcode RecordIndex.keys}. */
  readonly offsets: Float64Array;
  readonly #first: number;
  readonly #dense: boolean;
  readonly #lookup: Map<number, number> | null;

  /**
   * Creates a `RecordIndex`.
   *
   * @param keys Keys in file order.
   * @param offsets Offsets, parallel to `keys`.
   */
  constructor(keys: Float64Array, offsets: Float64Array) {
    this.keys = keys;
    this.offsets = offsets;
    this.#first = keys.length ? keys[0] : 0;
    let dense = true;
    for (let i = 0; i < keys.length && dense; i++) dense = keys[i] === this.#first + i;
    this.#dense = dense;
    this.#lookup = dense ? null : new Map(Array.from(keys, (k, i) => [k, i]));
  }

  /** Number of entries. */
  get length(): number {
    return this.keys.length;
  }

  /** Byte offset of the record with `key`, or `undefined` when the index has no such key. */
  offsetOf(key: number): number | undefined {
    const i = this.#dense ? key - this.#first : this.#lookup!.get(key);
    return i !== undefined && i >= 0 && i < this.keys.length ? this.offsets[i] : undefined;
  }
}

/**
 * Reads a `.idx` file (`key<TAB>offset` per line) in a streaming fashion into compact arrays.
 *
 * @throws {RecordIOError} Naming the file and line for a malformed line.
 * @example
 * ```ts
 * import { readRecordIndex } from "./recordio.ts";
 * const path = `${await Deno.makeTempDir()}/a.idx`;
 * await Deno.writeTextFile(path, "0\t0\n1\t40\n");
 * console.log((await readRecordIndex(path)).offsetOf(1)); // 40
 * ```
 */
export async function readRecordIndex(path: string): Promise<RecordIndex> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (error) {
    const reason = error instanceof Deno.errors.NotFound ? "file not found" : String(error);
    throw new RecordIOError(path, `cannot open RecordIO index (${reason})`, { cause: error });
  }
  let keys = new Float64Array(1024);
  let offsets = new Float64Array(1024);
  let count = 0;
  let line = 1;
  let field = 0; // 0: key, 1: offset, 2: ignoring the rest of the line
  let key = 0, offset = 0, digits = 0;
  const finishLine = () => {
    if (field === 0 && digits === 0) return; // blank line
    if (field === 0 || digits === 0) throw new RecordIOError(path, `line ${line} is not "key<TAB>offset"`);
    if (count === keys.length) {
      const k = new Float64Array(count * 2), o = new Float64Array(count * 2);
      k.set(keys);
      o.set(offsets);
      keys = k;
      offsets = o;
    }
    keys[count] = key;
    offsets[count] = offset;
    count++;
  };
  try {
    for await (const chunk of file.readable) {
      for (let i = 0; i < chunk.length; i++) {
        const c = chunk[i];
        if (c === 0x0a) {
          finishLine();
          line++;
          field = 0;
          key = offset = digits = 0;
        } else if (c === 0x0d) {
          continue;
        } else if (field === 2) {
          continue;
        } else if (c >= 0x30 && c <= 0x39) {
          if (field === 0) key = key * 10 + (c - 0x30);
          else offset = offset * 10 + (c - 0x30);
          digits++;
        } else if ((c === 0x09 || c === 0x20) && digits > 0) {
          if (field === 0) {
            field = 1;
            digits = 0;
          } else field = 2;
        } else if (c !== 0x09 && c !== 0x20) {
          throw new RecordIOError(path, `line ${line} is not "key<TAB>offset" (byte 0x${c.toString(16)})`);
        }
      }
    }
    finishLine();
  } catch (error) {
    if (error instanceof RecordIOError) throw error;
    throw new RecordIOError(path, `cannot read RecordIO index (${error})`, { cause: error });
  }
  return new RecordIndex(keys.slice(0, count), offsets.slice(0, count));
}

/** Paths of a RecordIO training set; defaults are insightface's names inside one folder. */
export interface RecordIOPaths {
  /** The `.rec` file. */
  rec: string;
  /** The `.idx` file. */
  idx: string;
  /** The `property` file (`classes,height,width`); optional when the header has identity records. */
  property?: string;
}

/**
 * An insightface RecordIO training set (e.g. `faces_emore`) as a {@linkcode TrainingSource}: random access to
 * encoded images and their labels through the `.idx`, streaming from disk.
 *
 * @example
 * ```ts
 * import { RecordIODataset } from "./recordio.ts";
 * const shared = new URL("../../../shared/reference/faces_emore_tiny/", import.meta.url);
 * try {
 *   const data = await RecordIODataset.open(shared.pathname);
 *   const first = await data.sample(0);
 *   console.log(data.length, data.classCount, first.label, first.image instanceof Uint8Array);
 *   data.close();
 * } catch {
 *   console.log("faces_emore_tiny not present");
 * }
 * ```
 */
export class RecordIODataset implements TrainingSource {
  /** Name for logs: the `.rec` path. */
  readonly name: string;
  /** Number of images. */
  readonly length: number;
  /** Number of identities. */
  readonly classCount: number;
  /** Image size from `property` (`[height, width]`), when present. */
  readonly imageSize: readonly [number, number] | null;
  /** The header record's labels (`[one past the last image key, one past the last identity record]`), or `null`. */
  readonly headerLabel: Float32Array | null;
  /** Record keys of the images, in dataset order. */
  readonly imageKeys: Float64Array;
  readonly #file: RecordIOFile;
  readonly #index: RecordIndex;

  private constructor(
    file: RecordIOFile,
    index: RecordIndex,
    imageKeys: Float64Array,
    classCount: number,
    imageSize: readonly [number, number] | null,
    headerLabel: Float32Array | null,
  ) {
    this.#file = file;
    this.#index = index;
    this.name = file.path;
    this.imageKeys = imageKeys;
    this.length = imageKeys.length;
    this.classCount = classCount;
    this.imageSize = imageSize;
    this.headerLabel = headerLabel;
  }

  /**
   * Opens a set: a folder holding `train.rec`, `train.idx`, `property`, or explicit paths.
   *
   * @throws {RecordIOError} Naming the file for a missing file, a malformed `property` or index, or a bad header.
   */
  static async open(location: string | RecordIOPaths): Promise<RecordIODataset> {
    const paths: RecordIOPaths = typeof location === "string"
      ? {
        rec: joinPath(location, "train.rec"),
        idx: joinPath(location, "train.idx"),
        property: joinPath(location, "property"),
      }
      : location;
    const index = await readRecordIndex(paths.idx);
    let property: { classes: number; size: [number, number] } | null = null;
    if (paths.property) property = await readProperty(paths.property, typeof location === "string");
    const file = await RecordIOFile.open(paths.rec);
    try {
      let imageKeys: Float64Array;
      let headerLabel: Float32Array | null = null;
      let classCount = property?.classes ?? 0;
      const headerOffset = index.offsetOf(0);
      const header = headerOffset === undefined
        ? null
        : unpackRecord((await file.read(headerOffset)).record, `${paths.rec}#0`).header;
      if (header && header.flag > 0 && header.label instanceof Float32Array) {
        headerLabel = header.label;
        const end = Math.round(header.label[0]);
        // Image keys run from 1 to end − 1, each needing an index line: a corrupt header cannot make the reader
        // allocate beyond what the index holds.
        if (!(end >= 1 && end - 1 <= index.length)) {
          throw new RecordIOError(
            `${paths.rec}#0`,
            `the header announces images 1 … ${
              header.label[0]
            } − 1, but ${paths.idx} lists ${index.length} records`,
          );
        }
        imageKeys = Float64Array.from({ length: Math.max(0, end - 1) }, (_, i) => i + 1);
        if (!property && header.label.length > 1) {
          classCount = Math.round(header.label[1]) - end;
          // One identity record per class follows the images in insightface's files.
          if (classCount > index.length) {
            throw new RecordIOError(
              `${paths.rec}#0`,
              `the header announces ${classCount} identities, but ${paths.idx} lists ${index.length} records`,
            );
          }
        }
      } else {
        imageKeys = index.keys.slice();
      }
      if (!(classCount > 0)) {
        throw new RecordIOError(paths.rec, `the number of identities is unknown; give the "property" file`);
      }
      for (const key of [imageKeys[0], imageKeys[imageKeys.length - 1]]) {
        if (imageKeys.length && index.offsetOf(key) === undefined) {
          throw new RecordIOError(
            paths.idx,
            `image key ${key} announced by the header of ${paths.rec} is missing`,
          );
        }
      }
      return new RecordIODataset(file, index, imageKeys, classCount, property?.size ?? null, headerLabel);
    } catch (error) {
      file.close();
      throw error;
    }
  }

  /** Reads record `key` (any key of the `.idx`, images or not) and splits off its IRHeader. */
  async record(key: number): Promise<UnpackedRecord> {
    const offset = this.#index.offsetOf(key);
    if (offset === undefined) throw new RangeError(`${this.name}: no record with key ${key} in the index`);
    const { record } = await this.#file.read(offset);
    return unpackRecord(record, `${this.name}#${key}`);
  }

  /** The encoded image at `index` (0-based over images) and its label. */
  async sample(index: number): Promise<LabelledSample> {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) {
      throw new RangeError(`${this.name}: image index ${index} outside [0, ${this.length})`);
    }
    const key = this.imageKeys[index];
    const { header, payload } = await this.record(key);
    const value = typeof header.label === "number" ? header.label : header.label[0];
    const label = Math.round(value);
    const name = `${this.name}#${key}`;
    if (!(label >= 0 && label < this.classCount)) {
      throw new RecordIOError(name, `label ${value} is outside [0, ${this.classCount})`);
    }
    return { image: payload, label, name };
  }

  /** Closes the `.rec` file. */
  close(): void {
    this.#file.close();
  }
}

async function readProperty(
  path: string,
  optional: boolean,
): Promise<{ classes: number; size: [number, number] } | null> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (optional && error instanceof Deno.errors.NotFound) return null;
    throw new RecordIOError(path, `cannot read RecordIO property file (${error})`, { cause: error });
  }
  const fields = text.trim().split(",").map((f) => Number(f.trim()));
  if (fields.length !== 3 || !fields.every((f) => Number.isInteger(f) && f > 0)) {
    throw new RecordIOError(path, `expected "classes,height,width", found ${JSON.stringify(text.trim())}`);
  }
  return { classes: fields[0], size: [fields[1], fields[2]] };
}

function joinPath(dir: string, name: string): string {
  return dir.endsWith("/") ? `${dir}${name}` : `${dir}/${name}`;
}
