/**
 * The command line as a user runs it: `deno task compile | eval | inspect` in subprocesses.
 */
import assert from "node:assert/strict";
import { fixtureText, LSTM2_FIXTURE, runTask } from "./helpers.ts";

const FIXTURE = LSTM2_FIXTURE;

const TEXT_LINES = 40;

Deno.test("compile, eval and inspect agree: the .lem's perplexity equals onnxruntime-web's on the .onnx", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const lem = `${dir}/m.lem`;
    const txt = `${dir}/t.txt`;
    await Deno.writeTextFile(txt, fixtureText(TEXT_LINES));
    const compiled = await runTask("compile", FIXTURE, "-o", lem, "--eval", txt);
    assert.equal(compiled.code, 0, compiled.stderr);
    assert.match(compiled.stdout, /layers\.1\.w_hh\s+48×12\s+dense f32/);
    assert.match(compiled.stdout, /max \|logit difference\| \d\.\d\de-\d/);

    const ours = await runTask("eval", lem, txt, "--json");
    const reference = await runTask("eval", FIXTURE, txt, "--json");
    assert.equal(ours.code, 0, ours.stderr);
    assert.equal(reference.code, 0, reference.stderr);
    const a = JSON.parse(ours.stdout);
    const b = JSON.parse(reference.stdout);
    assert.equal(a.engine, "lstm-edge");
    assert.equal(b.engine, "onnxruntime-web");
    assert.equal(a.tokens, b.tokens);
    assert.ok(a.tokens > 200);
    assert.ok(Math.abs(a.perplexity / b.perplexity - 1) < 1e-4, `${a.perplexity} vs ${b.perplexity}`);

    const inspected = await runTask("inspect", lem, "--json");
    assert.equal(inspected.code, 0, inspected.stderr);
    const summary = JSON.parse(inspected.stdout);
    assert.equal(summary.vocabSize, 40);
    assert.equal(summary.metadata.sourceFile, "lstm2.onnx");
    const metric = (name: string) =>
      summary.metadata.metrics.find((m: { name: string }) => m.name === name)?.value;
    assert.ok(Math.abs(metric("perplexity_compiled") / metric("perplexity_source") - 1) < 1e-4);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("CLI errors are one readable line with exit code 1 (bad input) or 2 (bad usage)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const missing = await runTask("eval", `${dir}/nope.lem`, `${dir}/nope.txt`);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /does not exist/);
    assert.doesNotMatch(missing.stderr, /\n\s+at /); // no stack trace

    const badFlag = await runTask("compile", FIXTURE, "--bogus");
    assert.equal(badFlag.code, 2);
    assert.match(badFlag.stderr, /usage: deno task compile/);

    // A damaged .lem is reported with the field at fault.
    const good = await runTask("compile", FIXTURE, "-o", `${dir}/ok.lem`);
    assert.equal(good.code, 0, good.stderr);
    const bytes = await Deno.readFile(`${dir}/ok.lem`);
    await Deno.writeFile(`${dir}/bad.lem`, bytes.subarray(0, bytes.length - 64));
    const bad = await runTask("inspect", `${dir}/bad.lem`);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^error: .*(field|size|bytes)/);

    const help = await runTask("eval", "--help");
    assert.equal(help.code, 0);
    assert.match(help.stdout, /exp\(mean negative log-likelihood/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a failed compile leaves no output file behind", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const gru = new URL("fixtures/gru.onnx", import.meta.url).pathname;
    const out = `${dir}/gru.lem`;
    const r = await runTask("compile", gru, "-o", out);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /GRU/);
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
