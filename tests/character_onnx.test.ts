/**
 * A character-level ONNX model: the tokenizer kind comes from --tokenizer (or metadata_props "tokenizer"),
 * the vocabulary from a JSON --vocab that can hold " " and "\n"; compile checks it against onnxruntime-web
 * as any ONNX model, and eval reads raw text.
 * @module
 */
import assert from "node:assert/strict";
import { LSTM2_FIXTURE, runTask } from "./helpers.ts";

/** 40 characters for the lstm2 fixture's 40 embedding rows. */
const CHARS = [..." \nabcdefghijklmnopqrstuvwxyz.,;:!?'-ABCD"];

Deno.test('compile --tokenizer \'{"kind": "character"}\' with a JSON --vocab makes a character model that eval runs on raw text', async () => {
  assert.equal(CHARS.length, 40);
  const dir = await Deno.makeTempDir({ prefix: "lstm-edge-chars-" });
  try {
    const vocab = `${dir}/chars.json`;
    await Deno.writeTextFile(vocab, JSON.stringify(CHARS));
    const out = `${dir}/chars.lem`;
    const c = await runTask(
      "compile",
      LSTM2_FIXTURE,
      "-o",
      out,
      "--vocab",
      vocab,
      "--tokenizer",
      '{"kind": "character"}',
    );
    assert.equal(c.code, 0, c.stderr);
    const check = /check against onnxruntime-web: max \|logit difference\| (\S+) over 32 tokens/.exec(
      c.stdout,
    );
    assert.ok(check && Number(check[1]) <= 1e-4, c.stdout);
    const inspect = await runTask("inspect", out);
    assert.match(inspect.stdout, /format 1\.1, \d+ bytes; vocabulary 40 characters, embedding/);

    const text = `${dir}/raw.txt`;
    await Deno.writeTextFile(text, "a cab, a bad dab.\n\nABBA!\n");
    const e = await runTask("eval", out, text, "--json");
    assert.equal(e.code, 0, e.stderr);
    const r = JSON.parse(e.stdout);
    assert.equal(r.tokens, 24, "25 characters, every one after the first scored");
    assert.equal(r.characters, true);
    await Deno.writeTextFile(text, "a cab é\n");
    const bad = await runTask("eval", out, text);
    assert.equal(bad.code, 1);
    assert.match(
      bad.stderr,
      /Character "é" \(U\+00E9\) is not in the vocabulary, and the vocabulary has no <unk>/,
    );

    // Without the character kind the same vocabulary is a word vocabulary, which cannot hold " ".
    const words = await runTask("compile", LSTM2_FIXTURE, "-o", `${dir}/words.lem`, "--vocab", vocab);
    assert.equal(words.code, 1);
    assert.match(
      words.stderr,
      /id 0 is " ", which contains whitespace; id 1 is "\\n", which contains whitespace; a word vocabulary's tokens hold no whitespace \(for a character model: --tokenizer '\{"kind": "character"\}'\)/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
