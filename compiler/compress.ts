/**
 * Applies a recipe to every weight matrix of an IR model: the plan (which method each tensor gets) is
 * made and checked first, then global pruning thresholds, then each matrix is encoded by its method.
 * @module
 */
import type { IrMatrix, IrModel } from "./ir.ts";
import type { EncodedMatrix, EncodedModel, LemMetadataInput } from "./encoded.ts";
import type { MatrixRole, MethodSpec } from "./methods/method.ts";
import { encodedBytes, methodFor, relativeError } from "./methods/registry.ts";
import { globalPruneThreshold } from "./methods/prune.ts";
import { blockShapeOf } from "./methods/prune_blocks.ts";
import { planRecipe, type Recipe, RecipeError, type TensorPlan } from "./recipe.ts";
import type { TrainedTensor } from "./onnx/trained_parts.ts";

/**
 * What compressing did to one weight matrix (compile adds how the written file describes its encoding:
 * {@link CompiledTensor} in compiler/compile.ts).
 */
export interface TensorReport {
  name: string;
  shape: [number, number];
  /** The method string of the rule that chose it ("f32" where no rule matched). */
  method: string;
  /** What was done, e.g. "int8 per-row", "rank 64 (clipped from 300)", "sparsity 0.800 (nnz …)". */
  detail: string;
  bytes: number;
  /** ‖W − decode(encode(W))‖ / ‖W‖ (Frobenius). */
  relativeError: number;
}

/** A weight matrix of the model with its role. */
export interface ModelTensor {
  matrix: IrMatrix;
  role: MatrixRole;
}

/** The model's weight matrices in file order: embedding, each layer's w_ih and w_hh, decoder. */
export function modelTensors(ir: IrModel): ModelTensor[] {
  return [
    { matrix: ir.embedding, role: "embedding" },
    ...ir.layers.flatMap((l): ModelTensor[] => [
      { matrix: l.wIh, role: "w_ih" },
      { matrix: l.wHh, role: "w_hh" },
    ]),
    { matrix: ir.decoder, role: "decoder" },
  ];
}

/** The plan for a model: checks every rule against its tensor names (throws RecipeError before any work). */
export function planModel(ir: IrModel, recipe: Recipe): TensorPlan[] {
  return planRecipe(recipe, modelTensors(ir).map((t) => t.matrix.name));
}

/**
 * Encodes every weight matrix of `ir` by `recipe`; the recipe is stored in the metadata as JSON.
 * `onTensor` is told after each matrix (for progress).
 *
 * @example
 * ```ts
 * const { model, tensors } = compressModel(ir, methodRecipe("int8"), { name: "ptb-small", compiler: COMPILER });
 * const bytes = writeLem(model);
 * ```
 */
export function compressModel(
  ir: IrModel,
  recipe: Recipe,
  metadata: Omit<LemMetadataInput, "recipe">,
  onTensor?: (report: TensorReport, done: number, total: number) => void,
): { model: EncodedModel; tensors: TensorReport[] } {
  const tensors = modelTensors(ir);
  const plan = planModel(ir, recipe);
  // Global pruning: one threshold per rule, over every tensor that rule selected.
  const thresholds = new Map<number, number>();
  plan.forEach((p) => {
    if (p.spec.kind !== "prune" || p.spec.scope !== "global" || thresholds.has(p.rule)) return;
    const selected = tensors.filter((_, i) => plan[i].rule === p.rule).map((t) => t.matrix);
    thresholds.set(p.rule, globalPruneThreshold(selected, p.spec.sparsity, blockShapeOf(p.spec)));
  });
  const reports: TensorReport[] = [];
  const encoded = tensors.map((tensor, i): EncodedMatrix => {
    let spec: MethodSpec = plan[i].spec;
    if (spec.kind === "prune" && thresholds.has(plan[i].rule)) {
      spec = { ...spec, threshold: thresholds.get(plan[i].rule) };
    }
    const method = plan[i].rule >= 0 ? recipe.rules[plan[i].rule].method : "f32";
    const trained = ir.trained?.tensors.get(tensor.matrix.name);
    const { encoded, report } = trained
      ? trainedTensor(tensor, trained, method)
      : encodeTensor(tensor, spec, method);
    reports.push(report);
    onTensor?.(report, i + 1, tensors.length);
    return encoded;
  });
  return { model: assembleModel(ir, encoded, recipe, metadata), tensors: reports };
}

/**
 * Encodes one weight matrix by `spec` and reports it; `method` is the method string recorded in the
 * report. compressModel's per-tensor step, exported for callers that cache encodings (the budget search).
 */
export function encodeTensor(
  { matrix, role }: ModelTensor,
  spec: MethodSpec,
  method: string,
): { encoded: EncodedMatrix; report: TensorReport } {
  const { encoded, detail } = methodFor(spec).encode(matrix, spec, role);
  const report: TensorReport = {
    name: matrix.name,
    shape: [matrix.rows, matrix.cols],
    method,
    detail,
    bytes: encodedBytes(encoded),
    relativeError: relativeError(matrix.data, encoded),
  };
  return { encoded, report };
}

/**
 * A tensor re-trained by models/finetune.py: its trained encoding as it is (nothing re-factorized or
 * re-quantized), provided the recipe gives it the method it was trained as.
 */
function trainedTensor(
  { matrix }: ModelTensor,
  trained: TrainedTensor,
  method: string,
): { encoded: EncodedMatrix; report: TensorReport } {
  if (method !== trained.method) {
    throw new RecipeError(
      `Tensor "${matrix.name}" was re-trained as ${trained.method} (the ONNX file carries its trained parts), ` +
        `but the recipe gives it ${method}: compile with the recipe it was trained with — the file's own, ` +
        `used when neither --method nor --recipe is given`,
    );
  }
  const report: TensorReport = {
    name: matrix.name,
    shape: [matrix.rows, matrix.cols],
    method,
    detail: `trained parts (${method})`,
    bytes: encodedBytes(trained.encoded),
    relativeError: relativeError(matrix.data, trained.encoded),
  };
  return { encoded: trained.encoded, report };
}

/**
 * The encoded model from `ir`'s vocabulary, biases and shapes and one encoded matrix per tensor, in
 * {@link modelTensors} order; `recipe` is stored in the metadata as JSON.
 */
export function assembleModel(
  ir: IrModel,
  encoded: readonly EncodedMatrix[],
  recipe: Recipe,
  metadata: Omit<LemMetadataInput, "recipe">,
): EncodedModel {
  if (encoded.length !== 2 + 2 * ir.layers.length) {
    throw new Error(`assembleModel: expected ${2 + 2 * ir.layers.length} matrices, got ${encoded.length}`);
  }
  let at = 0;
  const next = () => encoded[at++];
  return {
    vocab: ir.vocab,
    unkId: ir.unkId,
    eosId: ir.eosId,
    tokenizer: ir.tokenizer,
    embedding: next(),
    layers: ir.layers.map((l) => ({
      inputSize: l.inputSize,
      hiddenSize: l.hiddenSize,
      wIh: next(),
      wHh: next(),
      bias: l.bias,
    })),
    decoder: next(),
    decoderBias: ir.decoderBias,
    metadata: {
      name: metadata.name,
      sourceFile: metadata.sourceFile ?? ir.source.file,
      sourceSha256: metadata.sourceSha256 ?? ir.source.sha256,
      compiler: metadata.compiler,
      recipe: JSON.stringify(recipe),
      metrics: metadata.metrics ?? [],
    },
  };
}
