/**
 * Safe compile defaults, as a user runs `deno task compile`: without -o the name says the method (a
 * compressed compile never replaces IN.lem), every compile prints a quality verdict, --max-ppl-increase
 * refuses a model beyond the limit without writing it, and a missing output folder is reported before
 * any work.
 */
import assert from "node:assert/strict";
import { CONFIDENT_FIXTURE, runTask } from "./helpers.ts";
import { LstmModel } from "../runtime/model.ts";
import { sampleToken } from "../runtime/app/sampling.ts";
import { mulberry32 } from "../runtime/random.ts";

/** A temporary folder holding a copy of the confident fixture as `m.onnx`. */
async function withModelCopy(test: (dir: string, model: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    const model = `${dir}/m.onnx`;
    await Deno.copyFile(CONFIDENT_FIXTURE, model);
    await test(dir, model);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const files = (dir: string) => [...Deno.readDirSync(dir)].map((e) => e.name).sort();

/**
 * PTB-format text sampled from the compiled model `lem` (seeded): text the model predicts well, so that
 * a perplexity measured on it rises when compression damages the model (the fixture is untrained: on
 * other text it predicts worse than uniform, and a ruined copy can score better).
 */
async function sampledText(lem: string, tokens: number): Promise<string> {
  const model = await LstmModel.load(await Deno.readFile(lem));
  const { vocab, eosId, unkId } = model.tokenizer;
  const random = mulberry32(7);
  const state = model.createState();
  let id = eosId;
  let text = "";
  for (let i = 0; i < tokens; i++) {
    model.feed(state, id);
    id = sampleToken(model.logProbs(state), random, { temperature: 1, topK: 0, exclude: [unkId] });
    text += id === eosId ? "\n" : ` ${vocab[id]}`;
  }
  return text + "\n";
}

Deno.test("compile without -o names the file by its method and leaves IN.lem untouched", async () => {
  await withModelCopy(async (dir, model) => {
    const plain = await runTask("compile", model);
    assert.equal(plain.code, 0, plain.stderr);
    assert.match(plain.stdout, new RegExp(`wrote ${dir}/m\\.lem:`));
    const f32 = await Deno.readFile(`${dir}/m.lem`);

    await Deno.writeTextFile(`${dir}/r.json`, JSON.stringify({ rules: [{ tensors: "*", method: "f16" }] }));
    const runs = await Promise.all([
      runTask("compile", model, "--method", "int8"),
      runTask("compile", model, "--method", "prune:0.5+int8", "--prune-scope", "global"),
      runTask("compile", model, "--recipe", `${dir}/r.json`),
      runTask("compile", model, "--method", "f32"),
    ]);
    for (const r of runs) assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(files(dir), [
      "m.int8.lem",
      "m.lem",
      "m.onnx",
      "m.prune-0.5+int8-global.lem",
      "m.r.lem",
      "r.json",
    ]);
    assert.match(runs[0].stdout, new RegExp(`wrote ${dir}/m\\.int8\\.lem:`));
    // --method f32 is the plain compile: it rewrote m.lem, with the same bytes.
    assert.deepEqual(await Deno.readFile(`${dir}/m.lem`), f32);
    assert.notDeepEqual(await Deno.readFile(`${dir}/m.int8.lem`), f32);
  });
});

Deno.test("every compile prints a quality verdict: fine for int8, noticeable, ruined; on --eval when given", async () => {
  await withModelCopy(async (dir, model) => {
    assert.equal((await runTask("compile", model)).code, 0);
    await Deno.writeTextFile(`${dir}/t.txt`, await sampledText(`${dir}/m.lem`, 500));
    await Deno.remove(`${dir}/m.lem`);
    const [int8, int4g4, lowrank, measured] = await Promise.all([
      runTask("compile", model, "--method", "int8"),
      runTask("compile", model, "--method", "int4:g4"),
      runTask("compile", model, "--method", "lowrank:1+int4"),
      runTask("compile", model, "--method", "lowrank:1+int4", "--eval", `${dir}/t.txt`, "-o", `${dir}/e.lem`),
    ]);
    for (const r of [int8, int4g4, lowrank, measured]) assert.equal(r.code, 0, r.stderr);
    const verdict = /^quality: (\w+) — perplexity ([+-]\d+\.\d) % (.*)$/m;
    const parse = (stdout: string) => {
      const m = stdout.match(verdict);
      assert.ok(m, stdout);
      return { verdict: m[1], increase: Number(m[2]) / 100, rest: m[3] };
    };
    const a = parse(int8.stdout);
    assert.equal(a.verdict, "fine");
    assert.ok(a.increase < 0.05);
    assert.match(a.rest, /expected from the divergence from onnxruntime-web over 32 reference tokens/);
    assert.match(a.rest, /fine ≤ \+5 %, noticeable ≤ \+50 %, ruined above/);
    const b = parse(int4g4.stdout);
    assert.equal(b.verdict, "noticeable");
    assert.ok(b.increase > 0.05 && b.increase <= 0.5);
    const c = parse(lowrank.stdout);
    assert.equal(c.verdict, "ruined");
    assert.ok(c.increase > 0.5);
    // With --eval the verdict is the measured perplexity increase, the one the report prints above it.
    const d = parse(measured.stdout);
    assert.equal(d.verdict, "ruined");
    assert.match(d.rest, new RegExp(`^on ${dir}/t\\.txt \\([+-]\\d+\\.\\d % expected from the divergence`));
    const ppl = measured.stdout.match(/original (\d+\.\d+), compiled (\d+\.\d+) \(([+-]\d+\.\d+) %\)/);
    assert.ok(ppl, measured.stdout);
    assert.equal((Number(ppl[2]) / Number(ppl[1]) - 1).toFixed(3), d.increase.toFixed(3));
  });
});

Deno.test("--max-ppl-increase: beyond the limit a plain compile exits 3 and writes nothing; within it writes", async () => {
  await withModelCopy(async (dir, model) => {
    assert.equal((await runTask("compile", model)).code, 0);
    await Deno.writeTextFile(`${dir}/t.txt`, await sampledText(`${dir}/m.lem`, 500));
    await Deno.remove(`${dir}/m.lem`);
    const [ruined, ruinedOnEval, fine] = await Promise.all([
      runTask(
        "compile",
        model,
        "--method",
        "lowrank:1+int4",
        "--max-ppl-increase",
        "10",
        "--write-recipe",
        `${dir}/r.json`,
      ),
      runTask(
        "compile",
        model,
        "--method",
        "lowrank:1+int4",
        "--eval",
        `${dir}/t.txt`,
        "--max-ppl-increase",
        "10",
      ),
      runTask("compile", model, "--method", "int8", "--max-ppl-increase", "10"),
    ]);
    assert.equal(ruined.code, 3, ruined.stderr);
    assert.match(ruined.stdout, /^quality: ruined/m);
    assert.match(ruined.stdout, /compiled, not written: [\d.]+ kB \(\d+ bytes\)/);
    assert.match(
      ruined.stderr,
      new RegExp(
        `error: the compiled model's perplexity \\+\\d+\\.\\d % \\(expected from the reference tokens\\) ` +
          `exceeds --max-ppl-increase 10; nothing written to ${dir}/m\\.lowrank-1\\+int4\\.lem`,
      ),
    );
    assert.equal(ruinedOnEval.code, 3, ruinedOnEval.stderr);
    assert.match(
      ruinedOnEval.stderr,
      new RegExp(
        `perplexity \\+\\d+\\.\\d % on ${dir}/t\\.txt exceeds --max-ppl-increase 10; nothing written`,
      ),
    );
    assert.equal(fine.code, 0, fine.stderr);
    assert.deepEqual(files(dir), ["m.int8.lem", "m.onnx", "t.txt"]); // no model, no recipe, no temp file

    const bad = await runTask("compile", model, "--max-ppl-increase", "ten");
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--max-ppl-increase must be a number ≥ 0, got "ten"/);
  });
});

Deno.test("compile reports a missing output folder by the name given, before compressing", async () => {
  await withModelCopy(async (dir, model) => {
    const r = await runTask("compile", model, "--method", "int8", "-o", `${dir}/no/such/m.lem`);
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr.trim().split("\n").at(-1),
      `error: Cannot write "${dir}/no/such/m.lem": the folder "${dir}/no/such" does not exist`,
    );
    assert.doesNotMatch(r.stderr, /compressing|\.tmp/);
    const recipe = await runTask("compile", model, "--write-recipe", `${dir}/none/r.json`);
    assert.equal(recipe.code, 1);
    assert.match(recipe.stderr, /Cannot write ".*\/none\/r\.json": the folder ".*\/none" does not exist/);
    assert.deepEqual(files(dir), ["m.onnx"]);
  });
});

Deno.test("a bad --method prints the method grammar once", async () => {
  const r = await runTask("compile", "/nonexistent/m.onnx", "--method", "int9");
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown method "int9"; expected f32 \| f16/);
  assert.equal(r.stderr.split("lowrank:eE").length - 1, 1, r.stderr);
  const badArg = await runTask("compile", "/nonexistent/m.onnx", "--method", "int8:g0");
  assert.equal(badArg.code, 2);
  assert.equal(badArg.stderr.split("lowrank:eE").length - 1, 1, badArg.stderr); // the grammar, added once
});
