/**
 * Seeded sampling of the next token: the same seed, prompt and settings give the same text on every
 * platform (the PRNG is integer arithmetic; the distribution is computed in float64 from the model's
 * float32 log-probabilities, which the kernels compute identically everywhere they run).
 * @module
 */

/** Settings for {@link sampleToken}. */
export interface SampleOptions {
  /** 0: always the most likely token; 1: the model's distribution; higher: flatter. */
  temperature: number;
  /** Sample among the `topK` most likely tokens only; 0: all. */
  topK: number;
  /** Token ids never sampled (e.g. `<unk>`). */
  exclude?: readonly number[];
}

/**
 * Picks the next token id from natural-log probabilities `logProbs` (vocab), using `random()` once.
 * Ties are broken by the smaller id, so the result depends only on the inputs.
 *
 * @example
 * ```ts
 * const rand = mulberry32(42);
 * sampleToken(new Float32Array([Math.log(0.9), Math.log(0.1)]), rand, { temperature: 0, topK: 0 }); // 0
 * ```
 */
export function sampleToken(logProbs: Float32Array, random: () => number, options: SampleOptions): number {
  const excluded = new Set(options.exclude ?? []);
  const ids: number[] = [];
  for (let i = 0; i < logProbs.length; i++) {
    if (!excluded.has(i) && logProbs[i] > -Infinity) ids.push(i);
  }
  if (ids.length === 0) throw new Error("sampleToken: every token is excluded");
  ids.sort((a, b) => logProbs[b] - logProbs[a] || a - b);
  const r = random();
  if (options.temperature === 0) return ids[0];
  const keep = options.topK > 0 ? ids.slice(0, options.topK) : ids;
  const top = logProbs[keep[0]];
  const weights = keep.map((id) => Math.exp((logProbs[id] - top) / options.temperature));
  const total = weights.reduce((s, w) => s + w, 0);
  let x = r * total;
  for (let i = 0; i < keep.length; i++) {
    x -= weights[i];
    if (x < 0) return keep[i];
  }
  return keep[keep.length - 1];
}
