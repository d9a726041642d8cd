/**
 * ONNX → IR: the importer's entry point.
 *
 * Supported: the graphs `torch.onnx.export` writes for Embedding → nn.LSTM (1..N layers, batch_first or
 * not, with or without h0/c0 inputs, embedding dim ≠ hidden size) → Linear (with or without bias, tied to
 * the embedding or not), opsets 9–21, and equivalent hand-made graphs. See compiler/onnx/README.md for the
 * exact patterns and trace.ts for the walk.
 * @module
 */

import { createHash } from "node:crypto";
import { irMatrix, type IrModel } from "../ir.ts";
import { foldConstants } from "./constants.ts";
import { OnnxGraph } from "./graph.ts";
import { decodeModel } from "./proto.ts";
import { traceLanguageModel } from "./trace.ts";
import { checkVocabularyTokens, readTokenizerMetadata, readVocabFile } from "./vocab.ts";
import { readTrainedParts, TRAINED_PARTS_KEY } from "./trained_parts.ts";
import { relativeError } from "../methods/registry.ts";

export { readVocabFile } from "./vocab.ts";
export { lstmNodeToLayer } from "./lstm.ts";
export { readTensorProto } from "./proto.ts";

/** Options of {@link importOnnx}. */
export interface ImportOptions {
  /** Recorded as `source.file` (default "model.onnx"). */
  fileName?: string;
  /** Token strings, index = id; takes precedence over the model's metadata_props "vocab". */
  vocab?: string[];
  /**
   * Tokenizer settings as JSON (same format as metadata_props "tokenizer"); takes precedence over the
   * model's own. The CLI's `--tokenizer JSON`, for models exported without them.
   */
  tokenizer?: string;
}

/**
 * Imports an ONNX LSTM language model.
 *
 * The vocabulary comes from `options.vocab` (the CLI's `--vocab FILE`, read with {@link readVocabFile}) or
 * else from metadata_props "vocab"; its length must equal the embedding's rows. Tokenizer settings come
 * from metadata_props "tokenizer" (JSON, see vocab.ts) or default to PTB-style text.
 * Errors name the node, input or attribute that is not supported and say what was expected.
 *
 * @example
 * ```ts
 * const bytes = Deno.readFileSync("models/ptb-small.onnx");
 * const ir = importOnnx(bytes, { fileName: "ptb-small.onnx" });
 * ir.layers.length; // 2
 * ```
 */
export function importOnnx(bytes: Uint8Array, options: ImportOptions = {}): IrModel {
  const model = decodeModel(bytes);
  const graph = new OnnxGraph(model);
  const consts = foldConstants(graph);
  const lm = traceLanguageModel(graph, consts);

  const meta = new Map((model.metadataProps ?? []).map((p) => [p.key ?? "", p.value ?? ""]));
  let vocab: string[];
  let vocabSource: string;
  if (options.vocab) {
    vocab = options.vocab;
    vocabSource = "the vocabulary file";
    const dup = vocab.findIndex((t, i) => vocab.indexOf(t) !== i);
    if (dup >= 0) throw new Error(`Vocabulary token ${JSON.stringify(vocab[dup])} appears twice`);
  } else if (meta.has("vocab")) {
    try {
      vocab = readVocabFile(meta.get("vocab")!);
    } catch (e) {
      throw new Error(`metadata_props "vocab": ${(e as Error).message}`);
    }
    vocabSource = `metadata_props "vocab"`;
  } else {
    throw new Error(
      `The model has no vocabulary (no "vocab" entry in metadata_props): pass one with --vocab FILE ` +
        `(one token per line, line number = token id)`,
    );
  }
  const rows = lm.embedding.rows;
  if (vocab.length !== rows) {
    throw new Error(
      `The vocabulary from ${vocabSource} has ${vocab.length} tokens but the embedding "${lm.embedding.tensor}" ` +
        `has ${rows} rows; they must be equal (line number = token id)`,
    );
  }
  if (lm.decoder.rows !== rows) {
    throw new Error(
      `The decoder produces ${lm.decoder.rows} logits but the embedding has ${rows} rows; expected one logit per token`,
    );
  }
  const last = lm.layers[lm.layers.length - 1];
  const tokenizer = readTokenizerMetadata(options.tokenizer ?? meta.get("tokenizer"), vocab);
  checkVocabularyTokens(vocab, tokenizer, vocabSource);
  const ir: IrModel = {
    vocab: vocab.slice(),
    unkId: vocab.indexOf("<unk>"),
    eosId: vocab.indexOf("<eos>"),
    tokenizer,
    embedding: irMatrix("embedding", rows, lm.embedding.cols, lm.embedding.data.slice()),
    layers: lm.layers,
    decoder: irMatrix("decoder", lm.decoder.rows, last.hiddenSize, lm.decoder.data),
    decoderBias: lm.decoderBias,
    source: {
      file: options.fileName ?? "model.onnx",
      sha256: createHash("sha256").update(bytes).digest("hex"),
    },
  };
  const matrices = [ir.embedding, ...ir.layers.flatMap((l) => [l.wIh, l.wHh]), ir.decoder];
  const trained = readTrainedParts(
    graph,
    meta.get(TRAINED_PARTS_KEY),
    new Map(matrices.map((m) => [m.name, m])),
  );
  if (trained) {
    // The dense weights are the trained parts reconstructed (what onnxruntime runs): a file where they
    // disagree was edited or corrupted, and its two models would not be the same.
    for (const m of matrices) {
      const t = trained.tensors.get(m.name);
      const err = t && relativeError(m.data, t.encoded);
      if (err !== undefined && !(err <= TRAINED_PARTS_TOLERANCE)) {
        throw new Error(
          `metadata_props "${TRAINED_PARTS_KEY}" tensor "${m.name}": its trained parts reconstruct the dense ` +
            `weight with relative error ${
              err.toExponential(2)
            } (at most ${TRAINED_PARTS_TOLERANCE} expected): ` +
            `the file's weights and parts do not belong together`,
        );
      }
    }
    ir.trained = trained;
  }
  return ir;
}

/** ‖W − decode(parts)‖ / ‖W‖ allowed between a file's dense weights and its trained parts (float32 rounding). */
export const TRAINED_PARTS_TOLERANCE = 1e-5;
