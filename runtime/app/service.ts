/**
 * What the routes do, without HTTP: next-word prediction, scoring and generation on text, with states.
 * The server's routes and the demo page's offline mode both run this, so they give the same answers.
 * @module
 */
import type { LstmModel, LstmState } from "../model.ts";
import { TokenizeError } from "../tokenizer.ts";
import { ApiError } from "./errors.ts";
import type { Limits } from "./limits.ts";
import { sampleToken } from "./sampling.ts";
import { mulberry32 } from "../random.ts";

/** One offered next word. */
export interface Prediction {
  token: string;
  /** Probability (0..1) under the model. */
  prob: number;
}

/** One generated token as it is produced. */
export interface GeneratedToken {
  token: string;
  index: number;
}

/** The end of a generation. */
export interface GenerateResult {
  text: string;
  tokens: string[];
  finishReason: "eos" | "length";
  seed: number;
}

/** Prediction, scoring and generation on text for one model. Single-threaded, like the model. */
export class TextService {
  constructor(readonly model: LstmModel, readonly limits: Pick<Limits, "maxTextTokens">) {}

  /**
   * Token ids of a text that continues (a state or the start): `<eos>` after each line break, none at the
   * end unless the text ends with one — so encoding a + b equals encoding a then b when a ends a word.
   */
  encodeContinuation(text: string): { ids: number[]; unknown: number } {
    return this.#encode(text, /\n$/.test(text));
  }

  #encode(text: string, endWithEos: boolean) {
    let encoded;
    try {
      encoded = this.model.tokenizer.encode(text, { endWithEos });
    } catch (e) {
      if (e instanceof TokenizeError) throw new ApiError(400, "unknown_word", e.message);
      throw e;
    }
    if (encoded.ids.length > this.limits.maxTextTokens) {
      throw new ApiError(
        413,
        "text_too_long",
        `text is ${encoded.ids.length} tokens; the limit is ${this.limits.maxTextTokens}`,
      );
    }
    return encoded;
  }

  /** Feeds `text` (a continuation, see above) into `state`, advanced in place. */
  feed(text: string, state: LstmState): { tokens: number; unknown: number } {
    const { ids, unknown } = this.encodeContinuation(text);
    this.model.feed(state, ids);
    return { tokens: ids.length, unknown };
  }

  /** Feeds `text` into `state` (advanced in place) and returns the `k` most likely next words. */
  predict(
    text: string,
    state: LstmState,
    k: number,
    includeSpecial = false,
  ): { predictions: Prediction[]; tokens: number; unknown: number } {
    const { tokens, unknown } = this.feed(text, state);
    const t = this.model.tokenizer;
    const exclude = includeSpecial ? [] : [t.unkId, t.eosId].filter((id) => id >= 0);
    const top = this.model.topK(state, Math.min(k, this.model.info.vocabSize - exclude.length), exclude);
    const predictions = top.map((p) => ({ token: p.token, prob: Math.exp(p.logProb) }));
    return { predictions, tokens, unknown };
  }

  /** Perplexity by the project's convention (zero state, `<eos>` per line, every token after the first). */
  score(text: string): { perplexity: number; logprob: number; tokens: number; unknown: number } {
    const { ids, unknown } = this.#encode(text, true);
    if (ids.length < 2) {
      throw new ApiError(400, "text_too_short", "text must hold at least 2 tokens (a word and <eos> count)");
    }
    const acc = this.model.score(ids);
    return { perplexity: acc.perplexity, logprob: -acc.nll, tokens: acc.tokens, unknown };
  }

  /**
   * Samples up to `maxTokens` tokens after `state` (feed the prompt first), never `<unk>`, stopping after
   * `<eos>`, calling `onToken` for each; `state` ends after the last token (including `<eos>`).
   */
  async generate(
    state: LstmState,
    options: { maxTokens: number; temperature: number; topK: number; seed: number },
    onToken?: (t: GeneratedToken) => void | Promise<void>,
  ): Promise<GenerateResult> {
    const t = this.model.tokenizer;
    const random = mulberry32(options.seed);
    const tokens: string[] = [];
    let finishReason: GenerateResult["finishReason"] = "length";
    for (let i = 0; i < options.maxTokens; i++) {
      const id = sampleToken(this.model.logProbs(state), random, {
        temperature: options.temperature,
        topK: options.topK,
        exclude: t.unkId >= 0 ? [t.unkId] : [],
      });
      this.model.feed(state, id);
      if (id === t.eosId) {
        finishReason = "eos";
        break;
      }
      tokens.push(t.vocab[id]);
      await onToken?.({ token: t.vocab[id], index: tokens.length - 1 });
    }
    return { text: t.join(tokens), tokens, finishReason, seed: options.seed };
  }
}
