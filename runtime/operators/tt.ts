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
 * Scratch: the kernels' descriptor (4 + 5d i32), two work buffers of maxInter floats
 * (`ttWorkFloats`), decoded cores, and each decoded core's leaf scratch.
 * @module
 */
import { ttWorkFloats } from "../kernels/scratch.ts";
import type { KernelInstance } from "../kernels/kernels.ts";
import type { TensorTrainInfo } from "../format/read.ts";
import type { MatrixOperator } from "./matrix_operator.ts";
import { isDenseF32, type StoreOperators } from "./lowrank.ts";

const align16 = (n: number) => (n + 15) & ~15;

function layout(m: TensorTrainInfo, stored: StoreOperators) {
  const d = m.cores.length;
  const desc = 0;
  const maxInter = ttWorkFloats(m.rowModes, m.colModes, m.ranks);
  const work = desc + align16(4 * (4 + 5 * d));
  let end = work + align16(4 * 2 * maxInter);
  const decoded = m.cores.map((c) => {
    if (isDenseF32(c)) return undefined;
    const at = end;
    end += align16(4 * c.rows * c.cols);
    const store = end;
    end += align16(stored.scratchBytes(c));
    return { at, store };
  });
  return { desc, work, maxInter, decoded, end };
}

/** Scratch bytes the operator of `m` needs (shapes only). */
export function tensorTrainScratchBytes(m: TensorTrainInfo, stored: StoreOperators): number {
  return layout(m, stored).end;
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
): MatrixOperator {
  const { rows, cols } = m;
  const l = layout(m, stored);
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
  return {
    rows,
    cols,
    matvec(x, y) {
      decode();
      ex.tt_matvec_f32(desc, x, y, work);
    },
    matmat(x, n, y) {
      decode();
      ex.tt_matmat_f32(desc, x, n, y, work);
    },
    gatherRow(row, out) {
      decode();
      ex.tt_gather_f32(desc, row, out, work);
    },
  };
}
