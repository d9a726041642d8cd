/**
 * lstm-edge's runtime for client apps: load a compiled `.lem` language model and predict, complete, rank,
 * score and generate text with small WebAssembly kernels — in Deno, Node ≥ 20, browsers and Cloudflare Workers;
 * serve it over HTTP with {@link createApp}; call such a server with the typed {@link createClient}.
 *
 * @example
 * ```ts
 * import { loadModel, TextService } from "./runtime/mod.ts"; // npm: import … from "lstm-edge"
 *
 * const model = await loadModel(await Deno.readFile("models/ptb-small.lem"));
 * const text = new TextService(model, { maxTextTokens: 4000 });
 * const { predictions } = text.predict("the stock market", model.createState(), 5);
 * console.log(predictions); // [{ token: "'s", prob: 0.2456 }, { token: "has", prob: 0.0529 }, …]
 * ```
 * @module
 */
import { type LoadOptions, LstmModel } from "./model.ts";

export {
  type Completion,
  type LoadOptions,
  LstmModel,
  LstmState,
  type ModelInfo,
  type RankedCandidate,
} from "./model.ts";
export {
  type EncodedText,
  TokenizeError,
  Tokenizer,
  type TokenizerKindName,
  type TokenizerRules,
} from "./tokenizer.ts";
export {
  type GeneratedToken,
  type GenerateResult,
  type Prediction,
  type RankEntry,
  TextService,
} from "./app/service.ts";
export { type AppOptions, type AppType, createApp } from "./app.ts";
export type { Limits } from "./app/limits.ts";
export { type Client, type ClientOptions, createClient, type GenerateResponse } from "./client.ts";
export type { ErrorBody, GenerateRequest, PredictRequest, ScoreRequest } from "./client.ts";
export { sha256Hex } from "./sha256.ts";
export { type RelaxedSource, simdSupported } from "./kernels/kernels.ts";
export type { NllAccumulator } from "./perplexity.ts";

/**
 * Loads a `.lem` model: verifies the bytes, then instantiates the kernels. In Deno it compiles
 * runtime/kernels/build/kernels.wasm (and the relaxed-SIMD module where the engine has it); the npm
 * package's build passes the kernels it carries inline. `options` as for {@link LstmModel.load}.
 */
export function loadModel(bytes: Uint8Array, options?: LoadOptions): Promise<LstmModel> {
  return LstmModel.load(bytes, options);
}
