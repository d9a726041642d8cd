/**
 * The memory the WASM kernels need beside their operands, sized for a matrix: what the runtime's operators
 * (runtime/operators/) allocate once per matrix at load, and what the tests allocate to call the kernels.
 * @module
 */

/** Quantized matrix codes: 8 or 4 bits per element. */
export type QuantBits = 8 | 4;

/**
 * Bytes of scratch the quantized kernels need for a matrix of `cols` columns: 16 · ceil32(cols + 8), room
 * for int16 copies of x (4 timesteps and a staging copy) or the relaxed module's int8 copies and sums.
 */
export function quantizedScratchBytes(cols: number): number {
  return 16 * ((cols + 39) & ~31);
}

/**
 * Bytes of scratch the f16 products need for a matrix of `cols` columns (as/f16.ts, prepared x): x · 2^112
 * for four timesteps.
 */
export function f16ScratchBytes(cols: number): number {
  return 16 * ((cols + 3) & ~3);
}

/**
 * Bytes of the copy of an f16 matrix that f16_interleave writes and matvec_f16 / matvec_f16r read (as/matvec.ts):
 * 64 per whole quad of rows and whole 8-column chunk (the remaining rows and columns are read from W).
 */
export function f16InterleavedBytes(rows: number, cols: number): number {
  return rows <= 0 || cols <= 0 ? 0 : 64 * Math.floor(rows / 4) * Math.floor(cols / 8);
}

/**
 * Bytes of scratch the SparseBlocks kernels need for a matrix of `cols` columns (as/blocks.ts): x copied
 * as f32 or int16, zero-padded to whole blocks of up to 16 columns.
 */
export function blocksScratchBytes(cols: number): number {
  return 4 * ((cols + 31) & ~15);
}

/**
 * Bytes of the prepared table of a quantized matrix, written once per matrix (layouts in as/prepared.ts) by the
 * relaxed module's q8_prepare (int8: 16 per group and quad of rows, twice: offset sums and scales) or
 * kernels.wasm's q4_prepare (int4: the scales, 64 per group and block of four quads, the last block padded,
 * then at {@link q4PrepCodesOffset} a biased copy of the codes, four rows interleaved: 16 bytes per quad of
 * rows and chunk of 8 columns, in blocks of four quads, each group padded to whole chunks), that the int4
 * matvecs, plain and relaxed, read instead of the file's. (int8's interleaved codes: {@link q8InterleavedBytes}.)
 */
export function preparedTableBytes(bits: QuantBits, rows: number, cols: number, group: number): number {
  if (rows <= 0 || cols <= 0) return 0;
  const n = 16 * Math.ceil(rows / 4) * Math.ceil(cols / Math.max(1, Math.min(group, cols)));
  if (bits === 4) {
    return q4PrepCodesOffset(rows, cols, group) + 64 * Math.ceil(rows / 16) * q4Chunks(cols, group);
  }
  return 2 * n;
}

/**
 * Bytes of the copy of an int8 matrix that q8_interleave writes and matvec_q8 / matvec_q8r read
 * (as/quantized.ts): 128 per whole block of eight rows and 16-column chunk, where cols is a multiple of 8
 * and groups are whole chunks (or one per row); else 0 (no copy: the products read the rows as stored).
 */
export function q8InterleavedBytes(rows: number, cols: number, group: number): number {
  const interleaved = cols > 0 && cols % 8 === 0 && (group >= cols || group % 16 === 0);
  return interleaved ? 128 * Math.floor(rows / 8) * Math.ceil(cols / 16) : 0;
}

/** Chunks of 8 columns in a row of the prepared int4 copy: ⌈group/8⌉ per group, the last ⌈its columns/8⌉. */
function q4Chunks(cols: number, group: number): number {
  const g = Math.max(1, Math.min(group, cols));
  const groups = Math.ceil(cols / g);
  return (groups - 1) * Math.ceil(g / 8) + Math.ceil((cols - (groups - 1) * g) / 8);
}

/** Byte offset, within an int4 matrix's prepared table, of the biased codes q4_prepare writes. */
export function q4PrepCodesOffset(rows: number, cols: number, group: number): number {
  return 64 * Math.ceil(rows / 16) * Math.ceil(cols / Math.max(1, Math.min(group, cols)));
}

/**
 * Floats in each of the two work buffers the WASM kernels need: the largest intermediate of the
 * right-to-left matvec, max(∏n, max_k (∏_{l≥k} m_l)(∏_{l<k} n_l)·R_k) (see as/tt.ts).
 */
export function ttWorkFloats(
  rowModes: readonly number[],
  colModes: readonly number[],
  ranks: readonly number[],
): number {
  const d = rowModes.length;
  let best = colModes.reduce((p, v) => p * v, 1);
  for (let k = 0; k < d; k++) {
    const mFrom = rowModes.slice(k).reduce((p, v) => p * v, 1);
    const nBefore = colModes.slice(0, k).reduce((p, v) => p * v, 1);
    best = Math.max(best, mFrom * nBefore * ranks[k]);
  }
  return best;
}
