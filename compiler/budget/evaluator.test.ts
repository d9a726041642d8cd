import assert from "node:assert/strict";
import { RuntimeEvaluator, subsetSegments } from "./evaluator.ts";
import { importOnnx } from "../onnx/import.ts";
import { LstmModel } from "../../runtime/model.ts";

const ir = () =>
  importOnnx(Deno.readFileSync(new URL("../../tests/fixtures/lstm2.onnx", import.meta.url)), {
    fileName: "lstm2.onnx",
  });

Deno.test("subsetSegments() spreads equal pieces from the start to the end of the text", () => {
  const ids = [...Array(100).keys()];
  const parts = subsetSegments(ids, 20, 2);
  assert.deepEqual(parts, [ids.slice(0, 10), ids.slice(90, 100)]);
  assert.deepEqual(subsetSegments(ids, 30, 3).map((p) => p[0]), [0, 45, 90]);
  assert.deepEqual(subsetSegments(ids, 500, 6), [ids], "a subset as long as the text is the text");
  assert.equal(subsetSegments(ids, 3, 6).length, 1, "never pieces shorter than 2 tokens");
});

Deno.test("RuntimeEvaluator measures on the subset and the full text; written bytes are the measured ones", async () => {
  const model = ir();
  const ids = Array.from({ length: 300 }, (_, i) => (i * 7 + (i >> 3)) % model.vocab.length);
  const ev = new RuntimeEvaluator(model, ids, {
    subsetTokens: 60,
    subsetSegments: 3,
    stepTokens: 10,
    metadata: { name: "t", compiler: "test" },
  });
  assert.deepEqual(ev.tensors.map((t) => t.name), [
    "embedding",
    "layers.0.w_ih",
    "layers.0.w_hh",
    "layers.1.w_ih",
    "layers.1.w_hh",
    "decoder",
  ]);
  const f32 = ev.tensors.map(() => "f32");
  const full = await ev.measure(f32, { tokens: "full", timing: false });
  const direct = (await LstmModel.load(ev.write(f32))).score(ids);
  assert.equal(full.tokens, ids.length - 1);
  assert.ok(Math.abs(full.perplexity / direct.perplexity - 1) < 1e-12);
  const subset = await ev.measure(f32, { tokens: "subset", timing: true });
  assert.equal(subset.tokens, 3 * 19);
  assert.ok(subset.msPerToken! > 0);

  const methods = ["int8", "int4:g32", "f16", "lowrank:4+int8", "prune:0.5+int8", "int8"];
  const option = ev.option(5, "int8");
  assert.ok(option.bytes < ev.option(5, "f32").bytes && option.relativeError > 0);
  const bytes = ev.write(methods);
  assert.equal(bytes.length, ev.fileBytes(methods));
  const lm = await LstmModel.load(bytes);
  assert.equal(lm.info.metrics.perplexity_compiled, -1, "the compile's metrics, as placeholders");
  assert.equal(lm.info.metrics.check_max_abs_logit_diff, -1);
  assert.deepEqual(
    JSON.parse(lm.info.metadata.recipe).rules.map((r: { method: string }) => r.method),
    methods,
  );
  assert.throws(() => ev.option(0, "tt:0"), /Invalid method/);

  // A tensor-train choice carries the modes it was measured in: compiling the recipe decomposes the same way.
  const withTt = ["int8", "tt:2+int8", "int8", "int8", "int8", "int8"];
  const rules = JSON.parse((await LstmModel.load(ev.write(withTt))).info.metadata.recipe).rules;
  assert.equal(rules[1].tensors, "layers.0.w_ih");
  assert.ok(Array.isArray(rules[1].rowModes) && Array.isArray(rules[1].colModes), JSON.stringify(rules[1]));
  assert.equal(rules[0].rowModes, undefined);
});
