/**
 * A plain reference forward pass over the IR: checks an importer against PyTorch's logits independently
 * of the runtime and its kernels (tests), and is what compile checks a model against when it has no ONNX
 * original for onnxruntime-web to run (an ml5 char-RNN folder). Computes in float64 from the float32
 * weights.
 * @module
 */

import type { IrLstmLayer, IrModel } from "./ir.ts";
import { type NllAccumulator, nllAccumulator } from "../runtime/perplexity.ts";

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/**
 * One LSTM step, in place: gates = wIh·x + wHh·h + bias, blocks i, f, g, o of H rows each;
 * c = σ(f)·c + σ(i)·tanh(g); h = σ(o)·tanh(c).
 *
 * x: (inputSize); h, c: (hiddenSize), updated.
 */
export function lstmStep(layer: IrLstmLayer, x: ArrayLike<number>, h: Float64Array, c: Float64Array): void {
  const H = layer.hiddenSize;
  const I = layer.inputSize;
  const wIh = layer.wIh.data; // (4H, I)
  const wHh = layer.wHh.data; // (4H, H)
  const gates = new Float64Array(4 * H);
  for (let r = 0; r < 4 * H; r++) {
    let s = layer.bias[r];
    for (let k = 0; k < I; k++) s += wIh[r * I + k] * x[k];
    for (let k = 0; k < H; k++) s += wHh[r * H + k] * h[k];
    gates[r] = s;
  }
  for (let j = 0; j < H; j++) {
    const i = sigmoid(gates[j]);
    const f = sigmoid(gates[H + j]);
    const g = Math.tanh(gates[2 * H + j]);
    const o = sigmoid(gates[3 * H + j]);
    c[j] = f * c[j] + i * g;
    h[j] = o * Math.tanh(c[j]);
  }
}

/**
 * Logits for each token of `ids` (one stream, zero initial state): row t = decoder·h_t + decoderBias.
 *
 * @example
 * ```ts
 * const rows = irLogits(model, [3, 14, 15]); // 3 × vocabSize
 * ```
 */
export function irLogits(model: IrModel, ids: number[]): Float32Array[] {
  const E = model.embedding.cols;
  const state = model.layers.map((l) => ({
    h: new Float64Array(l.hiddenSize),
    c: new Float64Array(l.hiddenSize),
  }));
  const out: Float32Array[] = [];
  for (const id of ids) {
    if (!(id >= 0 && id < model.embedding.rows)) throw new Error(`token id ${id} is out of range`);
    let x: ArrayLike<number> = model.embedding.data.subarray(id * E, (id + 1) * E);
    model.layers.forEach((layer, k) => {
      lstmStep(layer, x, state[k].h, state[k].c);
      x = state[k].h;
    });
    const V = model.decoder.rows;
    const H = model.decoder.cols;
    const logits = new Float32Array(V);
    for (let v = 0; v < V; v++) {
      let s = model.decoderBias[v];
      for (let k = 0; k < H; k++) s += model.decoder.data[v * H + k] * x[k];
      logits[v] = s;
    }
    out.push(logits);
  }
  return out;
}

/**
 * The IR run by {@link irLogits}, with the interface of compile's reference engines (logits of a token
 * sequence, perplexity of a text): the reference for imports that have no ONNX original.
 */
export class IrReferenceModel {
  readonly name = "the imported weights (plain float64 forward pass)";
  constructor(readonly model: IrModel) {}

  /** Logits (T × vocab, row-major) after each of `ids`, from the zero state. */
  run(ids: number[]): Promise<{ logits: Float32Array }> {
    const rows = irLogits(this.model, ids);
    const v = this.model.decoder.rows;
    const logits = new Float32Array(ids.length * v);
    rows.forEach((row, t) => logits.set(row, t * v));
    return Promise.resolve({ logits });
  }

  /** Perplexity bookkeeping of `ids` by the project's convention (every token after the first scored). */
  score(
    ids: number[],
    options: { onProgress?: (done: number, total: number) => void } = {},
  ): Promise<NllAccumulator> {
    const acc = nllAccumulator();
    const rows = irLogits(this.model, ids.slice(0, -1));
    rows.forEach((row, t) => acc.addLogits(row, ids[t + 1]));
    options.onProgress?.(ids.length - 1, ids.length - 1);
    return Promise.resolve(acc);
  }
}
