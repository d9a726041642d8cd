/**
 * The vocabulary and tokenizer settings that travel with an ONNX model.
 *
 * metadata_props (as models/train.py writes them):
 *  - `vocab`: the tokens separated by "\n", line number = token id (a trailing newline is allowed).
 *  - `tokenizer` (optional): JSON `{"lowercase": bool, "eosPerLine": bool, "numberToken": string | null}`;
 *    each key is optional. Without it: `{lowercase: false, eosPerLine: true, numberToken: undefined}`
 *    (PTB-style text: whitespace tokens, `<eos>` per line, no case folding, numbers left alone).
 * A vocabulary file given with `--vocab FILE` has the same format as the `vocab` entry and takes precedence.
 * Either may also be JSON, which can hold whitespace tokens (a character model's space and newline): an
 * array of token strings (index = id) or an object token → id (ml5's `vocab.json`).
 * `tokenizer` may set `"kind": "character"` (every character of the text is a token; runtime/tokenizer.ts).
 * @module
 */

import type { IrTokenizer } from "../ir.ts";
import { isOneCharacter } from "../../runtime/format/verify.ts";

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
  if (/^\s*[[{]/.test(text)) {
    try {
      return readJsonVocabulary(text, "the vocabulary");
    } catch (e) {
      if (!(e instanceof SyntaxError)) throw e;
      // Not JSON after all: a line-per-token file whose first token starts with "[" or "{".
    }
  }
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

/**
 * Parses a JSON vocabulary: an array of token strings (index = id), or an object token → id (ml5's
 * `vocab.json`). Tokens may hold whitespace (checked against the tokenizer kind by
 * {@link checkVocabularyTokens}, which also refuses empty ones). Every defect is reported at once, by id: tokens given
 * twice (duplicate keys in the text, which JSON.parse would silently merge), ids given twice, missing or
 * out of range. A text that is not JSON throws SyntaxError.
 */
export function readJsonVocabulary(text: string, source: string): string[] {
  const raw: unknown = JSON.parse(text);
  const problems: string[] = [];
  let tokens: (string | undefined)[];
  if (Array.isArray(raw)) {
    tokens = raw.map((t, id) => {
      if (typeof t === "string") return t;
      problems.push(`id ${id} is ${JSON.stringify(t)}, not a string`);
      return undefined;
    });
  } else if (raw && typeof raw === "object") {
    const entries = Object.entries(raw as Record<string, unknown>);
    tokens = [];
    for (const [token, id] of entries) {
      if (!Number.isInteger(id) || (id as number) < 0 || (id as number) >= entries.length) {
        problems.push(
          `key ${JSON.stringify(token)} has id ${JSON.stringify(id)}, expected 0..${entries.length - 1}`,
        );
      } else if (tokens[id as number] !== undefined) {
        problems.push(
          `id ${id} is given to both ${JSON.stringify(tokens[id as number])} and ${JSON.stringify(token)}`,
        );
      } else tokens[id as number] = token;
    }
    for (const [token, count] of duplicateKeys(text)) {
      problems.push(
        `key ${JSON.stringify(token)} appears ${count} times (JSON keeps only the last one's id)`,
      );
    }
    for (let id = 0; id < entries.length; id++) {
      if (!(id in tokens)) problems.push(`no key has id ${id}`);
    }
  } else {
    throw new Error(`${source} must be a JSON array of tokens or an object token → id, found ${typeof raw}`);
  }
  const seen = new Map<string, number>();
  tokens.forEach((t, id) => {
    if (t === undefined) return;
    const first = seen.get(t);
    if (first !== undefined && Array.isArray(raw)) {
      problems.push(`ids ${first} and ${id} are both ${JSON.stringify(t)}`);
    }
    seen.set(t, id);
  });
  if (tokens.length === 0) problems.push("it holds no tokens");
  if (problems.length) throw new VocabularyError(source, problems);
  return tokens as string[];
}

/** A vocabulary with defects; `problems` name the ids. */
export class VocabularyError extends Error {
  override name = "VocabularyError";
  constructor(readonly source: string, readonly problems: string[]) {
    super(`${source} is not a usable vocabulary: ${problems.join("; ")}`);
  }
}

/** Keys that occur more than once among the top-level keys of a JSON object text, with their counts. */
function duplicateKeys(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  // Top-level object of string keys and scalar values (ml5's vocab.json): "key" : value
  for (const m of text.matchAll(/"((?:[^"\\]|\\.)*)"\s*:/g)) {
    const key = JSON.parse(`"${m[1]}"`) as string;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return new Map([...counts].filter(([, n]) => n > 1));
}

/**
 * Checks tokens against what the tokenizer kind allows (the rules the format's verifier applies):
 * words without whitespace, or single characters (whitespace included) except `<unk>`/`<eos>`.
 */
export function checkVocabularyTokens(
  vocab: readonly string[],
  tokenizer: IrTokenizer,
  source: string,
): void {
  const problems: string[] = [];
  vocab.forEach((t, id) => {
    if (t === "") problems.push(`id ${id} is the empty string`);
    else if (tokenizer.kind === "character") {
      if (!isOneCharacter(t) && t !== "<unk>" && t !== "<eos>") {
        problems.push(`id ${id} is ${JSON.stringify(t)} (${[...t].length} characters)`);
      }
    } else if (/\s/.test(t)) problems.push(`id ${id} is ${JSON.stringify(t)}, which contains whitespace`);
  });
  if (problems.length) {
    const what = tokenizer.kind === "character"
      ? "a character vocabulary needs one character per id (or <unk>, <eos>)"
      : `a word vocabulary's tokens hold no whitespace (for a character model: --tokenizer '{"kind": "character"}')`;
    throw new VocabularyError(source, [...problems, what]);
  }
}

/** What a character model's tokenizer is when nothing says otherwise (ml5 char-RNN folders). */
export const CHARACTER_TOKENIZER: Readonly<IrTokenizer> = {
  kind: "character",
  lowercase: false,
  eosPerLine: false,
  numberToken: undefined,
};

/**
 * Parses the `tokenizer` metadata JSON (see the module doc); `undefined` gives `defaults`. `kind` is
 * "whitespace" or "character"; a character tokenizer appends nothing (`eosPerLine` false, its default
 * there) and has no number token.
 */
export function readTokenizerMetadata(
  json: string | undefined,
  vocab: readonly string[],
  defaults: Readonly<IrTokenizer> = DEFAULT_TOKENIZER,
): IrTokenizer {
  if (json === undefined) return { ...defaults };
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
  const known = ["kind", "lowercase", "eosPerLine", "numberToken"];
  const extra = Object.keys(obj).filter((k) => !known.includes(k));
  if (extra.length > 0) {
    throw new Error(
      `metadata_props "tokenizer" has unknown keys ${extra.join(", ")}; expected ${known.join(", ")}`,
    );
  }
  const kind = obj.kind ?? defaults.kind ?? "whitespace";
  if (kind !== "whitespace" && kind !== "character") {
    throw new Error(
      `metadata_props "tokenizer": kind must be "whitespace" or "character", found ${JSON.stringify(kind)}`,
    );
  }
  const character = kind === "character";
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
  if (character && typeof numberToken === "string") {
    throw new Error(`metadata_props "tokenizer": a character tokenizer has no numberToken`);
  }
  const eosPerLine = bool("eosPerLine", character ? false : (defaults.eosPerLine ?? true));
  if (character && eosPerLine) {
    throw new Error(
      `metadata_props "tokenizer": a character tokenizer appends nothing (a newline is the "\\n" token); ` +
        `eosPerLine must be false`,
    );
  }
  return {
    ...(character ? { kind } : {}),
    lowercase: bool("lowercase", defaults.lowercase),
    eosPerLine,
    numberToken: typeof numberToken === "string" ? numberToken : undefined,
  };
}
