/**
 * An index over an ONNX graph: who produces and who consumes each tensor, graph inputs and outputs,
 * the default-domain opset, node attributes, and how to name a node in an error message.
 * @module
 */

import {
  type AttributeProto,
  type ModelProto,
  type NodeProto,
  type Tensor,
  tensorFromProto,
  type TensorProto,
  toNumber,
  type ValueInfoProto,
} from "./proto.ts";

/** A graph input (one that is not also an initializer) with its declared element type and shape. */
export interface GraphInput {
  name: string;
  /** ONNX TensorProto.DataType code, 0 when not declared. */
  elemType: number;
  /** Declared dims: a number, a symbolic name, or undefined; undefined when the rank is unknown. */
  dims?: (number | string | undefined)[];
}

/** Read-only index of a model's main graph. */
export class OnnxGraph {
  /** Nodes in file order (ONNX requires topological order; the importer does not rely on it). */
  readonly nodes: readonly NodeProto[];
  /** Version of the default ("" / "ai.onnx") operator set. */
  readonly opset: number;
  /** Graph inputs that are not initializers, by name. */
  readonly inputs: ReadonlyMap<string, GraphInput>;
  /** Names of the graph outputs. */
  readonly outputs: ReadonlySet<string>;
  /** Initializer protos by name (decoded lazily by the constant folder). */
  readonly initializers: ReadonlyMap<string, TensorProto>;
  readonly #producers = new Map<string, { node: NodeProto; index: number }>();
  readonly #consumers = new Map<string, NodeProto[]>();

  constructor(model: ModelProto) {
    const graph = model.graph;
    if (!graph) throw new Error("Not an ONNX model: the ModelProto has no graph");
    this.nodes = graph.node ?? [];
    const opsets = model.opsetImport ?? [];
    const main = opsets.find((o) => !o.domain || o.domain === "ai.onnx");
    if (!main) throw new Error("The model imports no default-domain (ai.onnx) operator set");
    this.opset = toNumber(main.version);
    this.initializers = new Map((graph.initializer ?? []).map((t) => [t.name ?? "", t]));
    if ((graph.sparseInitializer?.length ?? 0) > 0) {
      throw new Error("Sparse initializers are not supported: re-save the model with dense initializers");
    }
    const inputs = new Map<string, GraphInput>();
    for (const vi of graph.input ?? []) {
      const name = vi.name ?? "";
      if (!this.initializers.has(name)) inputs.set(name, describeInput(vi));
    }
    this.inputs = inputs;
    this.outputs = new Set((graph.output ?? []).map((o) => o.name ?? ""));
    for (const node of this.nodes) {
      if (node.domain && node.domain !== "ai.onnx") {
        throw new Error(
          `${describeNode(node)} is from operator domain "${node.domain}"; only standard ONNX operators ` +
            `(domain "" / ai.onnx) are supported`,
        );
      }
      (node.output ?? []).forEach((out, index) => {
        if (out) this.#producers.set(out, { node, index });
      });
      for (const inp of node.input ?? []) {
        if (!inp) continue;
        const list = this.#consumers.get(inp);
        if (list) {
          if (!list.includes(node)) list.push(node);
        } else this.#consumers.set(inp, [node]);
      }
    }
  }

  /** The node (and output index) that computes a tensor, or undefined for inputs/initializers. */
  producer(name: string): { node: NodeProto; index: number } | undefined {
    return this.#producers.get(name);
  }

  /** Nodes that read a tensor (each once, in file order). */
  consumers(name: string): readonly NodeProto[] {
    return this.#consumers.get(name) ?? [];
  }
}

function describeInput(vi: ValueInfoProto): GraphInput {
  const tt = vi.type?.tensorType;
  const shape = tt?.shape;
  return {
    name: vi.name ?? "",
    elemType: tt?.elemType ?? 0,
    dims: shape
      ? (shape.dim ?? []).map((d) =>
        d.dimValue !== undefined && d.dimValue !== null && !(d.dimParam)
          ? toNumber(d.dimValue)
          : d.dimParam || undefined
      )
      : undefined,
  };
}

/**
 * Names a node for error messages: `LSTM node "/rnn/LSTM"`, or for an unnamed node
 * `LSTM node (unnamed, output "Y_h")`.
 */
export function describeNode(node: NodeProto): string {
  const op = node.opType || "?";
  if (node.name) return `${op} node "${node.name}"`;
  const outs = (node.output ?? []).filter((o) => o);
  return `${op} node (unnamed, output${outs.length === 1 ? "" : "s"} ${
    outs.map((o) => `"${o}"`).join(", ")
  })`;
}

/** Finds an attribute by name. */
export function findAttr(node: NodeProto, name: string): AttributeProto | undefined {
  return (node.attribute ?? []).find((a) => a.name === name);
}

/** An INT attribute, or `fallback` when absent. */
export function attrInt(node: NodeProto, name: string, fallback: number): number {
  const a = findAttr(node, name);
  return a ? toNumber(a.i) : fallback;
}

/** A FLOAT attribute, or `fallback` when absent. */
export function attrFloat(node: NodeProto, name: string, fallback: number): number {
  const a = findAttr(node, name);
  return a ? (a.f ?? 0) : fallback;
}

/** An INTS attribute, or undefined when absent. */
export function attrInts(node: NodeProto, name: string): number[] | undefined {
  const a = findAttr(node, name);
  return a ? (a.ints ?? []).map((v) => toNumber(v)) : undefined;
}

const utf8 = new TextDecoder();

/** A STRING attribute, or `fallback` when absent. */
export function attrString(node: NodeProto, name: string, fallback: string): string {
  const a = findAttr(node, name);
  return a ? utf8.decode(a.s ?? new Uint8Array()) : fallback;
}

/** A STRINGS attribute, or undefined when absent. */
export function attrStrings(node: NodeProto, name: string): string[] | undefined {
  const a = findAttr(node, name);
  return a ? (a.strings ?? []).map((s) => utf8.decode(s)) : undefined;
}

/** A TENSOR attribute decoded, or undefined when absent. */
export function attrTensor(node: NodeProto, name: string): Tensor | undefined {
  const a = findAttr(node, name);
  return a?.t ? tensorFromProto(a.t, `${describeNode(node)}: attribute ${name}`) : undefined;
}
