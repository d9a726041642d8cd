import assert from "node:assert/strict";
import { createApp } from "./app.ts";
import { checkCharacterModel, checkEveryRoute, generateCharactersLocally } from "./app/http_suite.ts";
import { loadTestModel, testCharacterModelBytes } from "./app/test_model.ts";
import { LstmModel } from "./model.ts";
import { sha256Hex } from "./sha256.ts";
import { openApiDocument } from "./app/openapi.ts";
import { DEFAULT_LIMITS } from "./app/limits.ts";

const test = await loadTestModel();
const runtime = () => Promise.resolve("export const loadModel = 1;");

Deno.test("every route answers as documented, and every bad input is a 4xx {error}", async () => {
  const app = createApp({
    model: test.model,
    sha256: test.sha256,
    modelBytes: test.bytes,
    browserRuntime: runtime,
  });
  await checkEveryRoute((path, init) => Promise.resolve(app.request(path, init)), { runtime: true });
});

Deno.test("a character-level model: raw text on every route, states across any split, plain-text generation", async () => {
  const bytes = testCharacterModelBytes();
  const model = await LstmModel.load(bytes);
  const app = createApp({ model, sha256: await sha256Hex(bytes) });
  await checkCharacterModel((path, init) => Promise.resolve(app.request(path, init)), {
    generated: await generateCharactersLocally(model),
    readable: false,
  });
});

Deno.test("without model bytes and runtime bundle, /v1/model.lem and /demo/runtime.js are 404", async () => {
  const app = createApp({ model: test.model, sha256: test.sha256 });
  assert.equal((await app.request("/v1/model.lem")).status, 404);
  assert.equal((await app.request("/demo/runtime.js")).status, 404);
});

Deno.test("limits are configurable and reported by /v1/model and /openapi.json", async () => {
  const app = createApp({ model: test.model, sha256: test.sha256, limits: { maxK: 3, maxBodyBytes: 100 } });
  const info = await (await app.request("/v1/model")).json();
  assert.deepEqual(info.limits, { ...DEFAULT_LIMITS, maxK: 3, maxBodyBytes: 100 });
  const post = (body: unknown) => app.request("/v1/predict", { method: "POST", body: JSON.stringify(body) });
  assert.equal((await post({ text: "the", k: 4 })).status, 400);
  assert.equal((await post({ text: "the", k: 3 })).status, 200);
  assert.equal((await post({ text: "the ".repeat(30) })).status, 413);
  const doc = await (await app.request("/openapi.json")).json();
  assert.equal(
    doc.paths["/v1/predict"].post.requestBody.content["application/json"].schema.properties.k.maximum,
    3,
  );
});

Deno.test("internal errors are logged and answered 500 without internals", async () => {
  const logged: unknown[] = [];
  const app = createApp({
    model: test.model,
    sha256: test.sha256,
    browserRuntime: () => Promise.reject(new Error("secret path /etc/x")),
    log: (_m, e) => logged.push(e),
  });
  const res = await app.request("/demo/runtime.js");
  assert.equal(res.status, 500);
  const body = await res.json();
  assert.equal(body.error.code, "internal");
  assert.doesNotMatch(JSON.stringify(body), /secret|etc/);
  assert.equal(logged.length, 1);
});

Deno.test("the OpenAPI document describes exactly the app's routes", () => {
  const app = createApp({ model: test.model, sha256: test.sha256 });
  const routes = new Set(app.routes.filter((r) => r.method !== "ALL").map((r) => `${r.method} ${r.path}`));
  const doc = openApiDocument(DEFAULT_LIMITS) as { paths: Record<string, Record<string, unknown>> };
  const described = new Set(
    Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`)
    ),
  );
  assert.deepEqual([...described].sort(), [...routes].sort());
});

Deno.test("generate: a different seed gives (here) a different text; the default seed is returned", async () => {
  const app = createApp({ model: test.model, sha256: test.sha256 });
  const gen = async (body: unknown) =>
    await (await app.request("/v1/generate", { method: "POST", body: JSON.stringify(body) })).json();
  const a = await gen({ prompt: "the", seed: 1, maxTokens: 30, topK: 0 });
  const b = await gen({ prompt: "the", seed: 2, maxTokens: 30, topK: 0 });
  assert.notEqual(a.text, b.text);
  const c = await gen({ prompt: "the", maxTokens: 30, topK: 0 });
  assert.equal((await gen({ prompt: "the", maxTokens: 30, topK: 0, seed: c.seed })).text, c.text);
  const greedy = await gen({ prompt: "the", temperature: 0, maxTokens: 5, seed: 9 });
  assert.equal((await gen({ prompt: "the", temperature: 0, maxTokens: 5, seed: 10 })).text, greedy.text);
});
