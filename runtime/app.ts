/**
 * The HTTP API as a Hono app, independent of any platform: the loaded model (and its identity) is
 * injected, so the same app runs under Deno.serve, Cloudflare Workers (workerd) and in tests through
 * `app.request()`. Platform entries (runtime/entries/) only load bytes and serve `app.fetch`.
 *
 * Routes: GET /v1/model, POST /v1/predict, POST /v1/rank, POST /v1/score, POST /v1/generate (JSON or SSE), GET /healthz,
 * GET /openapi.json, GET / (demo page), GET /v1/model.lem and GET /demo/runtime.js (the demo's offline mode).
 * Every client error is a 4xx `{error: {code, message}}`; anything else is logged and answered with a
 * 500 that names only a request id.
 * @module
 */
import { Hono } from "hono/tiny";
import { cors } from "hono/cors";
import { streamSSE } from "hono/streaming";
import type { LstmModel } from "./model.ts";
import { ApiError, errorBody } from "./app/errors.ts";
import { type Limits, resolveLimits } from "./app/limits.ts";
import { STATE_VERSION, StateCodec } from "./app/state_codec.ts";
import { TextService } from "./app/service.ts";
import { jsonBody, parseGenerate, parsePredict, parseRank, parseScore } from "./app/validate.ts";
import { openApiDocument } from "./app/openapi.ts";
import { demoPage } from "./app/demo_page.ts";
import { countTokens, requestLog } from "./app/request_log.ts";

/** What {@link createApp} serves. */
export interface AppOptions {
  /** The loaded model every route runs. */
  model: LstmModel;
  /** Hex SHA-256 of the `.lem` file: the model's identity, to which states are bound. */
  sha256: string;
  /** The `.lem` bytes, served at GET /v1/model.lem for the demo's offline mode (404 without). */
  modelBytes?: Uint8Array;
  /** The browser bundle of the runtime for the demo's offline mode (404 without). */
  browserRuntime?: () => Promise<string>;
  /** Request limits (runtime/app/limits.ts); the defaults for those left out. */
  limits?: Partial<Limits>;
  /** Where internal errors go (default console.error). */
  log?: (message: string, error: unknown) => void;
  /**
   * Called with one line per request — method, path, status, ms, tokens (runtime/app/request_log.ts);
   * `deno task serve --log` passes console.log. No request log without it.
   */
  requestLog?: (line: string) => void;
}

const DEFAULT_K = 5;
const DEFAULT_MAX_TOKENS = 20;
const DEFAULT_TOP_K = 40;

/**
 * The two documents the app serves besides its answers: the OpenAPI description (GET /openapi.json) and the
 * demo page (GET /). createApp renders them per request; the worker bundle passes them pre-rendered at
 * build time (createAppWith), so that their code is not part of the worker's runtime code.
 */
export interface AppDocuments {
  openApi(limits: Limits): unknown;
  demoPage(options: { model: LstmModel; offline: boolean }): string;
}

/**
 * Builds the app.
 *
 * @example
 * ```ts
 * const bytes = await Deno.readFile("models/ptb-small.lem");
 * const app = createApp({ model: await LstmModel.load(bytes), sha256: await sha256Hex(bytes) });
 * const res = await app.request("/v1/predict", { method: "POST", body: JSON.stringify({ text: "the stock" }) });
 * ```
 */
export function createApp(options: AppOptions) {
  return createAppWith(options, { openApi: openApiDocument, demoPage });
}

/** {@link createApp} with the documents it serves given (the worker's, rendered at build time). */
export function createAppWith(options: AppOptions, documents: AppDocuments) {
  const { model, sha256 } = options;
  const limits = resolveLimits(options.limits);
  const codec = new StateCodec(sha256, model.stateSize);
  const service = new TextService(model, limits);
  const log = options.log ?? ((message, error) => console.error(message, error));
  // A character model reads whitespace as text: a lone space or newline is a token, not an empty text.
  const kind = { characters: model.tokenizer.kind === "character" };
  const stateFrom = (
    state: string | undefined,
  ) => (state === undefined ? model.createState() : codec.decode(state));

  const app = new Hono()
    .use("*", options.requestLog ? requestLog(options.requestLog) : (_, next) => next())
    .use("/v1/*", cors())
    .get("/healthz", (c) => c.json({ status: "ok" as const, model: model.info.name }))
    .get("/v1/model", (c) =>
      c.json({
        ...model.info,
        sha256,
        state: { version: STATE_VERSION, floats: model.stateSize, encodedLength: codec.encodedLength },
        tokenizer: {
          ...model.tokenizer.rules,
          kind: model.tokenizer.kind,
          unk: unkToken(model),
          eos: eosToken(model),
        },
        limits,
      }))
    .post("/v1/predict", jsonBody(limits, (b, l) => parsePredict(b, l, kind)), (c) => {
      const req = c.req.valid("json");
      const state = stateFrom(req.state);
      const result = service.predict(
        req.text,
        state,
        req.k ?? DEFAULT_K,
        req.includeSpecial ?? false,
        req.prefix,
      );
      countTokens(c.req.raw, result.tokens);
      return c.json({ ...result, state: codec.encode(state) });
    })
    .post("/v1/rank", jsonBody(limits, (b, l) => parseRank(b, l, kind)), (c) => {
      const req = c.req.valid("json");
      const state = stateFrom(req.state);
      const steps = model.stepsRun;
      const result = service.rank(req.text ?? "", state, req.candidates, { k: req.k, by: req.sortBy });
      countTokens(c.req.raw, model.stepsRun - steps); // the context once, then every candidate
      return c.json({ ...result, state: codec.encode(state) });
    })
    .post("/v1/score", jsonBody(limits, (b, l) => parseScore(b, l, kind)), (c) => {
      const result = service.score(c.req.valid("json").text);
      countTokens(c.req.raw, result.tokens);
      return c.json(result);
    })
    .post("/v1/generate", jsonBody(limits, (b, l) => parseGenerate(b, l, kind)), async (c) => {
      const req = c.req.valid("json");
      const maxTokens = req.maxTokens ?? DEFAULT_MAX_TOKENS;
      if ((req.minTokens ?? 0) > maxTokens) {
        throw new ApiError(
          400,
          "out_of_range",
          `minTokens must be 0..maxTokens (${maxTokens}), got ${req.minTokens}`,
        );
      }
      const state = stateFrom(req.state);
      countTokens(c.req.raw, service.feed(req.prompt, state).tokens); // may throw a 4xx: before any stream starts
      const settings = {
        maxTokens,
        minTokens: req.minTokens ?? 0,
        temperature: req.temperature ?? 1,
        topK: req.topK ?? DEFAULT_TOP_K,
        seed: req.seed ?? (crypto.getRandomValues(new Uint32Array(1))[0]),
      };
      if (!req.stream) {
        const result = await service.generate(state, settings);
        countTokens(c.req.raw, result.tokens.length);
        return c.json({ ...result, state: codec.encode(state) });
      }
      return streamSSE(c, async (stream) => {
        try {
          const result = await service.generate(state, settings, async (t) => {
            countTokens(c.req.raw, 1);
            await stream.writeSSE({ event: "token", data: JSON.stringify(t) });
          });
          await stream.writeSSE({
            event: "done",
            data: JSON.stringify({ ...result, state: codec.encode(state) }),
          });
        } catch (e) {
          const id = requestId();
          log(`generate stream failed (request ${id})`, e);
          await stream.writeSSE({
            event: "error",
            data: JSON.stringify(errorBody("internal", `internal error ${id}`)),
          });
        }
      });
    })
    .get("/openapi.json", (c) => c.json(documents.openApi(limits)))
    .get("/", (c) =>
      c.html(
        documents.demoPage({ model, offline: !!options.browserRuntime }),
      ))
    .get("/v1/model.lem", (c) => {
      if (!options.modelBytes) {
        throw new ApiError(404, "not_found", "this server does not serve its model file");
      }
      return c.body(options.modelBytes.slice().buffer, 200, {
        "content-type": "application/octet-stream",
        "cache-control": "public, max-age=3600",
        etag: `"${sha256}"`,
      });
    })
    .get("/demo/runtime.js", async (c) => {
      if (!options.browserRuntime) throw new ApiError(404, "not_found", "this server has no offline runtime");
      return c.body(await options.browserRuntime(), 200, {
        "content-type": "text/javascript; charset=utf-8",
      });
    });

  // Known paths with another method → 405; anything else → 404.
  const allowed = new Map<string, string[]>();
  for (const r of app.routes) {
    if (r.method !== "ALL") allowed.set(r.path, [...new Set([...(allowed.get(r.path) ?? []), r.method])]);
  }
  for (const [path, methods] of allowed) {
    app.all(path, (c) => {
      const allow = methods.includes("GET") ? [...methods, "HEAD"] : methods;
      c.header("allow", [...allow, "OPTIONS"].join(", "));
      return c.json(
        errorBody(
          "method_not_allowed",
          `${c.req.method} ${path} is not allowed; use ${methods.join(" or ")}`,
        ),
        405,
      );
    });
  }
  app.notFound((c) =>
    c.json(errorBody("not_found", `no route ${c.req.method} ${new URL(c.req.url).pathname}`), 404)
  );
  app.onError((e, c) => {
    if (e instanceof ApiError) return c.json(e.body, e.status);
    const id = requestId();
    log(`internal error (request ${id}) on ${c.req.method} ${new URL(c.req.url).pathname}`, e);
    return c.json(errorBody("internal", `internal error; request id ${id}`), 500);
  });
  return app;
}

/** The app's type, for the typed client (runtime/client.ts). */
export type AppType = ReturnType<typeof createApp>;

function unkToken(model: LstmModel): string | null {
  return model.tokenizer.unkId >= 0 ? model.tokenizer.vocab[model.tokenizer.unkId] : null;
}

function eosToken(model: LstmModel): string | null {
  return model.tokenizer.eosId >= 0 ? model.tokenizer.vocab[model.tokenizer.eosId] : null;
}

function requestId(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(6)), (b) => b.toString(16).padStart(2, "0")).join(
    "",
  );
}
