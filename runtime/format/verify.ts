/**
 * Verifies a `.lem` file before anything else reads it.
 *
 * The FlatBuffers TypeScript library has no verifier: on a corrupt file its accessors read garbage or
 * throw RangeError. `verifyLem` walks the raw bytes itself, following the FlatBuffers binary format
 * (root uoffset → table → vtable → fields; vectors, strings, unions, vectors of tables), checking every
 * offset, size and alignment before following it, and then the format's own rules: version, required
 * fields, enum values, shapes, and the invariants of every encoding (schema/SPEC.md, "What the verifier
 * guarantees"). Every problem raises a {@link LemFormatError} naming the field.
 *
 * Cost: linear in the file size. Each table, vector element and string byte inspected is charged against
 * a budget of twice the file size; a file whose objects are shared or overlap so much that it would
 * exceed it is rejected. Nothing is allocated in proportion to the shapes a file claims.
 * @module
 */

import { FILE_IDENTIFIER, FILE_SIZE_MULTIPLE, FORMAT_MAJOR, LITTLE_ENDIAN } from "./constants.ts";
import { LemFormatError } from "./errors.ts";
import { FNV_PRIME, TOKEN_HASH_START, tokenHash, VocabIndex } from "../vocab_index.ts";

/** Smallest possible file: root offset, identifier, one table and its vtable. */
export const MIN_FILE_SIZE = 16;

/** Names of the schema's union Encoding, by type byte. */
export const ENCODING_NAMES = [
  "NONE",
  "Dense",
  "Quantized",
  "LowRank",
  "TensorTrain",
  "SparseCsr",
  "SparseBlocks",
] as const;
const KNOWN_ENCODINGS = "1 Dense, 2 Quantized, 3 LowRank, 4 TensorTrain, 5 SparseCsr, 6 SparseBlocks";
const MAX_OFFSET = 0x7fffffff;
const TWO_POW_32 = 2 ** 32;

/** A table whose header has been checked. */
interface Table {
  /** Position of the table (its soffset) in the file. */
  pos: number;
  vt: number;
  vsize: number;
  tsize: number;
  path: string;
}

/** A vector whose bounds have been checked: `start` is the first element's position. */
interface Vec {
  start: number;
  length: number;
}

/** Matrix shape returned by the matrix check. */
interface Shape {
  rows: number;
  cols: number;
}

function join(base: string, name: string): string {
  return base === "" ? name : `${base}.${name}`;
}

/** rows × cols × … as an exact decimal, also beyond 2^53. */
function product(...xs: number[]): string {
  return xs.reduce((a, x) => a * BigInt(x), 1n).toString();
}

/** The raw-bytes walker: bounds-checked reads of FlatBuffers structures. */
class Walker {
  readonly n: number;
  readonly b: Uint8Array;
  readonly dv: DataView;
  readonly utf8 = new TextDecoder("utf-8", { fatal: true });
  budget: number;
  /** Whether the last stringAt() was printable ASCII without spaces (then it holds no whitespace). */
  lastStringPlain = false;
  /** Char codes of the string being decoded (reused: no allocation per token). */
  readonly codes: number[] = [];

  constructor(bytes: Uint8Array) {
    this.b = bytes;
    this.n = bytes.length;
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.budget = 2 * bytes.length + 4096;
  }

  fail(path: string, problem: string): never {
    throw new LemFormatError(path, problem);
  }

  charge(units: number, path: string): void {
    this.budget -= units;
    if (this.budget < 0) {
      this.fail(
        path,
        `makes the file's objects add up to more than twice its ${this.n} bytes: objects are shared or overlap`,
      );
    }
  }

  u16(p: number): number {
    return this.dv.getUint16(p, true);
  }
  u32(p: number): number {
    return this.dv.getUint32(p, true);
  }
  i32(p: number): number {
    return this.dv.getInt32(p, true);
  }
  f32(p: number): number {
    return this.dv.getFloat32(p, true);
  }

  /** Checks a table's header and vtable. */
  table(pos: number, tablePath: string): Table {
    const n = this.n;
    const path = tablePath === "" ? "(root table)" : tablePath;
    if (pos % 4 !== 0) this.fail(path, `is a table at byte ${pos}, which is not a multiple of 4`);
    if (pos + 4 > n) this.fail(path, `is a table at byte ${pos}, past the end of the ${n}-byte file`);
    const vt = pos - this.i32(pos);
    if (vt < 0 || vt + 4 > n) this.fail(path, `has its vtable at byte ${vt}, outside the ${n}-byte file`);
    if (vt % 2 !== 0) this.fail(path, `has its vtable at odd byte ${vt}`);
    const vsize = this.u16(vt);
    const tsize = this.u16(vt + 2);
    if (vsize < 4 || vsize % 2 !== 0 || vsize > 0x7ffe) {
      this.fail(path, `has a vtable of ${vsize} bytes, expected an even size from 4 to 32766`);
    }
    if (vt + vsize > n) {
      this.fail(path, `has a ${vsize}-byte vtable at byte ${vt}, past the end of the ${n}-byte file`);
    }
    if (tsize < 4 || tsize > 0x7fff) {
      this.fail(path, `has an inline size of ${tsize} bytes, expected 4 to 32767`);
    }
    if (pos + tsize > n) {
      this.fail(path, `has ${tsize} bytes at byte ${pos}, past the end of the ${n}-byte file`);
    }
    this.charge(1, path);
    return { pos, vt, vsize, tsize, path: tablePath };
  }

  /** Position of field `id` (`size` bytes, aligned to `size`) in table `t`, or 0 when absent. */
  field(t: Table, id: number, size: number, name: string): number {
    const vo = 4 + 2 * id;
    if (vo >= t.vsize) return 0;
    const fo = this.u16(t.vt + vo);
    if (fo === 0) return 0;
    const path = join(t.path, name);
    if (fo < 4 || fo + size > t.tsize) {
      this.fail(path, `lies at bytes ${fo}..${fo + size} of its table, outside the table's ${t.tsize} bytes`);
    }
    const p = t.pos + fo;
    if (p % size !== 0) this.fail(path, `is misaligned: byte ${p} is not a multiple of ${size}`);
    return p;
  }

  u8Field(t: Table, id: number, name: string, dflt: number): number {
    const p = this.field(t, id, 1, name);
    return p ? this.b[p] : dflt;
  }
  u16Field(t: Table, id: number, name: string, dflt: number): number {
    const p = this.field(t, id, 2, name);
    return p ? this.u16(p) : dflt;
  }
  u32Field(t: Table, id: number, name: string, dflt: number): number {
    const p = this.field(t, id, 4, name);
    return p ? this.u32(p) : dflt;
  }
  i32Field(t: Table, id: number, name: string, dflt: number): number {
    const p = this.field(t, id, 4, name);
    return p ? this.i32(p) : dflt;
  }

  /** Follows the uoffset stored at `p`; returns the target position. */
  follow(p: number, path: string): number {
    const u = this.u32(p);
    if (u === 0) this.fail(path, `holds offset 0 at byte ${p}, which points to itself`);
    if (u > MAX_OFFSET) this.fail(path, `holds offset ${u} at byte ${p}, beyond the 2 GiB limit`);
    const target = p + u;
    if (target >= this.n) {
      this.fail(path, `points to byte ${target}, past the end of the ${this.n}-byte file`);
    }
    return target;
  }

  /** Target of offset field `id`, or 0 when absent. */
  offsetField(t: Table, id: number, name: string): number {
    const p = this.field(t, id, 4, name);
    return p ? this.follow(p, join(t.path, name)) : 0;
  }

  /** Checks a vector of `elemSize`-byte elements at `v` (its length word). */
  vectorAt(v: number, elemSize: number, path: string): Vec {
    if (v % 4 !== 0) this.fail(path, `is a vector at byte ${v}, which is not a multiple of 4`);
    if (v + 4 > this.n) this.fail(path, `is a vector at byte ${v}, past the end of the ${this.n}-byte file`);
    const length = this.u32(v);
    const available = this.n - v - 4;
    if (length > MAX_OFFSET || length * elemSize > available) {
      this.fail(
        path,
        `claims ${length} elements (${product(length, elemSize)} bytes) at byte ${v}, ` +
          `but only ${available} bytes follow in the file`,
      );
    }
    return { start: v + 4, length };
  }

  vectorField(t: Table, id: number, name: string, elemSize: number): Vec | null {
    const v = this.offsetField(t, id, name);
    return v ? this.vectorAt(v, elemSize, join(t.path, name)) : null;
  }

  /** Checks a string at `v` and returns its text (valid UTF-8, NUL-terminated). */
  stringAt(v: number, path: string): string {
    const s = this.vectorAt(v, 1, path);
    const end = s.start + s.length;
    if (end >= this.n || this.b[end] !== 0) this.fail(path, `is a string without its NUL terminator`);
    this.charge(s.length + 1, path);
    // Short printable ASCII (every PTB token) without TextDecoder: one call each would dominate loading a
    // 10 000-word vocabulary.
    this.lastStringPlain = false;
    if (s.length <= 64) {
      const codes = this.codes;
      codes.length = s.length;
      let plain = true;
      for (let i = s.start; i < end; i++) {
        const c = this.b[i];
        if (c <= 0x20 || c > 0x7e) {
          plain = false;
          break;
        }
        codes[i - s.start] = c;
      }
      if (plain) {
        this.lastStringPlain = true;
        return String.fromCharCode.apply(null, codes);
      }
    }
    try {
      return this.utf8.decode(this.b.subarray(s.start, end));
    } catch {
      return this.fail(path, `is not valid UTF-8`);
    }
  }

  stringField(t: Table, id: number, name: string): string | null {
    const v = this.offsetField(t, id, name);
    return v ? this.stringAt(v, join(t.path, name)) : null;
  }

  tableField(t: Table, id: number, name: string): Table | null {
    const p = this.offsetField(t, id, name);
    return p ? this.table(p, join(t.path, name)) : null;
  }

  /** Element `i` of a vector of tables or strings: the target of its uoffset. */
  elementTarget(vec: Vec, i: number, path: string): number {
    return this.follow(vec.start + 4 * i, path);
  }
}

function required<T>(w: Walker, value: T | null, path: string): T {
  if (value === null) w.fail(path, `is missing (required)`);
  return value;
}

/**
 * Checks a Matrix table and its encoding; returns its shape. `nested` matrices (inside LowRank,
 * TensorTrain, SparseCsr, SparseBlocks) must be Dense or Quantized.
 */
function verifyMatrix(w: Walker, t: Table, nested: boolean): Shape {
  w.stringField(t, 0, "name");
  const rows = w.u32Field(t, 1, "rows", 0);
  const cols = w.u32Field(t, 2, "cols", 0);
  const type = w.u8Field(t, 3, "encoding_type", 0);
  if (type >= ENCODING_NAMES.length) {
    w.fail(
      join(t.path, "encoding_type"),
      `is ${type}, not a known Encoding (${KNOWN_ENCODINGS}); the file may need a newer lstm-edge`,
    );
  }
  const value = w.offsetField(t, 4, "encoding");
  if (type === 0 || value === 0) w.fail(join(t.path, "encoding"), `is missing (required)`);
  const kind = ENCODING_NAMES[type];
  if (nested && type > 2) {
    w.fail(
      join(t.path, "encoding"),
      `is ${kind}; matrices inside LowRank, TensorTrain, SparseCsr and SparseBlocks must be Dense or Quantized`,
    );
  }
  const e = w.table(value, join(t.path, `encoding(${kind})`));
  switch (type) {
    case 1:
      verifyDense(w, e, rows, cols);
      break;
    case 2:
      verifyQuantized(w, e, rows, cols);
      break;
    case 3:
      verifyLowRank(w, e, rows, cols);
      break;
    case 4:
      verifyTensorTrain(w, e, rows, cols);
      break;
    case 5:
      verifySparseCsr(w, e, rows, cols);
      break;
    case 6:
      verifySparseBlocks(w, e, rows, cols);
      break;
  }
  return { rows, cols };
}

function verifyDense(w: Walker, e: Table, rows: number, cols: number): void {
  const ft = w.u8Field(e, 0, "type", 0);
  if (ft > 1) w.fail(join(e.path, "type"), `is ${ft}, not a known FloatType (0 F32, 1 F16)`);
  const width = ft === 0 ? 4 : 2;
  const length = w.vectorField(e, 1, "data", 1)?.length ?? 0;
  if (length !== rows * cols * width) {
    w.fail(
      join(e.path, "data"),
      `holds ${length} bytes, expected ${product(rows, cols, width)} ` +
        `(${rows} rows × ${cols} cols × ${width} bytes for ${ft === 0 ? "F32" : "F16"})`,
    );
  }
}

function verifyQuantized(w: Walker, e: Table, rows: number, cols: number): void {
  const bits = w.u8Field(e, 0, "bits", 0);
  if (bits !== 4 && bits !== 8) w.fail(join(e.path, "bits"), `is ${bits}, expected 4 or 8`);
  const groupSize = w.u32Field(e, 1, "group_size", 0);
  if (groupSize < 1) w.fail(join(e.path, "group_size"), `is 0, expected at least 1`);
  const groups = Math.ceil(cols / groupSize);
  const scales32 = w.vectorField(e, 2, "scales", 4);
  const scales16 = w.vectorField(e, 4, "scales_f16", 2);
  if (scales32 !== null && scales16 !== null) {
    w.fail(join(e.path, "scales_f16"), `is present beside scales: at most one of scales and scales_f16`);
  }
  const scalesName = scales16 !== null ? "scales_f16" : "scales";
  const nScales = (scales16 ?? scales32)?.length ?? 0;
  if (nScales !== rows * groups) {
    w.fail(
      join(e.path, scalesName),
      `holds ${nScales} scales, expected ${product(rows, groups)} ` +
        `(${rows} rows × ${groups} groups of up to ${groupSize} columns)`,
    );
  }
  if (scales16 !== null) {
    w.charge(nScales, join(e.path, scalesName));
    // A Uint16Array where they are 2-byte aligned in memory (always inside the runtime), as for f32 scales
    // below: a DataView call per scale costs a cold start milliseconds. Exponent bits all set: ±∞ or NaN.
    const at = w.b.byteOffset + scales16.start;
    const view = at % 2 === 0 && LITTLE_ENDIAN ? new Uint16Array(w.b.buffer, at, nScales) : null;
    for (let i = 0; i < nScales; i++) {
      const h = view !== null ? view[i] : w.u16(scales16.start + 2 * i);
      if ((h & 0x7c00) === 0x7c00) {
        w.fail(join(e.path, scalesName), `holds a non-finite scale (0x${h.toString(16)}) at index ${i}`);
      }
    }
  }
  const scales = scales32;
  if (scales !== null) {
    w.charge(nScales, join(e.path, "scales"));
    const at = w.b.byteOffset + scales.start;
    // A Float32Array over the scales where they are 4-byte aligned in memory (always inside the runtime):
    // in a cold process, 10⁵ DataView calls cost milliseconds of start-up. s − s is NaN for ±∞ and NaN.
    const view = at % 4 === 0 && LITTLE_ENDIAN ? new Float32Array(w.b.buffer, at, nScales) : null;
    for (let i = 0; i < nScales; i++) {
      const s = view !== null ? view[i] : w.f32(scales.start + 4 * i);
      if (s - s !== 0) w.fail(join(e.path, "scales"), `holds a non-finite scale (${s}) at index ${i}`);
    }
  }
  const rowBytes = bits === 8 ? cols : Math.ceil(cols / 2);
  const length = w.vectorField(e, 3, "data", 1)?.length ?? 0;
  if (length !== rows * rowBytes) {
    w.fail(
      join(e.path, "data"),
      `holds ${length} bytes, expected ${product(rows, rowBytes)} ` +
        `(${rows} rows × ${rowBytes} bytes for ${cols} cols of int${bits})`,
    );
  }
}

function verifyLowRank(w: Walker, e: Table, rows: number, cols: number): void {
  const at = required(w, w.tableField(e, 0, "a"), join(e.path, "a"));
  const bt = required(w, w.tableField(e, 1, "b"), join(e.path, "b"));
  const a = verifyMatrix(w, at, true);
  const b = verifyMatrix(w, bt, true);
  if (a.rows !== rows) w.fail(join(at.path, "rows"), `is ${a.rows}, expected ${rows} (the matrix's rows)`);
  if (b.cols !== cols) w.fail(join(bt.path, "cols"), `is ${b.cols}, expected ${cols} (the matrix's cols)`);
  if (a.cols < 1) w.fail(join(at.path, "cols"), `is 0; the rank must be at least 1`);
  if (b.rows !== a.cols) w.fail(join(bt.path, "rows"), `is ${b.rows}, expected ${a.cols} (a.cols, the rank)`);
}

function verifyTensorTrain(w: Walker, e: Table, rows: number, cols: number): void {
  const rowModes = w.vectorField(e, 0, "row_modes", 4);
  const colModes = w.vectorField(e, 1, "col_modes", 4);
  const ranks = w.vectorField(e, 2, "ranks", 4);
  const cores = w.vectorField(e, 3, "cores", 4);
  const d = rowModes?.length ?? 0;
  if (rowModes === null || d < 1) {
    w.fail(join(e.path, "row_modes"), `is empty; a TensorTrain has at least one core`);
  }
  const expectLength = (v: Vec | null, name: string, want: string, expected: number) => {
    const got = v?.length ?? 0;
    if (got !== expected) w.fail(join(e.path, name), `holds ${got} entries, expected ${expected} (${want})`);
    return v as Vec;
  };
  const cm = expectLength(colModes, "col_modes", "one per core, as row_modes", d);
  const rk = expectLength(ranks, "ranks", "cores + 1", d + 1);
  const cv = expectLength(cores, "cores", "one per row mode", d);
  w.charge(3 * d + 1, e.path);
  const modeProduct = (v: Vec, name: string, size: number, what: string) => {
    let prod = 1;
    for (let k = 0; k < d; k++) {
      const m = w.u32(v.start + 4 * k);
      if (m < 1) w.fail(join(e.path, `${name}[${k}]`), `is 0, expected at least 1`);
      prod = Math.min(prod * m, TWO_POW_32);
    }
    if (prod < size) {
      w.fail(join(e.path, name), `multiply to ${prod}, fewer than the matrix's ${size} ${what}`);
    }
    if (prod >= TWO_POW_32) w.fail(join(e.path, name), `multiply to 2^32 or more`);
  };
  modeProduct(rowModes, "row_modes", rows, "rows");
  modeProduct(cm, "col_modes", cols, "cols");
  for (let k = 0; k <= d; k++) {
    const r = w.u32(rk.start + 4 * k);
    if (r < 1) w.fail(join(e.path, `ranks[${k}]`), `is 0, expected at least 1`);
    if ((k === 0 || k === d) && r !== 1) {
      w.fail(join(e.path, `ranks[${k}]`), `is ${r}, expected 1 (first and last rank)`);
    }
  }
  for (let k = 0; k < d; k++) {
    const path = join(e.path, `cores[${k}]`);
    const core = w.table(w.elementTarget(cv, k, path), path);
    const shape = verifyMatrix(w, core, true);
    const r0 = w.u32(rk.start + 4 * k);
    const r1 = w.u32(rk.start + 4 * (k + 1));
    const m = w.u32(rowModes.start + 4 * k);
    const n = w.u32(cm.start + 4 * k);
    if (shape.rows !== r0) w.fail(join(path, "rows"), `is ${shape.rows}, expected ${r0} (ranks[${k}])`);
    if (shape.cols !== m * n * r1) {
      w.fail(
        join(path, "cols"),
        `is ${shape.cols}, expected ${product(m, n, r1)} ` +
          `(row_modes[${k}] ${m} × col_modes[${k}] ${n} × ranks[${k + 1}] ${r1})`,
      );
    }
  }
}

function verifySparseCsr(w: Walker, e: Table, rows: number, cols: number): void {
  verifySparseRows(w, e, rows, {
    fields: [0, 1, 2, 3],
    rowsName: "rows",
    idxNames: ["col_idx16", "col_idx32"],
    entry: "column index",
    entries: "column indices",
    count: "nnz",
    limit: cols,
    limitName: "cols",
    valuesPerEntry: 1,
  });
}

/**
 * SparseBlocks: block_rows ∈ {1, 4}, block_cols ∈ {4, 8, 16}; the row pointers (one per block row) and
 * block indices as SparseCsr's, with indices below ceil(cols / block_cols); values Dense F32 or Quantized
 * 8-bit with a group size that is a multiple of block_rows · block_cols, 1 × nblocks · block_rows ·
 * block_cols.
 */
function verifySparseBlocks(w: Walker, e: Table, rows: number, cols: number): void {
  const blockRows = w.u32Field(e, 0, "block_rows", 1);
  if (blockRows !== 1 && blockRows !== 4) {
    w.fail(join(e.path, "block_rows"), `is ${blockRows}, expected 1 or 4`);
  }
  const blockCols = w.u32Field(e, 1, "block_cols", 0);
  if (blockCols !== 4 && blockCols !== 8 && blockCols !== 16) {
    w.fail(join(e.path, "block_cols"), `is ${blockCols}, expected 4, 8 or 16`);
  }
  const blocksPerRow = Math.ceil(cols / blockCols);
  const blockSize = blockRows * blockCols;
  const values = verifySparseRows(w, e, Math.ceil(rows / blockRows), {
    fields: [2, 3, -1, 4],
    rowsName: `block rows (ceil(${rows} rows / ${blockRows}))`,
    idxNames: ["block_idx", null],
    entry: "block index",
    entries: "block indices",
    count: "nblocks",
    limit: blocksPerRow,
    limitName: `blocks per row (ceil(${cols} cols / ${blockCols}))`,
    valuesPerEntry: blockSize,
  });
  // The values' storage: what the block kernels run (f32, or int8 whose groups hold whole blocks).
  const type = w.u8Field(values, 3, "encoding_type", 0);
  // (verifyMatrix has checked the values table: a nested Dense or Quantized matrix.)
  const enc = w.table(
    w.offsetField(values, 4, "encoding"),
    join(values.path, `encoding(${ENCODING_NAMES[type]})`),
  );
  if (type === 1) {
    const ft = w.u8Field(enc, 0, "type", 0);
    if (ft !== 0) {
      w.fail(join(enc.path, "type"), `is ${ft}; SparseBlocks values must be F32 (0) or Quantized 8-bit`);
    }
  } else {
    const bits = w.u8Field(enc, 0, "bits", 0);
    if (bits !== 8) {
      w.fail(join(enc.path, "bits"), `is ${bits}; SparseBlocks values must be F32 or Quantized 8-bit`);
    }
    const group = w.u32Field(enc, 1, "group_size", 0);
    if (group % blockSize !== 0) {
      w.fail(
        join(enc.path, "group_size"),
        `is ${group}, not a multiple of the block size ${blockSize} (${blockRows} × ${blockCols})`,
      );
    }
  }
}

/** Vector `v` of `size`-byte little-endian unsigned integers as a typed array: a view where aligned. */
function typedVector(w: Walker, v: Vec, size: 2 | 4): Uint16Array | Uint32Array {
  const at = w.b.byteOffset + v.start;
  const aligned = LITTLE_ENDIAN && at % size === 0;
  if (size === 2) {
    return aligned
      ? new Uint16Array(w.b.buffer, at, v.length)
      : Uint16Array.from({ length: v.length }, (_, i) => w.u16(v.start + 2 * i));
  }
  return aligned
    ? new Uint32Array(w.b.buffer, at, v.length)
    : Uint32Array.from({ length: v.length }, (_, i) => w.u32(v.start + 4 * i));
}

/** What {@link verifySparseRows} checks, for SparseCsr or SparseBlocks. */
interface SparseRowsSpec {
  /** Field ids of row_ptr, the 16-bit and the 32-bit index vector (−1: none), values. */
  fields: [number, number, number, number];
  /** What the row pointers count ("rows", "block rows"). */
  rowsName: string;
  /** Names of the 16-bit and the 32-bit index vector (null: 16-bit only, and then required). */
  idxNames: [string, string | null];
  entry: string;
  entries: string;
  /** Name of the entry count in messages. */
  count: string;
  /** Every index must be below this. */
  limit: number;
  limitName: string;
  /** values.cols = entries × this. */
  valuesPerEntry: number;
}

/**
 * The row-pointer, index and values checks SparseCsr and SparseBlocks share: row_ptr has rows + 1 entries,
 * starts at 0, never decreases, ends at the entry count; exactly one index vector (the 16-bit one when
 * there is no 32-bit one), 16-bit only for a limit ≤ 65536; indices below the limit and strictly increasing within each row; values a nested 1-row matrix
 * of entries × valuesPerEntry columns. Returns the values' Matrix table.
 */
function verifySparseRows(w: Walker, e: Table, rows: number, spec: SparseRowsSpec): Table {
  const [fPtr, f16, f32, fValues] = spec.fields;
  const [name16, name32] = spec.idxNames;
  const rowPtr = w.vectorField(e, fPtr, "row_ptr", 4);
  const idx16 = w.vectorField(e, f16, name16, 2);
  const idx32 = name32 === null ? null : w.vectorField(e, f32, name32, 4);
  const valuesTable = required(w, w.tableField(e, fValues, "values"), join(e.path, "values"));
  const rpPath = join(e.path, "row_ptr");
  const nPtr = rowPtr?.length ?? 0;
  if (rowPtr === null || nPtr !== rows + 1) {
    w.fail(rpPath, `holds ${nPtr} entries, expected ${rows + 1} (${spec.rowsName} + 1)`);
  }
  if (name32 === null && idx16 === null) w.fail(join(e.path, name16), `is missing (required)`);
  if (name32 !== null && (idx16 === null) === (idx32 === null)) {
    w.fail(
      join(e.path, idx16 === null ? name32 : name16),
      `${
        idx16 === null ? "is missing" : "is present"
      }: exactly one of ${name16} and ${name32} must be present`,
    );
  }
  const idxPath = join(e.path, idx16 !== null ? name16 : name32!);
  if (idx16 !== null && spec.limit > 65536) {
    w.fail(
      idxPath,
      `is used for ${spec.limit} ${spec.limitName}; 16-bit indices allow at most 65536 (${
        name32 === null ? "such a matrix must be stored another way" : `use ${name32}`
      })`,
    );
  }
  const idx = (idx16 ?? idx32) as Vec;
  w.charge(nPtr, rpPath);
  const what = spec.valuesPerEntry === 1 ? "CSR" : "block";
  // Row pointers and indices as typed arrays: the loops below run once per stored entry, mostly before the
  // JIT has compiled anything, and a DataView read behind a closure per entry made them most of a pruned
  // model's cold start.
  const ptr = typedVector(w, rowPtr, 4);
  if (ptr[0] !== 0) w.fail(rpPath, `is invalid: ${what} row pointer 0 is ${ptr[0]}, expected 0`);
  for (let r = 1; r <= rows; r++) {
    if (ptr[r] < ptr[r - 1]) {
      w.fail(rpPath, `is invalid: ${what} row pointer ${r} decreases (${ptr[r]} < ${ptr[r - 1]})`);
    }
  }
  const n = ptr[rows];
  if (idx.length !== n) {
    w.fail(
      idxPath,
      `holds ${idx.length} ${spec.entries}, expected ${n} (the last row pointer, ${spec.count})`,
    );
  }
  const values = verifyMatrix(w, valuesTable, true);
  const expectedCols = n * spec.valuesPerEntry;
  if (values.rows !== 1) w.fail(join(valuesTable.path, "rows"), `is ${values.rows}, expected 1`);
  if (values.cols !== expectedCols) {
    w.fail(
      join(valuesTable.path, "cols"),
      `is ${values.cols}, expected ${expectedCols} (${spec.count}${
        spec.valuesPerEntry === 1 ? "" : ` × ${spec.valuesPerEntry}`
      })`,
    );
  }
  w.charge(n, idxPath);
  const index = typedVector(w, idx, idx16 === null ? 4 : 2);
  for (let r = 0; r < rows; r++) {
    const end = ptr[r + 1];
    let prev = -1;
    for (let j = ptr[r]; j < end; j++) {
      const c = index[j];
      if (c >= spec.limit) {
        w.fail(
          idxPath,
          `is invalid: ${spec.entry} ${c} at entry ${j} (row ${r}) is not below ${spec.limit} ${spec.limitName}`,
        );
      }
      if (c <= prev) {
        w.fail(
          idxPath,
          `is invalid: row ${r}'s ${spec.entries} do not strictly increase (entry ${j}: ${c} after ${prev})`,
        );
      }
      prev = c;
    }
  }
  return valuesTable;
}

/** Names of the schema's enum TokenizerKind, by value. */
export const TOKENIZER_KIND_NAMES = ["Whitespace", "Character"] as const;

/** Whether `s` is exactly one Unicode code point (a surrogate pair counts as one). */
export function isOneCharacter(s: string): boolean {
  if (s.length === 1) return true;
  if (s.length !== 2) return false;
  const hi = s.charCodeAt(0);
  const lo = s.charCodeAt(1);
  return hi >= 0xd800 && hi <= 0xdbff && lo >= 0xdc00 && lo <= 0xdfff;
}

/**
 * The vocabulary's common case in one tight loop: tokens 0, 1, … while each is a short (≤ 64 bytes)
 * printable-ASCII string without spaces, at a valid offset, NUL-terminated, not seen before, and the work
 * budget allows it — the checks stringAt and verifyVocabulary make, without their calls per token (loading
 * runs this once, mostly before the JIT has compiled anything: the calls dominated a cold start). Fills
 * `index` and `list` and charges the budget as they would; returns the first index it did not take, from
 * which the general loop goes on (and reports whatever made this one stop). The hash for `index` is
 * taken over the bytes as they are checked (for ASCII, the string's code units).
 */
function plainTokens(w: Walker, tokens: Vec, index: VocabIndex, list: string[]): number {
  const { b, dv, n, codes } = w;
  let i = 0;
  for (; i < tokens.length; i++) {
    const p = tokens.start + 4 * i;
    const u = dv.getUint32(p, true);
    const v = p + u;
    if (u === 0 || u > MAX_OFFSET || v % 4 !== 0 || v + 4 > n) break;
    const length = dv.getUint32(v, true);
    const first = v + 4;
    const end = first + length;
    if (length === 0 || length > 64 || end >= n || b[end] !== 0 || w.budget < length + 1) break;
    codes.length = length;
    let c = first;
    let hash = TOKEN_HASH_START;
    for (; c < end; c++) {
      const code = b[c];
      if (code <= 0x20 || code > 0x7e) break;
      codes[c - first] = code;
      hash = Math.imul(hash ^ code, FNV_PRIME); // fnvStep, inline: a call per byte costs a cold start
    }
    if (c < end) break;
    list[i] = String.fromCharCode.apply(null, codes);
    if (index.insert(i, hash) >= 0) break; // a repeat: the general loop reports it
    w.budget -= length + 1;
  }
  return i;
}

/**
 * Checks the vocabulary table and returns its tokens (decoded once; readLem reuses them). The tokenizer
 * kind decides what a token may be: a word without whitespace (Whitespace), or one character, whitespace
 * included (Character; the tokens at unk_id and eos_id may be longer, e.g. "<unk>").
 */
function verifyVocabulary(w: Walker, t: Table): { list: string[]; index: VocabIndex } {
  const tokensPath = join(t.path, "tokens");
  const tokens = required(w, w.vectorField(t, 0, "tokens", 4), tokensPath);
  if (tokens.length < 1) w.fail(tokensPath, `is empty; a vocabulary has at least one token`);
  const vocab = tokens.length;
  const special: number[] = [];
  for (const [id, name] of [[1, "unk_id"], [2, "eos_id"]] as const) {
    const v = w.i32Field(t, id, name, -1);
    if (v < -1 || v >= vocab) {
      w.fail(join(t.path, name), `is ${v}, expected -1 or an id below the vocabulary's ${vocab} tokens`);
    }
    special.push(v);
  }
  let character = false;
  const tok = w.tableField(t, 3, "tokenizer");
  if (tok !== null) {
    const kind = w.u8Field(tok, 0, "kind", 0);
    if (kind >= TOKENIZER_KIND_NAMES.length) {
      w.fail(
        join(tok.path, "kind"),
        `is ${kind}, not a known TokenizerKind (${
          TOKENIZER_KIND_NAMES.map((n, i) => `${i} ${n}`).join(", ")
        }); the file may need a newer lstm-edge`,
      );
    }
    character = kind === 1;
    w.u8Field(tok, 1, "lowercase", 0);
    const numberToken = w.stringField(tok, 2, "number_token");
    const eosPerLine = w.u8Field(tok, 3, "eos_per_line", 1);
    if (character && numberToken !== null) {
      w.fail(join(tok.path, "number_token"), `is set, but a Character tokenizer has no number token`);
    }
    if (character && eosPerLine !== 0) {
      w.fail(
        join(tok.path, "eos_per_line"),
        `is true, but a Character tokenizer appends nothing (a newline is the "\\n" token); expected false`,
      );
    }
  }
  const list: string[] = new Array(tokens.length);
  const index = new VocabIndex(list, tokens.length);
  const start = character ? 0 : plainTokens(w, tokens, index, list);
  for (let i = start; i < tokens.length; i++) {
    // The element's path is built only for an error: building 10 000 of them took most of the time.
    let token: string;
    try {
      token = w.stringAt(w.elementTarget(tokens, i, tokensPath), tokensPath);
    } catch (e) {
      if (e instanceof LemFormatError && e.field === tokensPath) w.fail(`${tokensPath}[${i}]`, e.problem);
      throw e;
    }
    if (token === "") w.fail(`${tokensPath}[${i}]`, `is empty; tokens must be non-empty`);
    if (character) {
      if (!isOneCharacter(token) && !special.includes(i)) {
        w.fail(
          `${tokensPath}[${i}]`,
          `is ${JSON.stringify(token)}, ${token.length} UTF-16 units; a Character tokenizer's tokens are ` +
            `one character each (only unk_id's and eos_id's may be longer)`,
        );
      }
    } else if (!w.lastStringPlain && /\s/.test(token)) {
      w.fail(`${tokensPath}[${i}]`, `is ${JSON.stringify(token)}, which contains whitespace`);
    }
    list[i] = token;
    const first = index.insert(i, tokenHash(token));
    if (first >= 0) {
      w.fail(`${tokensPath}[${i}]`, `is ${JSON.stringify(token)}, the same as ${tokensPath}[${first}]`);
    }
  }
  return { list, index };
}

function verifyMetadata(w: Walker, t: Table): void {
  ["name", "source_file", "source_sha256", "compiler", "recipe"].forEach((name, id) =>
    w.stringField(t, id, name)
  );
  const metrics = w.vectorField(t, 5, "metrics", 4);
  if (metrics === null) return;
  for (let i = 0; i < metrics.length; i++) {
    const path = `${join(t.path, "metrics")}[${i}]`;
    const m = w.table(w.elementTarget(metrics, i, path), path);
    required(w, w.stringField(m, 0, "name"), join(path, "name"));
    w.field(m, 1, 8, "value");
  }
}

function verifyLayer(w: Walker, t: Table, expectedInput: number, inputWhat: string): number {
  const input = w.u32Field(t, 0, "input_size", 0);
  const hidden = w.u32Field(t, 1, "hidden_size", 0);
  if (input !== expectedInput) {
    w.fail(join(t.path, "input_size"), `is ${input}, expected ${expectedInput} (${inputWhat})`);
  }
  if (input < 1) w.fail(join(t.path, "input_size"), `is 0, expected at least 1`);
  if (hidden < 1) w.fail(join(t.path, "hidden_size"), `is 0, expected at least 1`);
  const checkShape = (name: string, id: number, cols: number, colsWhat: string) => {
    const m = required(w, w.tableField(t, id, name), join(t.path, name));
    const s = verifyMatrix(w, m, false);
    if (s.rows !== 4 * hidden) {
      w.fail(join(m.path, "rows"), `is ${s.rows}, expected ${4 * hidden} (4 gates × hidden_size ${hidden})`);
    }
    if (s.cols !== cols) w.fail(join(m.path, "cols"), `is ${s.cols}, expected ${cols} (${colsWhat})`);
  };
  checkShape("w_ih", 2, input, "input_size");
  checkShape("w_hh", 3, hidden, "hidden_size");
  const bias = required(w, w.vectorField(t, 4, "bias", 4), join(t.path, "bias"));
  if (bias.length !== 4 * hidden) {
    w.fail(
      join(t.path, "bias"),
      `holds ${bias.length} floats, expected ${4 * hidden} (4 gates × hidden_size ${hidden})`,
    );
  }
  return hidden;
}

/** What verification decoded on the way, so that readers need not decode it again. */
export interface VerifiedLem {
  /** The vocabulary's tokens, id order. */
  vocab: string[];
  /** Token → id (built to find duplicates; the tokenizer reuses it). */
  vocabIndex: VocabIndex;
}

/**
 * Checks that `bytes` is a `.lem` file this reader can use, before anything else touches the data.
 * Throws {@link LemFormatError} naming the field at fault; never another exception type.
 *
 * @example
 * ```ts
 * try {
 *   verifyLem(bytes);
 * } catch (e) {
 *   if (e instanceof LemFormatError) console.error(e.message); // Cannot read model: field "…" …
 * }
 * ```
 */
export function verifyLem(bytes: Uint8Array): VerifiedLem {
  const w = new Walker(bytes);
  const n = bytes.length;
  if (n < 8) w.fail("", `the file is ${n} bytes, too short for a .lem file (at least ${MIN_FILE_SIZE})`);
  const ident = String.fromCharCode(...bytes.subarray(4, 8));
  if (ident !== FILE_IDENTIFIER) {
    const newer = /^LEM[2-9]$/.test(ident);
    w.fail(
      "file_identifier",
      newer
        ? `is "${ident}": the file was made by a newer lstm-edge; this reader reads "${FILE_IDENTIFIER}" files`
        : `is ${JSON.stringify(ident)}, expected "${FILE_IDENTIFIER}": this is not an lstm-edge model file`,
    );
  }
  if (n < MIN_FILE_SIZE) {
    w.fail("", `the file is ${n} bytes, too short for a .lem file (at least ${MIN_FILE_SIZE})`);
  }
  if (n % FILE_SIZE_MULTIPLE !== 0) {
    w.fail(
      "",
      `the file is ${n} bytes, not a multiple of ${FILE_SIZE_MULTIPLE}: it is truncated or has bytes appended`,
    );
  }
  const root = w.table(w.follow(0, "(root offset)"), "");

  const major = w.u16Field(root, 0, "format_major", 0);
  const minor = w.u16Field(root, 1, "format_minor", 0);
  if (major > FORMAT_MAJOR) {
    w.fail(
      "format_major",
      `is ${major}: the file (format ${major}.${minor}) was made by a newer lstm-edge; ` +
        `this reader reads format ${FORMAT_MAJOR}.x`,
    );
  }
  if (major < FORMAT_MAJOR) w.fail("format_major", `is ${major}, expected ${FORMAT_MAJOR}`);

  const metadata = w.tableField(root, 2, "metadata");
  if (metadata !== null) verifyMetadata(w, metadata);

  const tokens = verifyVocabulary(w, required(w, w.tableField(root, 3, "vocabulary"), "vocabulary"));
  const vocab = tokens.list.length;

  const embeddingTable = required(w, w.tableField(root, 4, "embedding"), "embedding");
  const embedding = verifyMatrix(w, embeddingTable, false);
  if (embedding.rows !== vocab) {
    w.fail("embedding.rows", `is ${embedding.rows}, expected ${vocab} (the vocabulary's token count)`);
  }

  const layers = required(w, w.vectorField(root, 5, "layers", 4), "layers");
  if (layers.length < 1) w.fail("layers", `is empty; a model has at least one LSTM layer`);
  let size = embedding.cols;
  let what = "embedding cols";
  for (let k = 0; k < layers.length; k++) {
    const path = `layers[${k}]`;
    size = verifyLayer(w, w.table(w.elementTarget(layers, k, path), path), size, what);
    what = `layers[${k}].hidden_size`;
  }

  const decoderTable = required(w, w.tableField(root, 6, "decoder"), "decoder");
  const decoder = verifyMatrix(w, decoderTable, false);
  if (decoder.rows !== vocab) {
    w.fail("decoder.rows", `is ${decoder.rows}, expected ${vocab} (the vocabulary's token count)`);
  }
  if (decoder.cols !== size) w.fail("decoder.cols", `is ${decoder.cols}, expected ${size} (${what})`);

  const bias = w.vectorField(root, 7, "decoder_bias", 4);
  if (bias !== null && bias.length !== vocab) {
    w.fail("decoder_bias", `holds ${bias.length} floats, expected ${vocab} (the vocabulary's token count)`);
  }
  return { vocab: tokens.list, vocabIndex: tokens.index };
}
