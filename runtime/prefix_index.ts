/**
 * Vocabulary entries by prefix, for word completion: the token ids sorted by token (UTF-16 code unit
 * order), so that the entries starting with a prefix are one contiguous run, found by two binary
 * searches. A lookup costs O(log V + matches), whatever the number of completions asked for.
 * @module
 */

/** Token ids sorted by token; {@link PrefixIndex.matching} gives the ids of the tokens that start with a prefix. */
export class PrefixIndex {
  readonly #vocab: readonly string[];
  readonly #sorted: Int32Array;

  constructor(vocab: readonly string[]) {
    this.#vocab = vocab;
    this.#sorted = Int32Array.from(vocab.keys()).sort((a, b) =>
      vocab[a] < vocab[b] ? -1 : vocab[a] > vocab[b] ? 1 : 0
    );
  }

  /** First position in the sorted order whose token is ≥ `s`. */
  #lowerBound(s: string): number {
    let lo = 0;
    let hi = this.#sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#vocab[this.#sorted[mid]] < s) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * Ids of the tokens that start with `prefix`, in token order (a view: do not modify): the tokens that
   * start with `prefix` are the run that begins where `prefix` would sort.
   *
   * @example
   * ```ts
   * new PrefixIndex(["mark", "a", "mar", "market"]).matching("mar"); // Int32Array [2, 0, 3]
   * ```
   */
  matching(prefix: string): Int32Array {
    const start = this.#lowerBound(prefix);
    let end = start;
    // The run is usually short; walk it rather than search for its end, so no sentinel string is needed.
    while (end < this.#sorted.length && this.#vocab[this.#sorted[end]].startsWith(prefix)) end++;
    return this.#sorted.subarray(start, end);
  }
}
