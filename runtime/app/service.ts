/**
 * What the routes do, without HTTP: next-word prediction and completion, candidate ranking, scoring and
 * generation on text, with states.
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
  /** The word. */
  token: string;
  /** Probability (0..1) under the model. */
  prob: number;
  /** With a prefix: the probability renormalized among the vocabulary entries that match it (0..1). */
  prefixProb?: number;
}

/** One ranked candidate. */
export interface RankEntry {
  /** Position in the request's candidates. */
  index: number;
  /** The candidate as given. */
  text: string;
  /** Sum of the natural-log probabilities of its tokens, each after the context and the ones before. */
  logprob: number;
  /** Its tokens (words or characters). */
  tokens: number;
  /** Its words (characters) outside the vocabulary, counted as <unk>. */
  unknown: number;
  /** logprob / tokens. */
  meanLogprob: number;
}

/** One generated token as it is produced. */
export interface GeneratedToken {
  /** The word. */
  token: string;
  /** Its position in the generated text, from 0. */
  index: number;
}

/** The end of a generation. */
export interface GenerateResult {
  /** The generated words joined by spaces. */
  text: string;
  /** The generated words. */
  tokens: string[];
  /** "eos": the model ended the text; "length": maxTokens words were generated. */
  finishReason: "eos" | "length";
  /** The seed used (given, or drawn and returned): the same seed gives the same text. */
  seed: number;
}

/** Prediction, scoring and generation on text for one model. Single-threaded, like the model. */
export class TextService {
  /**
   * A service for `model`, refusing texts over `limits.maxTextTokens` tokens (413); `maxCandidateTokens`
   * bounds rank's candidates' tokens together (none when absent).
   */
  constructor(
    readonly model: LstmModel,
    readonly limits: Pick<Limits, "maxTextTokens"> & Partial<Pick<Limits, "maxCandidateTokens">>,
  ) {}

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

  /**
   * Feeds `text` into `state` (advanced in place) and returns the `k` most likely next words — with
   * `prefix` (an unfinished word, not fed), the `k` most likely vocabulary entries that start with it
   * ({@link LstmModel.complete}), `matches` counting all that do.
   */
  predict(
    text: string,
    state: LstmState,
    k: number,
    includeSpecial = false,
    prefix?: string,
  ): { predictions: Prediction[]; tokens: number; unknown: number; matches?: number } {
    const { tokens, unknown } = this.feed(text, state);
    const t = this.model.tokenizer;
    const exclude = includeSpecial ? [] : [t.unkId, t.eosId].filter((id) => id >= 0);
    if (prefix !== undefined) {
      const { matches, completions } = this.model.complete(state, prefix, k, exclude);
      const predictions = completions.map((c) => ({
        token: c.token,
        prob: Math.exp(c.logProb),
        prefixProb: Math.exp(c.prefixLogProb),
      }));
      return { predictions, tokens, unknown, matches };
    }
    const top = this.model.topK(state, Math.min(k, this.model.info.vocabSize - exclude.length), exclude);
    const predictions = top.map((p) => ({ token: p.token, prob: Math.exp(p.logProb) }));
    return { predictions, tokens, unknown };
  }

  /**
   * Feeds the context `text` into `state` (advanced in place, once) and scores every candidate as its
   * continuation ({@link LstmModel.rank}); the best first — by total log-probability, or by the mean
   * per token with `by: "mean"` — ties in the candidates' order, the first `k` when given. A candidate
   * is encoded like any continuation: `<eos>` only where it ends with a line break.
   */
  rank(
    text: string,
    state: LstmState,
    candidates: readonly string[],
    options: { k?: number; by?: "logprob" | "mean" } = {},
  ): { ranking: RankEntry[]; tokens: number; unknown: number } {
    const encoded = candidates.map((c, i) => {
      const e = this.encodeContinuation(c);
      if (e.ids.length === 0) {
        throw new ApiError(400, "empty_candidate", `candidates[${i}] holds no tokens`);
      }
      return e;
    });
    const total = encoded.reduce((s, e) => s + e.ids.length, 0);
    const limit = this.limits.maxCandidateTokens ?? Infinity;
    if (total > limit) {
      throw new ApiError(
        413,
        "candidates_too_long",
        `the candidates hold ${total} tokens; the limit is ${limit}`,
      );
    }
    const context = this.encodeContinuation(text);
    if (state.tokens === 0 && context.ids.length === 0) {
      throw new ApiError(
        400,
        "empty_text",
        "rank needs a context: text that holds a token, a state, or both",
      );
    }
    this.model.feed(state, context.ids);
    const { unknown } = context;
    const tokens = context.ids.length;
    const ranked = this.model.rank(state, encoded.map((e) => e.ids)).map((r) => ({
      index: r.index,
      text: candidates[r.index],
      logprob: r.logProb,
      tokens: r.tokens,
      unknown: encoded[r.index].unknown,
      meanLogprob: r.logProb / r.tokens,
    }));
    const key = options.by === "mean" ? "meanLogprob" : "logprob";
    ranked.sort((a, b) => b[key] - a[key] || a.index - b.index);
    return { ranking: ranked.slice(0, options.k ?? ranked.length), tokens, unknown };
  }

  /** Perplexity by the project's convention (zero state, `<eos>` per line, every token after the first). */
  score(text: string): { perplexity: number; logprob: number; tokens: number; unknown: number } {
    const { ids, unknown } = this.#encode(text, true);
    if (ids.length < 2) {
      const what = this.model.tokenizer.kind === "character"
        ? "characters"
        : "tokens (a word and <eos> count)";
      throw new ApiError(400, "text_too_short", `text must hold at least 2 ${what}`);
    }
    const acc = this.model.score(ids);
    return { perplexity: acc.perplexity, logprob: -acc.nll, tokens: acc.tokens, unknown };
  }

  /**
   * Samples up to `maxTokens` tokens after `state` (feed the prompt first), never `<unk>`, stopping after
   * `<eos>` — but not before `minTokens` (default 0) tokens: until then `<eos>` is not sampled either —
   * calling `onToken` for each; `state` ends after the last token (including `<eos>`).
   */
  async generate(
    state: LstmState,
    options: { maxTokens: number; minTokens?: number; temperature: number; topK: number; seed: number },
    onToken?: (t: GeneratedToken) => void | Promise<void>,
  ): Promise<GenerateResult> {
    const t = this.model.tokenizer;
    const random = mulberry32(options.seed);
    const tokens: string[] = [];
    let finishReason: GenerateResult["finishReason"] = "length";
    const never = t.unkId >= 0 ? [t.unkId] : [];
    const notYet = t.eosId >= 0 ? [...never, t.eosId] : never; // before minTokens
    for (let i = 0; i < options.maxTokens; i++) {
      const id = sampleToken(this.model.logProbs(state), random, {
        temperature: options.temperature,
        topK: options.topK,
        exclude: i < (options.minTokens ?? 0) ? notYet : never,
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
