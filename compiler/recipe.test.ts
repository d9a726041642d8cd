import assert from "node:assert/strict";
import {
  matchesPattern,
  methodRecipe,
  parseMethod,
  parseRecipe,
  parseStorage,
  planRecipe,
  RecipeError,
} from "./recipe.ts";

Deno.test("parseMethod() reads every form of the grammar", () => {
  assert.deepEqual(parseMethod("f32"), { kind: "store", storage: { type: "f32" } });
  assert.deepEqual(parseMethod("f16"), { kind: "store", storage: { type: "f16" } });
  assert.deepEqual(parseMethod("int8"), { kind: "store", storage: { type: "int8" } });
  assert.deepEqual(parseMethod("int8:g128"), { kind: "store", storage: { type: "int8", groupSize: 128 } });
  assert.deepEqual(parseMethod("int4:g64"), { kind: "store", storage: { type: "int4", groupSize: 64 } });
  assert.deepEqual(parseMethod("int4:g32:s16"), {
    kind: "store",
    storage: { type: "int4", groupSize: 32, scales: "f16" },
  });
  assert.deepEqual(parseMethod("int8:s16"), { kind: "store", storage: { type: "int8", scales: "f16" } });
  assert.deepEqual(parseMethod("lowrank:64+int8:s16"), {
    kind: "lowrank",
    rank: 64,
    storage: { type: "int8", scales: "f16" },
  });
  assert.deepEqual(parseMethod("prune:0.8"), { kind: "prune", sparsity: 0.8, storage: { type: "f32" } });
  assert.deepEqual(parseMethod("prune:0"), { kind: "prune", sparsity: 0, storage: { type: "f32" } });
  assert.deepEqual(parseMethod("prune:.5+int8"), { kind: "prune", sparsity: 0.5, storage: { type: "int8" } });
  assert.deepEqual(parseMethod("prune:0.8:b4x16+int8"), {
    kind: "prune",
    sparsity: 0.8,
    blockRows: 4,
    blockCols: 16,
    storage: { type: "int8" },
  });
  assert.deepEqual(parseMethod("lowrank:64+int8"), { kind: "lowrank", rank: 64, storage: { type: "int8" } });
  assert.deepEqual(parseMethod("lowrank:e0.95"), { kind: "lowrank", energy: 0.95, storage: { type: "f32" } });
  assert.deepEqual(parseMethod("tt:16+f16"), { kind: "tt", maxRank: 16, storage: { type: "f16" } });
  assert.deepEqual(parseMethod("tt:t0.05+int4:g16"), {
    kind: "tt",
    tolerance: 0.05,
    storage: { type: "int4", groupSize: 16 },
  });
});

Deno.test("parseMethod() rejects invalid methods, ranks, sparsities and storages with what it found", () => {
  const cases: [string, RegExp][] = [
    ["", /Invalid method "": expected f32 \| f16/],
    ["int3", /unknown method "int3"/],
    ["prune", /prune needs a sparsity/],
    ["prune:1.5", /sparsity must be a fraction from 0 to 1, got 1.5/],
    ["prune:-0.1", /the sparsity "-0.1" is not a number/],
    ["prune:abc", /the sparsity "abc" is not a number/],
    ["prune:0.5+int9", /unknown storage "int9"/],
    ["prune:0.8:4x16", /the block shape "4x16" is not bRxC, e.g. b4x16/],
    ["prune:0.8:b2x16", /blocks of 1 or 4 rows × 4, 8 or 16 columns, got 2 × 16/],
    ["prune:0.8:b1x32", /blocks of 1 or 4 rows × 4, 8 or 16 columns, got 1 × 32/],
    ["prune:0.8:b1x16+int4", /block-pruned values are stored as f32 or int8 .*not int4/],
    ["prune:0.8:b4x16+int8:g32", /group size that is a multiple of the block size 64, got 32/],
    ["prune:0.8:b1x16:x", /expected prune:S or prune:S:bRxC/],
    ["lowrank:0", /the rank must be a whole number ≥ 1, got "0"/],
    ["lowrank:2.5", /the rank must be a whole number ≥ 1, got "2.5"/],
    ["lowrank:e1.5", /energy must be a fraction in \(0, 1\], got 1.5/],
    ["lowrank", /lowrank needs a rank or energy/],
    ["tt:0", /the rank must be a whole number ≥ 1/],
    ["tt:t1", /tolerance must be a relative error in \[0, 1\)/],
    ["int8+f16", /a storage type takes no "\+storage"/],
    ["int4:g0", /the group size must be a whole number ≥ 1, got "0"/],
    ["f16:g4", /f16 has no group size/],
    ["f16:s16", /f16 has no scales/],
    ["int4:s16:g32", /unknown storage "int4:s16:g32"/],
  ];
  for (const [text, message] of cases) {
    assert.throws(
      () => parseMethod(text),
      (e: Error) => e instanceof RecipeError && message.test(e.message),
      text,
    );
  }
});

Deno.test("parseStorage() reads storage types alone", () => {
  assert.deepEqual(parseStorage("int4"), { type: "int4" });
  assert.throws(() => parseStorage("bf16"), /unknown storage "bf16"/);
});

Deno.test("matchesPattern() treats * as any run of characters and everything else literally", () => {
  assert.ok(matchesPattern("layers.*.w_hh", "layers.0.w_hh"));
  assert.ok(matchesPattern("layers.*.w_hh", "layers.12.w_hh"));
  assert.ok(!matchesPattern("layers.*.w_hh", "layers.0.w_ih"));
  assert.ok(matchesPattern("*", "decoder"));
  assert.ok(!matchesPattern("layers.0", "layersX0")); // the dot is literal
  assert.ok(!matchesPattern("decoder", "decoder2"));
});

const NAMES = ["embedding", "layers.0.w_ih", "layers.0.w_hh", "layers.1.w_ih", "layers.1.w_hh", "decoder"];

Deno.test("planRecipe(): first matching rule wins, unmatched tensors stay f32, options reach the spec", () => {
  const recipe = parseRecipe({
    rules: [
      { tensors: "layers.*.w_hh", method: "int8" },
      { tensors: "layers.*", method: "prune:0.5+int8", scope: "global" },
      { tensors: "decoder", method: "tt:8", rowModes: [4, 10], colModes: [3, 4] },
    ],
  });
  const plan = planRecipe(recipe, NAMES);
  assert.deepEqual(plan.map((p) => p.rule), [-1, 1, 0, 1, 0, 2]);
  assert.deepEqual(plan[0].spec, { kind: "store", storage: { type: "f32" } });
  assert.deepEqual(plan[1].spec, {
    kind: "prune",
    sparsity: 0.5,
    scope: "global",
    storage: { type: "int8" },
  });
  assert.deepEqual(plan[5].spec, {
    kind: "tt",
    maxRank: 8,
    rowModes: [4, 10],
    colModes: [3, 4],
    storage: { type: "f32" },
  });
});

Deno.test("planRecipe() rejects a pattern that matches no tensor, listing the tensors", () => {
  const recipe = parseRecipe({ rules: [{ tensors: "layer.*.w_hh", method: "int8" }] });
  assert.throws(
    () => planRecipe(recipe, NAMES),
    /rule 1: "layer.\*.w_hh" matches no tensor; the model's tensors are embedding, layers.0.w_ih/,
  );
});

Deno.test("parseRecipe() rejects malformed recipes with the rule and field named", () => {
  const cases: [unknown, RegExp][] = [
    ["{not json", /recipe is not valid JSON/],
    [{}, /must be \{ "rules": \[/],
    [{ rules: [] }, /at least one rule/],
    [{ rules: [{ tensors: "*" }] }, /rule 1: "method" must be a method string/],
    [{ rules: [{ method: "f16" }] }, /rule 1: "tensors" must be a name pattern/],
    [
      { rules: [{ tensors: "*", method: "f16" }, { tensors: "*", method: "lowrank:-1" }] },
      /rule 2: Invalid method "lowrank:-1"/,
    ],
    [{ rules: [{ tensors: "*", method: "f16", sparsity: 0.5 }] }, /rule 1: unknown field "sparsity"/],
    [{ rules: [{ tensors: "*", method: "f16", scope: "global" }] }, /"scope" applies to prune only/],
    [
      { rules: [{ tensors: "*", method: "prune:0.5", scope: "all" }] },
      /"scope" must be "tensor" or "global"/,
    ],
    [
      { rules: [{ tensors: "*", method: "tt:4", rowModes: [0] }] },
      /"rowModes" must be a list of whole numbers ≥ 1/,
    ],
    [{ rules: [{ tensors: "*", method: "f32" }], extra: 1 }, /unknown top-level field "extra"/],
  ];
  for (const [input, message] of cases) {
    assert.throws(() => parseRecipe(input), message, JSON.stringify(input));
  }
});

Deno.test("methodRecipe() is one rule for every tensor; its errors name the method, not a rule", () => {
  assert.deepEqual(methodRecipe("prune:0.8", "global"), {
    rules: [{ tensors: "*", method: "prune:0.8", scope: "global" }],
  });
  assert.throws(
    () => methodRecipe("prune:2"),
    (e: Error) => !/rule/.test(e.message) && /prune:2/.test(e.message),
  );
});

Deno.test("compiler/recipes/example.json parses and plans against a two-layer model", () => {
  const text = Deno.readTextFileSync(new URL("./recipes/example.json", import.meta.url));
  const plan = planRecipe(parseRecipe(text, "example.json"), NAMES);
  assert.deepEqual(plan.map((p) => p.spec.kind), ["store", "prune", "store", "prune", "store", "lowrank"]);
});
