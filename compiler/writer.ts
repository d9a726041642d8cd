/**
 * Serializes an {@link EncodedModel} into a `.lem` file (schema/lem.fbs) and writes files atomically.
 *
 * Output is deterministic (same model → same bytes: no timestamps, no shared strings, a fixed build
 * order), carries format 1.1 and file identifier "LEM1", and has the data of every numeric vector
 * (weights, scales, biases, CSR indices, TT modes) at a 16-byte boundary from the start of the file.
 * @module
 */

import * as flatbuffers from "flatbuffers";
import {
  Dense,
  Encoding as EncodingType,
  FloatType,
  LowRank,
  LstmLayer,
  Matrix,
  Metadata,
  Metric,
  Model,
  Quantized,
  SparseBlocks,
  SparseCsr,
  TensorTrain,
  Tokenizer,
  TokenizerKind,
  Vocabulary,
} from "../schema/generated/lem_generated.ts";
import type { EncodedLstmLayer, EncodedMatrix, EncodedModel, LemMetadata } from "./encoded.ts";
import { DATA_ALIGNMENT, FILE_IDENTIFIER, FORMAT_MAJOR, LITTLE_ENDIAN } from "../runtime/format/constants.ts";
import { LemFormatError } from "../runtime/format/errors.ts";
import { verifyLem } from "../runtime/format/verify.ts";
import { f16BitsToF32, f32ToF16Bits } from "../runtime/format/f16.ts";

/** Options of {@link writeLem}. */
export interface WriteLemOptions {
  /**
   * Verify the bytes with the runtime's verifier before returning them (default true), so that a
   * compiler bug never leaves an unreadable file. Tests that build invalid files turn it off.
   */
  verify?: boolean;
}

function checkUint(value: number, what: string, max = 0xffffffff): number {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new Error(`writeLem: ${what} is ${value}, expected an integer from 0 to ${max}`);
  }
  return value;
}

/** Little-endian bytes of a typed array (a view when the host is little-endian). */
function leBytes(a: Float32Array | Uint32Array | Uint16Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const out = new Uint8Array(a.byteLength);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < a.length; i++) {
    if (a instanceof Float32Array) dv.setFloat32(4 * i, a[i], true);
    else if (a instanceof Uint32Array) dv.setUint32(4 * i, a[i], true);
    else dv.setUint16(2 * i, a[i], true);
  }
  return out;
}

class LemBuilder {
  readonly b: flatbuffers.Builder;

  constructor(initialSize: number) {
    this.b = new flatbuffers.Builder(initialSize);
  }

  /** A vector of `count` elements of `elemSize` bytes whose data starts at a 16-byte boundary. */
  alignedVector(bytes: Uint8Array, elemSize: number, count: number): flatbuffers.Offset {
    const b = this.b;
    b.startVector(elemSize, count, DATA_ALIGNMENT);
    b.pad(bytes.length); // reserves the bytes (the space was made by startVector) …
    const bb = b.dataBuffer();
    bb.bytes().set(bytes, bb.capacity() - b.offset()); // … and fills them in
    return b.endVector();
  }

  floats(a: Float32Array): flatbuffers.Offset {
    return this.alignedVector(leBytes(a), 4, a.length);
  }

  /** Values that must be exact finite binary16 numbers, as a vector of their bits. */
  halves(a: Float32Array, what: string): flatbuffers.Offset {
    const bits = Uint16Array.from(a, (v, i) => {
      const h = f32ToF16Bits(v);
      if (f16BitsToF32(h) !== v || (h & 0x7c00) === 0x7c00) {
        throw new Error(`writeLem: ${what}[${i}] = ${v} is not a finite float16 value`);
      }
      return h;
    });
    return this.alignedVector(leBytes(bits), 2, bits.length);
  }

  uint32s(values: ArrayLike<number>, what: string): flatbuffers.Offset {
    const a = new Uint32Array(values.length);
    for (let i = 0; i < values.length; i++) a[i] = checkUint(values[i], `${what}[${i}]`);
    return this.alignedVector(leBytes(a), 4, a.length);
  }

  matrix(m: EncodedMatrix): flatbuffers.Offset {
    const b = this.b;
    const rows = checkUint(m.rows, `"${m.name}" rows`);
    const cols = checkUint(m.cols, `"${m.name}" cols`);
    const e = m.encoding;
    let type: EncodingType;
    let value: flatbuffers.Offset;
    switch (e.kind) {
      case "dense": {
        if (e.type !== "f32" && e.type !== "f16") {
          throw new Error(`writeLem: "${m.name}" has float type ${e.type}`);
        }
        const data = this.alignedVector(e.data, 1, e.data.length);
        Dense.startDense(b);
        Dense.addType(b, e.type === "f32" ? FloatType.F32 : FloatType.F16);
        Dense.addData(b, data);
        value = Dense.endDense(b);
        type = EncodingType.Dense;
        break;
      }
      case "quantized": {
        if (e.bits !== 4 && e.bits !== 8) {
          throw new Error(`writeLem: "${m.name}" has ${e.bits} bits, expected 4 or 8`);
        }
        const f16 = e.scaleType === "f16";
        const scales = f16 ? this.halves(e.scales, `"${m.name}" scales`) : this.floats(e.scales);
        const data = this.alignedVector(e.data, 1, e.data.length);
        Quantized.startQuantized(b);
        Quantized.addBits(b, e.bits);
        Quantized.addGroupSize(b, checkUint(e.groupSize, `"${m.name}" group size`));
        if (f16) Quantized.addScalesF16(b, scales);
        else Quantized.addScales(b, scales);
        Quantized.addData(b, data);
        value = Quantized.endQuantized(b);
        type = EncodingType.Quantized;
        break;
      }
      case "lowrank": {
        const a = this.matrix(e.a);
        const bm = this.matrix(e.b);
        LowRank.startLowRank(b);
        LowRank.addA(b, a);
        LowRank.addB(b, bm);
        value = LowRank.endLowRank(b);
        type = EncodingType.LowRank;
        break;
      }
      case "tt": {
        const rowModes = this.uint32s(e.rowModes, `"${m.name}" row modes`);
        const colModes = this.uint32s(e.colModes, `"${m.name}" col modes`);
        const ranks = this.uint32s(e.ranks, `"${m.name}" ranks`);
        const cores = TensorTrain.createCoresVector(b, e.cores.map((c) => this.matrix(c)));
        value = TensorTrain.createTensorTrain(b, rowModes, colModes, ranks, cores);
        type = EncodingType.TensorTrain;
        break;
      }
      case "csr": {
        const rowPtr = this.alignedVector(leBytes(e.rowPtr), 4, e.rowPtr.length);
        const wide = e.colIdx instanceof Uint32Array;
        const colIdx = this.alignedVector(leBytes(e.colIdx), wide ? 4 : 2, e.colIdx.length);
        const values = this.matrix(e.values);
        SparseCsr.startSparseCsr(b);
        SparseCsr.addRowPtr(b, rowPtr);
        if (wide) SparseCsr.addColIdx32(b, colIdx);
        else SparseCsr.addColIdx16(b, colIdx);
        SparseCsr.addValues(b, values);
        value = SparseCsr.endSparseCsr(b);
        type = EncodingType.SparseCsr;
        break;
      }
      case "blocks": {
        const rowPtr = this.alignedVector(leBytes(e.rowPtr), 4, e.rowPtr.length);
        const blockIdx = this.alignedVector(leBytes(e.blockIdx), 2, e.blockIdx.length);
        const values = this.matrix(e.values);
        SparseBlocks.startSparseBlocks(b);
        SparseBlocks.addBlockRows(b, checkUint(e.blockRows, `"${m.name}" block rows`));
        SparseBlocks.addBlockCols(b, checkUint(e.blockCols, `"${m.name}" block columns`));
        SparseBlocks.addRowPtr(b, rowPtr);
        SparseBlocks.addBlockIdx(b, blockIdx);
        SparseBlocks.addValues(b, values);
        value = SparseBlocks.endSparseBlocks(b);
        type = EncodingType.SparseBlocks;
        break;
      }
      default:
        throw new Error(`writeLem: "${m.name}" has unknown encoding kind ${(e as { kind: unknown }).kind}`);
    }
    const name = b.createString(m.name);
    Matrix.startMatrix(b);
    Matrix.addName(b, name);
    Matrix.addRows(b, rows);
    Matrix.addCols(b, cols);
    Matrix.addEncodingType(b, type);
    Matrix.addEncoding(b, value);
    return Matrix.endMatrix(b);
  }

  layer(l: EncodedLstmLayer, k: number): flatbuffers.Offset {
    const b = this.b;
    const wIh = this.matrix(l.wIh);
    const wHh = this.matrix(l.wHh);
    const bias = this.floats(l.bias);
    LstmLayer.startLstmLayer(b);
    LstmLayer.addInputSize(b, checkUint(l.inputSize, `layers[${k}].inputSize`));
    LstmLayer.addHiddenSize(b, checkUint(l.hiddenSize, `layers[${k}].hiddenSize`));
    LstmLayer.addWIh(b, wIh);
    LstmLayer.addWHh(b, wHh);
    LstmLayer.addBias(b, bias);
    return LstmLayer.endLstmLayer(b);
  }

  vocabulary(model: EncodedModel): flatbuffers.Offset {
    const b = this.b;
    const tokens = Vocabulary.createTokensVector(b, model.vocab.map((t) => b.createString(t)));
    const numberToken = model.tokenizer.numberToken === undefined
      ? 0
      : b.createString(model.tokenizer.numberToken);
    Tokenizer.startTokenizer(b);
    Tokenizer.addKind(
      b,
      model.tokenizer.kind === "character" ? TokenizerKind.Character : TokenizerKind.Whitespace,
    );
    Tokenizer.addLowercase(b, model.tokenizer.lowercase);
    if (numberToken) Tokenizer.addNumberToken(b, numberToken);
    Tokenizer.addEosPerLine(b, model.tokenizer.eosPerLine);
    const tokenizer = Tokenizer.endTokenizer(b);
    for (const [what, id] of [["unkId", model.unkId], ["eosId", model.eosId]] as const) {
      if (!Number.isInteger(id) || id < -1 || id > 0x7fffffff) throw new Error(`writeLem: ${what} is ${id}`);
    }
    Vocabulary.startVocabulary(b);
    Vocabulary.addTokens(b, tokens);
    Vocabulary.addUnkId(b, model.unkId);
    Vocabulary.addEosId(b, model.eosId);
    Vocabulary.addTokenizer(b, tokenizer);
    return Vocabulary.endVocabulary(b);
  }

  metadata(md: LemMetadata): flatbuffers.Offset {
    const b = this.b;
    const metrics = Metadata.createMetricsVector(
      b,
      md.metrics.map((m) => Metric.createMetric(b, b.createString(m.name), m.value)),
    );
    const [name, sourceFile, sourceSha256, compiler, recipe] = [
      md.name,
      md.sourceFile,
      md.sourceSha256,
      md.compiler,
      md.recipe,
    ].map((s) => b.createString(s));
    return Metadata.createMetadata(b, name, sourceFile, sourceSha256, compiler, recipe, metrics);
  }
}

/** Rough size of the finished file, so that the builder rarely has to grow (and copy). */
function estimateSize(model: EncodedModel): number {
  const matrix = (m: EncodedMatrix): number => {
    const e = m.encoding;
    const own = 128 + m.name.length;
    switch (e.kind) {
      case "dense":
        return own + e.data.length + 32;
      case "quantized":
        return own + e.data.length + e.scales.byteLength + 64;
      case "lowrank":
        return own + matrix(e.a) + matrix(e.b);
      case "tt":
        return own + 12 * e.ranks.length + 48 + e.cores.reduce((s, c) => s + matrix(c), 0);
      case "csr":
        return own + e.rowPtr.byteLength + e.colIdx.byteLength + 64 + matrix(e.values);
      case "blocks":
        return own + e.rowPtr.byteLength + e.blockIdx.byteLength + 64 + matrix(e.values);
      default:
        return own;
    }
  };
  let size = 1024 + model.vocab.reduce((s, t) => s + 3 * t.length + 12, 0) + model.decoderBias.byteLength;
  size += matrix(model.embedding) + matrix(model.decoder);
  for (const l of model.layers) size += matrix(l.wIh) + matrix(l.wHh) + l.bias.byteLength + 96;
  const md = model.metadata;
  size += 3 *
    (md.name.length + md.sourceFile.length + md.sourceSha256.length + md.compiler.length + md.recipe.length);
  size += md.metrics.reduce((s, m) => s + 3 * m.name.length + 48, 0);
  return size;
}

/**
 * The format minor a model needs: the lowest that has every feature it uses (1 for SparseBlocks, f16
 * quantization scales or a character tokenizer, else 0),
 * so that a file without new features reads exactly as before and stays byte-identical.
 */
export function requiredFormatMinor(model: EncodedModel): number {
  const uses = (m: EncodedMatrix): boolean => {
    const e = m.encoding;
    if (e.kind === "blocks" || (e.kind === "quantized" && e.scaleType === "f16")) return true;
    if (e.kind === "lowrank") return uses(e.a) || uses(e.b);
    if (e.kind === "tt") return e.cores.some(uses);
    if (e.kind === "csr") return uses(e.values);
    return false;
  };
  const matrices = [model.embedding, model.decoder, ...model.layers.flatMap((l) => [l.wIh, l.wHh])];
  return matrices.some(uses) || model.tokenizer.kind === "character" ? 1 : 0;
}

/**
 * Serializes a model into `.lem` bytes: format 1.{@link requiredFormatMinor}, identifier "LEM1", data vectors 16-byte aligned,
 * byte-identical for identical input. Unless `options.verify` is false, the result is checked with the
 * runtime's `verifyLem`; an inconsistent model (shapes, lengths, indices) throws an Error that names
 * the field.
 *
 * @example
 * ```ts
 * const bytes = writeLem(encodeModelDense(ir, "f16", { name: "ptb-small", compiler: "lstm-edge 0.1.0", recipe: "{}" }));
 * await writeFileAtomic("ptb-small.lem", bytes);
 * ```
 */
export function writeLem(model: EncodedModel, options: WriteLemOptions = {}): Uint8Array {
  const w = new LemBuilder(estimateSize(model));
  const b = w.b;
  // Build order fixes the byte layout: weights first (they end up at the end of the file), the root last.
  const embedding = w.matrix(model.embedding);
  const layerOffsets = model.layers.map((l, k) => w.layer(l, k));
  const decoder = w.matrix(model.decoder);
  const decoderBias = w.floats(model.decoderBias);
  const layers = Model.createLayersVector(b, layerOffsets);
  const vocabulary = w.vocabulary(model);
  const metadata = w.metadata(model.metadata);
  Model.startModel(b);
  b.forceDefaults(true); // store the version even where it equals the schema default (0)
  Model.addFormatMajor(b, FORMAT_MAJOR);
  Model.addFormatMinor(b, requiredFormatMinor(model));
  b.forceDefaults(false);
  Model.addMetadata(b, metadata);
  Model.addVocabulary(b, vocabulary);
  Model.addEmbedding(b, embedding);
  Model.addLayers(b, layers);
  Model.addDecoder(b, decoder);
  Model.addDecoderBias(b, decoderBias);
  b.finish(Model.endModel(b), FILE_IDENTIFIER);
  const view = b.asUint8Array();
  const bytes = view.byteOffset === 0 && view.byteLength === view.buffer.byteLength ? view : view.slice();
  if (options.verify ?? true) {
    try {
      verifyLem(bytes);
    } catch (e) {
      if (e instanceof LemFormatError) {
        throw new Error(`writeLem: refusing to write an invalid model: ${e.message}`, { cause: e });
      }
      throw e;
    }
  }
  return bytes;
}

/**
 * Writes `bytes` to `path` atomically: into a temporary file in the same folder, flushed, then renamed
 * over `path`. On failure the temporary file is removed and `path` is left as it was.
 *
 * @example
 * ```ts
 * await writeFileAtomic("models/ptb-small.lem", writeLem(model));
 * ```
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const cut = Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"));
  const dir = path.slice(0, cut + 1);
  const base = path.slice(cut + 1);
  const tmp = `${dir}.${base}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  try {
    const file = await Deno.open(tmp, { write: true, createNew: true });
    try {
      let done = 0;
      while (done < bytes.length) done += await file.write(bytes.subarray(done));
      await file.syncData();
    } finally {
      file.close();
    }
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    // Name the file asked for, not the temporary one.
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(`Cannot write "${path}": the folder "${dir || "."}" does not exist`, { cause: e });
    }
    throw e;
  }
}
