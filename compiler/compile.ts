/**
 * The compile pipeline: ONNX → IR → encoded matrices → `.lem`, then a check of the result against the
 * original run by onnxruntime-web, recorded in the file's metrics.
 * @module
 */
import { importOnnx } from "./onnx/import.ts";
import type { IrModel } from "./ir.ts";
import type { TensorReport } from "./compress.ts";
import { compressChoosingSplits, type SplitChoice } from "./tt_split_choice.ts";
import { methodRecipe, type Recipe } from "./recipe.ts";
import { writeLem } from "./writer.ts";
import { OnnxReferenceModel } from "./onnxruntime_reference.ts";
import { IrReferenceModel } from "./ir_forward.ts";
import { importMl5CharRnn } from "./ml5/import.ts";
import { LstmModel } from "../runtime/model.ts";
import { Tokenizer } from "../runtime/tokenizer.ts";
import { meanDivergence } from "./quality.ts";

/** The compiler's name and version, written into every file. */
export const COMPILER = "lstm-edge 0.1.0";

/** Options for {@link compileOnnx}. */
export interface CompileOptions {
  /** Source file name recorded in the metadata. */
  fileName: string;
  /** Vocabulary replacing the model's own (from `--vocab FILE`). */
  vocab?: string[];
  /** Tokenizer settings (JSON, as metadata_props "tokenizer") replacing the model's own. */
  tokenizer?: string;
  /**
   * Which method each weight matrix gets (`--method`, `--recipe`; default: the recipe a re-trained file
   * carries, else f32 everywhere).
   */
  recipe?: Recipe;
  /** Model name recorded in the metadata (default: the file name without folder and extension). */
  name?: string;
  /** PTB-format text: when given, perplexity before and after is measured on it and recorded. */
  evalText?: string;
  /** Score only the first `evalLimit` tokens of `evalText`. */
  evalLimit?: number;
  /** Told as each stage advances; `total` 0 for a stage without a count. */
  onProgress?: (stage: string, done: number, total: number) => void;
}

/**
 * A compiled tensor's report: what compressing did, and its encoding as the written file describes it
 * (runtime/format/read.ts `describeEncoding`, the one description compile, inspect, bench and tradeoff
 * print).
 */
export interface CompiledTensor extends TensorReport {
  encoding: string;
}

/** What compiling produced. */
export interface CompileResult {
  bytes: Uint8Array;
  /**
   * The recipe applied (given, the re-trained file's own, or f32 everywhere), with explicit fast modes
   * on the tensor-train matrices where the model-level split choice kept them (compiler/tt_split_choice.ts).
   */
  recipe: Recipe;
  /** The model-level tensor-train split choice, when there was one to make. */
  splitChoice?: SplitChoice;
  tensors: CompiledTensor[];
  /** What the compiled model was checked against: "onnxruntime-web", or the imported weights' forward pass. */
  reference: string;
  /** Largest |our logit − the reference's| over the check sequence; NaN when it could not run. */
  maxLogitDiff: number;
  /** Why onnxruntime-web could not run the original (e.g. batch-major LSTM, layout = 1), if it could not. */
  referenceError?: string;
  /** Tokens in the logit check. */
  checkTokens: number;
  /**
   * Mean KL(onnxruntime-web's next-token distribution ‖ ours) over the check tokens, nats (compiler/quality.ts
   * turns it into the quality verdict); undefined when onnxruntime-web could not run the original.
   */
  checkDivergence?: number;
  perplexitySource?: number;
  perplexityCompiled?: number;
  evalTokens?: number;
}

/** A deterministic token sequence covering the vocabulary, for the logit check without a text. */
function checkSequence(vocabSize: number, length: number): number[] {
  let s = 12345;
  return Array.from({ length }, () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s % vocabSize;
  });
}

/**
 * The metrics every compiled file carries, in this order (those that could not be measured are left
 * out). The budget search writes its candidates with the same names (placeholder values) so that a
 * candidate measured during the search has exactly the size of the file finally compiled.
 */
export const COMPILE_METRICS = [
  "check_max_abs_logit_diff",
  "perplexity_source",
  "perplexity_compiled",
  "eval_tokens",
] as const;

/**
 * Compiles ONNX bytes to `.lem` bytes and checks the result against onnxruntime-web.
 *
 * @example
 * ```ts
 * const result = await compileOnnx(await Deno.readFile("models/ptb-small.onnx"), { fileName: "ptb-small.onnx" });
 * await writeFileAtomic("models/ptb-small.lem", result.bytes);
 * ```
 */
export async function compileOnnx(onnxBytes: Uint8Array, options: CompileOptions): Promise<CompileResult> {
  return await compileImported(importModel(onnxBytes, options), onnxBytes, options);
}

/**
 * Compiles an ml5.js / TensorFlow char-RNN folder (compiler/ml5/import.ts) to `.lem` bytes, checked
 * against the imported weights run by the plain float64 forward pass (there is no ONNX original).
 *
 * @example
 * ```ts
 * const result = await compileMl5Folder("../shared/data/ml5-charrnn/dubois", { fileName: "dubois" });
 * ```
 */
export async function compileMl5Folder(dir: string, options: CompileOptions): Promise<CompileResult> {
  const ir = await importMl5CharRnn(dir, { vocab: options.vocab, tokenizer: options.tokenizer });
  return await compileImported(ir, new IrReferenceModel(ir), options);
}

/** The import step of {@link compileOnnx}: the IR of `onnxBytes`, with `options`' vocabulary and tokenizer. */
export function importModel(
  onnxBytes: Uint8Array,
  options: Pick<CompileOptions, "fileName" | "vocab" | "tokenizer">,
): IrModel {
  return importOnnx(onnxBytes, {
    fileName: options.fileName,
    vocab: options.vocab,
    tokenizer: options.tokenizer,
  });
}

/**
 * {@link compileOnnx} after the import: compress `ir` by the recipe, write, check against the original —
 * onnxruntime-web running `original` when it is the ONNX bytes of `ir`, else `ir` itself run by the plain
 * forward pass (an import without an ONNX file, such as an ml5 char-RNN folder) — measure, and write
 * again with the metrics. Every compile — plain, recipe or budgeted — ends here.
 */
export async function compileImported(
  ir: IrModel,
  original: Uint8Array | IrReferenceModel,
  options: CompileOptions,
): Promise<CompileResult> {
  const recipe = options.recipe ?? ir.trained?.recipe ?? methodRecipe("f32");
  const name = options.name ?? options.fileName.replace(/^.*[\\/]/, "").replace(/\.[^.]*$/, "");
  const { model: encoded, tensors, recipe: applied, splitChoice } = await compressChoosingSplits(
    ir,
    recipe,
    { name, compiler: COMPILER },
    (_, done, total) => options.onProgress?.("compressing weight matrices", done, total),
    (stage) => options.onProgress?.(stage, 0, 0),
  );

  // Check: our logits against onnxruntime-web's on the same tokens, from the zero state.
  const draft = writeLem(encoded);
  const ours = await LstmModel.load(draft);
  const tokenizer = new Tokenizer(ir.vocab, ir.unkId, ir.eosId, ir.tokenizer);
  const evalIds = options.evalText === undefined ? undefined : tokenizer.encode(options.evalText).ids;
  const checkIds = evalIds && evalIds.length >= 2 ? evalIds.slice(0, 32) : checkSequence(ir.vocab.length, 32);
  const result: CompileResult = {
    bytes: draft,
    recipe: applied,
    ...(splitChoice ? { splitChoice } : {}),
    tensors: tensors.map((t) => ({
      ...t,
      encoding: ours.info.tensors.find((f) => f.name === t.name)!.encoding,
    })),
    reference: original instanceof IrReferenceModel ? original.name : "onnxruntime-web",
    maxLogitDiff: NaN,
    checkTokens: checkIds.length,
  };
  const metrics: { name: (typeof COMPILE_METRICS)[number]; value: number }[] = [];
  let reference: OnnxReferenceModel | IrReferenceModel | undefined;
  try {
    reference = original instanceof IrReferenceModel ? original : await OnnxReferenceModel.create(original);
  } catch (e) {
    // onnxruntime-web refuses some valid graphs (batch-major LSTM, layout = 1): compile anyway, say so.
    result.referenceError = (e as Error).message.replace(/^.*ERROR_MESSAGE: /s, "");
  }
  if (reference) {
    const refLogits = (await reference.run(checkIds)).logits;
    const ourLogits = ours.logits(checkIds);
    let maxLogitDiff = 0;
    for (let i = 0; i < refLogits.length; i++) {
      maxLogitDiff = Math.max(maxLogitDiff, Math.abs(refLogits[i] - ourLogits[i]));
    }
    result.maxLogitDiff = maxLogitDiff;
    result.checkDivergence = meanDivergence(refLogits, ourLogits, ir.vocab.length);
    metrics.push({ name: "check_max_abs_logit_diff", value: maxLogitDiff });
  }

  if (evalIds) {
    const ids = options.evalLimit ? evalIds.slice(0, options.evalLimit) : evalIds;
    if (ids.length < 2) throw new Error("The --eval text holds fewer than 2 tokens");
    const progress = (stage: string) => (done: number, total: number) =>
      options.onProgress?.(stage, done, total);
    const after = ours.score(ids, { onProgress: progress("perplexity of the compiled model (lstm-edge)") });
    result.perplexityCompiled = after.perplexity;
    result.evalTokens = after.tokens;
    if (reference) {
      const before = await reference.score(ids, {
        onProgress: progress(`perplexity of the original (${result.reference})`),
      });
      result.perplexitySource = before.perplexity;
      metrics.push({ name: "perplexity_source", value: before.perplexity });
    }
    metrics.push(
      { name: "perplexity_compiled", value: after.perplexity },
      { name: "eval_tokens", value: after.tokens },
    );
  }
  encoded.metadata.metrics = metrics;
  result.bytes = writeLem(encoded);
  return result;
}
