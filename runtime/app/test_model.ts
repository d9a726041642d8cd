/**
 * For tests of the app and its platforms: a small random model with an English vocabulary and PTB's
 * normalization rules (lowercase, numbers → N), as `.lem` bytes, loaded, and written to a temp file.
 * @module
 */
import { mulberry32 } from "../random.ts";
import { encodeModelDense } from "../../compiler/encoded.ts";
import { writeLem } from "../../compiler/writer.ts";
import type { IrModel } from "../../compiler/ir.ts";
import { randomMatrix } from "../format/test_fixtures.ts";
import { LstmModel } from "../model.ts";
import { sha256Hex } from "../sha256.ts";

export const TEST_VOCAB = [
  "<unk>",
  "<eos>",
  "N",
  "the",
  "stock",
  "market",
  "is",
  "a",
  "of",
  "to",
  "in",
  "and",
  "company",
  "said",
  "it",
  "shares",
  "new",
  "year",
  "price",
  "bank",
  "rose",
  "fell",
  "percent",
  "million",
  "billion",
  "for",
  "on",
  "that",
  "was",
  "will",
  "be",
  "by",
  "with",
  "at",
  "as",
  "from",
  "its",
  "share",
  "trading",
  "investors",
];

/** `.lem` bytes of the test model (deterministic). Layers: 8 → 12 → 10, vocabulary 40. */
export function testModelBytes(seed = 7): Uint8Array {
  const rand = mulberry32(seed);
  const v = TEST_VOCAB.length;
  const sizes = [{ inputSize: 8, hiddenSize: 12 }, { inputSize: 12, hiddenSize: 10 }];
  const ir: IrModel = {
    vocab: TEST_VOCAB,
    unkId: 0,
    eosId: 1,
    tokenizer: { lowercase: true, numberToken: "N", eosPerLine: true },
    embedding: randomMatrix(rand, "embedding", v, 8),
    layers: sizes.map((s, k) => ({
      ...s,
      wIh: randomMatrix(rand, `layers.${k}.w_ih`, 4 * s.hiddenSize, s.inputSize, 0.8),
      wHh: randomMatrix(rand, `layers.${k}.w_hh`, 4 * s.hiddenSize, s.hiddenSize, 0.8),
      bias: randomMatrix(rand, "bias", 1, 4 * s.hiddenSize, 0.3).data,
    })),
    decoder: randomMatrix(rand, "decoder", v, 10, 2),
    decoderBias: randomMatrix(rand, "decoder_bias", 1, v, 0.5).data,
    source: { file: "test.onnx", sha256: "0".repeat(64) },
  };
  const recipe = JSON.stringify({ method: "f32" });
  return writeLem(encodeModelDense(ir, "f32", { name: "test-model", compiler: "lstm-edge test", recipe }));
}

/** The characters of the character-level test model: letters, space, newline and some punctuation. */
export const TEST_CHARACTERS = [..." \nabcdefghijklmnopqrstuvwxyzT.,"];

/** `.lem` bytes of a small random character-level model (deterministic). Layers: 6 → 9, no <unk>. */
export function testCharacterModelBytes(seed = 5): Uint8Array {
  const rand = mulberry32(seed);
  const v = TEST_CHARACTERS.length;
  const ir: IrModel = {
    vocab: TEST_CHARACTERS,
    unkId: -1,
    eosId: -1,
    tokenizer: { kind: "character", lowercase: false, eosPerLine: false },
    embedding: randomMatrix(rand, "embedding", v, 6),
    layers: [{
      inputSize: 6,
      hiddenSize: 9,
      wIh: randomMatrix(rand, "layers.0.w_ih", 36, 6, 0.8),
      wHh: randomMatrix(rand, "layers.0.w_hh", 36, 9, 0.8),
      bias: randomMatrix(rand, "bias", 1, 36, 0.3).data,
    }],
    decoder: randomMatrix(rand, "decoder", v, 9, 2),
    decoderBias: randomMatrix(rand, "decoder_bias", 1, v, 0.5).data,
    source: { file: "test-characters", sha256: "0".repeat(64) },
  };
  const recipe = JSON.stringify({ method: "f32" });
  return writeLem(
    encodeModelDense(ir, "f32", { name: "test-characters", compiler: "lstm-edge test", recipe }),
  );
}

/** The test model loaded, with its identity. */
export async function loadTestModel(
  seed = 7,
): Promise<{ model: LstmModel; bytes: Uint8Array; sha256: string }> {
  const bytes = testModelBytes(seed);
  return { model: await LstmModel.load(bytes), bytes, sha256: await sha256Hex(bytes) };
}

/** Writes the test model to a temp file and returns its path. */
export async function writeTestModel(seed = 7): Promise<string> {
  const path = await Deno.makeTempFile({ prefix: "lstm-edge-test-", suffix: ".lem" });
  await Deno.writeFile(path, testModelBytes(seed));
  return path;
}
