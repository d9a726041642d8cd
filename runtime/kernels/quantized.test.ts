import assert from "node:assert/strict";
import { preparedTableBytes, q8InterleavedBytes, type QuantBits, quantizedScratchBytes } from "./scratch.ts";
import { instantiateKernels } from "./kernels.ts";
import { gatherQuantized, matmatQuantized, matvecQuantized, quantizeActivations } from "./quantized.ref.ts";
import { Arena, assertAllClose, randomF32, rng, SIZES } from "./testing.ts";

const k = await instantiateKernels();

/** A random quantized matrix: random codes (any byte, odd-column padding nibbles random too), scales. */
function randomQuantized(
  bits: QuantBits,
  rows: number,
  cols: number,
  group: number,
  rand: ReturnType<typeof rng>,
) {
  const stride = bits === 8 ? cols : Math.ceil(cols / 2);
  const data = new Uint8Array(rows * stride).map(() => Math.floor(rand(0, 256)));
  const gpr = Math.ceil(cols / Math.min(group, Math.max(cols, 1)));
  const scales = randomF32(rows * gpr, rand, 0.001, 0.1);
  if (scales.length > 2) scales[1] = 0; // a group that quantized to all zeros
  return { data, scales };
}

function putBytes(arena: Arena, a: Uint8Array | Float32Array, name: string): number {
  const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const p = arena.alloc(bytes.length, name);
  arena.bytes(p, bytes.length).set(bytes);
  return p;
}

function groupsFor(bits: QuantBits, cols: number): number[] {
  // per-row (group ≥ cols, as the file may say), the default, and sizes that are not multiples of 32
  // (int4: each combination of the 32-, 16- and 8-column steps and the scalar tail)
  const list = bits === 8
    ? [Math.max(cols, 1), 16, 48, 5]
    : [32, 64, 128, 7, 6, 24, 48, 56, 2, 50, Math.max(cols, 1) + 3];
  return [...new Set(list)];
}

function runMatvec(
  bits: QuantBits,
  q: { data: Uint8Array; scales: Float32Array },
  rows: number,
  cols: number,
  group: number,
  x: Float32Array,
  y0: Float32Array,
  misalign = 0,
  prepared = false,
): Float32Array {
  const arena = new Arena(k, misalign);
  const pw = putBytes(arena, q.data, "W");
  const ps = putBytes(arena, q.scales, "scales");
  const px = putBytes(arena, x, "x");
  const py = putBytes(arena, y0, "y");
  const scratch = arena.alloc(quantizedScratchBytes(cols), "scratch");
  const g = Math.min(group, cols);
  // `prepared`: int8 from q8_interleave's copy (where the shape has one), int4 from q4_prepare's table.
  const copyBytes = !prepared
    ? 0
    : bits === 8
    ? q8InterleavedBytes(rows, cols, g)
    : preparedTableBytes(4, rows, cols, g);
  const copy = copyBytes ? arena.alloc(copyBytes, "copy") : 0;
  if (copy && bits === 8) k.exports.q8_interleave(pw, rows, cols, g, copy);
  if (copy && bits === 4) k.exports.q4_prepare(pw, ps, rows, cols, g, copy);
  if (bits === 8) k.exports.matvec_q8(pw, ps, rows, cols, g, px, py, scratch, copy);
  else k.exports.matvec_q4(pw, ps, rows, cols, g, px, py, scratch, copy);
  arena.checkGuards();
  assert.deepEqual(arena.f32(px, cols), x, "x must not change");
  return arena.f32(py, rows);
}

function runMatmat(
  bits: QuantBits,
  q: { data: Uint8Array; scales: Float32Array },
  rows: number,
  cols: number,
  group: number,
  x: Float32Array,
  n: number,
  y0: Float32Array,
  prepared = false,
): Float32Array {
  const arena = new Arena(k);
  const pw = putBytes(arena, q.data, "W");
  const ps = putBytes(arena, q.scales, "scales");
  const px = putBytes(arena, x, "X");
  const py = putBytes(arena, y0, "Y");
  const scratch = arena.alloc(quantizedScratchBytes(cols), "scratch");
  const g = Math.min(group, cols);
  // `prepared` (int4): from q4_prepare's table.
  const tableBytes = prepared && bits === 4 ? preparedTableBytes(4, rows, cols, g) : 0;
  const prep = tableBytes ? arena.alloc(tableBytes, "prep") : 0;
  if (prep) k.exports.q4_prepare(pw, ps, rows, cols, g, prep);
  if (bits === 8) k.exports.matmat_q8(pw, ps, rows, cols, g, px, n, py, scratch);
  else k.exports.matmat_q4(pw, ps, rows, cols, g, px, n, py, scratch, prep);
  arena.checkGuards();
  return arena.f32(py, n * rows);
}

Deno.test("quantizeActivations() maps max|x| to ±32767 and rounds halves to even", () => {
  const { xq, sx } = quantizeActivations(new Float32Array([0.5, -1, 0]));
  assert.deepEqual([...xq], [16384, -32767, 0]); // 0.5 · 32767 = 16383.5 → 16384 (even)
  assert.equal(sx, Math.fround(1 / 32767));
  assert.equal(quantizeActivations(new Float32Array(3)).sx, 0);
  assert.ok(Number.isNaN(quantizeActivations(new Float32Array([1, Infinity])).sx));
});

Deno.test("matvecQuantized (reference) is within int16 activation error of the dequantized product", () => {
  // W = [[2, -1, 127], [-7, 0, 3]] int8, scales [0.5], [0.25]; x = [1, 0.3, -0.2]
  const w = new Uint8Array([2, 255, 127, 249, 0, 3]);
  const scales = new Float32Array([0.5, 0.25]);
  const x = new Float32Array([1, 0.3, -0.2]);
  const y = new Float32Array([10, 20]);
  matvecQuantized(8, w, scales, 2, 3, 3, x, y);
  const exact = [10 + 0.5 * (2 - 0.3 - 127 * 0.2), 20 + 0.25 * (-7 - 0.6)];
  assertAllClose(y, exact, "y", 1e-3, 0);
});

Deno.test("q8_interleave writes whole blocks of eight rows, 16 codes per slot, where groups are whole chunks", () => {
  const shapes = [[8, 200, 200], [17, 200, 64], [9, 48, 16], [16, 40, 24], [7, 32, 32], [12, 37, 37]];
  for (const [rows, cols, group] of shapes) {
    const q = randomQuantized(8, rows, cols, group, rng(rows + cols + group));
    const arena = new Arena(k, 1);
    const pw = putBytes(arena, q.data, "W");
    const bytes = q8InterleavedBytes(rows, cols, group);
    const room = Math.max(bytes, 16);
    const out = arena.alloc(room, "copy");
    arena.bytes(out, room).fill(0xa5);
    k.exports.q8_interleave(pw, rows, cols, group, out);
    arena.checkGuards();
    const what = `${rows}×${cols}, group ${group}`;
    // A copy where cols is a multiple of 8 and groups are whole 16-column chunks (or one per row).
    const interleaved = cols % 8 === 0 && (group >= cols || group % 16 === 0);
    const chunks = Math.ceil(cols / 16);
    assert.equal(bytes, interleaved ? Math.floor(rows / 8) * chunks * 128 : 0, `${what}: size`);
    if (bytes === 0) {
      assert.deepEqual([...arena.bytes(out, 16)], new Array(16).fill(0xa5), `${what}: nothing written`);
      continue;
    }
    const expected = new Uint8Array(bytes);
    for (let r = 0; r < rows - rows % 8; r++) {
      for (let c = 0; c < cols; c++) {
        expected[(Math.floor(r / 8) * chunks + Math.floor(c / 16)) * 128 + 16 * (r % 8) + c % 16] =
          q.data[r * cols + c];
      }
    }
    assert.deepEqual(arena.bytes(out, bytes), expected, what);
  }
});

for (const bits of [8, 4] as const) {
  Deno.test(`matvec_q${bits} equals the reference for rows, cols in {${SIZES}} and several group sizes`, () => {
    for (const rows of SIZES) {
      for (const cols of SIZES) {
        for (const group of groupsFor(bits, cols)) {
          const rand = rng(rows * 1000 + cols + group * 7 + bits);
          const q = randomQuantized(bits, rows, cols, group, rand);
          const x = randomF32(cols, rand);
          const y0 = randomF32(rows, rand);
          const expected = y0.slice();
          matvecQuantized(bits, q.data, q.scales, rows, cols, group, x, expected);
          const y = runMatvec(bits, q, rows, cols, group, x, y0);
          assertAllClose(y, expected, `y (${rows}×${cols}, group ${group})`);
          const yc = runMatvec(bits, q, rows, cols, group, x, y0, 5, true);
          if (bits === 8) {
            // From q8_interleave's copy: the same codes summed in the same order, the same floats to the bit.
            assert.deepEqual(yc, y, `y from the copy (${rows}×${cols}, group ${group})`);
          } else {
            // From q4_prepare's table (groups of whole 8-column chunks; the others read W as stored): the
            // same integer group sums, added up in f32 in another order.
            assertAllClose(yc, expected, `y from the table (${rows}×${cols}, group ${group})`);
          }
        }
      }
    }
  });

  Deno.test(`matmat_q${bits} equals the reference for n in {${SIZES}} at several shapes`, () => {
    for (const [rows, cols] of [[1, 1], [3, 5], [5, 37], [37, 64], [4, 203], [203, 200]]) {
      for (const group of groupsFor(bits, cols)) {
        const rand = rng(rows * 1000 + cols + group * 7 + bits + 3);
        const q = randomQuantized(bits, rows, cols, group, rand);
        for (const n of SIZES) {
          const x = randomF32(n * cols, rand);
          if (n > 2) x.fill(0, cols, 2 * cols); // an all-zero timestep
          const y0 = randomF32(n * rows, rand);
          const expected = y0.slice();
          matmatQuantized(bits, q.data, q.scales, rows, cols, group, x, n, expected);
          assertAllClose(
            runMatmat(bits, q, rows, cols, group, x, n, y0),
            expected,
            `Y (${rows}×${cols}, group ${group}, n ${n})`,
          );
          if (bits === 4) {
            assertAllClose(
              runMatmat(bits, q, rows, cols, group, x, n, y0, true),
              expected,
              `Y from the table (${rows}×${cols}, group ${group}, n ${n})`,
            );
          }
        }
      }
    }
  });

  Deno.test(`gather_q${bits} equals the reference for every row, cols in {${SIZES}}`, () => {
    const rows = 3;
    for (const cols of SIZES) {
      for (const group of groupsFor(bits, cols)) {
        const rand = rng(cols * 13 + group + bits);
        const q = randomQuantized(bits, rows, cols, group, rand);
        for (let row = 0; row < rows; row++) {
          const arena = new Arena(k, 1);
          const pw = putBytes(arena, q.data, "W");
          const ps = putBytes(arena, q.scales, "scales");
          const pout = arena.alloc(cols * 4, "out");
          const g = Math.min(group, Math.max(cols, 1));
          if (bits === 8) k.exports.gather_q8(pw, ps, cols, g, row, pout);
          else k.exports.gather_q4(pw, ps, cols, g, row, pout);
          arena.checkGuards();
          const expected = new Float32Array(cols);
          gatherQuantized(bits, q.data, q.scales, cols, g, row, expected);
          assert.deepEqual(arena.f32(pout, cols), expected, `${cols} cols, group ${group}, row ${row}`);
        }
      }
    }
  });

  Deno.test(`matvec_q${bits} works on unaligned pointers, with all-zero x, and with Inf/NaN in x`, () => {
    const [rows, cols, group] = [7, 203, bits === 8 ? 203 : 32];
    const rand = rng(99 + bits);
    const q = randomQuantized(bits, rows, cols, group, rand);
    const y0 = randomF32(rows, rand);
    const x = randomF32(cols, rand);
    for (const prepared of [false, true]) {
      const how = prepared ? " (prepared)" : "";
      for (const misalign of [1, 2, 3, 4, 8]) {
        const expected = y0.slice();
        matvecQuantized(bits, q.data, q.scales, rows, cols, group, x, expected);
        assertAllClose(
          runMatvec(bits, q, rows, cols, group, x, y0, misalign, prepared),
          expected,
          `misaligned ${misalign}${how}`,
        );
      }
      const zero = new Float32Array(cols);
      assert.deepEqual(runMatvec(bits, q, rows, cols, group, zero, y0, 0, prepared), y0, `zero x${how}`);
      const bad = x.slice();
      bad[5] = Infinity;
      bad[100] = NaN;
      const expected = y0.slice();
      matvecQuantized(bits, q.data, q.scales, rows, cols, group, bad, expected);
      assertAllClose(
        runMatvec(bits, q, rows, cols, group, bad, y0, 0, prepared),
        expected,
        `Inf/NaN x${how}`,
      );
    }
  });

  Deno.test(`matmat_q${bits} takes the exact path only for the timesteps with Inf/NaN, like matvec`, () => {
    const [rows, cols, group, n] = [6, 37, bits === 8 ? 37 : 32, 6];
    const rand = rng(77 + bits);
    const q = randomQuantized(bits, rows, cols, group, rand);
    const x = randomF32(n * cols, rand);
    x[cols + 4] = NaN; // timestep 1 of the first pass of four
    x[5 * cols] = Infinity; // timestep 5 of the second
    x.fill(0, 2 * cols, 3 * cols); // and an all-zero one
    const y0 = randomF32(n * rows, rand);
    const expected = y0.slice();
    matmatQuantized(bits, q.data, q.scales, rows, cols, group, x, n, expected);
    assertAllClose(runMatmat(bits, q, rows, cols, group, x, n, y0), expected, "Y");
    assertAllClose(runMatmat(bits, q, rows, cols, group, x, n, y0, true), expected, "Y, prepared");
  });
}

for (const bits of [8, 4] as const) {
  Deno.test(`matvec_q${bits} keeps exact integer sums on rows longer than its 512-column flush`, () => {
    const [rows, cols] = [5, 9001];
    const rand = rng(5);
    // The largest codes everywhere: the worst case for the i32 partial sums.
    const data = new Uint8Array(rows * (bits === 8 ? cols : Math.ceil(cols / 2))).fill(
      bits === 8 ? 0x80 : 0x88,
    );
    const scales = randomF32(rows, rand, 0.5, 1);
    const x = new Float32Array(cols).fill(-1);
    const y0 = new Float32Array(rows);
    const expected = y0.slice();
    matvecQuantized(bits, data, scales, rows, cols, cols, x, expected);
    assertAllClose(runMatvec(bits, { data, scales }, rows, cols, cols, x, y0), expected, "y");
    const yp = runMatvec(bits, { data, scales }, rows, cols, cols, x, y0, 0, true);
    assertAllClose(yp, expected, "y, prepared");
  });
}

Deno.test("matvec_q4 over q4_prepare's table keeps exact i32 sums up to its longest group (8184 columns)", () => {
  // Codes −8 (v = 0) and x = −1: each row's sum starts at the bias −8 · Σ xq = 8 · 32767 · 8184, just under
  // 2^31; a longer group (9001 above) must take the row-major path.
  const rows = 5;
  for (const [cols, code] of [[8184, 0x88], [8184, 0x77], [8183, 0x88]]) {
    const data = new Uint8Array(rows * Math.ceil(cols / 2)).fill(code);
    const scales = randomF32(rows, rng(cols), 0.5, 1);
    const x = new Float32Array(cols).fill(-1);
    const y0 = new Float32Array(rows);
    const expected = y0.slice();
    matvecQuantized(4, data, scales, rows, cols, cols, x, expected);
    assertAllClose(
      runMatvec(4, { data, scales }, rows, cols, cols, x, y0, 0, true),
      expected,
      `${cols}, ${code}`,
    );
  }
});
