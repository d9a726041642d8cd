/**
 * Perplexity of a text under a model file, by either engine: our runtime for `.lem`, onnxruntime-web
 * for `.onnx`. Both tokenize with the same rules (runtime/tokenizer.ts) and score with the same
 * convention (runtime/perplexity.ts), so their numbers are comparable to 1e-6.
 * @module
 */
import { importOnnx, readVocabFile } from "./onnx/import.ts";
import { OnnxReferenceModel } from "./onnxruntime_reference.ts";
import { LstmModel } from "../runtime/model.ts";
import { Tokenizer } from "../runtime/tokenizer.ts";
import { readInput } from "../runtime/cli/args.ts";

/** What `deno task eval --json` prints (plus the file names). */
export interface EvaluationResult {
  engine: "lstm-edge" | "onnxruntime-web";
  /** lstm-edge's kernels for a `.lem` (absent for an `.onnx`). */
  kernels?: "plain" | "relaxed";
  perplexity: number;
  tokens: number;
  nll: number;
  unknown: number;
  /** Whether the model reads text as characters (a character tokenizer) rather than words. */
  characters: boolean;
  seconds: number;
}

/** Options for {@link evaluateModelFile}. */
export interface EvaluateOptions {
  /** Vocabulary file text for an ONNX model without metadata_props "vocab". */
  vocabText?: string;
  /** Score only the first `limit` tokens. */
  limit?: number;
  /**
   * lstm-edge's kernels for a `.lem`: "relaxed" (default) runs int8/int4 products in the relaxed-SIMD
   * module where the engine has it (activations quantized to 7/8 bits), "plain" only in the plain-SIMD
   * module (16-bit activations: the exact comparison with PyTorch).
   */
  kernels?: "plain" | "relaxed";
  onProgress?: (done: number, total: number) => void;
}

/** Evaluates `text` under the model at `path` (`.lem` or `.onnx`, decided by the file's contents). */
export async function evaluateModelFile(
  path: string,
  text: string,
  options: EvaluateOptions = {},
): Promise<EvaluationResult> {
  const bytes = await readInput(path, "Model file");
  const started = performance.now();
  const isOnnx = path.endsWith(".onnx") ||
    !(bytes.length >= 8 && new TextDecoder().decode(bytes.subarray(4, 8)) === "LEM1");
  let tokenizer: Tokenizer;
  let score: (ids: number[]) => Promise<{ perplexity: number; tokens: number; nll: number }>;
  if (isOnnx) {
    const ir = importOnnx(bytes, {
      fileName: path,
      vocab: options.vocabText === undefined ? undefined : readVocabFile(options.vocabText),
    });
    if (options.kernels !== undefined) {
      throw new Error("--kernels applies to .lem models only; onnxruntime-web runs an .onnx");
    }
    tokenizer = new Tokenizer(ir.vocab, ir.unkId, ir.eosId, ir.tokenizer);
    const reference = await OnnxReferenceModel.create(bytes);
    score = (ids) => reference.score(ids, { onProgress: options.onProgress });
  } else {
    if (options.vocabText !== undefined) {
      throw new Error("--vocab applies to .onnx models only; a .lem holds its vocabulary");
    }
    const model = await LstmModel.load(bytes, { relaxedKernels: options.kernels !== "plain" });
    tokenizer = model.tokenizer;
    score = (ids) => Promise.resolve(model.score(ids, { onProgress: options.onProgress }));
  }
  const encoded = tokenizer.encode(text);
  const ids = options.limit ? encoded.ids.slice(0, options.limit) : encoded.ids;
  if (ids.length < 2) {
    throw new Error(`The text holds ${ids.length} token(s); at least 2 are needed to score one`);
  }
  const result = await score(ids);
  return {
    engine: isOnnx ? "onnxruntime-web" : "lstm-edge",
    ...(isOnnx ? {} : { kernels: options.kernels ?? "relaxed" }),
    perplexity: result.perplexity,
    tokens: result.tokens,
    nll: result.nll,
    unknown: encoded.unknown,
    characters: tokenizer.kind === "character",
    seconds: (performance.now() - started) / 1000,
  };
}
