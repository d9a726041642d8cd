/**
 * Perplexity bookkeeping, one convention everywhere: PPL = exp(mean negative log-likelihood of every
 * scored token). Sums are kept in float64 so that 80 000-token texts agree to 1e-6 between engines.
 * @module
 */

/** Running sum of negative log-likelihoods. */
export interface NllAccumulator {
  /** Adds one token's log-probability (natural log). */
  addLogProb(logProb: number): void;
  /** Adds one token given the raw logits of its position (log-softmax computed here, in float64). */
  addLogits(logits: Float32Array, target: number): void;
  /** Total negative log-likelihood. */
  readonly nll: number;
  /** Tokens scored. */
  readonly tokens: number;
  /** exp(nll / tokens); NaN when nothing was scored. */
  readonly perplexity: number;
}

/** Starts an empty accumulator. */
export function nllAccumulator(): NllAccumulator {
  let nll = 0;
  let tokens = 0;
  return {
    addLogProb(logProb: number) {
      nll -= logProb;
      tokens++;
    },
    addLogits(logits: Float32Array, target: number) {
      let max = -Infinity;
      for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
      let sum = 0;
      for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] - max);
      nll -= logits[target] - max - Math.log(sum);
      tokens++;
    },
    get nll() {
      return nll;
    },
    get tokens() {
      return tokens;
    },
    get perplexity() {
      return tokens ? Math.exp(nll / tokens) : NaN;
    },
  };
}
