/**
 * Text → token ids, by the rules stored in the model file. Shared by every route and the CLI, so that a
 * perplexity measured by `deno task eval` and one served over HTTP count the same tokens.
 *
 * Character models (`kind: "character"`, e.g. ml5's char-RNNs): every character (code point) of the
 * text is a token, in order, newlines included ("\r\n" reads as "\n"); a character that is not in the
 * vocabulary is lowercased (if the rules say so) and otherwise becomes `<unk>`, or is an error when the
 * vocabulary has none. Nothing is appended: the newline is a token of its own.
 *
 * Word models (`kind: "whitespace"`, the default; PTB convention): split each line on whitespace; a word found in the vocabulary as written is
 * kept (so "N" and "<unk>" in PTB text stay themselves); otherwise it is lowercased (if the rules say
 * so) and, if it looks like a number, replaced by the number token (PTB: "N"); words still outside the
 * vocabulary become `<unk>`; `<eos>` is appended after every line (a trailing newline at the end of the
 * text does not start another line).
 * @module
 */

import { VocabIndex } from "./vocab_index.ts";

/** Token → id lookup: a verified file's VocabIndex, or any map of exactly the vocabulary. */
export type TokenIds = Pick<ReadonlyMap<string, number>, "get" | "has">;

/** What a token is: a whitespace-separated word, or one character. */
export type TokenizerKindName = "whitespace" | "character";

/** Tokenizer rules as stored in the format's Tokenizer table. */
export interface TokenizerRules {
  /** Default "whitespace". */
  kind?: TokenizerKindName;
  /** Lowercase a word that is not in the vocabulary as written. */
  lowercase: boolean;
  /** The token a number becomes (PTB: "N"), if any. */
  numberToken?: string;
  /** `<eos>` ends every line. */
  eosPerLine: boolean;
}

/** The result of encoding a text. */
export interface EncodedText {
  /** Token ids, in order. */
  ids: number[];
  /** How many words (characters, for a character model) were not in the vocabulary (and became `<unk>`). */
  unknown: number;
}

/** Thrown for text that cannot be encoded (a word outside a vocabulary without `<unk>`). */
export class TokenizeError extends Error {
  /** "TokenizeError". */
  override name = "TokenizeError";
}

const NUMBER = /^[+-]?\d[\d,.]*$/;

/** Maps text to token ids for one vocabulary. */
export class Tokenizer {
  readonly #index: TokenIds;

  /** `index` (token → id for exactly `vocab`, e.g. a verified file's `vocabIndex`) saves building it. */
  constructor(
    readonly vocab: readonly string[],
    readonly unkId: number,
    readonly eosId: number,
    readonly rules: TokenizerRules,
    index?: TokenIds,
  ) {
    this.#index = index ?? VocabIndex.of(vocab);
  }

  /** "whitespace" (a token is a word) or "character" (a token is one character). */
  get kind(): TokenizerKindName {
    return this.rules.kind ?? "whitespace";
  }

  /** Normalizes one word (one character, for a character model) the way the model's vocabulary expects. */
  normalize(word: string): string {
    if (this.#index.has(word)) return word;
    let w = this.rules.lowercase ? word.toLowerCase() : word;
    if (this.rules.numberToken !== undefined && NUMBER.test(w)) w = this.rules.numberToken;
    return w;
  }

  /**
   * The prefixes a vocabulary entry may start with to complete the unfinished word `prefix`, normalized
   * as {@link normalize} normalizes a word: `prefix` as written; lowercased when the rules lowercase;
   * and, when it looks like a number and the rules have a number token, that token itself.
   *
   * @example
   * ```ts
   * ptb.completionPrefixes("Mar"); // { starts: ["Mar", "mar"], whole: [] }
   * ptb.completionPrefixes("12");  // { starts: ["12"], whole: ["N"] }: the token a number becomes
   * ```
   */
  completionPrefixes(prefix: string): { starts: string[]; whole: string[] } {
    const starts = [prefix];
    if (this.rules.lowercase && prefix.toLowerCase() !== prefix) starts.push(prefix.toLowerCase());
    const whole = this.rules.numberToken !== undefined && NUMBER.test(prefix) ? [this.rules.numberToken] : [];
    return { starts, whole };
  }

  /** The text of generated tokens: words joined by a space; a character model's characters as they are. */
  join(tokens: readonly string[]): string {
    return tokens.join(this.kind === "character" ? "" : " ");
  }

  /** The id of exactly this token string (no normalization), or -1 when the vocabulary has no such token. */
  idOf(token: string): number {
    return this.#index.get(token) ?? -1;
  }

  /** The id of one word, `<unk>`'s id for unknown words, or -1 when it is unknown and there is no `<unk>`. */
  lookup(word: string): number {
    const id = this.#index.get(this.normalize(word));
    return id ?? this.unkId;
  }

  /**
   * Encodes a text. With `eosPerLine` each line ends with `<eos>`; pass `{ endWithEos: false }` to leave
   * the last line open (for next-word prediction after a partial sentence).
   *
   * @example
   * ```ts
   * const t = new Tokenizer(["<unk>", "<eos>", "a"], 0, 1, { lowercase: true, eosPerLine: true });
   * t.encode("A b\n").ids; // [2, 0, 1]
   * ```
   */
  encode(text: string, options: { endWithEos?: boolean } = {}): EncodedText {
    if (this.kind === "character") return this.#encodeCharacters(text);
    const endWithEos = options.endWithEos ?? true;
    const lines = text.split(/\r?\n/);
    if (lines.length > 1 && lines[lines.length - 1] === "") lines.pop();
    const ids: number[] = [];
    let unknown = 0;
    lines.forEach((line, i) => {
      for (const word of line.split(/\s+/)) {
        if (word === "") continue;
        let id = this.#index.get(this.normalize(word));
        if (id === undefined) {
          if (this.unkId < 0) {
            throw new TokenizeError(
              `Word "${word}" is not in the vocabulary, and the vocabulary has no <unk> token to stand for it`,
            );
          }
          id = this.unkId;
          unknown++;
        }
        ids.push(id);
      }
      const last = i === lines.length - 1;
      if (this.rules.eosPerLine && this.eosId >= 0 && (!last || endWithEos)) ids.push(this.eosId);
    });
    return { ids, unknown };
  }

  #encodeCharacters(text: string): EncodedText {
    const ids: number[] = [];
    let unknown = 0;
    for (const ch of text.replaceAll("\r\n", "\n")) {
      let id = this.#index.get(this.normalize(ch));
      if (id === undefined) {
        if (this.unkId < 0) {
          const code = ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, "0");
          throw new TokenizeError(
            `Character ${JSON.stringify(ch)} (U+${code}) is not in the vocabulary, and the vocabulary has ` +
              `no <unk> token to stand for it`,
          );
        }
        id = this.unkId;
        unknown++;
      }
      ids.push(id);
    }
    return { ids, unknown };
  }
}
