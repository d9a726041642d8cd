import assert from "node:assert/strict";
import { TokenizeError, Tokenizer } from "./tokenizer.ts";

const vocab = ["<unk>", "<eos>", "the", "n", "N", "cat"];
const ptb = new Tokenizer(vocab, 0, 1, { lowercase: false, eosPerLine: true });

Deno.test("Tokenizer.encode() appends <eos> to every line, not after a trailing newline", () => {
  assert.deepEqual(ptb.encode(" the cat \n the \n").ids, [2, 5, 1, 2, 1]);
  assert.deepEqual(ptb.encode("the cat").ids, [2, 5, 1]);
});

Deno.test("Tokenizer.encode() keeps blank lines as a lone <eos>, like the PyTorch reader", () => {
  assert.deepEqual(ptb.encode("the\n\ncat\n").ids, [2, 1, 1, 5, 1]);
});

Deno.test("Tokenizer.encode() maps unknown words to <unk> and counts them", () => {
  const r = ptb.encode("the dog ate\r\n");
  assert.deepEqual(r.ids, [2, 0, 0, 1]);
  assert.equal(r.unknown, 2);
  assert.equal(ptb.encode("<unk> cat").unknown, 0);
});

Deno.test("Tokenizer.encode() leaves the last line open with endWithEos false", () => {
  assert.deepEqual(ptb.encode("the cat\nthe", { endWithEos: false }).ids, [2, 5, 1, 2]);
});

Deno.test("Tokenizer applies lowercase and number rules before lookup", () => {
  const t = new Tokenizer(vocab, 0, 1, { lowercase: true, numberToken: "N", eosPerLine: false });
  assert.deepEqual(t.encode("The CAT 1,250.5 -3 3rd").ids, [2, 5, 4, 4, 0]);
  assert.equal(t.lookup("THE"), 2);
});

Deno.test("Tokenizer.encode() rejects unknown words when the vocabulary has no <unk>", () => {
  const t = new Tokenizer(["a", "b"], -1, -1, { lowercase: false, eosPerLine: true });
  assert.deepEqual(t.encode("a b\nb").ids, [0, 1, 1]);
  assert.throws(
    () => t.encode("a zebra"),
    (e: Error) => e instanceof TokenizeError && /"zebra"/.test(e.message),
  );
});

Deno.test("Tokenizer keeps words that are in the vocabulary as written before applying the rules", () => {
  const t = new Tokenizer(["<unk>", "<eos>", "N", "the"], 0, 1, {
    lowercase: true,
    numberToken: "N",
    eosPerLine: true,
  });
  assert.deepEqual(t.encode("The N 42 <unk>").ids, [3, 2, 2, 0, 1]);
  assert.equal(t.encode("The N 42 <unk>").unknown, 0);
});

const chars = new Tokenizer(["<unk>", " ", "\n", "a", "b", "é", "😀"], 0, -1, {
  kind: "character",
  lowercase: true,
  eosPerLine: false,
});

Deno.test("Tokenizer.encode() of a character model: every character a token, newlines included, nothing appended", () => {
  assert.deepEqual(chars.encode("ab a\n\nb").ids, [3, 4, 1, 3, 2, 2, 4]);
  assert.deepEqual(chars.encode("a\r\nb\n").ids, [3, 2, 4, 2]); // "\r\n" reads as "\n"; the last newline counts
  assert.deepEqual(chars.encode("  ").ids, [1, 1]);
  assert.deepEqual(chars.encode("é😀").ids, [5, 6]); // code points, not UTF-16 units
});

Deno.test("Tokenizer.encode() of a character model lowercases, then maps unknown characters to <unk>", () => {
  const r = chars.encode("AB xÉ");
  assert.deepEqual(r.ids, [3, 4, 1, 0, 5]);
  assert.equal(r.unknown, 1);
  const strict = new Tokenizer(["a", " "], -1, -1, {
    kind: "character",
    lowercase: false,
    eosPerLine: false,
  });
  assert.throws(
    () => strict.encode("a A"),
    (e: Error) =>
      e instanceof TokenizeError && /Character "A" \(U\+0041\) is not in the vocabulary/.test(e.message),
  );
});

Deno.test("Tokenizer.join() joins words with a space and characters as they are", () => {
  assert.equal(chars.join(["a", " ", "b", "\n"]), "a b\n");
  assert.equal(ptb.join(["the", "cat"]), "the cat");
  assert.equal(chars.kind, "character");
  assert.equal(ptb.kind, "whitespace");
});

Deno.test("Tokenizer.completionPrefixes() normalizes an unfinished word like a word; idOf() looks up exactly", () => {
  const t = new Tokenizer(vocab, 0, 1, { lowercase: true, numberToken: "N", eosPerLine: true });
  assert.deepEqual(t.completionPrefixes("Ca"), { starts: ["Ca", "ca"], whole: [] });
  assert.deepEqual(t.completionPrefixes("ca"), { starts: ["ca"], whole: [] });
  assert.deepEqual(t.completionPrefixes("12"), { starts: ["12"], whole: ["N"] });
  assert.deepEqual(ptb.completionPrefixes("12"), { starts: ["12"], whole: [] });
  assert.equal(t.idOf("N"), 4);
  assert.equal(t.idOf("The"), -1);
});
