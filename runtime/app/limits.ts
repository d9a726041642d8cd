/**
 * Request limits: what one request may ask of the server. Every platform entry accepts overrides
 * (`--limits JSON` for `deno task serve` and `deno task build:worker`).
 * @module
 */

/** Limits on one request. */
export interface Limits {
  /** Largest request body, bytes (larger → 413). */
  maxBodyBytes: number;
  /** Longest `text` / `prompt`, characters. */
  maxTextChars: number;
  /** Most tokens a `text` / `prompt` may encode to. */
  maxTextTokens: number;
  /** Largest `k` for /v1/predict. */
  maxK: number;
  /** Largest `maxTokens` for /v1/generate. */
  maxGenerateTokens: number;
  /** Most candidates one /v1/rank request may rank. */
  maxCandidates: number;
  /** Most tokens the candidates of one /v1/rank request may hold together. */
  maxCandidateTokens: number;
}

/** The defaults: a state for PTB-small is 4.3 kB of text, so 64 KiB leaves room for text beside it. */
export const DEFAULT_LIMITS: Readonly<Limits> = {
  maxBodyBytes: 65536,
  maxTextChars: 20000,
  maxTextTokens: 4000,
  maxK: 50,
  maxGenerateTokens: 200,
  maxCandidates: 100,
  maxCandidateTokens: 4000,
};

/** Defaults overridden by `overrides` (parsed from JSON when a string); unknown keys and bad values throw. */
export function resolveLimits(overrides: Partial<Limits> | string = {}): Limits {
  const given: Record<string, unknown> = typeof overrides === "string" ? JSON.parse(overrides) : overrides;
  if (!given || typeof given !== "object" || Array.isArray(given)) {
    throw new Error(`Limits must be a JSON object, got ${JSON.stringify(given)}`);
  }
  const out: Limits = { ...DEFAULT_LIMITS };
  for (const [key, value] of Object.entries(given)) {
    if (!(key in DEFAULT_LIMITS)) {
      throw new Error(`Unknown limit "${key}"; expected one of ${Object.keys(DEFAULT_LIMITS).join(", ")}`);
    }
    if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
      throw new Error(`Limit ${key} must be a whole number ≥ 1, got ${JSON.stringify(value)}`);
    }
    out[key as keyof Limits] = value;
  }
  return out;
}
