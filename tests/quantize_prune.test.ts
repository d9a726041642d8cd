/**
 * Storage quantization (f16, int8 per row/group, int4 per group) and pruning (CSR) end to end: recipe →
 * compressModel → `.lem` → runtime operators (runtime/operators/store.ts, csr.ts) on every matrix role —
 * embedding (row gather), w_ih (matmat over a sequence, matvec stepwise), w_hh (matvec), decoder (matvec
 * and matmat). Lossless settings must give the f32 model's perplexity within 1e-4 relative; lossy ones the
 * logits of the dense model of their *decoded* matrices (the plain kernels' int16 activations add ≤ 1e-4;
 * the relaxed-SIMD kernels, the default where the engine has them, quantize activations to 7/8 bits and
 * stay within 2e-2 of those logits).
 */
import assert from "node:assert/strict";
import { importOnnx } from "../compiler/onnx/import.ts";
import type { IrModel } from "../compiler/ir.ts";
import { encodeDense, type EncodedMatrix, type EncodedModel } from "../compiler/encoded.ts";
import { writeLem } from "../compiler/writer.ts";
import { compressModel } from "../compiler/compress.ts";
import { methodRecipe, parseRecipe, type Recipe } from "../compiler/recipe.ts";
import { decodeMatrix } from "../compiler/methods/registry.ts";
import { compileOnnx } from "../compiler/compile.ts";
import { LstmModel } from "../runtime/model.ts";
import { readLem } from "../runtime/format/read.ts";
import { assertAllClose, rng } from "../runtime/kernels/testing.ts";

const FIXTURES = new URL("./fixtures/", import.meta.url);
const fixtureIr = (name: string) =>
  importOnnx(Deno.readFileSync(new URL(`${name}.onnx`, FIXTURES)), { fileName: `${name}.onnx` });

function compress(ir: IrModel, recipe: Recipe) {
  return compressModel(ir, recipe, { name: "t", compiler: "test" });
}

function decodedModel(m: EncodedModel): EncodedModel {
  const d = (e: EncodedMatrix) =>
    encodeDense({ name: e.name, rows: e.rows, cols: e.cols, data: decodeMatrix(e) }, "f32");
  return {
    ...m,
    embedding: d(m.embedding),
    layers: m.layers.map((l) => ({ ...l, wIh: d(l.wIh), wHh: d(l.wHh) })),
    decoder: d(m.decoder),
  };
}

function stream(vocabSize: number, n: number, seed: number): number[] {
  const rand = rng(seed);
  return Array.from({ length: n }, () => Math.floor(rand(0, vocabSize)));
}

/** Two models agree on logits over a sequence (matmat path) and token by token (matvec path). */
function assertSameModel(a: LstmModel, b: LstmModel, ids: number[], tol: number, what: string) {
  assertAllClose(a.logits(ids), b.logits(ids), `${what}: logits over the sequence (matmat)`, tol, tol);
  const sa = a.createState();
  const sb = b.createState();
  for (const id of ids.slice(0, 10)) {
    a.feed(sa, id);
    b.feed(sb, id);
    assertAllClose(a.logProbs(sa), b.logProbs(sb), `${what}: log-probs token by token (matvec)`, tol, tol);
  }
}

const LOSSLESS_FIXTURES = ["lstm2", "emb12_hidden8", "tied", "lstm3", "flat_no_decoder_bias"];

for (const method of ["prune:0", "prune:0+f32", "prune:0:b4x4", "prune:0:b1x8"]) {
  Deno.test(`${method} (every entry kept) reproduces the f32 perplexity within 1e-4 on the fixtures`, async () => {
    for (const name of LOSSLESS_FIXTURES) {
      const ir = fixtureIr(name);
      const f32 = await LstmModel.load(writeLem(compress(ir, methodRecipe("f32")).model));
      const { model, tensors } = compress(ir, methodRecipe(method));
      assert.ok(tensors.every((t) => t.relativeError === 0));
      const csr = await LstmModel.load(writeLem(model));
      const weights = new Set(tensors.map((t) => t.name));
      const kind = method.includes(":b") ? "blocks" : "csr";
      assert.ok(
        csr.info.tensors.filter((t) => weights.has(t.name)).every((t) => t.encoding.startsWith(kind)),
      );
      const ids = stream(ir.vocab.length, 150, 7);
      const rel = Math.abs(csr.score(ids).perplexity / f32.score(ids).perplexity - 1);
      assert.ok(rel < 1e-4, `${name}: relative perplexity difference ${rel}`);
      assertSameModel(csr, f32, ids.slice(0, 40), 1e-5, name);
    }
  });
}

for (
  const method of [
    "f16",
    "int8",
    "int8:g5",
    "int4",
    "int4:g8",
    "prune:0.5+int8",
    "prune:0.3+f16",
    "prune:0.6+int4",
    "prune:0.5:b1x4+int8",
    "prune:0.5:b4x8+int8:g64",
    "prune:0.7:b4x16",
    "prune:0.3:b1x16",
    "int8:s16",
    "int4:g8:s16",
    "prune:0.5+int8:s16",
    "prune:0.5:b4x4+int8:s16",
    "lowrank:3+int4:s16",
    "tt:4+int8:s16",
  ]
) {
  Deno.test(`${method} runs through the runtime as the dense model of its decoded matrices`, async () => {
    for (const name of ["lstm2", "emb12_hidden8", "tied"]) {
      const ir = fixtureIr(name);
      const { model } = compress(ir, methodRecipe(method));
      const ours = await LstmModel.load(writeLem(model), { relaxedKernels: false });
      const dense = await LstmModel.load(writeLem(decodedModel(model)));
      const ids = stream(ir.vocab.length, 70, 3);
      assertSameModel(ours, dense, ids, 1e-3, `${name} ${method}`);
      const relaxed = await LstmModel.load(writeLem(model)); // relaxed SIMD where the engine has it
      assertSameModel(relaxed, ours, ids, 2e-2, `${name} ${method} (default kernels)`);
    }
  });
}

Deno.test("int8 and int4 have small relative errors and exactly the bytes SPEC.md's layout gives", async () => {
  const ir = fixtureIr("lstm2");
  const f32 = compress(ir, methodRecipe("f32")).tensors;
  const int8 = compress(ir, methodRecipe("int8")).tensors;
  const int4 = compress(ir, methodRecipe("int4")).tensors;
  for (let i = 0; i < f32.length; i++) {
    assert.ok(
      int8[i].relativeError > 0 && int8[i].relativeError < 0.01,
      `${int8[i].name}: ${int8[i].relativeError}`,
    );
    assert.ok(int4[i].relativeError < 0.2, `${int4[i].name}: ${int4[i].relativeError}`);
    assert.equal(int8[i].bytes, f32[i].bytes / 4 + 4 * f32[i].shape[0]);
    const [rows, cols] = f32[i].shape;
    assert.equal(int4[i].bytes, rows * Math.ceil(cols / 2) + 4 * rows * Math.ceil(cols / 32));
  }
  const described = async (recipe: Recipe) =>
    (await LstmModel.load(writeLem(compress(ir, recipe).model))).info.tensors[0].encoding;
  assert.equal(await described(methodRecipe("int8")), "int8 per-row");
  assert.equal(await described(methodRecipe("int4")), "int4 per-row"); // 12 columns: one group of 32 covers the row
});

Deno.test("global pruning shares one threshold across the tensors of a rule and reaches the target overall", () => {
  const ir = fixtureIr("lstm2");
  const { tensors } = compress(ir, methodRecipe("prune:0.7", "global"));
  const total = tensors.reduce((s, t) => s + t.shape[0] * t.shape[1], 0);
  const kept = tensors.reduce((s, t) => s + Number(/nnz (\d+)/.exec(t.detail)![1]), 0);
  assert.ok(Math.abs(1 - kept / total - 0.7) < 0.01, `overall sparsity ${1 - kept / total}`);
  const each = tensors.map((t) => Number(/sparsity ([\d.]+)/.exec(t.detail)![1]));
  assert.ok(Math.max(...each) - Math.min(...each) > 0.01, `per-tensor sparsities differ: ${each}`);
});

Deno.test("compile with a recipe: the file verifies, loads, stores the recipe, and scores like its decoded model", async () => {
  const onnx = Deno.readFileSync(new URL("lstm2.onnx", FIXTURES));
  const recipe = parseRecipe(
    Deno.readTextFileSync(new URL("../compiler/recipes/example.json", import.meta.url)),
  );
  const result = await compileOnnx(onnx, { fileName: "lstm2.onnx", recipe });
  const file = readLem(result.bytes);
  assert.deepEqual(JSON.parse(file.metadata.recipe), recipe);
  assert.deepEqual(
    [file.embedding.kind, file.layers[0].wIh.kind, file.layers[0].wHh.kind, file.decoder.kind],
    ["quantized", "csr", "quantized", "lowrank"],
  );
  assert.deepEqual(result.tensors.map((t) => t.method), [
    "int8",
    "prune:0.5+int8",
    "int8",
    "prune:0.5+int8",
    "int8",
    "lowrank:e0.99+int8",
  ]);
  const ir = fixtureIr("lstm2");
  const ours = await LstmModel.load(result.bytes, { relaxedKernels: false });
  const dense = await LstmModel.load(writeLem(decodedModel(compress(ir, recipe).model)));
  assertSameModel(ours, dense, stream(ir.vocab.length, 50, 11), 1e-3, "example recipe");
  // Byte-identical on a second run (determinism).
  assert.deepEqual((await compileOnnx(onnx, { fileName: "lstm2.onnx", recipe })).bytes, result.bytes);
});

Deno.test("compressModel() rejects a recipe whose pattern matches no tensor before compressing anything", () => {
  const ir = fixtureIr("lstm2");
  let compressed = 0;
  assert.throws(
    () =>
      compressModel(
        ir,
        parseRecipe({
          rules: [{ tensors: "layers.*.w_hh", method: "int8" }, { tensors: "decodr", method: "int8" }],
        }),
        {
          name: "t",
          compiler: "t",
        },
        () => compressed++,
      ),
    /"decodr" matches no tensor/,
  );
  assert.equal(compressed, 0);
});

Deno.test("prune:1 (no non-zeros at all, 1 × 0 values) writes, verifies and runs: only the biases remain", async () => {
  const ir = fixtureIr("lstm2");
  const ids = stream(ir.vocab.length, 20, 5);
  const results: number[] = [];
  for (const method of ["prune:1", "prune:1+f16", "prune:1+int8", "prune:1+int4"]) {
    const lm = await LstmModel.load(writeLem(compress(ir, methodRecipe(method)).model));
    results.push(lm.score(ids).perplexity);
  }
  assert.ok(results.every((p) => p === results[0] && Number.isFinite(p)), `${results}`);
});
