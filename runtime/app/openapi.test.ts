/**
 * The served API description as real tools read it: swagger-parser validates it, Redocly's recommended
 * rules find nothing to fix, and the TypeScript types openapi-typescript generates from it are the typed
 * client's (runtime/client.ts) on predict, score and generate.
 */
import assert from "node:assert/strict";
import { createApp } from "../app.ts";
import { loadTestModel } from "./test_model.ts";

/**
 * The npm tools (deno.json's imports), imported without their type declarations: those pull in @types/node,
 * whose node:assert overloads would then apply to every test file type-checked together with this one.
 */
const untyped = (name: string): Promise<unknown> => import(name);
const SwaggerParser = ((await untyped("@apidevtools/swagger-parser")) as {
  default: { validate(doc: unknown): Promise<unknown> };
}).default;
const { createConfig, lintFromString } = (await untyped("@redocly/openapi-core")) as {
  createConfig(config: { extends: string[] }): Promise<unknown>;
  lintFromString(options: { source: string; absoluteRef: string; config: unknown }): Promise<
    { severity: string; ruleId: string; message: string; location: { pointer?: string }[] }[]
  >;
};
const { default: openapiTS, astToString } = (await untyped("openapi-typescript")) as {
  default(doc: unknown): Promise<unknown>;
  astToString(ast: unknown): string;
};

const test = await loadTestModel();
const app = createApp({ model: test.model, sha256: test.sha256 });
const served = async () => await (await app.request("/openapi.json")).json();

Deno.test("GET /openapi.json passes swagger-parser's OpenAPI 3.1 validation", async () => {
  const doc = await served();
  // validate() dereferences in place and throws on the first schema violation.
  const api = await SwaggerParser.validate(structuredClone(doc));
  assert.equal((api as { openapi: string }).openapi, "3.1.0");
  // It does look: the description as it was before (an SSE body beside `content`) is refused.
  const broken = structuredClone(doc);
  broken.paths["/v1/generate"].post.responses["200"]["text/event-stream"] = {};
  await assert.rejects(SwaggerParser.validate(broken), /Swagger schema validation failed/);
});

Deno.test("GET /openapi.json has no errors or warnings under Redocly's recommended rules", async () => {
  const doc = await served();
  const config = await createConfig({ extends: ["recommended"] });
  const problems = await lintFromString({ source: JSON.stringify(doc), absoluteRef: "openapi.json", config });
  const found = problems.map((p) => `${p.severity} ${p.ruleId}: ${p.message} (${p.location[0]?.pointer})`);
  // info-license: this repository declares no license, so the document cannot name one.
  assert.deepEqual(found.filter((p) => !p.startsWith("warn info-license:")), []);
  // Every operation has an operationId and a 4xx, and the API says it is open (no security scheme).
  assert.deepEqual(doc.security, []);
  assert.equal(doc.servers[0].url, "/");
  for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, Operation>>)) {
    for (const [method, op] of Object.entries(item)) {
      assert.match(op.operationId, /^[a-zA-Z]+$/, `${method} ${path}`);
      assert.ok(Object.keys(op.responses).some((code) => /^4\d\d$/.test(code)), `${method} ${path}`);
    }
  }
});

interface Operation {
  operationId: string;
  responses: Record<string, unknown>;
}

/** The type-level comparison `deno check` compiles; `pairs` are [generated, client] type expressions. */
function typeCheck(pairs: [string, string][]): string {
  const client = new URL("../client.ts", import.meta.url).href;
  return `import type { InferRequestType, InferResponseType } from "hono/client";
import type { createClient, GenerateResponse } from "${client}";
import type { operations } from "./openapi.ts";

type Client = ReturnType<typeof createClient>["v1"];
// Objects flattened (intersections merged) all the way down, so that equal shapes compare equal.
type Flat<T> = T extends readonly (infer E)[] ? Flat<E>[] : T extends object ? { [K in keyof T]: Flat<T[K]> } : T;
// Exact equality, optional and required fields included (mutual assignability would miss those).
type Equal<A, B> = (<T>() => T extends Flat<A> ? 1 : 2) extends (<T>() => T extends Flat<B> ? 1 : 2) ? true
  : false;
type RequestBody<Op> = Op extends { requestBody: { content: { "application/json": infer B } } } ? B : never;
type Ok<Op> = Op extends { responses: { 200: { content: { "application/json": infer R } } } } ? R : never;

export const same: [${pairs.map(([a, b]) => `Equal<${a}, ${b}>`).join(", ")}] = [${pairs.map(() => "true")}];
`;
}

const OPERATIONS: [string, string][] = [
  ['RequestBody<operations["predict"]>', 'InferRequestType<Client["predict"]["$post"]>["json"]'],
  ['Ok<operations["predict"]>', 'InferResponseType<Client["predict"]["$post"], 200>'],
  ['RequestBody<operations["score"]>', 'InferRequestType<Client["score"]["$post"]>["json"]'],
  ['Ok<operations["score"]>', 'InferResponseType<Client["score"]["$post"], 200>'],
  ['RequestBody<operations["generate"]>', 'InferRequestType<Client["generate"]["$post"]>["json"]'],
  // The route also streams, so hc cannot infer its JSON answer: the client names it GenerateResponse.
  ['Ok<operations["generate"]>', "GenerateResponse"],
];

/** Runs `deno check` on `source` beside the generated types; the exit status and the diagnostics. */
async function denoCheck(dir: string, source: string): Promise<{ ok: boolean; output: string }> {
  await Deno.writeTextFile(`${dir}/check.ts`, source);
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "check",
      "-q",
      "--config",
      new URL("../../deno.json", import.meta.url).pathname,
      `${dir}/check.ts`,
    ],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return { ok: out.success, output: decoder.decode(out.stdout) + decoder.decode(out.stderr) };
}

Deno.test("openapi-typescript's types from GET /openapi.json are the typed client's on predict, score and generate", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/openapi.ts`, astToString(await openapiTS(await served())));
    const checked = await denoCheck(dir, typeCheck(OPERATIONS));
    assert.ok(checked.ok, checked.output);
    // The comparison can fail: predict's request is not score's, and generate's answer has a state.
    const wrong = await denoCheck(
      dir,
      typeCheck([
        ['RequestBody<operations["predict"]>', 'InferRequestType<Client["score"]["$post"]>["json"]'],
        ['Ok<operations["generate"]>', 'Omit<GenerateResponse, "state">'],
      ]),
    );
    assert.equal(wrong.ok, false);
    assert.equal(wrong.output.match(/TS2322/g)?.length, 2, wrong.output);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
