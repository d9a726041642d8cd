import assert from "node:assert/strict";
import { irMatrix } from "../ir.ts";
import type { EncodedMatrix } from "../encoded.ts";
import type { StorageSpec } from "./method.ts";
import {
  balancedFactors,
  checkTensorTrainSpec,
  chooseModes,
  fastModes,
  tensorTrainCores,
  tensorTrainMethod,
  tensorTrainToDense,
} from "./tt.ts";
import { decodeStorage } from "./storage.ts";
import { rng } from "../../runtime/kernels/testing.ts";

const f32: StorageSpec = { type: "f32" };

/**
 * The reference: W[r, c] straight from schema/SPEC.md's definition, element by element:
 * W[r, c] = G_0[0, i_0, j_0, :] · G_1[:, i_1, j_1, :] ⋯ G_{d−1}[:, i_{d−1}, j_{d−1}, 0].
 */
export function ttToDense(e: EncodedMatrix): Float64Array {
  assert.ok(e.encoding.kind === "tt");
  const { rowModes, colModes, ranks } = e.encoding;
  const cores = e.encoding.cores.map(decodeStorage);
  const d = rowModes.length;
  const out = new Float64Array(e.rows * e.cols);
  for (let r = 0; r < e.rows; r++) {
    for (let c = 0; c < e.cols; c++) {
      const i: number[] = [];
      const j: number[] = [];
      for (let k = d - 1, x = r, y = c; k >= 0; k--) {
        i[k] = x % rowModes[k];
        x = Math.floor(x / rowModes[k]);
        j[k] = y % colModes[k];
        y = Math.floor(y / colModes[k]);
      }
      let v = [1]; // 1 × R_k row vector
      for (let k = 0; k < d; k++) {
        const next = new Array(ranks[k + 1]).fill(0);
        for (let a = 0; a < ranks[k]; a++) {
          for (let b = 0; b < ranks[k + 1]; b++) {
            const col = (i[k] * colModes[k] + j[k]) * ranks[k + 1] + b;
            next[b] += v[a] * cores[k][a * rowModes[k] * colModes[k] * ranks[k + 1] + col];
          }
        }
        v = next;
      }
      out[r * e.cols + c] = v[0];
    }
  }
  return out;
}

function random(name: string, rows: number, cols: number, seed: number) {
  const rand = rng(seed);
  return irMatrix(name, rows, cols, Float32Array.from({ length: rows * cols }, () => rand()));
}

function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num / den);
}

Deno.test("ttToDense (reference) gives SPEC.md's worked example W[3, 4] = c0[0,6]·c1[0,4] + c0[0,7]·c1[1,4]", () => {
  const c0 = Float32Array.from({ length: 8 }, (_, i) => i + 1);
  const c1 = Float32Array.from({ length: 12 }, (_, i) => 10 * (i + 1));
  const e: EncodedMatrix = {
    name: "w",
    rows: 4,
    cols: 6,
    encoding: {
      kind: "tt",
      rowModes: [2, 2],
      colModes: [2, 3],
      ranks: [1, 2, 1],
      cores: [
        { name: "w.cores.0", rows: 1, cols: 8, encoding: { kind: "dense", type: "f32", data: bytes(c0) } },
        { name: "w.cores.1", rows: 2, cols: 6, encoding: { kind: "dense", type: "f32", data: bytes(c1) } },
      ],
    },
  };
  assert.equal(ttToDense(e)[3 * 6 + 4], c0[6] * c1[4] + c0[7] * c1[6 + 4]);
  assert.deepEqual(Array.from(tensorTrainToDense(e)), Array.from(ttToDense(e), Math.fround));
});

function bytes(a: Float32Array): Uint8Array {
  return new Uint8Array(a.buffer.slice(0));
}

Deno.test("chooseModes() factors balanced, ascending, padding awkward sizes", () => {
  const cases: [number, number[]][] = [
    [10000, [20, 20, 25]],
    [200, [5, 5, 8]],
    [800, [8, 10, 10]],
    [2600, [10, 13, 20]],
    [650, [6, 10, 11]],
    [7, [2, 2, 2]],
    [10007, [17, 19, 31]],
    [2, [1, 2, 2]],
    [1, [1, 1, 1]],
    [40, [2, 4, 5]],
  ];
  for (const [n, modes] of cases) assert.deepEqual(chooseModes(n), modes, `${n}`);
  assert.deepEqual(chooseModes(10000, 4), [10, 10, 10, 10]);
  assert.deepEqual(chooseModes(200, 2), [10, 20]);
  assert.deepEqual(chooseModes(13, 1), [13]);
  assert.deepEqual(balancedFactors(12, 2), [3, 4]);
  for (let n = 1; n < 300; n++) {
    const m = chooseModes(n);
    const p = m.reduce((a, b) => a * b, 1);
    assert.ok(p >= n && p <= Math.ceil(n ** (1 / 3) - 1e-9) ** 3, `${n}: ${m}`);
  }
});

Deno.test("fastModes: [⌈n/4⌉, 2, 2] × [2, 2, ⌈n/4⌉] from 16 on, balanced below and for d ≠ 3", () => {
  assert.deepEqual(fastModes(10000, "rows"), [2500, 2, 2]);
  assert.deepEqual(fastModes(200, "cols"), [2, 2, 50]);
  assert.deepEqual(fastModes(800, "rows"), [200, 2, 2]);
  assert.deepEqual(fastModes(10007, "rows"), [2502, 2, 2]); // padded to 10008
  assert.deepEqual(fastModes(16, "cols"), [2, 2, 4]);
  assert.deepEqual(fastModes(15, "rows"), chooseModes(15));
  assert.deepEqual(fastModes(200, "rows", 4), chooseModes(200, 4));
});

Deno.test("without modes, the split (fast or balanced) whose TT-SVD has the smaller error is kept", () => {
  // A matrix that is exactly a rank-2 TT in one split has error ≈ 0 there: that split must be chosen.
  // (40 × 24: neither split pads, so the cropped reconstruction is still exactly that TT.)
  for (const [rowModes, colModes] of [[[10, 2, 2], [2, 2, 6]], [chooseModes(40), chooseModes(24)]]) {
    const source = tensorTrainMethod.encode(random("w", 40, 24, 7), {
      kind: "tt",
      maxRank: 2,
      rowModes,
      colModes,
      storage: f32,
    }, "decoder").encoded;
    const exact = irMatrix("decoder", 40, 24, tensorTrainToDense(source));
    const { encoded, detail } = tensorTrainMethod.encode(
      exact,
      { kind: "tt", maxRank: 2, storage: f32 },
      "decoder",
    );
    assert.ok(encoded.encoding.kind === "tt");
    assert.deepEqual([encoded.encoding.rowModes, encoded.encoding.colModes], [rowModes, colModes], detail);
    assert.ok(tensorTrainCores(exact, { maxRank: 2 }).relativeError < 1e-6);
  }
  // A random matrix: the kept split's error is the smaller of the two.
  const m = random("w", 64, 32, 9);
  const kept = tensorTrainCores(m, { maxRank: 4 });
  const fast = tensorTrainCores(m, {
    maxRank: 4,
    rowModes: fastModes(64, "rows"),
    colModes: fastModes(32, "cols"),
  });
  const balanced = tensorTrainCores(m, { maxRank: 4, rowModes: chooseModes(64), colModes: chooseModes(32) });
  assert.equal(kept.relativeError, Math.min(fast.relativeError, balanced.relativeError));
  // The relative error from the dropped singular values equals the reconstruction's.
  const { encoded } = tensorTrainMethod.encode(m, { kind: "tt", maxRank: 4, storage: f32 }, "decoder");
  const direct = relErr(ttToDense(encoded), m.data);
  assert.ok(Math.abs(kept.relativeError - direct) < 1e-5, `${kept.relativeError} vs ${direct}`);
});

Deno.test("a TT with maximal ranks reproduces the matrix (property, incl. padding and given modes)", () => {
  const cases: [number, number, Partial<{ rowModes: number[]; colModes: number[] }>][] = [
    [1, 1, {}],
    [40, 8, {}],
    [32, 12, {}],
    [7, 13, {}], // both padded
    [37, 5, {}],
    [50, 18, {}], // the fast default split on both sides, padded: [13, 2, 2] × [2, 2, 5]
    [48, 16, { rowModes: [4, 3, 4], colModes: [2, 2, 4] }],
    [24, 6, { rowModes: [2, 3, 2, 2], colModes: [1, 2, 3, 1] }],
    [10, 9, { rowModes: [10], colModes: [9] }], // d = 1: one core holds W
    [12, 20, { rowModes: [3, 4], colModes: [5, 4] }],
  ];
  for (const [rows, cols, modes] of cases) {
    const m = random("w", rows, cols, rows * 100 + cols);
    const { encoded } = tensorTrainMethod.encode(m, { kind: "tt", storage: f32, ...modes }, "w_ih");
    const err = relErr(ttToDense(encoded), m.data);
    assert.ok(err < 1e-6, `${rows}×${cols} ${JSON.stringify(modes)}: relative error ${err}`);
    assert.ok(relErr(tensorTrainToDense(encoded), m.data) < 1e-6);
  }
});

Deno.test("TT cores have SPEC.md's shapes: R_k × (m_k·n_k·R_{k+1}), R_0 = R_d = 1, names decoder.cores.k", () => {
  const m = random("decoder", 40, 12, 2);
  const { encoded } = tensorTrainMethod.encode(m, { kind: "tt", maxRank: 3, storage: f32 }, "decoder");
  const e = encoded.encoding;
  assert.ok(e.kind === "tt");
  assert.deepEqual(e.rowModes, [2, 4, 5]); // this random matrix keeps the balanced split (smaller error)
  assert.deepEqual(e.colModes, [2, 2, 3]);
  assert.deepEqual(e.ranks, [1, 3, 3, 1]);
  e.cores.forEach((c, k) => {
    assert.equal(c.name, `decoder.cores.${k}`);
    assert.deepEqual([c.rows, c.cols], [e.ranks[k], e.rowModes[k] * e.colModes[k] * e.ranks[k + 1]]);
  });
});

Deno.test("TT truncation error decreases with the maximum rank; tolerance bounds the relative error", () => {
  const m = random("w", 64, 27, 11);
  let last = Infinity;
  for (const maxRank of [1, 2, 4, 8, 16, 64]) {
    const { encoded } = tensorTrainMethod.encode(m, { kind: "tt", maxRank, storage: f32 }, "w_hh");
    const err = relErr(ttToDense(encoded), m.data);
    assert.ok(err <= last + 1e-9, `rank ${maxRank}: ${err} > ${last}`);
    last = err;
  }
  assert.ok(last < 1e-6);
  for (const tolerance of [0.5, 0.2, 0.05, 0]) {
    const { encoded } = tensorTrainMethod.encode(m, { kind: "tt", tolerance, storage: f32 }, "w_hh");
    const err = relErr(ttToDense(encoded), m.data);
    assert.ok(err <= tolerance + 1e-6, `tolerance ${tolerance}: ${err}`);
  }
});

Deno.test("TT cores in f16/int8/int4 stay within their storage error; TT-SVD is deterministic", () => {
  const m = random("w", 40, 16, 12);
  for (const [type, tol] of [["f16", 2e-3], ["int8", 3e-2], ["int4", 0.3]] as const) {
    const { encoded } = tensorTrainMethod.encode(m, { kind: "tt", storage: { type } }, "w_ih");
    assert.ok(relErr(ttToDense(encoded), m.data) < tol, type);
  }
  const spec = { kind: "tt", maxRank: 4, storage: f32 } as const;
  assert.deepEqual(tensorTrainMethod.encode(m, spec, "w_ih"), tensorTrainMethod.encode(m, spec, "w_ih"));
  assert.deepEqual(tensorTrainCores(m, { maxRank: 2 }).ranks, [1, 2, 2, 1]);
});

Deno.test("checkTensorTrainSpec() rejects bad ranks, tolerances and modes with clear messages", () => {
  const bad: [object, RegExp][] = [
    [{ maxRank: 0 }, /rank must be a whole number/],
    [{ maxRank: 1.5 }, /rank must be a whole number/],
    [{ tolerance: -0.1 }, /tolerance/],
    [{ tolerance: 1 }, /tolerance/],
    [{ rowModes: [2, 5], colModes: [4, 4, 4] }, /as many entries/],
    [{ rowModes: [2, 0, 4] }, /whole numbers ≥ 1/],
    [{ rowModes: [2, 2, 2] }, /multiply to 8, less than 10/],
  ];
  for (const [spec, re] of bad) {
    assert.throws(() => checkTensorTrainSpec({ kind: "tt", storage: f32, ...spec }, 10, 10), re);
  }
});
