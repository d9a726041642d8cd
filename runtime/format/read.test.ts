import assert from "node:assert/strict";
import { writeLem } from "../../compiler/writer.ts";
import { LemFormatError } from "./errors.ts";
import { floatsAt, formatSummary, readLem, summarize, uint16sAt, uint32sAt } from "./read.ts";
import { mixedModel } from "./test_fixtures.ts";

Deno.test("readLem() describes every matrix with offsets into bytes.buffer", () => {
  const model = mixedModel();
  const bytes = writeLem(model);
  const file = readLem(bytes);
  assert.equal(file.bytes, bytes);
  const emb = file.embedding;
  assert.ok(emb.kind === "dense" && model.embedding.encoding.kind === "dense");
  assert.deepEqual({ ...emb, dataOffset: 0 }, {
    kind: "dense",
    name: "embedding",
    rows: 12,
    cols: 6,
    bytes: 144,
    floatType: "f16",
    dataOffset: 0,
    dataLength: 144,
  });
  assert.deepEqual(
    new Uint8Array(bytes.buffer, emb.dataOffset, emb.dataLength),
    model.embedding.encoding.data,
  );
  const q = file.layers[0].wHh;
  assert.ok(q.kind === "quantized");
  assert.deepEqual([q.bits, q.groupSize, q.groupsPerRow, q.scalesCount, q.dataLength], [4, 3, 2, 32, 32]);
  const tt = file.layers[1].wHh;
  assert.ok(tt.kind === "tt");
  assert.deepEqual([tt.rowModes, tt.colModes, tt.ranks, tt.cores.map((c) => [c.rows, c.cols])], [
    [5, 5],
    [1, 5],
    [1, 2, 1],
    [[1, 10], [2, 25]],
  ]);
  const csr = file.decoder;
  assert.ok(csr.kind === "csr" && model.decoder.encoding.kind === "csr");
  assert.equal(csr.colIdxBits, 16);
  assert.deepEqual(uint32sAt(bytes.buffer, csr.rowPtrOffset, 13), model.decoder.encoding.rowPtr);
  assert.deepEqual(uint16sAt(bytes.buffer, csr.colIdxOffset, csr.nnz), model.decoder.encoding.colIdx);
});

Deno.test("floatsAt() returns a view when aligned and a copy otherwise", () => {
  const buf = new ArrayBuffer(16);
  new DataView(buf).setFloat32(4, 1.5, true);
  new DataView(buf).setFloat32(9, -2, true);
  const view = floatsAt(buf, 4, 1);
  assert.equal(view.buffer, buf);
  assert.deepEqual([...view], [1.5]);
  const copy = floatsAt(buf, 9, 1);
  assert.notEqual(copy.buffer, buf);
  assert.deepEqual([...copy], [-2]);
});

Deno.test("summarize() lists every tensor with its encoding, shape and bytes", () => {
  const s = summarize(readLem(writeLem(mixedModel())));
  assert.deepEqual(s.tensors.map((t) => [t.name, t.encoding, t.shape.join("×"), t.bytes]), [
    ["embedding", "dense f16", "12×6", 144],
    ["layers.0.w_ih", "int8 per-row", "16×6", 160],
    ["layers.0.w_hh", "int4 g3", "16×4", 160],
    ["layers.0.bias", "dense f32", "1×16", 64],
    ["layers.1.w_ih", "lowrank r2 (int8 per-row × int8 per-row)", "20×4", 136],
    ["layers.1.w_hh", "tt [5,5]×[1,5] ranks [1,2,1] (dense f32)", "20×5", 268],
    ["layers.1.bias", "dense f32", "1×20", 80],
    ["decoder", "csr16 38.3% (int4 g4)", "12×5", 134],
    ["decoder_bias", "dense f32", "1×12", 48],
  ]);
  assert.equal(s.tensorBytes, 1194);
  assert.deepEqual([s.format, s.vocabSize, s.embeddingSize], ["1.0", 12, 6]);
  assert.deepEqual(s.metadata.metrics, [{ name: "perplexity", value: 123.5 }]);
  assert.match(formatSummary(s), /decoder\s+csr16 38\.3% \(int4 g4\)\s+12×5\s+134/);
  assert.match(formatSummary(s), /^ {2}perplexity = 123\.5$/m);
});

Deno.test("formatSummary() prints metrics with at most 7 significant digits, whole numbers as they are", () => {
  const s = summarize(readLem(writeLem(mixedModel())));
  s.metadata.metrics = [
    { name: "perplexity_compiled", value: 119.50295372103557 },
    { name: "check_max_abs_logit_diff", value: 1.7881393432617188e-7 },
    { name: "eval_tokens", value: 73759 },
  ];
  const text = formatSummary(s);
  assert.match(text, /^ {2}perplexity_compiled = 119\.503$/m);
  assert.match(text, /^ {2}check_max_abs_logit_diff = 1\.788139e-7$/m);
  assert.match(text, /^ {2}eval_tokens = 73759$/m);
});

Deno.test("readLem() gives zeros for an absent decoder_bias", () => {
  const bytes = writeLem(mixedModel()).slice();
  const dv = new DataView(bytes.buffer);
  const root = dv.getUint32(0, true);
  const vtable = root - dv.getInt32(root, true);
  dv.setUint16(vtable + 4 + 2 * 7, 0, true); // decoder_bias: absent
  const file = readLem(bytes);
  assert.deepEqual(file.decoderBias, new Float32Array(12));
  assert.equal(summarize(file).tensors.at(-1)!.name, "decoder");
});

Deno.test("readLem() throws LemFormatError for a file that is not a model", () => {
  assert.throws(
    () => readLem(new TextEncoder().encode("PK\x03\x04 this is a zip file, not a model")),
    LemFormatError,
  );
  assert.throws(() => readLem(new Uint8Array(0)), /Cannot read model: the file is 0 bytes/);
});
