/**
 * Test helpers for the format: a seeded PRNG, small random IR models, hand-built encodings of each kind
 * (simple reference quantization, CSR, random low-rank and TT factors), and the inverse of the reader
 * (a read file back to an EncodedModel) for round-trip comparisons. Used by tests only.
 * @module
 */

import { type IrMatrix, irMatrix, type IrModel } from "../../compiler/ir.ts";
import type { EncodedMatrix, EncodedModel, FloatTypeName } from "../../compiler/encoded.ts";
import { encodeDense } from "../../compiler/encoded.ts";
import { floatsAt, type LemFile, type MatrixInfo, uint16sAt, uint32sAt } from "./read.ts";

/** Mulberry32: a small deterministic PRNG; returns floats in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

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
  const rand = prng(seed);
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

/** Reference symmetric quantization (per group of `groupSize` columns; `groupSize` ≥ cols: per row). */
export function quantize(m: IrMatrix, bits: 4 | 8, groupSize: number): EncodedMatrix {
  const qmax = bits === 8 ? 127 : 7;
  const groups = Math.ceil(m.cols / groupSize);
  const scales = new Float32Array(m.rows * groups);
  const rowBytes = bits === 8 ? m.cols : Math.ceil(m.cols / 2);
  const data = new Uint8Array(m.rows * rowBytes);
  for (let r = 0; r < m.rows; r++) {
    for (let g = 0; g < groups; g++) {
      let max = 0;
      for (let c = g * groupSize; c < Math.min(m.cols, (g + 1) * groupSize); c++) {
        max = Math.max(max, Math.abs(m.data[r * m.cols + c]));
      }
      scales[r * groups + g] = max > 0 ? max / qmax : 1;
    }
    for (let c = 0; c < m.cols; c++) {
      const s = scales[r * groups + Math.floor(c / groupSize)];
      const q = Math.max(-qmax, Math.min(qmax, Math.round(m.data[r * m.cols + c] / s)));
      if (bits === 8) data[r * rowBytes + c] = q & 0xff;
      else data[r * rowBytes + (c >> 1)] |= (q & 0xf) << (4 * (c & 1));
    }
  }
  return {
    name: m.name,
    rows: m.rows,
    cols: m.cols,
    encoding: { kind: "quantized", bits, groupSize, scales, data },
  };
}

/** CSR of the entries with |x| ≥ threshold; values encoded by `values`. */
export function sparse(
  m: IrMatrix,
  threshold: number,
  idxBits: 16 | 32,
  values: (v: IrMatrix) => EncodedMatrix,
): EncodedMatrix {
  const rowPtr = new Uint32Array(m.rows + 1);
  const idx: number[] = [];
  const vals: number[] = [];
  for (let r = 0; r < m.rows; r++) {
    for (let c = 0; c < m.cols; c++) {
      const x = m.data[r * m.cols + c];
      if (Math.abs(x) >= threshold) {
        idx.push(c);
        vals.push(x);
      }
    }
    rowPtr[r + 1] = idx.length;
  }
  return {
    name: m.name,
    rows: m.rows,
    cols: m.cols,
    encoding: {
      kind: "csr",
      rowPtr,
      colIdx: idxBits === 16 ? new Uint16Array(idx) : new Uint32Array(idx),
      values: values(irMatrix(`${m.name}.values`, 1, vals.length, new Float32Array(vals))),
    },
  };
}

/** A random low-rank matrix with factors encoded by `enc`. */
export function lowRank(
  rand: () => number,
  name: string,
  rows: number,
  cols: number,
  rank: number,
  enc: (m: IrMatrix) => EncodedMatrix,
): EncodedMatrix {
  return {
    name,
    rows,
    cols,
    encoding: {
      kind: "lowrank",
      a: enc(randomMatrix(rand, `${name}.a`, rows, rank)),
      b: enc(randomMatrix(rand, `${name}.b`, rank, cols)),
    },
  };
}

/** A random TT-matrix with the given modes and ranks, cores encoded by `enc`. */
export function tensorTrain(
  rand: () => number,
  name: string,
  rows: number,
  cols: number,
  rowModes: number[],
  colModes: number[],
  ranks: number[],
  enc: (m: IrMatrix) => EncodedMatrix,
): EncodedMatrix {
  const cores = rowModes.map((m, k) =>
    enc(randomMatrix(rand, `${name}.cores.${k}`, ranks[k], m * colModes[k] * ranks[k + 1]))
  );
  return { name, rows, cols, encoding: { kind: "tt", rowModes, colModes, ranks, cores } };
}

/** Dense encoder for the helpers above. */
export const dense = (type: FloatTypeName) => (m: IrMatrix): EncodedMatrix => encodeDense(m, type);

/**
 * A small model using every encoding: f16 embedding, int8 per-row and int4 (g3) layer-0 weights, low-rank
 * and TT layer-1 weights, a CSR (16-bit indices, int4 values) decoder. Vocabulary 12, sizes 6 → 4 → 5.
 */
export function mixedModel(seed = 1): EncodedModel {
  const rand = prng(seed);
  const ir = randomIrModel(seed, { vocab: 12, embed: 6, hidden: [4, 5] });
  return {
    vocab: ir.vocab,
    unkId: ir.unkId,
    eosId: ir.eosId,
    tokenizer: ir.tokenizer,
    embedding: encodeDense(ir.embedding, "f16"),
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
        wIh: lowRank(rand, "layers.1.w_ih", 20, 4, 2, (m) => quantize(m, 8, 4)),
        wHh: tensorTrain(rand, "layers.1.w_hh", 20, 5, [5, 5], [1, 5], [1, 2, 1], dense("f32")),
        bias: ir.layers[1].bias,
      },
    ],
    decoder: sparse(ir.decoder, 0.5, 16, (m) => quantize(m, 4, 4)),
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
          scales: floatsAt(buf, info.scalesOffset, info.scalesCount).slice(),
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
