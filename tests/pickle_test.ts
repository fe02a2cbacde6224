// The restricted pickle reader: plain data of protocols 2-5, whitelisted globals only, clear errors.
import assert from "node:assert/strict";
import {
  builtState,
  isPickleTuple,
  PickleError,
  PickleGlobal,
  PickleObject,
  type PickleValue,
  unpickle,
} from "../lib/data/pickle.ts";

const fixtures = new URL("./fixtures/pickle/", import.meta.url);
const read = (name: string) => Deno.readFile(new URL(name, fixtures));

/** Python 3 writes bytes at protocol 2 through these callables; whitelisting them is the caller's choice. */
const protocol2Bytes = {
  "_codecs.encode": (args: PickleValue[]) => Uint8Array.from(String(args[0]), (c) => c.charCodeAt(0)),
  "__builtin__.bytes": () => new Uint8Array(),
};

function get(map: PickleValue, key: PickleValue): PickleValue | undefined {
  assert.ok(map instanceof Map);
  return map.get(key);
}

for (const protocol of [2, 3, 4, 5]) {
  Deno.test(`unpickle decodes the protocol ${protocol} sample exactly`, async () => {
    const value = unpickle(await read(`sample_p${protocol}.pkl`), {
      source: `sample_p${protocol}.pkl`,
      globals: protocol === 2 ? protocol2Bytes : {},
    });
    assert.deepEqual(get(value, "ints"), [
      0,
      1,
      255,
      256,
      65535,
      65536,
      -1,
      -129,
      2 ** 31 - 1,
      -(2 ** 31),
      2 ** 40,
      -(2 ** 40),
      2n ** 70n,
      -(2n ** 70n),
    ]);
    assert.deepEqual(get(value, "floats"), [0, 1.5, -2.25, 1e300, Infinity]);
    assert.deepEqual(get(value, "consts"), [null, true, false]);
    assert.deepEqual(get(value, "text"), ["", "ascii", "ünïcødé ✓", "x".repeat(300)]);
    const bytes = get(value, "bytes") as Uint8Array[];
    assert.deepEqual(bytes.map((b) => Array.from(b)), [[], [0, 255, 97, 98], Array(300).fill(121)]);
    const tuples = get(value, "tuples") as PickleValue[][];
    assert.deepEqual(tuples.map((t) => t.length), [0, 1, 2, 3, 4]);
    assert.ok(tuples.every((t) => isPickleTuple(t)), "tuples come out frozen");
    assert.ok(!isPickleTuple(get(value, "ints")), "lists stay mutable");
    const shared = get(value, "shared") as PickleValue[];
    assert.equal(shared[0], shared[1], "memoised objects keep their identity");
    assert.deepEqual(get(value, "nested"), [[[[1]]]]);
    const dict = get(value, "dict") as Map<PickleValue, PickleValue>;
    assert.equal(dict.get(1), "one");
    assert.equal(dict.get("two"), 2);
    const tupleKey = [...dict.keys()].find((k) => Array.isArray(k));
    assert.deepEqual(tupleKey, [3, 4]);
    assert.deepEqual(dict.get(tupleKey!), [5]);
  });
}

Deno.test("unpickle refuses os.system and builtins.eval, naming the file and the global", async () => {
  for (
    const [file, global, opcode] of [
      ["evil_os_system.pkl", "posix.system", "GLOBAL"],
      ["evil_builtins_eval.pkl", "builtins.eval", "STACK_GLOBAL"],
    ]
  ) {
    const bytes = await read(file);
    assert.throws(
      () => unpickle(bytes, { source: file, globals: { "collections.OrderedDict": () => new Map() } }),
      (error: Error) => {
        assert.ok(error instanceof PickleError);
        assert.match(
          error.message,
          new RegExp(`^${file}: pickle global ${global.replace(".", "\\.")} \\(${opcode}`),
        );
        assert.match(error.message, /collections\.OrderedDict/, "the message lists what is allowed");
        return true;
      },
    );
  }
});

Deno.test("unpickle rejects every code-running or legacy opcode with its name and byte offset", () => {
  const cases: [string, number[], string, number][] = [
    ["INST", [...ascii("(i__main__\nFoo\n.")], "INST", 1],
    ["OBJ", [0x80, 2, 0x28, 0x6f, 0x2e], "OBJ", 3],
    ["NEWOBJ", [0x80, 2, 0x29, 0x29, 0x81, 0x2e], "NEWOBJ", 4],
    ["NEWOBJ_EX", [0x80, 4, 0x29, 0x29, 0x7d, 0x92, 0x2e], "NEWOBJ_EX", 5],
    ["EXT1", [0x80, 2, 0x82, 0x01, 0x2e], "EXT1", 2],
    ["EXT2", [0x80, 2, 0x83, 0x01, 0x00, 0x2e], "EXT2", 2],
    ["EXT4", [0x80, 2, 0x84, 0x01, 0, 0, 0, 0x2e], "EXT4", 2],
    ["PERSID", [...ascii("P1\n.")], "PERSID", 0],
    ["INT", [...ascii("I1\n.")], "INT", 0],
    ["NEXT_BUFFER", [0x80, 5, 0x97, 0x2e], "NEXT_BUFFER", 2],
    ["unknown", [0x80, 2, 0xff, 0x2e], "unknown (0xff)", 2],
  ];
  for (const [label, bytes, name, offset] of cases) {
    assert.throws(
      () => unpickle(new Uint8Array(bytes), { source: `${label}.pkl` }),
      (error: Error) => {
        assert.ok(error instanceof PickleError, label);
        assert.ok(error.message.startsWith(`${label}.pkl: pickle opcode ${name}`), error.message);
        assert.match(error.message, new RegExp(`at byte ${offset} is not allowed`));
        assert.equal(error.offset, offset);
        return true;
      },
    );
  }
});

Deno.test("unpickle rejects BINPERSID without a resolver and REDUCE of anything but a whitelisted global", () => {
  assert.throws(
    () => unpickle(new Uint8Array([0x80, 2, 0x4b, 1, 0x51, 0x2e]), { source: "persid.pkl" }),
    /persid\.pkl: BINPERSID at byte 4: persistent ids are not allowed here/,
  );
  // REDUCE on a plain list: ([] , ()) R
  assert.throws(
    () => unpickle(new Uint8Array([0x80, 2, 0x5d, 0x29, 0x52, 0x2e]), { source: "reduce.pkl" }),
    /reduce\.pkl: REDUCE at byte 4: can only call a whitelisted global, found a list/,
  );
});

Deno.test("every truncation of a valid pickle fails with an error naming the source", async () => {
  const bytes = await read("sample_p4.pkl");
  for (let length = 0; length < bytes.length; length++) {
    assert.throws(
      () => unpickle(bytes.subarray(0, length), { source: "cut.pkl" }),
      (error: Error) => error instanceof PickleError && error.message.startsWith("cut.pkl: "),
      `truncated at ${length}`,
    );
  }
});

Deno.test("declared lengths beyond the data are refused before anything is allocated", () => {
  const huge = new Uint8Array([0x80, 4, 0x42, 0xff, 0xff, 0xff, 0x7f, 1, 2, 0x2e]); // BINBYTES 2^31-1
  assert.throws(
    () => unpickle(huge, { source: "huge.pkl" }),
    /huge\.pkl: truncated pickle: BINBYTES at byte 2 needs 2147483647 bytes for the bytes, only 3 left/,
  );
  const frame = new Uint8Array([0x80, 4, 0x95, 0, 0, 0, 0, 1, 0, 0, 0, 0x4e, 0x2e]); // FRAME of 2^32 bytes
  assert.throws(() => unpickle(frame, { source: "frame.pkl" }), /frame\.pkl: truncated pickle: FRAME/);
  const negative = new Uint8Array([0x80, 2, 0x54, 0xff, 0xff, 0xff, 0xff, 0x2e]); // BINSTRING -1
  assert.throws(
    () => unpickle(negative, { source: "neg.pkl" }),
    /neg\.pkl: BINSTRING at byte 2: negative length -1/,
  );
});

Deno.test("nesting depth and container sizes are bounded", () => {
  const depth = 300;
  // EMPTY_LIST × depth, then APPEND × (depth − 1): a list nested `depth` levels deep.
  const nested = new Uint8Array([0x80, 2, ...Array(depth).fill(0x5d), ...Array(depth - 1).fill(0x61), 0x2e]);
  assert.throws(() => unpickle(nested, { source: "deep.pkl" }), /deep\.pkl: nesting deeper than 256/);
  let value = unpickle(nested, { source: "deep.pkl", maxDepth: 400 });
  let levels = 1;
  while (Array.isArray(value) && value.length === 1) {
    value = value[0];
    levels++;
  }
  assert.equal(levels, depth);
  const marks = new Uint8Array([0x80, 2, ...Array(40).fill(0x28)]);
  assert.throws(
    () => unpickle(marks, { source: "marks.pkl", maxDepth: 32 }),
    /marks\.pkl: more than 32 nested MARKs/,
  );
  const wide = new Uint8Array([0x80, 2, 0x5d, 0x28, ...Array(20).fill(0x4e), 0x65, 0x2e]);
  assert.throws(() => unpickle(wide, { source: "wide.pkl", maxItems: 10 }), /wide\.pkl: .*exceeds 10/);
  assert.equal((unpickle(wide, { source: "wide.pkl" }) as PickleValue[]).length, 20);
});

Deno.test("whitelisted globals, BUILD and persistent ids work as a PyTorch state_dict needs", async () => {
  const bytes = await read("ordered_dict_persistent_p2.pkl");
  const calls: string[] = [];
  const pids: PickleValue[] = [];
  const value = unpickle(bytes, {
    source: "state.pkl",
    globals: {
      "collections.OrderedDict": (args) => {
        calls.push(`OrderedDict(${args.length})`);
        return new Map();
      },
    },
    persistentLoad: (pid) => {
      pids.push(pid);
      return new PickleObject("storage", [pid]);
    },
  });
  assert.ok(value instanceof Map);
  assert.deepEqual([...value.keys()], ["conv.weight", "bn.num_batches"]);
  assert.equal(value.get("bn.num_batches"), 3);
  const storage = value.get("conv.weight");
  assert.ok(storage instanceof PickleObject);
  assert.deepEqual(pids, [["storage", "0"]]);
  assert.ok(isPickleTuple(pids[0]));
  assert.deepEqual(calls, ["OrderedDict(0)", "OrderedDict(0)"]);
  const state = builtState(value);
  assert.ok(state instanceof Map, "BUILD's state is recorded, not executed");
  const metadata = state.get("_metadata");
  assert.ok(metadata instanceof Map);
  assert.deepEqual((metadata.get("") as Map<PickleValue, PickleValue>).get("version"), 1);
  // Without the whitelist entry the same file is refused at its first GLOBAL.
  assert.throws(
    () => unpickle(bytes, { source: "state.pkl", persistentLoad: () => null }),
    /state\.pkl: pickle global collections\.OrderedDict \(GLOBAL at byte 2\) is not allowed/,
  );
});

Deno.test("a merely referenced global is a PickleGlobal, and a build hook replaces BUILD", () => {
  // c torch\nFloatStorage\n  ]  b  .   → BUILD on a list with the global as state
  const bytes = new Uint8Array([0x80, 2, 0x5d, ...ascii("ctorch\nFloatStorage\n"), 0x62, 0x2e]);
  let called = false;
  const value = unpickle(bytes, {
    source: "ref.pkl",
    globals: {
      "torch.FloatStorage": () => {
        called = true;
        return null;
      },
    },
    build: (target, state) => new Map([["target", target], ["state", state]]),
  });
  assert.equal(called, false, "referencing a global never calls it");
  assert.ok(value instanceof Map);
  const state = value.get("state");
  assert.ok(state instanceof PickleGlobal);
  assert.equal(state.qualifiedName, "torch.FloatStorage");
});

function ascii(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}
