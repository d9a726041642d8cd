/**
 * The writer's input: the model with every weight matrix in its final encoding.
 *
 * Mirrors `schema/lem.fbs`: `Encoding` is the schema's union of the same name, one variant per table
 * (`kind` picks it). Compression methods produce these; `compiler/writer.ts` serializes them as they are.
 * Byte layouts (row-major, little-endian, int4 nibble order, CSR, TT core order) are in schema/SPEC.md.
 * @module
 */

import type { IrMatrix, IrModel, IrTokenizer } from "./ir.ts";
import { f32ToF16Bits } from "../runtime/format/f16.ts";

/** Float storage of a Dense matrix (the schema's FloatType). */
export type FloatTypeName = "f32" | "f16";

/** Schema table Dense: `data` holds rows·cols little-endian floats, row-major (4 or 2 bytes each). */
export interface DenseEnc {
  kind: "dense";
  type: FloatTypeName;
  data: Uint8Array;
}

/**
 * Schema table Quantized: x = q · scale. `scales` has rows·ceil(cols/groupSize) entries (row-major by
 * group); `data` holds one int8 per element (bits 8, row stride cols) or two int4 per byte (bits 4,
 * element 2k of a row in the low nibble of byte k, row stride ceil(cols/2)).
 */
export interface QuantizedEnc {
  kind: "quantized";
  bits: 8 | 4;
  groupSize: number;
  /** The scales' values (with scaleType "f16", each exactly representable as a finite binary16). */
  scales: Float32Array;
  /** How the file stores the scales: float32 (default, `scales`) or binary16 (`scales_f16`, format 1.1). */
  scaleType?: "f32" | "f16";
  data: Uint8Array;
}

/** Schema table LowRank: W ≈ A·B with A (rows × rank), B (rank × cols), each Dense or Quantized. */
export interface LowRankEnc {
  kind: "lowrank";
  a: EncodedMatrix;
  b: EncodedMatrix;
}

/**
 * Schema table TensorTrain: d cores; core k is ranks[k] × (rowModes[k]·colModes[k]·ranks[k+1]), Dense
 * or Quantized; ranks[0] = ranks[d] = 1; prod(rowModes) ≥ rows, prod(colModes) ≥ cols.
 */
export interface TensorTrainEnc {
  kind: "tt";
  rowModes: number[];
  colModes: number[];
  ranks: number[];
  cores: EncodedMatrix[];
}

/**
 * Schema table SparseCsr: rowPtr (rows + 1 entries, from 0 to nnz), column indices strictly increasing
 * within a row (Uint16Array only when cols ≤ 65536), values a 1 × nnz Dense or Quantized matrix.
 */
export interface SparseCsrEnc {
  kind: "csr";
  rowPtr: Uint32Array;
  colIdx: Uint16Array | Uint32Array;
  values: EncodedMatrix;
}

/**
 * Schema table SparseBlocks: the matrix cut into blocks of blockRows (1 or 4) × blockCols (4, 8 or 16);
 * rowPtr (ceil(rows / blockRows) + 1 entries, from 0 to nblocks), 16-bit block column indices strictly
 * increasing within a block row (so ceil(cols / blockCols) ≤ 65536), values a
 * 1 × (nblocks · blockRows · blockCols) Dense f32 or Quantized int8 matrix (group size a multiple of
 * blockRows · blockCols), block k's rows in order; padding outside rows × cols written 0.
 */
export interface SparseBlocksEnc {
  kind: "blocks";
  blockRows: number;
  blockCols: number;
  rowPtr: Uint32Array;
  blockIdx: Uint16Array;
  values: EncodedMatrix;
}

/** One encoding of a matrix (the schema's union Encoding). */
export type Encoding = DenseEnc | QuantizedEnc | LowRankEnc | TensorTrainEnc | SparseCsrEnc | SparseBlocksEnc;

/** The encoding kinds, as `Encoding["kind"]`. */
export type EncodingKind = Encoding["kind"];

/** Schema table Matrix: a rows × cols weight matrix in one encoding. */
export interface EncodedMatrix {
  /** Stable tensor name ("embedding", "layers.0.w_ih", "decoder", nested e.g. "decoder.a"). */
  name: string;
  rows: number;
  cols: number;
  encoding: Encoding;
}

/** Schema table LstmLayer. Gate order i, f, g, o in wIh, wHh and bias. */
export interface EncodedLstmLayer {
  inputSize: number;
  hiddenSize: number;
  /** (4·hiddenSize) × inputSize */
  wIh: EncodedMatrix;
  /** (4·hiddenSize) × hiddenSize */
  wHh: EncodedMatrix;
  /** 4·hiddenSize */
  bias: Float32Array;
}

/** Schema table Metric. */
export interface LemMetric {
  name: string;
  value: number;
}

/** Schema table Metadata: provenance, no timestamps. */
export interface LemMetadata {
  name: string;
  sourceFile: string;
  /** SHA-256 of the source file's bytes, hex. */
  sourceSha256: string;
  /** e.g. "lstm-edge 0.1.0" */
  compiler: string;
  /** JSON of the recipe used. */
  recipe: string;
  /** e.g. perplexity_source, perplexity_compiled, eval_tokens */
  metrics: LemMetric[];
}

/** Everything `writeLem` serializes: IrModel's non-matrix parts, encoded matrices, metadata. */
export interface EncodedModel {
  vocab: string[];
  /** Id of "<unk>" or -1. */
  unkId: number;
  /** Id of "<eos>" or -1. */
  eosId: number;
  tokenizer: IrTokenizer;
  /** vocabSize × embeddingSize */
  embedding: EncodedMatrix;
  layers: EncodedLstmLayer[];
  /** vocabSize × last hiddenSize */
  decoder: EncodedMatrix;
  /** vocabSize */
  decoderBias: Float32Array;
  metadata: LemMetadata;
}

/** Metadata given to `encodeModelDense`; the source fields default to the IR's `source`. */
export type LemMetadataInput = Omit<LemMetadata, "sourceFile" | "sourceSha256" | "metrics"> & {
  sourceFile?: string;
  sourceSha256?: string;
  metrics?: LemMetric[];
};

/** Bytes per element of a Dense float type. */
export function floatWidth(type: FloatTypeName): 4 | 2 {
  return type === "f32" ? 4 : 2;
}

/**
 * Stores an IR matrix as Dense f32 (bytes as they are) or f16 (each value rounded to the nearest
 * binary16, ties to even; overflow gives ±inf), little-endian, row-major.
 *
 * @example
 * ```ts
 * const m = encodeDense(irMatrix("decoder", 1, 2, new Float32Array([1, -2])), "f16");
 * // m.encoding.data = Uint8Array [0x00, 0x3c, 0x00, 0xc0]
 * ```
 */
export function encodeDense(m: IrMatrix, type: FloatTypeName): EncodedMatrix {
  const n = m.rows * m.cols;
  if (m.data.length !== n) {
    throw new Error(`Matrix "${m.name}": expected ${m.rows}×${m.cols} = ${n} values, found ${m.data.length}`);
  }
  const data = new Uint8Array(n * floatWidth(type));
  const view = new DataView(data.buffer);
  if (type === "f32") {
    for (let i = 0; i < n; i++) view.setFloat32(i * 4, m.data[i], true);
  } else {
    for (let i = 0; i < n; i++) view.setUint16(i * 2, f32ToF16Bits(m.data[i]), true);
  }
  return { name: m.name, rows: m.rows, cols: m.cols, encoding: { kind: "dense", type, data } };
}

/**
 * The whole IR model with every matrix stored Dense in one float type (the uncompressed baseline).
 *
 * @example
 * ```ts
 * const model = encodeModelDense(ir, "f16", { name: "ptb-small", compiler: "lstm-edge 0.1.0", recipe: "{}" });
 * const bytes = writeLem(model);
 * ```
 */
export function encodeModelDense(ir: IrModel, type: FloatTypeName, metadata: LemMetadataInput): EncodedModel {
  return {
    vocab: ir.vocab,
    unkId: ir.unkId,
    eosId: ir.eosId,
    tokenizer: ir.tokenizer,
    embedding: encodeDense(ir.embedding, type),
    layers: ir.layers.map((l) => ({
      inputSize: l.inputSize,
      hiddenSize: l.hiddenSize,
      wIh: encodeDense(l.wIh, type),
      wHh: encodeDense(l.wHh, type),
      bias: l.bias,
    })),
    decoder: encodeDense(ir.decoder, type),
    decoderBias: ir.decoderBias,
    metadata: {
      name: metadata.name,
      sourceFile: metadata.sourceFile ?? ir.source.file,
      sourceSha256: metadata.sourceSha256 ?? ir.source.sha256,
      compiler: metadata.compiler,
      recipe: metadata.recipe,
      metrics: metadata.metrics ?? [],
    },
  };
}
