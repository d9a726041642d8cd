/**
 * One ONNX `LSTM` node → one {@link IrLstmLayer}.
 *
 * ONNX stores a layer as W (num_directions, 4H, I), R (num_directions, 4H, H) and the optional
 * B (num_directions, 8H) = [Wb; Rb], each gate block in the order i, o, f, c. The IR wants
 * wIh (4H × I), wHh (4H × H) and one bias (4H) = Wb + Rb, in the order i, f, g, o (g is ONNX's c).
 *
 * Only the plain forward LSTM that a PyTorch `nn.LSTM` exports can run token by token, so the node is
 * rejected (with every reason at once) when it is bidirectional or reverse, has peepholes (input P),
 * non-default activations, a cell clip, input_forget ≠ 0 or sequence_lens. `layout` 0 (sequence-major) and
 * 1 (batch-major) are both accepted: it changes the shapes of X and Y, not the weights.
 * @module
 */

import type { IrLstmLayer } from "../ir.ts";
import { irMatrix } from "../ir.ts";
import { attrFloat, attrInt, attrString, attrStrings, describeNode, findAttr } from "./graph.ts";
import { formatDims, type NodeProto, type Tensor, toFloat32 } from "./proto.ts";

/** LSTM input slots, by position (ONNX operator spec). */
export const LSTM_INPUTS = ["X", "W", "R", "B", "sequence_lens", "initial_h", "initial_c", "P"] as const;

/** For each IR gate block (i, f, g, o), the ONNX block it comes from (ONNX order i, o, f, c). */
export const ONNX_GATE_FOR_IR_GATE: readonly number[] = [0, 2, 3, 1];

const DEFAULT_ACTIVATIONS = ["Sigmoid", "Tanh", "Tanh"];

/** Where constant tensors are looked up: a map or a function (return undefined when not constant). */
export type TensorLookup = ReadonlyMap<string, Tensor> | ((name: string) => Tensor | undefined);

/** Memory layout of X / Y: 0 = (seq, batch, feature), 1 = (batch, seq, feature). */
export function lstmLayout(node: NodeProto): 0 | 1 {
  const layout = attrInt(node, "layout", 0);
  if (layout !== 0 && layout !== 1) {
    throw new Error(`${describeNode(node)}: attribute layout is ${layout}; expected 0 or 1`);
  }
  return layout;
}

/**
 * Lists what makes an LSTM node unsupported (empty when it is supported). Each entry names the attribute
 * or input and its value.
 */
export function unsupportedLstmFeatures(node: NodeProto): string[] {
  const problems: string[] = [];
  const direction = attrString(node, "direction", "forward");
  if (direction !== "forward") {
    problems.push(
      `attribute direction is "${direction}"; only "forward" is supported (a ${direction} LSTM needs the ` +
        `whole sequence before it can produce the first output)`,
    );
  }
  const inputs = node.input ?? [];
  if (inputs[7]) {
    problems.push(`input P (peepholes) "${inputs[7]}" is given; peephole connections are not supported`);
  }
  if (inputs[4]) {
    problems.push(`input sequence_lens "${inputs[4]}" is given; per-sequence lengths are not supported`);
  }
  const activations = attrStrings(node, "activations");
  if (activations && activations.join(",") !== DEFAULT_ACTIVATIONS.join(",")) {
    problems.push(
      `attribute activations is [${activations.join(", ")}]; only the default [${
        DEFAULT_ACTIVATIONS.join(", ")
      }] ` +
        `is supported`,
    );
  }
  if (findAttr(node, "clip")) {
    problems.push(`attribute clip is ${attrFloat(node, "clip", 0)}; cell clipping is not supported`);
  }
  const inputForget = attrInt(node, "input_forget", 0);
  if (inputForget !== 0) {
    problems.push(`attribute input_forget is ${inputForget}; coupled input/forget gates are not supported`);
  }
  return problems;
}

/**
 * Converts an LSTM node to an IR layer: gates reordered from ONNX's i, o, f, c to i, f, g, o, and the
 * two biases summed. W, R and B must be constants found through `tensors` (initializers, folded constants,
 * or — in ONNX's operator tests — the test's input tensors).
 *
 * Matrices are named `layers.<layerIndex>.w_ih` and `layers.<layerIndex>.w_hh`.
 *
 * @example
 * ```ts
 * const layer = lstmNodeToLayer(node, consts, 0);
 * layer.wIh.rows === 4 * layer.hiddenSize;
 * ```
 */
export function lstmNodeToLayer(node: NodeProto, tensors: TensorLookup, layerIndex = 0): IrLstmLayer {
  const label = describeNode(node);
  if (node.opType !== "LSTM") throw new Error(`${label}: expected an LSTM node`);
  const problems = unsupportedLstmFeatures(node);
  if (problems.length > 0) throw new Error(`${label} is not supported: ${problems.join("; ")}`);
  lstmLayout(node);

  const lookup = typeof tensors === "function" ? tensors : (name: string) => tensors.get(name);
  const inputs = node.input ?? [];
  const constant = (slot: number): Tensor | undefined => {
    const name = inputs[slot];
    if (!name) return undefined;
    const t = lookup(name);
    if (!t) {
      throw new Error(
        `${label}: input ${LSTM_INPUTS[slot]} "${name}" is not a constant; expected weights stored in the ` +
          `model (an initializer or a subgraph of constants)`,
      );
    }
    return t;
  };
  const w = constant(1);
  const r = constant(2);
  if (!w || !r) throw new Error(`${label}: inputs W and R are required`);
  const b = constant(3);

  if (w.dims.length !== 3 || w.dims[1] % 4 !== 0) {
    throw new Error(
      `${label}: input W "${inputs[1]}" has shape ${formatDims(w.dims)}; expected [1, 4·hidden, input]`,
    );
  }
  if (w.dims[0] !== 1) {
    throw new Error(
      `${label}: input W "${inputs[1]}" has shape ${formatDims(w.dims)}: ${w.dims[0]} directions; expected 1`,
    );
  }
  const hidden = w.dims[1] / 4;
  const inputSize = w.dims[2];
  const declared = attrInt(node, "hidden_size", hidden);
  if (declared !== hidden) {
    throw new Error(
      `${label}: attribute hidden_size is ${declared} but W "${inputs[1]}" holds ${hidden} per gate`,
    );
  }
  if (r.dims.length !== 3 || r.dims[0] !== 1 || r.dims[1] !== 4 * hidden || r.dims[2] !== hidden) {
    throw new Error(
      `${label}: input R "${inputs[2]}" has shape ${formatDims(r.dims)}; expected [1, ${
        4 * hidden
      }, ${hidden}]`,
    );
  }
  if (b && (b.data.length !== 8 * hidden || (b.dims.length === 2 && b.dims[0] !== 1))) {
    throw new Error(
      `${label}: input B "${inputs[3]}" has shape ${formatDims(b.dims)}; expected [1, ${8 * hidden}]`,
    );
  }

  const wData = toFloat32(w, `${label}: input W "${inputs[1]}"`);
  const rData = toFloat32(r, `${label}: input R "${inputs[2]}"`);
  const bias = new Float32Array(4 * hidden);
  if (b) {
    const bData = toFloat32(b, `${label}: input B "${inputs[3]}"`);
    for (let gate = 0; gate < 4; gate++) {
      const src = ONNX_GATE_FOR_IR_GATE[gate] * hidden;
      for (let j = 0; j < hidden; j++) {
        bias[gate * hidden + j] = bData[src + j] + bData[4 * hidden + src + j]; // Wb + Rb
      }
    }
  }
  return {
    inputSize,
    hiddenSize: hidden,
    wIh: irMatrix(`layers.${layerIndex}.w_ih`, 4 * hidden, inputSize, reorderGates(wData, hidden, inputSize)),
    wHh: irMatrix(`layers.${layerIndex}.w_hh`, 4 * hidden, hidden, reorderGates(rData, hidden, hidden)),
    bias,
  };
}

/** (4H × cols) rows in gate blocks i, o, f, c → i, f, g, o. */
function reorderGates(src: Float32Array, hidden: number, cols: number): Float32Array {
  const out = new Float32Array(4 * hidden * cols);
  const block = hidden * cols;
  for (let gate = 0; gate < 4; gate++) {
    const from = ONNX_GATE_FOR_IR_GATE[gate] * block;
    out.set(src.subarray(from, from + block), gate * block);
  }
  return out;
}
