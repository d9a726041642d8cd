/**
 * The command line as a user runs it: `deno task compile | eval | inspect` in subprocesses.
 */
import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);
const FIXTURE = new URL("fixtures/lstm2.onnx", import.meta.url).pathname;
const decoder = new TextDecoder();

async function task(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", ...args],
    cwd: ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/** A PTB-format text over the fixture's vocabulary (words from its sentence), a few hundred tokens. */
function text(): string {
  const words = "the big cat sat on the red mat and it was N year old".split(" ");
  return Array.from({ length: 40 }, (_, i) => " " + words.slice(i % 5, 6 + (i % 7)).join(" ") + " ").join(
    "\n",
  ) + "\n";
}

Deno.test("compile, eval and inspect agree: the .lem's perplexity equals onnxruntime-web's on the .onnx", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const lem = `${dir}/m.lem`;
    const txt = `${dir}/t.txt`;
    await Deno.writeTextFile(txt, text());
    const compiled = await task("compile", FIXTURE, "-o", lem, "--eval", txt);
    assert.equal(compiled.code, 0, compiled.stderr);
    assert.match(compiled.stdout, /layers\.1\.w_hh\s+48×12\s+dense f32/);
    assert.match(compiled.stdout, /max \|logit difference\| \d\.\d\de-\d/);

    const ours = await task("eval", lem, txt, "--json");
    const reference = await task("eval", FIXTURE, txt, "--json");
    assert.equal(ours.code, 0, ours.stderr);
    assert.equal(reference.code, 0, reference.stderr);
    const a = JSON.parse(ours.stdout);
    const b = JSON.parse(reference.stdout);
    assert.equal(a.engine, "lstm-edge");
    assert.equal(b.engine, "onnxruntime-web");
    assert.equal(a.tokens, b.tokens);
    assert.ok(a.tokens > 200);
    assert.ok(Math.abs(a.perplexity / b.perplexity - 1) < 1e-4, `${a.perplexity} vs ${b.perplexity}`);

    const inspected = await task("inspect", lem, "--json");
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
    const missing = await task("eval", `${dir}/nope.lem`, `${dir}/nope.txt`);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /does not exist/);
    assert.doesNotMatch(missing.stderr, /\n\s+at /); // no stack trace

    const badFlag = await task("compile", FIXTURE, "--bogus");
    assert.equal(badFlag.code, 2);
    assert.match(badFlag.stderr, /usage: deno task compile/);

    // A damaged .lem is reported with the field at fault.
    const good = await task("compile", FIXTURE, "-o", `${dir}/ok.lem`);
    assert.equal(good.code, 0, good.stderr);
    const bytes = await Deno.readFile(`${dir}/ok.lem`);
    await Deno.writeFile(`${dir}/bad.lem`, bytes.subarray(0, bytes.length - 64));
    const bad = await task("inspect", `${dir}/bad.lem`);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^error: .*(field|size|bytes)/);

    const help = await task("eval", "--help");
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
    const r = await task("compile", gru, "-o", out);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /GRU/);
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
