/**
 * The model-level tensor-train split choice (compiler/tt_split_choice.ts): on PTB-small it keeps the fast
 * split everywhere, on ml5's dubois char model the balanced LSTM splits; the recipe it returns
 * reproduces the chosen model byte for byte; nothing is compared where nothing can differ.
 */
import assert from "node:assert/strict";
import { importOnnx } from "../compiler/onnx/import.ts";
import { importMl5CharRnn } from "../compiler/ml5/import.ts";
import type { IrModel } from "../compiler/ir.ts";
import { compressModel } from "../compiler/compress.ts";
import { methodRecipe, type Recipe } from "../compiler/recipe.ts";
import { fastModes } from "../compiler/methods/tt.ts";
import {
  compressChoosingSplits,
  describeSplitChoice,
  encodedMatrices,
  pinnedSplits,
} from "../compiler/tt_split_choice.ts";
import { writeLem } from "../compiler/writer.ts";
import type { EncodedModel } from "../compiler/encoded.ts";
import { randomIrModel } from "../runtime/format/test_fixtures.ts";
import { exists, ML5_CHARRNN, needs, runTask } from "./helpers.ts";

const META = { name: "t", compiler: "test" };
const ptb = () =>
  importOnnx(Deno.readFileSync(new URL("../models/ptb-small.onnx", import.meta.url)), {
    fileName: "ptb-small.onnx",
  });

/** Each TT matrix's modes, by name. */
function modesOf(model: EncodedModel): Map<string, string> {
  const all = [model.embedding, ...model.layers.flatMap((l) => [l.wIh, l.wHh]), model.decoder];
  return new Map(
    all.flatMap((m) =>
      m.encoding.kind === "tt" ? [[m.name, `${m.encoding.rowModes}×${m.encoding.colModes}`]] : []
    ),
  );
}

/**
 * The chosen model is what its returned recipe compresses to, and choosing again from that recipe keeps
 * it (after a fast choice there is nothing left to choose).
 */
async function assertReproducible(ir: IrModel, recipe: Recipe, model: EncodedModel) {
  assert.deepEqual(writeLem(compressModel(ir, recipe, META).model), writeLem(model));
  const again = await compressChoosingSplits(ir, recipe, META);
  assert.deepEqual(writeLem(again.model), writeLem(model));
  assert.deepEqual(again.recipe, recipe);
  if (JSON.parse(model.metadata.recipe).rules.some((r: { rowModes?: number[] }) => r.rowModes)) {
    assert.equal(again.splitChoice, undefined);
  }
}

Deno.test("PTB-small tt:32+int8: the fast split wins on the LSTM matrices, by a lower divergence", async () => {
  const ir = ptb();
  const input = methodRecipe("tt:32+int8");
  const stages: string[] = [];
  const out = await compressChoosingSplits(ir, input, META, undefined, (s) => stages.push(s));
  const c = out.splitChoice!;
  assert.equal(c.chosen, "fast");
  assert.deepEqual(c.tensors, ["layers.0.w_ih", "layers.0.w_hh", "layers.1.w_ih", "layers.1.w_hh"]);
  assert.ok(c.divergence.fast < c.divergence.perMatrix, describeSplitChoice(c));
  assert.equal(c.tokens, 256);
  assert.equal(stages.length, 1);
  // Every matrix in the fast split; the recipe names the four it changed, then the input's rules.
  for (const [name, modes] of modesOf(out.model)) {
    const [rows, cols] = name.startsWith("layers") ? [800, 200] : [10000, 200];
    assert.equal(modes, `${fastModes(rows, "rows")}×${fastModes(cols, "cols")}`, name);
  }
  assert.deepEqual(out.recipe.rules.slice(4), input.rules);
  assert.deepEqual(out.recipe.rules[0], {
    tensors: "layers.0.w_ih",
    method: "tt:32+int8",
    rowModes: [200, 2, 2],
    colModes: [2, 2, 50],
  });
  assert.deepEqual(JSON.parse(out.model.metadata.recipe), out.recipe);
  await assertReproducible(ir, out.recipe, out.model);
  assert.match(describeSplitChoice(c), /^tensor-train: fast split for layers\.0\.w_ih, .* over 256 tokens/);
});

Deno.test("ml5 dubois tt:16+f16: the balanced LSTM splits stay, by a lower divergence", {
  ...needs(exists(ML5_CHARRNN), `${ML5_CHARRNN.pathname} is absent (ml5.js's pretrained char-RNNs)`),
}, async () => {
  const ir = await importMl5CharRnn(new URL("dubois/", ML5_CHARRNN).pathname, {});
  const input = methodRecipe("tt:16+f16");
  const out = await compressChoosingSplits(ir, input, META);
  const c = out.splitChoice!;
  assert.equal(c.chosen, "per-matrix");
  assert.ok(c.divergence.perMatrix < c.divergence.fast, describeSplitChoice(c));
  assert.ok(c.tensors.includes("layers.0.w_ih"), c.tensors.join());
  assert.deepEqual(out.recipe, input);
  await assertReproducible(ir, out.recipe, out.model);
  assert.match(describeSplitChoice(c), /per-matrix splits \(balanced\)/);
});

Deno.test("no choice where no TT matrix could differ: other methods, explicit modes", async () => {
  const ir = randomIrModel(5, { vocab: 40, embed: 16, hidden: [16] });
  const explicit: Recipe = {
    rules: [{ tensors: "*", method: "tt:4", rowModes: [4, 4, 4], colModes: [2, 2, 4] }, {
      tensors: "embedding",
      method: "int8",
    }],
  };
  for (const recipe of [methodRecipe("int8"), explicit]) {
    const out = await compressChoosingSplits(ir, recipe, META);
    assert.equal(out.splitChoice, undefined, JSON.stringify(recipe));
    assert.deepEqual(out.recipe, recipe);
    assert.deepEqual(writeLem(out.model), writeLem(compressModel(ir, recipe, META).model));
  }
});

Deno.test("a random model's choice is the lower divergence either way, and reproducible from its recipe", async () => {
  const ir = randomIrModel(3, { vocab: 40, embed: 16, hidden: [16] });
  const out = await compressChoosingSplits(ir, methodRecipe("tt:3"), META);
  const c = out.splitChoice!;
  assert.ok(c, "64 × 16 LSTM matrices: fast [16,2,2]×[2,2,4] and balanced [4,4,4]×[2,2,4] differ");
  assert.equal(c.chosen, c.divergence.fast <= c.divergence.perMatrix ? "fast" : "per-matrix");
  await assertReproducible(ir, out.recipe, out.model);
});

Deno.test("compile prints the choice, --write-recipe saves it, and that recipe compiles to the same file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const first = await runTask(
      "compile",
      "models/ptb-small.onnx",
      "--method",
      "tt:32+int8",
      "-o",
      `${dir}/a.lem`,
      "--write-recipe",
      `${dir}/r.json`,
    );
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /^ {2}choosing tensor-train splits \(4 matrices, 256 tokens\)$/m);
    assert.match(
      first.stdout,
      /^tensor-train: fast split for layers\.0\.w_ih, layers\.0\.w_hh, layers\.1\.w_ih, layers\.1\.w_hh \(mean KL \d\.\d{3} fast vs \d\.\d{3} per-matrix, nats over 256 tokens the original wrote\)$/m,
    );
    const recipe = JSON.parse(await Deno.readTextFile(`${dir}/r.json`));
    assert.equal(recipe.rules.length, 5);
    const again = await runTask(
      "compile",
      "models/ptb-small.onnx",
      "--recipe",
      `${dir}/r.json`,
      "-o",
      `${dir}/b.lem`,
    );
    assert.equal(again.code, 0, again.stderr);
    assert.doesNotMatch(again.stdout + again.stderr, /tensor-train:|choosing tensor-train/);
    assert.deepEqual(await Deno.readFile(`${dir}/b.lem`), await Deno.readFile(`${dir}/a.lem`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pinnedSplits writes each TT matrix's modes into its rule (or one before), so nothing is chosen again", async () => {
  const ir = randomIrModel(3, { vocab: 40, embed: 16, hidden: [16] });
  for (
    const recipe of [
      { rules: [{ tensors: "embedding", method: "int8" }, { tensors: "*", method: "tt:3" }] },
      {
        rules: ["embedding", "layers.0.w_ih", "layers.0.w_hh", "decoder"].map((tensors, i) => ({
          tensors,
          method: i === 0 ? "int4" : "tt:3+int8",
        })),
      },
    ] as Recipe[]
  ) {
    const plain = compressModel(ir, recipe, META).model;
    const pinned = pinnedSplits(ir, recipe, encodedMatrices(plain));
    const perTensor = recipe.rules.length === 4;
    // Per-tensor rules get their modes in place; a wildcard rule gets a rule per TT tensor before it.
    assert.equal(pinned.rules.length, perTensor ? 4 : 2 + 3);
    for (const m of encodedMatrices(plain)) {
      if (m.encoding.kind !== "tt") continue;
      const rule = pinned.rules.find((r) => r.tensors === m.name)!;
      assert.deepEqual([rule.rowModes, rule.colModes], [m.encoding.rowModes, m.encoding.colModes], m.name);
    }
    assert.deepEqual(
      pinned.rules.slice(perTensor ? 0 : 3).map((r) => r.method),
      recipe.rules.map((r) => r.method),
    );
    const again = await compressChoosingSplits(ir, pinned, META);
    assert.equal(again.splitChoice, undefined);
    assert.deepEqual(encodedMatrices(again.model), encodedMatrices(plain));
  }
});
