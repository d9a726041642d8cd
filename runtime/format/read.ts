/**
 * Reads a verified `.lem` file: the generated FlatBuffers `Model` plus typed views the runtime uses.
 *
 * Nothing is decompressed or copied at load: {@link matrixInfo} gives, for each vector a kernel reads,
 * its byte offset within `bytes.buffer`, so the runtime can copy a file into WASM memory at a known base
 * and point kernels at `base + offset - bytes.byteOffset`.
 *
 * Alignment: a file written by lstm-edge has every data vector at a 16-byte boundary *from the start of
 * the file*; where the file sits in its buffer is up to the caller. The generated `*Array()` accessors for
 * float/uint vectors (e.g. `Quantized.scalesArray()`) throw RangeError when the file does not start at a
 * multiple of 4 in its buffer; use {@link floatsAt}/{@link uint32sAt}/{@link uint16sAt}, which return a
 * view when aligned and a copy otherwise.
 * @module
 */

import * as flatbuffers from "flatbuffers";
import {
  Dense,
  Encoding,
  FloatType,
  LowRank,
  type LstmLayer,
  Matrix,
  Model,
  Quantized,
  SparseBlocks,
  SparseCsr,
  TensorTrain,
  TokenizerKind,
} from "../../schema/generated/lem_generated.ts";
import { LemFormatError } from "./errors.ts";
import { verifyLem } from "./verify.ts";

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
  /** The generated FlatBuffers root object over `bytes`. */
  model: Model;
  formatMajor: number;
  formatMinor: number;
  vocab: string[];
  /** Token → id, as verification built it. */
  vocabIndex: Map<string, number>;
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

/** A generated table object: its ByteBuffer and position. */
interface TableObject {
  bb: flatbuffers.ByteBuffer | null;
  bb_pos: number;
}

/** Offset within `bytes.buffer` and element count of vector field `id` of a table; count 0 when absent. */
function vectorSpan(t: TableObject, id: number): { offset: number; count: number } {
  const bb = t.bb!;
  const field = bb.__offset(t.bb_pos, 4 + 2 * id);
  if (!field) return { offset: bb.bytes().byteOffset, count: 0 };
  return {
    offset: bb.bytes().byteOffset + bb.__vector(t.bb_pos + field),
    count: bb.__vector_len(t.bb_pos + field),
  };
}

function storedInfo(m: Matrix): StoredInfo {
  const info = matrixInfo(m);
  if (info.kind !== "dense" && info.kind !== "quantized") {
    throw new LemFormatError(
      m.name() ?? "(nested matrix)",
      `is ${info.kind}; nested matrices must be Dense or Quantized`,
    );
  }
  return info;
}

/**
 * Describes where and how a (verified) matrix is stored. Offsets are bytes within the file's
 * `bytes.buffer`, i.e. they include the file's `byteOffset`.
 *
 * @example
 * ```ts
 * const info = matrixInfo(file.model.decoder()!);
 * if (info.kind === "dense" && info.floatType === "f32") {
 *   const w = floatsAt(file.bytes.buffer, info.dataOffset, info.rows * info.cols);
 * }
 * ```
 */
export function matrixInfo(m: Matrix): MatrixInfo {
  const name = m.name() ?? "";
  const rows = m.rows();
  const cols = m.cols();
  switch (m.encodingType()) {
    case Encoding.Dense: {
      const d = m.encoding(new Dense()) as Dense;
      const data = vectorSpan(d, 1);
      const floatType = d.type() === FloatType.F32 ? "f32" : "f16";
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
    case Encoding.Quantized: {
      const q = m.encoding(new Quantized()) as Quantized;
      const f16 = q.bb!.__offset(q.bb_pos, 12) !== 0; // scales_f16 present
      const scales = vectorSpan(q, f16 ? 4 : 2);
      const data = vectorSpan(q, 3);
      const groupSize = q.groupSize();
      return {
        kind: "quantized",
        name,
        rows,
        cols,
        bytes: (f16 ? 2 : 4) * scales.count + data.count,
        scaleType: f16 ? "f16" : "f32",
        bits: q.bits() === 4 ? 4 : 8,
        groupSize,
        groupsPerRow: Math.ceil(cols / groupSize),
        scalesOffset: scales.offset,
        scalesCount: scales.count,
        dataOffset: data.offset,
        dataLength: data.count,
      };
    }
    case Encoding.LowRank: {
      const lr = m.encoding(new LowRank()) as LowRank;
      const a = storedInfo(lr.a()!);
      const b = storedInfo(lr.b()!);
      return { kind: "lowrank", name, rows, cols, bytes: a.bytes + b.bytes, rank: a.cols, a, b };
    }
    case Encoding.TensorTrain: {
      const tt = m.encoding(new TensorTrain()) as TensorTrain;
      const d = tt.rowModesLength();
      const list = (get: (i: number) => number | null, n: number) =>
        Array.from({ length: n }, (_, i) => get(i)!);
      const cores = Array.from({ length: d }, (_, k) => storedInfo(tt.cores(k)!));
      return {
        kind: "tt",
        name,
        rows,
        cols,
        bytes: 12 * d + 4 + cores.reduce((s, c) => s + c.bytes, 0),
        rowModes: list((i) => tt.rowModes(i), d),
        colModes: list((i) => tt.colModes(i), d),
        ranks: list((i) => tt.ranks(i), d + 1),
        cores,
      };
    }
    case Encoding.SparseCsr: {
      const csr = m.encoding(new SparseCsr()) as SparseCsr;
      const rowPtr = vectorSpan(csr, 0);
      const idx16 = vectorSpan(csr, 1);
      const idx32 = vectorSpan(csr, 2);
      const wide = csr.bb!.__offset(csr.bb_pos, 6) === 0; // col_idx16 absent
      const idx = wide ? idx32 : idx16;
      const values = storedInfo(csr.values()!);
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
    case Encoding.SparseBlocks: {
      const sb = m.encoding(new SparseBlocks()) as SparseBlocks;
      const rowPtr = vectorSpan(sb, 2);
      const idx = vectorSpan(sb, 3);
      const values = storedInfo(sb.values()!);
      return {
        kind: "blocks",
        name,
        rows,
        cols,
        bytes: 4 * rowPtr.count + 2 * idx.count + values.bytes,
        blockRows: sb.blockRows(),
        blockCols: sb.blockCols(),
        nblocks: idx.count,
        rowPtrOffset: rowPtr.offset,
        blockIdxOffset: idx.offset,
        values,
      };
    }
    default:
      throw new LemFormatError(
        name || "(matrix)",
        `has encoding type ${m.encodingType()}; verify the file first`,
      );
  }
}

function layerInfo(l: LstmLayer, buffer: ArrayBufferLike): LayerInfo {
  const bias = vectorSpan(l, 4);
  return {
    inputSize: l.inputSize(),
    hiddenSize: l.hiddenSize(),
    wIh: matrixInfo(l.wIh()!),
    wHh: matrixInfo(l.wHh()!),
    bias: floatsAt(buffer, bias.offset, bias.count),
  };
}

/**
 * Verifies `bytes` (see `verifyLem`) and returns the model with typed accessors. Throws
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
  const model = Model.getRootAsModel(new flatbuffers.ByteBuffer(bytes));
  const buffer = bytes.buffer;
  const vocabulary = model.vocabulary()!;
  const tok = vocabulary.tokenizer();
  const numberToken = tok?.numberToken() ?? null;
  const md = model.metadata();
  const metadata: LemFileMetadata = {
    name: md?.name() ?? "",
    sourceFile: md?.sourceFile() ?? "",
    sourceSha256: md?.sourceSha256() ?? "",
    compiler: md?.compiler() ?? "",
    recipe: md?.recipe() ?? "",
    metrics: Array.from({ length: md?.metricsLength() ?? 0 }, (_, i) => {
      const m = md!.metrics(i)!;
      return { name: m.name()!, value: m.value() };
    }),
  };
  const decoderBias = vectorSpan(model, 7);
  return {
    bytes,
    model,
    formatMajor: model.formatMajor(),
    formatMinor: model.formatMinor(),
    vocab,
    vocabIndex,
    unkId: vocabulary.unkId(),
    eosId: vocabulary.eosId(),
    tokenizer: {
      kind: tok?.kind() === TokenizerKind.Character ? "character" : "whitespace",
      lowercase: tok?.lowercase() ?? false,
      ...(numberToken !== null ? { numberToken } : {}),
      eosPerLine: tok?.eosPerLine() ?? true,
    },
    embedding: matrixInfo(model.embedding()!),
    layers: Array.from({ length: model.layersLength() }, (_, k) => layerInfo(model.layers(k)!, buffer)),
    decoder: matrixInfo(model.decoder()!),
    decoderBias: decoderBias.count
      ? floatsAt(buffer, decoderBias.offset, decoderBias.count)
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
  const biasBytes = 4 * file.model.decoderBiasLength();
  if (biasBytes) {
    tensors.push({
      name: "decoder_bias",
      encoding: "dense f32",
      shape: [1, file.vocab.length],
      bytes: biasBytes,
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
