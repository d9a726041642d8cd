import assert from "node:assert/strict";
import { nllAccumulator } from "./perplexity.ts";

Deno.test("nllAccumulator() gives the perplexity of a uniform distribution as its size", () => {
  const acc = nllAccumulator();
  for (let i = 0; i < 5; i++) acc.addLogits(new Float32Array(10).fill(3), i);
  assert.equal(acc.tokens, 5);
  assert.ok(Math.abs(acc.perplexity - 10) < 1e-9);
});

Deno.test("nllAccumulator() addLogits equals addLogProb of the log-softmax", () => {
  const logits = new Float32Array([1000, 999, 990]); // large values: must not overflow
  const a = nllAccumulator();
  a.addLogits(logits, 1);
  const b = nllAccumulator();
  b.addLogProb(-1 - Math.log(1 + Math.exp(-1) + Math.exp(-10)));
  assert.ok(Math.abs(a.nll - b.nll) < 1e-9);
  assert.ok(Number.isNaN(nllAccumulator().perplexity));
});
