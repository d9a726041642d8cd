/**
 * The reference engine: onnxruntime-web (wasm, one thread) running the original ONNX model. Our runtime's
 * logits and perplexities are checked against it, and benchmarks compare against it.
 *
 * Expects the graph shape `torch.onnx.export` writes for Embedding → LSTM → Linear: a token input of rank
 * 2 (sequence-major, or batch-major when the embedding output is transposed before the first LSTM),
 * optionally followed by initial-state inputs h0, c0 of shape (layers, batch, hidden) and state outputs
 * h, c after the logits. With both, long texts are run in chunks with the state carried; otherwise the
 * whole text is run at once (up to MAX_STATELESS_TOKENS).
 * @module
 */
import * as ort from "onnxruntime-web";
import onnx from "onnx-proto";
import { type NllAccumulator, nllAccumulator } from "../runtime/perplexity.ts";

ort.env.wasm.numThreads = 1;
ort.env.logLevel = "error";

/** The texts longer than this (in tokens) need a model with state inputs. */
const MAX_STATELESS_TOKENS = 4096;

interface GraphLayout {
  tokens: string;
  batchFirst: boolean;
  stateInputs: { name: string; dims: number[] }[];
  logits: string;
  stateOutputs: string[];
}

function dimsOf(info: onnx.onnx.IValueInfoProto): (number | null)[] {
  return (info.type?.tensorType?.shape?.dim ?? []).map((d) => d.dimValue != null ? Number(d.dimValue) : null);
}

/** Reads the input/output roles and whether tokens are batch-major from the ONNX graph. */
function analyzeGraph(bytes: Uint8Array): GraphLayout {
  const graph = onnx.onnx.ModelProto.decode(bytes).graph;
  if (!graph) throw new Error("ONNX model has no graph");
  const initializers = new Set((graph.initializer ?? []).map((t) => t.name));
  const inputs = (graph.input ?? []).filter((i) => !initializers.has(i.name ?? ""));
  const isInt = (i: onnx.onnx.IValueInfoProto) => [6, 7].includes(i.type?.tensorType?.elemType ?? 0);
  const tokenInput = inputs.find(isInt);
  if (!tokenInput) throw new Error("ONNX model has no integer token input");
  const stateInputs = inputs.filter((i) => i !== tokenInput).map((i) => {
    const dims = dimsOf(i);
    if (dims.length !== 3 || dims[0] === null || dims[2] === null) {
      throw new Error(`ONNX input "${i.name}": expected a state of shape (layers, batch, hidden)`);
    }
    return { name: i.name!, dims: [dims[0]!, 1, dims[2]!] };
  });
  if (stateInputs.length !== 0 && stateInputs.length !== 2) {
    throw new Error(`ONNX model has ${stateInputs.length} float inputs; expected none or two (h0, c0)`);
  }
  // Batch-major if a Transpose sits between the token input and the first LSTM node.
  const consumers = new Map<string, onnx.onnx.INodeProto[]>();
  for (const node of graph.node ?? []) {
    for (const input of node.input ?? []) consumers.set(input, [...(consumers.get(input) ?? []), node]);
  }
  let batchFirst = false;
  const seen = new Set<string>();
  const queue: [string, boolean][] = [[tokenInput.name!, false]];
  while (queue.length) {
    const [value, transposed] = queue.shift()!;
    for (const node of consumers.get(value) ?? []) {
      if (seen.has(node.name + "/" + node.opType)) continue;
      seen.add(node.name + "/" + node.opType);
      if (node.opType === "LSTM") {
        batchFirst = transposed;
        queue.length = 0;
        break;
      }
      const t = transposed !== (node.opType === "Transpose");
      for (const out of node.output ?? []) queue.push([out, t]);
    }
  }
  const outputs = (graph.output ?? []).map((o) => o.name!);
  return {
    tokens: tokenInput.name!,
    batchFirst,
    stateInputs,
    logits: outputs[0],
    // The state can be carried only when the graph also returns it (h, c after the logits).
    stateOutputs: stateInputs.length && outputs.length >= 3 ? outputs.slice(1, 3) : [],
  };
}

/** The original ONNX model run by onnxruntime-web. */
export class OnnxReferenceModel {
  private constructor(readonly session: ort.InferenceSession, readonly layout: GraphLayout) {}

  /** Creates an onnxruntime-web session (wasm backend, one thread). */
  static async create(bytes: Uint8Array): Promise<OnnxReferenceModel> {
    const layout = analyzeGraph(bytes);
    // logSeverityLevel 3 (errors only): a re-trained file's trained parts are initializers no node uses,
    // which onnxruntime would report one warning line each for.
    const session = await ort.InferenceSession.create(bytes, {
      executionProviders: ["wasm"],
      logSeverityLevel: 3,
    });
    return new OnnxReferenceModel(session, layout);
  }

  /** Whether texts can be run in chunks with the state carried. */
  get hasState(): boolean {
    return this.layout.stateInputs.length === 2 && this.layout.stateOutputs.length === 2;
  }

  /**
   * Runs `ids` from the given state (zero when absent) and returns the logits, (T × vocab) row-major,
   * and the state after the last token.
   */
  async run(ids: number[], state?: ort.Tensor[]): Promise<{ logits: Float32Array; state: ort.Tensor[] }> {
    const { layout } = this;
    const shape = layout.batchFirst ? [1, ids.length] : [ids.length, 1];
    const feeds: Record<string, ort.Tensor> = {
      [layout.tokens]: new ort.Tensor("int64", BigInt64Array.from(ids, (i) => BigInt(i)), shape),
    };
    layout.stateInputs.forEach((input, k) => {
      feeds[input.name] = state?.[k] ??
        new ort.Tensor("float32", new Float32Array(input.dims[0] * input.dims[2]), input.dims);
    });
    const out = await this.session.run(feeds);
    const logits = out[layout.logits].data as Float32Array;
    return { logits, state: layout.stateOutputs.map((name) => out[name]) };
  }

  /**
   * Perplexity by the project's convention: one stream, zero initial state, state carried, every token
   * after the first scored.
   */
  async score(
    ids: number[],
    options: { chunk?: number; onProgress?: (done: number, total: number) => void } = {},
  ): Promise<NllAccumulator> {
    const chunk = options.chunk ?? 256;
    if (!this.hasState && ids.length > MAX_STATELESS_TOKENS) {
      throw new Error(
        `This ONNX model does not take and return its state (h0, c0 inputs; h, c outputs), so a text of ${ids.length} tokens cannot be run in ` +
          `chunks; the limit without them is ${MAX_STATELESS_TOKENS} tokens`,
      );
    }
    const acc = nllAccumulator();
    const step = this.hasState ? chunk : ids.length;
    let state: ort.Tensor[] | undefined;
    for (let start = 0; start < ids.length - 1; start += step) {
      const input = ids.slice(start, Math.min(start + step, ids.length - 1));
      const result = await this.run(input, state);
      state = result.state;
      const vocab = result.logits.length / input.length;
      for (let t = 0; t < input.length; t++) {
        acc.addLogits(result.logits.subarray(t * vocab, (t + 1) * vocab), ids[start + t + 1]);
      }
      options.onProgress?.(start + input.length, ids.length - 1);
    }
    return acc;
  }
}
