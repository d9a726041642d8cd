import assert from "node:assert/strict";
import { describeBudget, violations, violationScore } from "./budget.ts";

Deno.test("violations() lists each budget a point misses with its relative excess", () => {
  const budget = { targetBytes: 1000, maxPplIncrease: 0.05, maxMsPerToken: 2 };
  assert.deepEqual(violations({ bytes: 1000, perplexity: 105, msPerToken: 2 }, budget, 100), []);
  const v = violations({ bytes: 1500, perplexity: 126, msPerToken: 3 }, budget, 100);
  assert.deepEqual(v.map((x) => x.flag), ["--target-size", "--max-ppl-increase", "--max-ms-per-token"]);
  assert.ok(Math.abs(v[0].excess - 0.5) < 1e-12 && Math.abs(v[1].excess - 0.2) < 1e-12);
  assert.ok(
    Math.abs(violationScore({ bytes: 1500, perplexity: 126, msPerToken: 3 }, budget, 100) - 1.2) < 1e-12,
  );
  // Without a measured speed the speed limit is not judged; NaN perplexity misses the limit.
  assert.deepEqual(violations({ bytes: 10, perplexity: NaN }, budget, 100).map((x) => x.flag), [
    "--max-ppl-increase",
  ]);
});

Deno.test("describeBudget() writes the budget as the flags that set it", () => {
  assert.equal(describeBudget({ targetBytes: 3000000 }), "--target-size 3000000");
  assert.equal(
    describeBudget({ targetBytes: 5, maxPplIncrease: 0.07, maxMsPerToken: 0.5 }),
    "--target-size 5 --max-ppl-increase 7 --max-ms-per-token 0.5",
  );
});
