import assert from "node:assert/strict";
import { instantiateKernels } from "./kernels.ts";
import { logSoftmax } from "./log_softmax.ref.ts";
import { Arena, assertAllClose, randomF32, rng, SIZES } from "./testing.ts";

const k = await instantiateKernels(undefined, true);

/** kernels.wasm's log_softmax, and the relaxed module's (exp4 with fused multiply-adds) where supported. */
const VARIANTS: [string, (x: number, n: number) => number][] = [
  ["log_softmax", k.exports.log_softmax],
  ...(k.relaxed
    ? [["log_softmax_r", k.relaxed.log_softmax_r] as [string, (x: number, n: number) => number]]
    : []),
];
if (!k.relaxed) {
  console.log("log_softmax.test.ts: this engine does not validate relaxed SIMD; log_softmax_r skipped");
}

Deno.test("logSoftmax (reference) matches hand-computed values for [0, 0] and [1, 2, 3]", () => {
  const a = new Float32Array([0, 0]);
  assert.equal(logSoftmax(a, 2), Math.fround(Math.LN2));
  assertAllClose(a, [-Math.LN2, -Math.LN2], "x");
  const b = new Float32Array([1, 2, 3]);
  const lse = 3 + Math.log(1 + Math.exp(-1) + Math.exp(-2)); // 3.40760596444438
  assertAllClose([logSoftmax(b, 3)], [lse], "lse");
  assertAllClose(b, [1 - lse, 2 - lse, 3 - lse], "x");
});

/** Runs `kernel` on a guarded copy of x; returns [x after, returned lse]. */
function runOn(kernel: (x: number, n: number) => number, x: Float32Array): [Float32Array, number] {
  const arena = new Arena(k);
  const px = arena.put(x, "x");
  const lse = kernel(px, x.length);
  arena.checkGuards();
  return [arena.f32(px, x.length), lse];
}

for (const [name, kernel] of VARIANTS) {
  const run = (x: Float32Array) => runOn(kernel, x);

  for (const n of [...SIZES, 10000]) {
    Deno.test(`${name} equals the reference at n = ${n}`, () => {
      const x = randomF32(n, rng(n + 300), -15, 15);
      const expected = x.slice();
      const expectedLse = logSoftmax(expected, n);
      const [actual, lse] = run(x);
      assertAllClose(actual, expected, "x");
      assertAllClose([lse], [expectedLse], "lse");
    });
  }

  Deno.test(`${name} output exponentiates to a distribution summing to 1 at n = 10000`, () => {
    const [x] = run(randomF32(10000, rng(301), -5, 25));
    const sum = x.reduce((s, v) => s + Math.exp(v), 0);
    assert.ok(Math.abs(sum - 1) <= 1e-5, `Σ exp = ${sum}`);
  });

  Deno.test(`${name}'s exp is within a few ulp: lse of [0, t] is log1p(e^t) within 3e-7 relative`, () => {
    // t in [−16, 0] every 2^-6 (further down the f64 sum 1 + e^t itself blurs e^t; the polynomial only ever
    // sees t − n·ln 2 in [−ln2/2, ln2/2], covered here many times). Five lanes, so that both the four-lane
    // loop and the scalar tail meet t. Further down, and below −87.3 where exp is clamped to ≈ 1.2e-38, lse
    // stays within the f64 sum's rounding, 2^-52.
    let worst = 0;
    for (let t = -100; t <= 0; t += 1 / 64) {
      for (const at of [1, 4]) {
        const x = new Float32Array(5).fill(-Infinity);
        x[0] = 0;
        x[at] = t;
        const [, lse] = run(x);
        const exact = Math.log1p(Math.exp(Math.fround(t)));
        if (t >= -16) worst = Math.max(worst, Math.abs(lse - exact) / exact);
        else {assert.ok(
            Math.abs(lse - exact) <= 2 ** -52 + 3e-7 * exact,
            `t = ${t}: lse ${lse}, exact ${exact}`,
          );}
      }
    }
    assert.ok(worst <= 3e-7, `worst relative error of lse ${worst}`);
  });

  Deno.test(`${name} is stable for logits of ±1e30 (subtracts the max before exp)`, () => {
    const [x, lse] = run(new Float32Array([1e30, 0, -1e30, 1e30]));
    // lse = 1e30 + ln 2, which is 1e30 in f32 and f64 alike: the two maxima come out as log(1) = 0.
    assertAllClose(x, [0, -1e30, -2e30, 0], "x");
    assertAllClose([lse], [1e30], "lse");
  });

  Deno.test(`${name} at n = 0 returns −Infinity and writes nothing`, () => {
    const arena = new Arena(k);
    const px = arena.alloc(0, "x");
    assert.equal(kernel(px, 0), -Infinity);
    arena.checkGuards();
    assert.equal(logSoftmax(new Float32Array(0), 0), -Infinity);
  });

  Deno.test(`${name} turns every output NaN when an input is NaN or all are −Infinity, like the reference`, () => {
    for (const input of [[1, NaN, 2, 3, 4], [-Infinity, -Infinity], [-Infinity, 0, -Infinity]]) {
      const x = new Float32Array(input);
      const expected = x.slice();
      const expectedLse = logSoftmax(expected, x.length);
      const [actual, lse] = run(x);
      assertAllClose(actual, expected, `x for [${input}]`);
      assertAllClose([lse], [expectedLse], `lse for [${input}]`);
    }
  });
}
