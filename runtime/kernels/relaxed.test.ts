import assert from "node:assert/strict";
import {
  f16InterleavedBytes,
  f16ScratchBytes,
  preparedTableBytes,
  q4PrepCodesOffset,
  q8InterleavedBytes,
  type QuantBits,
  quantizedScratchBytes,
} from "./scratch.ts";
import { matvecF16 } from "./matvec.ref.ts";
import { instantiateKernels } from "./kernels.ts";
import {
  matmatQuantized,
  matvecQuantized,
  quantCode,
  quantizeActivations,
  RELAXED_Q4_LEVELS,
  RELAXED_Q8_LEVELS,
} from "./quantized.ref.ts";
import { Arena, assertAllClose, ATOL, randomF16, randomF32, rng, RTOL, SIZES } from "./testing.ts";

// The relaxed-SIMD products (as/relaxed.ts) against the reference with their activation levels.
const k = await instantiateKernels(undefined, true);
const rx = k.relaxed;
const skip = rx === undefined;
if (skip) console.log("relaxed.test.ts: this engine does not validate relaxed SIMD; skipped");

function randomQuantized(bits: QuantBits, rows: number, cols: number, group: number, seed: number) {
  const rand = rng(seed);
  const stride = bits === 8 ? cols : Math.ceil(cols / 2);
  const data = new Uint8Array(rows * stride).map(() => Math.floor(rand(0, 256)));
  const gpr = Math.ceil(cols / Math.min(group, Math.max(cols, 1)));
  const scales = randomF32(rows * gpr, rand, 0.001, 0.1);
  if (scales.length > 2) scales[1] = 0;
  return { data, scales, rand };
}

function put(arena: Arena, a: Uint8Array | Float32Array, name: string): number {
  const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const p = arena.alloc(bytes.length, name);
  arena.bytes(p, bytes.length).set(bytes);
  return p;
}

function groupsFor(bits: QuantBits, cols: number): number[] {
  // int4 takes any group size but 1 (tested below: it returns 0 and kernels.wasm's matvec_q4 runs).
  const list = bits === 8
    ? [Math.max(cols, 1), 16, 48, 24, 5]
    : [32, 64, 96, 128, 2, 3, 6, 8, 24, 48, 50, 56, 104, Math.max(cols, 1)];
  return [...new Set(list.map((g) => Math.min(g, Math.max(cols, 1))))];
}

const levels = (bits: QuantBits) => bits === 8 ? RELAXED_Q8_LEVELS : RELAXED_Q4_LEVELS;

/**
 * Y against the reference within ATOL + RTOL · (|Y| + Σ_g |term_g|), term_g = sx · scale_g · Σ_{c ∈ g} q·xq:
 * the kernels add the per-group terms in f32 (the reference in f64), so with many small groups that
 * cancel the rounding scales with the terms, not with their sum.
 */
function assertCloseToTerms(
  bits: QuantBits,
  q: { data: Uint8Array; scales: Float32Array },
  rows: number,
  cols: number,
  group: number,
  x: Float32Array,
  n: number,
  actual: Float32Array,
  expected: Float32Array,
  what: string,
): void {
  const gpr = Math.ceil(cols / group);
  for (let t = 0; t < n; t++) {
    const { xq, sx } = quantizeActivations(x.subarray(t * cols, (t + 1) * cols), levels(bits));
    for (let r = 0; r < rows; r++) {
      let terms = 0;
      for (let g = 0; g < gpr; g++) {
        let isum = 0;
        for (let c = g * group; c < Math.min(cols, (g + 1) * group); c++) {
          isum += quantCode(bits, q.data, cols, r, c) * xq[c];
        }
        terms += Math.abs(sx * q.scales[r * gpr + g] * isum);
      }
      const i = t * rows + r;
      const bound = ATOL + RTOL * (Math.abs(expected[i]) + terms);
      if (!(Math.abs(actual[i] - expected[i]) <= bound)) {
        assert.fail(`${what}[${i}]: expected ${expected[i]}, found ${actual[i]} (bound ${bound})`);
      }
    }
  }
}

/** Runs matvec (n undefined) or matmat through the relaxed module; returns Y and the kernel's result. */
function run(
  bits: QuantBits,
  q: { data: Uint8Array; scales: Float32Array },
  rows: number,
  cols: number,
  group: number,
  x: Float32Array,
  y0: Float32Array,
  n?: number,
  misalign = 0,
): { y: Float32Array; ok: number } {
  const arena = new Arena(k, misalign);
  const pw = put(arena, q.data, "W");
  const ps = put(arena, q.scales, "scales");
  const px = put(arena, x, "x");
  const py = put(arena, y0, "y");
  const scratch = arena.alloc(quantizedScratchBytes(cols), "scratch");
  const prep = arena.alloc(preparedTableBytes(bits, rows, cols, group), "prep");
  let ok;
  if (bits === 8) {
    rx!.q8_prepare(pw, ps, rows, cols, group, prep);
    // The 8-row pass reads kernels.wasm's interleaved copy, where the shape has one.
    const copyBytes = q8InterleavedBytes(rows, cols, group);
    const copy = copyBytes ? arena.alloc(copyBytes, "copy") : 0;
    if (copy) k.exports.q8_interleave(pw, rows, cols, group, copy);
    ok = n === undefined
      ? rx!.matvec_q8r(pw, prep, rows, cols, group, px, py, scratch, copy)
      : rx!.matmat_q8r(pw, prep, rows, cols, group, px, n, py, scratch);
  } else {
    k.exports.q4_prepare(pw, ps, rows, cols, group, prep);
    const codes = prep + q4PrepCodesOffset(rows, cols, group);
    ok = n === undefined
      ? rx!.matvec_q4r(codes, prep, rows, cols, group, px, py, scratch)
      : rx!.matmat_q4r(codes, prep, rows, cols, group, px, n, py, scratch);
  }
  arena.checkGuards();
  assert.deepEqual(arena.f32(px, x.length), x, "x must not change");
  return { y: arena.f32(py, y0.length), ok };
}

Deno.test({
  name:
    "q8_prepare() and q4_prepare() write the offset sums and scales in four-row quads, int4's biased codes",
  ignore: skip,
  fn() {
    for (
      const [rows, cols, group] of [
        [3, 37, 37],
        [5, 203, 16],
        [2, 5, 2],
        [8, 200, 64],
        [6, 200, 50],
        [
          5,
          37,
          7,
        ],
        [17, 200, 200],
        [9, 48, 16],
        [16, 40, 24],
      ]
    ) {
      for (const bits of [8, 4] as const) {
        const q = randomQuantized(bits, rows, cols, group, rows + cols + group);
        const arena = new Arena(k, 1);
        const pw = put(arena, q.data, "W");
        const ps = put(arena, q.scales, "scales");
        const bytes = preparedTableBytes(bits, rows, cols, group);
        const prep = arena.alloc(bytes, "prep");
        if (bits === 8) rx!.q8_prepare(pw, ps, rows, cols, group, prep);
        else k.exports.q4_prepare(pw, ps, rows, cols, group, prep);
        arena.checkGuards();
        const gpr = Math.ceil(cols / group);
        const table = (r: number, g: number) => (Math.floor(r / 4) * gpr + g) * 4 + (r % 4);
        const sums = new Int32Array(4 * Math.ceil(rows / 4) * gpr);
        const scales = new Float32Array(sums.length);
        for (let r = 0; r < rows; r++) {
          for (let g = 0; g < gpr; g++) scales[table(r, g)] = q.scales[r * gpr + g];
          for (let c = 0; c < cols; c++) {
            sums[table(r, Math.floor(c / group))] += 64 * quantCode(bits, q.data, cols, r, c);
          }
        }
        const what = `int${bits} ${rows}×${cols}, group ${group}`;
        if (bits === 8) {
          assert.deepEqual(arena.i32(prep, sums.length), sums, `${what}: sums`);
          assert.deepEqual(arena.f32(prep + 4 * sums.length, sums.length), scales, `${what}: scales`);
          assert.equal(bytes, 8 * sums.length, `${what}: table size`);
        } else {
          // int4's scales in blocks of four quads: [block][group][quad of the block][r % 4], 64 bytes per
          // block and group (the last block padded with zeros).
          const blocked = new Float32Array(16 * Math.ceil(rows / 16) * gpr);
          for (let r = 0; r < rows; r++) {
            for (let g = 0; g < gpr; g++) {
              blocked[(Math.floor(r / 16) * gpr + g) * 16 + 4 * (Math.floor(r / 4) % 4) + r % 4] =
                q.scales[r * gpr + g];
            }
          }
          assert.deepEqual(arena.f32(prep, blocked.length), blocked, `${what}: scales`);
          const offset = q4PrepCodesOffset(rows, cols, group);
          assert.equal(offset, 4 * blocked.length, `${what}: codes follow the scales`);
          // Quads of rows in blocks of four, each group in chunks of 8 columns (16 bytes: each row's 4
          // bytes, codes + 8; a block's four quads side by side per chunk), padding zero.
          const g = Math.min(group, cols);
          const perGroup = Math.ceil(g / 8);
          const chunks = (gpr - 1) * perGroup + Math.ceil((cols - (gpr - 1) * g) / 8);
          const copy = new Uint8Array(Math.ceil(rows / 16) * 4 * chunks * 16); // blocks of four quads
          for (let r = 0; r < rows; r++) {
            for (let c = 0; c < cols; c++) {
              const p = c % g;
              const chunk = Math.floor(c / g) * perGroup + Math.floor(p / 8);
              const quad = Math.floor(r / 4);
              const at = ((Math.floor(quad / 4) * chunks + chunk) * 4 + quad % 4) * 16 + 4 * (r % 4) +
                ((p % 8) >> 1);
              copy[at] |= ((quantCode(4, q.data, cols, r, c) + 8) & 15) << (4 * (p % 2));
            }
          }
          assert.equal(preparedTableBytes(4, rows, cols, group), offset + copy.length, `${what}: table size`);
          assert.deepEqual(arena.bytes(prep + offset, copy.length), copy, `${what}: the codes' copy`);
        }
      }
    }
  },
});

// Each test runs with the sums of i32 dot products and of i16 ones (dot_sums; by default the engine's dot
// product decides, see as/relaxed.ts): int4's groups and int8's whole chunks sum either way.
for (const [bits, sums] of [[8, 0], [8, 1], [4, 0], [4, 1]] as const) {
  const mode = `, ${sums ? "i16" : "i32"} sums`;
  /** Runs body with the sums set to this case's mode, then restores the default. */
  const withSums = (body: () => void) => () => {
    rx?.dot_sums(sums);
    try {
      body();
    } finally {
      rx?.dot_sums(-1);
    }
  };
  Deno.test({
    name: `matvec_q${bits}r equals the reference with ${
      levels(bits)
    }-level x for rows, cols in {${SIZES}}${mode}`,
    ignore: skip,
    fn: withSums(() => {
      for (const rows of SIZES) {
        for (const cols of SIZES) {
          for (const group of groupsFor(bits, cols)) {
            const q = randomQuantized(bits, rows, cols, group, rows * 1000 + cols + group * 7 + bits);
            const x = randomF32(cols, q.rand);
            const y0 = randomF32(rows, q.rand);
            const expected = y0.slice();
            matvecQuantized(bits, q.data, q.scales, rows, cols, group, x, expected, levels(bits));
            const { y, ok } = run(bits, q, rows, cols, group, x, y0);
            assert.equal(ok, 1);
            assertCloseToTerms(
              bits,
              q,
              rows,
              cols,
              group,
              x,
              1,
              y,
              expected,
              `y (${rows}×${cols}, g ${group})`,
            );
          }
        }
      }
    }),
  });

  Deno.test({
    name: `matmat_q${bits}r equals the reference for n in {${SIZES}} at several shapes${mode}`,
    ignore: skip,
    fn: withSums(() => {
      for (const [rows, cols] of [[1, 1], [3, 5], [5, 37], [37, 64], [4, 203], [203, 200]]) {
        for (const group of groupsFor(bits, cols)) {
          const q = randomQuantized(bits, rows, cols, group, rows * 1000 + cols + group * 7 + bits + 3);
          for (const n of SIZES) {
            const x = randomF32(n * cols, q.rand);
            if (n > 2) x.fill(0, cols, 2 * cols); // an all-zero timestep
            const y0 = randomF32(n * rows, q.rand);
            const expected = y0.slice();
            matmatQuantized(bits, q.data, q.scales, rows, cols, group, x, n, expected, levels(bits));
            const { y, ok } = run(bits, q, rows, cols, group, x, y0, n);
            assert.equal(ok, 1);
            const what = `Y (${rows}×${cols}, group ${group}, n ${n})`;
            assertCloseToTerms(bits, q, rows, cols, group, x, n, y, expected, what);
          }
        }
      }
    }),
  });

  Deno.test({
    name:
      `matvec_q${bits}r works on unaligned pointers and with all-zero x; refuses Inf/NaN x untouched${mode}`,
    ignore: skip,
    fn: withSums(() => {
      // 205 columns: max|x| reads 25 × 8, then 4, then 1 (every part of its loop is checked below).
      const [rows, cols, group] = [7, 205, bits === 8 ? 205 : 32];
      const q = randomQuantized(bits, rows, cols, group, 99 + bits);
      const y0 = randomF32(rows, q.rand);
      const x = randomF32(cols, q.rand);
      for (const misalign of [1, 2, 3, 4, 8]) {
        const expected = y0.slice();
        matvecQuantized(bits, q.data, q.scales, rows, cols, group, x, expected, levels(bits));
        assertAllClose(
          run(bits, q, rows, cols, group, x, y0, undefined, misalign).y,
          expected,
          `+${misalign}`,
        );
      }
      assert.deepEqual(run(bits, q, rows, cols, group, new Float32Array(cols), y0).y, y0, "zero x");
      for (const bad of [Infinity, -Infinity, NaN]) {
        for (const at of [0, 100, 202, 204]) {
          const xb = x.slice();
          xb[at] = bad;
          assert.deepEqual(
            run(bits, q, rows, cols, group, xb, y0),
            { y: y0, ok: 0 },
            `x with ${bad} at ${at}`,
          );
        }
        const xs = new Float32Array(3 * cols).fill(0.5);
        xs[2 * cols + 7] = bad; // only the last timestep
        const ys = new Float32Array(3 * rows);
        assert.deepEqual(run(bits, q, rows, cols, group, xs, ys, 3), { y: ys, ok: 0 }, `X with ${bad}`);
      }
    }),
  });

  Deno.test({
    name:
      `matvec_q${bits}r and matmat_q${bits}r keep exact integer sums at the extreme codes on long rows${mode}`,
    ignore: skip,
    fn: withSums(() => {
      const [rows, cols] = [9, 9001]; // 9 rows: one 8-row pass (int4's whole groups) and one more
      const rand = rng(5);
      // int8: −128 against +1 and −1; int4: +7 (offset code 15, the largest i32 lane sums) and −8; cols odd,
      // so int4's pad nibble (7 or 8 here) must add nothing.
      for (const fill of bits === 8 ? [0x80, 0x7f] : [0x77, 0x88]) {
        for (const xv of [1, -1]) {
          for (const group of [cols, 3000, 120, 128]) {
            const data = new Uint8Array(rows * (bits === 8 ? cols : Math.ceil(cols / 2))).fill(fill);
            const scales = randomF32(rows * Math.ceil(cols / group), rand, 0.5, 1);
            const x = new Float32Array(cols).fill(xv);
            const expected = new Float32Array(rows);
            matvecQuantized(bits, data, scales, rows, cols, group, x, expected, levels(bits));
            const what = `codes 0x${fill.toString(16)}, x ${xv}, group ${group}`;
            const { y } = run(bits, { data, scales }, rows, cols, group, x, new Float32Array(rows));
            assertAllClose(y, expected, what);
            const x2 = new Float32Array(2 * cols).fill(xv);
            const y2 = run(bits, { data, scales }, rows, cols, group, x2, new Float32Array(2 * rows), 2).y;
            assertAllClose(y2, [...expected, ...expected], `${what}, matmat`);
          }
        }
      }
    }),
  });
}

Deno.test({
  name:
    "relaxed_dot_flavor is one of the three known dot products, and dot_sums(-1) picks i16 sums only for pmaddubsw's",
  ignore: skip,
  fn() {
    const flavor = rx!.relaxed_dot_flavor();
    assert.ok([65534, 129540, -508].includes(flavor), `flavor ${flavor}`);
    assert.equal(rx!.dot_sums(-1), flavor === 65534 ? 1 : 0, "the default int4 sums");
  },
});

Deno.test({
  name: "matvec_q4r and matmat_q4r refuse groups of one column, writing nothing",
  ignore: skip,
  fn() {
    const [rows, cols, group] = [6, 37, 1];
    const q = randomQuantized(4, rows, cols, group, group);
    const x = randomF32(2 * cols, q.rand);
    const y0 = randomF32(2 * rows, q.rand);
    assert.deepEqual(run(4, q, rows, cols, group, x.subarray(0, cols), y0.subarray(0, rows)), {
      y: y0.subarray(0, rows),
      ok: 0,
    }, "matvec");
    assert.deepEqual(run(4, q, rows, cols, group, x, y0, 2), { y: y0, ok: 0 }, "matmat");
  },
});

Deno.test({
  name:
    "matvec_f16r (fused multiply-adds) equals the f16 reference at odd sizes; refuses x it cannot prepare",
  ignore: skip,
  fn: () => {
    for (const rows of SIZES) {
      for (const cols of SIZES) {
        const rand = rng(rows * 1000 + cols + 11);
        const w = randomF16(rows * cols, rand);
        const x = randomF32(cols, rand);
        const y0 = randomF32(rows, rand);
        for (const misalign of [0, 6]) {
          const arena = new Arena(k, misalign);
          const pw = arena.put(w, "W");
          const px = arena.put(x, "x");
          const py = arena.put(y0, "y");
          const scratch = arena.alloc(f16ScratchBytes(cols), "scratch");
          assert.equal(rx!.matvec_f16r(pw, rows, cols, px, py, scratch), 1);
          const expected = y0.slice();
          matvecF16(w, rows, cols, x, expected);
          const y = arena.f32(py, rows);
          assertAllClose(y, expected, `y (${rows}×${cols}, misaligned ${misalign})`);
          // From f16_interleave's copy: the same halves in the same order, the same floats to the bit.
          const copy = arena.alloc(f16InterleavedBytes(rows, cols), "copy");
          k.exports.f16_interleave(pw, rows, cols, copy);
          const pyc = arena.put(y0, "y (copy)");
          assert.equal(rx!.matvec_f16r(pw, rows, cols, px, pyc, scratch, copy), 1);
          assert.deepEqual(arena.f32(pyc, rows), y, `y from the copy (${rows}×${cols})`);
          arena.checkGuards();
        }
      }
    }
    // |x| ≥ 2^15 inside a block of 8 (the last cols % 8 run exactly from x and may hold anything).
    const arena = new Arena(k);
    const x = randomF32(9, rng(2));
    x[3] = 40000;
    const py = arena.put(new Float32Array([5]), "y");
    const w = arena.put(randomF16(9, rng(1)), "W");
    assert.equal(rx!.matvec_f16r(w, 1, 9, arena.put(x, "x"), py, arena.alloc(f16ScratchBytes(9), "s")), 0);
    assert.deepEqual([...arena.f32(py, 1)], [5], "nothing written");
  },
});
