/**
 * Decoder-shaped (10000 × 200, PTB-small's output layer) low-rank and tensor-train operators against
 * dense f32: matvec (one token), matmat over 16 timesteps, and row gather (the embedding's use).
 * Factors/cores are random (speed does not depend on the values) with the shapes the methods produce:
 * lowrank A 10000 × r, B r × 200; tt modes 20·20·25 × 5·5·8 (chooseModes), ranks 1-16-16-1.
 * Run: deno bench -A runtime/operators/lowrank_tt.bench.ts. Benchmarks are not tests; compare ratios
 * within one run (absolute times drift on this shared machine).
 */
import { ensureMemory, instantiateKernels } from "../kernels/kernels.ts";
import { randomF32, rng } from "../kernels/testing.ts";
import { type MatrixOperator, matrixOperator, operatorScratchBytes } from "./matrix_operator.ts";
import type { DenseInfo, MatrixInfo } from "../format/read.ts";

const ROWS = 10000;
const COLS = 200;
const N = 16;

const k = await instantiateKernels();
const rand = rng(7);
let top = k.heapBase;
const put = (a: Float32Array) => {
  const p = (top + 15) & ~15;
  top = p + a.byteLength;
  ensureMemory(k, top);
  new Float32Array(k.memory.buffer, p, a.length).set(a);
  return p;
};
const dense = (name: string, rows: number, cols: number): DenseInfo => {
  const n = rows * cols;
  const dataOffset = put(randomF32(n, rand, -0.1, 0.1));
  return { kind: "dense", name, rows, cols, bytes: 4 * n, floatType: "f32", dataOffset, dataLength: 4 * n };
};
const operator = (m: MatrixInfo): MatrixOperator => {
  const scratch = put(new Float32Array(Math.ceil(operatorScratchBytes(m, k) / 4)));
  return matrixOperator(m, k, scratch);
};
const lowrank = (r: number): MatrixInfo => {
  const a = dense("decoder.a", ROWS, r);
  const b = dense("decoder.b", r, COLS);
  return {
    kind: "lowrank",
    name: "decoder",
    rows: ROWS,
    cols: COLS,
    bytes: a.bytes + b.bytes,
    rank: r,
    a,
    b,
  };
};
const tt = (r: number): MatrixInfo => {
  const rowModes = [20, 20, 25];
  const colModes = [5, 5, 8];
  const ranks = [1, r, r, 1];
  const cores = rowModes.map((m, i) => dense(`decoder.cores.${i}`, ranks[i], m * colModes[i] * ranks[i + 1]));
  const bytes = cores.reduce((s, c) => s + c.bytes, 0);
  return { kind: "tt", name: "decoder", rows: ROWS, cols: COLS, bytes, rowModes, colModes, ranks, cores };
};

const ops: [string, MatrixOperator, number][] = [
  ["dense f32", operator(dense("decoder", ROWS, COLS)), 4 * ROWS * COLS],
  ["lowrank r32 f32", operator(lowrank(32)), 4 * 32 * (ROWS + COLS)],
  ["lowrank r64 f32", operator(lowrank(64)), 4 * 64 * (ROWS + COLS)],
  ["tt r16 f32", operator(tt(16)), 4 * (1 * 100 * 16 + 16 * 100 * 16 + 16 * 200)],
  ["tt r8 f32", operator(tt(8)), 4 * (1 * 100 * 8 + 8 * 100 * 8 + 8 * 200)],
];
const x = put(randomF32(N * COLS, rand));
const y = put(new Float32Array(N * ROWS));
const out = put(new Float32Array(COLS));

for (const [name, op, bytes] of ops) {
  const baseline = name === "dense f32";
  const kb = `${(bytes / 1024).toFixed(0)} KB`;
  Deno.bench(`matvec 10000×200 ${name} (${kb})`, { group: "matvec", baseline }, () => op.matvec(x, y));
  Deno.bench(`matmat 10000×200 × ${N} ${name}`, { group: "matmat", baseline }, () => op.matmat(x, N, y));
  let row = 0;
  Deno.bench(`gatherRow 10000×200 ${name}`, { group: "gather", baseline }, () => {
    op.gatherRow(row, out);
    row = (row + 7919) % ROWS;
  });
}
