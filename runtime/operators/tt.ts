/**
 * The TensorTrain operator: matvec, matmat and row gather by successive core contractions in WASM
 * (as/tt.ts: shapes and costs there), never forming W.
 *
 * Runs what the "tt" method (compiler/methods/tt.ts) writes; format: schema/SPEC.md "TensorTrain".
 *
 * The kernels read f32 cores. A Dense f32 core is read in place; any other core (f16, int8, int4) is
 * decoded into this operator's scratch once, at the first call, row by row through its leaf operator's
 * gather (Σ R_k·m_k·n_k·R_{k+1} values, e.g. 30 k for a 10000 × 200 decoder at rank 16), and kept: the
 * scratch is this operator's alone, so the runtime holds a compressed core and its f32 copy.
 *
 * Products: tt_matvec_f32 / tt_matmat_f32, or with the relaxed module their copies tt_matvec_f32r /
 * tt_matmat_f32r (fused multiply-adds); steps with four right-hand rows (every step of the fast split) are
 * outer products, eight core rows at a time (as/tt.ts, `outer4`). With the relaxed module and an int8 core 0
 * ({@link int8Core0}: the fast split's at ranks that are multiples of 8), tt_matvec_q8r / tt_matmat_q8r run
 * that core's step — nearly all of the work — on the core's own codes with int8 dot products, its step
 * input quantized to 7 bits per row (as/relaxed.ts): the decoder 10000 × 200 at rank 16 in 0.54–0.57 of the
 * f32 product's time; PTB-small's tt:32+int8 test perplexity 781.931 → 781.900. Each core row's scale and
 * −64 · Σ codes are prepared once, at first use ({@link prepareCore0}).
 *
 * Scratch: the kernels' descriptor (4 + 5d i32), three work buffers of maxInter floats (`ttWorkFloats`; the
 * third for the outer products' transposed input), core 0's row scales and offsets where int8Core0, decoded
 * cores, and what each decoded core's leaf needs to decode (f16 scales as f32).
 *
 * Row gathers (`{ gathers: true }`, the embedding): a row r = (i_0 … i_{d−1}) is the left-to-right product
 * of one slice per core (as/tt.ts). All rows that share i_0 … i_{d−2} share the first d − 1 steps, whose
 * result P (∏_{k<d−1} n_k rows × R_{d−1}) is most of the work — for a [20,20,25] × [5,5,8] embedding at
 * ranks (1, 100, 128, 1), 320 k of 346 k multiply-adds; for PTB's tt:128 embedding as the compiler now
 * splits it, [2500,2,2] × [2,2,50] at (1, 128, 100, 1), 51 k of 71 k. The operator keeps each P once
 * computed (the first gather of a prefix), in scratch sized for all ∏_{k<d−1} m_k prefixes (5 000 × 4 ×
 * 100 floats, 8 MB, there; 400 × 25 × 128, 5.1 MB, for the balanced split), so that later rows cost only
 * the last step: P times the last core's slice for i_{d−1}, one matmat_f32 against that slice transposed
 * (n × R; all slices transposed once), so every product is a contiguous R-long dot product. Whole rows are
 * kept too, in a direct-mapped cache of ROW_SLOTS rows (slot = row mod ROW_SLOTS; 800 kB for PTB's 200
 * columns): text is dominated by a few frequent tokens, and vocabularies sorted by frequency, as PTB's,
 * give the commonest ones slots of their own, so most gathers are one copy. Matrices that are not gathered
 * reserve nothing for it. PTB's tt:128+int8 embedding operator holds 11.7 MB of scratch in all (8 MB of P,
 * its cores decoded to f32, the rows).
 * @module
 */
import { ttWorkFloats } from "../kernels/scratch.ts";
import type { KernelInstance } from "../kernels/kernels.ts";
import type { QuantizedInfo, TensorTrainInfo } from "../format/read.ts";
import type { MatrixOperator } from "./matrix_operator.ts";
import { isDenseF32, type StoreOperators } from "./lowrank.ts";
import { f32ScalesScratchBytes } from "./store.ts";
import { f16BitsToF32 } from "../format/f16.ts";

const align16 = (n: number) => (n + 15) & ~15;

/** Rows a gathered TT matrix keeps whole (module doc), at most its row count. */
const ROW_SLOTS = 1024;

/** Whole rows a gathered `m` keeps (module doc). */
function rowSlots(m: TensorTrainInfo): number {
  return Math.min(ROW_SLOTS, m.rows);
}

/** The gather cache's shape (module doc): prefixes, floats per prefix, the padded row width ∏n. */
function prefixShape(m: TensorTrainInfo) {
  const d = m.cores.length;
  const prod = (a: readonly number[]) => a.reduce((p, v) => p * v, 1);
  return {
    prefixes: prod(m.rowModes.slice(0, d - 1)),
    width: prod(m.colModes.slice(0, d - 1)) * m.ranks[d - 1],
    padded: prod(m.colModes),
  };
}

function layout(m: TensorTrainInfo, gathers: boolean) {
  const d = m.cores.length;
  const desc = 0;
  const maxInter = ttWorkFloats(m.rowModes, m.colModes, m.ranks);
  const work = desc + align16(4 * (4 + 5 * d));
  // Two work buffers, and a third for the products' transposed step input (as/tt.ts, outer4).
  let end = work + align16(4 * 3 * maxInter);
  // Gathers with d ≥ 2: the prefix descriptor (cores 0 … d−2), the row before cropping, the last core
  // transposed (m_{d−1} · n_{d−1} · R_{d−1} floats), the whole rows kept, the prefix cache.
  let cache: { desc: number; row: number; lastT: number; rows: number; values: number } | undefined;
  if (gathers && d >= 2) {
    const { prefixes, width, padded } = prefixShape(m);
    const row = end + align16(4 * (4 + 5 * d));
    const lastT = row + align16(4 * padded);
    const rows = lastT + align16(4 * m.rowModes[d - 1] * m.colModes[d - 1] * m.ranks[d - 1]);
    const values = rows + align16(4 * rowSlots(m) * m.cols);
    cache = { desc: end, row, lastT, rows, values };
    end = values + align16(4 * prefixes * width);
  }
  // Core 0 run on its int8 codes (int8Core0): its rows' scales (f32) and offsets (i32).
  let core0: number | undefined;
  if (int8Core0(m)) {
    core0 = end;
    end += align16(8 * m.rowModes[0]);
  }
  const decoded = m.cores.map((c) => {
    if (isDenseF32(c)) return undefined;
    const at = end;
    end += align16(4 * c.rows * c.cols);
    // The core's own operator only decodes it (gatherRow): it needs f32 scales, not the products' room
    // (which for a 1 × 640 000 int8 core would be 10 MB of activation copies).
    const store = end;
    end += align16(c.kind === "quantized" ? f32ScalesScratchBytes(c) : 0);
    return { at, store };
  });
  return { desc, work, maxInter, decoded, cache, core0, end };
}

/**
 * Whether the relaxed module can run core 0's step on its int8 codes (as/relaxed.ts, tt_matvec_q8r): an
 * 8-bit core 0 whose rows of L = n_0·R_1 codes (L % 16 = 0) each lie in one scale group (a group size that
 * is a multiple of L, or one group for the whole core, as a file may give by a size past its columns), against a
 * multiple of four rows of the step input (∏_{k>0} m_k). The fast split's cores qualify at ranks that are
 * multiples of 8.
 */
export function int8Core0(m: TensorTrainInfo): boolean {
  const c = m.cores[0];
  const L = m.colModes[0] * m.ranks[1];
  const P = m.rowModes.slice(1).reduce((p, v) => p * v, 1);
  return m.cores.length >= 2 && c.kind === "quantized" && c.bits === 8 && L % 16 === 0 && L <= 65536 &&
    P % 4 === 0 && (c.groupSize % L === 0 || c.groupSize >= c.cols);
}

/** Core 0's row scales and offsets (−64 · Σ codes) at `at` (int8Core0(m)), as tt_matvec_q8r reads them. */
export function prepareCore0(m: TensorTrainInfo, k: KernelInstance, at: number): void {
  const c = m.cores[0] as QuantizedInfo;
  const rows = m.rowModes[0];
  const L = m.colModes[0] * m.ranks[1];
  const buf = k.memory.buffer;
  const codes = new Int8Array(buf, c.dataOffset, rows * L);
  const scales = new DataView(buf, c.scalesOffset, c.scalesCount * (c.scaleType === "f16" ? 2 : 4));
  const rowScales = new Float32Array(buf, at, rows);
  const rowOffsets = new Int32Array(buf, at + 4 * rows, rows);
  for (let i = 0; i < rows; i++) {
    const g = Math.floor((i * L) / c.groupSize);
    rowScales[i] = c.scaleType === "f16"
      ? f16BitsToF32(scales.getUint16(2 * g, true))
      : scales.getFloat32(4 * g, true);
    let sum = 0;
    for (let l = 0; l < L; l++) sum += codes[i * L + l];
    rowOffsets[i] = -64 * sum;
  }
}

/** Scratch bytes the operator of `m` needs (shapes only); `gathers`: it serves row gathers (module doc). */
export function tensorTrainScratchBytes(m: TensorTrainInfo, gathers = false): number {
  return layout(m, gathers).end;
}

/**
 * The operator for a TensorTrain matrix of a loaded file. `scratch`: {@link tensorTrainScratchBytes}
 * bytes, 16-byte aligned, this operator's alone.
 */
export function tensorTrainOperator(
  m: TensorTrainInfo,
  k: KernelInstance,
  scratch: number,
  stored: StoreOperators,
  gathers = false,
): MatrixOperator {
  const { rows, cols } = m;
  const l = layout(m, gathers);
  const d = m.cores.length;
  const desc = scratch + l.desc;
  const work = scratch + l.work;
  const toDecode: { op: MatrixOperator; rows: number; cols: number; at: number }[] = [];
  const header = [d, rows, cols, l.maxInter];
  const cores = m.cores.flatMap((c, i) => {
    const place = l.decoded[i];
    let ptr: number;
    if (place === undefined) ptr = (c as Extract<typeof c, { kind: "dense" }>).dataOffset;
    else {
      ptr = scratch + place.at;
      toDecode.push({
        op: stored.operator(c, k, scratch + place.store),
        rows: c.rows,
        cols: c.cols,
        at: ptr,
      });
    }
    return [ptr, m.ranks[i], m.rowModes[i], m.colModes[i], m.ranks[i + 1]];
  });
  new Int32Array(k.memory.buffer, desc, header.length + cores.length).set([...header, ...cores]);
  const gatherRow = l.cache ? cachedGather(m, k, scratch, l.cache, cores, work, l.maxInter) : undefined;
  // Non-f32 cores are decoded into this operator's scratch once, at first use, and kept: the cores never
  // change, and decoding them per call cost more than the contraction (a rank-128 embedding's 1.3 M core
  // values for every row gathered).
  let decoded = toDecode.length === 0;
  const decode = () => {
    if (decoded) return;
    for (const c of toDecode) for (let r = 0; r < c.rows; r++) c.op.gatherRow(r, c.at + 4 * r * c.cols);
    decoded = true;
  };
  const ex = k.exports;
  const gatherOne = (row: number, out: number) => {
    decode();
    if (gatherRow) gatherRow(row, out);
    else ex.tt_gather_f32(desc, row, out, work);
  };
  const rx = k.relaxed;
  if (rx && l.core0 !== undefined) {
    // Core 0's step on its int8 codes (int8Core0), the other steps as tt_matvec_f32r.
    const core0 = scratch + l.core0;
    const codes = (m.cores[0] as QuantizedInfo).dataOffset;
    const rowOffsets = core0 + 4 * m.rowModes[0];
    let prepared = false;
    const prepare = () => {
      decode(); // cores 1 … d−1 in f32, and core 0's f32 copy for gathers and non-finite step inputs
      if (!prepared) prepareCore0(m, k, core0);
      prepared = true;
    };
    return {
      rows,
      cols,
      matvec(x, y) {
        prepare();
        rx.tt_matvec_q8r(desc, x, y, work, codes, core0, rowOffsets);
      },
      matmat(x, n, y) {
        prepare();
        rx.tt_matmat_q8r(desc, x, n, y, work, codes, core0, rowOffsets);
      },
      gatherRow: gatherOne,
    };
  }
  // With relaxed SIMD the fast split's steps run as outer products with fused multiply-adds.
  const product = rx ?? ex;
  const matvec = rx ? rx.tt_matvec_f32r : ex.tt_matvec_f32;
  const matmat = rx ? rx.tt_matmat_f32r : ex.tt_matmat_f32;
  return {
    rows,
    cols,
    matvec(x, y) {
      decode();
      matvec.call(product, desc, x, y, work);
    },
    matmat(x, n, y) {
      decode();
      matmat.call(product, desc, x, n, y, work);
    },
    gatherRow: gatherOne,
  };
}

/**
 * The cached row gather (module doc): P for row r's prefix key = ⌊r / m_{d−1}⌋ from the prefix TT (cores
 * 0 … d−2, its last rank R_{d−1}: tt_gather_f32 leaves v_{d−1} = P, ∏_{k<d−1} n_k × R_{d−1}, whole), then
 * row[J·n + j] = Σ_β P[J, β] · G_{d−1}[β, i_{d−1}, j, 0]: matmat_f32 with W = the slice transposed
 * (n × R, at lastT[i][j][β]) and X = P (∏_{k<d−1} n_k timesteps of R), so Y[J·n + j] is the row.
 * `cores`: the descriptor's per-core fields (f32 pointer, R_k, m_k, n_k, R_{k+1}), decoded cores included;
 * `work`, `maxInter`: the operator's work buffers.
 */
function cachedGather(
  m: TensorTrainInfo,
  k: KernelInstance,
  scratch: number,
  cache: { desc: number; row: number; lastT: number; rows: number; values: number },
  cores: number[],
  work: number,
  maxInter: number,
): (row: number, out: number) => void {
  const ex = k.exports;
  const d = m.cores.length;
  const { prefixes, width } = prefixShape(m);
  const desc = scratch + cache.desc;
  const rowAt = scratch + cache.row;
  const lastT = scratch + cache.lastT;
  const kept = scratch + cache.rows;
  const values = scratch + cache.values;
  new Int32Array(k.memory.buffer, desc, 4 + 5 * (d - 1)).set([
    d - 1,
    prefixes,
    width,
    maxInter, // the full TT's work buffers hold every prefix step (as/tt.ts)
    ...cores.slice(0, 5 * (d - 1)),
  ]);
  const done = new Uint8Array(prefixes);
  const [last, rank, mLast, nLast] = cores.slice(5 * (d - 1));
  const blocks = width / rank; // ∏_{k<d−1} n_k rows of P
  const padded = blocks * nLast;
  const slots = rowSlots(m);
  const slotOf = new Int32Array(slots).fill(-1); // the row each slot holds
  let transposed = false;
  return (row, out) => {
    const slot = row % slots;
    // A kept row: the kept rows are a dense f32 matrix (slots × cols), no view needed.
    if (slotOf[slot] === row) return ex.gather_f32(kept, m.cols, slot, out);
    const f32 = new Float32Array(k.memory.buffer); // anew: growing the memory detaches views
    const at = (kept >> 2) + slot * m.cols;
    if (!transposed) {
      // G_{d−1}[β, i, j, 0] at β·m·n + i·n + j → lastT[(i·n + j)·R + β]; the core is decoded by now.
      const g = last >> 2, t = lastT >> 2;
      for (let b = 0; b < rank; b++) {
        for (let ij = 0; ij < mLast * nLast; ij++) f32[t + ij * rank + b] = f32[g + b * mLast * nLast + ij];
      }
      transposed = true;
    }
    const key = Math.floor(row / mLast);
    const i = row - key * mLast;
    const p = values + 4 * key * width;
    if (!done[key]) {
      ex.tt_gather_f32(desc, key, p, work);
      done[key] = 1;
    }
    // Straight into out when the row needs no cropping (∏n = cols), else into rowAt and cropped.
    const y = padded === m.cols ? out : rowAt;
    f32.fill(0, y >> 2, (y >> 2) + padded);
    ex.matmat_f32(lastT + 4 * i * nLast * rank, nLast, rank, p, blocks, y);
    if (y !== out) f32.copyWithin(out >> 2, rowAt >> 2, (rowAt >> 2) + m.cols);
    f32.copyWithin(at, out >> 2, (out >> 2) + m.cols);
    slotOf[slot] = row;
  };
}
