import assert from "node:assert/strict";
import { FNV_PRIME, TOKEN_HASH_START, tokenHash, VocabIndex } from "./vocab_index.ts";
import { mulberry32 } from "./random.ts";

/** Random tokens: ASCII words, accented and CJK letters, emoji (surrogate pairs), some repeated. */
function randomVocab(n: number, seed: number): string[] {
  const rand = mulberry32(seed);
  const alphabet = ["a", "b", "z", "N", "<", ">", "é", "ß", "中", "文", "😀", "𝄞", "'", "-"];
  const vocab: string[] = [];
  for (let i = 0; i < n; i++) {
    if (i > 10 && rand() < 0.05) {
      vocab.push(vocab[Math.floor(rand() * vocab.length)]);
      continue;
    }
    let t = "";
    const len = 1 + Math.floor(rand() * 8);
    for (let k = 0; k < len; k++) t += alphabet[Math.floor(rand() * alphabet.length)];
    vocab.push(t);
  }
  return vocab;
}

Deno.test("VocabIndex.of() answers get/has exactly as a Map of the vocabulary (last id of a repeat)", () => {
  for (const [n, seed] of [[1, 1], [7, 2], [300, 3], [5000, 4]]) {
    const vocab = randomVocab(n, seed);
    const index = VocabIndex.of(vocab);
    const map = new Map(vocab.map((t, id) => [t, id]));
    for (const t of vocab) assert.equal(index.get(t), map.get(t), `token ${JSON.stringify(t)}`);
    for (const t of ["", "absent", "a ", "😀😀😀😀😀😀😀😀😀", vocab[0] + "x", vocab[0].slice(1)]) {
      assert.equal(index.get(t), map.get(t), `probe ${JSON.stringify(t)}`);
      assert.equal(index.has(t), map.has(t));
    }
  }
});

Deno.test("VocabIndex.insert() reports an equal token's id (keeping or replacing it) and -1 for a new one", () => {
  const vocab = ["the", "cat", "the", "sat", "cat"];
  const index = new VocabIndex(vocab, vocab.length);
  assert.equal(index.insert(0, tokenHash("the")), -1);
  assert.equal(index.insert(1, tokenHash("cat")), -1);
  assert.equal(index.insert(2, tokenHash("the")), 0);
  assert.equal(index.get("the"), 0, "kept without replace");
  assert.equal(index.insert(3, tokenHash("sat")), -1);
  assert.equal(index.insert(4, tokenHash("cat"), true), 1);
  assert.equal(index.get("cat"), 4, "replaced");
  assert.equal(index.get("dog"), undefined);
});

Deno.test("VocabIndex.insert() probes past tokens whose hashes land in the same slot", () => {
  const vocab = ["a", "b", "c", "d", "e", "f", "g"];
  const index = new VocabIndex(vocab, vocab.length); // 16 slots: hashes ≡ 5 (mod 16) share slot 5
  for (let id = 0; id < vocab.length; id++) assert.equal(index.insert(id, 16 * id + 5), -1);
  for (let id = 0; id < vocab.length; id++) assert.equal(index.insert(id, 16 * id + 5), id, vocab[id]);
  // The same hash as "a" but another token: not equal, so a new entry after the seven.
  const more = [...vocab, "h"];
  const index2 = new VocabIndex(more, more.length);
  for (let id = 0; id < more.length; id++) assert.equal(index2.insert(id, 5), -1, more[id]);
});

Deno.test("tokenHash() over an ASCII token equals the FNV-1a of its bytes (the verifier hashes bytes)", () => {
  for (const t of ["the", "<unk>", "N", "mr.", "a'b-c", "x".repeat(64)]) {
    let h = TOKEN_HASH_START;
    for (const b of new TextEncoder().encode(t)) h = Math.imul(h ^ b, FNV_PRIME);
    assert.equal(tokenHash(t), h);
  }
  assert.notEqual(tokenHash("ab"), tokenHash("ba"));
});
