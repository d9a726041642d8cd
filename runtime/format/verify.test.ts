import assert from "node:assert/strict";
import { mulberry32 } from "../random.ts";
import * as flatbuffers from "flatbuffers";
import {
  Dense,
  Encoding,
  FloatType,
  LstmLayer,
  Matrix,
  Metadata,
  Metric,
  Model,
  Quantized,
  SparseCsr,
  Vocabulary,
} from "../../schema/generated/lem_generated.ts";
import { writeLem } from "../../compiler/writer.ts";
import {
  encodeDense,
  type EncodedMatrix,
  type EncodedModel,
  encodeModelDense,
  type SparseBlocksEnc,
} from "../../compiler/encoded.ts";
import { irMatrix } from "../../compiler/ir.ts";
import { encodeStorage } from "../../compiler/methods/storage.ts";
import { LemFormatError } from "./errors.ts";
import { verifyLem } from "./verify.ts";
import { readLem } from "./read.ts";
import {
  blockSparse,
  characterModel,
  dense,
  lowRank,
  mixedModel,
  quantize,
  randomIrModel,
  randomMatrix,
  sparse,
  tensorTrain,
} from "./test_fixtures.ts";

const META = { name: "t", compiler: "lstm-edge test", recipe: "{}" };

/** Expects verifyLem to throw a LemFormatError for `field` whose message matches `message`. */
function rejects(bytes: Uint8Array, field: string, message: RegExp): void {
  assert.throws(
    () => verifyLem(bytes),
    (e: unknown) => {
      assert.ok(e instanceof LemFormatError, `expected LemFormatError, got ${e}`);
      assert.equal(e.field, field, e.message);
      assert.match(e.message, message);
      return true;
    },
  );
}

/** A writable copy of a valid file and the generated root over it, for patching fields in place. */
function patchable(model: EncodedModel = mixedModel()) {
  const bytes = writeLem(model).slice();
  const bb = new flatbuffers.ByteBuffer(bytes);
  const dv = new DataView(bytes.buffer);
  /** Position of field `id` of a generated table object. */
  const fieldPos = (t: { bb_pos: number }, id: number) => {
    const o = bb.__offset(t.bb_pos, 4 + 2 * id);
    assert.ok(o, `field ${id} is present`);
    return t.bb_pos + o;
  };
  /** Position of the length word of vector field `id`. */
  const vectorPos = (t: { bb_pos: number }, id: number) => bb.__vector(fieldPos(t, id)) - 4;
  return { bytes, dv, root: Model.getRootAsModel(bb), fieldPos, vectorPos };
}

/** A model written without verification (for inconsistent models the writer would refuse). */
function unverified(change: (m: EncodedModel) => EncodedModel): Uint8Array {
  return writeLem(change(mixedModel()), { verify: false });
}

Deno.test("verifyLem() accepts the files the writer makes", () => {
  verifyLem(writeLem(mixedModel()));
  verifyLem(writeLem(encodeModelDense(randomIrModel(1), "f16", META)));
});

Deno.test("verifyLem() rejects every truncation of a valid file", () => {
  const bytes = writeLem(mixedModel());
  for (let n = 0; n < bytes.length; n++) {
    assert.throws(() => verifyLem(bytes.subarray(0, n)), LemFormatError, `prefix of ${n} bytes`);
  }
});

Deno.test("verifyLem() rejects a wrong file identifier", () => {
  const { bytes } = patchable();
  bytes.set(new TextEncoder().encode("ONNX"), 4);
  rejects(bytes, "file_identifier", /is "ONNX", expected "LEM1": this is not an lstm-edge model file/);
  bytes.set(new TextEncoder().encode("LEM2"), 4);
  rejects(bytes, "file_identifier", /made by a newer lstm-edge/);
});

Deno.test("verifyLem() rejects a newer format_major, saying so", () => {
  const { bytes, dv, root, fieldPos } = patchable();
  dv.setUint16(fieldPos(root, 0), 2, true);
  rejects(
    bytes,
    "format_major",
    /is 2: the file \(format 2\.0\) was made by a newer lstm-edge; this reader reads format 1\.x/,
  );
  dv.setUint16(fieldPos(root, 0), 0, true);
  rejects(bytes, "format_major", /is 0, expected 1/);
});

Deno.test("verifyLem() accepts a newer format_minor", () => {
  const { bytes, dv, root, fieldPos } = patchable();
  dv.setUint16(fieldPos(root, 1), 7, true);
  verifyLem(bytes);
  assert.equal(root.formatMinor(), 7);
});

Deno.test("verifyLem() rejects decreasing CSR row pointers", () => {
  const { bytes, dv, root, vectorPos } = patchable();
  const csr = root.decoder()!.encoding(new SparseCsr()) as SparseCsr;
  const ptr = Array.from(csr.rowPtrArray()!);
  const r = ptr.findIndex((p, i) => i > 0 && p > 0); // first row pointer after a non-empty row
  dv.setUint32(vectorPos(csr, 0) + 4 + 4 * (r + 1), ptr[r] - 1, true);
  rejects(
    bytes,
    "decoder.encoding(SparseCsr).row_ptr",
    new RegExp(`is invalid: CSR row pointer ${r + 1} decreases \\(${ptr[r] - 1} < ${ptr[r]}\\)`),
  );
});

Deno.test("verifyLem() rejects CSR column indices that do not increase within a row or exceed cols", () => {
  const model = mixedModel();
  const csr = model.decoder.encoding;
  assert.ok(csr.kind === "csr");
  const row = csr.rowPtr.findIndex((p, i) => i < csr.rowPtr.length - 1 && csr.rowPtr[i + 1] - p >= 2);
  const swapped = csr.colIdx.slice();
  const j = csr.rowPtr[row];
  [swapped[j], swapped[j + 1]] = [swapped[j + 1], swapped[j]];
  const bad = writeLem({ ...model, decoder: { ...model.decoder, encoding: { ...csr, colIdx: swapped } } }, {
    verify: false,
  });
  rejects(
    bad,
    "decoder.encoding(SparseCsr).col_idx16",
    new RegExp(`row ${row}'s column indices do not strictly increase`),
  );
  const big = csr.colIdx.slice();
  big[big.length - 1] = 5;
  const bad2 = writeLem({ ...model, decoder: { ...model.decoder, encoding: { ...csr, colIdx: big } } }, {
    verify: false,
  });
  rejects(
    bad2,
    "decoder.encoding(SparseCsr).col_idx16",
    /column index 5 at entry \d+ \(row \d+\) is not below 5 cols/,
  );
});

Deno.test("verifyLem() rejects a Dense matrix whose data has the wrong length", () => {
  const ir = randomIrModel(2, { hidden: [5, 200] });
  const model = encodeModelDense(ir, "f32", META);
  const wHh = ir.layers[1].wHh;
  model.layers[1].wHh = encodeDense(wHh, "f32");
  const enc = model.layers[1].wHh.encoding;
  assert.ok(enc.kind === "dense");
  enc.data = enc.data.subarray(0, 4800);
  rejects(
    writeLem(model, { verify: false }),
    "layers[1].w_hh.encoding(Dense).data",
    /^Cannot read model: field "layers\[1\]\.w_hh\.encoding\(Dense\)\.data" holds 4800 bytes, expected 640000 \(800 rows × 200 cols × 4 bytes for F32\)$/,
  );
});

Deno.test("verifyLem() rejects unknown enum values, naming the field", () => {
  const { bytes, root, fieldPos } = patchable();
  const dense = root.embedding()!.encoding(new Dense()) as Dense;
  bytes[fieldPos(dense, 0)] = 7;
  rejects(bytes, "embedding.encoding(Dense).type", /is 7, not a known FloatType \(0 F32, 1 F16\)/);
  const p2 = patchable();
  p2.bytes[p2.fieldPos(p2.root.decoder()!, 3)] = 9;
  rejects(p2.bytes, "decoder.encoding_type", /is 9, not a known Encoding .*may need a newer lstm-edge/);
});

Deno.test("verifyLem() rejects a vocabulary whose size differs from the embedding's rows", () => {
  const bytes = unverified((m) => ({ ...m, vocab: [...m.vocab, "extra"] }));
  rejects(bytes, "embedding.rows", /is 12, expected 13 \(the vocabulary's token count\)/);
});

Deno.test("verifyLem() rejects empty, duplicate and whitespace tokens and out-of-range ids", () => {
  const with3 = (tok: string) =>
    unverified((m) => ({ ...m, vocab: m.vocab.map((t, i) => (i === 3 ? tok : t)) }));
  rejects(with3(""), "vocabulary.tokens[3]", /is empty/);
  rejects(with3("<eos>"), "vocabulary.tokens[3]", /is "<eos>", the same as vocabulary\.tokens\[1\]/);
  rejects(with3("a b"), "vocabulary.tokens[3]", /contains whitespace/);
  rejects(with3("a\u00a0b"), "vocabulary.tokens[3]", /contains whitespace/); // non-ASCII: the TextDecoder path
  assert.deepEqual(readLem(with3("café")).vocab[3], "café");
  // Invalid UTF-8 inside token 3 ("café" with é's continuation byte broken) names the element.
  const broken = with3("café");
  const at = broken.findIndex((b, i) => b === 0xc3 && broken[i + 1] === 0xa9);
  broken[at + 1] = 0x41;
  rejects(broken, "vocabulary.tokens[3]", /is not valid UTF-8/);
  rejects(unverified((m) => ({ ...m, unkId: 12 })), "vocabulary.unk_id", /is 12, expected -1 or an id below/);
  const { bytes, dv, root, fieldPos } = patchable();
  dv.setInt32(fieldPos(root.vocabulary()!, 2), -2, true);
  rejects(bytes, "vocabulary.eos_id", /is -2, expected -1 or an id below the vocabulary's 12 tokens/);
});

Deno.test("verifyLem() reads and checks a vocabulary alike where its fast loop stops part-way", () => {
  // The plain-ASCII loop takes tokens 0..2, stops at a 70-byte token (longer than it handles), and the
  // general loop goes on: it keeps the long token, and still finds a later duplicate of an early one.
  const long = "x".repeat(70);
  const vocab = (m: EncodedModel, later: string) =>
    m.vocab.map((t, i) => (i === 3 ? long : i === 5 ? later : t));
  const file = readLem(unverified((m) => ({ ...m, vocab: vocab(m, "café") })));
  assert.equal(file.vocab[3], long);
  assert.equal(file.vocabIndex.get(long), 3);
  assert.equal(file.vocabIndex.get(file.vocab[1]), 1);
  const dup = unverified((m) => ({ ...m, vocab: vocab(m, m.vocab[2]) }));
  rejects(dup, "vocabulary.tokens[5]", /the same as vocabulary\.tokens\[2\]/);
});

Deno.test("verifyLem() accepts a Character vocabulary of single characters, space and newline included", () => {
  const file = readLem(writeLem(characterModel()));
  assert.equal(file.tokenizer.kind, "character");
  assert.equal(file.formatMinor, 1);
  assert.deepEqual(file.vocab.slice(0, 3), ["<unk>", " ", "\n"]);
  assert.equal(file.vocabIndex.get("😀"), 11); // a surrogate pair is one character
  assert.equal(readLem(writeLem(mixedModel())).tokenizer.kind, "whitespace");
});

Deno.test("verifyLem() rejects, in a Character vocabulary, tokens longer than one character except unk/eos", () => {
  const model = (change: (m: EncodedModel) => EncodedModel) =>
    writeLem(change(characterModel()), { verify: false });
  const with4 = (tok: string) => model((m) => ({ ...m, vocab: m.vocab.map((t, i) => (i === 4 ? tok : t)) }));
  rejects(
    with4("ab"),
    "vocabulary.tokens[4]",
    /is "ab", 2 UTF-16 units; a Character tokenizer's tokens are one/,
  );
  rejects(with4("  "), "vocabulary.tokens[4]", /is " {2}", 2 UTF-16 units/);
  rejects(with4(""), "vocabulary.tokens[4]", /is empty/);
  rejects(with4("\n"), "vocabulary.tokens[4]", /the same as vocabulary\.tokens\[2\]/);
  // "<unk>" at unk_id is allowed; the same string elsewhere is not, nor without an unk_id.
  rejects(model((m) => ({ ...m, unkId: -1 })), "vocabulary.tokens[0]", /is "<unk>", 5 UTF-16 units/);
  verifyLem(model((m) => ({ ...m, unkId: -1, eosId: 0 })));
  rejects(
    model((m) => ({ ...m, tokenizer: { ...m.tokenizer, numberToken: "a" } })),
    "vocabulary.tokenizer.number_token",
    /a Character tokenizer has no number token/,
  );
  rejects(
    model((m) => ({ ...m, tokenizer: { ...m.tokenizer, eosPerLine: true } })),
    "vocabulary.tokenizer.eos_per_line",
    /is true, but a Character tokenizer appends nothing \(a newline is the "\\n" token\); expected false/,
  );
  // The same single-character vocabulary with spaces is refused under the Whitespace tokenizer.
  rejects(
    model((m) => ({ ...m, tokenizer: { kind: "whitespace", lowercase: false, eosPerLine: false } })),
    "vocabulary.tokens[1]",
    /is " ", which contains whitespace/,
  );
});

Deno.test("verifyLem() rejects an unknown TokenizerKind by name", () => {
  const { bytes, root, fieldPos } = patchable(characterModel());
  bytes[fieldPos(root.vocabulary()!.tokenizer()!, 0)] = 2;
  rejects(
    bytes,
    "vocabulary.tokenizer.kind",
    /is 2, not a known TokenizerKind \(0 Whitespace, 1 Character\); the file may need a newer lstm-edge/,
  );
});

Deno.test("verifyLem() rejects a vector whose length runs past the end of the file", () => {
  const { bytes, dv, root, vectorPos } = patchable();
  const dense = root.embedding()!.encoding(new Dense()) as Dense;
  dv.setUint32(vectorPos(dense, 1), 0x7fffffff, true);
  rejects(
    bytes,
    "embedding.encoding(Dense).data",
    /claims 2147483647 elements \(2147483647 bytes\) at byte \d+, but only \d+ bytes follow/,
  );
});

Deno.test("verifyLem() rejects offsets outside the file", () => {
  const { bytes, dv, root, fieldPos } = patchable();
  const p = fieldPos(root, 4); // embedding
  dv.setUint32(p, bytes.length - p + 16, true);
  rejects(bytes, "embedding", /points to byte \d+, past the end of the \d+-byte file/);
  const p2 = patchable();
  p2.dv.setUint32(0, 0xfffffff0, true);
  rejects(p2.bytes, "(root offset)", /beyond the 2 GiB limit/);
});

Deno.test("verifyLem() rejects absurd shapes before allocating anything", () => {
  const { bytes, dv, root, fieldPos } = patchable();
  dv.setUint32(fieldPos(root.embedding()!, 1), 0xffffffff, true);
  dv.setUint32(fieldPos(root.embedding()!, 2), 0xffffffff, true);
  rejects(
    bytes,
    "embedding.encoding(Dense).data",
    /expected 36893488130239234050 \(4294967295 rows × 4294967295 cols × 2 bytes for F16\)/,
  );
});

Deno.test("verifyLem() rejects a file whose size is not a multiple of 16", () => {
  const bytes = writeLem(mixedModel());
  const longer = new Uint8Array(bytes.length + 4);
  longer.set(bytes);
  rejects(longer, "", /is \d+ bytes, not a multiple of 16: it is truncated or has bytes appended/);
});

Deno.test("verifyLem() rejects quantized matrices with bad bits, group size or scales", () => {
  const model = mixedModel();
  const q = model.layers[0].wIh.encoding;
  assert.ok(q.kind === "quantized");
  const withQ = (change: object) =>
    unverified((m) => {
      const layers = [...m.layers];
      layers[0] = { ...layers[0], wIh: { ...layers[0].wIh, encoding: { ...q, ...change } } };
      return { ...m, layers };
    });
  const p = patchable();
  p.bytes[p.fieldPos(p.root.layers(0)!.wIh()!.encoding(new Quantized()) as Quantized, 0)] = 5;
  rejects(p.bytes, "layers[0].w_ih.encoding(Quantized).bits", /is 5, expected 4 or 8/);
  rejects(
    withQ({ groupSize: 0 }),
    "layers[0].w_ih.encoding(Quantized).group_size",
    /is 0, expected at least 1/,
  );
  const nan = q.scales.slice();
  nan[3] = NaN;
  rejects(
    withQ({ scales: nan }),
    "layers[0].w_ih.encoding(Quantized).scales",
    /non-finite scale \(NaN\) at index 3/,
  );
  rejects(
    withQ({ groupSize: 3 }),
    "layers[0].w_ih.encoding(Quantized).scales",
    /holds 16 scales, expected 32 \(16 rows × 2 groups/,
  );
  rejects(
    withQ({ bits: 4 }),
    "layers[0].w_ih.encoding(Quantized).data",
    /holds 96 bytes, expected 48 \(16 rows × 3 bytes for 6 cols of int4\)/,
  );
});

Deno.test("verifyLem() rejects inconsistent low-rank, TT and nested encodings", () => {
  const rand = mulberry32(4);
  const at = (k: 0 | 1, name: "wIh" | "wHh", matrix: EncodedModel["decoder"]) =>
    unverified((m) => {
      const layers = [...m.layers];
      layers[k] = { ...layers[k], [name]: matrix };
      return { ...m, layers };
    });
  const lr = lowRank(rand, "x", 20, 4, 2, { type: "f32" });
  const lre = lr.encoding;
  assert.ok(lre.kind === "lowrank");
  const withB = (rows: number, cols: number) =>
    at(1, "wIh", { ...lr, encoding: { ...lre, b: dense("f32")(randomMatrix(rand, "b", rows, cols)) } });
  rejects(withB(2, 3), "layers[1].w_ih.encoding(LowRank).b.cols", /is 3, expected 4 \(the matrix's cols\)/);
  rejects(withB(3, 4), "layers[1].w_ih.encoding(LowRank).b.rows", /is 3, expected 2 \(a\.cols, the rank\)/);
  rejects(
    at(1, "wIh", { ...lr, encoding: { ...lre, a: lowRank(rand, "y", 20, 2, 1, { type: "f32" }) } }),
    "layers[1].w_ih.encoding(LowRank).a.encoding",
    /is LowRank; matrices inside LowRank, TensorTrain, SparseCsr and SparseBlocks must be Dense or Quantized/,
  );
  rejects(
    at(1, "wHh", tensorTrain(rand, "t", 20, 5, [5, 5], [1, 5], [2, 2, 1], { type: "f32" })),
    "layers[1].w_hh.encoding(TensorTrain).ranks[0]",
    /is 2, expected 1/,
  );
  rejects(
    at(1, "wHh", tensorTrain(rand, "t", 20, 5, [4, 4], [1, 5], [1, 2, 1], { type: "f32" })),
    "layers[1].w_hh.encoding(TensorTrain).row_modes",
    /multiply to 16, fewer than the matrix's 20 rows/,
  );
  const tt = tensorTrain(rand, "t", 20, 5, [5, 5], [1, 5], [1, 2, 1], { type: "f32" });
  assert.ok(tt.encoding.kind === "tt");
  tt.encoding.cores[1] = quantize(randomIrModel(1).decoder, 8, 7);
  rejects(
    at(1, "wHh", tt),
    "layers[1].w_hh.encoding(TensorTrain).cores[1].rows",
    /is 20, expected 2 \(ranks\[1\]\)/,
  );
  rejects(
    at(1, "wHh", {
      ...tt,
      encoding: {
        ...tt.encoding,
        cores: [tt.encoding.cores[0], sparse(randomIrModel(1).decoder, 0.5, 16, { type: "f32" })],
      },
    }),
    "layers[1].w_hh.encoding(TensorTrain).cores[1].encoding",
    /is SparseCsr; matrices inside/,
  );
});

Deno.test("verifyLem() rejects a CSR matrix with both or neither index vector", () => {
  const { bytes, dv, root, fieldPos } = patchable();
  const csr = root.decoder()!.encoding(new SparseCsr()) as SparseCsr;
  // Point the vtable entry of col_idx16 (field 1) at nothing: neither vector is left.
  const vt = csr.bb_pos - dv.getInt32(csr.bb_pos, true);
  fieldPos(csr, 1);
  dv.setUint16(vt + 6, 0, true);
  rejects(
    bytes,
    "decoder.encoding(SparseCsr).col_idx32",
    /is missing: exactly one of col_idx16 and col_idx32 must be present/,
  );
});

Deno.test("verifyLem() rejects a missing required field", () => {
  const { bytes, dv, root } = patchable();
  const vt = root.bb_pos - dv.getInt32(root.bb_pos, true);
  dv.setUint16(vt + 4 + 2 * 6, 0, true); // decoder
  rejects(bytes, "decoder", /is missing \(required\)/);
});

/** A minimal valid model built by hand (vocab 1, sizes 1 → 1), with `metrics` metric-table offsets. */
function handBuilt(metrics: (b: flatbuffers.Builder) => number[]): Uint8Array {
  const b = new flatbuffers.Builder(1024);
  const matrix = (rows: number, cols: number) => {
    const data = Dense.createDataVector(b, new Uint8Array(4 * rows * cols));
    const dense = Dense.createDense(b, FloatType.F32, data);
    return Matrix.createMatrix(b, 0, rows, cols, Encoding.Dense, dense);
  };
  const embedding = matrix(1, 1);
  const wIh = matrix(4, 1);
  const wHh = matrix(4, 1);
  const bias = LstmLayer.createBiasVector(b, [0, 0, 0, 0]);
  LstmLayer.startLstmLayer(b);
  LstmLayer.addInputSize(b, 1);
  LstmLayer.addHiddenSize(b, 1);
  LstmLayer.addWIh(b, wIh);
  LstmLayer.addWHh(b, wHh);
  LstmLayer.addBias(b, bias);
  const layers = Model.createLayersVector(b, [LstmLayer.endLstmLayer(b)]);
  const decoder = matrix(1, 1);
  const tokens = Vocabulary.createTokensVector(b, [b.createString("a")]);
  Vocabulary.startVocabulary(b);
  Vocabulary.addTokens(b, tokens);
  const vocabulary = Vocabulary.endVocabulary(b);
  const metricsVector = Metadata.createMetricsVector(b, metrics(b));
  const metadata = Metadata.createMetadata(b, 0, 0, 0, 0, 0, metricsVector);
  Model.startModel(b);
  Model.addFormatMajor(b, 1);
  Model.addMetadata(b, metadata);
  Model.addVocabulary(b, vocabulary);
  Model.addEmbedding(b, embedding);
  Model.addLayers(b, layers);
  Model.addDecoder(b, decoder);
  b.prep(16, 0); // pad like a writer with 16-byte data alignment
  Model.finishModelBuffer(b, Model.endModel(b));
  return b.asUint8Array().slice();
}

Deno.test("verifyLem() accepts a minimal hand-built model without optional fields", () => {
  verifyLem(handBuilt((b) => [Metric.createMetric(b, b.createString("ppl"), 1)]));
});

Deno.test("verifyLem() stays linear: a table referenced thousands of times is rejected, not re-walked", () => {
  const bytes = handBuilt((b) => {
    const metric = Metric.createMetric(b, b.createString("x".repeat(4000)), 1);
    return Array.from({ length: 5000 }, () => metric);
  });
  const start = performance.now();
  rejects(bytes, "metadata.metrics[13].name", /objects are shared or overlap/);
  assert.ok(performance.now() - start < 1000);
});

/** The mixed model with a 4 × 4 block-sparse int8 decoder (12 × 5: three block rows, two block columns). */
function blocksModel(values = { type: "int8" as const, groupSize: 16 }, block = { rows: 4, cols: 4 }) {
  const model = mixedModel();
  const ir = randomIrModel(1, { vocab: 12, embed: 6, hidden: [4, 5] });
  return { ...model, decoder: blockSparse(ir.decoder, 0, block, values) };
}

/** The blocks model with its decoder's SparseBlocks encoding changed by `change`, written unverified. */
function withBlocks(change: (e: SparseBlocksEnc) => SparseBlocksEnc): Uint8Array {
  const model = blocksModel();
  const e = model.decoder.encoding as SparseBlocksEnc;
  return writeLem({ ...model, decoder: { ...model.decoder, encoding: change(e) } }, { verify: false });
}

const BLOCKS = "decoder.encoding(SparseBlocks)";

Deno.test("verifyLem() accepts SparseBlocks of every shape and value type the kernels run; the file is format 1.1", () => {
  for (const rows of [1, 4]) {
    for (const cols of [4, 8, 16]) {
      for (
        const values of [{ type: "f32" as const }, { type: "int8" as const, groupSize: rows * cols * 2 }]
      ) {
        const bytes = writeLem(blocksModel(values as never, { rows, cols }));
        verifyLem(bytes);
        assert.equal(readLem(bytes).formatMinor, 1, `${rows}×${cols} ${values.type}`);
      }
    }
  }
  assert.equal(readLem(writeLem(mixedModel())).formatMinor, 0, "a file without SparseBlocks stays 1.0");
});

Deno.test("verifyLem() rejects SparseBlocks with an unknown block shape", () => {
  rejects(withBlocks((e) => ({ ...e, blockRows: 2 })), `${BLOCKS}.block_rows`, /is 2, expected 1 or 4/);
  rejects(withBlocks((e) => ({ ...e, blockCols: 5 })), `${BLOCKS}.block_cols`, /is 5, expected 4, 8 or 16/);
});

Deno.test("verifyLem() rejects SparseBlocks row pointers, indices and values that do not fit", () => {
  rejects(
    withBlocks((e) => ({ ...e, rowPtr: e.rowPtr.subarray(1) })),
    `${BLOCKS}.row_ptr`,
    /holds 3 entries, expected 4 \(block rows \(ceil\(12 rows \/ 4\)\) \+ 1\)/,
  );
  rejects(
    withBlocks((e) => ({ ...e, blockIdx: Uint16Array.from(e.blockIdx, (j, k) => k === 1 ? 2 : j) })),
    `${BLOCKS}.block_idx`,
    /block index 2 at entry 1 \(row 0\) is not below 2 blocks per row \(ceil\(5 cols \/ 4\)\)/,
  );
  rejects(
    withBlocks((e) => ({ ...e, blockIdx: Uint16Array.from(e.blockIdx, (j, k) => k === 1 ? 0 : j) })),
    `${BLOCKS}.block_idx`,
    /row 0's block indices do not strictly increase \(entry 1: 0 after 0\)/,
  );
  const model = blocksModel();
  const e = model.decoder.encoding as SparseBlocksEnc;
  const data = (count: number) => new Float32Array(count).map((_, i) => Math.sin(i));
  const values = (v: EncodedMatrix) =>
    writeLem({ ...model, decoder: { ...model.decoder, encoding: { ...e, values: v } } }, { verify: false });
  const n = e.blockIdx.length * 16;
  rejects(
    values(quantize(irMatrix("decoder.values", 1, n - 16, data(n - 16)), 8, 16)),
    `${BLOCKS}.values.cols`,
    new RegExp(`is ${n - 16}, expected ${n} \\(nblocks × 16\\)`),
  );
  rejects(
    values(quantize(irMatrix("decoder.values", 1, n, data(n)), 8, 8)),
    `${BLOCKS}.values.encoding(Quantized).group_size`,
    /is 8, not a multiple of the block size 16 \(4 × 4\)/,
  );
  rejects(
    values(quantize(irMatrix("decoder.values", 1, n, data(n)), 4, 16)),
    `${BLOCKS}.values.encoding(Quantized).bits`,
    /is 4; SparseBlocks values must be F32 or Quantized 8-bit/,
  );
  rejects(
    values(encodeDense(irMatrix("decoder.values", 1, n, data(n)), "f16")),
    `${BLOCKS}.values.encoding(Dense).type`,
    /is 1; SparseBlocks values must be F32 \(0\) or Quantized 8-bit/,
  );
});

Deno.test("verifyLem() checks f16 scales (format 1.1): one of scales and scales_f16, the count, finite halves", () => {
  const ir = randomIrModel(1, { vocab: 12, embed: 6, hidden: [4, 5] });
  const q = encodeStorage(ir.decoder, { type: "int4", groupSize: 2, scales: "f16" });
  const model = { ...mixedModel(), decoder: q };
  const bytes = writeLem(model);
  assert.equal(readLem(bytes).formatMinor, 1);
  const e = q.encoding as Extract<EncodedMatrix["encoding"], { kind: "quantized" }>;
  rejects(
    writeLem({ ...model, decoder: { ...q, encoding: { ...e, scales: e.scales.subarray(1) } } }, {
      verify: false,
    }),
    "decoder.encoding(Quantized).scales_f16",
    /holds 35 scales, expected 36 \(12 rows × 3 groups of up to 2 columns\)/,
  );
  // An Inf scale cannot be written (the writer refuses it); patch one into the file's f16 scales.
  const bad = bytes.slice();
  const file = readLem(bad);
  const info = file.decoder as Extract<typeof file.decoder, { kind: "quantized" }>;
  new DataView(bad.buffer).setUint16(info.scalesOffset - bad.byteOffset + 2 * 5, 0x7c00, true);
  rejects(bad, "decoder.encoding(Quantized).scales_f16", /holds a non-finite scale \(0x7c00\) at index 5/);
  // The same file one byte off 2-byte alignment in memory: its scales are read one by one (DataView), not
  // through a Uint16Array, with the same verdicts.
  const odd = (b: Uint8Array) => {
    const copy = new Uint8Array(b.length + 1).subarray(1);
    copy.set(b);
    return copy;
  };
  assert.equal(readLem(odd(bytes)).decoder.kind, "quantized");
  rejects(
    odd(bad),
    "decoder.encoding(Quantized).scales_f16",
    /holds a non-finite scale \(0x7c00\) at index 5/,
  );
  assert.throws(
    () =>
      writeLem({ ...model, decoder: { ...q, encoding: { ...e, scales: e.scales.map((s) => s + 1e-9) } } }),
    /is not a finite float16 value/,
  );
  // Both vectors: point the vtable entry of scales (field 2) at scales_f16's field as well.
  const { bytes: both, dv, root, fieldPos } = patchable(model);
  const quant = root.decoder()!.encoding(new Quantized()) as Quantized;
  const vt = quant.bb_pos - dv.getInt32(quant.bb_pos, true);
  dv.setUint16(vt + 4 + 2 * 2, fieldPos(quant, 4) - quant.bb_pos, true);
  rejects(both, "decoder.encoding(Quantized).scales_f16", /is present beside scales: at most one/);
});
