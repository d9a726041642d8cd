/**
 * Finds the language model in an ONNX graph by walking the data path from the token input to the logits:
 *
 * ```
 * tokens ─(Cast)─▶ Gather(embedding [V, E]) ─▶ glue ─▶ LSTM ─▶ glue ─▶ LSTM … ─▶ glue
 *        ─▶ MatMul(W [H, V]) (+ Add(bias [V]))  |  Gemm(W, bias; transB 0 or 1) ─▶ glue ─▶ graph output
 * ```
 *
 * "glue" is Identity, Dropout (inference), Cast to float, Transpose, Squeeze, Unsqueeze, Reshape and
 * Flatten; the axes of every path tensor are tracked symbolically (see axes.ts) so that glue which would mix
 * the sequence/batch axes with the features, or feed an LSTM a sequence axis that is not the token axis
 * it used before, is an error rather than a silently wrong model. Nodes that only read a path tensor's
 * shape (`Shape`, `Size`) are not part of the path. Any other node on the path — GRU, RNN, an activation,
 * a second decoder — stops the import with an error that names it and says what was expected there.
 * @module
 */

import type { IrLstmLayer } from "../ir.ts";
import {
  type Axis,
  featureIndex,
  flattenAxes,
  formatAxes,
  reshapeAxes,
  ShapeEvaluator,
  squeezeAxes,
  transposeAxes,
  UNIT,
  unsqueezeAxes,
} from "./axes.ts";
import { attrFloat, attrInt, attrInts, describeNode, type OnnxGraph } from "./graph.ts";
import { classifyInitialState, type InitialStateSource } from "./initial_state.ts";
import { lstmLayout, lstmNodeToLayer } from "./lstm.ts";
import { formatDims, isFloat, type NodeProto, type Tensor, toFloat32, toIntegers } from "./proto.ts";

/** What the walk found. */
export interface TracedLanguageModel {
  /** Name of the graph input holding the token ids. */
  tokenInput: string;
  /** vocabSize × embeddingSize, row-major. */
  embedding: { rows: number; cols: number; data: Float32Array; tensor: string };
  layers: IrLstmLayer[];
  /** Per layer: where initial_h and initial_c come from. */
  initialState: { h: InitialStateSource; c: InitialStateSource }[];
  /** vocabSize × hiddenSize, row-major (a MatMul weight is transposed; a Gemm's alpha is applied). */
  decoder: { rows: number; cols: number; data: Float32Array };
  /** vocabSize (zeros when the decoder has no bias; a Gemm's beta is applied). */
  decoderBias: Float32Array;
  /** Name of the graph output holding the logits. */
  logitsOutput: string;
  /** Which path tensors the walk visited, with their symbolic axes (for reports and tests). */
  path: { tensor: string; op: string; axes: string }[];
}

const GLUE = new Set([
  "Identity",
  "Dropout",
  "Cast",
  "Transpose",
  "Squeeze",
  "Unsqueeze",
  "Reshape",
  "Flatten",
]);
const SHAPE_ONLY = new Set(["Shape", "Size"]);
/** ONNX element types of floats that keep float32 precision (Cast to these is harmless glue). */
const FLOAT_CASTS = new Set([1, 11]);
const INTEGER_TYPES = new Set([2, 3, 4, 5, 6, 7, 12, 13]);

type Phase = "embedding" | "lstm" | "decoded";

const EXPECTED: Record<Phase, string> = {
  embedding: "an LSTM node (optionally after Transpose / Squeeze / Unsqueeze / Reshape / Identity / Dropout)",
  lstm:
    "another LSTM node, or the decoder: MatMul (+ Add) or Gemm (optionally after Squeeze / Transpose / Reshape)",
  decoded: "a graph output holding the logits (optionally after Transpose / Reshape / Squeeze / Unsqueeze)",
};

/**
 * Walks the graph from the token input to the logits. `consts` are the folded constants.
 * Throws an error naming the offending node when the graph is not an embedding → LSTM × N → linear LM.
 */
export function traceLanguageModel(
  graph: OnnxGraph,
  consts: ReadonlyMap<string, Tensor>,
): TracedLanguageModel {
  const axesOf = new Map<string, Axis[]>();
  const shapes = new ShapeEvaluator(graph, consts, (name) => axesOf.get(name));
  const path: TracedLanguageModel["path"] = [];
  const record = (tensor: string, op: string, axes: Axis[]) => {
    axesOf.set(tensor, axes);
    path.push({ tensor, op, axes: formatAxes(axes) });
  };

  // 1. The embedding lookup and the token input behind it.
  const gather = findEmbeddingGather(graph, consts);
  const table = consts.get(gather.input![0])!;
  const { tokenInput, tokenAxes } = findTokenInput(graph, gather);
  const embedding = {
    rows: table.dims[0],
    cols: table.dims[1],
    data: toFloat32(table, `Embedding "${gather.input![0]}"`),
    tensor: gather.input![0],
  };
  record(tokenInput, "input", tokenAxes);
  let cur = gather.output![0];
  record(cur, "Gather", [...tokenAxes, { kind: "feature", size: embedding.cols }]);

  const layers: IrLstmLayer[] = [];
  const initialState: TracedLanguageModel["initialState"] = [];
  let time: { seq: string[]; batch: string[]; node: NodeProto } | undefined;
  let decoder: TracedLanguageModel["decoder"] | undefined;
  let decoderBias: Float32Array | undefined;
  let phase: Phase = "embedding";
  let prev: NodeProto = gather;

  for (;;) {
    const axes = axesOf.get(cur)!;
    if (phase === "decoded" && graph.outputs.has(cur)) break;
    const users = graph.consumers(cur).filter((n) => !SHAPE_ONLY.has(n.opType ?? ""));
    if (users.length === 0) {
      throw new Error(
        `The path from the token input ends at "${cur}" (output of ${describeNode(prev)}) ` +
          (phase === "decoded"
            ? "which is not a graph output"
            : `before reaching a decoder; expected ${EXPECTED[phase]}`),
      );
    }
    if (users.length > 1) {
      throw new Error(
        `"${cur}" (output of ${describeNode(prev)}) feeds ${users.length} nodes: ` +
          `${users.map(describeNode).join(", ")}; expected a single chain from the embedding to the logits`,
      );
    }
    const node = users[0];
    const inputs = node.input ?? [];
    const op = node.opType ?? "";
    const unexpected = (why?: string) =>
      new Error(
        `Unsupported ${describeNode(node)} on the path from the token input to the logits ` +
          `(after ${describeNode(prev)})${why ? `: ${why}` : ""}; expected ${EXPECTED[phase]}`,
      );
    const at = (what: string, e: unknown) =>
      new Error(`${describeNode(node)}: ${what}${(e as Error).message}`);
    const firstInput = () => {
      if (inputs[0] !== cur) throw unexpected(`the path tensor "${cur}" is not its first input`);
    };
    let out = node.output?.[0] ?? "";
    let outAxes: Axis[];

    if (GLUE.has(op)) {
      firstInput();
      try {
        outAxes = glueAxes(node, axes, consts, shapes);
      } catch (e) {
        throw at("", e);
      }
    } else if (op === "LSTM") {
      if (phase === "decoded") throw unexpected("an LSTM after the decoder");
      firstInput();
      const layer = lstmNodeToLayer(node, consts, layers.length);
      const layout = lstmLayout(node);
      const [seqAxis, batchAxis] = layout === 0 ? [0, 1] : [1, 0];
      if (axes.length !== 3 || featureIndex(axes) !== 2) {
        throw new Error(
          `${describeNode(node)}: input X "${cur}" has axes ${formatAxes(axes)}; expected ` +
            (layout === 0 ? "[sequence, batch, features]" : "[batch, sequence, features] (layout 1)"),
        );
      }
      const feature = axes[2] as { kind: "feature"; size: number };
      if (feature.size !== layer.inputSize) {
        throw new Error(
          `${describeNode(node)}: input X "${cur}" has ${feature.size} features but W "${
            inputs[1]
          }" expects ` +
            `${layer.inputSize}`,
        );
      }
      const seq = axes[seqAxis] as { kind: "dims"; factors: string[] };
      const batch = axes[batchAxis] as { kind: "dims"; factors: string[] };
      if (seq.factors.length !== 1) {
        throw new Error(
          `${describeNode(node)}: its sequence axis is ${
            seq.factors.length === 0 ? "a size-1 axis" : "a merged axis"
          } ` +
            `(X "${cur}" has axes ${
              formatAxes(axes)
            }, layout ${layout}); expected one axis of the token input`,
        );
      }
      if (!time) time = { seq: seq.factors, batch: batch.factors, node };
      else if (time.seq[0] !== seq.factors[0] || time.batch.join() !== batch.factors.join()) {
        throw new Error(
          `${describeNode(node)} runs over axis ${seq.factors[0]} of the tokens but ${
            describeNode(time.node)
          } ` +
            `ran over ${time.seq[0]}; the layers must share the sequence axis`,
        );
      }
      const isPath = (name: string) => axesOf.has(name);
      initialState.push({
        h: classifyInitialState(graph, consts, node, 5, isPath),
        c: classifyInitialState(graph, consts, node, 6, isPath),
      });
      layers.push(layer);
      if (!out) {
        throw new Error(
          `${describeNode(node)}: output Y is not used; only models that predict from every step's output ` +
            `(Y) are language models`,
        );
      }
      const h: Axis = { kind: "feature", size: layer.hiddenSize };
      outAxes = layout === 0 ? [seq, UNIT, batch, h] : [batch, seq, UNIT, h];
      phase = "lstm";
    } else if (op === "MatMul" || op === "Gemm") {
      if (phase !== "lstm") {
        throw unexpected(phase === "embedding" ? "a decoder before any LSTM layer" : "a second decoder");
      }
      firstInput();
      const f = featureIndex(axes);
      const hidden = (axes[f] as { size: number }).size;
      if (f !== axes.length - 1) {
        throw unexpected(`the features are axis ${f} of ${formatAxes(axes)}, not the last`);
      }
      const wName = inputs[1];
      const w = consts.get(wName);
      if (!w || !isFloat(w) || w.dims.length !== 2) {
        throw new Error(
          `${describeNode(node)}: input B "${wName}" ${
            w ? `has shape ${formatDims(w.dims)} (${w.dtype})` : "is not a constant"
          }; ` +
            `expected the decoder weight, a constant float matrix`,
        );
      }
      let transB = false;
      let alpha = 1;
      let beta = 1;
      let biasName: string | undefined;
      let biasNode = node;
      if (op === "Gemm") {
        if (axes.length !== 2) throw unexpected(`Gemm needs a 2-D input, found axes ${formatAxes(axes)}`);
        if (attrInt(node, "transA", 0) !== 0) throw unexpected("transA = 1 is not supported");
        transB = attrInt(node, "transB", 0) !== 0;
        alpha = attrFloat(node, "alpha", 1);
        beta = attrFloat(node, "beta", 1);
        biasName = inputs[2] || undefined;
      }
      const [wRows, wCols] = w.dims;
      const vocab = transB ? wRows : wCols;
      const inner = transB ? wCols : wRows;
      if (inner !== hidden) {
        throw new Error(
          `${describeNode(node)}: the decoder weight "${wName}" has shape ${formatDims(w.dims)}${
            transB ? " (transB)" : ""
          }; ` +
            `expected ${transB ? `[vocab, ${hidden}]` : `[${hidden}, vocab]`} for ${hidden} hidden features`,
        );
      }
      const wData = toFloat32(w, `${describeNode(node)}: input B "${wName}"`);
      const data = new Float32Array(vocab * hidden); // (V × H): row v = weights of logit v
      for (let v = 0; v < vocab; v++) {
        for (let j = 0; j < hidden; j++) {
          data[v * hidden + j] = alpha * (transB ? wData[v * hidden + j] : wData[j * vocab + v]);
        }
      }
      decoder = { rows: vocab, cols: hidden, data };
      if (op === "MatMul") {
        // An Add of a constant right after the MatMul is the bias.
        const next = graph.consumers(out).filter((n) => !SHAPE_ONLY.has(n.opType ?? ""));
        if (next.length === 1 && next[0].opType === "Add") {
          const add = next[0];
          const other = (add.input ?? []).find((i) => i !== out);
          if (!other || !consts.has(other)) {
            throw new Error(
              `${
                describeNode(add)
              } adds "${other}" to the decoder output, which is not a constant; expected the ` +
                `decoder bias`,
            );
          }
          biasName = other;
          biasNode = add;
          out = add.output?.[0] ?? "";
        }
      }
      decoderBias = new Float32Array(vocab);
      if (biasName) {
        const b = consts.get(biasName);
        if (!b) {
          throw new Error(
            `${describeNode(biasNode)}: input C "${biasName}" is not a constant; expected the decoder bias`,
          );
        }
        const bData = toFloat32(b, `${describeNode(biasNode)}: bias "${biasName}"`);
        const lastDim = b.dims.length > 0 ? b.dims[b.dims.length - 1] : 1;
        const onlyLast = b.dims.slice(0, -1).every((d) => d === 1) && b.dims.length <= axes.length;
        if (bData.length === 1 && onlyLast) decoderBias.fill(beta * bData[0]);
        else if (lastDim === vocab && bData.length === vocab && onlyLast) {
          for (let v = 0; v < vocab; v++) decoderBias[v] = beta * bData[v];
        } else {
          throw new Error(
            `${describeNode(biasNode)}: the decoder bias "${biasName}" has shape ${
              formatDims(b.dims)
            }; expected [${vocab}]`,
          );
        }
      }
      outAxes = [...axes.slice(0, -1), { kind: "feature", size: vocab }];
      phase = "decoded";
    } else if (op === "GRU" || op === "RNN") {
      throw new Error(
        `Unsupported ${describeNode(node)}: only LSTM recurrent layers are supported (found ${op}); ` +
          `re-export the model with nn.LSTM`,
      );
    } else {
      throw unexpected();
    }
    if (!out) throw unexpected("its output is unnamed");
    record(out, op, outAxes);
    prev = node;
    cur = out;
  }

  if (layers.length === 0 || !decoder || !decoderBias) {
    throw new Error("internal: walk ended without layers or decoder");
  }
  return {
    tokenInput,
    embedding,
    layers,
    initialState,
    decoder,
    decoderBias,
    logitsOutput: cur,
    path,
  };
}

/** Axes of a glue node's output. */
function glueAxes(
  node: NodeProto,
  axes: Axis[],
  consts: ReadonlyMap<string, Tensor>,
  shapes: ShapeEvaluator,
): Axis[] {
  const inputs = node.input ?? [];
  const constInts = (i: number, what: string): number[] | undefined => {
    if (!inputs[i]) return undefined;
    const t = consts.get(inputs[i]);
    if (!t) throw new Error(`input ${what} "${inputs[i]}" is not a constant`);
    return toIntegers(t);
  };
  switch (node.opType) {
    case "Identity":
      return axes;
    case "Dropout": {
      const training = inputs[2] ? consts.get(inputs[2]) : undefined;
      if (inputs[2] && (!training || Number(training.data[0]) !== 0)) {
        throw new Error(`training_mode "${inputs[2]}" is not a constant false`);
      }
      return axes;
    }
    case "Cast": {
      const to = attrInt(node, "to", 0);
      if (!FLOAT_CASTS.has(to)) {
        throw new Error(`a Cast to element type ${to} would change the values; expected float`);
      }
      return axes;
    }
    case "Transpose":
      return transposeAxes(axes, attrInts(node, "perm"));
    case "Squeeze":
      return squeezeAxes(axes, constInts(1, "axes") ?? attrInts(node, "axes"));
    case "Unsqueeze": {
      const add = constInts(1, "axes") ?? attrInts(node, "axes");
      if (!add) throw new Error("no axes given");
      return unsqueezeAxes(axes, add);
    }
    case "Reshape": {
      if (!inputs[1]) throw new Error("no shape input");
      const target = shapes.value(inputs[1]);
      if (target.rank !== 1) throw new Error("the shape is not a 1-D tensor");
      return reshapeAxes(axes, target.values, attrInt(node, "allowzero", 0) !== 0);
    }
    case "Flatten":
      return flattenAxes(axes, attrInt(node, "axis", 1));
    default:
      throw new Error(`internal: ${node.opType} is not glue`);
  }
}

function findEmbeddingGather(graph: OnnxGraph, consts: ReadonlyMap<string, Tensor>): NodeProto {
  const candidates = graph.nodes.filter((n) => {
    if (n.opType !== "Gather") return false;
    const [data, indices] = n.input ?? [];
    const table = consts.get(data);
    return !!table && isFloat(table) && table.dims.length === 2 && !!indices && !consts.has(indices);
  });
  if (candidates.length === 0) {
    throw new Error(
      "No embedding lookup found: expected a Gather node whose data is a constant float matrix " +
        "[vocab, embedding dim] and whose indices are the token ids (a graph input)",
    );
  }
  if (candidates.length > 1) {
    throw new Error(
      `Found ${candidates.length} embedding-like lookups (${candidates.map(describeNode).join(", ")}); ` +
        "expected exactly one Gather of a constant matrix by the token ids",
    );
  }
  const node = candidates[0];
  if (attrInt(node, "axis", 0) !== 0) {
    throw new Error(
      `${describeNode(node)}: gathers along axis ${
        attrInt(node, "axis", 0)
      }; an embedding lookup uses axis 0`,
    );
  }
  return node;
}

function findTokenInput(graph: OnnxGraph, gather: NodeProto): { tokenInput: string; tokenAxes: Axis[] } {
  let name = gather.input![1];
  while (!graph.inputs.has(name)) {
    const p = graph.producer(name);
    if (!p || (p.node.opType !== "Cast" && p.node.opType !== "Identity")) {
      throw new Error(
        `${describeNode(gather)}: its indices "${name}" are ` +
          (p ? `computed by ${describeNode(p.node)}` : "neither a graph input nor computed by a node") +
          "; expected the token ids straight from a graph input",
      );
    }
    name = p.node.input![0];
  }
  const input = graph.inputs.get(name)!;
  if (input.elemType !== 0 && !INTEGER_TYPES.has(input.elemType)) {
    throw new Error(`Token input "${name}" has element type ${input.elemType}; expected integer token ids`);
  }
  if (!input.dims) {
    throw new Error(
      `Token input "${name}" declares no shape; the importer needs its rank to follow the axes`,
    );
  }
  const tokenAxes: Axis[] = input.dims.map((d, i) =>
    d === 1 ? UNIT : { kind: "dims", factors: [`${name}[${i}]`] }
  );
  return { tokenInput: name, tokenAxes };
}
