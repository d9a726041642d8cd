/**
 * One check of every route, bad inputs included, run against the app in-process (`app.request`), under
 * Deno.serve and under workerd — the same assertions on every platform.
 * @module
 */
import assert from "node:assert/strict";
import type { LstmModel } from "../model.ts";
import { type GenerateResult, TextService } from "./service.ts";

/** Makes a request to the server under test: a path and RequestInit, like `app.request`. */
export type Call = (path: string, init?: RequestInit) => Promise<Response>;

const post = (call: Call, path: string, body: unknown) =>
  call(path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });

async function json(res: Response, status = 200) {
  const text = await res.text();
  assert.equal(res.status, status, `HTTP ${res.status}, expected ${status}: ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

/** Asserts the response is an error `{error: {code, message}}` with this status (and code, when given). */
export async function assertError(res: Response, status: number, code?: string, what = ""): Promise<void> {
  const body = await res.text();
  assert.equal(res.status, status, `${what}: HTTP ${res.status}, expected ${status}: ${body.slice(0, 300)}`);
  assert.match(res.headers.get("content-type") ?? "", /application\/json/, what);
  const parsed = JSON.parse(body);
  assert.equal(typeof parsed.error?.message, "string", `${what}: ${body}`);
  if (code) assert.equal(parsed.error.code, code, `${what}: ${body}`);
}

/** Changes the bytes of an encoded state (layout in state_codec.ts). */
function tamper(state: string, change: (bytes: DataView) => void): string {
  const b = Uint8Array.from(atob(state.replaceAll("-", "+").replaceAll("_", "/")), (c) => c.charCodeAt(0));
  change(new DataView(b.buffer));
  return btoa(String.fromCharCode(...b)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** The routes, good and bad requests. `runtime`: whether GET /demo/runtime.js should be offered. */
export async function checkEveryRoute(call: Call, options: { runtime: boolean }): Promise<void> {
  assert.deepEqual(await json(await call("/healthz")), { status: "ok", model: "test-model" });

  const info = await json(await call("/v1/model"));
  assert.equal(info.vocabSize, 40);
  assert.deepEqual(info.layers, [{ inputSize: 8, hiddenSize: 12 }, { inputSize: 12, hiddenSize: 10 }]);
  assert.ok(
    info.tensors.some((t: { name: string; bytes: number }) => t.name === "decoder" && t.bytes === 1600),
  );
  assert.match(info.sha256, /^[0-9a-f]{64}$/);
  assert.equal(info.state.floats, 44);
  assert.equal(info.tokenizer.lowercase, true);

  const lem = await call("/v1/model.lem");
  assert.equal(lem.status, 200);
  assert.equal((await lem.arrayBuffer()).byteLength, info.fileBytes);

  const doc = await json(await call("/openapi.json"));
  assert.equal(doc.openapi, "3.1.0");
  assert.ok(doc.paths["/v1/predict"].post);

  const page = await call("/");
  assert.equal(page.status, 200);
  assert.match(await page.text(), /<textarea id="text"/);

  const runtime = await call("/demo/runtime.js");
  if (options.runtime) {
    assert.equal(runtime.status, 200);
    assert.match(runtime.headers.get("content-type") ?? "", /javascript/);
    assert.match(await runtime.text(), /loadModel/);
  } else await assertError(runtime, 404, "not_found");

  // predict(a + b) == predict(b, state after a)
  const whole = await json(
    await post(call, "/v1/predict", { text: "The stock market rose 5 percent", k: 50 }),
  );
  const a = await json(await post(call, "/v1/predict", { text: "The stock market" }));
  assert.equal(a.predictions.length, 5);
  assert.ok(a.predictions.every((p: { token: string }) => p.token !== "<unk>" && p.token !== "<eos>"));
  const b = await json(await post(call, "/v1/predict", { text: " rose 5 percent", k: 50, state: a.state }));
  assert.equal(b.predictions.length, whole.predictions.length);
  b.predictions.forEach((p: { token: string; prob: number }, i: number) => {
    assert.equal(p.token, whole.predictions[i].token);
    assert.ok(
      Math.abs(p.prob - whole.predictions[i].prob) <= 1e-5,
      `${p.token}: ${p.prob} vs ${whole.predictions[i].prob}`,
    );
  });
  const special = await json(await post(call, "/v1/predict", { text: "the", k: 40, includeSpecial: true }));
  assert.ok(special.predictions.some((p: { token: string }) => p.token === "<eos>"));
  const again = await json(await post(call, "/v1/predict", { text: "", state: a.state }));
  assert.deepEqual(again.predictions, a.predictions);

  // Completion: the entries that start with the prefix (normalized: "S" → "s"), over the whole vocabulary.
  const all = await json(await post(call, "/v1/predict", { text: "the", k: 38 }));
  const complete = await json(await post(call, "/v1/predict", { text: "the", prefix: "S", k: 50 }));
  const starting = all.predictions.filter((p: { token: string }) => p.token.startsWith("s"));
  assert.equal(complete.matches, starting.length);
  assert.deepEqual(
    complete.predictions.map((p: { token: string }) => p.token),
    starting.map((p: { token: string }) => p.token),
  );
  const mass = starting.reduce((s: number, p: { prob: number }) => s + p.prob, 0);
  complete.predictions.forEach((p: { token: string; prob: number; prefixProb: number }, i: number) => {
    assert.ok(Math.abs(p.prob - starting[i].prob) <= 1e-6, `${p.token}: ${p.prob} vs ${starting[i].prob}`);
    assert.ok(Math.abs(p.prefixProb - p.prob / mass) <= 1e-6, `${p.token}: prefixProb ${p.prefixProb}`);
  });
  const top2 = await json(await post(call, "/v1/predict", { text: "", state: a.state, prefix: "s", k: 2 }));
  assert.equal(top2.predictions.length, 2);
  assert.equal(top2.state, a.state, "the prefix is not fed");
  assert.deepEqual(
    (await json(await post(call, "/v1/predict", { text: "the", prefix: "qq" }))).predictions,
    [],
  );

  // Ranking: each candidate continues from the context's state; its log-probability is the sum of its
  // tokens' log-probabilities, which predict gives one by one.
  const rank = await json(
    await post(call, "/v1/rank", { text: "The stock", candidates: ["market rose", "market", "the the the"] }),
  );
  assert.equal(rank.tokens, 2);
  assert.deepEqual(rank.ranking.map((r: { index: number }) => r.index).sort(), [0, 1, 2]);
  for (let i = 1; i < rank.ranking.length; i++) {
    assert.ok(rank.ranking[i - 1].logprob >= rank.ranking[i].logprob);
  }
  const byIndex = (i: number) => rank.ranking.find((r: { index: number }) => r.index === i);
  const afterStock = await json(
    await post(call, "/v1/predict", { text: "The stock", k: 40, includeSpecial: true }),
  );
  const afterMarket = await json(
    await post(call, "/v1/predict", { text: "market", state: afterStock.state, k: 40, includeSpecial: true }),
  );
  const probOf = (r: { predictions: { token: string; prob: number }[] }, t: string) =>
    r.predictions.find((p) => p.token === t)!.prob;
  const market = Math.log(probOf(afterStock, "market"));
  assert.ok(Math.abs(byIndex(1).logprob - market) <= 1e-5, `${byIndex(1).logprob} vs ${market}`);
  const marketRose = market + Math.log(probOf(afterMarket, "rose"));
  assert.ok(Math.abs(byIndex(0).logprob - marketRose) <= 1e-5, `${byIndex(0).logprob} vs ${marketRose}`);
  assert.equal(byIndex(0).tokens, 2);
  assert.ok(Math.abs(byIndex(0).meanLogprob - marketRose / 2) <= 1e-5);
  assert.equal(rank.state, afterStock.state, "the state after the context");
  const fromState = await json(
    await post(call, "/v1/rank", {
      state: afterStock.state,
      candidates: ["market rose", "market", "the the the"],
      k: 2,
      sortBy: "mean",
    }),
  );
  assert.equal(fromState.ranking.length, 2);
  assert.ok(fromState.ranking[0].meanLogprob >= fromState.ranking[1].meanLogprob);
  const unknownCandidate = await json(
    await post(call, "/v1/rank", { text: "the", candidates: ["xyzzy market"] }),
  );
  assert.equal(unknownCandidate.ranking[0].unknown, 1);

  const score = await json(await post(call, "/v1/score", { text: "the stock market xyzzy\nit rose" }));
  assert.equal(score.tokens, 7); // 8 tokens (with two <eos>), the first not scored
  assert.equal(score.unknown, 1);
  assert.ok(Math.abs(score.perplexity - Math.exp(-score.logprob / score.tokens)) < 1e-6 * score.perplexity);

  const gen = { prompt: "the stock", maxTokens: 12, seed: 1234, temperature: 1.2 };
  const g1 = await json(await post(call, "/v1/generate", gen));
  const g2 = await json(await post(call, "/v1/generate", gen));
  assert.equal(g1.text, g2.text);
  assert.equal(g1.seed, 1234);
  assert.ok(g1.tokens.length >= 1 && g1.tokens.length <= 12);
  assert.equal(g1.text, g1.tokens.join(" "));
  const sse = await post(call, "/v1/generate", { ...gen, stream: true });
  assert.equal(sse.status, 200);
  assert.match(sse.headers.get("content-type") ?? "", /text\/event-stream/);
  const events = (await sse.text()).trim().split("\n\n").map((e) => ({
    event: /^event: (.*)$/m.exec(e)?.[1],
    data: JSON.parse(/^data: (.*)$/m.exec(e)![1]),
  }));
  assert.deepEqual(events.filter((e) => e.event === "token").map((e) => e.data.token), g1.tokens);
  assert.equal(events.at(-1)!.event, "done");
  assert.equal(events.at(-1)!.data.text, g1.text);

  // minTokens: no <eos> before it. A seed whose text ends at <eos> early, asked again for more.
  let early: { seed: number; tokens: string[] } | undefined;
  for (let seed = 0; seed < 64 && !early; seed++) {
    const g = await json(await post(call, "/v1/generate", { prompt: "the", maxTokens: 10, seed }));
    if (g.finishReason === "eos" && g.tokens.length < 3) early = g;
  }
  assert.ok(early, "no seed in 0..63 ends at <eos> within 3 words");
  const atLeast = { prompt: "the", maxTokens: 10, seed: early.seed, minTokens: 3 };
  const longer = await json(await post(call, "/v1/generate", atLeast));
  assert.ok(longer.tokens.length >= 3, JSON.stringify(longer));
  assert.equal(longer.text, longer.tokens.join(" "));
  const exact = await json(await post(call, "/v1/generate", { ...atLeast, maxTokens: 6, minTokens: 6 }));
  assert.deepEqual([exact.tokens.length, exact.finishReason], [6, "length"]);
  const streamed = await (await post(call, "/v1/generate", { ...atLeast, stream: true })).text();
  assert.equal(JSON.parse(/event: done\ndata: (.*)/.exec(streamed)![1]).text, longer.text);

  // Bad input: every one a 4xx with {error: {code, message}}.
  const bad: [string, unknown, number, string][] = [
    ["/v1/predict", "{", 400, "invalid_json"],
    ["/v1/predict", "", 400, "invalid_json"],
    ["/v1/predict", "[1]", 400, "invalid_json"],
    ["/v1/predict", "null", 400, "invalid_json"],
    ["/v1/predict", {}, 400, "missing_field"],
    ["/v1/predict", { text: 3 }, 400, "invalid_field"],
    ["/v1/predict", { text: "  " }, 400, "empty_text"],
    ["/v1/predict", { text: "a".repeat(20001) }, 413, "text_too_long"],
    ["/v1/predict", { text: "a ".repeat(4001) }, 413, "text_too_long"],
    ["/v1/predict", { text: "the", k: 0 }, 400, "out_of_range"],
    ["/v1/predict", { text: "the", k: 51 }, 400, "out_of_range"],
    ["/v1/predict", { text: "the", k: 2.5 }, 400, "invalid_field"],
    ["/v1/predict", { text: "the", k: "5" }, 400, "invalid_field"],
    ["/v1/predict", { text: "the", colour: "red" }, 400, "unknown_field"],
    ["/v1/predict", { text: "the", state: 5 }, 400, "invalid_field"],
    ["/v1/predict", { text: "the", state: "!!" }, 400, "invalid_state"],
    ["/v1/predict", { text: "the", state: a.state.slice(0, -8) }, 400, "invalid_state"],
    [
      "/v1/predict",
      { text: "the", state: tamper(a.state, (v) => v.setUint8(2, ~v.getUint8(2))) },
      400,
      "state_model_mismatch",
    ],
    [
      "/v1/predict",
      { text: "the", state: tamper(a.state, (v) => v.setFloat32(30, NaN, true)) },
      400,
      "invalid_state",
    ],
    [
      "/v1/predict",
      { text: "the", state: tamper(a.state, (v) => v.setFloat32(34, Infinity, true)) },
      400,
      "invalid_state",
    ],
    ["/v1/predict", { text: "the", includeSpecial: "yes" }, 400, "invalid_field"],
    ["/v1/predict", { text: "the", prefix: 3 }, 400, "invalid_field"],
    ["/v1/predict", { text: "the", prefix: "st ma" }, 400, "invalid_field"],
    ["/v1/predict", { text: "the", prefix: "a".repeat(20001) }, 413, "text_too_long"],
    ["/v1/rank", {}, 400, "missing_field"],
    ["/v1/rank", { text: "the" }, 400, "missing_field"],
    ["/v1/rank", { candidates: ["a"] }, 400, "missing_field"],
    ["/v1/rank", { text: "the", candidates: "market" }, 400, "invalid_field"],
    ["/v1/rank", { text: "the", candidates: [] }, 400, "out_of_range"],
    ["/v1/rank", { text: "the", candidates: Array(101).fill("a") }, 413, "too_many_candidates"],
    ["/v1/rank", { text: "the", candidates: ["a", 3] }, 400, "invalid_field"],
    ["/v1/rank", { text: "the", candidates: ["a", " "] }, 400, "empty_text"],
    ["/v1/rank", { text: "the", candidates: ["a".repeat(20001)] }, 413, "text_too_long"],
    [
      "/v1/rank",
      { text: "the", candidates: ["a ".repeat(2001), "a ".repeat(2000)] },
      413,
      "candidates_too_long",
    ],
    ["/v1/rank", { text: " ", candidates: ["a"] }, 400, "empty_text"],
    ["/v1/rank", { text: "the", candidates: ["a"], k: 0 }, 400, "out_of_range"],
    ["/v1/rank", { text: "the", candidates: ["a"], k: 101 }, 400, "out_of_range"],
    ["/v1/rank", { text: "the", candidates: ["a"], sortBy: "best" }, 400, "invalid_field"],
    ["/v1/rank", { text: "the", candidates: ["a"], state: "!!" }, 400, "invalid_state"],
    ["/v1/rank", { text: "the", candidates: ["a"], prefix: "m" }, 400, "unknown_field"],
    ["/v1/score", {}, 400, "missing_field"],
    ["/v1/score", { text: "" }, 400, "empty_text"],
    ["/v1/score", { text: ["a"] }, 400, "invalid_field"],
    ["/v1/generate", { prompt: "the", maxTokens: 0 }, 400, "out_of_range"],
    ["/v1/generate", { prompt: "the", maxTokens: 201 }, 400, "out_of_range"],
    ["/v1/generate", { prompt: "the", temperature: -1 }, 400, "out_of_range"],
    ["/v1/generate", { prompt: "the", temperature: "hot" }, 400, "invalid_field"],
    ["/v1/generate", { prompt: "the", seed: -1 }, 400, "out_of_range"],
    ["/v1/generate", { prompt: "the", seed: 2 ** 32 }, 400, "out_of_range"],
    ["/v1/generate", { prompt: "the", topK: -3 }, 400, "out_of_range"],
    ["/v1/generate", { prompt: "the", minTokens: -1 }, 400, "out_of_range"],
    ["/v1/generate", { prompt: "the", minTokens: 1.5 }, 400, "invalid_field"],
    ["/v1/generate", { prompt: "the", minTokens: 21 }, 400, "out_of_range"], // over the default maxTokens 20
    ["/v1/generate", { prompt: "the", maxTokens: 5, minTokens: 6, stream: true }, 400, "out_of_range"],
    ["/v1/generate", { prompt: "the", stream: 1 }, 400, "invalid_field"],
    ["/v1/generate", { prompt: "the", stream: true, state: "AAAA" }, 400, "invalid_state"],
    ["/v1/generate", { text: "the" }, 400, "unknown_field"],
    ["/v1/predict", JSON.stringify({ text: "a ".repeat(40000) }), 413, "body_too_large"],
  ];
  for (const [path, body, status, code] of bad) {
    await assertError(
      await post(call, path, body),
      status,
      code,
      `${path} ${String(JSON.stringify(body)).slice(0, 80)}`,
    );
  }
  await assertError(await call("/v1/nothing-here"), 404, "not_found", "unknown route");
  await assertError(await call("/v1/predict"), 405, "method_not_allowed", "GET /v1/predict");
  await assertError(
    await call("/v1/model", { method: "DELETE" }),
    405,
    "method_not_allowed",
    "DELETE /v1/model",
  );
  await assertError(
    await call("/healthz", { method: "POST", body: "x" }),
    405,
    "method_not_allowed",
    "POST /healthz",
  );
}

/** What {@link checkCharacterModel} generates; the same seed must give the same text on every platform. */
export const CHARACTER_GENERATE = { prompt: "The ", maxTokens: 200, temperature: 0.7, topK: 40, seed: 11 };

/**
 * What the library generates after `prompt` with these settings, in this process: what every platform (and
 * the demo page, in either mode) must answer for the same request.
 */
export async function generateLocally(
  model: LstmModel,
  prompt: string,
  settings: { maxTokens: number; minTokens?: number; temperature: number; topK: number; seed: number },
): Promise<GenerateResult> {
  const service = new TextService(model, { maxTextTokens: 4000 });
  const state = model.createState();
  service.feed(prompt, state);
  return await service.generate(state, settings);
}

/** The text CHARACTER_GENERATE gives with the library, in this process: what every platform must answer. */
export async function generateCharactersLocally(model: LstmModel): Promise<string> {
  const { prompt, ...settings } = CHARACTER_GENERATE;
  return (await generateLocally(model, prompt, settings)).text;
}

/**
 * The routes of a character-level model (every character a token, no `<unk>`): raw text with spaces and
 * newlines everywhere, the state continuing across any split of the text, plain-text generation.
 * `generated`: the text CHARACTER_GENERATE must give (computed by the library); `readable`: also check
 * that it reads as English (a trained model such as ml5's dubois).
 */
export async function checkCharacterModel(
  call: Call,
  options: { generated: string; readable: boolean },
): Promise<void> {
  const info = await json(await call("/v1/model"));
  assert.equal(info.tokenizer.kind, "character");
  assert.equal(info.tokenizer.eosPerLine, false);

  // A space and a newline are text like any other; predict(a + b) == predict(b, state after a).
  const whole = await json(await post(call, "/v1/predict", { text: "The ne\nw ", k: 10 }));
  assert.equal(whole.tokens, 9);
  const a = await json(await post(call, "/v1/predict", { text: "The ne" }));
  const b = await json(await post(call, "/v1/predict", { text: "\nw ", state: a.state, k: 10 }));
  assert.equal(b.tokens, 3);
  b.predictions.forEach((p: { token: string; prob: number }, i: number) => {
    assert.equal(p.token, whole.predictions[i].token);
    assert.ok(Math.abs(p.prob - whole.predictions[i].prob) <= 1e-5, `${JSON.stringify(p.token)}`);
    assert.equal([...p.token].length, 1, "a prediction is one character");
  });
  const space = await json(await post(call, "/v1/predict", { text: " ", state: a.state }));
  assert.equal(space.tokens, 1);

  const score = await json(await post(call, "/v1/score", { text: "The new\ntea. " }));
  assert.equal(score.tokens, 12, "every character after the first, newline included");

  const gen = await json(await post(call, "/v1/generate", CHARACTER_GENERATE));
  assert.equal(gen.text, gen.tokens.join(""), "plain text: the characters as they are");
  assert.equal(gen.text, options.generated, "the same seed gives the same text");
  if (options.readable) assertReadableText(gen.text);

  const rank = await json(await post(call, "/v1/rank", { text: "The", candidates: [" new", "\n", " "] }));
  assert.deepEqual(rank.ranking.map((r: { tokens: number }) => r.tokens).sort(), [1, 1, 4]);
  const completion = await json(await post(call, "/v1/predict", { text: "Th", prefix: "e" }));
  assert.deepEqual(completion.predictions.map((p: { token: string }) => p.token), ["e"]);
  assert.equal(completion.matches, 1);

  const bad: [string, unknown, number, string][] = [
    ["/v1/predict", { text: "" }, 400, "empty_text"],
    ["/v1/predict", { text: "The ☃" }, 400, "unknown_word"],
    ["/v1/score", { text: "T" }, 400, "text_too_short"],
    ["/v1/generate", { prompt: "" }, 400, "empty_text"],
    ["/v1/rank", { text: "The", candidates: [""] }, 400, "empty_text"],
  ];
  for (const [path, body, status, code] of bad) {
    await assertError(await post(call, path, body), status, code, `${path} ${JSON.stringify(body)}`);
  }
  const short = await (await post(call, "/v1/score", { text: "T" })).json();
  assert.match(short.error.message, /at least 2 characters/);
}

/** Plain English-looking text: spaces and newlines, mostly letters, prose word lengths, common words. */
export function assertReadableText(text: string): void {
  assert.match(text, / /, "has spaces");
  assert.match(text, /\n/, "has newlines");
  const letters = (text.match(/[A-Za-z\s]/g) ?? []).length;
  assert.ok(letters / text.length >= 0.85, `${letters} of ${text.length} characters are letters or spaces`);
  const words = text.toLowerCase().split(/[^a-z]+/).filter((w) => w !== "");
  const mean = words.reduce((s, w) => s + w.length, 0) / words.length;
  assert.ok(mean >= 2.5 && mean <= 7, `mean word length ${mean}: ${JSON.stringify(text)}`);
  const common = new Set(
    "the of and to a in is that was he for it with as his on be at by i had not are but from or have an they which you were her she there all"
      .split(" "),
  );
  const hits = words.filter((w) => common.has(w)).length;
  assert.ok(
    hits / words.length >= 0.2,
    `${hits} of ${words.length} words are common: ${JSON.stringify(text)}`,
  );
}
