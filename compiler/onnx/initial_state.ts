/**
 * Where an LSTM node's initial_h / initial_c come from.
 *
 * The IR has no initial state: a model starts every stream from zeros, and the runtime carries state
 * between calls itself. So the importer accepts an initial state that is
 *  - absent (the input slot is empty),
 *  - zeros (a constant of zeros, or `ConstantOfShape` / `Expand` of a zero, as PyTorch exports
 *    `forward(tokens)` without a state argument), or
 *  - a graph input, possibly through the ops that pick this layer's part of it (`Slice`, `Gather`, `Split`,
 *    `Squeeze`, `Unsqueeze`, `Reshape`, …): the caller supplies the state, which is zeros at the start,
 * and rejects anything else — a learned (non-zero) initial state would make the imported model silently
 * differ from the original.
 * @module
 */

import { describeNode, type OnnxGraph } from "./graph.ts";
import { attrTensor } from "./graph.ts";
import type { NodeProto, Tensor } from "./proto.ts";

/** Where an initial state comes from. */
export type InitialStateSource = "absent" | "zeros" | "input";

/** Ops whose output is (a part of) their first input, for this purpose. */
const PASS_THROUGH = new Set([
  "Identity",
  "Slice",
  "Gather",
  "Split",
  "Squeeze",
  "Unsqueeze",
  "Reshape",
  "Flatten",
  "Transpose",
  "Cast",
  "Dropout",
  "Expand",
  "Tile",
]);

/**
 * Classifies input `slot` (5 = initial_h, 6 = initial_c) of an LSTM node; throws an error naming the node
 * and the input when the state is neither absent, zeros, nor taken from a graph input.
 *
 * `isDataPath` tells whether a tensor lies on the token → logits path (a state computed from it is rejected).
 */
export function classifyInitialState(
  graph: OnnxGraph,
  consts: ReadonlyMap<string, Tensor>,
  lstm: NodeProto,
  slot: 5 | 6,
  isDataPath: (name: string) => boolean = () => false,
): InitialStateSource {
  const name = (lstm.input ?? [])[slot];
  if (!name) return "absent";
  const what = `${describeNode(lstm)}: input ${slot === 5 ? "initial_h" : "initial_c"} "${name}"`;
  const visit = (t: string): "zeros" | "input" => {
    const c = consts.get(t);
    if (c) {
      const nonZero = Array.from(c.data as ArrayLike<number | bigint>).find((v) => Number(v) !== 0);
      if (nonZero !== undefined) {
        throw new Error(
          `${what} is a non-zero constant${
            t === name ? "" : ` (through "${t}")`
          }; the imported model always ` +
            `starts from a zero state, so a learned initial state is not supported`,
        );
      }
      return "zeros";
    }
    if (graph.inputs.has(t)) return "input";
    if (isDataPath(t)) {
      throw new Error(`${what} is computed from the token path ("${t}"); expected a state input`);
    }
    const p = graph.producer(t);
    if (!p) throw new Error(`${what}: tensor "${t}" is neither produced by a node nor a graph input`);
    const node = p.node;
    const inputs = node.input ?? [];
    if (node.opType === "ConstantOfShape") {
      const value = attrTensor(node, "value");
      if (value && Array.from(value.data as ArrayLike<number | bigint>).some((v) => Number(v) !== 0)) {
        throw new Error(`${what} is filled with a non-zero value by ${describeNode(node)}; expected zeros`);
      }
      return "zeros";
    }
    if (node.opType === "Concat") {
      const parts = inputs.filter((i) => i).map(visit);
      return parts.includes("input") ? "input" : "zeros";
    }
    if (PASS_THROUGH.has(node.opType ?? "") && inputs[0]) return visit(inputs[0]);
    throw new Error(
      `${what} is computed by ${describeNode(node)}; expected a graph input (optionally through ` +
        `Slice/Gather/Split/Squeeze/Unsqueeze/Reshape), zeros, or no initial state`,
    );
  };
  return visit(name);
}
