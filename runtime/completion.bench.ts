/**
 * Word completion and ranking on PTB (models/ptb-small-8x.lem, 10 000 words): what building the prefix
 * index costs once, and a completion against the plain top-k next words it replaces (both include the
 * decoder's next-token distribution). Run: deno bench -A runtime/completion.bench.ts. Benchmarks are not
 * tests; compare ratios within one run.
 */
import { LstmModel } from "./model.ts";
import { PrefixIndex } from "./prefix_index.ts";

const model = await LstmModel.load(
  await Deno.readFile(new URL("../models/ptb-small-8x.lem", import.meta.url)),
);
const t = model.tokenizer;
const state = model.createState();
model.feed(state, t.encode("the stock", { endWithEos: false }).ids);
const special = [t.unkId, t.eosId];

Deno.bench("PrefixIndex over 10 000 words (built once, on the first completion)", () => {
  new PrefixIndex(t.vocab);
});

Deno.bench("next words: topK(50)", { baseline: true, group: "after 'the stock'" }, () => {
  model.topK(state, 50, special);
});

for (const [prefix, k] of [["mar", 5], ["mar", 50], ["s", 5], ["s", 50]] as const) {
  Deno.bench(`complete("${prefix}", k ${k})`, { group: "after 'the stock'" }, () => {
    model.complete(state, prefix, k, special);
  });
}

// Ranking 20 four-word candidates after a 30-word context: one context pass, against a score of
// context + candidate for each (what ranking cost before /v1/rank).
const words =
  "the company said it expects to report a loss for the third quarter because of higher costs and " +
  "lower prices for its products in the u.s. and europe this year";
const context = t.encode(words, { endWithEos: false }).ids;
const candidates = Array.from({ length: 20 }, (_, i) => context.slice(i % 10, (i % 10) + 4));

Deno.bench("rank: 20 candidates after 30 words, from the context's state", {
  baseline: true,
  group: "rank",
}, () => {
  const s = model.createState();
  model.feed(s, context);
  model.rank(s, candidates);
});

Deno.bench("rank: score(context + candidate) for each of the 20", { group: "rank" }, () => {
  for (const c of candidates) model.score([...context, ...c]);
});
