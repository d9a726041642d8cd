import assert from "node:assert/strict";
import { LstmModel } from "../model.ts";
import { Tokenizer } from "../tokenizer.ts";
import { type CardRule, modelCard } from "./model_card.ts";
import { loadTestModel, testCharacterModelBytes } from "./test_model.ts";

const PTB_MODEL = new URL("../../models/ptb-small-20x.lem", import.meta.url);

/** The rule whose text matches `pattern` (there must be one). */
function rule(rules: CardRule[], pattern: RegExp): CardRule {
  const found = rules.find((r) => pattern.test(r.text));
  assert.ok(found, `no rule matches ${pattern}: ${rules.map((r) => r.text).join(" | ")}`);
  return found;
}

Deno.test("modelCard() on PTB: lowercasing, numbers → N, 's as a word, <unk> and <eos>, each with an example", async () => {
  const model = await LstmModel.load(await Deno.readFile(PTB_MODEL));
  const card = modelCard(model);
  assert.equal(card.vocabSize, 10000);
  assert.equal(card.kind, "whitespace");
  assert.equal(card.characters, undefined);
  const reads = (r: CardRule) => Object.fromEntries(r.examples.map((e) => [e.typed, e.reads]));
  assert.deepEqual(reads(rule(card.rules, /lowercased/)), { Stock: ["stock"] });
  assert.deepEqual(reads(rule(card.rules, /number becomes N\.$/)), { "12.5": ["N"], "1,000": ["N"] });
  assert.deepEqual(reads(rule(card.rules, /'s n't/)), { "it 's": ["it", "'s"], "it's": ["<unk>"] });
  assert.deepEqual(reads(rule(card.rules, /becomes <unk>/)), { xyzzyq: ["<unk>"] });
  assert.deepEqual(reads(rule(card.rules, /ends with <eos>/)), {
    "stock\nmarket": ["stock", "<eos>", "market"],
  });
});

Deno.test("modelCard() groups the tensors by encoding, largest first, and their bytes add up", async () => {
  const model = await LstmModel.load(await Deno.readFile(PTB_MODEL));
  const card = modelCard(model);
  const total = (xs: { bytes: number }[]) => xs.reduce((s, x) => s + x.bytes, 0);
  assert.equal(total(card.encodings), total(model.info.tensors));
  assert.deepEqual(
    card.encodings.flatMap((e) => e.tensors).sort(),
    model.info.tensors.map((t) => t.name).sort(),
  );
  assert.deepEqual(
    card.encodings.map((e) => e.bytes),
    card.encodings.map((e) => e.bytes).sort((a, b) => b - a),
  );
  assert.equal(new Set(card.encodings.map((e) => e.encoding)).size, card.encodings.length);
});

Deno.test("modelCard() states only the rules a vocabulary has: no lowercasing, no number token, no <unk>", async () => {
  const { model } = await loadTestModel();
  const tokenizer = new Tokenizer(["a", "b"], -1, -1, { lowercase: false, eosPerLine: false });
  const rules = modelCard({ info: model.info, tokenizer }).rules.map((r) => r.text);
  assert.equal(rules.length, 2, rules.join(" | "));
  assert.match(rules[1], /refused/);
});

Deno.test("modelCard() of a character model: one character a token, the vocabulary listed, ☃ refused", async () => {
  const model = await LstmModel.load(testCharacterModelBytes());
  const card = modelCard(model);
  assert.equal(card.kind, "character");
  assert.deepEqual(card.characters, model.tokenizer.vocab);
  assert.deepEqual(card.rules[0].examples[0].reads, [..."The end.\n"]);
  assert.match(rule(card.rules, /refused/).text, /such as ☃/);
});
