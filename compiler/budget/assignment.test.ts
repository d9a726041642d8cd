import assert from "node:assert/strict";
import { assignmentRecipe, describeAssignment, recipeJson } from "./assignment.ts";
import { parseRecipe, planRecipe } from "../recipe.ts";

Deno.test("assignmentRecipe() gives each tensor its method, and its JSON reads back as the same plan", () => {
  const names = ["embedding", "layers.0.w_ih", "layers.0.w_hh", "decoder"];
  const methods = ["int4:g64", "f32", "lowrank:64+int8", "int8"];
  const recipe = assignmentRecipe(names, methods, 'a "quoted" note');
  const text = recipeJson(recipe);
  assert.match(
    text,
    /^\{\n {2}"description": "a \\"quoted\\" note",\n {2}"rules": \[\n {4}\{ "tensors": "embedding", "method": "int4:g64" \},\n/,
  );
  const back = parseRecipe(text, "x.json");
  assert.deepEqual(planRecipe(back, names).map((p) => back.rules[p.rule].method), methods);
  assert.equal(
    describeAssignment(names, methods),
    "embedding=int4:g64 layers.0.w_ih=f32 layers.0.w_hh=lowrank:64+int8 decoder=int8",
  );
  assert.throws(() => assignmentRecipe(names, ["f32"]), /4 tensors but 1 methods/);
  assert.throws(() => assignmentRecipe(["a"], ["int9"]), /Invalid method "int9"/);
});
