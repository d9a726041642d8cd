import assert from "node:assert/strict";
import { irMatrix } from "../ir.ts";
import { checkLowRankSpec, lowRankFactors, lowRankMethod, lowRankToDense } from "./lowrank.ts";
import { decodeStorage } from "./storage.ts";
import { rng } from "../../runtime/kernels/testing.ts";
import type { StorageSpec } from "./method.ts";

const f32: StorageSpec = { type: "f32" };

function random(name: string, rows: number, cols: number, seed: number) {
  const rand = rng(seed);
  return irMatrix(name, rows, cols, Float32Array.from({ length: rows * cols }, () => rand()));
}

/** ‖a − b‖_F / ‖b‖_F */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num / den);
}

/** A rows × cols matrix of exact rank `rank` plus `noise`. */
function lowRankPlusNoise(rows: number, cols: number, rank: number, noise: number, seed: number) {
  const rand = rng(seed);
  const u = Float64Array.from({ length: rows * rank }, () => rand());
  const v = Float64Array.from({ length: rank * cols }, () => rand());
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      let s = noise * rand();
      for (let k = 0; k < rank; k++) s += u[i * rank + k] * v[k * cols + j];
      data[i * cols + j] = s;
    }
  }
  return irMatrix("w", rows, cols, data);
}

Deno.test("lowrank at full rank reproduces tall, wide, square and one-row matrices (property)", () => {
  for (const [rows, cols] of [[1, 1], [1, 7], [7, 1], [3, 5], [5, 3], [37, 37], [203, 40], [40, 203]]) {
    const m = random("w", rows, cols, rows * 1000 + cols);
    const { encoded } = lowRankMethod.encode(m, { kind: "lowrank", rank: 1000, storage: f32 }, "w_ih");
    assert.equal(encoded.encoding.kind, "lowrank");
    const err = relErr(lowRankToDense(encoded), m.data);
    assert.ok(err < 1e-6, `${rows}×${cols}: relative error ${err}`);
  }
});

Deno.test("lowrank at full rank reproduces an ill-conditioned matrix (singular values 1 … 1e-6)", () => {
  const n = 30;
  const m = lowRankPlusNoise(60, n, 5, 1e-6, 3);
  const { encoded } = lowRankMethod.encode(m, { kind: "lowrank", rank: n, storage: f32 }, "decoder");
  assert.ok(relErr(lowRankToDense(encoded), m.data) < 1e-6);
});

Deno.test("lowrank shapes: A is rows × r, B is r × cols; a rank over min(rows, cols) is clipped", () => {
  const m = random("decoder", 50, 12, 1);
  const { encoded, detail } = lowRankMethod.encode(m, { kind: "lowrank", rank: 99, storage: f32 }, "decoder");
  const e = encoded.encoding;
  assert.ok(e.kind === "lowrank");
  assert.deepEqual([e.a.rows, e.a.cols, e.b.rows, e.b.cols], [50, 12, 12, 12]);
  assert.equal(e.a.name, "decoder.a");
  assert.equal(e.b.name, "decoder.b");
  assert.match(detail, /rank 12 \(clipped from 99: exact\)/);
});

Deno.test("lowrank truncation error decreases with rank and matches the discarded singular values", () => {
  const m = random("w", 80, 30, 9);
  let last = Infinity;
  for (const rank of [1, 2, 4, 8, 16, 30]) {
    const f = lowRankFactors(m, { rank });
    const dense = lowRankToDense(
      lowRankMethod.encode(m, { kind: "lowrank", rank, storage: f32 }, "w_hh").encoded,
    );
    const err = relErr(dense, m.data);
    assert.ok(err < last, `rank ${rank}: error ${err} not below ${last}`);
    // Eckart–Young: ‖W − W_r‖² / ‖W‖² = 1 − kept energy.
    assert.ok(
      Math.abs(err ** 2 - (1 - f.energyKept)) < 1e-5,
      `rank ${rank}: ${err ** 2} vs ${1 - f.energyKept}`,
    );
    last = err;
  }
});

Deno.test("lowrank energy threshold: the smallest rank keeping at least that fraction of Σσ²", () => {
  const m = lowRankPlusNoise(100, 40, 6, 0.05, 5);
  for (const energy of [0.5, 0.9, 0.95, 0.999, 1]) {
    const f = lowRankFactors(m, { energy });
    assert.ok(f.energyKept >= energy - 1e-12, `energy ${energy}: kept ${f.energyKept}`);
    if (f.rank > 1) {
      const fewer = lowRankFactors(m, { rank: f.rank - 1 });
      assert.ok(
        fewer.energyKept < energy,
        `energy ${energy}: rank ${f.rank - 1} already keeps ${fewer.energyKept}`,
      );
    }
  }
  assert.ok(lowRankFactors(m, { energy: 0.99 }).rank <= 6); // the planted rank-6 part holds > 99 %
  assert.equal(lowRankFactors(m, { energy: 1 }).rank, 40);
  assert.equal(lowRankFactors(m, { energy: 0.999, rank: 3 }).rank, 3); // rank caps energy
});

Deno.test("lowrank stores its factors in any storage type, within that type's error", () => {
  const m = random("w", 64, 24, 4);
  for (const [type, tol] of [["f16", 2e-3], ["int8", 2e-2], ["int4", 0.2]] as const) {
    const { encoded } = lowRankMethod.encode(m, { kind: "lowrank", rank: 24, storage: { type } }, "w_ih");
    const e = encoded.encoding;
    assert.ok(e.kind === "lowrank");
    assert.equal(e.a.encoding.kind, type === "f16" ? "dense" : "quantized");
    assert.equal(decodeStorage(e.b).length, 24 * 24);
    const err = relErr(lowRankToDense(encoded), m.data);
    assert.ok(err < tol, `${type}: ${err}`);
  }
});

Deno.test("lowrank is deterministic: the same matrix and spec give the same bytes", () => {
  const m = random("w", 33, 17, 8);
  const spec = { kind: "lowrank", rank: 5, storage: f32 } as const;
  assert.deepEqual(lowRankMethod.encode(m, spec, "w_ih"), lowRankMethod.encode(m, spec, "w_ih"));
});

Deno.test("checkLowRankSpec() rejects a missing, fractional or zero rank and an energy outside (0, 1]", () => {
  for (const bad of [{}, { rank: 0 }, { rank: 2.5 }, { energy: 0 }, { energy: 1.5 }, { energy: NaN }]) {
    assert.throws(() => checkLowRankSpec({ kind: "lowrank", storage: f32, ...bad }), /lowrank/);
  }
  checkLowRankSpec({ kind: "lowrank", rank: 1, storage: f32 });
  checkLowRankSpec({ kind: "lowrank", energy: 1, storage: f32 });
});
