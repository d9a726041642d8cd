/**
 * Token → id over a vocabulary: an open-addressing hash table in two typed arrays (FNV-1a hashes of the
 * tokens' UTF-16 code units, linear probing), filled by the file verifier while it decodes the tokens.
 * A `Map` of 10 000 fresh strings took ≈ 3 ms of a cold start (hashing and inserting them before the JIT
 * has compiled anything); here insertion is a few integer operations per token, and a lookup hashes the
 * one string asked for and compares it with the vocabulary's string in its slot.
 *
 * @example
 * ```ts
 * const index = VocabIndex.of(["<unk>", "the", "cat"]);
 * index.get("cat"); // 2
 * index.has("dog"); // false
 * ```
 * @module
 */

/** FNV-1a's offset basis and prime (32 bits). */
const FNV_BASIS = 0x811c9dc5 | 0;
export const FNV_PRIME = 0x01000193;

/** One FNV-1a step: the hash so far `h` and one code unit (or byte: the same for ASCII). */
export function fnvStep(h: number, unit: number): number {
  return Math.imul(h ^ unit, FNV_PRIME);
}

/** FNV-1a over a string's UTF-16 code units. */
export function tokenHash(token: string): number {
  let h = FNV_BASIS;
  for (let i = 0; i < token.length; i++) h = fnvStep(h, token.charCodeAt(i));
  return h;
}

/** The hash before any unit (start of {@link fnvStep} chains). */
export const TOKEN_HASH_START = FNV_BASIS;

/** Token → id lookup for one vocabulary (the part of `ReadonlyMap` the tokenizer uses). */
export class VocabIndex {
  readonly #vocab: readonly string[];
  /** id + 1 per slot, 0 = empty; a power of two ≥ 2 × capacity slots. */
  readonly #slots: Int32Array;
  /** The hash of each id's token. */
  readonly #hashes: Int32Array;
  readonly #mask: number;

  /**
   * An empty index for up to `capacity` ids of `vocab` (which may still be filling: the index reads
   * `vocab[id]` only for ids inserted).
   */
  constructor(vocab: readonly string[], capacity: number) {
    let size = 8;
    while (size < 2 * capacity) size *= 2;
    this.#vocab = vocab;
    this.#slots = new Int32Array(size);
    this.#hashes = new Int32Array(Math.max(capacity, 1));
    this.#mask = size - 1;
  }

  /** The index of a whole vocabulary; a token listed twice maps to its last id (as `new Map` would). */
  static of(vocab: readonly string[]): VocabIndex {
    const index = new VocabIndex(vocab, vocab.length);
    for (let id = 0; id < vocab.length; id++) index.insert(id, tokenHash(vocab[id]), true);
    return index;
  }

  /**
   * Adds `id` (whose token is `vocab[id]`, hash `hash` = {@link tokenHash} of it). Returns the id of an
   * equal token already present (then replaced by `id` only if `replace`), or -1.
   */
  insert(id: number, hash: number, replace = false): number {
    const token = this.#vocab[id];
    for (let s = hash & this.#mask;; s = (s + 1) & this.#mask) {
      const other = this.#slots[s] - 1;
      if (other < 0) {
        this.#slots[s] = id + 1;
        this.#hashes[id] = hash;
        return -1;
      }
      if (this.#hashes[other] === hash && this.#vocab[other] === token) {
        if (replace) {
          this.#slots[s] = id + 1;
          this.#hashes[id] = hash;
        }
        return other;
      }
    }
  }

  /** The id of exactly `token`, or undefined. */
  get(token: string): number | undefined {
    const hash = tokenHash(token);
    for (let s = hash & this.#mask;; s = (s + 1) & this.#mask) {
      const id = this.#slots[s] - 1;
      if (id < 0) return undefined;
      if (this.#hashes[id] === hash && this.#vocab[id] === token) return id;
    }
  }

  /** Whether the vocabulary has exactly `token`. */
  has(token: string): boolean {
    return this.get(token) !== undefined;
  }
}
