/**
 * The typed client for client apps: every route, its request body and its JSON answer typed from the app.
 *
 * @example
 * ```ts
 * import { createClient } from "./runtime/client.ts";
 * const api = createClient("http://127.0.0.1:8000");
 * const first = await (await api.v1.predict.$post({ json: { text: "the stock" } })).json();
 * const next = await (await api.v1.predict.$post({ json: { text: "market", state: first.state } })).json();
 * const completed = await (await api.v1.predict.$post({ json: { text: "the stock", prefix: "mar" } })).json();
 * const ranked = await (await api.v1.rank.$post({ json: { text: "the stock", candidates: ["rose", "fell"] } })).json();
 * ```
 * @module
 */
import { type ClientRequestOptions, hc } from "hono/client";
import type { AppType } from "./app.ts";

export type { AppType };
export type { GenerateRequest, PredictRequest, RankRequest, ScoreRequest } from "./app/validate.ts";
export type { Prediction, RankEntry } from "./app/service.ts";
export type { ErrorBody } from "./app/errors.ts";
import type { GenerateResult } from "./app/service.ts";

/**
 * The JSON answer of POST /v1/generate (the route also streams, so the client cannot infer it):
 * `(await res.json()) as GenerateResponse`.
 */
export type GenerateResponse = GenerateResult & { state: string };

/** The typed client: `client.v1.predict.$post({ json })` and so on for every route of the app. */
export type Client = ReturnType<typeof hc<AppType>>;

/** Options of {@link createClient}: Hono's `hc` options (`fetch`, `headers`, …). */
export type ClientOptions = ClientRequestOptions;

/** A client for a server at `baseUrl`; `options.fetch` replaces the global fetch (e.g. `app.request`). */
export function createClient(baseUrl: string, options?: ClientOptions): Client {
  return hc<AppType>(baseUrl, options);
}
