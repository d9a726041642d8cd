/**
 * Request bodies: read within the size limit, parsed as JSON (whatever the Content-Type says), and checked
 * field by field. Every failure is an {@link ApiError} with a 4xx status that names the field.
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { ApiError } from "./errors.ts";
import type { Limits } from "./limits.ts";

/** POST /v1/predict */
export interface PredictRequest {
  /** Words that follow `state` (or start the text). May be empty only when `state` is given. */
  text: string;
  /** How many next words to offer, 1..maxK (default 5). */
  k?: number;
  /** From an earlier response: the state after the text sent before. */
  state?: string;
  /** Offer `<unk>` and `<eos>` too (default false). */
  includeSpecial?: boolean;
  /**
   * The unfinished word after `text` (not fed): offer the k most likely vocabulary entries that start
   * with it, normalized as the tokenizer normalizes words. No whitespace in it for a word model.
   */
  prefix?: string;
}

/** POST /v1/rank */
export interface RankRequest {
  /** The shared context, run once; may be empty (or absent) only when `state` is given. */
  text?: string;
  /** The LSTM state to continue from (a previous answer's `state`). */
  state?: string;
  /** Continuations of the context to score, 1..maxCandidates, each holding at least one token. */
  candidates: string[];
  /** Answer only the best k (1..maxCandidates; default all). */
  k?: number;
  /** Order by total log-probability ("logprob", default) or by its mean per token ("mean"). */
  sortBy?: "logprob" | "mean";
}

/** POST /v1/score */
export interface ScoreRequest {
  /** The text to score (PTB convention: `<eos>` after each line, every token after the first scored). */
  text: string;
}

/** POST /v1/generate */
export interface GenerateRequest {
  /** The text to continue (after `state` when given). May be empty only when `state` is given. */
  prompt: string;
  /** 1..maxGenerateTokens (default 20). */
  maxTokens?: number;
  /** 0..maxTokens (default 0): no `<eos>` before this many tokens, so the text is at least this long. */
  minTokens?: number;
  /** 0 (always the most likely word) .. 10; default 1. */
  temperature?: number;
  /** Sample among the k most likely words only; 0 = all (default 40). */
  topK?: number;
  /** 0 .. 2³²−1; the same seed gives the same text. Default: a random one, returned in the response. */
  seed?: number;
  /** Answer with Server-Sent Events, one `token` event per word, then `done`. */
  stream?: boolean;
  /** From an earlier response: the state after the text sent before. */
  state?: string;
}

const bad = (field: string, message: string) => new ApiError(400, "invalid_field", `${field} ${message}`);

/**
 * How the model reads text: for a character model whitespace is text like any other (a lone space or
 * newline is one token), for a word model a text of only whitespace is empty.
 */
export interface TextKind {
  characters: boolean;
}

const WORDS: TextKind = { characters: false };

const isBlank = (v: string, kind: TextKind) => (kind.characters ? v === "" : v.trim() === "");

/** Reads the body as text, refusing (413) more than `maxBytes` whether or not Content-Length is sent. */
export async function readBody(request: Request, maxBytes: number): Promise<string> {
  const tooLarge = () =>
    new ApiError(413, "body_too_large", `request body is over the ${maxBytes}-byte limit`);
  const declared = Number(request.headers.get("content-length") ?? NaN);
  if (declared > maxBytes) throw tooLarge();
  if (!request.body) return "";
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > maxBytes) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) all.set(c, (at += c.length) - c.length);
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(all);
  } catch {
    throw new ApiError(400, "invalid_json", "request body is not UTF-8 text");
  }
}

/** Parses a JSON object body. */
export function parseJsonObject(text: string): Record<string, unknown> {
  if (text.trim() === "") {
    throw new ApiError(400, "invalid_json", "request body is empty; expected a JSON object");
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new ApiError(400, "invalid_json", `request body is not valid JSON: ${(e as Error).message}`);
  }
  if (!value || typeof value !== "object" || Array.isArray(value)) {
    throw new ApiError(400, "invalid_json", "request body must be a JSON object");
  }
  return value as Record<string, unknown>;
}

function only(body: Record<string, unknown>, keys: string[]) {
  const extra = Object.keys(body).filter((k) => !keys.includes(k));
  if (extra.length) {
    throw new ApiError(400, "unknown_field", `unknown field "${extra[0]}"; expected ${keys.join(", ")}`);
  }
}

function text(
  body: Record<string, unknown>,
  field: string,
  limits: Limits,
  allowEmpty: boolean,
  kind: TextKind = WORDS,
): string {
  const v = body[field];
  if (v === undefined) throw new ApiError(400, "missing_field", `${field} is required`);
  return checkText(v, field, limits, allowEmpty, kind);
}

function checkText(v: unknown, field: string, limits: Limits, allowEmpty: boolean, kind: TextKind): string {
  if (typeof v !== "string") throw bad(field, `must be a string, got ${typeName(v)}`);
  if (!allowEmpty && isBlank(v, kind)) throw new ApiError(400, "empty_text", `${field} is empty`);
  if (v.length > limits.maxTextChars) {
    throw new ApiError(
      413,
      "text_too_long",
      `${field} is ${v.length} characters; the limit is ${limits.maxTextChars}`,
    );
  }
  return v;
}

function int(body: Record<string, unknown>, field: string, min: number, max: number): number | undefined {
  const v = body[field];
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v)) {
    throw bad(field, `must be a whole number, got ${show(v)}`);
  }
  if (v < min || v > max) {
    throw new ApiError(400, "out_of_range", `${field} must be ${min}..${max}, got ${v}`);
  }
  return v;
}

function bool(body: Record<string, unknown>, field: string): boolean | undefined {
  const v = body[field];
  if (v === undefined || typeof v === "boolean") return v;
  throw bad(field, `must be true or false, got ${show(v)}`);
}

function optionalString(body: Record<string, unknown>, field: string): string | undefined {
  const v = body[field];
  if (v === undefined || typeof v === "string") return v;
  throw bad(field, `must be a string, got ${typeName(v)}`);
}

const typeName = (v: unknown) => (v === null ? "null" : Array.isArray(v) ? "an array" : typeof v);
const show = (v: unknown) => JSON.stringify(v)?.slice(0, 40) ?? String(v);

export function parsePredict(body: Record<string, unknown>, limits: Limits, kind = WORDS): PredictRequest {
  only(body, ["text", "k", "state", "includeSpecial", "prefix"]);
  const state = optionalString(body, "state");
  const t = text(body, "text", limits, state !== undefined, kind);
  const prefix = body.prefix === undefined ? undefined : checkText(body.prefix, "prefix", limits, true, kind);
  if (prefix !== undefined && !kind.characters && /\s/.test(prefix)) {
    throw bad("prefix", `must be one unfinished word, without whitespace; got ${show(prefix)}`);
  }
  return {
    text: t,
    k: int(body, "k", 1, limits.maxK),
    state,
    includeSpecial: bool(body, "includeSpecial"),
    ...(prefix !== undefined ? { prefix } : {}),
  };
}

export function parseScore(body: Record<string, unknown>, limits: Limits, kind = WORDS): ScoreRequest {
  only(body, ["text"]);
  return { text: text(body, "text", limits, false, kind) };
}

export function parseRank(body: Record<string, unknown>, limits: Limits, kind = WORDS): RankRequest {
  only(body, ["text", "state", "candidates", "k", "sortBy"]);
  const state = optionalString(body, "state");
  if (body.text === undefined && state === undefined) {
    throw new ApiError(
      400,
      "missing_field",
      "text or state is required: the context the candidates continue",
    );
  }
  const t = body.text === undefined ? "" : text(body, "text", limits, state !== undefined, kind);
  const candidates = body.candidates;
  if (candidates === undefined) throw new ApiError(400, "missing_field", "candidates is required");
  if (!Array.isArray(candidates)) {
    throw bad("candidates", `must be an array of strings, got ${typeName(candidates)}`);
  }
  if (candidates.length === 0) throw new ApiError(400, "out_of_range", "candidates is empty; give 1 or more");
  if (candidates.length > limits.maxCandidates) {
    throw new ApiError(
      413,
      "too_many_candidates",
      `candidates holds ${candidates.length} entries; the limit is ${limits.maxCandidates}`,
    );
  }
  const list = candidates.map((c, i) => checkText(c, `candidates[${i}]`, limits, false, kind));
  const sortBy = body.sortBy;
  if (sortBy !== undefined && sortBy !== "logprob" && sortBy !== "mean") {
    throw bad("sortBy", `must be "logprob" or "mean", got ${show(sortBy)}`);
  }
  return { text: t, state, candidates: list, k: int(body, "k", 1, limits.maxCandidates), sortBy };
}

export function parseGenerate(body: Record<string, unknown>, limits: Limits, kind = WORDS): GenerateRequest {
  only(body, ["prompt", "maxTokens", "minTokens", "temperature", "topK", "seed", "stream", "state"]);
  const state = optionalString(body, "state");
  const temperature = body.temperature;
  if (temperature !== undefined) {
    if (typeof temperature !== "number" || !Number.isFinite(temperature)) {
      throw bad("temperature", `must be a number, got ${show(temperature)}`);
    }
    if (temperature < 0 || temperature > 10) {
      throw new ApiError(400, "out_of_range", `temperature must be 0..10, got ${temperature}`);
    }
  }
  return {
    prompt: text(body, "prompt", limits, state !== undefined, kind),
    maxTokens: int(body, "maxTokens", 1, limits.maxGenerateTokens),
    minTokens: int(body, "minTokens", 0, limits.maxGenerateTokens),
    temperature: temperature as number | undefined,
    topK: int(body, "topK", 0, 1_000_000),
    seed: int(body, "seed", 0, 0xffffffff),
    stream: bool(body, "stream"),
    state,
  };
}

/**
 * Middleware: reads and checks the JSON body with `parse`, leaving the result as `c.req.valid("json")`
 * (typed for the Hono client).
 */
export function jsonBody<T>(
  limits: Limits,
  parse: (body: Record<string, unknown>, limits: Limits) => T,
): MiddlewareHandler<Record<string, never>, string, { in: { json: T }; out: { json: T } }> {
  return async (c, next) => {
    const body = parseJsonObject(await readBody(c.req.raw, limits.maxBodyBytes));
    c.req.addValidatedData("json", parse(body, limits) as Record<string, unknown>);
    await next();
  };
}
