/**
 * The model-level choice of tensor-train mode splits. compiler/methods/tt.ts picks each matrix's split
 * (fast or balanced) by its own TT-SVD error; that is what one matrix can see, and for LSTM-sized
 * matrices it is not what the model's predictions see. So when the per-matrix rule left some
 * tensor-train matrix in the balanced split, the model is also compressed with every such matrix in
 * the fast split, and the two candidates are compared by how far their predictions are from the
 * original's: the mean KL(original ‖ candidate) of the next-token distributions over
 * {@link SPLIT_CHOICE_TOKENS} tokens the original itself wrote (sampled at temperature 1 from a fixed
 * seed, so the choice is deterministic), the measure behind the compile's quality verdict
 * (compiler/quality.ts). The lower one is kept; the fast split on a tie, as it runs faster.
 *
 * The budgeted compile makes no such choice: its search measured each matrix in its own split, and its
 * recipe carries those modes ({@link pinnedSplits}), so that compiling it reproduces what was measured.
 *
 * "The original" here is the uncompressed model run by the runtime in f32 (the compile checks that
 * against onnxruntime-web separately; the two agree to ~1e-5 in the logits).
 *
 * Measured (tokens sampled as here, mean KL in nats at 256 tokens): PTB-small `tt:32+int8` per-matrix
 * 2.82 vs all-fast 2.65 — all-fast is chosen, and it is better on real text too (first 10 000 test tokens:
 * 925.47 → 828.93) and 8× faster per step; `tt:16+int8` 3.15 vs 3.06 (fast); the ml5 dubois char model
 * `tt:16+f16` 2.12 vs 3.20 and `tt:32+int8` 1.11 vs 2.33 — the balanced LSTM splits stay.
 * @module
 */
import type { IrModel } from "./ir.ts";
import type { EncodedMatrix, EncodedModel, LemMetadataInput } from "./encoded.ts";
import {
  assembleModel,
  compressModel,
  encodeTensor,
  modelTensors,
  planModel,
  type TensorReport,
} from "./compress.ts";
import { methodRecipe, type Recipe, type RecipeRule } from "./recipe.ts";
import { fastModes } from "./methods/tt.ts";
import { meanDivergence } from "./quality.ts";
import { writeLem } from "./writer.ts";
import { LstmModel } from "../runtime/model.ts";
import { mulberry32 } from "../runtime/random.ts";
import { sampleToken } from "../runtime/app/sampling.ts";

/** Tokens of the original's own text the two candidates are compared on. */
export const SPLIT_CHOICE_TOKENS = 256;

/** The seed of the sampled text (any fixed one: the choice must not change between compiles). */
const SPLIT_CHOICE_SEED = 1;

/** What the model-level choice compared and kept. */
export interface SplitChoice {
  /** "fast": the fast split on every tensor listed; "per-matrix": each matrix's own choice. */
  chosen: "fast" | "per-matrix";
  /** The tensors whose split differs between the candidates (balanced in "per-matrix"). */
  tensors: string[];
  /** Mean KL(original ‖ candidate), nats, over `tokens` tokens the original wrote. */
  divergence: { fast: number; perMatrix: number };
  tokens: number;
}

/** {@link compressModel}'s result, with the recipe actually applied and the split choice if one was made. */
export interface SplitChosenCompression {
  model: EncodedModel;
  tensors: TensorReport[];
  /** The recipe the model was compressed by: the input one, or with explicit fast modes where chosen. */
  recipe: Recipe;
  splitChoice?: SplitChoice;
}

/** The encoded matrices of `model` in {@link modelTensors} order. */
export function encodedMatrices(model: EncodedModel): EncodedMatrix[] {
  return [model.embedding, ...model.layers.flatMap((l) => [l.wIh, l.wHh]), model.decoder];
}

/**
 * Compresses `ir` by `recipe` (compressModel) and, where the per-matrix rule put a tensor-train matrix in
 * the balanced split, makes the model-level choice described in the module doc. `onStage` is told when
 * the choice starts (it takes a few seconds: a second compression of those matrices and two short runs).
 *
 * @example
 * ```ts
 * const { model, recipe, splitChoice } = await compressChoosingSplits(ir, methodRecipe("tt:32+int8"), meta);
 * // splitChoice?.chosen: "fast" for PTB-small, recipe: per-tensor fast modes for its LSTM matrices
 * ```
 */
export async function compressChoosingSplits(
  ir: IrModel,
  recipe: Recipe,
  metadata: Omit<LemMetadataInput, "recipe">,
  onTensor?: (report: TensorReport, done: number, total: number) => void,
  onStage?: (stage: string) => void,
): Promise<SplitChosenCompression> {
  const perMatrix = compressModel(ir, recipe, metadata, onTensor);
  const tensors = modelTensors(ir);
  const plan = planModel(ir, recipe);
  const encoded = encodedMatrices(perMatrix.model);
  const fastRules: RecipeRule[] = [];
  const fastEncoded = encoded.slice();
  const fastReports = perMatrix.tensors.slice();
  tensors.forEach(({ matrix }, i) => {
    const spec = plan[i].spec;
    const enc = encoded[i].encoding;
    if (spec.kind !== "tt" || spec.rowModes || spec.colModes || enc.kind !== "tt") return;
    if (ir.trained?.tensors.has(matrix.name)) return; // re-trained: its modes are the trained ones
    const rowModes = fastModes(matrix.rows, "rows");
    const colModes = fastModes(matrix.cols, "cols");
    if (enc.rowModes.join() === rowModes.join() && enc.colModes.join() === colModes.join()) return;
    const method = recipe.rules[plan[i].rule].method;
    fastRules.push({ tensors: matrix.name, method, rowModes, colModes });
    const { encoded: e, report } = encodeTensor(tensors[i], { ...spec, rowModes, colModes }, method);
    fastEncoded[i] = e;
    fastReports[i] = report;
  });
  if (fastRules.length === 0) return { ...perMatrix, recipe };

  onStage?.(`choosing tensor-train splits (${fastRules.length} matrices, ${SPLIT_CHOICE_TOKENS} tokens)`);
  const fastRecipe: Recipe = { rules: [...fastRules, ...recipe.rules] };
  const fast = { model: assembleModel(ir, fastEncoded, fastRecipe, metadata), tensors: fastReports };
  const original = await LstmModel.load(writeLem(compressModel(ir, methodRecipe("f32"), metadata).model));
  const ids = sampleText(original, ir.eosId >= 0 ? ir.eosId : 0, SPLIT_CHOICE_TOKENS);
  const reference = original.logits(ids);
  const divergence = async (model: EncodedModel) =>
    meanDivergence(reference, (await LstmModel.load(writeLem(model))).logits(ids), ir.vocab.length);
  const choice: SplitChoice = {
    chosen: "fast",
    tensors: fastRules.map((r) => r.tensors),
    divergence: { fast: await divergence(fast.model), perMatrix: await divergence(perMatrix.model) },
    tokens: ids.length,
  };
  if (choice.divergence.fast <= choice.divergence.perMatrix) {
    return { ...fast, recipe: fastRecipe, splitChoice: choice };
  }
  return { ...perMatrix, recipe, splitChoice: { ...choice, chosen: "per-matrix" } };
}

/**
 * `recipe` with the modes that each tensor-train matrix of `matrices` (modelTensors order, as `recipe`
 * compressed them) was decomposed in written into it — into its own rule where that rule names just it,
 * else as a rule before the others — so that compiling the result decomposes the same way and makes no
 * split choice. For the budgeted compile: its search measured exactly these encodings.
 */
export function pinnedSplits(ir: IrModel, recipe: Recipe, matrices: readonly EncodedMatrix[]): Recipe {
  const plan = planModel(ir, recipe);
  const rules = recipe.rules.slice();
  const pins: RecipeRule[] = [];
  matrices.forEach((m, i) => {
    const spec = plan[i].spec;
    if (spec.kind !== "tt" || spec.rowModes || spec.colModes || m.encoding.kind !== "tt") return;
    const own = rules[plan[i].rule];
    const pinned = { ...own, tensors: m.name, rowModes: m.encoding.rowModes, colModes: m.encoding.colModes };
    if (own.tensors === m.name) rules[plan[i].rule] = pinned;
    else pins.push(pinned);
  });
  return { ...recipe, rules: [...pins, ...rules] };
}

/** `length` token ids: `first`, then each sampled from `model` at temperature 1 (seeded). */
function sampleText(model: LstmModel, first: number, length: number): number[] {
  const random = mulberry32(SPLIT_CHOICE_SEED);
  const state = model.createState();
  const ids = [first];
  while (ids.length < length) {
    model.feed(state, ids[ids.length - 1]);
    ids.push(sampleToken(model.logProbs(state), random, { temperature: 1, topK: 0 }));
  }
  return ids;
}

/** One line saying what {@link SplitChoice} kept and why, for the compile's output. */
export function describeSplitChoice(c: SplitChoice): string {
  const { fast, perMatrix } = c.divergence;
  const which = c.chosen === "fast" ? "fast split" : "per-matrix splits (balanced)";
  const kl = `mean KL ${fast.toFixed(3)} fast vs ${perMatrix.toFixed(3)} per-matrix`;
  return `tensor-train: ${which} for ${
    c.tensors.join(", ")
  } (${kl}, nats over ${c.tokens} tokens the original wrote)`;
}
