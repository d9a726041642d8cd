/**
 * The "store" operator, for the stored (leaf) matrices — Dense (f32, f16) and Quantized (int8 per row/group,
 * int4 per group) — the matrices that stand alone or sit inside LowRank factors, TT cores and CSR values.
 * Each runs its WASM kernel on the stored bytes: nothing is expanded to dense.
 *
 * Runs what the "store" method (compiler/methods/store.ts; storage types in compiler/methods/storage.ts)
 * writes; format: schema/SPEC.md "Dense", "Quantized".
 *
 *   dense f32       matvec_f32, matmat_f32 / matmat_f32_bias (relaxed: their   no scratch
 *                   _r copies, fused multiply-adds), gather_f32
 *   dense f16       matvec_f16, matmat_f16, gather_f16                     scratch: x prepared for the fast
 *                   products (f16ScratchBytes), then a copy of the rows interleaved by quads that the fast
 *                   matvecs read as one stream (f16InterleavedBytes, f16_interleave: a second copy of the
 *                   matrix); the weights checked once for Inf/NaN (f16_finite), which the fast products do
 *                   not handle; matvec_f16r / matmat_f16r (relaxed: fused multiply-adds) first
 *   int8 / int4     matvec_q8/q4, matmat_q8/q4, gather_q8/q4               scratch: quantized copies of x
 *                   (quantizedScratchBytes(cols) in kernels/scratch.ts, see kernels/as/quantized.ts), then the
 *                   prepared table (preparedTableBytes, kernels/as/prepared.ts: scales in row quads, int8's
 *                   offset sums for the relaxed products, int4's codes biased, four rows interleaved per 8
 *                   columns, read by every int4 product, plain and relaxed: q4_prepare), then for int8 its rows
 *                   interleaved by eights per 16 columns (q8InterleavedBytes, q8_interleave; read by the
 *                   plain and relaxed matvecs) — each a second copy of the matrix — written on first use
 *
 * Where the kernel instance has the relaxed-SIMD module (`k.relaxed`), products run matvec_q8r/q4r and
 * matmat_q8r/q4r (x quantized to 7/8 bits instead of 16; kernels/as/relaxed.ts), and the plain kernels
 * when those refuse (x with Inf/NaN) or do not apply (int4 with groups of one column).
 * @module
 */
import {
  f16InterleavedBytes,
  f16ScratchBytes,
  preparedTableBytes,
  q4PrepCodesOffset,
  q8InterleavedBytes,
  quantizedScratchBytes,
} from "../kernels/scratch.ts";
import type { KernelInstance } from "../kernels/kernels.ts";
import type { QuantizedInfo, StoredInfo } from "../format/read.ts";
import type { MatrixOperator } from "./matrix_operator.ts";

/** The group size the kernels take: a file's group_size ≥ cols means one scale per row. */
function kernelGroup(groupSize: number, cols: number): number {
  return Math.max(1, Math.min(groupSize, cols));
}

/**
 * Scratch bytes the operator of leaf `m` needs (shapes only): f16, x prepared and the rows' interleaved copy;
 * quantized leaves, x's codes, then always room for the prepared table (preparedTableBytes: int4's for every
 * product, int8's where the relaxed kernels load) and, for int8, the rows' interleaved copy
 * (q8InterleavedBytes, 0 for shapes without one).
 */
export function storeScratchBytes(m: StoredInfo): number {
  if (m.kind === "dense") {
    return m.floatType === "f16" ? f16ScratchBytes(m.cols) + f16InterleavedBytes(m.rows, m.cols) : 0;
  }
  return f32ScalesScratchBytes(m) + quantizedScratchBytes(m.cols) +
    preparedTableBytes(m.bits, m.rows, m.cols, m.groupSize) +
    (m.bits === 8 ? q8InterleavedBytes(m.rows, m.cols, kernelGroup(m.groupSize, m.cols)) : 0);
}

/** Scratch bytes for an f32 copy of a quantized leaf's scales: 0 when they are stored as f32. */
export function f32ScalesScratchBytes(m: QuantizedInfo): number {
  return m.scaleType === "f16" ? (4 * m.scalesCount + 15) & ~15 : 0;
}

/**
 * A pointer to `m`'s scales as f32, which is what every quantized kernel reads: the file's own when they
 * are stored as f32; f16 scales (format 1.1) are converted once into `scratch`
 * ({@link f32ScalesScratchBytes} bytes), exactly, by the f16 row gather.
 */
export function f32Scales(m: QuantizedInfo, k: KernelInstance, scratch: number): number {
  if (m.scaleType !== "f16") return m.scalesOffset;
  if (m.scalesCount > 0) k.exports.gather_f16(m.scalesOffset, m.scalesCount, 0, scratch);
  return scratch;
}

/**
 * The operator for a leaf matrix of a loaded file (offsets are WASM pointers). `scratch` points at
 * {@link storeScratchBytes}(m) bytes, 16-byte aligned, that belong to this operator alone.
 *
 * @example
 * ```ts
 * const op = storeOperator(file.decoder as StoredInfo, kernels, scratch);
 * op.matvec(xPtr, logitsPtr); // logits += decoder · x
 * ```
 */
export function storeOperator(m: StoredInfo, k: KernelInstance, scratch: number): MatrixOperator {
  const ex = k.exports;
  const { rows, cols } = m;
  if (m.kind === "dense") {
    const w = m.dataOffset;
    if (m.floatType === "f32") {
      const matmatF32 = k.relaxed?.matmat_f32r ?? ex.matmat_f32;
      const matmatBiasF32 = k.relaxed?.matmat_f32_bias_r ?? ex.matmat_f32_bias;
      return {
        rows,
        cols,
        matvec: (x, y) => ex.matvec_f32(w, rows, cols, x, y),
        matmat: (x, n, y) => matmatF32(w, rows, cols, x, n, y),
        matmatBias: (x, n, y, bias) => matmatBiasF32(w, rows, cols, x, n, y, bias),
        gatherRow: (row, out) => ex.gather_f32(w, cols, row, out),
      };
    }
    // Whether the weights are free of Inf/NaN (the fast products' condition), checked once at first use.
    let finite = -1;
    const isFinite = () => finite < 0 ? (finite = ex.f16_finite(w, rows * cols)) : finite;
    // The fast products read the rows interleaved by quads (one memory stream, as/matvec.ts), a copy
    // written once, at the first product of weights free of Inf/NaN.
    const copy = scratch + f16ScratchBytes(cols);
    let interleaved = false;
    const fastCopy = () => {
      if (!isFinite()) return 0;
      if (!interleaved) {
        ex.f16_interleave(w, rows, cols, copy);
        interleaved = true;
      }
      return copy;
    };
    const rx = k.relaxed;
    return {
      rows,
      cols,
      // Relaxed SIMD: fused multiply-adds (as/relaxed.ts) where the weights allow the fast path and x can
      // be prepared; the plain kernel otherwise.
      matvec: (x, y) => {
        const c = fastCopy();
        if (rx && c && rx.matvec_f16r(w, rows, cols, x, y, scratch, c)) return;
        ex.matvec_f16(w, rows, cols, x, y, scratch, isFinite(), c);
      },
      matmat: (x, n, y) => {
        if (rx && isFinite() && rx.matmat_f16r(w, rows, cols, x, n, y, scratch)) return;
        ex.matmat_f16(w, rows, cols, x, n, y, scratch, isFinite());
      },
      gatherRow: (row, out) => ex.gather_f16(w, cols, row, out),
    };
  }
  const w = m.dataOffset;
  const s = f32Scales(m, k, scratch);
  scratch += f32ScalesScratchBytes(m); // then the products' own scratch (16-byte aligned)
  const g = kernelGroup(m.groupSize, cols);
  const q8 = m.bits === 8;
  const gather = q8 ? ex.gather_q8 : ex.gather_q4;
  const prep = scratch + quantizedScratchBytes(cols); // 16-byte aligned: the x part is a multiple of 16
  // int8's matvecs read whole blocks of eight rows from a copy interleaved per 16 columns (one memory
  // stream, as/quantized.ts), after the relaxed table, written at the first product (where the shape has one).
  const copyAt = prep + preparedTableBytes(m.bits, rows, cols, g);
  const hasCopy = q8 && q8InterleavedBytes(rows, cols, g) > 0;
  let interleaved = false;
  const copy = () => {
    if (!hasCopy) return 0;
    if (!interleaved) {
      ex.q8_interleave(w, rows, cols, g, copyAt);
      interleaved = true;
    }
    return copyAt;
  };
  // The prepared table (kernels/as/prepared.ts), written at the first product that reads it: int8's for the
  // relaxed products; int4's (its codes in row quads, one stream) for every int4 product, plain and relaxed.
  const rx = k.relaxed;
  let prepared = false;
  const ready = () => {
    if (!prepared) {
      if (!q8) ex.q4_prepare(w, s, rows, cols, g, prep);
      else rx!.q8_prepare(w, s, rows, cols, g, prep);
      prepared = true;
    }
    return prep;
  };
  // The plain products: int8's matvec reads the interleaved copy, int4's matvec and matmat the table.
  const plain: MatrixOperator = {
    rows,
    cols,
    matvec: q8
      ? (x, y) => ex.matvec_q8(w, s, rows, cols, g, x, y, scratch, copy())
      : (x, y) => ex.matvec_q4(w, s, rows, cols, g, x, y, scratch, ready()),
    matmat: q8
      ? (x, n, y) => ex.matmat_q8(w, s, rows, cols, g, x, n, y, scratch)
      : (x, n, y) => ex.matmat_q4(w, s, rows, cols, g, x, n, y, scratch, ready()),
    gatherRow: (row, out) => gather(w, s, cols, g, row, out),
  };
  // relaxed int4 pads each group to whole 8-column chunks: any group size but 1 (below cols).
  if (!rx || !(q8 || g >= 2 || g >= cols)) return plain;
  const matvecR = q8 ? rx.matvec_q8r : rx.matvec_q4r;
  const matmatR = q8 ? rx.matmat_q8r : rx.matmat_q4r;
  // int4's relaxed products read the biased copy of the codes that q4_prepare writes into the table.
  const wR = q8 ? w : prep + q4PrepCodesOffset(rows, cols, g);
  // A relaxed product returns 0, having written nothing, when x holds Inf/NaN: the plain kernel then runs.
  return {
    rows,
    cols,
    matvec: (x, y) => {
      if (!matvecR(wR, ready(), rows, cols, g, x, y, scratch, copy())) plain.matvec(x, y);
    },
    matmat: (x, n, y) => {
      if (!matmatR(wR, ready(), rows, cols, g, x, n, y, scratch)) plain.matmat(x, n, y);
    },
    gatherRow: plain.gatherRow,
  };
}
