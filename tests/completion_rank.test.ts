/**
 * Word completion and candidate ranking on a real PTB model (models/ptb-small-8x.lem, shipped), in the
 * library and over HTTP: completions equal a brute-force scan of the vocabulary, and ranking runs the
 * shared context once (counted in LSTM steps, not timed) with the scores `score` gives.
 * @module
 */
import assert from "node:assert/strict";
import { LstmModel } from "../runtime/model.ts";
import { createApp } from "../runtime/app.ts";
import { sha256Hex } from "../runtime/sha256.ts";

const bytes = await Deno.readFile(new URL("../models/ptb-small-8x.lem", import.meta.url));
const model = await LstmModel.load(bytes);
const app = createApp({ model, sha256: await sha256Hex(bytes) });
const post = async (path: string, body: unknown) => {
  const res = await app.request(path, { method: "POST", body: JSON.stringify(body) });
  const json = await res.json();
  assert.equal(res.status, 200, JSON.stringify(json));
  return json;
};
const t = model.tokenizer;
const special = [t.unkId, t.eosId];

/** The k most likely entries starting with `prefix`, by scanning every id: the definition, slowly. */
function bruteForce(logProbs: Float32Array, prefix: string, k: number) {
  const ids = [];
  for (let id = 0; id < t.vocab.length; id++) {
    if (t.vocab[id].startsWith(prefix) && !special.includes(id)) ids.push(id);
  }
  ids.sort((a, b) => logProbs[b] - logProbs[a] || a - b);
  return ids.slice(0, k);
}

Deno.test('predict with prefix "mar" after "the stock" equals a brute-force scan of the vocabulary, reaching below the top 50', async () => {
  const state = model.createState();
  model.feed(state, t.encode("the stock", { endWithEos: false }).ids);
  const logProbs = model.logProbs(state);
  const top50 = new Set(model.topK(state, 50, special).map((p) => p.id));
  const k = 50;
  const expected = bruteForce(logProbs, "mar", k);
  const { matches, completions } = model.complete(state, "mar", k, special);
  assert.deepEqual(completions.map((c) => c.id), expected, "same ids, same order");
  completions.forEach((c) => assert.ok(Math.abs(Math.exp(c.logProb) - Math.exp(logProbs[c.id])) <= 1e-6));
  const below = completions.filter((c) => !top50.has(c.id));
  console.log(
    `"mar": ${matches} matches; first ${completions.slice(0, 6).map((c) => c.token).join(", ")}; ` +
      `${below.length} of the ${completions.length} shown are outside the top 50 next words`,
  );
  assert.ok(below.length > 0, "completions ranked below the top 50 next words");
  assert.equal(matches, t.vocab.filter((w, id) => w.startsWith("mar") && !special.includes(id)).length);

  // Over HTTP, normalized ("Mar" → "mar"), with the renormalized probability beside the model's.
  const res = await post("/v1/predict", { text: "the stock", prefix: "Mar", k });
  assert.deepEqual(res.predictions.map((p: { token: string }) => p.token), expected.map((id) => t.vocab[id]));
  let mass = 0;
  for (let id = 0; id < t.vocab.length; id++) {
    if (t.vocab[id].startsWith("mar") && !special.includes(id)) mass += Math.exp(logProbs[id]);
  }
  res.predictions.forEach((p: { token: string; prob: number; prefixProb: number }, i: number) => {
    assert.ok(Math.abs(p.prob - Math.exp(logProbs[expected[i]])) <= 1e-6, `${p.token}: ${p.prob}`);
    assert.ok(Math.abs(p.prefixProb - p.prob / mass) <= 1e-6, `${p.token}: ${p.prefixProb}`);
  });
  assert.equal(res.matches, matches);
});

Deno.test("predict with a number prefix offers the number token", async () => {
  const res = await post("/v1/predict", { text: "the stock rose", prefix: "12", k: 5 });
  assert.ok(res.predictions.some((p: { token: string }) => p.token === "N"), JSON.stringify(res.predictions));
});

const CONTEXT =
  "the company said it expects to report a loss for the third quarter because of higher costs " +
  "and lower prices for its products in the u.s. and europe this year";
const CANDIDATES = [
  "and the stock fell",
  "but analysts said the company will recover",
  "according to a spokesman",
  "the the the",
  "and it will cut jobs",
  "as sales of its computers slowed",
  "in a statement",
  "officials said",
  "N",
  "which it did not expect",
  "because of the strong dollar",
  "and N N a share",
  "for the first time in five years",
  "the company also said it would sell its unit",
  "and investors were worried",
  "mr. smith said",
  "while earnings rose N %",
  "that was a surprise",
  "of the market",
  "banana zebra quantum",
];

Deno.test("rank over 20 candidates after a 30-word context runs the context once and equals score(context + candidate)", async () => {
  const context = t.encode(CONTEXT, { endWithEos: false }).ids;
  assert.equal(context.length, 30);
  const candidates = CANDIDATES.map((c) => t.encode(c, { endWithEos: false }).ids);
  assert.equal(candidates.length, 20);
  const candidateSteps = candidates.reduce((s, c) => s + c.length - 1, 0);

  const before = model.stepsRun;
  const res = await post("/v1/rank", { text: CONTEXT, candidates: CANDIDATES });
  const steps = model.stepsRun - before;
  console.log(
    `rank: ${steps} LSTM steps = context ${context.length} + candidates ${candidateSteps} ` +
      `(running the context with every candidate would take ${20 * context.length + candidateSteps})`,
  );
  assert.equal(steps, context.length + candidateSteps, "one context pass");

  const scoreOf = (ids: number[]) => -model.score(ids).nll;
  const base = scoreOf(context);
  let worst = 0;
  for (const r of res.ranking) {
    const expected = scoreOf([...context, ...candidates[r.index]]) - base;
    worst = Math.max(worst, Math.abs(r.logprob - expected));
    assert.ok(Math.abs(r.logprob - expected) <= 1e-5, `${CANDIDATES[r.index]}: ${r.logprob} vs ${expected}`);
    assert.equal(r.tokens, candidates[r.index].length);
    assert.equal(r.text, CANDIDATES[r.index]);
  }
  console.log(
    `rank: largest |rank − (score(context + candidate) − score(context))| ${worst.toExponential(2)}`,
  );
  for (let i = 1; i < res.ranking.length; i++) {
    assert.ok(res.ranking[i - 1].logprob >= res.ranking[i].logprob);
  }
  for (const r of res.ranking) assert.equal(r.unknown, t.encode(r.text, { endWithEos: false }).unknown);
  assert.ok(res.ranking.find((r: { text: string }) => r.text === "banana zebra quantum").unknown >= 2);
  assert.deepEqual(res.ranking.map((r: { index: number }) => r.index).sort((a: number, b: number) => a - b), [
    ...CANDIDATES.keys(),
  ]);
});

Deno.test("rank scores candidates longer than a processing chunk, and an empty candidate as 0", () => {
  const context = t.encode("the market", { endWithEos: false }).ids;
  const state = model.createState();
  model.feed(state, context);
  const long = t.encode("the company said it would sell its unit and buy back shares ".repeat(12), {
    endWithEos: false,
  }).ids;
  assert.ok(long.length > 130);
  const [r, empty] = model.rank(state, [long, []]);
  const expected = -model.score([...context, ...long]).nll + model.score(context).nll;
  assert.ok(Math.abs(r.logProb - expected) <= 1e-4 * Math.abs(expected), `${r.logProb} vs ${expected}`);
  assert.deepEqual(empty, { index: 1, logProb: 0, tokens: 0 });
  assert.equal(state.tokens, context.length, "rank leaves the context state as it was");
});
