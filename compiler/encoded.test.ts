import assert from "node:assert/strict";
import { encodeDense, encodeModelDense } from "./encoded.ts";
import { irMatrix } from "./ir.ts";
import { randomIrModel } from "../runtime/format/test_fixtures.ts";

Deno.test("encodeDense() stores f32 values as little-endian bytes, row-major", () => {
  const m = encodeDense(irMatrix("m", 1, 2, new Float32Array([1, -2])), "f32");
  assert.deepEqual(m.encoding, {
    kind: "dense",
    type: "f32",
    data: new Uint8Array([0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0]),
  });
  assert.equal(m.rows, 1);
  assert.equal(m.cols, 2);
});

Deno.test("encodeDense() rounds to the nearest f16, ties to even", () => {
  // 1 + 2^-11 lies halfway between 1 (even) and 1 + 2^-10: → 0x3c00.
  // 1 + 3·2^-11 lies halfway between 1 + 2^-10 (odd) and 1 + 2^-9 (even): → 0x3c02.
  // 65520 rounds past the largest f16 (65504): → +inf 0x7c00.
  const m = encodeDense(
    irMatrix("m", 2, 2, new Float32Array([1 + 2 ** -11, 1 + 3 * 2 ** -11, 65520, -0.5])),
    "f16",
  );
  assert.deepEqual(m.encoding, {
    kind: "dense",
    type: "f16",
    data: new Uint8Array([0x00, 0x3c, 0x02, 0x3c, 0x00, 0x7c, 0x00, 0xb8]),
  });
});

Deno.test("encodeDense() rejects data of the wrong length", () => {
  const bad = { name: "decoder", rows: 2, cols: 3, data: new Float32Array(5) };
  assert.throws(() => encodeDense(bad, "f32"), /Matrix "decoder": expected 2×3 = 6 values, found 5/);
});

Deno.test("encodeModelDense() encodes every matrix and takes the source from the IR", () => {
  const ir = randomIrModel(3);
  const m = encodeModelDense(ir, "f16", { name: "t", compiler: "lstm-edge test", recipe: "{}" });
  assert.equal(m.embedding.encoding.kind, "dense");
  assert.deepEqual(m.layers.map((l) => [l.wIh.rows, l.wIh.cols, l.wHh.rows, l.wHh.cols]), [[20, 6, 20, 5], [
    28,
    5,
    28,
    7,
  ]]);
  assert.deepEqual([m.decoder.rows, m.decoder.cols], [20, 7]);
  assert.deepEqual(m.metadata, {
    name: "t",
    sourceFile: "random.onnx",
    sourceSha256: "0".repeat(64),
    compiler: "lstm-edge test",
    recipe: "{}",
    metrics: [],
  });
});
