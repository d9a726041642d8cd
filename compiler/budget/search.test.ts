import assert from "node:assert/strict";
import { budgetSearch, type Evaluator, type Measurement, type SearchProgress } from "./search.ts";
import type { Budget } from "./budget.ts";

/** Per tensor, per method: bytes, relative error, Δ ln PPL alone, Δ ms/token alone. */
type Table = Record<string, { bytes: number; err: number; delta: number; dms: number }>;

const MENU = ["int8", "int4", "lowrank", "tt"];
const TABLES: { name: string; table: Table }[] = [
  {
    name: "embedding",
    table: {
      f32: { bytes: 8000, err: 0, delta: 0, dms: 0 },
      int8: { bytes: 2000, err: 0.01, delta: 0.0001, dms: -0.1 },
      int4: { bytes: 1200, err: 0.1, delta: 0.002, dms: 0.3 },
      lowrank: { bytes: 700, err: 0.4, delta: 0.02, dms: -0.2 },
      tt: { bytes: 100, err: 0.9, delta: 2, dms: 2 },
    },
  },
  {
    name: "layers.0.w_hh",
    table: {
      f32: { bytes: 640, err: 0, delta: 0, dms: 0 },
      int8: { bytes: 160, err: 0.01, delta: 0.0002, dms: -0.05 },
      int4: { bytes: 100, err: 0.1, delta: 0.003, dms: 0.1 },
      lowrank: { bytes: 60, err: 0.5, delta: 0.01, dms: -0.05 },
      tt: { bytes: 15, err: 0.95, delta: 0.9, dms: 0.5 },
    },
  },
  {
    name: "decoder",
    table: {
      f32: { bytes: 8000, err: 0, delta: 0, dms: 0 },
      int8: { bytes: 2000, err: 0.01, delta: 0.001, dms: -0.2 },
      int4: { bytes: 1200, err: 0.1, delta: 0.02, dms: 0.4 },
      lowrank: { bytes: 700, err: 0.3, delta: 0.06, dms: -0.3 },
      // Larger and worse than int4: discarded without measuring.
      tt: { bytes: 1300, err: 0.5, delta: 0.5, dms: 1 },
    },
  },
];
const FIXED = 500;
const BASE_SUBSET = 100;
const BASE_FULL = 110;
const BASE_MS = 1;

/** A fake model: bytes and Δs add up exactly; the full text's Δ is 1.1 × the subset's. */
function fakeEvaluator() {
  const calls: { methods: string[]; tokens: string }[] = [];
  const sum = (methods: readonly string[], field: "bytes" | "delta" | "dms") =>
    methods.reduce((s, m, t) => s + TABLES[t].table[m][field], 0);
  const evaluator: Evaluator = {
    tensors: TABLES.map((t) => ({ name: t.name, params: t.table.f32.bytes / 4 })),
    option(t, method) {
      const o = TABLES[t].table[method];
      if (!o) throw new Error(`no ${method}`);
      return { bytes: o.bytes, relativeError: o.err, detail: method };
    },
    fileBytes: (methods) => FIXED + sum(methods, "bytes"),
    measure(methods, what): Promise<Measurement> {
      calls.push({ methods: [...methods], tokens: what.tokens });
      const d = sum(methods, "delta");
      return Promise.resolve({
        bytes: FIXED + sum(methods, "bytes"),
        perplexity: what.tokens === "full" ? BASE_FULL * Math.exp(1.1 * d) : BASE_SUBSET * Math.exp(d),
        tokens: what.tokens === "full" ? 1000 : 100,
        msPerToken: what.timing ? BASE_MS + sum(methods, "dms") : undefined,
      });
    },
    time: (methods) => Promise.resolve(BASE_MS + sum(methods, "dms")),
  };
  return { evaluator, calls, sum };
}

/** The best combination by brute force: lowest Δ among those meeting the budget. */
function bruteForce(budget: Budget) {
  const { sum } = fakeEvaluator();
  let best: { methods: string[]; delta: number } | undefined;
  const methods = ["f32", ...MENU];
  for (const a of methods) {
    for (const b of methods) {
      for (const c of methods) {
        const m = [a, b, c];
        const ok = FIXED + sum(m, "bytes") <= budget.targetBytes &&
          (budget.maxMsPerToken === undefined || BASE_MS + sum(m, "dms") <= budget.maxMsPerToken) &&
          (budget.maxPplIncrease === undefined ||
            BASE_FULL * Math.exp(1.1 * sum(m, "delta")) <= BASE_FULL * (1 + budget.maxPplIncrease));
        if (ok && (!best || sum(m, "delta") < best.delta)) best = { methods: m, delta: sum(m, "delta") };
      }
    }
  }
  return best;
}

Deno.test("budgetSearch() meets a reachable size budget with the best combination there is", async () => {
  const { evaluator, calls } = fakeEvaluator();
  const budget = { targetBytes: 3000 };
  const stages: SearchProgress["stage"][] = [];
  const result = await budgetSearch(evaluator, {
    budget,
    menu: MENU,
    onProgress: (p) => stages.at(-1) !== p.stage && stages.push(p.stage),
  });
  assert.deepEqual(stages, ["baseline", "encode", "sensitivity", "combine", "final"]);
  assert.ok(result.chosen, result.unmet);
  assert.ok(result.chosen.bytes <= 3000);
  assert.deepEqual(result.chosen.methods, bruteForce(budget)!.methods);
  assert.deepEqual(result.chosen.methods, ["int4", "int4", "int4"]);
  assert.equal(result.chosen.bytes, 3000);
  assert.equal(result.chosen.validPerplexity, BASE_FULL * Math.exp(1.1 * (0.002 + 0.003 + 0.02)));
  assert.equal(result.closest, undefined);
  assert.equal(result.baseline.validPerplexity, BASE_FULL);

  // Discarded before measuring: the decoder's tt (bigger and worse than int4).
  const choice = (tensor: string, method: string) =>
    result.choices.find((c) => c.tensor === tensor && c.method === method)!;
  assert.match(choice("decoder", "tt").discarded!, /dominated by int4/);
  assert.equal(choice("decoder", "tt").delta, undefined);
  // Measured and found too damaging (+639 % alone): kept out of every combination.
  assert.match(choice("embedding", "tt").discarded!, /alone it raises the subset perplexity by \+638\.91 %/);
  assert.ok(!result.combined.some((m) => m.methods[0] === "tt"));
  // One-tensor models are measured on the subset only; finalists on the full text.
  const singles = calls.filter((c) => c.methods.filter((m) => m !== "f32").length === 1);
  assert.ok(singles.every((c) => c.tokens === "subset"));
  assert.equal(result.costs.find((c) => c.stage === "sensitivity")!.evaluations, result.singles.length);
  assert.ok(singles.length >= result.singles.length);
  assert.equal(
    calls.filter((c) => c.tokens === "full").length,
    1 + result.finalists.filter((f) => f !== result.baseline).length,
  );
  assert.ok(result.finalists.length <= 3);
  // The predictions are exact for this additive fake.
  for (const m of result.combined) {
    assert.ok(Math.abs(m.predicted!.subsetPerplexity - m.subsetPerplexity) < 1e-9);
    assert.equal(m.predicted!.bytes, m.bytes);
  }
  assert.ok(result.frontier.includes(result.chosen));
  assert.equal(result.costs.reduce((s, c) => s + c.evaluations, 0), calls.length);
});

Deno.test("budgetSearch() skips a tensor's choices with more error than one already too damaging", async () => {
  const { evaluator, calls } = fakeEvaluator();
  // Cap 1 %: the embedding's lowrank (+2.02 % alone) is measured and too damaging, its tt not measured.
  const result = await budgetSearch(evaluator, {
    budget: { targetBytes: 100_000 },
    menu: MENU,
    maxSingleIncrease: 0.01,
  });
  const choice = (tensor: string, method: string) =>
    result.choices.find((c) => c.tensor === tensor && c.method === method)!;
  assert.match(
    choice("embedding", "lowrank").discarded!,
    /alone it raises the subset perplexity by \+2\.02 %/,
  );
  assert.match(choice("embedding", "tt").discarded!, /not measured: more relative error than lowrank/);
  assert.match(choice("decoder", "lowrank").discarded!, /not measured: more relative error than int4/);
  assert.ok(!calls.some((c) => c.methods[0] === "tt" || c.methods[2] === "lowrank"));
  assert.ok(calls.some((c) => c.methods[0] === "lowrank"));
});

Deno.test("budgetSearch() takes f32 when the target allows it", async () => {
  const { evaluator } = fakeEvaluator();
  const result = await budgetSearch(evaluator, { budget: { targetBytes: 1e9 }, menu: MENU });
  assert.equal(result.chosen, result.baseline);
  assert.deepEqual(result.chosen!.methods, ["f32", "f32", "f32"]);
});

Deno.test("budgetSearch() reports an unreachable size with the closest model and the smallest possible", async () => {
  const { evaluator } = fakeEvaluator();
  const result = await budgetSearch(evaluator, { budget: { targetBytes: 1000 }, menu: MENU });
  assert.equal(result.chosen, undefined);
  assert.ok(result.closest);
  assert.deepEqual(result.closest.violations.map((v) => v.flag), ["--target-size"]);
  // Smallest usable: embedding lowrank 700, w_hh lowrank 60, decoder lowrank 700 (tt too damaging).
  assert.equal(result.minimumBytes, FIXED + 700 + 60 + 700);
  assert.equal(result.closest.bytes, result.minimumBytes);
  assert.match(
    result.unmet!,
    /--target-size 1000: every tensor at its smallest usable choice makes about 1960 bytes/,
  );
});

Deno.test("budgetSearch() reports an unreachable perplexity limit, naming the best within the size", async () => {
  const { evaluator } = fakeEvaluator();
  const budget = { targetBytes: 3000, maxPplIncrease: 0.005 };
  assert.equal(bruteForce(budget), undefined);
  const result = await budgetSearch(evaluator, { budget, menu: MENU });
  assert.equal(result.chosen, undefined);
  assert.deepEqual(result.closest!.violations.map((v) => v.flag), ["--max-ppl-increase"]);
  assert.ok(result.closest!.bytes <= 3000);
  assert.match(
    result.unmet!,
    /--max-ppl-increase 0\.5 \(valid perplexity ≤ 110\.55\): the best within the size target has 113\.07 \(\+2\.79 %\)/,
  );
  assert.doesNotMatch(result.unmet!, /--target-size/);
});

Deno.test("budgetSearch() with a speed limit picks a slower-to-lose but faster combination", async () => {
  const { evaluator } = fakeEvaluator();
  const budget = { targetBytes: 3000, maxMsPerToken: 1.0 };
  const expected = bruteForce(budget)!;
  const result = await budgetSearch(evaluator, { budget, menu: MENU });
  assert.ok(result.chosen, result.unmet);
  assert.deepEqual(result.chosen.methods, expected.methods);
  assert.ok(result.chosen.msPerToken! <= 1.0);
  assert.notDeepEqual(result.chosen.methods, ["int4", "int8", "int4"], "the size-only choice is too slow");
  // With a speed budget the sensitivity stage times each choice.
  assert.ok(result.choices.filter((c) => c.delta !== undefined).every((c) => c.dms !== undefined));

  const impossible = await budgetSearch(fakeEvaluator().evaluator, {
    budget: { targetBytes: 3000, maxMsPerToken: 0.1 },
    menu: MENU,
  });
  assert.equal(impossible.chosen, undefined);
  assert.match(impossible.unmet!, /--max-ms-per-token 0\.1: the fastest model within the size target takes/);
});
