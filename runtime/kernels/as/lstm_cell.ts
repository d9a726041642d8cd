// One LSTM cell update from gate preactivations (bias already added by the caller's matvecs).
// gates: (4·hidden) f32, blocks in the order i, f, g, o, each `hidden` long (read only);
// c: (hidden) f32 cell state, updated in place; h: (hidden) f32 hidden state, overwritten.
//   i = σ(gi), f = σ(gf), g = tanh(gg), o = σ(go);  c ← f·c + i·g;  h ← o·tanh(c)
// Four units at a time: σ and tanh are built on a SIMD exp (Cephes expf, exp4.ts, ≤ 2 ulp) and are within
// 2e-7 relative of the exact values (tested over ±20, every 2^-12); the last hidden % 4 units go through the
// same four lanes, loaded and stored one float at a time (no scalar copy of σ and tanh, no Mathf.exp and its
// table in the module). Why SIMD: the cell is O(hidden) next to the O(hidden²) matvecs, but with compressed
// weights those got fast — scalar, the two cells of a PTB-small step took 33 µs, an eighth of the whole int4
// step; SIMD takes ≈ 5. Why not Mathf.tanh: its branches on |x| mispredict on real (spread) gate values and
// made the cell 4× slower (hidden = 650).

import { C0, C1, C2, C3, C4, C5, EXP_BIAS, EXP_MIN, exp4, LN2_HI, LN2_LO, LOG2E, ROUND } from "./exp4";

// exp's range here: arguments are clamped to [EXP_MIN, EXP_HI] so that 2^n stays a normal f32 (n ∈
// [−126, 127]); e^88 ≈ 1.7e38 stands in for ∞ (σ(−88) ≈ 6e-39 instead of 0, tanh(44+) = 1 exactly).
// @ts-ignore: decorator
@inline const EXP_HI: f32 = 88.0;

// The constants of exp4/tanh4 as mutable globals: as v128.const operands V8 rebuilds each one at every use
// (a few instructions each); a global is one load.
let kLo = f32x4.splat(EXP_MIN);
let kHi = f32x4.splat(EXP_HI);
let kLog2e = f32x4.splat(LOG2E);
let kRound = f32x4.splat(ROUND);
let kLn2Hi = f32x4.splat(LN2_HI);
let kLn2Lo = f32x4.splat(LN2_LO);
let kC0 = f32x4.splat(C0);
let kC1 = f32x4.splat(C1);
let kC2 = f32x4.splat(C2);
let kC3 = f32x4.splat(C3);
let kC4 = f32x4.splat(C4);
let kC5 = f32x4.splat(C5);
let kOne = f32x4.splat(1);
let kTwo = f32x4.splat(2);
let kBias = i32x4.splat(EXP_BIAS);
let kT1 = f32x4.splat(<f32>(-1.0 / 3));
let kT2 = f32x4.splat(<f32>(2.0 / 15));
let kT3 = f32x4.splat(<f32>(-17.0 / 315));
let kT4 = f32x4.splat(<f32>(62.0 / 2835));
let kT5 = f32x4.splat(<f32>(-1382.0 / 155925));
let kT6 = f32x4.splat(<f32>(21844.0 / 6081075));
let kT7 = f32x4.splat(<f32>(-929569.0 / 638512875));
let kSmall = f32x4.splat(0.55);
let kAbs = i32x4.splat(0x7fffffff);

/** e^v of four lanes, v clamped to [EXP_MIN, EXP_HI]; NaN stays NaN (pmin keeps a NaN first operand). */
// @ts-ignore: decorator
@inline function expClamped4(v: v128): v128 {
  return exp4(f32x4.pmin(v, kHi), kLo, kLog2e, kRound, kLn2Hi, kLn2Lo, kC0, kC1, kC2, kC3, kC4, kC5, kOne, kBias);
}

// @ts-ignore: decorator
@inline function sigmoid4(v: v128): v128 {
  return f32x4.div(kOne, f32x4.add(kOne, expClamped4(f32x4.neg(v))));
}

/** tanh of four lanes, the scalar tanh's method: series below 0.55 (in f32 here), else 1 − 2/(e^{2|v|} + 1). */
// @ts-ignore: decorator
@inline function tanh4(v: v128): v128 {
  const a = v128.and(v, kAbs);
  const z = f32x4.mul(a, a);
  let s = f32x4.add(f32x4.mul(kT7, z), kT6);
  s = f32x4.add(f32x4.mul(s, z), kT5);
  s = f32x4.add(f32x4.mul(s, z), kT4);
  s = f32x4.add(f32x4.mul(s, z), kT3);
  s = f32x4.add(f32x4.mul(s, z), kT2);
  s = f32x4.add(f32x4.mul(s, z), kT1);
  const series = f32x4.add(a, f32x4.mul(f32x4.mul(a, z), s));
  const viaExp = f32x4.sub(kOne, f32x4.div(kTwo, f32x4.add(expClamped4(f32x4.add(a, a)), kOne)));
  const m = f32x4.lt(a, kSmall); // NaN: false → viaExp, which is NaN
  const t = v128.bitselect(series, viaExp, m);
  return v128.or(t, v128.andnot(v, kAbs)); // the sign of v
}

/** Lanes 0..m−1 (1..3) from the floats at p, the rest 0. */
// @ts-ignore: decorator
@inline function loadPartial(p: usize, m: i32): v128 {
  let v = f32x4.splat(0);
  v = f32x4.replace_lane(v, 0, load<f32>(p));
  if (m > 1) v = f32x4.replace_lane(v, 1, load<f32>(p, 4));
  if (m > 2) v = f32x4.replace_lane(v, 2, load<f32>(p, 8));
  return v;
}

/** Stores lanes 0..m−1 (1..3) of v at p. */
// @ts-ignore: decorator
@inline function storePartial(p: usize, v: v128, m: i32): void {
  store<f32>(p, f32x4.extract_lane(v, 0));
  if (m > 1) store<f32>(p, f32x4.extract_lane(v, 1), 4);
  if (m > 2) store<f32>(p, f32x4.extract_lane(v, 2), 8);
}

/** σ(gf)·c + σ(gi)·tanh(gg): four units' new cell state. */
// @ts-ignore: decorator
@inline function newCell(gi: v128, gf: v128, gg: v128, c: v128): v128 {
  return f32x4.add(f32x4.mul(sigmoid4(gf), c), f32x4.mul(sigmoid4(gi), tanh4(gg)));
}

export function lstm_cell(gates: usize, c: usize, h: usize, hidden: i32): void {
  const block = <usize>hidden << 2;
  // Whole vectors in one loop (no per-load test for the last units), then the last hidden % 4 units.
  let j = 0;
  for (; j + 4 <= hidden; j += 4) {
    const p = gates + (<usize>j << 2);
    const pc = c + (<usize>j << 2);
    const cNew = newCell(v128.load(p), v128.load(p + block), v128.load(p + 2 * block), v128.load(pc));
    v128.store(pc, cNew);
    v128.store(h + (<usize>j << 2), f32x4.mul(sigmoid4(v128.load(p + 3 * block)), tanh4(cNew)));
  }
  const m = hidden - j; // 1..3 units left, or none
  if (m > 0) {
    const p = gates + (<usize>j << 2);
    const pc = c + (<usize>j << 2);
    const cNew = newCell(loadPartial(p, m), loadPartial(p + block, m), loadPartial(p + 2 * block, m), loadPartial(pc, m));
    storePartial(pc, cNew, m);
    storePartial(h + (<usize>j << 2), f32x4.mul(sigmoid4(loadPartial(p + 3 * block, m)), tanh4(cNew)), m);
  }
}
