/**
 * The spine end to end on models exported by real PyTorch (tests/fixtures/make_fixtures.py):
 * ONNX → compile → .lem → our runtime, checked against PyTorch's logits (in the fixture) and against
 * onnxruntime-web running the same ONNX file.
 */
import { assertAllClose } from "../runtime/kernels/testing.ts";
import assert from "node:assert/strict";
import { compileOnnx } from "../compiler/compile.ts";
import { methodRecipe } from "../compiler/recipe.ts";
import { OnnxReferenceModel } from "../compiler/onnxruntime_reference.ts";
import { LstmModel } from "../runtime/model.ts";
import { compileKernelModule } from "../runtime/kernels/kernels.ts";

const FIXTURES = new URL("./fixtures/", import.meta.url);

interface Expected {
  name: string;
  config: { state: boolean };
  vocab_size: number;
  sentence_ids: number[];
  logits: number[][];
}

const fixtures: Expected[] = [...Deno.readDirSync(FIXTURES)]
  .filter((e) => e.name.endsWith(".expected.json"))
  .map((e) => JSON.parse(Deno.readTextFileSync(new URL(e.name, FIXTURES))))
  .sort((a, b) => a.name.localeCompare(b.name));

/** A deterministic PTB-format text over the fixture's vocabulary: `lines` lines of 2..12 words. */
function syntheticText(vocabSize: number, vocab: readonly string[], lines: number): string {
  let s = 7;
  const next = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0);
  const words = vocab.filter((w) => w !== "<eos>");
  const out = [];
  for (let l = 0; l < lines; l++) {
    const n = 2 + (next() % 11);
    out.push(" " + Array.from({ length: n }, () => words[next() % words.length]).join(" ") + " ");
    void vocabSize;
  }
  return out.join("\n") + "\n";
}

assert.ok(fixtures.length >= 10, `expected the PyTorch fixtures in tests/fixtures, found ${fixtures.length}`);

for (const fx of fixtures) {
  Deno.test(`compiled ${fx.name} gives PyTorch's and onnxruntime-web's logits and perplexity`, async () => {
    const onnxBytes = await Deno.readFile(new URL(`${fx.name}.onnx`, FIXTURES));
    const compiled = await compileOnnx(onnxBytes, { fileName: `${fx.name}.onnx` });
    const model = await LstmModel.load(compiled.bytes);

    // Against PyTorch (the fixture) and onnxruntime-web, on the fixture's sentence from the zero state.
    const ours = model.logits(fx.sentence_ids);
    assertAllClose(ours, fx.logits.flat(), "logits vs PyTorch", 1e-4, 1e-4);
    if (fx.name.startsWith("layout1")) {
      // onnxruntime-web has no batch-major LSTM (layout = 1): PyTorch's logits are the only reference.
      assert.match(compiled.referenceError ?? "", /layout/);
      return;
    }
    assert.ok(compiled.maxLogitDiff < 1e-4, `compile's own check: ${compiled.maxLogitDiff}`);
    const reference = await OnnxReferenceModel.create(onnxBytes);
    assertAllClose(
      ours,
      (await reference.run(fx.sentence_ids)).logits,
      "logits vs onnxruntime-web",
      1e-4,
      1e-4,
    );

    // Perplexity of a 600-token text: state carried across our 64-token chunks and ORT's 256-token ones.
    const text = syntheticText(fx.vocab_size, model.tokenizer.vocab, 80);
    const ids = model.tokenizer.encode(text).ids;
    assert.ok(ids.length > 300);
    const ourScore = model.score(ids);
    const refScore = await reference.score(ids);
    assert.equal(ourScore.tokens, ids.length - 1);
    assert.equal(refScore.tokens, ids.length - 1);
    const rel = Math.abs(ourScore.perplexity / refScore.perplexity - 1);
    assert.ok(
      rel < 1e-4,
      `perplexity ${ourScore.perplexity} vs onnxruntime-web ${refScore.perplexity}: ${rel}`,
    );
  });
}

Deno.test("compileOnnx() is deterministic: the same input gives byte-identical files", async () => {
  const onnxBytes = await Deno.readFile(new URL("lstm2.onnx", FIXTURES));
  const a = await compileOnnx(onnxBytes, { fileName: "lstm2.onnx" });
  const b = await compileOnnx(onnxBytes, { fileName: "lstm2.onnx" });
  assert.deepEqual(a.bytes, b.bytes);
});

Deno.test("f16 storage halves the weights and keeps logits within f16 precision", async () => {
  const fx = fixtures.find((f) => f.name === "lstm2")!;
  const onnxBytes = await Deno.readFile(new URL("lstm2.onnx", FIXTURES));
  const f32 = await compileOnnx(onnxBytes, { fileName: "lstm2.onnx" });
  const f16 = await compileOnnx(onnxBytes, { fileName: "lstm2.onnx", recipe: methodRecipe("f16") });
  for (let i = 0; i < f32.tensors.length; i++) {
    assert.equal(f16.tensors[i].bytes * 2, f32.tensors[i].bytes);
    assert.ok(f16.tensors[i].relativeError > 0 && f16.tensors[i].relativeError < 1e-3);
  }
  const model = await LstmModel.load(f16.bytes);
  assertAllClose(model.logits(fx.sentence_ids), fx.logits.flat(), "f16 logits vs PyTorch", 1e-2, 1e-2);
});

Deno.test("LstmModel: feeding one token at a time equals running the sequence", async () => {
  const fx = fixtures.find((f) => f.name === "lstm3")!;
  const compiled = await compileOnnx(await Deno.readFile(new URL("lstm3.onnx", FIXTURES)), { fileName: "x" });
  const model = await LstmModel.load(compiled.bytes);
  const ids = Array.from({ length: 150 }, (_, i) => fx.sentence_ids[i % fx.sentence_ids.length]);
  const all = model.logits(ids); // crosses the 64-token chunk boundary twice
  const state = model.createState();
  const v = model.info.vocabSize;
  for (let t = 0; t < ids.length; t++) {
    model.feed(state, ids[t]);
    const lp = model.logProbs(state);
    const row = all.subarray(t * v, (t + 1) * v);
    let max = -Infinity;
    for (const x of row) max = Math.max(max, x);
    let sum = 0;
    for (const x of row) sum += Math.exp(x - max);
    const lse = max + Math.log(sum);
    assertAllClose(lp, Array.from(row, (x) => x - lse), `step ${t}`, 1e-5, 1e-5);
  }
  assert.equal(state.tokens, ids.length);
});

Deno.test("LstmModel: a copied state evolves independently and scoring from it continues the stream", async () => {
  const compiled = await compileOnnx(await Deno.readFile(new URL("lstm2.onnx", FIXTURES)), { fileName: "x" });
  const model = await LstmModel.load(compiled.bytes);
  const ids = [2, 13, 4, 6, 7, 2, 15, 8, 9, 17];
  const a = model.createState();
  model.feed(a, ids.slice(0, 5));
  const b = model.copyState(a);
  model.feed(b, ids.slice(5));
  assert.notDeepEqual(a.data, b.data);
  // score(ids) = score of the first 6 tokens + score of the rest continuing from the state.
  const whole = model.score(ids);
  const first = model.score(ids.slice(0, 6));
  const s = model.createState();
  model.feed(s, ids.slice(0, 5));
  const rest = model.score(ids.slice(5), { state: s });
  assert.ok(Math.abs(whole.nll - (first.nll + rest.nll)) < 1e-4);
});

Deno.test("LstmModel.topK() returns the most likely tokens in order and leaves out excluded ids", async () => {
  const compiled = await compileOnnx(await Deno.readFile(new URL("lstm1.onnx", FIXTURES)), { fileName: "x" });
  const model = await LstmModel.load(compiled.bytes);
  const state = model.createState();
  model.feed(state, [2, 13, 4]);
  const lp = model.logProbs(state);
  const order = [...lp.keys()].sort((x, y) => lp[y] - lp[x] || x - y);
  const top = model.topK(state, 5);
  assert.deepEqual(top.map((t) => t.id), order.slice(0, 5));
  assert.equal(top[0].token, model.tokenizer.vocab[order[0]]);
  const without = model.topK(state, 5, [order[0], order[2]]);
  assert.deepEqual(
    without.map((t) => t.id),
    order.filter((i) => i !== order[0] && i !== order[2]).slice(0, 5),
  );
  assert.throws(() => model.topK(state, 0), RangeError);
  assert.throws(() => model.feed(state, 40), /outside 0\.\.39/);
});

Deno.test("LstmModel.load() starts from an already compiled WebAssembly.Module", async () => {
  const compiled = await compileOnnx(await Deno.readFile(new URL("lstm1.onnx", FIXTURES)), { fileName: "x" });
  const module = await compileKernelModule();
  const a = await LstmModel.load(compiled.bytes, { kernels: module });
  const b = await LstmModel.load(compiled.bytes, { kernels: module });
  assert.deepEqual(a.logits([1, 2, 3]), b.logits([1, 2, 3]));
});
