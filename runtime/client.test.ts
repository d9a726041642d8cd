import assert from "node:assert/strict";
import { createApp } from "./app.ts";
import { createClient, type GenerateResponse } from "./client.ts";
import { loadTestModel } from "./app/test_model.ts";

const test = await loadTestModel();
const app = createApp({ model: test.model, sha256: test.sha256 });
const api = createClient("http://localhost", {
  fetch: (input: RequestInfo | URL, init?: RequestInit) => app.request(input, init),
});

Deno.test("the typed client predicts word by word with the state, scores and generates", async () => {
  const first = await api.v1.predict.$post({ json: { text: "the stock" } });
  assert.equal(first.status, 200);
  const a = await first.json();
  const b = await (await api.v1.predict.$post({ json: { text: "market", state: a.state, k: 3 } })).json();
  assert.equal(b.predictions.length, 3);
  const whole = await (await api.v1.predict.$post({ json: { text: "the stock market", k: 3 } })).json();
  b.predictions.forEach((p, i) => assert.ok(Math.abs(p.prob - whole.predictions[i].prob) <= 1e-5));
  const score = await (await api.v1.score.$post({ json: { text: "the stock market" } })).json();
  assert.equal(score.tokens, 3);
  const res = await api.v1.generate.$post({ json: { prompt: "the", seed: 5, maxTokens: 4 } });
  const gen = (await res.json()) as GenerateResponse;
  assert.equal(gen.seed, 5);
  const completed = await (await api.v1.predict.$post({ json: { text: "the", prefix: "sh", k: 2 } })).json();
  assert.deepEqual(completed.predictions.map((p) => p.token).sort(), ["share", "shares"]);
  assert.equal(completed.matches, 2);
  assert.ok(completed.predictions.every((p) => p.prefixProb! > p.prob));
  const ranked = await (await api.v1.rank.$post({
    json: { text: "the stock", candidates: ["market rose", "market"], sortBy: "mean" },
  })).json();
  assert.deepEqual(ranked.ranking.map((r) => r.index).sort(), [0, 1]);
  assert.equal(ranked.ranking.find((r) => r.index === 0)!.tokens, 2);
  const info = await (await api.v1.model.$get()).json();
  assert.equal(info.name, "test-model");
  assert.equal((await api.healthz.$get()).status, 200);
});

Deno.test("the typed client sees errors as {error: {code, message}}", async () => {
  const res = await api.v1.predict.$post({ json: { text: "the", k: 500 } });
  assert.equal(res.status, 400);
  const body = (await res.json()) as unknown as { error: { code: string } };
  assert.equal(body.error.code, "out_of_range");
});
