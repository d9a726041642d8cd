/**
 * ml5.js / TensorFlow char-RNN folder → IR.
 *
 * A folder as ml5's `charRNN()` loads it (and ml5's training-charRNN scripts write it): `manifest.json`
 * (variable name → `{filename, shape}`), one raw little-endian float32 file per variable, and
 * `vocab.json` (character → id). The network is TensorFlow's `BasicLSTMCell` in a `MultiRNNCell`:
 *
 * ```
 * x = embedding[id]                                   // embedding: [V, E]
 * z = concat(x, h) · kernel + bias                    // kernel ("weights"): [I + H, 4H]; bias ("biases"): [4H]
 * i, j, f, o = split(z, 4)                            // TensorFlow's gate order
 * c = c · σ(f + 1.0) + σ(i) · tanh(j)                 // forget_bias 1.0, added at run time (not stored)
 * h = tanh(c) · σ(o)
 * logits = h_top · softmax_w + softmax_b              // softmax_w: [H, V]
 * ```
 *
 * The IR wants w_ih (4H × I), w_hh (4H × H) in gate order i, f, g, o with one bias: so kernel rows
 * 0..I−1 transposed become w_ih and rows I.. w_hh, the blocks are reordered (i, j, f, o → i, f, g=j, o),
 * and 1.0 is added to the forget block of the bias, which is exactly what TensorFlow adds at run time.
 * Layers are `…/multi_rnn_cell/cell_K/basic_lstm_cell/{weights,biases | kernel,bias}` (any number, K from
 * 0), or one `…/basic_lstm_cell/…` without a MultiRNNCell. Scalars (ml5's `Variable`, the learning
 * rate) are skipped; any other variable is an error.
 * @module
 */
import { createHash } from "node:crypto";
import { type IrLstmLayer, irMatrix, type IrModel } from "../ir.ts";
import {
  CHARACTER_TOKENIZER,
  checkVocabularyTokens,
  readJsonVocabulary,
  readTokenizerMetadata,
  VocabularyError,
} from "../onnx/vocab.ts";
import { LITTLE_ENDIAN } from "../../runtime/format/constants.ts";
import { readInput } from "../../runtime/cli/args.ts";

/** TensorFlow's BasicLSTMCell default forget_bias, added to the forget gate at run time. */
export const TF_FORGET_BIAS = 1.0;

/** Options of {@link importMl5CharRnn}. */
export interface Ml5ImportOptions {
  /** Token strings, index = id, replacing the folder's `vocab.json` (`--vocab FILE`, e.g. a corrected one). */
  vocab?: string[];
  /** Tokenizer settings as JSON (metadata_props "tokenizer" format); default: characters, as written. */
  tokenizer?: string;
}

interface Variable {
  name: string;
  shape: number[];
  data: Float32Array;
}

/** Whether `path` is a folder holding a `manifest.json` (an ml5 / TensorFlow.js char-RNN). */
export function isMl5Folder(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory && Deno.statSync(`${path}/manifest.json`).isFile;
  } catch {
    return false;
  }
}

const readText = async (path: string, what: string) => new TextDecoder().decode(await readInput(path, what));

/** Reads every variable the manifest lists, checking each file's size against its shape. */
async function readVariables(dir: string): Promise<Map<string, Variable>> {
  const manifestPath = `${dir}/manifest.json`;
  let manifest: unknown;
  try {
    manifest = JSON.parse(await readText(manifestPath, "The manifest"));
  } catch (e) {
    if (e instanceof SyntaxError) throw new Error(`${manifestPath} is not valid JSON: ${e.message}`);
    throw e;
  }
  if (!manifest || typeof manifest !== "object" || Array.isArray(manifest)) {
    throw new Error(`${manifestPath} must be a JSON object: variable name → {"filename", "shape"}`);
  }
  const out = new Map<string, Variable>();
  for (const [name, entry] of Object.entries(manifest as Record<string, unknown>)) {
    const e = entry as { filename?: unknown; shape?: unknown };
    const shape = e?.shape;
    if (
      typeof e?.filename !== "string" || !Array.isArray(shape) ||
      !shape.every((d) => Number.isInteger(d) && d >= 1)
    ) {
      throw new Error(
        `${manifestPath}: variable "${name}" must be {"filename": string, "shape": [positive whole numbers]}, ` +
          `found ${JSON.stringify(entry)}`,
      );
    }
    if (e.filename.includes("/") || e.filename.includes("\\") || e.filename.startsWith(".")) {
      throw new Error(
        `${manifestPath}: variable "${name}" names the file "${e.filename}" outside the folder`,
      );
    }
    const path = `${dir}/${e.filename}`;
    const bytes = await readInput(path, `${manifestPath}: variable "${name}": its file`);
    const count = shape.reduce((a: number, d: number) => a * d, 1);
    if (bytes.length !== 4 * count) {
      throw new Error(
        `${path} (variable "${name}", shape [${shape.join(", ")}]) holds ${bytes.length} bytes, expected ` +
          `${4 * count} (${count} float32 values)`,
      );
    }
    const data = new Float32Array(count);
    if (LITTLE_ENDIAN) data.set(new Float32Array(bytes.slice().buffer));
    else {
      const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      for (let i = 0; i < count; i++) data[i] = dv.getFloat32(4 * i, true);
    }
    out.set(name, { name, shape, data });
  }
  return out;
}

const LAYER = /(?:^|\/)(?:multi_rnn_cell\/cell_(\d+)\/)?basic_lstm_cell\/(weights|kernel|biases|bias)$/;

/** The variables by role: embedding, each layer's kernel and bias (by layer index), softmax_w, softmax_b. */
function assignRoles(vars: Map<string, Variable>, manifestPath: string) {
  const layers = new Map<number, { kernel?: Variable; bias?: Variable }>();
  let embedding: Variable | undefined;
  let softmaxW: Variable | undefined;
  let softmaxB: Variable | undefined;
  let multi: boolean | undefined;
  const base = (name: string) => name.slice(name.lastIndexOf("/") + 1);
  for (const v of vars.values()) {
    const m = LAYER.exec(v.name);
    if (m) {
      const isMulti = m[1] !== undefined;
      if (multi !== undefined && multi !== isMulti) {
        throw new Error(`${manifestPath}: cells both inside and outside a multi_rnn_cell ("${v.name}")`);
      }
      multi = isMulti;
      const k = isMulti ? Number(m[1]) : 0;
      const layer = layers.get(k) ?? {};
      const role = m[2] === "weights" || m[2] === "kernel" ? "kernel" : "bias";
      if (layer[role]) throw new Error(`${manifestPath}: layer ${k} has two ${role} variables ("${v.name}")`);
      layer[role] = v;
      layers.set(k, layer);
    } else if (base(v.name) === "embedding") embedding = v;
    else if (base(v.name) === "softmax_w") softmaxW = v;
    else if (base(v.name) === "softmax_b") softmaxB = v;
    else if (v.shape.length === 0 || v.data.length === 1) continue; // ml5's "Variable": the learning rate
    else {
      throw new Error(
        `${manifestPath}: variable "${v.name}" (shape [${v.shape.join(", ")}]) is not part of a char-RNN; ` +
          `expected embedding, …/basic_lstm_cell/{weights,biases | kernel,bias}, softmax_w, softmax_b`,
      );
    }
  }
  const missing = [
    ["embedding", embedding],
    ["softmax_w", softmaxW],
    ["softmax_b", softmaxB],
  ].filter(([, v]) => !v).map(([n]) => n);
  if (layers.size === 0) missing.push("…/basic_lstm_cell/weights (or kernel)");
  if (missing.length) throw new Error(`${manifestPath} has no variable ${missing.join(", ")}`);
  const count = Math.max(...layers.keys()) + 1;
  const ordered = Array.from({ length: count }, (_, k) => {
    const l = layers.get(k);
    if (!l?.kernel || !l.bias) {
      throw new Error(
        `${manifestPath}: layer ${k} (cell_${k}) has no ${
          !l?.kernel ? "weights/kernel" : "biases/bias"
        } variable`,
      );
    }
    return { kernel: l.kernel, bias: l.bias };
  });
  return { embedding: embedding!, layers: ordered, softmaxW: softmaxW!, softmaxB: softmaxB! };
}

const shapeText = (v: Variable) => `[${v.shape.join(", ")}]`;

/**
 * One BasicLSTMCell → IR layer. kernel: [I + H, 4H] with column blocks i, j, f, o; bias: [4H].
 * IR row (gate G, unit u) reads kernel column SOURCE_BLOCK[G]·H + u.
 */
function toLayer(kernel: Variable, bias: Variable, inputSize: number, k: number): IrLstmLayer {
  if (kernel.shape.length !== 2 || kernel.shape[1] % 4 !== 0) {
    throw new Error(`"${kernel.name}" has shape ${shapeText(kernel)}; expected [input + hidden, 4 · hidden]`);
  }
  const H = kernel.shape[1] / 4;
  const I = inputSize;
  if (kernel.shape[0] !== I + H) {
    throw new Error(
      `"${kernel.name}" has shape ${shapeText(kernel)}; expected [${I + H}, ${
        4 * H
      }] (input ${I} + hidden ${H})`,
    );
  }
  if (bias.shape.length !== 1 || bias.shape[0] !== 4 * H) {
    throw new Error(`"${bias.name}" has shape ${shapeText(bias)}; expected [${4 * H}]`);
  }
  const SOURCE_BLOCK = [0, 2, 1, 3]; // IR i, f, g, o ← TensorFlow i, j, f, o (g is TensorFlow's j)
  const w = kernel.data;
  const wIh = new Float32Array(4 * H * I);
  const wHh = new Float32Array(4 * H * H);
  const b = new Float32Array(4 * H);
  for (let gate = 0; gate < 4; gate++) {
    for (let u = 0; u < H; u++) {
      const row = gate * H + u;
      const col = SOURCE_BLOCK[gate] * H + u;
      for (let c = 0; c < I; c++) wIh[row * I + c] = w[c * 4 * H + col];
      for (let c = 0; c < H; c++) wHh[row * H + c] = w[(I + c) * 4 * H + col];
      b[row] = bias.data[col] + (gate === 1 ? TF_FORGET_BIAS : 0);
    }
  }
  return {
    inputSize: I,
    hiddenSize: H,
    wIh: irMatrix(`layers.${k}.w_ih`, 4 * H, I, wIh),
    wHh: irMatrix(`layers.${k}.w_hh`, 4 * H, H, wHh),
    bias: b,
  };
}

/**
 * Imports an ml5 / TensorFlow char-RNN folder. The vocabulary is the folder's `vocab.json` (character →
 * id) unless `options.vocab` replaces it; a broken one (empty or multi-character keys, a key twice, an id
 * twice or missing) is refused with every defect named by id and the advice to pass a corrected one with
 * `--vocab`. The tokenizer is the character tokenizer (`options.tokenizer` may set e.g. lowercase).
 *
 * @example
 * ```ts
 * const ir = await importMl5CharRnn("../shared/data/ml5-charrnn/dubois");
 * ir.vocab.length; // 90
 * ```
 */
export async function importMl5CharRnn(dir: string, options: Ml5ImportOptions = {}): Promise<IrModel> {
  const folder = dir.replace(/\/+$/, "");
  const manifestPath = `${folder}/manifest.json`;
  const vars = await readVariables(folder);
  const roles = assignRoles(vars, manifestPath);
  const { embedding } = roles;
  if (embedding.shape.length !== 2) {
    throw new Error(
      `"${embedding.name}" has shape ${shapeText(embedding)}; expected [vocabulary, embedding]`,
    );
  }
  const [V, E] = embedding.shape;

  const vocabSource = options.vocab ? "the vocabulary given with --vocab" : `${folder}/vocab.json`;
  let vocab: string[];
  let tokenizer;
  try {
    vocab = options.vocab ?? readJsonVocabulary(await readText(vocabSource, "The vocabulary"), vocabSource);
    tokenizer = readTokenizerMetadata(options.tokenizer, vocab, CHARACTER_TOKENIZER);
    checkVocabularyTokens(vocab, tokenizer, vocabSource);
  } catch (e) {
    if (e instanceof SyntaxError) throw new Error(`${vocabSource} is not valid JSON: ${e.message}`);
    if (e instanceof VocabularyError && !options.vocab) {
      throw new Error(
        `${e.message}. Pass a corrected vocabulary with --vocab FILE.json (the same format: ` +
          `{"character": id, …}, or a JSON array of the characters in id order)`,
      );
    }
    throw e;
  }
  if (vocab.length !== V) {
    throw new Error(
      `${vocabSource} has ${vocab.length} tokens but "${embedding.name}" has ${V} rows; they must be equal`,
    );
  }

  let input = E;
  const layers = roles.layers.map(({ kernel, bias }, k) => {
    const layer = toLayer(kernel, bias, input, k);
    input = layer.hiddenSize;
    return layer;
  });
  const { softmaxW, softmaxB } = roles;
  if (softmaxW.shape.length !== 2 || softmaxW.shape[0] !== input || softmaxW.shape[1] !== V) {
    throw new Error(`"${softmaxW.name}" has shape ${shapeText(softmaxW)}; expected [${input}, ${V}]`);
  }
  if (softmaxB.shape.length !== 1 || softmaxB.shape[0] !== V) {
    throw new Error(`"${softmaxB.name}" has shape ${shapeText(softmaxB)}; expected [${V}]`);
  }
  const decoder = new Float32Array(V * input); // (V, H) = softmax_wᵀ
  for (let h = 0; h < input; h++) {
    for (let v = 0; v < V; v++) decoder[v * input + h] = softmaxW.data[h * V + v];
  }
  // Identity of the source: the manifest and every file it names, in manifest order.
  const hash = createHash("sha256").update(await readInput(manifestPath, "The manifest"));
  for (const v of vars.values()) hash.update(new Uint8Array(v.data.buffer));
  return {
    vocab: vocab.slice(),
    unkId: vocab.indexOf("<unk>"),
    eosId: vocab.indexOf("<eos>"),
    tokenizer,
    embedding: irMatrix("embedding", V, E, embedding.data),
    layers,
    decoder: irMatrix("decoder", V, input, decoder),
    decoderBias: softmaxB.data,
    source: { file: folder.replace(/^.*\//, ""), sha256: hash.digest("hex") },
  };
}
