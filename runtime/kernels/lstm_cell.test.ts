import assert from "node:assert/strict";
import { instantiateKernels } from "./kernels.ts";
import { lstmCell } from "./lstm_cell.ref.ts";
import { Arena, assertAllClose, randomF32, rng, SIZES } from "./testing.ts";

const k = await instantiateKernels();

/** Runs lstm_cell on guarded copies; returns [c, h]. */
function runCell(gates: Float32Array, c0: Float32Array, hidden: number): [Float32Array, Float32Array] {
  const arena = new Arena(k);
  const pg = arena.put(gates, "gates");
  const pc = arena.put(c0, "c");
  const ph = arena.alloc(hidden * 4, "h");
  k.exports.lstm_cell(pg, pc, ph, hidden);
  arena.checkGuards();
  assert.deepEqual(arena.f32(pg, 4 * hidden), gates, "gates must not change");
  return [arena.f32(pc, hidden), arena.f32(ph, hidden)];
}

Deno.test("lstmCell (reference) matches hand-computed values for zero and saturated gates", () => {
  // All gates 0: i = f = o = ½, g = 0 → c = ½·1 = 0.5, h = ½·tanh(0.5).
  // Gate order i, f, g, o: [+100, −100, +100, +100] → i = 1, f ≈ 0, g = 1, o = 1 → c = 1, h = tanh(1).
  // o = σ(−100) ≈ 0 → h ≈ 0 whatever c is.
  const hidden = 2; // unit 0: all gates 0; unit 1: saturated. Blocks i = [0, 100], f = [0, −100], g, o.
  const gates = new Float32Array([0, 100, 0, -100, 0, 100, 0, 100]);
  const c = new Float32Array([1, 5]);
  const h = new Float32Array(hidden);
  lstmCell(gates, c, h, hidden);
  assertAllClose(c, [0.5, 1], "c");
  assertAllClose(h, [0.5 * Math.tanh(0.5), Math.tanh(1)], "h");
  const c2 = new Float32Array([3]);
  lstmCell(new Float32Array([0, 0, 0, -100]), c2, h, 1);
  assertAllClose(c2, [1.5], "c");
  assertAllClose(h.subarray(0, 1), [0], "h");
});

for (const hidden of SIZES) {
  Deno.test(`lstm_cell equals the reference at hidden ${hidden}`, () => {
    const rand = rng(hidden + 200);
    const gates = randomF32(4 * hidden, rand, -8, 8);
    const c0 = randomF32(hidden, rand, -3, 3);
    const [c, h] = runCell(gates, c0, hidden);
    const ec = c0.slice();
    const eh = new Float32Array(hidden);
    lstmCell(gates, ec, eh, hidden);
    assertAllClose(c, ec, "c");
    assertAllClose(h, eh, "h");
  });
}

Deno.test("lstm_cell's σ and tanh are within 2e-7 relative of Math's over ±20 (every 2^-12)", () => {
  // With gates i = +100 (i = 1), f = −100 (f ≈ 4e-44), o = +100 (o = 1) and c₀ = 0:
  // c = g = tanh(v) and h = tanh(tanh(v)); with g = +100 instead, c = i = σ(v).
  const values = Float32Array.from({ length: 40 * 4096 + 1 }, (_, j) => -20 + j / 4096);
  const hidden = values.length;
  const worst = (actual: Float32Array, expected: (v: number) => number) => {
    let max = 0;
    for (let j = 0; j < hidden; j++) {
      const e = Math.fround(expected(values[j]));
      if (e !== 0) max = Math.max(max, Math.abs(actual[j] - e) / Math.abs(e));
    }
    return max;
  };
  const gates = new Float32Array(4 * hidden);
  gates.fill(100, 0, hidden).fill(-100, hidden, 2 * hidden).set(values, 2 * hidden);
  gates.fill(100, 3 * hidden);
  const [tanhC] = runCell(gates, new Float32Array(hidden), hidden);
  const tanhErr = worst(tanhC, Math.tanh);
  assert.ok(tanhErr <= 2e-7, `tanh: max relative error ${tanhErr}`);
  gates.set(values, 0);
  gates.fill(100, 2 * hidden, 3 * hidden);
  const [sigmaC] = runCell(gates, new Float32Array(hidden), hidden);
  const sigmaErr = worst(sigmaC, (v) => 1 / (1 + Math.exp(-v)));
  assert.ok(sigmaErr <= 2e-7, `σ: max relative error ${sigmaErr}`);
});

Deno.test("lstm_cell stays finite and saturates cleanly for preactivations of ±1e4 and ±Infinity", () => {
  const big = [1e4, -1e4, Infinity, -Infinity];
  const hidden = big.length;
  const gates = new Float32Array(4 * hidden);
  for (let b = 0; b < 4; b++) gates.set(big, b * hidden);
  const c0 = new Float32Array([1, 1, 1, 1]);
  const [c, h] = runCell(gates, c0, hidden);
  const ec = c0.slice();
  const eh = new Float32Array(hidden);
  lstmCell(gates, ec, eh, hidden);
  assert.deepEqual(c, ec);
  assert.deepEqual(h, eh);
  // +: i = f = g = o = 1 → c = 1·1 + 1·1 = 2, h = tanh(2); −: i = f = o = 0, g = −1 → c = 0, h = 0.
  assert.deepEqual([...c], [2, 0, 2, 0]);
  assertAllClose(h, [Math.tanh(2), 0, Math.tanh(2), 0], "h");
});

Deno.test("lstm_cell turns a NaN preactivation into NaN for that unit only, in SIMD lanes and the tail", () => {
  const hidden = 7; // units 0..3 take the four-lane path, 4..6 the scalar tail
  for (const unit of [1, 5]) {
    for (const gate of [0, 1, 2, 3]) {
      const gates = new Float32Array(4 * hidden).fill(0.5);
      gates[gate * hidden + unit] = NaN;
      const [c, h] = runCell(gates, new Float32Array(hidden).fill(1), hidden);
      for (let j = 0; j < hidden; j++) {
        assert.equal(Number.isNaN(h[j]), j === unit, `gate ${gate}, unit ${j}: h = ${h[j]}`);
        if (gate !== 3) assert.equal(Number.isNaN(c[j]), j === unit, `gate ${gate}, unit ${j}: c = ${c[j]}`);
      }
    }
  }
});
