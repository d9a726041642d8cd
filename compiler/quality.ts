/**
 * The quality verdict every compile prints: how much worse the compiled model predicts than the original
 * run by onnxruntime-web, as a perplexity increase, and what that means — fine, noticeable or ruined.
 *
 * Two measures; the verdict is the --eval one when it was measured:
 * - with `--eval TEXT`: the measured perplexity increase on that text (compiled ÷ original − 1);
 * - always: the expected perplexity increase on text the original itself would write, exp(KL) − 1, where
 *   KL is the mean Kullback–Leibler divergence KL(original ‖ compiled) of the next-token distributions over
 *   the compile's reference tokens (the first 32 of the --eval text, else a fixed pseudo-random sequence).
 *   On text drawn from the original's distribution p, the compiled model q's mean negative log-likelihood
 *   exceeds p's by exactly KL(p ‖ q), so its perplexity is exp(KL) times p's.
 *
 * Thresholds (on either measure): **fine** up to +5 % (8-bit quantization costs +0.0 %, 4-bit +2.6 % on
 * PTB), **noticeable** up to +50 % (post-hoc pruning to 80 % or rank-50 factors: +25 %, +44 %), **ruined**
 * beyond (post-hoc tensor-train at rank 16: +1 400 %).
 * @module
 */
import { logSoftmax } from "../runtime/kernels/log_softmax.ref.ts";

/** What a compile's quality is called. */
export type QualityVerdict = "fine" | "noticeable" | "ruined";

/** The largest perplexity increase (a fraction) of each verdict but the last. */
export const QUALITY_THRESHOLDS = { fine: 0.05, noticeable: 0.5 } as const;

/** The verdict of a perplexity increase (0.05 = +5 %); a decrease is fine, NaN is ruined. */
export function qualityVerdict(increase: number): QualityVerdict {
  if (increase <= QUALITY_THRESHOLDS.fine) return "fine";
  if (increase <= QUALITY_THRESHOLDS.noticeable) return "noticeable";
  return "ruined";
}

/**
 * Mean KL(p ‖ q) in nats over `rows` next-token distributions given as logits, row-major
 * (rows × vocab): `reference` gives p, `compiled` q. Computed in f64 from log-softmax of each row.
 */
export function meanDivergence(reference: Float32Array, compiled: Float32Array, vocab: number): number {
  if (reference.length !== compiled.length || reference.length % vocab !== 0) {
    throw new Error(
      `meanDivergence: ${reference.length} and ${compiled.length} logits are not rows of ${vocab}`,
    );
  }
  const rows = reference.length / vocab;
  let total = 0;
  for (let r = 0; r < rows; r++) {
    const p = reference.slice(r * vocab, (r + 1) * vocab);
    const q = compiled.slice(r * vocab, (r + 1) * vocab);
    logSoftmax(p, vocab);
    logSoftmax(q, vocab);
    let kl = 0;
    for (let i = 0; i < vocab; i++) {
      if (p[i] > -Infinity) kl += Math.exp(p[i]) * (p[i] - q[i]);
    }
    total += kl;
  }
  return rows ? total / rows : 0;
}

/** A compile's quality: the perplexity increase the verdict is based on and where it was measured. */
export interface CompileQuality {
  verdict: QualityVerdict;
  /** Perplexity increase as a fraction: compiled ÷ original − 1. */
  increase: number;
  /** `eval`: measured on the --eval text; `reference`: expected, from the divergence on the reference tokens. */
  basis: "eval" | "reference";
}

/** The numbers of a compile the verdict comes from (a CompileResult has them). */
export interface QualityInputs {
  perplexitySource?: number;
  perplexityCompiled?: number;
  /** Mean KL(original ‖ compiled) over the reference tokens, nats; undefined when the original could not run. */
  checkDivergence?: number;
}

/**
 * The quality of a compile: on the --eval text when it was measured there, else from the divergence on
 * the reference tokens; undefined when onnxruntime-web could not run the original (nothing to compare).
 */
export function compileQuality(r: QualityInputs): CompileQuality | undefined {
  if (r.perplexitySource !== undefined && r.perplexityCompiled !== undefined) {
    const increase = r.perplexityCompiled / r.perplexitySource - 1;
    return { verdict: qualityVerdict(increase), increase, basis: "eval" };
  }
  if (r.checkDivergence === undefined) return undefined;
  const increase = Math.expm1(r.checkDivergence);
  return { verdict: qualityVerdict(increase), increase, basis: "reference" };
}
