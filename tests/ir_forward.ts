/**
 * A plain reference forward pass over the IR, for tests: checks an importer against PyTorch's logits
 * independently of the runtime and its kernels. Computes in float64 from the float32 weights.
 * @module
 */

import type { IrLstmLayer, IrModel } from "../compiler/ir.ts";

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
