/**
 * Reads a verified `.lem` file into the descriptions and typed views the runtime uses.
 *
 * Nothing is decompressed or copied at load: each matrix's description gives, for each vector a kernel reads,
 * its byte offset within `bytes.buffer`, so the runtime can copy a file into WASM memory at a known base
 * and point kernels at `base + offset - bytes.byteOffset`.
 *
 * Alignment: a file written by lstm-edge has every data vector at a 16-byte boundary *from the start of
 * the file*; where the file sits in its buffer is up to the caller: {@link floatsAt}/{@link uint32sAt}/
 * {@link uint16sAt} return a view when aligned and a copy otherwise.
 *
 * The fields are read straight from the bytes (FileFields below), not through the FlatBuffers classes
 * generated from schema/lem.fbs: verify.ts has checked every offset the reads follow, and the generated code
 * and its runtime were a quarter of the Workers bundle's JS. Field ids are the schema's declaration order
 * (a union takes two: its type, then its table).
 * @module
 */

import { LemFormatError } from "./errors.ts";
import { verifyLem } from "./verify.ts";
import type { VocabIndex } from "../vocab_index.ts";

export { LemFormatError };

/** Fields common to every matrix description. Offsets are bytes within `bytes.buffer`. */
interface MatrixInfoBase {
  name: string;
  rows: number;
  cols: number;
  /** Bytes of all vectors this matrix's kernels read (data, scales, indices, nested matrices). */
  bytes: number;
}

/** Dense: rows·cols floats, row-major, little-endian, at `dataOffset`. */
export interface DenseInfo extends MatrixInfoBase {
  kind: "dense";
  floatType: "f32" | "f16";
  dataOffset: number;
  dataLength: number;
}

/** Quantized: x = q · scales[r·groupsPerRow + ⌊c/groupSize⌋]; int8 or int4 (low nibble first). */
export interface QuantizedInfo extends MatrixInfoBase {
  kind: "quantized";
  bits: 4 | 8;
  groupSize: number;
  groupsPerRow: number;
  /** How the scales are stored: float32, or binary16 bits (format 1.1). */
  scaleType: "f32" | "f16";
  /** rows·groupsPerRow scales (float32 or binary16, little-endian). */
  scalesOffset: number;
  scalesCount: number;
  dataOffset: number;
  dataLength: number;
}

/** A matrix that may appear inside LowRank, TensorTrain, SparseCsr and SparseBlocks. */
export type StoredInfo = DenseInfo | QuantizedInfo;

/** LowRank: W ≈ a · b, a (rows × rank), b (rank × cols). */
export interface LowRankInfo extends MatrixInfoBase {
  kind: "lowrank";
  rank: number;
  a: StoredInfo;
  b: StoredInfo;
}

/** TensorTrain: cores[k] is ranks[k] × (rowModes[k]·colModes[k]·ranks[k+1]); see schema/SPEC.md. */
export interface TensorTrainInfo extends MatrixInfoBase {
  kind: "tt";
  rowModes: number[];
  colModes: number[];
  ranks: number[];
  cores: StoredInfo[];
}

/** SparseCsr: rows + 1 uint32 row pointers, nnz column indices (16 or 32 bits), 1 × nnz values. */
export interface SparseCsrInfo extends MatrixInfoBase {
  kind: "csr";
  nnz: number;
  rowPtrOffset: number;
  colIdxBits: 16 | 32;
  colIdxOffset: number;
  values: StoredInfo;
}

/**
 * SparseBlocks: blocks of blockRows × blockCols; ceil(rows / blockRows) + 1 uint32 row pointers, nblocks
 * 16-bit block indices, 1 × (nblocks · blockRows · blockCols) values (f32, or int8 with group
 * scales along the values).
 */
export interface SparseBlocksInfo extends MatrixInfoBase {
  kind: "blocks";
  blockRows: number;
  blockCols: number;
  nblocks: number;
  rowPtrOffset: number;
  blockIdxOffset: number;
  values: StoredInfo;
}

/** Where and how one matrix is stored. */
export type MatrixInfo =
  | DenseInfo
  | QuantizedInfo
  | LowRankInfo
  | TensorTrainInfo
  | SparseCsrInfo
  | SparseBlocksInfo;

/** One LSTM layer, gates i, f, g, o. */
export interface LayerInfo {
  inputSize: number;
  hiddenSize: number;
  /** (4·hiddenSize) × inputSize */
  wIh: MatrixInfo;
  /** (4·hiddenSize) × hiddenSize */
  wHh: MatrixInfo;
  /** 4·hiddenSize floats (a view into the file when aligned, else a copy). */
  bias: Float32Array;
}

/** Tokenizer rules (compatible with runtime/tokenizer.ts's TokenizerRules). */
export interface LemTokenizer {
  /** Whitespace-separated words, or one token per character (schema TokenizerKind). */
  kind: "whitespace" | "character";
  lowercase: boolean;
  numberToken?: string;
  eosPerLine: boolean;
}

/** Provenance stored in the file (empty strings where absent). */
export interface LemFileMetadata {
  name: string;
  sourceFile: string;
  sourceSha256: string;
  compiler: string;
  recipe: string;
  metrics: { name: string; value: number }[];
}

/** A verified `.lem` file. */
export interface LemFile {
  /** The file's bytes, as given to {@link readLem}. */
  bytes: Uint8Array;
  /** Whether the file stores decoder_bias (else {@link decoderBias} is zeros). */
  hasDecoderBias: boolean;
  formatMajor: number;
  formatMinor: number;
  vocab: string[];
  /** Token → id, as verification built it. */
  vocabIndex: VocabIndex;
  /** Id of the out-of-vocabulary token or -1. */
  unkId: number;
  /** Id of the end-of-sentence token or -1. */
  eosId: number;
  tokenizer: LemTokenizer;
  /** vocab × embeddingSize */
  embedding: MatrixInfo;
  layers: LayerInfo[];
  /** vocab × last hiddenSize */
  decoder: MatrixInfo;
  /** vocab floats; zeros when the file has none. */
  decoderBias: Float32Array;
  metadata: LemFileMetadata;
}

/** Float32 values at a byte offset of `buffer`: a view when 4-aligned, otherwise a copy. */
export function floatsAt(buffer: ArrayBufferLike, offset: number, count: number): Float32Array {
  if (offset % 4 === 0) return new Float32Array(buffer, offset, count);
  const dv = new DataView(buffer, offset, 4 * count);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = dv.getFloat32(4 * i, true);
  return out;
}

/** Uint32 values at a byte offset of `buffer`: a view when 4-aligned, otherwise a copy. */
export function uint32sAt(buffer: ArrayBufferLike, offset: number, count: number): Uint32Array {
  if (offset % 4 === 0) return new Uint32Array(buffer, offset, count);
  const dv = new DataView(buffer, offset, 4 * count);
  const out = new Uint32Array(count);
  for (let i = 0; i < count; i++) out[i] = dv.getUint32(4 * i, true);
  return out;
}

/** Uint16 values at a byte offset of `buffer`: a view when 2-aligned, otherwise a copy. */
export function uint16sAt(buffer: ArrayBufferLike, offset: number, count: number): Uint16Array {
  if (offset % 2 === 0) return new Uint16Array(buffer, offset, count);
  const dv = new DataView(buffer, offset, 2 * count);
  const out = new Uint16Array(count);
  for (let i = 0; i < count; i++) out[i] = dv.getUint16(2 * i, true);
  return out;
}

/** The schema's Encoding union, by type value (0 = none). */
const ENCODING = {
  Dense: 1,
  Quantized: 2,
  LowRank: 3,
  TensorTrain: 4,
  SparseCsr: 5,
  SparseBlocks: 6,
} as const;

/**
 * FlatBuffers field reads on a verified file (module doc). Tables are byte positions from the file's start;
 * the offsets this returns for vectors are within `bytes.buffer`, as the kernels' pointers need.
 */
class FileFields {
  readonly dv: DataView;
  readonly utf8 = new TextDecoder();
  constructor(readonly bytes: Uint8Array) {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  /** Position of field `id` of table `t`, or 0 when absent. */
  at(t: number, id: number): number {
    const vt = t - this.dv.getInt32(t, true);
    const o = 4 + 2 * id;
    const f = o < this.dv.getUint16(vt, true) ? this.dv.getUint16(vt + o, true) : 0;
    return f ? t + f : 0;
  }
  u8(t: number, id: number, dflt: number): number {
    const p = this.at(t, id);
    return p ? this.bytes[p] : dflt;
  }
  u16(t: number, id: number): number {
    const p = this.at(t, id);
    return p ? this.dv.getUint16(p, true) : 0;
  }
  u32(t: number, id: number, dflt = 0): number {
    const p = this.at(t, id);
    return p ? this.dv.getUint32(p, true) : dflt;
  }
  i32(t: number, id: number, dflt: number): number {
    const p = this.at(t, id);
    return p ? this.dv.getInt32(p, true) : dflt;
  }
  f64(t: number, id: number): number {
    const p = this.at(t, id);
    return p ? this.dv.getFloat64(p, true) : 0;
  }
  /** Target of the offset at position p. */
  follow(p: number): number {
    return p + this.dv.getUint32(p, true);
  }
  /** Table field `id` of `t` (a position), or 0 when absent. */
  table(t: number, id: number): number {
    const p = this.at(t, id);
    return p ? this.follow(p) : 0;
  }
  /** Vector field `id` of `t`: its first element's position in the file and its length (0, 0 when absent). */
  vector(t: number, id: number): { start: number; count: number } {
    const p = this.at(t, id);
    if (!p) return { start: 0, count: 0 };
    const v = this.follow(p);
    return { start: v + 4, count: this.dv.getUint32(v, true) };
  }
  /** Vector field `id` of `t` as an offset within `bytes.buffer` and an element count. */
  span(t: number, id: number): { offset: number; count: number } {
    const v = this.vector(t, id);
    return { offset: this.bytes.byteOffset + v.start, count: v.count };
  }
  /** Element i of a vector of tables or strings (its target's position). */
  element(v: { start: number }, i: number): number {
    return this.follow(v.start + 4 * i);
  }
  /** The u32 elements of vector field `id` of `t`. */
  u32s(t: number, id: number): number[] {
    const v = this.vector(t, id);
    return Array.from({ length: v.count }, (_, i) => this.dv.getUint32(v.start + 4 * i, true));
  }
  /** String field `id` of `t`, or null when absent. */
  string(t: number, id: number): string | null {
    const p = this.at(t, id);
    if (!p) return null;
    const v = this.follow(p);
    return this.utf8.decode(this.bytes.subarray(v + 4, v + 4 + this.dv.getUint32(v, true)));
  }
}

function storedInfo(f: FileFields, m: number): StoredInfo {
  const info = matrixInfo(f, m);
  if (info.kind !== "dense" && info.kind !== "quantized") {
    throw new LemFormatError(
      info.name || "(nested matrix)",
      `is ${info.kind}; nested matrices must be Dense or Quantized`,
    );
  }
  return info;
}

/**
 * Describes where and how the (verified) Matrix table at position `m` is stored. Offsets are bytes within
 * the file's `bytes.buffer`, i.e. they include the file's `byteOffset`.
 */
function matrixInfo(f: FileFields, m: number): MatrixInfo {
  // Matrix: name 0, rows 1, cols 2, encoding_type 3, encoding 4.
  const name = f.string(m, 0) ?? "";
  const rows = f.u32(m, 1);
  const cols = f.u32(m, 2);
  const type = f.u8(m, 3, 0);
  const e = f.table(m, 4);
  switch (type) {
    case ENCODING.Dense: {
      // Dense: type 0, data 1.
      const data = f.span(e, 1);
      const floatType = f.u8(e, 0, 0) === 0 ? "f32" : "f16";
      return {
        kind: "dense",
        name,
        rows,
        cols,
        bytes: data.count,
        floatType,
        dataOffset: data.offset,
        dataLength: data.count,
      };
    }
    case ENCODING.Quantized: {
      // Quantized: bits 0, group_size 1, scales 2, data 3, scales_f16 4.
      const f16 = f.at(e, 4) !== 0;
      const scales = f.span(e, f16 ? 4 : 2);
      const data = f.span(e, 3);
      const groupSize = f.u32(e, 1);
      return {
        kind: "quantized",
        name,
        rows,
        cols,
        bytes: (f16 ? 2 : 4) * scales.count + data.count,
        scaleType: f16 ? "f16" : "f32",
        bits: f.u8(e, 0, 0) === 4 ? 4 : 8,
        groupSize,
        groupsPerRow: Math.ceil(cols / groupSize),
        scalesOffset: scales.offset,
        scalesCount: scales.count,
        dataOffset: data.offset,
        dataLength: data.count,
      };
    }
    case ENCODING.LowRank: {
      // LowRank: a 0, b 1.
      const a = storedInfo(f, f.table(e, 0));
      const b = storedInfo(f, f.table(e, 1));
      return { kind: "lowrank", name, rows, cols, bytes: a.bytes + b.bytes, rank: a.cols, a, b };
    }
    case ENCODING.TensorTrain: {
      // TensorTrain: row_modes 0, col_modes 1, ranks 2, cores 3.
      const coreVec = f.vector(e, 3);
      const cores = Array.from({ length: coreVec.count }, (_, k) => storedInfo(f, f.element(coreVec, k)));
      const d = cores.length;
      return {
        kind: "tt",
        name,
        rows,
        cols,
        bytes: 12 * d + 4 + cores.reduce((s, c) => s + c.bytes, 0),
        rowModes: f.u32s(e, 0),
        colModes: f.u32s(e, 1),
        ranks: f.u32s(e, 2),
        cores,
      };
    }
    case ENCODING.SparseCsr: {
      // SparseCsr: row_ptr 0, col_idx16 1, col_idx32 2, values 3.
      const rowPtr = f.span(e, 0);
      const wide = f.at(e, 1) === 0; // col_idx16 absent
      const idx = f.span(e, wide ? 2 : 1);
      const values = storedInfo(f, f.table(e, 3));
      return {
        kind: "csr",
        name,
        rows,
        cols,
        bytes: 4 * rowPtr.count + (wide ? 4 : 2) * idx.count + values.bytes,
        nnz: idx.count,
        rowPtrOffset: rowPtr.offset,
        colIdxBits: wide ? 32 : 16,
        colIdxOffset: idx.offset,
        values,
      };
    }
    case ENCODING.SparseBlocks: {
      // SparseBlocks: block_rows 0 (default 1), block_cols 1, row_ptr 2, block_idx 3, values 4.
      const rowPtr = f.span(e, 2);
      const idx = f.span(e, 3);
      const values = storedInfo(f, f.table(e, 4));
      return {
        kind: "blocks",
        name,
        rows,
        cols,
        bytes: 4 * rowPtr.count + 2 * idx.count + values.bytes,
        blockRows: f.u32(e, 0, 1),
        blockCols: f.u32(e, 1),
        nblocks: idx.count,
        rowPtrOffset: rowPtr.offset,
        blockIdxOffset: idx.offset,
        values,
      };
    }
    default:
      throw new LemFormatError(name || "(matrix)", `has encoding type ${type}; verify the file first`);
  }
}

function layerInfo(f: FileFields, l: number): LayerInfo {
  // LstmLayer: input_size 0, hidden_size 1, w_ih 2, w_hh 3, bias 4.
  const bias = f.span(l, 4);
  return {
    inputSize: f.u32(l, 0),
    hiddenSize: f.u32(l, 1),
    wIh: matrixInfo(f, f.table(l, 2)),
    wHh: matrixInfo(f, f.table(l, 3)),
    bias: floatsAt(f.bytes.buffer, bias.offset, bias.count),
  };
}

/**
 * Verifies `bytes` (see `verifyLem`) and returns the model's descriptions and views. Throws
 * {@link LemFormatError} for any file it cannot use. `bytes` may be a view at any offset of a larger
 * buffer; the returned views share its memory.
 *
 * @example
 * ```ts
 * const file = readLem(await Deno.readFile("model.lem"));
 * console.log(file.vocab.length, file.layers.map((l) => l.hiddenSize));
 * ```
 */
export function readLem(bytes: Uint8Array): LemFile {
  const { vocab, vocabIndex } = verifyLem(bytes);
  const f = new FileFields(bytes);
  // Model: format_major 0, format_minor 1, metadata 2, vocabulary 3, embedding 4, layers 5, decoder 6,
  // decoder_bias 7. Vocabulary: tokens 0, unk_id 1, eos_id 2, tokenizer 3. Tokenizer: kind 0, lowercase 1,
  // number_token 2, eos_per_line 3. Metadata: name 0, source_file 1, source_sha256 2, compiler 3, recipe 4,
  // metrics 5. Metric: name 0, value 1.
  const model = f.follow(0);
  const vocabulary = f.table(model, 3);
  const tok = f.table(vocabulary, 3);
  const numberToken = tok ? f.string(tok, 2) : null;
  const md = f.table(model, 2);
  const metrics = md ? f.vector(md, 5) : { start: 0, count: 0 };
  const text = (id: number) => (md ? f.string(md, id) : null) ?? "";
  const metadata: LemFileMetadata = {
    name: text(0),
    sourceFile: text(1),
    sourceSha256: text(2),
    compiler: text(3),
    recipe: text(4),
    metrics: Array.from({ length: metrics.count }, (_, i) => {
      const m = f.element(metrics, i);
      return { name: f.string(m, 0)!, value: f.f64(m, 1) };
    }),
  };
  const decoderBias = f.span(model, 7);
  const layers = f.vector(model, 5);
  return {
    bytes,
    hasDecoderBias: decoderBias.count > 0,
    formatMajor: f.u16(model, 0),
    formatMinor: f.u16(model, 1),
    vocab,
    vocabIndex,
    unkId: f.i32(vocabulary, 1, -1),
    eosId: f.i32(vocabulary, 2, -1),
    tokenizer: {
      kind: tok && f.u8(tok, 0, 0) === 1 ? "character" : "whitespace",
      lowercase: tok ? f.u8(tok, 1, 0) !== 0 : false,
      ...(numberToken !== null ? { numberToken } : {}),
      eosPerLine: tok ? f.u8(tok, 3, 1) !== 0 : true,
    },
    embedding: matrixInfo(f, f.table(model, 4)),
    layers: Array.from({ length: layers.count }, (_, k) => layerInfo(f, f.element(layers, k))),
    decoder: matrixInfo(f, f.table(model, 6)),
    decoderBias: decoderBias.count
      ? floatsAt(bytes.buffer, decoderBias.offset, decoderBias.count)
      : new Float32Array(vocab.length),
    metadata,
  };
}

/** One row of {@link summarize}'s tensor list. */
export interface TensorSummary {
  name: string;
  /** e.g. "dense f16", "int8 per-row", "int4 g32", "lowrank r16 (int8 per-row × dense f16)". */
  encoding: string;
  shape: [number, number];
  /** Bytes the tensor occupies in the file's vectors. */
  bytes: number;
}

/** What `deno task inspect` shows. */
export interface LemSummary {
  format: string;
  fileBytes: number;
  vocabSize: number;
  /** What a token is (the tokenizer kind): a word or a character. */
  tokenizer: LemTokenizer["kind"];
  embeddingSize: number;
  layers: { inputSize: number; hiddenSize: number }[];
  tensors: TensorSummary[];
  /** Sum of the tensors' bytes. */
  tensorBytes: number;
  metadata: LemFileMetadata;
}

/** A short description of a matrix's encoding. */
export function describeEncoding(info: MatrixInfo): string {
  switch (info.kind) {
    case "dense":
      return `dense ${info.floatType}`;
    case "quantized":
      return (info.groupSize >= info.cols
        ? `int${info.bits} per-row`
        : `int${info.bits} g${info.groupSize}`) +
        (info.scaleType === "f16" ? " s16" : "");
    case "lowrank":
      return `lowrank r${info.rank} (${describeEncoding(info.a)} × ${describeEncoding(info.b)})`;
    case "tt": {
      const cores = [...new Set(info.cores.map(describeEncoding))].join(", ");
      return `tt [${info.rowModes.join(",")}]×[${info.colModes.join(",")}] ranks [${
        info.ranks.join(",")
      }] (${cores})`;
    }
    case "csr": {
      const density = info.rows * info.cols ? (100 * info.nnz) / (info.rows * info.cols) : 0;
      return `csr${info.colIdxBits} ${density.toFixed(1)}% (${describeEncoding(info.values)})`;
    }
    case "blocks": {
      const total = Math.ceil(info.rows / info.blockRows) * Math.ceil(info.cols / info.blockCols);
      const density = total ? (100 * info.nblocks) / total : 0;
      return `blocks ${info.blockRows}x${info.blockCols} ${density.toFixed(1)}% (${
        describeEncoding(info.values)
      })`;
    }
  }
}

/**
 * Per-tensor sizes and encodings plus metadata, for `deno task inspect` and reports.
 *
 * @example
 * ```ts
 * const s = summarize(readLem(bytes));
 * for (const t of s.tensors) console.log(t.name, t.encoding, t.shape.join("×"), t.bytes);
 * ```
 */
export function summarize(file: LemFile): LemSummary {
  const tensors: TensorSummary[] = [];
  const add = (role: string, info: MatrixInfo) =>
    tensors.push({
      name: info.name || role,
      encoding: describeEncoding(info),
      shape: [info.rows, info.cols],
      bytes: info.bytes,
    });
  add("embedding", file.embedding);
  file.layers.forEach((l, k) => {
    add(`layers.${k}.w_ih`, l.wIh);
    add(`layers.${k}.w_hh`, l.wHh);
    tensors.push({
      name: `layers.${k}.bias`,
      encoding: "dense f32",
      shape: [1, l.bias.length],
      bytes: l.bias.byteLength,
    });
  });
  add("decoder", file.decoder);
  if (file.hasDecoderBias) {
    tensors.push({
      name: "decoder_bias",
      encoding: "dense f32",
      shape: [1, file.vocab.length],
      bytes: file.decoderBias.byteLength,
    });
  }
  return {
    format: `${file.formatMajor}.${file.formatMinor}`,
    fileBytes: file.bytes.length,
    vocabSize: file.vocab.length,
    tokenizer: file.tokenizer.kind,
    embeddingSize: file.embedding.cols,
    layers: file.layers.map((l) => ({ inputSize: l.inputSize, hiddenSize: l.hiddenSize })),
    tensors,
    tensorBytes: tensors.reduce((s, t) => s + t.bytes, 0),
    metadata: file.metadata,
  };
}

/** {@link summarize}'s result as aligned text lines. */
export function formatSummary(s: LemSummary): string {
  const lines = [
    `format ${s.format}, ${s.fileBytes} bytes; vocabulary ${s.vocabSize}${
      s.tokenizer === "character" ? " characters" : ""
    }, embedding ${s.embeddingSize}, ` +
    `layers ${s.layers.map((l) => `${l.inputSize}→${l.hiddenSize}`).join(", ")}`,
  ];
  const md = s.metadata;
  if (md.name || md.compiler) {
    lines.push(`${md.name} (${md.compiler}) from ${md.sourceFile} ${md.sourceSha256}`);
  }
  // 7 significant digits, as much as people read (119.503, not 119.50295372103557); --json has them all.
  for (const m of md.metrics) {
    lines.push(`  ${m.name} = ${Number.isInteger(m.value) ? m.value : +m.value.toPrecision(7)}`);
  }
  const w = Math.max(...s.tensors.map((t) => t.name.length));
  const we = Math.max(...s.tensors.map((t) => t.encoding.length));
  for (const t of s.tensors) {
    lines.push(
      `  ${t.name.padEnd(w)}  ${t.encoding.padEnd(we)}  ${t.shape.join("×").padStart(11)}  ${t.bytes}`,
    );
  }
  lines.push(`  ${"total".padEnd(w)}  ${"".padEnd(we)}  ${"".padStart(11)}  ${s.tensorBytes}`);
  return lines.join("\n");
}
