/**
 * The compiler's intermediate representation: what an importer produces and the writer consumes.
 *
 * One representation: every weight matrix is float32, row-major, with an explicit shape. LSTM gates are
 * in the format's fixed order i, f, g, o (importers convert from their source's order).
 * @module
 */
import type { TrainedParts } from "./onnx/trained_parts.ts";

/** A row-major float32 matrix: element (r, c) is `data[r * cols + c]`. */
export interface IrMatrix {
  /** Stable tensor name used by recipes and reports: "embedding", "layers.0.w_ih", "decoder", … */
  name: string;
  rows: number;
  cols: number;
  data: Float32Array;
}

/** One LSTM layer. gates = wIh·x + wHh·h + bias, gate blocks i, f, g, o of hiddenSize rows each. */
export interface IrLstmLayer {
  inputSize: number;
  hiddenSize: number;
  /** (4·hiddenSize) × inputSize */
  wIh: IrMatrix;
  /** (4·hiddenSize) × hiddenSize */
  wHh: IrMatrix;
  /** 4·hiddenSize: the sum of both source biases. */
  bias: Float32Array;
}

/** How text becomes tokens (mirrors the format's Tokenizer table). */
export interface IrTokenizer {
  /** "whitespace" (default: a token is a word) or "character" (a token is one character). */
  kind?: "whitespace" | "character";
  lowercase: boolean;
  /** When set, tokens that look like numbers become this token (PTB uses "N"). */
  numberToken?: string;
  eosPerLine: boolean;
}

/** The whole language model. */
export interface IrModel {
  /** Token strings, index = id. */
  vocab: string[];
  /** Id of "<unk>" or -1. */
  unkId: number;
  /** Id of "<eos>" or -1. */
  eosId: number;
  tokenizer: IrTokenizer;
  /** vocabSize × embeddingSize */
  embedding: IrMatrix;
  layers: IrLstmLayer[];
  /** vocabSize × last hiddenSize */
  decoder: IrMatrix;
  /** vocabSize */
  decoderBias: Float32Array;
  /** Where it came from: file name, SHA-256 of its bytes (hex). */
  source: { file: string; sha256: string };
  /**
   * What models/finetune.py re-trained with the compression in place (compiler/onnx/trained_parts.ts):
   * compile packs these encodings as they are instead of compressing the dense weights.
   */
  trained?: TrainedParts;
}

/** Builds a matrix after checking that the data has rows·cols elements. */
export function irMatrix(name: string, rows: number, cols: number, data: Float32Array): IrMatrix {
  if (data.length !== rows * cols) {
    throw new Error(
      `Matrix "${name}": expected ${rows}×${cols} = ${rows * cols} values, found ${data.length}`,
    );
  }
  return { name, rows, cols, data };
}
