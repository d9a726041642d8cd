import assert from "node:assert/strict";
import { PrefixIndex } from "./prefix_index.ts";

Deno.test("PrefixIndex.matching() gives exactly the ids whose tokens start with the prefix", () => {
  const vocab = ["mark", "a", "mar", "market", "ma", "b", "marz", "m", "<unk>", "é", "éa"];
  const index = new PrefixIndex(vocab);
  for (const prefix of ["", "m", "ma", "mar", "mark", "markets", "z", "<", "é", "b", "a"]) {
    const got = [...index.matching(prefix)].sort((x, y) => x - y);
    const want = [...vocab.keys()].filter((id) => vocab[id].startsWith(prefix));
    assert.deepEqual(got, want, JSON.stringify(prefix));
  }
  assert.deepEqual([...index.matching("mar")].map((id) => vocab[id]), ["mar", "mark", "market", "marz"]);
});
