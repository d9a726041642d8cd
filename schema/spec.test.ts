/**
 * The worked examples in SPEC.md are computed here by the real encoders and writer and must appear in
 * SPEC.md byte for byte, so the documentation cannot drift from the code.
 */
import assert from "node:assert/strict";
import { encodeDense } from "../compiler/encoded.ts";
import { irMatrix } from "../compiler/ir.ts";
import { writeLem } from "../compiler/writer.ts";
import { readLem } from "../runtime/format/read.ts";
import { blockSparse, mixedModel, quantize, sparse, tensorTrain } from "../runtime/format/test_fixtures.ts";
import { mulberry32 } from "../runtime/random.ts";

const spec = await Deno.readTextFile(new URL("SPEC.md", import.meta.url));
const hex = (bytes: Uint8Array) => [...bytes].map((b) => b.toString(16).padStart(2, "0")).join(" ");

Deno.test("SPEC.md's f16 example is what encodeDense() writes", () => {
  const m = encodeDense(irMatrix("m", 2, 3, new Float32Array([1, -2, 0.5, 0, 65504, -0.25])), "f16");
  assert.ok(m.encoding.kind === "dense");
  const h = hex(m.encoding.data);
  assert.equal(h, "00 3c 00 c0 00 38 00 00 ff 7b 00 b4");
  assert.ok(spec.includes("00 3c  00 c0  00 38  |  00 00  ff 7b  00 b4"));
});

Deno.test("SPEC.md's int8 and int4 examples follow the documented layout", () => {
  const q8 = quantize(irMatrix("m", 1, 4, new Float32Array([0.5, -1.0, 0.25, 1.27])), 8, 4);
  assert.ok(q8.encoding.kind === "quantized");
  assert.ok(spec.includes(`scales: ${hex(new Uint8Array(q8.encoding.scales.buffer))}`));
  assert.ok(spec.includes(`data:   ${hex(q8.encoding.data)}`));
  const q4 = quantize(irMatrix("m", 1, 4, new Float32Array([1, -2, 3, 7])), 4, 4);
  assert.ok(q4.encoding.kind === "quantized");
  assert.deepEqual([...q4.encoding.scales], [1]);
  assert.ok(spec.includes(`row is \`${hex(q4.encoding.data)}\``));
  const q3 = quantize(irMatrix("m", 1, 3, new Float32Array([1, -2, 3])), 4, 3); // scale 3/7: q = [2, -5, 7]
  assert.ok(q3.encoding.kind === "quantized");
  assert.equal(hex(q3.encoding.data), "b2 07");
  assert.ok(spec.includes("data:   e1 03"));
});

Deno.test("SPEC.md's CSR example is what the writer stores", () => {
  const m = sparse(
    irMatrix("decoder", 3, 4, new Float32Array([0, 5, 0, 0, 0, 0, 0, 0, 7, 0, 0, 9])),
    1,
    16,
    { type: "f32" },
  );
  assert.ok(m.encoding.kind === "csr" && m.encoding.values.encoding.kind === "dense");
  const rowPtr = new Uint8Array(m.encoding.rowPtr.buffer);
  const colIdx = new Uint8Array(m.encoding.colIdx.buffer);
  const sep = (bytes: Uint8Array, width: number) =>
    hex(bytes).split(" ").reduce((s, b, i) => s + (i === 0 ? "" : i % width === 0 ? "  " : " ") + b, "");
  assert.ok(spec.includes(`row_ptr:   ${sep(rowPtr, 4)}`));
  assert.ok(spec.includes(`col_idx16: ${sep(colIdx, 2)}`));
  assert.ok(spec.includes(`Dense F32: ${sep(m.encoding.values.encoding.data, 4)}`));
});

Deno.test("SPEC.md's SparseBlocks example is what the block-pruning encoder stores", () => {
  const m = blockSparse(
    irMatrix("decoder", 2, 6, new Float32Array([0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 0, 0])),
    1e-9,
    { rows: 1, cols: 4 },
    { type: "f32" },
  );
  assert.ok(m.encoding.kind === "blocks" && m.encoding.values.encoding.kind === "dense");
  const sep = (bytes: Uint8Array, width: number) =>
    hex(bytes).split(" ").reduce((s, b, i) => s + (i === 0 ? "" : i % width === 0 ? "  " : " ") + b, "");
  assert.ok(spec.includes(`row_ptr:     ${sep(new Uint8Array(m.encoding.rowPtr.buffer), 4)}`));
  assert.ok(spec.includes(`block_idx:   ${sep(new Uint8Array(m.encoding.blockIdx.buffer), 2)}`));
  assert.ok(spec.includes(`Dense F32: ${sep(m.encoding.values.encoding.data, 4)}`));
});

Deno.test("SPEC.md's TT example has the core shapes the verifier accepts", () => {
  const model = mixedModel();
  const rand = mulberry32(1);
  // A 4 × 6 TT matrix can stand in for a layer's w_ih only with matching sizes; check it as a bare encoding.
  const tt = tensorTrain(rand, "t", 4, 6, [2, 2], [2, 3], [1, 2, 1], { type: "f32" });
  assert.ok(tt.encoding.kind === "tt");
  assert.deepEqual(tt.encoding.cores.map((c) => [c.rows, c.cols]), [[1, 8], [2, 6]]);
  // In a model: w_ih of layer 0 is 16 × 6 → row modes [4, 4], col modes [2, 3], ranks [1, 2, 1].
  const layer = model.layers[0];
  const inModel = {
    ...model,
    layers: [
      { ...layer, wIh: tensorTrain(rand, "w", 16, 6, [4, 4], [2, 3], [1, 2, 1], { type: "f32" }) },
      model.layers[1],
    ],
  };
  const file = readLem(writeLem(inModel));
  assert.equal(file.layers[0].wIh.kind, "tt");
  const g = tt.encoding.cores.map((c) => {
    assert.ok(c.encoding.kind === "dense");
    return new Float32Array(c.encoding.data.buffer);
  });
  // W[3, 4] by the SPEC's formula equals the general contraction with i = (1, 1), j = (1, 1).
  const w34 = g[0][6] * g[1][0 * 6 + 4] + g[0][7] * g[1][1 * 6 + 4];
  let general = 0;
  for (let a = 0; a < 2; a++) general += g[0][((1 * 2 + 1) * 2) + a] * g[1][a * 6 + (1 * 3 + 1) * 1 + 0];
  assert.equal(w34, general);
  assert.ok(spec.includes("W[3, 4] = cores[0][0, 6] · cores[1][0, 4] + cores[0][0, 7] · cores[1][1, 4]"));
});
