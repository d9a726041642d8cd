/**
 * What the demo page's model card says about a model: name, vocabulary, file bytes, encodings, and the
 * tokenizer's rules (runtime/tokenizer.ts) in plain words, each with an example run through the model's
 * own tokenizer — so that the card shows what the rules do to typed text instead of restating them.
 * Computed by the server (GET /), by build:worker for the worker's pre-rendered page, and in the browser
 * (the runtime bundle exports it) when the page loads another `.lem` file offline.
 * @module
 */
import type { ModelInfo } from "../model.ts";
import type { Tokenizer } from "../tokenizer.ts";

/** One tokenizer rule: what it says, and typed texts with the tokens the model reads for them. */
export interface CardRule {
  text: string;
  examples: { typed: string; reads: string[] }[];
}

/** The model card, plain data (the page embeds it as JSON). */
export interface ModelCard {
  name: string;
  vocabSize: number;
  fileBytes: number;
  layers: { inputSize: number; hiddenSize: number }[];
  /** Each encoding once, with the tensors stored in it and their bytes, largest first. */
  encodings: { encoding: string; tensors: string[]; bytes: number }[];
  kind: "whitespace" | "character";
  rules: CardRule[];
  /** A character model's whole vocabulary (special tokens left out); absent for a word model. */
  characters?: string[];
}

/** A word the examples can rely on being absent from any real vocabulary. */
const UNKNOWN_WORD = "xyzzyq";
/** A character absent from the character vocabularies we serve (ml5's). */
const UNKNOWN_CHARACTER = "☃";

/** The card of a loaded model (an {@link LstmModel} has both fields). */
export function modelCard(model: { info: ModelInfo; tokenizer: Tokenizer }): ModelCard {
  const { info, tokenizer } = model;
  const byEncoding = new Map<string, { encoding: string; tensors: string[]; bytes: number }>();
  for (const t of info.tensors) {
    const entry = byEncoding.get(t.encoding) ?? { encoding: t.encoding, tensors: [], bytes: 0 };
    entry.tensors.push(t.name);
    entry.bytes += t.bytes;
    byEncoding.set(t.encoding, entry);
  }
  const card: ModelCard = {
    name: info.name,
    vocabSize: info.vocabSize,
    fileBytes: info.fileBytes,
    layers: info.layers,
    encodings: [...byEncoding.values()].sort((a, b) => b.bytes - a.bytes),
    kind: tokenizer.kind,
    rules: tokenizer.kind === "character" ? characterRules(tokenizer) : wordRules(tokenizer),
  };
  if (tokenizer.kind === "character") {
    card.characters = tokenizer.vocab.filter((_, id) => id !== tokenizer.unkId && id !== tokenizer.eosId);
  }
  return card;
}

/** The tokens `tokenizer` reads for `typed` (a line left open: no `<eos>` at the end). */
function reads(tokenizer: Tokenizer, typed: string): { typed: string; reads: string[] } {
  const { ids } = tokenizer.encode(typed, { endWithEos: false });
  return { typed, reads: ids.map((id) => tokenizer.vocab[id]) };
}

const special = (tokenizer: Tokenizer, id: number) => id >= 0 ? tokenizer.vocab[id] : undefined;

function wordRules(t: Tokenizer): CardRule[] {
  const rules: CardRule[] = [];
  const has = (token: string) => t.idOf(token) >= 0;
  // Examples read best on PTB's own words; another vocabulary gets its most frequent plain words (the
  // lowest ids, in PTB's order).
  const plain = t.vocab.filter((w) => /^[a-z]{2,}$/.test(w));
  const prefer = (words: string[], fallback: string | undefined) => words.find(has) ?? fallback;
  const word = prefer(["stock"], plain[0]);
  const next = prefer(["market"], plain[1]);
  rules.push({
    text: "A token is a word: the text is split at spaces and line breaks.",
    examples: word && next ? [reads(t, `${word}  ${next}`)] : [],
  });
  if (t.rules.lowercase) {
    const capital = word && word[0].toUpperCase() + word.slice(1);
    rules.push({
      text: "A word that is not in the vocabulary as written is lowercased.",
      examples: capital && !has(capital) ? [reads(t, capital)] : [],
    });
  }
  const unk = special(t, t.unkId);
  if (t.rules.numberToken !== undefined) {
    // A number the vocabulary holds as written (PTB: "1", "2") stays itself: show one, if any.
    const kept = t.vocab.find((w) => t.completionPrefixes(w).whole.length > 0 && w !== t.rules.numberToken);
    rules.push({
      text: `A number becomes ${t.rules.numberToken}` +
        (kept ? ", unless the vocabulary holds it as written." : "."),
      examples: [reads(t, "12.5"), reads(t, "1,000"), ...(kept ? [reads(t, kept)] : [])],
    });
  }
  // Clitics as tokens of their own (PTB: 's, n't, 're): typed attached to a word, the pair is one word.
  const clitics = t.vocab.filter((w) => /^'[a-z]+$/.test(w) || w === "n't");
  if (clitics.length && word) {
    const clitic = clitics[0];
    const host = prefer(["it"], word);
    rules.push({
      text: `Some word endings are words of their own (${clitics.slice(0, 6).join(" ")}): ` +
        `type them after a space, as the training text wrote them.`,
      examples: [reads(t, `${host} ${clitic}`), ...(unk ? [reads(t, `${host}${clitic}`)] : [])],
    });
  }
  rules.push(
    unk
      ? { text: `A word still outside the vocabulary becomes ${unk}.`, examples: [reads(t, UNKNOWN_WORD)] }
      : {
        text: "A word outside the vocabulary is refused: the vocabulary has no <unk> to stand for it.",
        examples: [],
      },
  );
  const eos = special(t, t.eosId);
  if (t.rules.eosPerLine && eos && word) {
    rules.push({
      text: `Every line ends with ${eos}, the end of a sentence.`,
      examples: [reads(t, `${word}\n${next}`)],
    });
  }
  return rules;
}

function characterRules(t: Tokenizer): CardRule[] {
  const rules: CardRule[] = [{
    text: "A token is one character: spaces and line breaks are characters too.",
    examples: [reads(t, "The end.\n")],
  }];
  if (t.rules.lowercase) {
    const upper = t.vocab.find((c) => /^[a-z]$/.test(c) && t.idOf(c.toUpperCase()) < 0);
    rules.push({
      text: "A character that is not in the vocabulary as written is lowercased.",
      examples: upper ? [reads(t, upper.toUpperCase())] : [],
    });
  }
  const unk = special(t, t.unkId);
  const absent = t.lookup(UNKNOWN_CHARACTER) === t.unkId;
  rules.push(
    unk
      ? {
        text: `A character outside the vocabulary becomes ${unk}.`,
        examples: absent ? [reads(t, UNKNOWN_CHARACTER)] : [],
      }
      : {
        text:
          `A character outside the vocabulary${
            absent ? ` (such as ${UNKNOWN_CHARACTER})` : ""
          } is refused: ` +
          "the vocabulary has no <unk> to stand for it.",
        examples: [],
      },
  );
  return rules;
}
