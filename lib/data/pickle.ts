/**
 * A safe, restricted reader for Python pickles (protocols 2–5): enough for insightface's verification `.bin`
 * files and the `data.pkl` inside PyTorch checkpoints, and nothing that could run code.
 *
 * Python's own `pickle.load` executes whatever callables a file names. This reader never does: it knows the
 * data opcodes (containers, numbers, strings, bytes, memo), and a file may refer to a Python global
 * (`GLOBAL`/`STACK_GLOBAL`, then `REDUCE`, `BUILD`, `BINPERSID`) only when the caller lists that exact name
 * in a whitelist and supplies the TypeScript function that stands for it. Every other opcode (`INST`, `OBJ`,
 * `NEWOBJ`, `EXT*`, protocol-0 text opcodes, out-of-band buffers, …) is rejected with a {@linkcode PickleError}
 * naming the file, the opcode and its byte offset. Declared lengths are checked against the bytes that are
 * left before anything is allocated, and nesting depth and container sizes are bounded.
 *
 * Value mapping: `None` → `null`; `bool` → `boolean`; `int` → `number` (or `bigint` beyond 2^53); `float` →
 * `number`; `str` → `string`; `bytes`, `bytearray` and Python 2 `str` (`BINSTRING`, read as with
 * `encoding="bytes"`) → `Uint8Array` views into the input; `list` → array; `tuple` → frozen array (see
 * {@linkcode isPickleTuple}); `dict` → `Map`; a referenced global → {@linkcode PickleGlobal}.
 *
 * @module
 */
import { BadFileError } from "../util/errors.ts";

/** A value decoded from a pickle. Tuples are frozen arrays; dicts are `Map`s keyed by decoded values. */
export type PickleValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | PickleValue[]
  | Map<PickleValue, PickleValue>
  | PickleGlobal
  | PickleObject;

/** A whitelisted stand-in for a Python callable: receives the `REDUCE` argument tuple, returns a value. */
export type PickleCallable = (args: PickleValue[]) => PickleValue;

/** Options of {@linkcode unpickle}. */
export interface UnpickleOptions {
  /** Names the input in every error message (a file path, `"model.pth:archive/data.pkl"`). */
  source: string;
  /**
   * The only Python globals the pickle may name, as `"module.name"` (e.g. `"collections.OrderedDict"`),
   * each with the function that replaces the Python callable when the pickle calls it (`REDUCE`).
   * A global that is merely referenced (not called) still has to be listed.
   */
  globals?: Record<string, PickleCallable>;
  /** Resolves `BINPERSID` ids (PyTorch storages). Without it, persistent ids are rejected. */
  persistentLoad?: (pid: PickleValue) => PickleValue;
  /**
   * Applies `BUILD` (Python's `__setstate__`) to a value that is not a {@linkcode PickleObject}. Without it
   * the state is only recorded and can be read with {@linkcode builtState}; nothing is executed either way.
   */
  build?: (target: PickleValue, state: PickleValue) => PickleValue;
  /** Maximum nesting depth of containers and of `MARK`s (default 256). */
  maxDepth?: number;
  /** Maximum number of elements in one container, on the stack or in the memo (default 50 000 000). */
  maxItems?: number;
}

/**
 * A pickle was malformed or asked for something this reader refuses; the message names the source.
 *
 * @example
 * ```ts
 * import { PickleError, unpickle } from "./pickle.ts";
 * try {
 *   unpickle(new Uint8Array([0x80, 2, 0x69]), { source: "evil.pkl" });
 * } catch (error) {
 *   console.log(error instanceof PickleError && error.offset); // 2
 * }
 * ```
 */
export class PickleError extends BadFileError {
  /** Byte offset of the offending opcode (or of the end of data). */
  readonly offset: number;
  /**
   * Creates the error.
   *
   * @param source The file or entry.
   * @param offset Byte offset of the problem.
   * @param reason What is wrong.
   * @param options The underlying error, if any (e.g. thrown by a whitelisted callable).
   */
  constructor(source: string, offset: number, reason: string, options?: { cause?: unknown }) {
    super(source, reason, options);
    this.name = "PickleError";
    this.offset = offset;
  }
}

/**
 * A reference to a whitelisted Python global (`GLOBAL` / `STACK_GLOBAL`), e.g. `torch.FloatStorage` inside
 * a PyTorch persistent id.
 *
 * @example
 * ```ts
 * import { PickleGlobal } from "./pickle.ts";
 * const g = new PickleGlobal("torch", "FloatStorage");
 * console.log(g.qualifiedName); // "torch.FloatStorage"
 * ```
 */
export class PickleGlobal {
  /**
   * Creates a `PickleGlobal`.
   *
   * @param module Python module, e.g. `"collections"`.
   * @param name Attribute name, e.g. `"OrderedDict"`.
   */
  constructor(readonly module: string, readonly name: string) {}
  /** `"module.name"`, the key used in {@linkcode UnpickleOptions.globals}. */
  get qualifiedName(): string {
    return `${this.module}.${this.name}`;
  }
}

/**
 * A generic object a whitelisted callable may return: its class name, constructor arguments, the state a
 * later `BUILD` gives it, and a free `payload` slot for the caller's own decoded form.
 *
 * @example A whitelist entry that keeps the call as data
 * ```ts
 * import { PickleObject, type PickleValue } from "./pickle.ts";
 * const globals = { "numpy.dtype": (args: PickleValue[]) => new PickleObject("numpy.dtype", args) };
 * console.log(globals["numpy.dtype"](["u1"]).className); // "numpy.dtype"
 * ```
 */
export class PickleObject {
  /** Set by `BUILD`. */
  state: PickleValue | undefined = undefined;
  /** Anything the caller attaches (a typed array, a tensor description). */
  payload: unknown = undefined;
  /**
   * Creates a `PickleObject`.
   *
   * @param className Qualified Python class name.
   * @param args Arguments it was called with.
   */
  constructor(readonly className: string, readonly args: readonly PickleValue[]) {}
}

/**
 * Whether a decoded array was a Python tuple (tuples are frozen, lists are not).
 *
 * @example
 * ```ts
 * import { isPickleTuple } from "./pickle.ts";
 * console.log(isPickleTuple(Object.freeze([1, 2]) as number[]), isPickleTuple([1, 2])); // true false
 * ```
 */
export function isPickleTuple(value: PickleValue | undefined): value is PickleValue[] {
  return Array.isArray(value) && Object.isFrozen(value);
}

const builtStates = new WeakMap<object, PickleValue>();

/**
 * The state a `BUILD` opcode attached to a decoded container (e.g. the `_metadata` of a PyTorch
 * `state_dict` OrderedDict), when no {@linkcode UnpickleOptions.build} hook was given.
 *
 * @example
 * ```ts
 * import { builtState } from "./pickle.ts";
 * console.log(builtState(new Map())); // undefined
 * ```
 */
export function builtState(value: PickleValue): PickleValue | undefined {
  return typeof value === "object" && value !== null ? builtStates.get(value) : undefined;
}

/** Opcode names, for messages (all of Python's, so rejected ones are named too). */
const OPCODE_NAMES: Record<number, string> = {
  0x28: "MARK",
  0x2e: "STOP",
  0x30: "POP",
  0x31: "POP_MARK",
  0x32: "DUP",
  0x46: "FLOAT",
  0x49: "INT",
  0x4a: "BININT",
  0x4b: "BININT1",
  0x4c: "LONG",
  0x4d: "BININT2",
  0x4e: "NONE",
  0x50: "PERSID",
  0x51: "BINPERSID",
  0x52: "REDUCE",
  0x53: "STRING",
  0x54: "BINSTRING",
  0x55: "SHORT_BINSTRING",
  0x56: "UNICODE",
  0x58: "BINUNICODE",
  0x61: "APPEND",
  0x62: "BUILD",
  0x63: "GLOBAL",
  0x64: "DICT",
  0x7d: "EMPTY_DICT",
  0x65: "APPENDS",
  0x67: "GET",
  0x68: "BINGET",
  0x69: "INST",
  0x6a: "LONG_BINGET",
  0x6c: "LIST",
  0x5d: "EMPTY_LIST",
  0x6f: "OBJ",
  0x70: "PUT",
  0x71: "BINPUT",
  0x72: "LONG_BINPUT",
  0x73: "SETITEM",
  0x74: "TUPLE",
  0x29: "EMPTY_TUPLE",
  0x75: "SETITEMS",
  0x47: "BINFLOAT",
  0x80: "PROTO",
  0x81: "NEWOBJ",
  0x82: "EXT1",
  0x83: "EXT2",
  0x84: "EXT4",
  0x85: "TUPLE1",
  0x86: "TUPLE2",
  0x87: "TUPLE3",
  0x88: "NEWTRUE",
  0x89: "NEWFALSE",
  0x8a: "LONG1",
  0x8b: "LONG4",
  0x42: "BINBYTES",
  0x43: "SHORT_BINBYTES",
  0x8c: "SHORT_BINUNICODE",
  0x8d: "BINUNICODE8",
  0x8e: "BINBYTES8",
  0x8f: "EMPTY_SET",
  0x90: "ADDITEMS",
  0x91: "FROZENSET",
  0x92: "NEWOBJ_EX",
  0x93: "STACK_GLOBAL",
  0x94: "MEMOIZE",
  0x95: "FRAME",
  0x96: "BYTEARRAY8",
  0x97: "NEXT_BUFFER",
  0x98: "READONLY_BUFFER",
};

/** Longest `LONG4` integer accepted, in bytes (decoding one costs time quadratic in its length). */
const MAX_LONG_BYTES = 4096;

/** Marks the position of a `MARK` on the stack (never escapes). */
const MARK = Symbol("mark");
type StackItem = PickleValue | typeof MARK;

/**
 * Decodes one pickle from `bytes`, refusing code execution; see the module documentation.
 *
 * @param bytes The complete pickle (trailing bytes after `STOP` are ignored, as Python does).
 * @param options Source name (for errors), whitelisted globals, persistent-id resolver, limits.
 * @returns The decoded value.
 * @throws {PickleError} On a forbidden opcode or global, a truncated or malformed stream, or a limit.
 * @example A protocol-4 pickle of `(b"ab", [True])`
 * ```ts
 * import { unpickle } from "./pickle.ts";
 * const bytes = new Uint8Array([0x80, 4, 0x43, 2, 97, 98, 0x5d, 0x88, 0x61, 0x86, 0x2e]);
 * const value = unpickle(bytes, { source: "inline.pkl" });
 * console.log(value); // [ Uint8Array(2) [ 97, 98 ], [ true ] ]
 * ```
 */
export function unpickle(bytes: Uint8Array, options: UnpickleOptions): PickleValue {
  return new Unpickler(bytes, options).run();
}

const textDecoder = new TextDecoder("utf-8", { fatal: true });
const asciiDecoder = new TextDecoder("latin1");

class Unpickler {
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  readonly #source: string;
  readonly #globals: Record<string, PickleCallable>;
  readonly #persistentLoad?: (pid: PickleValue) => PickleValue;
  readonly #build?: (target: PickleValue, state: PickleValue) => PickleValue;
  readonly #maxDepth: number;
  readonly #maxItems: number;
  readonly #stack: StackItem[] = [];
  readonly #marks: number[] = [];
  readonly #memo = new Map<number, PickleValue>();
  readonly #depth = new WeakMap<object, number>();
  #pos = 0;
  #opStart = 0;
  #opName = "";

  constructor(bytes: Uint8Array, options: UnpickleOptions) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#source = options.source;
    this.#globals = options.globals ?? {};
    this.#persistentLoad = options.persistentLoad;
    this.#build = options.build;
    this.#maxDepth = options.maxDepth ?? 256;
    this.#maxItems = options.maxItems ?? 50_000_000;
  }

  #fail(reason: string, offset = this.#opStart): never {
    throw new PickleError(this.#source, offset, reason);
  }

  /**
   * Runs a caller's hook (a whitelisted callable, the persistent-id resolver, the build hook): whatever it
   * throws becomes a {@linkcode PickleError} naming the file, the opcode and its offset.
   */
  #hook<T>(what: string, run: () => T): T {
    try {
      return run();
    } catch (error) {
      if (error instanceof PickleError) throw error;
      const reason = error instanceof Error ? error.message : String(error);
      throw new PickleError(this.#source, this.#opStart, `${this.#where()}: ${what}: ${reason}`, {
        cause: error,
      });
    }
  }

  #where(): string {
    return `${this.#opName} at byte ${this.#opStart}`;
  }

  #need(count: number, what: string): void {
    const left = this.#bytes.length - this.#pos;
    if (count > left) {
      this.#fail(
        `truncated pickle: ${this.#where()} needs ${count} bytes for ${what}, only ${left} left`,
      );
    }
  }

  #u8(): number {
    this.#need(1, "its argument");
    return this.#bytes[this.#pos++];
  }

  #u16(): number {
    this.#need(2, "its argument");
    const v = this.#view.getUint16(this.#pos, true);
    this.#pos += 2;
    return v;
  }

  #i32(): number {
    this.#need(4, "its argument");
    const v = this.#view.getInt32(this.#pos, true);
    this.#pos += 4;
    return v;
  }

  #u32(): number {
    this.#need(4, "its argument");
    const v = this.#view.getUint32(this.#pos, true);
    this.#pos += 4;
    return v;
  }

  #u64(): number {
    this.#need(8, "its argument");
    const v = this.#view.getBigUint64(this.#pos, true);
    this.#pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.#fail(`${this.#where()}: length ${v} is absurd`);
    return Number(v);
  }

  /** A view of the next `length` bytes, checked against what is left before anything is allocated. */
  #take(length: number, what: string): Uint8Array {
    if (length < 0) this.#fail(`${this.#where()}: negative length ${length}`);
    this.#need(length, what);
    const out = this.#bytes.subarray(this.#pos, this.#pos + length);
    this.#pos += length;
    return out;
  }

  #line(): string {
    const end = this.#bytes.indexOf(0x0a, this.#pos);
    if (end < 0) this.#fail(`truncated pickle: ${this.#where()} has no end of line`);
    const text = asciiDecoder.decode(this.#bytes.subarray(this.#pos, end));
    this.#pos = end + 1;
    return text;
  }

  #utf8(length: number): string {
    const raw = this.#take(length, "the string");
    try {
      return textDecoder.decode(raw);
    } catch {
      return this.#fail(`${this.#where()}: string is not valid UTF-8`);
    }
  }

  #push(value: PickleValue): void {
    if (this.#stack.length >= this.#maxItems) this.#fail(`stack exceeds ${this.#maxItems} items`);
    this.#stack.push(value);
  }

  #pop(): PickleValue {
    const top = this.#stack.pop();
    if (top === undefined) this.#fail(`malformed pickle: ${this.#where()} on an empty stack`);
    if (top === MARK) this.#fail(`malformed pickle: ${this.#where()} found a MARK where a value belongs`);
    return top;
  }

  #top(): PickleValue {
    const top = this.#stack[this.#stack.length - 1];
    if (top === undefined || top === MARK) {
      this.#fail(`malformed pickle: ${this.#where()} needs a value on the stack`);
    }
    return top;
  }

  #popMark(): PickleValue[] {
    const mark = this.#marks.pop();
    if (mark === undefined) this.#fail(`malformed pickle: ${this.#where()} without a MARK`);
    const items = this.#stack.splice(mark) as StackItem[];
    items.shift(); // the MARK itself
    if (items.some((item) => item === MARK)) this.#fail(`malformed pickle: nested MARK at ${this.#where()}`);
    return items as PickleValue[];
  }

  #depthOf(value: PickleValue): number {
    return typeof value === "object" && value !== null ? this.#depth.get(value) ?? 0 : 0;
  }

  /** Records that `container` now holds `child`, enforcing the depth and size limits. */
  #contain(container: object, child: PickleValue, size: number): void {
    const depth = Math.max(this.#depth.get(container) ?? 1, this.#depthOf(child) + 1);
    if (depth > this.#maxDepth) this.#fail(`nesting deeper than ${this.#maxDepth} at ${this.#where()}`);
    if (size > this.#maxItems) this.#fail(`a container exceeds ${this.#maxItems} items at ${this.#where()}`);
    this.#depth.set(container, depth);
  }

  #tuple(items: PickleValue[]): PickleValue[] {
    this.#depth.set(items, 1);
    for (const item of items) this.#contain(items, item, items.length);
    return Object.freeze(items) as PickleValue[];
  }

  #list(): PickleValue[] {
    const list: PickleValue[] = [];
    this.#depth.set(list, 1);
    return list;
  }

  #dict(): Map<PickleValue, PickleValue> {
    const dict = new Map<PickleValue, PickleValue>();
    this.#depth.set(dict, 1);
    return dict;
  }

  #appendTo(target: PickleValue, items: PickleValue[]): void {
    if (!Array.isArray(target) || Object.isFrozen(target)) {
      this.#fail(`${this.#where()}: can only append to a list, found ${describe(target)}`);
    }
    for (const item of items) {
      target.push(item);
      this.#contain(target, item, target.length);
    }
  }

  #setItems(target: PickleValue, items: PickleValue[]): void {
    if (!(target instanceof Map)) {
      this.#fail(`${this.#where()}: can only set items of a dict, found ${describe(target)}`);
    }
    if (items.length % 2 !== 0) this.#fail(`malformed pickle: ${this.#where()} with an odd number of items`);
    for (let i = 0; i < items.length; i += 2) {
      target.set(items[i], items[i + 1]);
      this.#contain(target, items[i + 1], target.size);
    }
  }

  #memoPut(index: number): void {
    if (this.#memo.size >= this.#maxItems && !this.#memo.has(index)) {
      this.#fail(`memo exceeds ${this.#maxItems} entries`);
    }
    this.#memo.set(index, this.#top());
  }

  #memoGet(index: number): void {
    const value = this.#memo.get(index);
    if (value === undefined) {
      this.#fail(`malformed pickle: ${this.#where()} reads memo ${index}, never stored`);
    }
    this.#push(value);
  }

  #global(module: string, name: string): PickleGlobal {
    const qualified = `${module}.${name}`;
    if (!Object.hasOwn(this.#globals, qualified)) {
      const allowed = Object.keys(this.#globals);
      this.#fail(
        `pickle global ${qualified} (${this.#where()}) is not allowed; this reader only accepts ` +
          (allowed.length ? allowed.join(", ") : "plain data (no globals)"),
      );
    }
    return new PickleGlobal(module, name);
  }

  #long(raw: Uint8Array): number | bigint {
    if (raw.length === 0) return 0;
    let value = 0n;
    for (let i = raw.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(raw[i]);
    if (raw[raw.length - 1] & 0x80) value -= 1n << BigInt(8 * raw.length);
    const safe = value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER);
    return safe ? Number(value) : value;
  }

  run(): PickleValue {
    const bytes = this.#bytes;
    while (true) {
      if (this.#pos >= bytes.length) {
        this.#fail(`truncated pickle: data ends at byte ${bytes.length} before STOP`, bytes.length);
      }
      this.#opStart = this.#pos;
      const op = bytes[this.#pos++];
      this.#opName = OPCODE_NAMES[op] ?? "unknown";
      switch (op) {
        case 0x80: { // PROTO
          const protocol = this.#u8();
          if (protocol > 5) this.#fail(`unsupported pickle protocol ${protocol}`);
          break;
        }
        case 0x95: // FRAME: a length hint only; frames must still be complete
          this.#need(this.#u64(), "the frame");
          break;
        case 0x2e: { // STOP
          const value = this.#pop();
          return value;
        }
        case 0x28: // MARK
          if (this.#marks.length >= this.#maxDepth) this.#fail(`more than ${this.#maxDepth} nested MARKs`);
          this.#marks.push(this.#stack.length);
          this.#stack.push(MARK);
          break;
        case 0x30: // POP
          if (this.#stack[this.#stack.length - 1] === MARK) this.#popMark();
          else this.#pop();
          break;
        case 0x31: // POP_MARK
          this.#popMark();
          break;
        case 0x32: // DUP
          this.#push(this.#top());
          break;
        case 0x4e: // NONE
          this.#push(null);
          break;
        case 0x88: // NEWTRUE
          this.#push(true);
          break;
        case 0x89: // NEWFALSE
          this.#push(false);
          break;
        case 0x4a: // BININT
          this.#push(this.#i32());
          break;
        case 0x4b: // BININT1
          this.#push(this.#u8());
          break;
        case 0x4d: // BININT2
          this.#push(this.#u16());
          break;
        case 0x8a: // LONG1
          this.#push(this.#long(this.#take(this.#u8(), "the integer")));
          break;
        case 0x8b: { // LONG4: a huge integer; no data file needs more than a few bytes
          const length = this.#i32();
          if (length > MAX_LONG_BYTES) {
            this.#fail(`${this.#where()}: an integer of ${length} bytes is beyond this reader's limit`);
          }
          this.#push(this.#long(this.#take(length, "the integer")));
          break;
        }
        case 0x47: { // BINFLOAT (big-endian double)
          this.#need(8, "the float");
          this.#push(this.#view.getFloat64(this.#pos, false));
          this.#pos += 8;
          break;
        }
        case 0x58: // BINUNICODE
          this.#push(this.#utf8(this.#u32()));
          break;
        case 0x8c: // SHORT_BINUNICODE
          this.#push(this.#utf8(this.#u8()));
          break;
        case 0x8d: // BINUNICODE8
          this.#push(this.#utf8(this.#u64()));
          break;
        case 0x42: // BINBYTES
          this.#push(this.#take(this.#u32(), "the bytes"));
          break;
        case 0x43: // SHORT_BINBYTES
          this.#push(this.#take(this.#u8(), "the bytes"));
          break;
        case 0x8e: // BINBYTES8
          this.#push(this.#take(this.#u64(), "the bytes"));
          break;
        case 0x96: // BYTEARRAY8
          this.#push(this.#take(this.#u64(), "the bytearray"));
          break;
        case 0x54: // BINSTRING (Python 2 str, read as bytes)
          this.#push(this.#take(this.#i32(), "the string"));
          break;
        case 0x55: // SHORT_BINSTRING
          this.#push(this.#take(this.#u8(), "the string"));
          break;
        case 0x5d: // EMPTY_LIST
          this.#push(this.#list());
          break;
        case 0x7d: // EMPTY_DICT
          this.#push(this.#dict());
          break;
        case 0x29: // EMPTY_TUPLE
          this.#push(this.#tuple([]));
          break;
        case 0x85: // TUPLE1
          this.#push(this.#tuple([this.#pop()]));
          break;
        case 0x86: { // TUPLE2
          const b = this.#pop(), a = this.#pop();
          this.#push(this.#tuple([a, b]));
          break;
        }
        case 0x87: { // TUPLE3
          const c = this.#pop(), b = this.#pop(), a = this.#pop();
          this.#push(this.#tuple([a, b, c]));
          break;
        }
        case 0x74: // TUPLE
          this.#push(this.#tuple(this.#popMark()));
          break;
        case 0x6c: { // LIST
          const items = this.#popMark();
          const list = this.#list();
          this.#appendTo(list, items);
          this.#push(list);
          break;
        }
        case 0x64: { // DICT
          const items = this.#popMark();
          const dict = this.#dict();
          this.#setItems(dict, items);
          this.#push(dict);
          break;
        }
        case 0x61: { // APPEND
          const item = this.#pop();
          this.#appendTo(this.#top(), [item]);
          break;
        }
        case 0x65: { // APPENDS
          const items = this.#popMark();
          this.#appendTo(this.#top(), items);
          break;
        }
        case 0x73: { // SETITEM
          const value = this.#pop(), key = this.#pop();
          this.#setItems(this.#top(), [key, value]);
          break;
        }
        case 0x75: { // SETITEMS
          const items = this.#popMark();
          this.#setItems(this.#top(), items);
          break;
        }
        case 0x71: // BINPUT
          this.#memoPut(this.#u8());
          break;
        case 0x72: // LONG_BINPUT
          this.#memoPut(this.#u32());
          break;
        case 0x94: // MEMOIZE
          this.#memoPut(this.#memo.size);
          break;
        case 0x68: // BINGET
          this.#memoGet(this.#u8());
          break;
        case 0x6a: // LONG_BINGET
          this.#memoGet(this.#u32());
          break;
        case 0x63: { // GLOBAL
          const module = this.#line();
          const name = this.#line();
          this.#push(this.#global(module, name));
          break;
        }
        case 0x93: { // STACK_GLOBAL
          const name = this.#pop(), module = this.#pop();
          if (typeof module !== "string" || typeof name !== "string") {
            this.#fail(`malformed pickle: ${this.#where()} needs two strings`);
          }
          this.#push(this.#global(module, name));
          break;
        }
        case 0x52: { // REDUCE
          const args = this.#pop(), callable = this.#pop();
          if (!(callable instanceof PickleGlobal)) {
            this.#fail(`${this.#where()}: can only call a whitelisted global, found ${describe(callable)}`);
          }
          if (!isPickleTuple(args)) {
            this.#fail(`malformed pickle: ${this.#where()} arguments are not a tuple`);
          }
          const call = this.#globals[callable.qualifiedName];
          this.#push(this.#hook(callable.qualifiedName, () => call([...args])));
          break;
        }
        case 0x62: { // BUILD
          const state = this.#pop();
          const target = this.#top();
          if (target instanceof PickleGlobal) {
            // Python would set attributes of the class or function itself (a known way to tamper with a
            // module): never a state a data file needs.
            this.#fail(`${this.#where()}: cannot set the state of ${describe(target)} (a class or function)`);
          } else if (target instanceof PickleObject) {
            target.state = state;
          } else if (this.#build) {
            const build = this.#build;
            this.#stack[this.#stack.length - 1] = this.#hook("build", () => build(target, state));
          } else if (typeof target === "object" && target !== null) {
            builtStates.set(target, state);
          } else {
            this.#fail(`${this.#where()}: cannot set the state of ${describe(target)}`);
          }
          break;
        }
        case 0x51: { // BINPERSID
          const pid = this.#pop();
          if (!this.#persistentLoad) this.#fail(`${this.#where()}: persistent ids are not allowed here`);
          const load = this.#persistentLoad;
          this.#push(this.#hook("persistent id", () => load(pid)));
          break;
        }
        default:
          this.#fail(
            `pickle opcode ${this.#opName} (0x${
              op.toString(16).padStart(2, "0")
            }) at byte ${this.#opStart} ` +
              `is not allowed: this reader accepts only plain data (protocol 2-5) and whitelisted globals`,
          );
      }
    }
  }
}

function describe(value: PickleValue): string {
  if (value === null) return "None";
  if (Array.isArray(value)) return Object.isFrozen(value) ? "a tuple" : "a list";
  if (value instanceof Map) return "a dict";
  if (value instanceof Uint8Array) return "bytes";
  if (value instanceof PickleGlobal) return `global ${value.qualifiedName}`;
  if (value instanceof PickleObject) return `a ${value.className} object`;
  return `a ${typeof value}`;
}
