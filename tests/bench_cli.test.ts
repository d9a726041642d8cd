/**
 * `deno task bench` in a tiny mode (a test fixture model, few tokens, one round): the JSON it prints has
 * the documented shape, positive numbers, an onnxruntime-web row, and ratios that follow from the
 * per-round samples. Also the read probe it uses, against a plain sum.
 * @module
 */
import assert from "node:assert/strict";
import { probeModuleBytes, probeReferenceSum, readProbe } from "./bench/probe.ts";
import { median, medianRatio } from "./bench/report.ts";
import { resolveVariant } from "./bench/variants.ts";

const BENCH = new URL("./bench/bench.ts", import.meta.url).pathname;
const FIXTURE = new URL("./fixtures/lstm2.onnx", import.meta.url).pathname;
const SENTENCE = "the big cat sat on the red mat and it was N year old\na zebra ran\n";

Deno.test("the read probe sums what it reads (lengths 0, 1 block, blocks + tail, all)", () => {
  assert.ok(WebAssembly.validate(probeModuleBytes()));
  const bytes = new Uint8Array(5000).map((_, i) => (i * 37 + 11) & 255);
  const probe = readProbe(bytes);
  assert.equal(probe.capacity, 4992);
  for (const n of [0, 127, 128, 129, 256 + 64, 4000, 4992]) {
    assert.equal(probe.sum(n), probeReferenceSum(bytes, n), `n = ${n}`);
  }
  assert.ok(probe.read(4992, 3) >= 0);
  assert.throws(() => probe.read(5000, 1), RangeError);
});

Deno.test("bench variants: a method, per-tensor rules, and the budget placeholder when its file is absent", async () => {
  assert.deepEqual((await resolveVariant("int8", "x.json")).recipe, {
    rules: [{ tensors: "*", method: "int8" }],
  });
  const rules = await resolveVariant("embedding=tt:8+int8;*=int4", "x.json");
  assert.deepEqual(rules.recipe.rules.map((r) => [r.tensors, r.method]), [["embedding", "tt:8+int8"], [
    "*",
    "int4",
  ]]);
  const budget = await resolveVariant("budget", "/nonexistent/recipe.json");
  assert.equal(budget.source, "placeholder");
  await assert.rejects(() => resolveVariant("int9", "x.json"), /Invalid method/);
});

Deno.test("deno task bench --json on a tiny model prints rows with ratios consistent with their rounds", async () => {
  const text = await Deno.makeTempFile({ suffix: ".txt" });
  try {
    await Deno.writeTextFile(text, SENTENCE.repeat(20));
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        BENCH,
        "--json",
        "--model",
        FIXTURE,
        "--text",
        text,
        "--variants",
        "f32,int8,embedding=int4;*=int8",
        "--budget-recipe",
        "/nonexistent/recipe.json",
        "--rounds",
        "2",
        "--warmup-rounds",
        "1",
        "--step-tokens",
        "8",
        "--seq-tokens",
        "16",
        "--cold-rounds",
        "1",
        "--ppl-tokens",
        "200",
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.ok(out.success, stderr);
    const stdout = new TextDecoder().decode(out.stdout).trim();
    assert.equal(stdout.split("\n").length, 1, "exactly one JSON line on stdout");
    const result = JSON.parse(stdout);
    const rows = result.rows;
    assert.deepEqual(
      rows.map((r: { engine: string; variant: string }) => `${r.engine} ${r.variant}`),
      ["onnxruntime-web dense onnx", "lstm-edge f32", "lstm-edge int8", "lstm-edge embedding=int4;*=int8"],
    );
    const ort = rows[0];
    for (const r of rows) {
      for (
        const key of [
          "bytes",
          "codeBytes",
          "stepMs",
          "seqMsPerToken",
          "coldStartMs",
          "ppl",
          "stepBytes",
          "probeMs",
        ]
      ) {
        assert.ok(Number.isFinite(r[key]) && r[key] > 0, `${r.variant}: ${key} = ${r[key]}`);
      }
      assert.equal(r.pplTokens, 200);
      assert.equal(r.rounds.stepMs.length, 2);
      assert.equal(r.rounds.coldStartMs.length, 1);
      assert.equal(r.stepMs, median(r.rounds.stepMs));
      assert.equal(r.vsOrt.step, medianRatio(ort.rounds.stepMs, r.rounds.stepMs));
      assert.equal(r.vsOrt.seq, medianRatio(ort.rounds.seqMsPerToken, r.rounds.seqMsPerToken));
      assert.equal(r.vsOrt.coldStart, medianRatio(ort.rounds.coldStartMs, r.rounds.coldStartMs));
      assert.equal(r.vsOrt.code, ort.codeBytes / r.codeBytes);
    }
    assert.deepEqual(ort.vsOrt, { step: 1, seq: 1, coldStart: 1, code: 1 });
    // Dense weights: our f32 perplexity is onnxruntime-web's.
    assert.ok(Math.abs(rows[1].ppl / ort.ppl - 1) < 1e-4, `${rows[1].ppl} vs ${ort.ppl}`);
    assert.equal(rows[1].firstArgmax, ort.firstArgmax);
    assert.ok(ort.codeBytes > 10_000_000, "ORT's wasm is counted");
    assert.ok(rows[1].codeBytes < ort.codeBytes);
    assert.equal(result.targets.length, 4);
  } finally {
    await Deno.remove(text);
  }
});
