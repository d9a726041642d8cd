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
