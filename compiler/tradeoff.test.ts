import assert from "node:assert/strict";
import { importOnnx } from "./onnx/import.ts";
import { measureTradeoff, tradeoffMarkdown } from "./tradeoff.ts";

Deno.test("measureTradeoff() measures each method on a fixture and tradeoffMarkdown() tabulates it", async () => {
  const ir = importOnnx(Deno.readFileSync(new URL("../tests/fixtures/lstm2.onnx", import.meta.url)), {
    fileName: "lstm2.onnx",
  });
  const ids = Array.from({ length: 60 }, (_, i) => (i * 7) % ir.vocab.length);
  const rows = await measureTradeoff(ir, {
    methods: ["f32", "int8", "prune:0+f32", "lowrank:4+int8"],
    validIds: ids.slice(0, 30),
    testIds: ids.slice(30),
    stepTokens: 10,
    sequenceTokens: 20,
  });
  assert.deepEqual(rows.map((r) => r.method), ["f32", "int8", "prune:0+f32", "lowrank:4+int8"]);
  assert.equal(rows[0].ratioToF32, 1);
  assert.ok(rows[1].fileBytes < rows[0].fileBytes);
  assert.ok(Math.abs(rows[2].validPerplexity / rows[0].validPerplexity - 1) < 1e-4, "prune:0 is lossless");
  for (const r of rows) {
    assert.ok(r.msPerTokenStepwise > 0 && r.msPerTokenSequence > 0 && r.testPerplexity > 1);
  }
  const md = tradeoffMarkdown(rows);
  assert.match(
    md,
    /^\| method \| trained \| largest tensor \| file bytes \| ratio to f32 \| valid PPL \| test PPL \|/,
  );
  assert.match(md, /\| `int8` \| post hoc \| int8 per-row \| [\d,]+ \| \d+\.\d % \|/);
  assert.equal(md.trim().split("\n").length, 2 + rows.length);
});

Deno.test("measureTradeoff() rejects an invalid method string before measuring anything", async () => {
  const ir = importOnnx(Deno.readFileSync(new URL("../tests/fixtures/lstm2.onnx", import.meta.url)), {
    fileName: "lstm2.onnx",
  });
  await assert.rejects(
    () => measureTradeoff(ir, { methods: ["f32", "tt:0"], validIds: [1, 2], testIds: [1, 2] }),
    /Invalid method "tt:0"/,
  );
});
