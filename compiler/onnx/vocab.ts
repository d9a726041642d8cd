/**
 * The vocabulary and tokenizer settings that travel with an ONNX model.
 *
 * metadata_props (as models/train.py writes them):
 *  - `vocab`: the tokens separated by "\n", line number = token id (a trailing newline is allowed).
 *  - `tokenizer` (optional): JSON `{"lowercase": bool, "eosPerLine": bool, "numberToken": string | null}`;
 *    each key is optional. Without it: `{lowercase: false, eosPerLine: true, numberToken: undefined}`
 *    (PTB-style text: whitespace tokens, `<eos>` per line, no case folding, numbers left alone).
 * A vocabulary file given with `--vocab FILE` has the same format as the `vocab` entry and takes precedence.
 * @module
 */

import type { IrTokenizer } from "../ir.ts";

/** Tokenizer settings when the model says nothing. */
export const DEFAULT_TOKENIZER: Readonly<IrTokenizer> = {
  lowercase: false,
  eosPerLine: true,
  numberToken: undefined,
};

/**
 * Parses a vocabulary file: one token per line, line number (from 0) = token id. "\r\n" line ends and one
 * final newline are accepted; empty lines, tokens containing whitespace and duplicates are errors.
 *
 * @example
 * ```ts
 * readVocabFile("<unk>\nthe\n<eos>\n"); // ["<unk>", "the", "<eos>"]
 * ```
 */
export function readVocabFile(text: string): string[] {
  const body = text.endsWith("\r\n") ? text.slice(0, -2) : text.endsWith("\n") ? text.slice(0, -1) : text;
  if (body === "") throw new Error("Vocabulary is empty: expected one token per line");
  const tokens = body.split("\n").map((line) => (line.endsWith("\r") ? line.slice(0, -1) : line));
  const seen = new Map<string, number>();
  tokens.forEach((token, i) => {
    if (token === "") throw new Error(`Vocabulary line ${i + 1} is empty: expected one token per line`);
    if (/\s/.test(token)) {
      throw new Error(
        `Vocabulary line ${i + 1} (${JSON.stringify(token)}) contains whitespace; expected one token`,
      );
    }
    const first = seen.get(token);
    if (first !== undefined) {
      throw new Error(
        `Vocabulary token ${JSON.stringify(token)} appears twice: lines ${first + 1} and ${i + 1}`,
      );
    }
    seen.set(token, i);
  });
  return tokens;
}

/** Parses the `tokenizer` metadata JSON (see the module doc); `undefined` gives the defaults. */
export function readTokenizerMetadata(json: string | undefined, vocab: readonly string[]): IrTokenizer {
  if (json === undefined) return { ...DEFAULT_TOKENIZER };
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (e) {
    throw new Error(`metadata_props "tokenizer" is not valid JSON: ${(e as Error).message}`);
  }
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) {
    throw new Error(`metadata_props "tokenizer" must be a JSON object, found ${json}`);
  }
  const obj = raw as Record<string, unknown>;
  const known = ["lowercase", "eosPerLine", "numberToken"];
  const extra = Object.keys(obj).filter((k) => !known.includes(k));
  if (extra.length > 0) {
    throw new Error(
      `metadata_props "tokenizer" has unknown keys ${extra.join(", ")}; expected ${known.join(", ")}`,
    );
  }
  const bool = (key: string, fallback: boolean): boolean => {
    const v = obj[key];
    if (v === undefined) return fallback;
    if (typeof v !== "boolean") {
      throw new Error(`metadata_props "tokenizer": ${key} must be true or false, found ${JSON.stringify(v)}`);
    }
    return v;
  };
  const numberToken = obj.numberToken;
  if (numberToken !== undefined && numberToken !== null && typeof numberToken !== "string") {
    throw new Error(
      `metadata_props "tokenizer": numberToken must be a string or null, found ${
        JSON.stringify(numberToken)
      }`,
    );
  }
  if (typeof numberToken === "string" && !vocab.includes(numberToken)) {
    throw new Error(
      `metadata_props "tokenizer": numberToken ${JSON.stringify(numberToken)} is not in the vocabulary`,
    );
  }
  return {
    lowercase: bool("lowercase", DEFAULT_TOKENIZER.lowercase),
    eosPerLine: bool("eosPerLine", DEFAULT_TOKENIZER.eosPerLine),
    numberToken: typeof numberToken === "string" ? numberToken : undefined,
  };
}
