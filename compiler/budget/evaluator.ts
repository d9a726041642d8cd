/**
 * The budget search's measurements, done for real: encode a matrix by a method (cached — every
 * (tensor, method) pair is encoded once per search), assemble and write the `.lem`, load it in
 * lstm-edge's runtime, score validation tokens (a spread-out subset, or all of them) and time stepwise
 * decoding. Implements the {@link Evaluator} that compiler/budget/search.ts drives.
 * @module
 */
import { bestOf, stepwiseMsPerToken } from "../../runtime/timing.ts";
import type { IrModel } from "../ir.ts";
import type { EncodedMatrix, LemMetadataInput } from "../encoded.ts";
import {
  assembleModel,
  encodeTensor,
  type ModelTensor,
  modelTensors,
  type TensorReport,
} from "../compress.ts";
import { parseMethod, type Recipe } from "../recipe.ts";
import { writeLem } from "../writer.ts";
import { pinnedSplits } from "../tt_split_choice.ts";
import { COMPILE_METRICS } from "../compile.ts";
import { LstmModel } from "../../runtime/model.ts";
import { assignmentRecipe } from "./assignment.ts";
import type { Evaluator, Measurement, OptionInfo } from "./search.ts";

/** Options of {@link RuntimeEvaluator}. */
export interface RuntimeEvaluatorOptions {
  /** Tokens of the subset (default 6000; the whole text when it is shorter). */
  subsetTokens?: number;
  /** Segments the subset is cut into, spread evenly over the text (default 6). */
  subsetSegments?: number;
  /** Tokens fed one at a time for ms/token (default 200). */
  stepTokens?: number;
  /** Timing runs; the best counts (default 3). */
  timingRepeats?: number;
  /** Name and compiler recorded in every written file's metadata. */
  metadata: Omit<LemMetadataInput, "recipe">;
}

/**
 * `segments` pieces of `ids`, `tokens` in total, evenly spread from the start to the end of the text.
 * Each piece is scored from the zero state (its first token is context only).
 *
 * @example
 * ```ts
 * subsetSegments([...Array(100).keys()], 20, 2); // [[0..9], [90..99]]
 * ```
 */
export function subsetSegments(ids: readonly number[], tokens: number, segments: number): number[][] {
  if (tokens >= ids.length) return [ids.slice()];
  const n = Math.max(1, Math.min(segments, Math.floor(tokens / 2)));
  const length = Math.floor(tokens / n);
  return Array.from({ length: n }, (_, i) => {
    const start = n === 1 ? 0 : Math.floor((i * (ids.length - length)) / (n - 1));
    return ids.slice(start, start + length);
  });
}

/** Measures by compiling and running models with lstm-edge's runtime. */
export class RuntimeEvaluator implements Evaluator {
  readonly tensors: { name: string; params: number }[];
  readonly subset: number[][];
  readonly #ir: IrModel;
  readonly #model: ModelTensor[];
  readonly #validIds: number[];
  readonly #cache = new Map<string, { encoded: EncodedMatrix; report: TensorReport }>();
  readonly #bytes = new Map<string, number>();
  readonly #options: Required<Omit<RuntimeEvaluatorOptions, "metadata">> & RuntimeEvaluatorOptions;

  constructor(ir: IrModel, validIds: readonly number[], options: RuntimeEvaluatorOptions) {
    if (validIds.length < 2) throw new Error("The validation text holds fewer than 2 tokens");
    this.#ir = ir;
    this.#model = modelTensors(ir);
    this.#validIds = validIds.slice();
    const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
    this.#options = {
      subsetTokens: 6000,
      subsetSegments: 6,
      stepTokens: 200,
      timingRepeats: 3,
      ...given,
      metadata: options.metadata,
    };
    this.subset = subsetSegments(validIds, this.#options.subsetTokens, this.#options.subsetSegments);
    this.tensors = this.#model.map((t) => ({ name: t.matrix.name, params: t.matrix.rows * t.matrix.cols }));
  }

  /** The encoding of tensor `t` by `method`, from the cache when it was made before. */
  encoded(t: number, method: string): { encoded: EncodedMatrix; report: TensorReport } {
    const key = `${t}\u0000${method}`;
    let hit = this.#cache.get(key);
    if (!hit) {
      hit = encodeTensor(this.#model[t], parseMethod(method), method);
      this.#cache.set(key, hit);
    }
    return hit;
  }

  option(t: number, method: string): OptionInfo {
    const { report } = this.encoded(t, method);
    return { bytes: report.bytes, relativeError: report.relativeError, detail: report.detail };
  }

  /**
   * The `.lem` bytes of an assignment. Its metadata carries the metrics a compile writes
   * ({@link COMPILE_METRICS}) with the value -1 (a 0 would be left out: FlatBuffers omits defaults), so that
   * a model measured here has the size of the file the compile of its recipe writes.
   */
  write(methods: readonly string[]): Uint8Array {
    const metrics = COMPILE_METRICS.map((name) => ({ name, value: -1 }));
    const matrices = methods.map((m, t) => this.encoded(t, m).encoded);
    const model = assembleModel(this.#ir, matrices, this.recipe(methods), {
      ...this.#options.metadata,
      metrics,
    });
    return writeLem(model);
  }

  /**
   * The recipe of an assignment, as the files written here carry it: one rule per tensor, tensor-train
   * rules with the modes their cached encodings were measured in (pinnedSplits), so that compiling it
   * reproduces what was measured.
   */
  recipe(methods: readonly string[]): Recipe {
    const names = this.tensors.map((t) => t.name);
    const matrices = methods.map((m, t) => this.encoded(t, m).encoded);
    return pinnedSplits(this.#ir, assignmentRecipe(names, methods), matrices);
  }

  fileBytes(methods: readonly string[]): number {
    const key = methods.join("\u0000");
    let n = this.#bytes.get(key);
    if (n === undefined) {
      n = this.write(methods).length;
      this.#bytes.set(key, n);
    }
    return n;
  }

  async measure(
    methods: readonly string[],
    what: { tokens: "subset" | "full"; timing: boolean },
  ): Promise<Measurement> {
    const bytes = this.write(methods);
    this.#bytes.set(methods.join("\u0000"), bytes.length);
    const lm = await LstmModel.load(bytes);
    let nll = 0;
    let tokens = 0;
    for (const ids of what.tokens === "full" ? [this.#validIds] : this.subset) {
      const acc = lm.score(ids);
      nll += acc.nll;
      tokens += acc.tokens;
    }
    const result: Measurement = { bytes: bytes.length, perplexity: Math.exp(nll / tokens), tokens };
    if (what.timing) result.msPerToken = this.#time(lm);
    return result;
  }

  async time(methods: readonly string[]): Promise<number> {
    return this.#time(await LstmModel.load(this.write(methods)));
  }

  /** Stepwise feed + logProbs over the first stepTokens validation tokens, best of timingRepeats. */
  #time(lm: LstmModel): number {
    const step = this.#validIds.slice(0, Math.min(this.#options.stepTokens, this.#validIds.length));
    return bestOf(this.#options.timingRepeats, () => stepwiseMsPerToken(lm, step));
  }
}
