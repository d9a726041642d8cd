/**
 * The "prune" method: magnitude pruning to a target sparsity, stored as SparseCsr (schema/SPEC.md).
 *
 * Runs in runtime/operators/prune.ts (kernels: runtime/kernels/as/csr.ts); format: schema/SPEC.md "SparseCsr".
 *
 * - Per tensor (default): exactly round(sparsity · rows · cols) entries with the smallest |x| become zero
 *   (ties broken by position, first pruned first), the rest are kept — including kept exact zeros, so
 *   sparsity 0 stores every entry and reproduces the matrix.
 * - Global (`scope: "global"`): one magnitude threshold for a set of matrices, from
 *   {@link globalPruneThreshold}; each prunes the entries with |x| below it. Ties at the threshold are
 *   kept, so the achieved sparsity can fall a little short of the target (the detail says what it is).
 * - Column indices are 16-bit when cols ≤ 65536, else 32-bit.
 * - With `:bRxC` (`blockRows`, `blockCols`), whole R × C blocks are pruned by block norm and stored as
 *   SparseBlocks instead (compiler/methods/prune_blocks.ts).
 * - Values are a 1 × nnz leaf in any storage type, in row order. int8/int4 values take one scale per
 *   group of consecutive non-zeros: int8 {@link CSR_INT8_DEFAULT_GROUP} (64) by default, int4 32 —
 *   a "per row" scale of the 1 × nnz vector would be a single scale for the whole matrix.
 * @module
 */
import type { IrMatrix } from "../ir.ts";
import type { EncodedMatrix } from "../encoded.ts";
import type { CompressionMethod, MethodSpec, StorageSpec } from "./method.ts";
import { checkStorage, decodeStorage, describeStorage, encodeStorage } from "./storage.ts";
import {
  blockNorms,
  type BlockShape,
  blockShapeOf,
  blockValueStorage,
  checkBlockSpec,
  encodeBlocks,
} from "./prune_blocks.ts";

/** The spec this method takes (`prune:0.8`, `prune:0.8+int8`). */
export type PruneSpec = Extract<MethodSpec, { kind: "prune" }>;

/** int8 CSR values: non-zeros per scale unless the storage spec gives a group size. */
export const CSR_INT8_DEFAULT_GROUP = 64;

/** Throws unless the spec is usable: a sparsity in [0, 1], a known scope, a valid storage. */
export function checkPruneSpec(spec: PruneSpec): void {
  if (!(typeof spec.sparsity === "number" && spec.sparsity >= 0 && spec.sparsity <= 1)) {
    throw new Error(`prune sparsity must be a fraction from 0 to 1, got ${spec.sparsity}`);
  }
  if (spec.scope !== undefined && spec.scope !== "tensor" && spec.scope !== "global") {
    throw new Error(`prune scope must be "tensor" or "global", got "${spec.scope}"`);
  }
  checkStorage(spec.storage);
  const block = blockShapeOf(spec);
  if (block) checkBlockSpec(block, spec.storage);
}

/** The storage of CSR values: int8 gets group scales along the non-zeros (see the module doc). */
export function csrValueStorage(storage: StorageSpec): StorageSpec {
  return storage.type === "int8" && storage.groupSize === undefined
    ? { ...storage, groupSize: CSR_INT8_DEFAULT_GROUP }
    : storage;
}

/**
 * The magnitude below which entries are pruned so that `sparsity` of all the matrices' entries together
 * go (ties at the threshold kept): the smallest kept magnitude. 0 (nothing is below it) for sparsity 0,
 * Infinity for 1.
 *
 * @example
 * ```ts
 * const t = globalPruneThreshold([wIh, wHh, decoder], 0.8);
 * pruneMethod.encode(decoder, { kind: "prune", sparsity: 0.8, scope: "global", threshold: t, storage }, "decoder");
 * ```
 * With a `block` shape the magnitudes are block norms ({@link pruneScores}).
 */
export function globalPruneThreshold(
  matrices: readonly IrMatrix[],
  sparsity: number,
  block?: BlockShape,
): number {
  const scores = matrices.map((m) => pruneScores(m, block));
  const total = scores.reduce((s, m) => s + m.length, 0);
  const k = Math.round(sparsity * total);
  if (k <= 0) return 0;
  if (k >= total) return Infinity;
  const mags = new Float32Array(total);
  let at = 0;
  for (const m of scores) {
    mags.set(m, at);
    at += m.length;
  }
  mags.sort();
  return mags[k];
}

/** What pruning ranks: |x| of every entry, or with a `block` shape the L2 norm of every block. */
export function pruneScores(m: IrMatrix, block?: BlockShape): Float32Array {
  return block === undefined ? Float32Array.from(m.data, Math.abs) : blockNorms(m, block);
}

/** Which scores a per-tensor prune keeps: all but the `count` smallest (ties: lower index first). */
function keepSmallestPruned(mags: Float32Array, count: number): Uint8Array {
  const keep = new Uint8Array(mags.length).fill(1);
  if (count <= 0) return keep;
  if (count >= mags.length) return keep.fill(0);
  const sorted = mags.slice().sort();
  const t = sorted[count - 1]; // the largest pruned magnitude
  let below = 0;
  for (let i = 0; i < count; i++) if (sorted[i] < t) below++;
  let ties = count - below; // how many entries equal to t are pruned, in index order
  for (let i = 0; i < mags.length; i++) {
    if (mags[i] < t) keep[i] = 0;
    else if (mags[i] === t && ties > 0) {
      keep[i] = 0;
      ties--;
    }
  }
  return keep;
}

/**
 * Stores the kept entries of `m` (keep[i] ≠ 0) as SparseCsr with values in `storage`. Column indices are
 * 16-bit where the columns allow (≤ 65 536), else 32-bit; `colIdxBits` forces a width (32 is valid for any
 * matrix, which the verifier's tests need).
 */
export function encodeCsr(
  m: IrMatrix,
  keep: Uint8Array,
  storage: StorageSpec,
  { colIdxBits = m.cols <= 65536 ? 16 : 32 }: { colIdxBits?: 16 | 32 } = {},
): EncodedMatrix {
  if (colIdxBits === 16 && m.cols > 65536) {
    throw new Error(`Matrix "${m.name}": ${m.cols} columns do not fit 16-bit CSR column indices`);
  }
  const rowPtr = new Uint32Array(m.rows + 1);
  let nnz = 0;
  for (let i = 0; i < keep.length; i++) if (keep[i]) nnz++;
  const colIdx = colIdxBits === 16 ? new Uint16Array(nnz) : new Uint32Array(nnz);
  const values = new Float32Array(nnz);
  let k = 0;
  for (let r = 0; r < m.rows; r++) {
    for (let c = 0; c < m.cols; c++) {
      const i = r * m.cols + c;
      if (!keep[i]) continue;
      colIdx[k] = c;
      values[k++] = m.data[i];
    }
    rowPtr[r + 1] = k;
  }
  const v = encodeStorage(
    { name: `${m.name}.values`, rows: 1, cols: nnz, data: values },
    csrValueStorage(storage),
  );
  return { name: m.name, rows: m.rows, cols: m.cols, encoding: { kind: "csr", rowPtr, colIdx, values: v } };
}

/** Dense float32 reconstruction of a SparseCsr matrix (zeros where nothing is stored). */
export function csrToDense(e: EncodedMatrix): Float32Array {
  const enc = e.encoding;
  if (enc.kind !== "csr") throw new Error(`csrToDense: "${e.name}" is ${enc.kind}, not csr`);
  const values = decodeStorage(enc.values);
  const out = new Float32Array(e.rows * e.cols);
  for (let r = 0; r < e.rows; r++) {
    for (let k = enc.rowPtr[r]; k < enc.rowPtr[r + 1]; k++) out[r * e.cols + enc.colIdx[k]] = values[k];
  }
  return out;
}

/**
 * `--method prune:S[+storage]` (per tensor) and `--prune-scope global` / a recipe rule's
 * `"scope": "global"` (one threshold across the rule's matrices, set by the pipeline in `threshold`).
 *
 * @example
 * ```ts
 * const { encoded, detail } = pruneMethod.encode(decoder, { kind: "prune", sparsity: 0.8, storage: { type: "int8" } }, "decoder");
 * // detail: "sparsity 0.800 (nnz 400000 of 2000000), 16-bit indices, values int8 g64"
 * ```
 */
export const pruneMethod: CompressionMethod<PruneSpec> = {
  kind: "prune",
  encode(m, spec) {
    checkPruneSpec(spec);
    const block = blockShapeOf(spec);
    const scores = pruneScores(m, block);
    let keep: Uint8Array;
    if (spec.threshold !== undefined) {
      const t = spec.threshold;
      keep = new Uint8Array(scores.length);
      for (let i = 0; i < keep.length; i++) keep[i] = scores[i] < t ? 0 : 1;
    } else {
      keep = keepSmallestPruned(scores, Math.round(spec.sparsity * scores.length));
    }
    const scope = spec.threshold !== undefined ? `, global |x| < ${spec.threshold.toPrecision(4)}` : "";
    if (block) {
      const encoded = encodeBlocks(m, keep, spec.storage, block);
      const enc = encoded.encoding as Extract<EncodedMatrix["encoding"], { kind: "blocks" }>;
      const n = enc.blockIdx.length;
      const achieved = scores.length ? 1 - n / scores.length : 0;
      return {
        encoded,
        detail: `block sparsity ${
          achieved.toFixed(3)
        } (${n} of ${scores.length} blocks of ${block.rows}×${block.cols}${
          scope.replace("|x|", "block norm")
        }), values ${describeStorage(blockValueStorage(spec.storage, block), n * block.rows * block.cols)}`,
      };
    }
    const encoded = encodeCsr(m, keep, spec.storage);
    const enc = encoded.encoding as Extract<EncodedMatrix["encoding"], { kind: "csr" }>;
    const nnz = enc.colIdx.length;
    const n = m.data.length;
    const achieved = n ? 1 - nnz / n : 0;
    return {
      encoded,
      detail: `sparsity ${achieved.toFixed(3)} (nnz ${nnz} of ${n}${scope}), ` +
        `${enc.colIdx instanceof Uint16Array ? 16 : 32}-bit indices, values ${
          describeStorage(csrValueStorage(spec.storage), nnz)
        }`,
    };
  },
};
