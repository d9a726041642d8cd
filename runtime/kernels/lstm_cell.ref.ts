/**
 * Reference (for the tests) LSTM cell update — same semantics as `lstm_cell` in as/lstm_cell.ts,
 * computed in f64 and rounded to f32 on store.
 * @module
 */

/**
 * gates: (4·hidden) preactivations in blocks i, f, g, o (bias included); c: (hidden), updated in place;
 * h: (hidden), overwritten.  i = σ(gi), f = σ(gf), g = tanh(gg), o = σ(go); c ← f·c + i·g; h ← o·tanh(c).
 *
 * @example
 * ```ts
 * const c = new Float32Array([1]), h = new Float32Array(1);
 * lstmCell(new Float32Array([0, 0, 0, 0]), c, h, 1); // c = [0.5] (½·1 + ½·0), h = [½·tanh(½)]
 * ```
 */
export function lstmCell(gates: Float32Array, c: Float32Array, h: Float32Array, hidden: number): void {
  for (let j = 0; j < hidden; j++) {
    const i = 1 / (1 + Math.exp(-gates[j]));
    const f = 1 / (1 + Math.exp(-gates[hidden + j]));
    const g = Math.tanh(gates[2 * hidden + j]);
    const o = 1 / (1 + Math.exp(-gates[3 * hidden + j]));
    c[j] = f * c[j] + i * g;
    h[j] = o * Math.tanh(c[j]); // tanh of the stored (f32) cell state, as the kernel does
  }
}
