/**
 * Test helpers for the format: small random IR models, encodings of each kind built with the compiler's
 * real encoders (compiler/methods/storage.ts for Dense/Quantized, compiler/methods/prune.ts for CSR, prune_blocks.ts for SparseBlocks; random
 * low-rank and TT factors in any storage), and the inverse of the reader (a read file back to an
 * EncodedModel) for round-trip comparisons. Used by tests only.
 * @module
 */

import { type IrMatrix, irMatrix, type IrModel } from "../../compiler/ir.ts";
import type { EncodedMatrix, EncodedModel, FloatTypeName } from "../../compiler/encoded.ts";
import type { StorageSpec } from "../../compiler/methods/method.ts";
import { encodeStorage } from "../../compiler/methods/storage.ts";
import { encodeCsr } from "../../compiler/methods/prune.ts";
import { blockNorms, type BlockShape, encodeBlocks } from "../../compiler/methods/prune_blocks.ts";
import { mulberry32 } from "../random.ts";
import { f16BitsToF32 } from "./f16.ts";
import { floatsAt, type LemFile, type MatrixInfo, uint16sAt, uint32sAt } from "./read.ts";

/** An integer in [0, n). */
export function randInt(rand: () => number, n: number): number {
  return Math.floor(rand() * n);
}

/** A rows × cols matrix of values in [-scale, scale). */
export function randomMatrix(
  rand: () => number,
  name: string,
  rows: number,
  cols: number,
  scale = 1,
): IrMatrix {
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < data.length; i++) data[i] = (2 * rand() - 1) * scale;
  return irMatrix(name, rows, cols, data);
}

/** A small random IR model: `vocab` tokens, embedding `embed`, one layer per entry of `hidden`. */
export function randomIrModel(
  seed: number,
  { vocab = 20, embed = 6, hidden = [5, 7] }: { vocab?: number; embed?: number; hidden?: number[] } = {},
): IrModel {
  const rand = mulberry32(seed);
  const tokens = ["<unk>", "<eos>", "N", ...Array.from({ length: vocab - 3 }, (_, i) => `w${i}`)];
  let input = embed;
  const layers = hidden.map((h, k) => {
    const layer = {
      inputSize: input,
      hiddenSize: h,
      wIh: randomMatrix(rand, `layers.${k}.w_ih`, 4 * h, input),
      wHh: randomMatrix(rand, `layers.${k}.w_hh`, 4 * h, h),
      bias: randomMatrix(rand, "bias", 1, 4 * h).data,
    };
    input = h;
    return layer;
  });
  return {
    vocab: tokens,
    unkId: 0,
    eosId: 1,
    tokenizer: { lowercase: true, numberToken: "N", eosPerLine: true },
    embedding: randomMatrix(rand, "embedding", vocab, embed),
    layers,
    decoder: randomMatrix(rand, "decoder", vocab, input),
    decoderBias: randomMatrix(rand, "decoder_bias", 1, vocab).data,
    source: { file: "random.onnx", sha256: "0".repeat(64) },
  };
}

/** `m` quantized by the compiler's quantizer: int8 or int4, one scale per `groupSize` columns. */
export function quantize(m: IrMatrix, bits: 4 | 8, groupSize: number): EncodedMatrix {
  return encodeStorage(m, { type: bits === 8 ? "int8" : "int4", groupSize });
}

/**
 * `m` as the compiler's CSR with the entries |x| ≥ threshold kept, values in `values`, column indices of
 * `idxBits` (the compiler picks 16 where the columns allow; tests also need 32 on small matrices).
 */
export function sparse(m: IrMatrix, threshold: number, idxBits: 16 | 32, values: StorageSpec): EncodedMatrix {
  const keep = Uint8Array.from(m.data, (x) => (Math.abs(x) >= threshold ? 1 : 0));
  return encodeCsr(m, keep, values, { colIdxBits: idxBits });
}

/** `m` block-pruned (SparseBlocks), keeping the blocks whose norm is at least `threshold`. */
export function blockSparse(
  m: IrMatrix,
  threshold: number,
  block: BlockShape,
  values: StorageSpec,
): EncodedMatrix {
  const keep = Uint8Array.from(blockNorms(m, block), (x) => (x >= threshold ? 1 : 0));
  return encodeBlocks(m, keep, values, block);
}

/** A random low-rank matrix with factors in `storage`. */
export function lowRank(
  rand: () => number,
  name: string,
  rows: number,
  cols: number,
  rank: number,
  storage: StorageSpec,
): EncodedMatrix {
  return {
    name,
    rows,
    cols,
    encoding: {
      kind: "lowrank",
      a: encodeStorage(randomMatrix(rand, `${name}.a`, rows, rank), storage),
      b: encodeStorage(randomMatrix(rand, `${name}.b`, rank, cols), storage),
    },
  };
}

/** A random TT-matrix with the given modes and ranks, cores in `storage`. */
export function tensorTrain(
  rand: () => number,
  name: string,
  rows: number,
  cols: number,
  rowModes: number[],
  colModes: number[],
  ranks: number[],
  storage: StorageSpec,
): EncodedMatrix {
  const cores = rowModes.map((m, k) =>
    encodeStorage(randomMatrix(rand, `${name}.cores.${k}`, ranks[k], m * colModes[k] * ranks[k + 1]), storage)
  );
  return { name, rows, cols, encoding: { kind: "tt", rowModes, colModes, ranks, cores } };
}

/** An encoder of dense `type` (the compiler's), for tests that build matrices one by one. */
export const dense = (type: FloatTypeName) => (m: IrMatrix): EncodedMatrix => encodeStorage(m, { type });

/**
 * A small model using every encoding: f16 embedding, int8 per-row and int4 (g3) layer-0 weights, low-rank
 * and TT layer-1 weights, a CSR (16-bit indices, int4 values) decoder. Vocabulary 12, sizes 6 → 4 → 5.
 */
/**
 * The mixed model with a character vocabulary (12 tokens: "<unk>", then single characters, space and
 * "\n" among them) and the Character tokenizer.
 */
export function characterModel(seed = 1): EncodedModel {
  return {
    ...mixedModel(seed),
    vocab: ["<unk>", " ", "\n", "a", "b", "c", "d", "e", ".", ",", "é", "😀"],
    unkId: 0,
    eosId: -1,
    tokenizer: { kind: "character", lowercase: false, eosPerLine: false },
  };
}

export function mixedModel(seed = 1): EncodedModel {
  const rand = mulberry32(seed);
  const ir = randomIrModel(seed, { vocab: 12, embed: 6, hidden: [4, 5] });
  return {
    vocab: ir.vocab,
    unkId: ir.unkId,
    eosId: ir.eosId,
    tokenizer: ir.tokenizer,
    embedding: encodeStorage(ir.embedding, { type: "f16" }),
    layers: [
      {
        inputSize: 6,
        hiddenSize: 4,
        wIh: quantize(ir.layers[0].wIh, 8, 6),
        wHh: quantize(ir.layers[0].wHh, 4, 3),
        bias: ir.layers[0].bias,
      },
      {
        inputSize: 4,
        hiddenSize: 5,
        wIh: lowRank(rand, "layers.1.w_ih", 20, 4, 2, { type: "int8", groupSize: 4 }),
        wHh: tensorTrain(rand, "layers.1.w_hh", 20, 5, [5, 5], [1, 5], [1, 2, 1], { type: "f32" }),
        bias: ir.layers[1].bias,
      },
    ],
    decoder: sparse(ir.decoder, 0.5, 16, { type: "int4", groupSize: 4 }),
    decoderBias: ir.decoderBias,
    metadata: {
      name: "mixed",
      sourceFile: "random.onnx",
      sourceSha256: "ab".repeat(32),
      compiler: "lstm-edge test",
      recipe: '{"test":true}',
      metrics: [{ name: "perplexity", value: 123.5 }],
    },
  };
}

/** Reads a matrix back out of a file as the writer's input type (copies). */
export function toEncoded(file: LemFile, info: MatrixInfo): EncodedMatrix {
  const buf = file.bytes.buffer;
  const bytesAt = (offset: number, length: number) => new Uint8Array(buf, offset, length).slice();
  const base = { name: info.name, rows: info.rows, cols: info.cols };
  switch (info.kind) {
    case "dense":
      return {
        ...base,
        encoding: { kind: "dense", type: info.floatType, data: bytesAt(info.dataOffset, info.dataLength) },
      };
    case "quantized":
      return {
        ...base,
        encoding: {
          kind: "quantized",
          bits: info.bits,
          groupSize: info.groupSize,
          scales: info.scaleType === "f16"
            ? Float32Array.from(uint16sAt(buf, info.scalesOffset, info.scalesCount), f16BitsToF32)
            : floatsAt(buf, info.scalesOffset, info.scalesCount).slice(),
          ...(info.scaleType === "f16" ? { scaleType: "f16" as const } : {}),
          data: bytesAt(info.dataOffset, info.dataLength),
        },
      };
    case "lowrank":
      return {
        ...base,
        encoding: { kind: "lowrank", a: toEncoded(file, info.a), b: toEncoded(file, info.b) },
      };
    case "tt":
      return {
        ...base,
        encoding: {
          kind: "tt",
          rowModes: info.rowModes,
          colModes: info.colModes,
          ranks: info.ranks,
          cores: info.cores.map((c) => toEncoded(file, c)),
        },
      };
    case "csr":
      return {
        ...base,
        encoding: {
          kind: "csr",
          rowPtr: uint32sAt(buf, info.rowPtrOffset, info.rows + 1).slice(),
          colIdx: info.colIdxBits === 16
            ? uint16sAt(buf, info.colIdxOffset, info.nnz).slice()
            : uint32sAt(buf, info.colIdxOffset, info.nnz).slice(),
          values: toEncoded(file, info.values),
        },
      };
    case "blocks":
      return {
        ...base,
        encoding: {
          kind: "blocks",
          blockRows: info.blockRows,
          blockCols: info.blockCols,
          rowPtr: uint32sAt(buf, info.rowPtrOffset, Math.ceil(info.rows / info.blockRows) + 1).slice(),
          blockIdx: uint16sAt(buf, info.blockIdxOffset, info.nblocks).slice(),
          values: toEncoded(file, info.values),
        },
      };
  }
}

/** Reads a whole file back as the writer's input type. */
export function toEncodedModel(file: LemFile): EncodedModel {
  return {
    vocab: file.vocab,
    unkId: file.unkId,
    eosId: file.eosId,
    tokenizer: {
      lowercase: file.tokenizer.lowercase,
      ...(file.tokenizer.numberToken !== undefined ? { numberToken: file.tokenizer.numberToken } : {}),
      eosPerLine: file.tokenizer.eosPerLine,
    },
    embedding: toEncoded(file, file.embedding),
    layers: file.layers.map((l) => ({
      inputSize: l.inputSize,
      hiddenSize: l.hiddenSize,
      wIh: toEncoded(file, l.wIh),
      wHh: toEncoded(file, l.wHh),
      bias: l.bias.slice(),
    })),
    decoder: toEncoded(file, file.decoder),
    decoderBias: file.decoderBias.slice(),
    metadata: { ...file.metadata, metrics: file.metadata.metrics.map((m) => ({ ...m })) },
  };
}
