/**
 * Trained parts (compiler/onnx/trained_parts.ts): an ONNX that carries re-trained encodings is packed as
 * it is, and every malformed part is refused with a message naming the tensor and the field. The files are
 * built here from the lstm2 fixture with the compiler's own encoders: each tensor encoded by a method, the
 * ONNX's dense weight replaced by that encoding decoded (as models/finetune.py writes them), the parts added
 * as unused initializers and the metadata entry.
 */
import assert from "node:assert/strict";
import { importOnnx } from "../compiler/onnx/import.ts";
import { decodeModel, encodeModel, type ModelProto, type TensorProto } from "../compiler/onnx/proto.ts";
import { TRAINED_PARTS_KEY } from "../compiler/onnx/trained_parts.ts";
import { compileOnnx } from "../compiler/compile.ts";
import { measureTradeoff, recipeLabel, tradeoffMarkdown, tradeoffPoints } from "../compiler/tradeoff.ts";
import { LstmModel } from "../runtime/model.ts";
import { compressModel, modelTensors } from "../compiler/compress.ts";
import { decodeMatrix, methodFor } from "../compiler/methods/registry.ts";
import { parseMethod, parseRecipe } from "../compiler/recipe.ts";
import type { EncodedMatrix } from "../compiler/encoded.ts";
import { readLem } from "../runtime/format/read.ts";
import { toEncoded } from "../runtime/format/test_fixtures.ts";
import { LSTM2_FIXTURE } from "./helpers.ts";

const METHODS: Record<string, string> = {
  "embedding": "int8",
  "layers.0.w_ih": "lowrank:4+int8",
  "layers.0.w_hh": "prune:0.5+int4:g8",
  "layers.1.w_ih": "tt:3+f16",
  "layers.1.w_hh": "f16",
  "decoder": "int4:g4",
};
const RECIPE = parseRecipe({
  rules: Object.entries(METHODS).map(([tensors, method]) => ({ tensors, method })),
});

type Json = Record<string, unknown>;

/** IR gate block j (i, f, g, o) sits at ONNX block ONNX_BLOCK[j] (ONNX order i, o, f, c). */
const ONNX_BLOCK = [0, 2, 3, 1];

/** Codes of a Quantized encoding, unpacked (int8 bytes as signed, int4 nibbles low first). */
function codesOf(e: EncodedMatrix): Int8Array {
  const enc = e.encoding;
  if (enc.kind !== "quantized") throw new Error("not quantized");
  const out = new Int8Array(e.rows * e.cols);
  const stride = enc.bits === 8 ? e.cols : Math.ceil(e.cols / 2);
  for (let r = 0; r < e.rows; r++) {
    for (let c = 0; c < e.cols; c++) {
      const b = enc.data[r * stride + (enc.bits === 8 ? c : c >> 1)];
      out[r * e.cols + c] = enc.bits === 8 ? (b << 24) >> 24 : (((b >> (4 * (c & 1))) & 0xf) << 28) >> 28;
    }
  }
  return out;
}

/** The parts JSON of one encoding, adding its initializers to `inits`. */
function partsOf(e: EncodedMatrix, base: string, inits: TensorProto[]): Json {
  const enc = e.encoding;
  const add = (suffix: string, t: Omit<TensorProto, "name">) => {
    inits.push({ name: `${base}/${suffix}`, ...t });
    return `${base}/${suffix}`;
  };
  switch (enc.kind) {
    case "dense":
      return {
        storage: enc.type,
        rows: e.rows,
        cols: e.cols,
        values: add("values", {
          dims: [e.rows, e.cols],
          dataType: enc.type === "f32" ? 1 : 10,
          rawData: enc.data,
        }),
      };
    case "quantized":
      return {
        storage: `int${enc.bits}`,
        rows: e.rows,
        cols: e.cols,
        groupSize: enc.groupSize,
        codes: add("codes", {
          dims: [e.rows, e.cols],
          dataType: 3,
          rawData: new Uint8Array(codesOf(e).buffer),
        }),
        scales: add("scales", {
          dims: [enc.scales.length],
          dataType: 1,
          rawData: new Uint8Array(enc.scales.slice().buffer),
        }),
      };
    case "lowrank":
      return {
        encoding: "lowrank",
        a: partsOf(enc.a, `${base}/a`, inits),
        b: partsOf(enc.b, `${base}/b`, inits),
      };
    case "tt":
      return {
        encoding: "tt",
        rowModes: enc.rowModes,
        colModes: enc.colModes,
        ranks: enc.ranks,
        cores: enc.cores.map((c, k) => partsOf(c, `${base}/cores.${k}`, inits)),
      };
    case "csr":
      return {
        encoding: "csr",
        rowPtr: add("row_ptr", {
          dims: [enc.rowPtr.length],
          dataType: 6,
          rawData: new Uint8Array(Int32Array.from(enc.rowPtr).buffer),
        }),
        colIdx: add("col_idx", {
          dims: [enc.colIdx.length],
          dataType: 6,
          rawData: new Uint8Array(Int32Array.from(enc.colIdx).buffer),
        }),
        values: partsOf(enc.values, `${base}/values`, inits),
      };
    case "blocks":
      throw new Error(`${base}: finetune.py writes no block-pruned parts`);
  }
}

/**
 * lstm2.onnx re-made as finetune.py would write it for METHODS: dense weights = the encodings decoded,
 * plus the parts. `edit` may change the parts JSON before it is stored.
 */
function trainedFile(
  edit: (doc: { format: number; recipe: unknown; tensors: Record<string, Json> }) => void = () => {},
): {
  bytes: Uint8Array;
  encodings: Map<string, EncodedMatrix>;
} {
  const source = Deno.readFileSync(LSTM2_FIXTURE);
  const ir = importOnnx(source, { fileName: "lstm2.onnx" });
  const model: ModelProto = decodeModel(source);
  const graph = model.graph!;
  const inits = graph.initializer!;
  const byName = new Map(inits.map((t) => [t.name!, t]));
  const lstms = graph.node!.filter((n) => n.opType === "LSTM");
  const decoderWeight = graph.node!.find((n) => n.opType === "MatMul")!.input![1];
  const setWeight = (name: string, dense: Float32Array, rows: number, cols: number) => {
    let target: string;
    let data: Float32Array;
    if (name === "embedding") [target, data] = ["embedding.weight", dense];
    else if (name === "decoder") {
      target = decoderWeight;
      data = new Float32Array(rows * cols);
      for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) data[c * rows + r] = dense[r * cols + c];
    } else {
      const [, k, which] = name.split(".");
      target = lstms[Number(k)].input![which === "w_ih" ? 1 : 2];
      const h = rows / 4;
      data = new Float32Array(rows * cols);
      for (let j = 0; j < 4; j++) {
        data.set(dense.subarray(j * h * cols, (j + 1) * h * cols), ONNX_BLOCK[j] * h * cols);
      }
    }
    const t = byName.get(target)!;
    t.rawData = new Uint8Array(data.buffer);
    t.floatData = [];
  };
  const tensors: Record<string, Json> = {};
  const encodings = new Map<string, EncodedMatrix>();
  const parts: TensorProto[] = [];
  for (const { matrix, role } of modelTensors(ir)) {
    const method = METHODS[matrix.name];
    const spec = parseMethod(method);
    const { encoded } = methodFor(spec).encode(matrix, spec, role);
    encodings.set(matrix.name, encoded);
    setWeight(matrix.name, decodeMatrix(encoded), matrix.rows, matrix.cols);
    const p = partsOf(encoded, `lstm_edge/${matrix.name}`, parts);
    const entry = p.encoding ? p : { encoding: "store", matrix: p };
    tensors[matrix.name] = { method, rows: matrix.rows, cols: matrix.cols, ...entry };
  }
  inits.push(...parts);
  const doc = { format: 1, recipe: RECIPE, tensors };
  edit(doc);
  model.metadataProps = [...(model.metadataProps ?? []), {
    key: TRAINED_PARTS_KEY,
    value: JSON.stringify(doc),
  }];
  return { bytes: encodeModel(model), encodings };
}

/** A copy in a buffer of its own (protobufjs hands out views into the whole file). */
const copyOf = (bytes: Uint8Array) => Uint8Array.from(bytes);

/** An encoding without names (the reader names sub-matrices its own way). */
function shape(e: EncodedMatrix): unknown {
  return JSON.parse(
    JSON.stringify(
      e,
      (k, v) => (k === "name" ? undefined : ArrayBuffer.isView(v) ? [...(v as Uint8Array)] : v),
    ),
  );
}

Deno.test("compile packs a re-trained file's parts as they are, under the file's own recipe by default", async () => {
  const { bytes, encodings } = trainedFile();
  const ir = importOnnx(bytes, { fileName: "trained.onnx" });
  assert.equal(ir.trained?.tensors.size, 6);
  const result = await compileOnnx(bytes, { fileName: "trained.onnx" });
  assert.deepEqual(result.recipe, RECIPE);
  const file = readLem(result.bytes);
  const written = [file.embedding, ...file.layers.flatMap((l) => [l.wIh, l.wHh]), file.decoder];
  for (const info of written) {
    assert.deepEqual(shape(toEncoded(file, info)), shape(encodings.get(info.name)!), info.name);
  }
  assert.ok(result.tensors.every((t) => t.detail.startsWith("trained parts") && t.relativeError < 1e-6));
  // The dense weights are the parts decoded: onnxruntime-web runs the same model.
  // (int4/int8 products quantize activations to 7/8 bits in the relaxed kernels: a few 1e-3 on these logits)
  assert.ok(result.maxLogitDiff < 2e-2, `${result.maxLogitDiff}`);
  // The same recipe given explicitly writes the same file; another method for a trained tensor is refused.
  assert.deepEqual(
    (await compileOnnx(bytes, { fileName: "trained.onnx", recipe: RECIPE })).bytes,
    result.bytes,
  );
  await assert.rejects(
    compileOnnx(bytes, {
      fileName: "trained.onnx",
      recipe: parseRecipe({ rules: [{ tensors: "*", method: "int8" }] }),
    }),
    /Tensor "layers\.0\.w_ih" was re-trained as lowrank:4\+int8 .* but the recipe gives it int8/,
  );
});

Deno.test("a file without trained parts compiles as before", () => {
  const ir = importOnnx(Deno.readFileSync(LSTM2_FIXTURE), { fileName: "lstm2.onnx" });
  assert.equal(ir.trained, undefined);
  assert.equal(compressModel(ir, RECIPE, { name: "x", compiler: "t" }).tensors[0].detail, "int8 per-row");
});

const mutations: [
  string,
  (doc: { format: number; recipe: unknown; tensors: Record<string, Json> }) => void,
  RegExp,
][] = [
  ["a newer format", (d) => (d.format = 2), /expected format 1, found 2/],
  [
    "a tensor the model lacks",
    (d) => (d.tensors["layers.9.w_ih"] = d.tensors.decoder),
    /tensor "layers\.9\.w_ih" is not one of the model's/,
  ],
  [
    "a method that does not parse",
    (d) => (d.tensors.decoder.method = "int5"),
    /tensor "decoder".*Invalid method "int5"/,
  ],
  [
    "parts stored in another encoding",
    (d) => (d.tensors.decoder.encoding = "lowrank"),
    /tensor "decoder": method int4:g4 is stored as "store"/,
  ],
  [
    "a shape other than the weight's",
    (d) => (d.tensors.decoder.rows = 41),
    /tensor "decoder": is 41×12, but the model's weight is 40×12/,
  ],
  [
    "a missing initializer",
    (d) => ((d.tensors.decoder.matrix as Json).codes = "nope"),
    /tensor "decoder": matrix\.codes: initializer "nope" is not in the graph/,
  ],
  [
    "a leaf in another storage than its method",
    (d) => ((d.tensors.decoder.matrix as Json).storage = "int8"),
    /tensor "decoder": matrix is stored as int8, but int4:g4 stores int4|int4 code|codes/,
  ],
  [
    "a group size that does not match the scales",
    (d) => ((d.tensors.decoder.matrix as Json).groupSize = 3),
    /matrix\.scales ".*" has \d+ values, expected \d+/,
  ],
  [
    "codes of the wrong element type",
    (d) => ((d.tensors.embedding.matrix as Json).codes = (d.tensors.embedding.matrix as Json).scales),
    /matrix\.codes ".*" is float32, expected int8/,
  ],
  [
    "a row pointer of the wrong length",
    (d) => (d.tensors["layers.0.w_hh"].rowPtr = d.tensors["layers.0.w_hh"].colIdx),
    /rowPtr ".*" has \d+ values, expected 49/,
  ],
  [
    "TT ranks that do not end in 1",
    (d) => ((d.tensors["layers.1.w_ih"].ranks as number[]).push(1)),
    /TT needs d row and column modes and d \+ 1 ranks/,
  ],
  [
    "a low-rank factor of the wrong height",
    (d) => (((d.tensors["layers.0.w_ih"].a as Json).rows) = 47),
    /tensor "layers\.0\.w_ih": a is 47×4, expected 48×4/,
  ],
];

for (const [what, edit, message] of mutations) {
  Deno.test(`the importer refuses trained parts with ${what}`, () => {
    const { bytes } = trainedFile(edit);
    assert.throws(() => importOnnx(bytes, { fileName: "trained.onnx" }), message);
  });
}

Deno.test("the importer refuses a file whose dense weights are not its trained parts", () => {
  const { bytes } = trainedFile();
  const model = decodeModel(bytes);
  const emb = model.graph!.initializer!.find((t) => t.name === "embedding.weight")!;
  const data = new Float32Array(copyOf(emb.rawData!).buffer);
  data[7] += 0.5;
  emb.rawData = new Uint8Array(data.buffer);
  assert.throws(
    () => importOnnx(encodeModel(model), { fileName: "edited.onnx" }),
    /tensor "embedding": its trained parts reconstruct the dense weight with relative error .* the file's weights and parts do not belong together/,
  );
});

/** Bytes of the trained file with one part's values edited in place. */
function editPart<T extends Int8Array | Int32Array | Float32Array>(
  part: string,
  view: (buffer: ArrayBuffer) => T,
  edit: (values: T) => void,
): Uint8Array {
  const model = decodeModel(trainedFile().bytes);
  const t = model.graph!.initializer!.find((i) => i.name === part)!;
  const bytes = copyOf(t.rawData!);
  edit(view(bytes.buffer));
  t.rawData = bytes;
  return encodeModel(model);
}

const valueEdits: [string, Uint8Array, RegExp][] = [
  [
    "int4 codes outside ±7",
    editPart("lstm_edge/decoder/codes", (b) => new Int8Array(b), (c) => (c[3] = 8)),
    /int4 code 8 at row 0, column 3 is outside ±7/,
  ],
  [
    "negative scales",
    editPart("lstm_edge/embedding/scales", (b) => new Float32Array(b), (s) => (s[0] = -1)),
    /matrix\.scales must be finite and ≥ 0/,
  ],
  [
    "NaN scales",
    editPart("lstm_edge/embedding/scales", (b) => new Float32Array(b), (s) => (s[5] = NaN)),
    /matrix\.scales must be finite and ≥ 0/,
  ],
  [
    "a decreasing row pointer",
    editPart("lstm_edge/layers.0.w_hh/row_ptr", (b) => new Int32Array(b), (p) => (p[5] = p[4] - 1)),
    /rowPtr must start at 0 and never decrease/,
  ],
  [
    "column indices that do not increase within a row",
    editPart("lstm_edge/layers.0.w_hh/col_idx", (b) => new Int32Array(b), (c) => (c[1] = c[0])),
    /colIdx of row 0 must increase within 0\.\.11/,
  ],
  [
    "a column index past the last column",
    editPart("lstm_edge/layers.0.w_hh/col_idx", (b) => new Int32Array(b), (c) => (c[0] = 12)),
    /colIdx of row 0 must increase within 0\.\.11 \(found 12 at 0\)/,
  ],
];

for (const [what, bytes, message] of valueEdits) {
  Deno.test(`the importer refuses trained parts with ${what}`, () => {
    assert.throws(() => importOnnx(bytes, { fileName: "trained.onnx" }), message);
  });
}

Deno.test("tradeoff lists a re-trained model beside the post-hoc methods, with its training, and plots both", async () => {
  const { bytes } = trainedFile();
  const ir = importOnnx(Deno.readFileSync(LSTM2_FIXTURE), { fileName: "lstm2.onnx" });
  const retrained = importOnnx(bytes, { fileName: "trained.onnx" });
  const ids = Array.from({ length: 60 }, (_, i) => (i * 7) % ir.vocab.length);
  const rows = await measureTradeoff(ir, {
    methods: ["f32", "int8"],
    retrained: [{ ir: retrained, epochs: 2, trainSeconds: 90 }],
    validIds: ids.slice(0, 30),
    testIds: ids.slice(30),
    stepTokens: 10,
    sequenceTokens: 20,
  });
  assert.deepEqual(rows.map((r) => r.method), ["f32", "int8", recipeLabel(RECIPE)]);
  assert.match(recipeLabel(RECIPE), /^embedding=int8;layers\.0\.w_ih=lowrank:4\+int8;/);
  assert.equal(recipeLabel(parseRecipe({ rules: [{ tensors: "*", method: "tt:16+int8" }] })), "tt:16+int8");
  // The re-trained row is the compiled file: its trained parts, its perplexity.
  const compiled = await compileOnnx(bytes, { fileName: "trained.onnx" });
  const lm = await LstmModel.load(compiled.bytes);
  assert.ok(Math.abs(rows[2].testPerplexity / lm.score(ids.slice(30)).perplexity - 1) < 1e-12);
  assert.match(tradeoffMarkdown(rows), /\| `embedding=int8;.*` \| re-trained 2 epochs, 2 min \|/);
  assert.deepEqual(tradeoffPoints(rows).map((p) => p.kind), ["baseline", "candidate", "frontier"]);
});
