/**
 * The sliced copy of a CSR matrix with int8 values that the relaxed module's csr_matvec_q8r runs
 * (kernels/as/relaxed.ts): the same non-zeros, regrouped so that one i8x16 swizzle gathers 16 of them
 * from x and one relaxed dot product multiplies them — CSR's one scalar load of x per non-zero is what
 * made unstructured pruning slower than dense.
 *
 * - A row's non-zeros are cut where their scale group changes (CSR int8 values have one scale per `group`
 *   consecutive non-zeros): each piece, a *segment*, has one row and one scale.
 * - Segments are ordered by the 16-column blocks they span (first, last, then length: quads of segments
 *   over the same blocks leave fewer slots empty — on PTB's 80 % decoder 37 % fewer slices than in row
 *   order) and go in fours, a *quad*: the four i32 lanes of the dot product.
 * - For each quad and block (one v128 of x's int8 codes), each lane's non-zeros in that block fill four
 *   byte slots of a *slice* (16 local column indices 0..15, 16 codes), as many slices as the fullest lane
 *   needs; unused slots hold index 0 and code 0.
 *
 * Layout (byte offsets from the start, 16-byte aligned; Q quads, L slices):
 *   [0, 64·Q)            quad q at 64·q: segment rows i32 × 4, scales f32 × 4, 64·Σ codes i32 × 4 (the
 *                        kernels' offset, as/relaxed.ts), end of its slices i32 (exclusive), 12 bytes 0
 *   [64·Q, 64·Q + 32·L)  slice s: local column indices u8 × 16, codes i8 × 16 (lane j: bytes 4j..4j+3)
 *   then 4·L             slice s: byte offset of its block in x's codes, 16 · block
 * A padding lane (the last quad's) has row 0, scale 0 and no slots.
 * @module
 */

/** Where a CSR matrix's non-zeros are (views of the file in WASM memory): all the counts depend on. */
export interface CsrPositions {
  rows: number;
  rowPtr: Uint32Array;
  colIdx: Uint16Array;
  /** Non-zeros per scale of the int8 values. */
  group: number;
}

/** A CSR matrix with int8 values: its positions, codes and scales (f32, one per `group` non-zeros). */
export interface CsrArrays extends CsrPositions {
  codes: Int8Array;
  scales: Float32Array;
}

/** Quads and slices of a sliced copy. */
export interface SliceCounts {
  quads: number;
  slices: number;
}

/** Bytes of the sliced copy with these counts. */
export function slicedBytes(c: SliceCounts): number {
  return 64 * c.quads + 36 * c.slices;
}

/**
 * The walk behind {@link sliceCounts} and {@link writeSlices}: with `out` (the copy's bytes, its size
 * known from a first walk without) it writes, else it only counts.
 */
function walk(
  a: CsrPositions,
  out?: { bytes: Uint8Array; counts: SliceCounts; codes: Int8Array; scales: Float32Array },
): SliceCounts {
  const { rowPtr, colIdx, group } = a;
  // Segments [row, k0, k1): a row's non-zeros cut where the scale group changes. Typed arrays and a stable
  // counting sort rather than arrays and a comparator: this runs at load and at the first product, mostly
  // before the JIT has compiled anything (PTB-small prune:0.8+int8 from bytes to its first next-token
  // output: 51 ms with arrays and a comparator, 42 ms so).
  let count = 0;
  for (let r = 0; r < a.rows; r++) {
    for (
      let k = rowPtr[r];
      k < rowPtr[r + 1];
      k = Math.min(rowPtr[r + 1], (Math.floor(k / group) + 1) * group)
    ) {
      count++;
    }
  }
  const segRow = new Int32Array(count);
  const segK0 = new Int32Array(count);
  const segK1 = new Int32Array(count);
  const firstBlock = new Int32Array(count);
  const lastBlock = new Int32Array(count);
  const length = new Int32Array(count);
  let maxBlock = 0;
  let maxLength = 0;
  for (let r = 0, s = 0; r < a.rows; r++) {
    for (let k = rowPtr[r]; k < rowPtr[r + 1]; s++) {
      const end = Math.min(rowPtr[r + 1], (Math.floor(k / group) + 1) * group);
      segRow[s] = r;
      segK0[s] = k;
      segK1[s] = end;
      firstBlock[s] = colIdx[k] >> 4;
      lastBlock[s] = colIdx[end - 1] >> 4;
      length[s] = end - k;
      maxBlock = Math.max(maxBlock, lastBlock[s]);
      maxLength = Math.max(maxLength, end - k);
      k = end;
    }
  }
  // In block order (module doc): by first block, then last block, then length, ties in row order — least
  // significant key first, each pass stable — so the order is a function of the non-zeros' positions alone.
  let order: Int32Array<ArrayBuffer> = Int32Array.from({ length: count }, (_, i) => i);
  order = stableSortBy(order, length, maxLength);
  order = stableSortBy(order, lastBlock, maxBlock);
  order = stableSortBy(order, firstBlock, maxBlock);
  const seg = new Int32Array(3 * count);
  for (let i = 0; i < count; i++) {
    const s = order[i];
    seg[3 * i] = segRow[s];
    seg[3 * i + 1] = segK0[s];
    seg[3 * i + 2] = segK1[s];
  }
  const quads = Math.ceil(seg.length / 12);
  const b = out?.bytes;
  const codes = out?.codes;
  const head = b && new Int32Array(b.buffer, b.byteOffset, 16 * quads);
  const headF = b && new Float32Array(b.buffer, b.byteOffset, 16 * quads);
  const data = 64 * quads;
  const xoff = b &&
    new Uint32Array(b.buffer, b.byteOffset + data + 32 * out.counts.slices, out.counts.slices);
  const at = new Int32Array(4);
  const end = new Int32Array(4);
  const first = new Int32Array(4);
  let slices = 0;
  for (let q = 0; q < quads; q++) {
    for (let j = 0; j < 4; j++) {
      const i = 3 * (4 * q + j);
      const used = i < seg.length;
      at[j] = used ? seg[i + 1] : 0;
      end[j] = used ? seg[i + 2] : 0;
      if (head && used) {
        let sum = 0;
        for (let k = at[j]; k < end[j]; k++) sum += out.codes[k];
        head[16 * q + j] = seg[i];
        headF![16 * q + 4 + j] = out.scales[Math.floor(at[j] / group)];
        head[16 * q + 8 + j] = 64 * sum;
      }
    }
    for (;;) {
      // The next block any lane has non-zeros in (each lane's columns ascend), and its slices.
      let block = 0x7fffffff;
      for (let j = 0; j < 4; j++) if (at[j] < end[j]) block = Math.min(block, colIdx[at[j]] >> 4);
      if (block === 0x7fffffff) break;
      let need = 0;
      for (let j = 0; j < 4; j++) {
        first[j] = at[j];
        while (at[j] < end[j] && colIdx[at[j]] >> 4 === block) at[j]++;
        need = Math.max(need, (at[j] - first[j] + 3) >> 2);
      }
      if (b) {
        for (let j = 0; j < 4; j++) {
          const f = first[j];
          const e = at[j];
          const base = data + 32 * slices + 4 * j;
          for (let k = f; k < e; k++) {
            const p = base + 32 * ((k - f) >> 2) + ((k - f) & 3);
            b[p] = colIdx[k] & 15;
            b[p + 16] = codes![k];
          }
        }
        for (let t = 0; t < need; t++) xoff![slices + t] = 16 * block;
      }
      slices += need;
    }
    if (head) head[16 * q + 12] = slices;
  }
  return { quads, slices };
}

/** `order` stably sorted by key[order[i]] (integers 0..max): one counting-sort pass. */
function stableSortBy(order: Int32Array, key: Int32Array, max: number): Int32Array<ArrayBuffer> {
  const start = new Int32Array(max + 2);
  for (let i = 0; i < order.length; i++) start[key[order[i]] + 1]++;
  for (let v = 1; v <= max + 1; v++) start[v] += start[v - 1];
  const out = new Int32Array(order.length);
  for (let i = 0; i < order.length; i++) out[start[key[order[i]]]++] = order[i];
  return out;
}

/** The counts of `a`'s sliced copy (they depend only on where the non-zeros are). */
export function sliceCounts(a: CsrPositions): SliceCounts {
  return walk(a);
}

/**
 * Writes `a`'s sliced copy into `out` ({@link slicedBytes} of its counts, 4-byte aligned). Returns the
 * counts; `counts`, when the caller has them ({@link sliceCounts} of the same `a`), saves counting again.
 */
export function writeSlices(
  a: CsrArrays,
  out: Uint8Array,
  counts: SliceCounts = sliceCounts(a),
): SliceCounts {
  const bytes = out.subarray(0, slicedBytes(counts));
  bytes.fill(0); // unused slots: index 0, code 0; padding lanes: row 0, scale 0
  return walk(a, { bytes, counts, codes: a.codes, scales: a.scales });
}
