/**
 * Unit tests of the ONNX importer's pieces (decoding, folding, axes, LSTM conversion, vocabulary) and of
 * importOnnx on small hand-built graphs for what PyTorch does not export.
 */

import assert from "node:assert/strict";
import { reshapeAxes, squeezeAxes, transposeAxes, UNIT } from "../compiler/onnx/axes.ts";
import { foldConstants } from "../compiler/onnx/constants.ts";
import { OnnxGraph } from "../compiler/onnx/graph.ts";
import { importOnnx } from "../compiler/onnx/import.ts";
import { lstmNodeToLayer } from "../compiler/onnx/lstm.ts";
import {
  decodeModel,
  encodeModel,
  type ModelProto,
  type NodeProto,
  readTensorProto,
  type Tensor,
  type TensorProto,
  toIntegers,
} from "../compiler/onnx/proto.ts";
import { checkVocabularyTokens, readTokenizerMetadata, readVocabFile } from "../compiler/onnx/vocab.ts";
import onnxProto from "onnx-proto";
import { irLogits } from "../compiler/ir_forward.ts";

// ------------------------------------------------------------------------------------------ builders

const FLOAT = 1;
const INT64 = 7;

function floats(name: string, dims: number[], data: ArrayLike<number>): TensorProto {
  return { name, dims, dataType: FLOAT, floatData: Array.from(data) };
}

function ints(name: string, dims: number[], data: number[]): TensorProto {
  return { name, dims, dataType: INT64, int64Data: data };
}

/** A protobuf int64 as protobufjs writes it (for values beyond 2^53). */
interface Int64 {
  low: number;
  high: number;
  unsigned: boolean;
}
const INT64_MAX: Int64 = { low: -1, high: 0x7fffffff, unsigned: false };

type AttrValue = number | (number | Int64)[] | string | string[] | TensorProto | { f: number };

function node(
  op: string,
  inputs: string[],
  outputs: string[],
  attrs: Record<string, AttrValue> = {},
  name = "",
): NodeProto {
  const attribute = Object.entries(attrs).map(([key, v]) => {
    if (typeof v === "number") return { name: key, type: 2, i: v };
    if (typeof v === "string") return { name: key, type: 3, s: new TextEncoder().encode(v) };
    if (Array.isArray(v) && typeof v[0] === "string") {
      return { name: key, type: 8, strings: (v as string[]).map((s) => new TextEncoder().encode(s)) };
    }
    if (Array.isArray(v)) return { name: key, type: 7, ints: v as number[] };
    if ("f" in v) return { name: key, type: 1, f: v.f };
    return { name: key, type: 4, t: v as TensorProto };
  });
  return { opType: op, input: inputs, output: outputs, attribute, name: name || `${op}_${outputs[0]}` };
}

function model(
  opset: number,
  nodes: NodeProto[],
  initializers: TensorProto[],
  inputs: { name: string; elemType: number; dims?: (number | string)[] }[],
  outputs: string[],
  meta: Record<string, string> = {},
): Uint8Array {
  const proto: ModelProto = {
    irVersion: 7,
    opsetImport: [{ domain: "", version: opset }],
    graph: {
      name: "g",
      node: nodes,
      initializer: initializers,
      input: inputs.map((i) => ({
        name: i.name,
        type: {
          tensorType: {
            elemType: i.elemType,
            shape: i.dims
              ? { dim: i.dims.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) }
              : undefined,
          },
        },
      })),
      output: outputs.map((name) => ({ name })),
    },
    metadataProps: Object.entries(meta).map(([key, value]) => ({ key, value })),
  };
  return encodeModel(proto);
}

/** Deterministic pseudo-random values in ±0.5. */
function values(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  });
}

const V = 5, E = 3, H = 2;
const VOCAB = ["<unk>", "<eos>", "a", "b", "c"];

/**
 * A tiny LM: tokens (seq, 1) → Gather → [extra nodes] → LSTM → Squeeze(axis 1) → MatMul → Add → logits.
 * `wire` may splice nodes in by renaming; defaults give a valid model.
 */
function tinyLm(options: {
  opset?: number;
  afterGather?: NodeProto[];
  lstmInput?: string;
  lstmExtra?: Record<string, AttrValue>;
  initialH?: string;
  extraInits?: TensorProto[];
  tail?: NodeProto[];
  output?: string;
  tokenDims?: (number | string)[] | null;
  meta?: Record<string, string>;
} = {}): Uint8Array {
  const opset = options.opset ?? 13;
  const squeeze = opset >= 13
    ? node("Squeeze", ["y", "axes1"], ["ys"])
    : node("Squeeze", ["y"], ["ys"], { axes: [1] });
  const lstmInputs = ["x", "W", "R", "B", "", options.initialH ?? "", ""];
  if (options.lstmInput) lstmInputs[0] = options.lstmInput;
  return model(
    opset,
    [
      node("Gather", ["emb", "tokens"], ["x"]),
      ...(options.afterGather ?? []),
      node("LSTM", lstmInputs, ["y", "", ""], { hidden_size: H, ...options.lstmExtra }, "lstm"),
      squeeze,
      node("MatMul", ["ys", "Wd"], ["mm"]),
      node("Add", ["mm", "bd"], ["logits"]),
      ...(options.tail ?? []),
    ],
    [
      floats("emb", [V, E], values(V * E, 1)),
      floats("W", [1, 4 * H, E], values(4 * H * E, 2)),
      floats("R", [1, 4 * H, H], values(4 * H * H, 3)),
      floats("B", [1, 8 * H], values(8 * H, 4)),
      floats("Wd", [H, V], values(H * V, 5)),
      floats("bd", [V], values(V, 6)),
      ints("axes1", [1], [1]),
      ...(options.extraInits ?? []),
    ],
    [{
      name: "tokens",
      elemType: INT64,
      dims: options.tokenDims === null ? undefined : options.tokenDims ?? ["seq", 1],
    }],
    [options.output ?? "logits"],
    options.meta ?? { vocab: VOCAB.join("\n") },
  );
}

// ------------------------------------------------------------------------------------------ proto.ts

function encodeTensor(t: TensorProto): Uint8Array {
  return onnxProto.onnx.TensorProto.encode(t).finish();
}

Deno.test("readTensorProto() reads float32 from raw_data and from float_data alike", () => {
  const raw = new Uint8Array(new Float32Array([1.5, -2, 3.25, 0]).buffer);
  const a = readTensorProto(encodeTensor({ name: "a", dims: [2, 2], dataType: FLOAT, rawData: raw }));
  const b = readTensorProto(
    encodeTensor({ name: "b", dims: [2, 2], dataType: FLOAT, floatData: [1.5, -2, 3.25, 0] }),
  );
  assert.deepEqual(a.dims, [2, 2]);
  assert.deepEqual(Array.from(a.data as Float32Array), [1.5, -2, 3.25, 0]);
  assert.deepEqual(a.data, b.data);
});

Deno.test("readTensorProto() widens float16 (raw_data and int32_data) and reads doubles", () => {
  const bits = [0x3c00, 0xc000, 0x3555, 0x7bff]; // 1, -2, 0.333251953125, 65504
  const raw = new Uint8Array(new Uint16Array(bits).buffer);
  const fromRaw = readTensorProto(encodeTensor({ dims: [4], dataType: 10, rawData: raw }));
  const fromInts = readTensorProto(encodeTensor({ dims: [4], dataType: 10, int32Data: bits }));
  assert.equal(fromRaw.dtype, "float16");
  assert.deepEqual(Array.from(fromRaw.data as Float32Array), [1, -2, 0.333251953125, 65504]);
  assert.deepEqual(fromRaw.data, fromInts.data);
  const d = readTensorProto(encodeTensor({ dims: [2], dataType: 11, doubleData: [0.1, -1e300] }));
  assert.deepEqual(Array.from(d.data as Float64Array), [0.1, -1e300]);
  const draw = readTensorProto(
    encodeTensor({ dims: [2], dataType: 11, rawData: new Uint8Array(new Float64Array([0.1, 2]).buffer) }),
  );
  assert.deepEqual(Array.from(draw.data as Float64Array), [0.1, 2]);
});

Deno.test("readTensorProto() reads int32 and int64 (raw little-endian and typed fields, beyond 2^32)", () => {
  const i32 = readTensorProto(encodeTensor({ dims: [3], dataType: 6, int32Data: [-1, 7, 2147483647] }));
  assert.deepEqual(Array.from(i32.data as Int32Array), [-1, 7, 2147483647]);
  const big = [-1n, 5n, 1n << 40n, -(1n << 62n)];
  const raw = new Uint8Array(new BigInt64Array(big).buffer);
  const a = readTensorProto(encodeTensor({ dims: [4], dataType: INT64, rawData: raw }));
  assert.deepEqual(Array.from(a.data as BigInt64Array), big);
  const b = readTensorProto(encodeTensor({ dims: [2, 1], dataType: INT64, int64Data: [-3, 2 ** 40] }));
  assert.deepEqual(Array.from(b.data as BigInt64Array), [-3n, 1n << 40n]);
  assert.deepEqual(toIntegers(b), [-3, 2 ** 40]);
});

Deno.test("readTensorProto() rejects external data, saying how to re-save the model", () => {
  const bytes = encodeTensor({
    name: "w",
    dims: [2],
    dataType: FLOAT,
    dataLocation: 1,
    externalData: [{ key: "location", value: "weights.bin" }],
  });
  assert.throws(
    () => readTensorProto(bytes),
    /Tensor "w": its data is stored in an external file \("weights.bin"\).*save_as_external_data=False/,
  );
});

Deno.test("readTensorProto() rejects data that does not match the dims, and string tensors", () => {
  assert.throws(
    () => readTensorProto(encodeTensor({ name: "x", dims: [2, 3], dataType: FLOAT, floatData: [1, 2] })),
    /Tensor "x": dims \[2, 3\] need 6 values, found 2/,
  );
  assert.throws(
    () => readTensorProto(encodeTensor({ name: "s", dims: [1], dataType: 8 })),
    /element type STRING is not supported/,
  );
});

// -------------------------------------------------------------------------------------- constants.ts

function fold(opset: number, nodes: NodeProto[], inits: TensorProto[]): Map<string, Tensor> {
  return foldConstants(new OnnxGraph(decodeModel(model(opset, nodes, inits, [], []))));
}

const arr = (t: Tensor | undefined) => Array.from(t!.data as ArrayLike<number | bigint>, Number);

Deno.test("foldConstants() finds a tied decoder written as Transpose(embedding)", () => {
  const c = fold(13, [node("Transpose", ["emb"], ["t"], { perm: [1, 0] })], [
    floats("emb", [2, 3], [1, 2, 3, 4, 5, 6]),
  ]);
  assert.deepEqual(c.get("t")!.dims, [3, 2]);
  assert.deepEqual(arr(c.get("t")), [1, 4, 2, 5, 3, 6]);
});

Deno.test("foldConstants() reads Slice/Unsqueeze/Squeeze operands as attributes (opset 9) and inputs (opset 13)", () => {
  const w = floats("w", [4, 2], [0, 1, 2, 3, 4, 5, 6, 7]);
  const old = fold(9, [
    node("Slice", ["w"], ["s"], { starts: [1], ends: [INT64_MAX], axes: [0] }),
    node("Unsqueeze", ["s"], ["u"], { axes: [0] }),
    node("Squeeze", ["u"], ["q"], { axes: [0] }),
  ], [w]);
  const now = fold(13, [
    node("Slice", ["w", "st", "en", "ax", "step"], ["s"]),
    node("Unsqueeze", ["s", "ax"], ["u"]),
    node("Squeeze", ["u", "ax"], ["q"]),
  ], [w, ints("st", [1], [1]), ints("en", [1], [100]), ints("ax", [1], [0]), ints("step", [1], [1])]);
  for (const c of [old, now]) {
    assert.deepEqual(c.get("s")!.dims, [3, 2]);
    assert.deepEqual(c.get("u")!.dims, [1, 3, 2]);
    assert.deepEqual(c.get("q")!.dims, [3, 2]);
    assert.deepEqual(arr(c.get("q")), [2, 3, 4, 5, 6, 7]);
  }
});

Deno.test("foldConstants() evaluates Concat, Gather, Reshape (0 and -1), Cast, Split and negative-step Slice", () => {
  const c = fold(13, [
    node("Concat", ["a", "b"], ["cat"], { axis: 0 }),
    node("Gather", ["cat", "idx"], ["g"], { axis: 1 }),
    node("Reshape", ["cat", "shape"], ["r"]),
    node("Cast", ["idx"], ["f"], { to: FLOAT }),
    node("Split", ["cat", "sizes"], ["s0", "s1"], { axis: 1 }),
    node("Slice", ["a", "st", "en", "ax", "neg"], ["rev"]),
    node("Constant", [], ["k"], { value: floats("", [], [2.5]) }),
    node("Mul", ["a", "k"], ["m"]),
  ], [
    floats("a", [1, 3], [1, 2, 3]),
    floats("b", [1, 3], [4, 5, 6]),
    ints("idx", [2], [-1, 0]),
    ints("shape", [2], [0, -1]),
    ints("sizes", [2], [1, 2]),
    ints("st", [1], [-1]),
    ints("en", [1], [-100]),
    ints("ax", [1], [1]),
    ints("neg", [1], [-1]),
  ]);
  assert.deepEqual(arr(c.get("cat")), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual([c.get("g")!.dims, arr(c.get("g"))], [[2, 2], [3, 1, 6, 4]]);
  assert.deepEqual(c.get("r")!.dims, [2, 3]);
  assert.deepEqual([c.get("f")!.dtype, arr(c.get("f"))], ["float32", [-1, 0]]);
  assert.deepEqual([arr(c.get("s0")), arr(c.get("s1"))], [[1, 4], [2, 3, 5, 6]]);
  assert.deepEqual(arr(c.get("rev")), [3, 2, 1]);
  assert.deepEqual(arr(c.get("m")), [2.5, 5, 7.5]);
});

Deno.test("foldConstants() leaves nodes that depend on a graph input alone", () => {
  const g = new OnnxGraph(
    decodeModel(model(13, [node("Add", ["x", "one"], ["y"])], [floats("one", [1], [1])], [
      { name: "x", elemType: FLOAT, dims: [1] },
    ], ["y"])),
  );
  const c = foldConstants(g);
  assert.ok(c.has("one"));
  assert.ok(!c.has("y"));
});

// ------------------------------------------------------------------------------------------- axes.ts

const t0 = { kind: "dims" as const, factors: ["tokens[0]"] };
const t1 = { kind: "dims" as const, factors: ["tokens[1]"] };
const feat = { kind: "feature" as const, size: 8 };

Deno.test("reshapeAxes() merges the leading axes and splits them back in order", () => {
  const merged = reshapeAxes([t0, t1, feat], [-1, 8], false);
  assert.deepEqual(merged, [{ kind: "dims", factors: ["tokens[0]", "tokens[1]"] }, feat]);
  assert.deepEqual(reshapeAxes(merged, [["tokens[0]"], -1, 8], false), [t0, t1, feat]);
  assert.deepEqual(reshapeAxes([t0, UNIT, feat], [0, 0, -1], false), [t0, UNIT, feat]);
});

Deno.test("reshapeAxes() refuses to mix the features with the sequence/batch axes", () => {
  assert.throws(
    () => reshapeAxes([t0, t1, feat], [-1, 4], false),
    /the last axis must keep the feature size 8/,
  );
  assert.throws(
    () => reshapeAxes([t0, t1, feat], [["tokens[1]"], ["tokens[0]"], 8], false),
    /leading axes hold/,
  );
  assert.throws(() => reshapeAxes([t0, t1, feat], [35, -1, 8], false), /static size 35/);
});

Deno.test("squeezeAxes() removes only size-1 axes and transposeAxes() permutes", () => {
  assert.deepEqual(squeezeAxes([t0, UNIT, t1, feat], [1]), [t0, t1, feat]);
  assert.throws(() => squeezeAxes([t0, t1, feat], [1]), /not of size 1/);
  assert.deepEqual(transposeAxes([t0, t1, feat], [1, 0, 2]), [t1, t0, feat]);
});

// ------------------------------------------------------------------------------------------- lstm.ts

Deno.test("lstmNodeToLayer() reorders gate blocks i,o,f,c to i,f,g,o and sums the two biases", () => {
  const h = 2, inSize = 1;
  // W rows: gate block k (ONNX order i, o, f, c) holds values 10k, 10k+1.
  const W: Tensor = {
    name: "W",
    dtype: "float32",
    dims: [1, 4 * h, inSize],
    data: Float32Array.from([0, 1, 10, 11, 20, 21, 30, 31]),
  };
  const R: Tensor = {
    name: "R",
    dtype: "float32",
    dims: [1, 4 * h, h],
    data: Float32Array.from({ length: 16 }, (_, i) => i),
  };
  const B: Tensor = {
    name: "B",
    dtype: "float32",
    dims: [1, 8 * h],
    data: Float32Array.from({ length: 16 }, (_, i) => i < 8 ? i : 100 * (i - 8)),
  };
  const layer = lstmNodeToLayer(
    node("LSTM", ["X", "W", "R", "B"], ["Y"], { hidden_size: h }),
    new Map([["W", W], ["R", R], ["B", B]]),
    3,
  );
  assert.deepEqual(Array.from(layer.wIh.data), [0, 1, 20, 21, 30, 31, 10, 11]); // i, f, g(=c), o
  assert.deepEqual(Array.from(layer.wHh.data.subarray(2 * h, 4 * h)), [8, 9, 10, 11]); // f = ONNX block 2
  // bias: Wb block (i,o,f,c) = [0,1 | 2,3 | 4,5 | 6,7], Rb = 100·that → i: 0,101  f: 404,505  g: 606,707  o: 202,303
  assert.deepEqual(Array.from(layer.bias), [0, 101, 404, 505, 606, 707, 202, 303]);
  assert.equal(layer.wIh.name, "layers.3.w_ih");
  assert.equal(layer.wHh.name, "layers.3.w_hh");
});

Deno.test("lstmNodeToLayer() lists every unsupported attribute and input in one error", () => {
  const n = node("LSTM", ["X", "W", "R", "B", "lens", "", "", "P"], ["Y"], {
    hidden_size: 2,
    direction: "reverse",
    clip: { f: 3 },
    input_forget: 1,
    activations: ["Sigmoid", "Relu", "Tanh"],
  }, "rnn0");
  assert.throws(() => lstmNodeToLayer(n, new Map()), (e: Error) => {
    assert.match(e.message, /^LSTM node "rnn0" is not supported: /);
    for (
      const part of [
        /attribute direction is "reverse"/,
        /input P \(peepholes\) "P" is given/,
        /input sequence_lens "lens" is given/,
        /attribute activations is \[Sigmoid, Relu, Tanh\]/,
        /attribute clip is 3/,
        /attribute input_forget is 1/,
      ]
    ) assert.match(e.message, part);
    return true;
  });
});

Deno.test("lstmNodeToLayer() says which weight input is not a constant", () => {
  const n = node("LSTM", ["X", "W", "R"], ["Y"], { hidden_size: 2 }, "rnn0");
  assert.throws(() => lstmNodeToLayer(n, new Map()), /LSTM node "rnn0": input W "W" is not a constant/);
});

// ------------------------------------------------------------------------------------------ vocab.ts

Deno.test("readVocabFile() takes one token per line, with or without a final newline or CRs", () => {
  assert.deepEqual(readVocabFile("<unk>\nthe\n<eos>\n"), ["<unk>", "the", "<eos>"]);
  assert.deepEqual(readVocabFile("<unk>\r\nthe\r\n<eos>"), ["<unk>", "the", "<eos>"]);
});

Deno.test("readVocabFile() rejects empty lines, whitespace inside a token and duplicates, naming the lines", () => {
  assert.throws(() => readVocabFile("a\n\nb\n"), /line 2 is empty/);
  assert.throws(() => readVocabFile("a\nb c\n"), /line 2 \("b c"\) contains whitespace/);
  assert.throws(() => readVocabFile("a\nb\na\n"), /"a" appears twice: lines 1 and 3/);
  assert.throws(() => readVocabFile(""), /empty/);
});

Deno.test("readTokenizerMetadata() validates the tokenizer JSON", () => {
  assert.deepEqual(readTokenizerMetadata('{"lowercase": true}', ["N"]), {
    lowercase: true,
    eosPerLine: true,
    numberToken: undefined,
  });
  assert.throws(() => readTokenizerMetadata('{"lowercase": "yes"}', []), /lowercase must be true or false/);
  assert.throws(() => readTokenizerMetadata('{"lower": true}', []), /unknown keys lower/);
  assert.throws(
    () => readTokenizerMetadata('{"numberToken": "N"}', ["a"]),
    /numberToken "N" is not in the vocabulary/,
  );
  assert.throws(() => readTokenizerMetadata("{", []), /not valid JSON/);
});

Deno.test("readVocabFile() reads JSON vocabularies (an array, or token → id) that hold whitespace tokens", () => {
  assert.deepEqual(readVocabFile('[" ", "\\n", "a"]'), [" ", "\n", "a"]);
  assert.deepEqual(readVocabFile('{"a": 2, " ": 0, "\\n": 1}'), [" ", "\n", "a"]);
  assert.deepEqual(readVocabFile("[x]\nb\n"), ["[x]", "b"], "a line file whose first token starts with [");
  assert.throws(
    () => readVocabFile('{"a": 0, "b": 0}'),
    /id 0 is given to both "a" and "b"; no key has id 1/,
  );
  assert.throws(() => readVocabFile('{"a": 0, "b": 1, "a": 2}'), /key "a" appears 2 times/);
  assert.throws(() => readVocabFile('["a", "a"]'), /ids 0 and 1 are both "a"/);
  assert.throws(() => readVocabFile('{"a": 0, "b": 5}'), /key "b" has id 5, expected 0\.\.1/);
});

Deno.test("readTokenizerMetadata() reads kind character: nothing appended, no number token", () => {
  assert.deepEqual(readTokenizerMetadata('{"kind": "character", "lowercase": true}', ["a"]), {
    kind: "character",
    lowercase: true,
    eosPerLine: false,
    numberToken: undefined,
  });
  assert.throws(
    () => readTokenizerMetadata('{"kind": "bytes"}', []),
    /kind must be "whitespace" or "character"/,
  );
  assert.throws(
    () => readTokenizerMetadata('{"kind": "character", "eosPerLine": true}', []),
    /a character tokenizer appends nothing .* eosPerLine must be false/,
  );
  assert.throws(
    () => readTokenizerMetadata('{"kind": "character", "numberToken": "a"}', ["a"]),
    /a character tokenizer has no numberToken/,
  );
});

Deno.test("checkVocabularyTokens() holds a vocabulary to what its tokenizer kind allows, naming the ids", () => {
  const character = { kind: "character" as const, lowercase: false, eosPerLine: false };
  checkVocabularyTokens([" ", "\n", "<unk>", "😀"], character, "v");
  assert.throws(
    () => checkVocabularyTokens(["a", "bc", ""], character, "v"),
    /v is not a usable vocabulary: id 1 is "bc" \(2 characters\); id 2 is the empty string/,
  );
  assert.throws(
    () => checkVocabularyTokens(["a", " "], { lowercase: false, eosPerLine: true }, "v"),
    /id 1 is " ", which contains whitespace/,
  );
});

// ------------------------------------------------------------------------------ hand-built graphs

Deno.test("importOnnx() accepts a hand-built opset-11 graph (Squeeze axes as an attribute)", () => {
  const m13 = importOnnx(tinyLm({ opset: 13 }));
  const m11 = importOnnx(tinyLm({ opset: 11 }));
  assert.deepEqual(m11.layers[0].wIh.data, m13.layers[0].wIh.data);
  assert.equal(m11.layers[0].inputSize, E);
  assert.equal(m11.layers[0].hiddenSize, H);
  assert.deepEqual(m11.decoderBias, values(V, 6));
  assert.equal(irLogits(m11, [2, 3, 4]).length, 3);
});

Deno.test("importOnnx() rejects an unknown node on the path, naming it and what was expected", () => {
  const bytes = tinyLm({ afterGather: [node("Relu", ["x"], ["xr"], {}, "act")], lstmInput: "xr" });
  assert.throws(
    () => importOnnx(bytes),
    /Unsupported Relu node "act" on the path from the token input to the logits \(after Gather node "Gather_x"\).*expected an LSTM node/,
  );
});

Deno.test("importOnnx() rejects a LogSoftmax after the decoder", () => {
  const bytes = tinyLm({
    tail: [node("LogSoftmax", ["logits"], ["logp"], { axis: -1 }, "lsm")],
    output: "logp",
  });
  assert.throws(
    () => importOnnx(bytes),
    /Unsupported LogSoftmax node "lsm".*expected a graph output holding the logits/,
  );
});

Deno.test("importOnnx() rejects a learned (non-zero constant) initial state", () => {
  const bytes = tinyLm({ initialH: "h0", extraInits: [floats("h0", [1, 1, H], [0.5, 0])] });
  assert.throws(() => importOnnx(bytes), /LSTM node "lstm": input initial_h "h0" is a non-zero constant/);
  assert.equal(
    importOnnx(tinyLm({ initialH: "z", extraInits: [floats("z", [1, 1, H], [0, 0])] })).layers.length,
    1,
  );
});

Deno.test("importOnnx() rejects glue that would feed the features to the LSTM as its sequence axis", () => {
  const bytes = tinyLm({
    afterGather: [node("Transpose", ["x"], ["xt"], { perm: [2, 1, 0] }, "swap")],
    lstmInput: "xt",
  });
  assert.throws(
    () => importOnnx(bytes),
    /LSTM node "lstm": input X "xt" has axes \[feature 3, 1, tokens\[0\]\]; expected \[sequence, batch, features\]/,
  );
});

Deno.test("importOnnx() rejects cell clipping and names the LSTM node", () => {
  assert.throws(
    () => importOnnx(tinyLm({ lstmExtra: { clip: { f: 1 } } })),
    /LSTM node "lstm" is not supported: attribute clip is 1/,
  );
});

Deno.test("importOnnx() needs the token input's rank", () => {
  assert.throws(() => importOnnx(tinyLm({ tokenDims: null })), /Token input "tokens" declares no shape/);
});

Deno.test("importOnnx() rejects a file that is not an ONNX model", () => {
  assert.throws(() => importOnnx(new Uint8Array([0xff, 0xff, 0xff])), /Not an ONNX model/);
});
