/**
 * GET /openapi.json: the API described (OpenAPI 3.1), with this server's limits filled in.
 * Tests check that every route of the app is described here and nothing else, that the document passes
 * swagger-parser's validation and Redocly's recommended rules, and that the TypeScript types
 * openapi-typescript generates from it are the typed client's (runtime/app/openapi.test.ts).
 * @module
 */
import type { Limits } from "./limits.ts";

type Schema = Record<string, unknown>;

const str = (description: string): Schema => ({ type: "string", description });
const obj = (properties: Record<string, Schema>, required: string[] = []): Schema => ({
  type: "object",
  properties,
  required,
  additionalProperties: false,
});
const json = (schema: Schema) => ({ content: { "application/json": { schema } } });
const body = (schema: Schema) => ({ required: true, ...json(schema) });
const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const errors = {
  "400": {
    description: "Bad input: malformed JSON, wrong types, missing fields, out of range, bad state",
    ...json(ref("Error")),
  },
  "405": { description: "Method not allowed", ...json(ref("Error")) },
  "413": { description: "Body, text or token count over the limit", ...json(ref("Error")) },
};
/** The client errors of a GET route: only another method on its path (405). */
const getErrors = { "405": errors["405"] };
const notFound = (description: string) => ({ "404": { description, ...json(ref("Error")) } });

/** The OpenAPI document for a server with these limits. */
export function openApiDocument(limits: Limits): Schema {
  const state = str(
    "Opaque LSTM state from an earlier response (versioned, bound to this model file; see runtime/app/state_codec.ts)",
  );
  const text = { type: "string", maxLength: limits.maxTextChars };
  return {
    openapi: "3.1.0",
    // Relative: the server that serves this document.
    servers: [{ url: "/", description: "This server" }],
    // The API is open: no authentication (an empty list of security requirements).
    security: [],
    info: {
      title: "lstm-edge",
      version: "1",
      description:
        "Next-word prediction and completion, candidate ranking, scoring and generation with a compiled " +
        "LSTM language model (word-level, or character-level: then every character of a text is a token). " +
        `Limits: body ${limits.maxBodyBytes} bytes, text ${limits.maxTextChars} characters and ` +
        `${limits.maxTextTokens} tokens, k ≤ ${limits.maxK}, maxTokens ≤ ${limits.maxGenerateTokens}, ` +
        `candidates ≤ ${limits.maxCandidates} holding ≤ ${limits.maxCandidateTokens} tokens together.`,
    },
    paths: {
      "/v1/model": {
        get: {
          operationId: "getModel",
          summary: "The model: name, vocabulary size, layer shapes, file bytes, tensors, metrics, limits",
          responses: {
            "200": { description: "Model information", ...json({ type: "object" }) },
            ...getErrors,
          },
        },
      },
      "/v1/model.lem": {
        get: {
          operationId: "getModelFile",
          summary: "The model file itself (for the demo page's offline mode)",
          responses: {
            "200": { description: "The .lem file", content: { "application/octet-stream": {} } },
            ...notFound("This server does not serve its model file"),
            ...getErrors,
          },
        },
      },
      "/v1/predict": {
        post: {
          operationId: "predict",
          summary:
            "The k most likely next words after text (continuing from state when given); with prefix, " +
            "the k most likely words that complete it",
          requestBody: body(obj({
            text: { ...text, description: "Words after state; may be empty only when state is given" },
            k: { type: "integer", minimum: 1, maximum: limits.maxK, default: 5 },
            state,
            includeSpecial: { type: "boolean", default: false, description: "Also offer <unk> and <eos>" },
            prefix: {
              ...text,
              description: "Unfinished word after text (not fed): the k most likely vocabulary entries " +
                "starting with it, normalized like words; no whitespace for a word model",
            },
          }, ["text"])),
          responses: {
            "200": {
              description: "Predictions, and the state after text (the prefix is not fed)",
              ...json(obj({
                predictions: {
                  type: "array",
                  items: obj({
                    token: str("word (a character, for a character model)"),
                    prob: { type: "number", description: "Probability under the model" },
                    prefixProb: {
                      type: "number",
                      description: "With prefix: renormalized among all matches",
                    },
                  }, ["token", "prob"]),
                },
                matches: { type: "integer", description: "With prefix: vocabulary entries that match it" },
                state,
                tokens: { type: "integer", description: "Tokens fed from text" },
                unknown: { type: "integer", description: "Words of text outside the vocabulary (<unk>)" },
              }, ["predictions", "state", "tokens", "unknown"])),
            },
            ...errors,
          },
        },
      },
      "/v1/rank": {
        post: {
          operationId: "rank",
          summary: "Rank continuations of one context (run once; each candidate continues from its state)",
          requestBody: body(obj({
            text: {
              ...text,
              description: "The shared context; may be empty or absent only when state is given",
            },
            state,
            candidates: {
              type: "array",
              minItems: 1,
              maxItems: limits.maxCandidates,
              items: { ...text, description: "<eos> only after a final line break" },
              description: `At most ${limits.maxCandidateTokens} tokens together`,
            },
            k: { type: "integer", minimum: 1, maximum: limits.maxCandidates, description: "Only the best k" },
            sortBy: { enum: ["logprob", "mean"], default: "logprob", description: "Total or per-token mean" },
          }, ["candidates"])),
          responses: {
            "200": {
              description: "Best first (ties in request order); the state after text",
              ...json(obj({
                ranking: {
                  type: "array",
                  items: obj({
                    index: { type: "integer", description: "Position in candidates" },
                    text: { type: "string" },
                    logprob: { type: "number", description: "Sum of its tokens' natural-log probabilities" },
                    tokens: { type: "integer" },
                    unknown: { type: "integer", description: "Its tokens outside the vocabulary (<unk>)" },
                    meanLogprob: { type: "number", description: "logprob / tokens" },
                  }, ["index", "text", "logprob", "tokens", "unknown", "meanLogprob"]),
                },
                tokens: { type: "integer", description: "Tokens fed from text" },
                unknown: { type: "integer", description: "Words of text outside the vocabulary (<unk>)" },
                state,
              }, ["ranking", "tokens", "unknown", "state"])),
            },
            ...errors,
          },
        },
      },
      "/v1/score": {
        post: {
          operationId: "score",
          summary: "Perplexity of text (zero state, <eos> per line, every token after the first scored)",
          requestBody: body(obj({ text }, ["text"])),
          responses: {
            "200": {
              description: "Scores",
              ...json(obj({
                perplexity: { type: "number" },
                logprob: {
                  type: "number",
                  description: "Sum of natural-log probabilities of the scored tokens",
                },
                tokens: { type: "integer", description: "Tokens scored" },
                unknown: { type: "integer" },
              }, ["perplexity", "logprob", "tokens", "unknown"])),
            },
            ...errors,
          },
        },
      },
      "/v1/generate": {
        post: {
          operationId: "generate",
          summary: "Sample a continuation of prompt; JSON, or Server-Sent Events with stream: true",
          requestBody: body(obj({
            prompt: { ...text, description: "May be empty only when state is given" },
            maxTokens: { type: "integer", minimum: 1, maximum: limits.maxGenerateTokens, default: 20 },
            minTokens: {
              type: "integer",
              minimum: 0,
              maximum: limits.maxGenerateTokens,
              default: 0,
              description: "No <eos> before this many words (at most maxTokens)",
            },
            temperature: { type: "number", minimum: 0, maximum: 10, default: 1 },
            topK: { type: "integer", minimum: 0, default: 40, description: "0: sample from every word" },
            seed: { type: "integer", minimum: 0, maximum: 4294967295, description: "Same seed, same text" },
            stream: { type: "boolean", default: false },
            state,
          }, ["prompt"])),
          responses: {
            "200": {
              description:
                "The text; with stream: true, `token` events ({token, index}) then one `done` event " +
                "carrying the same object as the JSON answer (or one `error` event)",
              content: {
                "application/json": {
                  schema: obj({
                    text: { type: "string" },
                    tokens: { type: "array", items: { type: "string" } },
                    finishReason: { type: "string", enum: ["eos", "length"] },
                    seed: { type: "integer" },
                    state,
                  }, ["text", "tokens", "finishReason", "seed", "state"]),
                },
                "text/event-stream": {
                  schema: {
                    type: "string",
                    description: "event: token / data: {token, index} per word, then event: done / data: " +
                      "the JSON answer, or event: error / data: {error: {code, message}}",
                  },
                },
              },
            },
            ...errors,
          },
        },
      },
      "/healthz": {
        get: {
          operationId: "health",
          summary: "Liveness",
          responses: {
            "200": {
              description: "ok",
              ...json(obj({ status: { type: "string", enum: ["ok"] }, model: str("model name") }, [
                "status",
                "model",
              ])),
            },
            ...getErrors,
          },
        },
      },
      "/openapi.json": {
        get: {
          operationId: "getOpenApi",
          summary: "This document",
          responses: { "200": { description: "OpenAPI", ...json({ type: "object" }) }, ...getErrors },
        },
      },
      "/": {
        get: {
          operationId: "demoPage",
          summary: "Demo page",
          responses: { "200": { description: "HTML", content: { "text/html": {} } }, ...getErrors },
        },
      },
      "/demo/runtime.js": {
        get: {
          operationId: "getBrowserRuntime",
          summary: "The runtime bundled for browsers (demo offline mode)",
          responses: {
            "200": { description: "JavaScript", content: { "text/javascript": {} } },
            ...notFound("This server has no offline runtime"),
            ...getErrors,
          },
        },
      },
    },
    components: {
      schemas: {
        Error: obj({
          error: obj({ code: str("stable, machine-readable"), message: str("for people") }, [
            "code",
            "message",
          ]),
        }, ["error"]),
      },
    },
  };
}
