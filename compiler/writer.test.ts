import assert from "node:assert/strict";
import { mulberry32 } from "../runtime/random.ts";
import { writeFileAtomic, writeLem } from "./writer.ts";
import { encodeDense, type EncodedMatrix, type EncodedModel, encodeModelDense } from "./encoded.ts";
import type { IrMatrix } from "./ir.ts";
import { f16BitsToF32 } from "../runtime/format/f16.ts";
import { floatsAt, type MatrixInfo, readLem } from "../runtime/format/read.ts";
import { verifyLem } from "../runtime/format/verify.ts";
import {
  blockSparse,
  dense,
  lowRank,
  mixedModel,
  quantize,
  randomIrModel,
  sparse,
  tensorTrain,
  toEncodedModel,
} from "../runtime/format/test_fixtures.ts";

const META = { name: "test", compiler: "lstm-edge test", recipe: '{"dense":"f32"}' };

/** The IR matrix's values decoded from a Dense matrix in the file. */
function denseValues(bytes: Uint8Array, info: MatrixInfo): Float32Array {
  assert.equal(info.kind, "dense");
  if (info.kind !== "dense") throw new Error("unreachable");
  const n = info.rows * info.cols;
  if (info.floatType === "f32") return floatsAt(bytes.buffer, info.dataOffset, n);
  const dv = new DataView(bytes.buffer, info.dataOffset, 2 * n);
  return Float32Array.from({ length: n }, (_, i) => f16BitsToF32(dv.getUint16(2 * i, true)));
}

/** Half the spacing of f16 values around x (the bound for round-to-nearest). */
function halfUlpF16(x: number): number {
  const a = Math.abs(x);
  if (a < 2 ** -14) return 2 ** -25;
  return 2 ** (Math.floor(Math.log2(a)) - 11);
}

function roundTripIr(type: "f32" | "f16") {
  const ir = randomIrModel(42, { vocab: 20, embed: 6, hidden: [5, 7] });
  const file = readLem(writeLem(encodeModelDense(ir, type, META)));
  const pairs: [IrMatrix, MatrixInfo][] = [[ir.embedding, file.embedding], [ir.decoder, file.decoder]];
  ir.layers.forEach((l, k) => pairs.push([l.wIh, file.layers[k].wIh], [l.wHh, file.layers[k].wHh]));
  for (const [m, info] of pairs) {
    assert.deepEqual([info.name, info.rows, info.cols], [m.name, m.rows, m.cols]);
    const got = denseValues(file.bytes, info);
    for (let i = 0; i < m.data.length; i++) {
      if (type === "f32") assert.equal(got[i], m.data[i], `${m.name}[${i}]`);
      else {
        assert.ok(
          Math.abs(got[i] - m.data[i]) <= halfUlpF16(m.data[i]),
          `${m.name}[${i}]: ${got[i]} vs ${m.data[i]}`,
        );
      }
    }
  }
  assert.deepEqual(file.vocab, ir.vocab);
  assert.deepEqual([file.unkId, file.eosId], [ir.unkId, ir.eosId]);
  assert.deepEqual(file.tokenizer, { kind: "whitespace", ...ir.tokenizer });
  assert.deepEqual(
    file.layers.map((l) => [l.inputSize, l.hiddenSize, ...l.bias]),
    ir.layers.map((l) => [l.inputSize, l.hiddenSize, ...l.bias]),
  );
  assert.deepEqual(file.decoderBias, ir.decoderBias);
  assert.deepEqual(file.metadata, {
    ...META,
    sourceFile: ir.source.file,
    sourceSha256: ir.source.sha256,
    metrics: [],
  });
}

Deno.test("writeLem() → readLem() round-trips a random model in f32 exactly", () => roundTripIr("f32"));

Deno.test("writeLem() → readLem() round-trips a random model in f16 within half an f16 ulp", () =>
  roundTripIr("f16"));

Deno.test("writeLem() writes format 1.0 (the lowest minor the file needs) with identifier LEM1", () => {
  const bytes = writeLem(mixedModel());
  assert.equal(new TextDecoder().decode(bytes.subarray(4, 8)), "LEM1");
  const file = readLem(bytes);
  assert.deepEqual([file.formatMajor, file.formatMinor], [1, 0], "no 1.1 feature: written as 1.0");
});

/** A dense f32 model whose decoder is replaced by `decoder` (vocab 20, last hidden 7). */
function withDecoder(make: (m: IrMatrix) => EncodedMatrix): EncodedModel {
  const ir = randomIrModel(5);
  const model = encodeModelDense(ir, "f32", META);
  return { ...model, decoder: make(ir.decoder) };
}

const rand = mulberry32(9);
const encodings: [string, (m: IrMatrix) => EncodedMatrix][] = [
  ["dense f32", dense("f32")],
  ["dense f16", dense("f16")],
  ["int8 per row", (m) => quantize(m, 8, m.cols)],
  ["int8 groups of 3", (m) => quantize(m, 8, 3)],
  ["int4 per row, odd cols", (m) => quantize(m, 4, m.cols)],
  ["int4 groups of 2", (m) => quantize(m, 4, 2)],
  ["lowrank with f16 factors", (m) => lowRank(rand, m.name, m.rows, m.cols, 3, { type: "f16" })],
  [
    "lowrank with int4 factors",
    (m) => lowRank(rand, m.name, m.rows, m.cols, 2, { type: "int4", groupSize: 4 }),
  ],
  [
    "tt with one core [20]×[7]",
    (m) => tensorTrain(rand, m.name, m.rows, m.cols, [20], [7], [1, 1], { type: "f32" }),
  ],
  [
    "tt [4,5]×[1,7] ranks [1,3,1] with int8 cores",
    (m) => tensorTrain(rand, m.name, m.rows, m.cols, [4, 5], [1, 7], [1, 3, 1], { type: "int8" }),
  ],
  [
    "tt [3,7]×[2,4] (padded) with f16 cores",
    (m) => tensorTrain(rand, m.name, m.rows, m.cols, [3, 7], [2, 4], [1, 2, 1], { type: "f16" }),
  ],
  ["csr16 with f32 values", (m) => sparse(m, 0.5, 16, { type: "f32" })],
  ["csr32 with int8 values", (m) => sparse(m, 0.5, 32, { type: "int8" })],
  ["csr16 with int4 values", (m) => sparse(m, 0.3, 16, { type: "int4", groupSize: 5 })],
  ["csr16 without non-zeros", (m) => sparse(m, 2, 16, { type: "f16" })],
];

for (const [label, make] of encodings) {
  Deno.test(`writeLem() → readLem() round-trips a decoder stored as ${label}`, () => {
    const model = withDecoder(make);
    const bytes = writeLem(model);
    verifyLem(bytes);
    assert.deepEqual(toEncodedModel(readLem(bytes)), model);
  });
}

Deno.test("writeLem() → readLem() round-trips a model that uses every encoding", () => {
  const model = mixedModel();
  assert.deepEqual(toEncodedModel(readLem(writeLem(model))), model);
});

Deno.test("readLem() reads a file at an odd byte offset of a bigger buffer", () => {
  const model = mixedModel();
  const bytes = writeLem(model);
  const big = new Uint8Array(bytes.length + 64);
  big.set(bytes, 7);
  const file = readLem(big.subarray(7, 7 + bytes.length));
  assert.deepEqual(toEncodedModel(file), model);
  const info = file.embedding;
  assert.ok(info.kind === "dense");
  assert.equal(
    (info.dataOffset - 7) % 16,
    0,
    "offsets are within bytes.buffer, so include the file's byteOffset",
  );
  assert.deepEqual(
    big.subarray(info.dataOffset, info.dataOffset + info.dataLength),
    model.embedding.encoding.kind === "dense" ? model.embedding.encoding.data : null,
  );
});

Deno.test("writeLem() output is byte-identical for identical input", () => {
  const a = writeLem(mixedModel(3));
  const b = writeLem(mixedModel(3));
  assert.deepEqual(a, b);
  assert.deepEqual(writeLem(mixedModel(3)), a);
});

/** Every vector a kernel reads: [what, offset within the file, element size]. */
function dataVectors(info: MatrixInfo, base: number): [string, number][] {
  switch (info.kind) {
    case "dense":
      return [[`${info.name} data`, info.dataOffset - base]];
    case "quantized":
      return [[`${info.name} scales`, info.scalesOffset - base], [
        `${info.name} data`,
        info.dataOffset - base,
      ]];
    case "lowrank":
      return [...dataVectors(info.a, base), ...dataVectors(info.b, base)];
    case "tt":
      return info.cores.flatMap((c) => dataVectors(c, base));
    case "csr":
      return [
        [`${info.name} row_ptr`, info.rowPtrOffset - base],
        [`${info.name} col_idx`, info.colIdxOffset - base],
        ...dataVectors(info.values, base),
      ];
    case "blocks":
      return [
        [`${info.name} row_ptr`, info.rowPtrOffset - base],
        [`${info.name} block_idx`, info.blockIdxOffset - base],
        ...dataVectors(info.values, base),
      ];
  }
}

Deno.test("writeLem() aligns every data vector to 16 bytes from the start of the file", () => {
  const bytes = writeLem(mixedModel());
  const file = readLem(bytes);
  const vectors = [file.embedding, file.decoder, ...file.layers.flatMap((l) => [l.wIh, l.wHh])]
    .flatMap((m) => dataVectors(m, bytes.byteOffset));
  file.layers.forEach((l, k) => vectors.push([`layers[${k}].bias`, l.bias.byteOffset - bytes.byteOffset]));
  vectors.push(["decoder_bias", file.decoderBias.byteOffset - bytes.byteOffset]);
  assert.equal(vectors.length, 18);
  for (const [what, offset] of vectors) assert.equal(offset % 16, 0, `${what} starts at byte ${offset}`);
  assert.equal(bytes.length % 16, 0);
  const ir = randomIrModel(3, { vocab: 12, embed: 6, hidden: [4, 5] });
  const blocks = writeLem({
    ...mixedModel(),
    decoder: blockSparse(ir.decoder, 0.5, { rows: 4, cols: 4 }, { type: "int8" }),
  });
  const decoder = dataVectors(readLem(blocks).decoder, blocks.byteOffset);
  assert.deepEqual(decoder.map(([what]) => what), [
    "decoder row_ptr",
    "decoder block_idx",
    "decoder.values scales",
    "decoder.values data",
  ]);
  for (const [what, offset] of decoder) {
    assert.equal(offset % 16, 0, `SparseBlocks ${what} starts at byte ${offset}`);
  }
});

Deno.test("writeLem() refuses an inconsistent model, naming the field; verify: false writes it anyway", () => {
  const ir = randomIrModel(8);
  const model = encodeModelDense(ir, "f32", META);
  const bad = {
    ...model,
    layers: [model.layers[0], {
      ...model.layers[1],
      wHh: encodeDense(
        { ...ir.layers[1].wHh, rows: 27, data: ir.layers[1].wHh.data.subarray(0, 27 * 7) },
        "f32",
      ),
    }],
  };
  assert.throws(
    () => writeLem(bad),
    /writeLem: refusing to write an invalid model: Cannot read model: field "layers\[1\]\.w_hh\.rows" is 27, expected 28/,
  );
  const bytes = writeLem(bad, { verify: false });
  assert.throws(() => verifyLem(bytes), /layers\[1\]\.w_hh\.rows/);
});

Deno.test("writeLem() rejects sizes that do not fit the format's integer fields", () => {
  const model = mixedModel();
  assert.throws(
    () => writeLem({ ...model, embedding: { ...model.embedding, rows: -1 } }),
    /"embedding" rows is -1/,
  );
  assert.throws(() => writeLem({ ...model, unkId: 2.5 }), /unkId is 2.5/);
});

Deno.test("writeFileAtomic() writes the file and leaves no temporary file behind", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lem-write-" });
  try {
    const path = `${dir}/model.lem`;
    await Deno.writeFile(path, new Uint8Array([1, 2, 3]));
    const bytes = writeLem(mixedModel());
    await writeFileAtomic(path, bytes);
    assert.deepEqual(await Deno.readFile(path), bytes);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["model.lem"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeFileAtomic() removes its temporary file when the rename fails", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lem-write-" });
  try {
    await Deno.mkdir(`${dir}/model.lem/inside`, { recursive: true }); // a non-empty directory cannot be replaced
    await assert.rejects(() => writeFileAtomic(`${dir}/model.lem`, new Uint8Array([1, 2, 3])));
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["model.lem"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
