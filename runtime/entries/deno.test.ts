import assert from "node:assert/strict";
import { checkCharacterModel, checkEveryRoute, generateCharactersLocally } from "../app/http_suite.ts";
import { writeTestModel } from "../app/test_model.ts";
import { serveModel } from "./testing.ts";
import { exists, ML5_CHARRNN, needs, writeMl5Lem } from "../../tests/helpers.ts";
import { LstmModel } from "../model.ts";

const ENTRY = new URL("./deno.ts", import.meta.url).pathname;

Deno.test("deno task serve: a real Deno.serve on loopback answers every route over HTTP", async () => {
  const model = await writeTestModel();
  const server = await serveModel(model);
  try {
    await checkEveryRoute((path, init) => fetch(server.url + path, init), { runtime: true });
  } finally {
    await server.stop();
    await Deno.remove(model);
  }
});

Deno.test("deno task serve --log prints one line per request: method, path, status, ms, tokens", async () => {
  const model = await writeTestModel();
  const server = await serveModel(model, ["--log"]);
  try {
    const post = (path: string, body: unknown) =>
      fetch(server.url + path, { method: "POST", body: JSON.stringify(body) }).then((r) => r.text());
    await post("/v1/predict", { text: "the cat sat" });
    await post("/v1/predict", { text: "the", k: 0 });
    const sse = await post("/v1/generate", { prompt: "the cat", seed: 3, maxTokens: 4, stream: true });
    const done = JSON.parse(/event: done\ndata: (.*)/.exec(sse)![1]);
    await fetch(server.url + "/nope").then((r) => r.text());
    // The last line can lag the answer by a moment (stdout is piped).
    for (let i = 0; i < 40 && !/GET \/nope/.test(server.output()); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const lines = server.output().split("\n").filter((l) => /^(GET|POST) /.test(l));
    const line = /^(GET|POST) (\S+) (\d{3}) (\d+\.\d) ms (\d+) tokens$/;
    assert.equal(lines.length, 4, server.output());
    const parsed = lines.map((l) => {
      const m = l.match(line);
      assert.ok(m, l);
      return [m[1], m[2], Number(m[3]), Number(m[5])];
    });
    assert.deepEqual(parsed[0], ["POST", "/v1/predict", 200, 3]);
    assert.deepEqual(parsed[1], ["POST", "/v1/predict", 400, 0]);
    // Generate: the prompt's 2 tokens and each generated one, counted when the stream has ended.
    assert.deepEqual(parsed[2], ["POST", "/v1/generate", 200, 2 + done.tokens.length]);
    assert.deepEqual(parsed[3], ["GET", "/nope", 404, 0]);
  } finally {
    await server.stop();
    await Deno.remove(model);
  }
});

Deno.test("deno task serve: a missing model and bad options end with a message, not a stack trace", async () => {
  const run = async (...args: string[]) => {
    const r = await new Deno.Command(Deno.execPath(), { args: ["run", "-A", ENTRY, ...args], stdin: "null" })
      .output();
    return { code: r.code, err: new TextDecoder().decode(r.stderr) };
  };
  const missing = await run("/nonexistent/model.lem", "--port", "0");
  assert.equal(missing.code, 1);
  assert.match(missing.err, /Model "\/nonexistent\/model.lem" does not exist/);
  const port = await run("x.lem", "--port", "http");
  assert.equal(port.code, 2);
  assert.match(port.err, /--port must be/);
  const limits = await run("x.lem", "--limits", '{"maxK": 0}');
  assert.equal(limits.code, 2);
  assert.match(limits.err, /maxK must be a whole number/);
});

Deno.test({
  name: "deno task serve on ml5's dubois char-RNN: raw text on every route, readable generated text",
  ...needs(exists(ML5_CHARRNN), `${ML5_CHARRNN.pathname} is absent (ml5.js's pretrained char-RNNs)`),
  fn: async () => {
    const model = await writeMl5Lem("dubois");
    const server = await serveModel(model);
    try {
      const generated = await generateCharactersLocally(await LstmModel.load(await Deno.readFile(model)));
      await checkCharacterModel((path, init) => fetch(server.url + path, init), {
        generated,
        readable: true,
      });
    } finally {
      await server.stop();
      await Deno.remove(model);
    }
  },
});
