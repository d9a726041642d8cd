/**
 * The model that ships (models/ptb-small.onnx) against what PyTorch wrote beside it when it was trained
 * (models/ptb-small.reference.json): the reference belongs to this very file, our compiled `.lem` gives
 * PyTorch's logits for the reference sentence, and our runtime and onnxruntime-web agree on a slice of
 * PTB's test text. The full-text numbers are in the README (they take minutes).
 */
import { assertAllClose } from "../runtime/kernels/testing.ts";
import assert from "node:assert/strict";
import { compileOnnx } from "../compiler/compile.ts";
import { OnnxReferenceModel } from "../compiler/onnxruntime_reference.ts";
import { LstmModel } from "../runtime/model.ts";
import { sha256Hex } from "../runtime/sha256.ts";
import { exists, needs, PTB } from "./helpers.ts";

const ONNX = new URL("../models/ptb-small.onnx", import.meta.url);
const REFERENCE = new URL("../models/ptb-small.reference.json", import.meta.url);
const SLICE_TOKENS = 3000;

interface Reference {
  onnx_sha256: string;
  valid_perplexity: number;
  test_perplexity: number;
  sentence: string;
  sentence_ids: number[];
  logits: number[][];
}

Deno.test("the shipped model's reference JSON describes the committed ONNX file", async () => {
  const reference: Reference = JSON.parse(await Deno.readTextFile(REFERENCE));
  assert.equal(await sha256Hex(await Deno.readFile(ONNX)), reference.onnx_sha256);
  // This project's bar for the shipped model (test perplexity ≤ 125), as PyTorch measured it.
  assert.ok(reference.test_perplexity <= 125, `test perplexity ${reference.test_perplexity} > 125`);
});

Deno.test("the compiled shipped model gives PyTorch's logits and tokenizes PTB's way", async () => {
  const reference: Reference = JSON.parse(await Deno.readTextFile(REFERENCE));
  const compiled = await compileOnnx(await Deno.readFile(ONNX), { fileName: "ptb-small.onnx" });
  const model = await LstmModel.load(compiled.bytes);
  assertAllClose(
    model.logits(reference.sentence_ids),
    reference.logits.flat(),
    "logits vs PyTorch",
    1e-4,
    1e-4,
  );
  // Tokenizer rules from metadata_props "tokenizer": lowercase, numbers → N, <eos> per line.
  const encoded = model.tokenizer.encode("The Company said 1,200\n");
  assert.deepEqual(
    encoded.ids.map((id) => model.tokenizer.vocab[id]),
    ["the", "company", "said", "N", "<eos>"],
  );
  assert.deepEqual(
    reference.sentence_ids,
    model.tokenizer.encode(reference.sentence, { endWithEos: false }).ids,
  );
});

Deno.test({
  name: "lstm-edge and onnxruntime-web agree on the shipped model's perplexity over PTB test text",
  ...needs(exists(PTB), "needs ../shared/data/ptb"),
  async fn() {
    const onnxBytes = await Deno.readFile(ONNX);
    const model = await LstmModel.load((await compileOnnx(onnxBytes, { fileName: "ptb-small.onnx" })).bytes);
    const text = await Deno.readTextFile(new URL("ptb.test.txt", PTB));
    const ids = model.tokenizer.encode(text).ids.slice(0, SLICE_TOKENS);
    const ours = model.score(ids).perplexity;
    const reference = await OnnxReferenceModel.create(onnxBytes);
    const theirs = (await reference.score(ids)).perplexity;
    assert.ok(Math.abs(ours - theirs) <= 1e-5 * theirs, `ours ${ours}, onnxruntime-web ${theirs}`);
    // A trained model, not a random one: far below the vocabulary size.
    assert.ok(theirs < 200, `perplexity ${theirs} on ${SLICE_TOKENS} test tokens`);
  },
});
