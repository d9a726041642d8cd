/**
 * The model engine: a verified `.lem` file in WASM memory, run by the kernels.
 *
 * Memory (one WebAssembly.Memory, sized once at load so views never detach afterwards):
 *   [0, heapBase)          the kernels' own data
 *   file                   the .lem bytes, copied once; kernels read weights in place (no expansion)
 *   state                  h, c of every layer for the token being fed (copied in/out of LstmState)
 *   x, gates               one token's input (max width) and 4·H gate preactivations
 *   seqA, seqB             CHUNK × max width activations for a sequence (ping-pong between layers)
 *   seqGates               CHUNK × 4·max H
 *   logits                 CHUNK × vocab
 *   topk                   indices and values for top-k
 *   biases                 every layer's 4·H bias and the decoder's (zeros when the file has none)
 *   operator scratch       what each matrix's operator asked for (operatorScratchBytes)
 * @module
 */
import { readLem, summarize } from "./format/read.ts";
import { instantiateKernels, type KernelInstance, type RelaxedSource } from "./kernels/kernels.ts";
import { type MatrixOperator, matrixOperator, operatorScratchBytes } from "./operators/matrix_operator.ts";
import { Tokenizer } from "./tokenizer.ts";
import { type NllAccumulator, nllAccumulator } from "./perplexity.ts";
import { PrefixIndex } from "./prefix_index.ts";

/** Tokens processed together by score()/logits(): bounds the logits scratch (CHUNK × vocab floats). */
const CHUNK = 64;
const MAX_TOP_K = 1024;
const PAGE = 65536;

/** Options for {@link LstmModel.load}. */
export interface LoadOptions {
  /**
   * The kernels, already compiled (required where WASM cannot be compiled from bytes at run time, such
   * as Cloudflare Workers), or their bytes. Default: compile `runtime/kernels/build/kernels.wasm`.
   */
  kernels?: WebAssembly.Module | BufferSource;
  /**
   * The relaxed-SIMD kernels (runtime/kernels/build/kernels_relaxed.wasm: faster int8/int4 products that
   * quantize activations to 7/8 bits instead of 16, PTB perplexity +0.015 % int8, +0.008 % int4): a
   * compiled module, its bytes (used where this engine compiles them), `true` for the default
   * file where supported, `false` for none. Default: `true` when `kernels` is omitted, else none.
   */
  relaxedKernels?: RelaxedSource;
}

/** The recurrent state after some tokens: h and c of every layer, and how many tokens were fed. */
export class LstmState {
  /** [h₀ (H₀), c₀ (H₀), h₁ (H₁), c₁ (H₁), …] */
  constructor(readonly data: Float32Array, public tokens = 0) {}
}

/** Shape and provenance of a loaded model. */
export interface ModelInfo {
  /** The model's name (the metadata's, else "model"). */
  name: string;
  /** Tokens in the vocabulary, `<unk>` and `<eos>` included. */
  vocabSize: number;
  /** Width of the embedding (the first layer's input). */
  embeddingSize: number;
  /** The LSTM layers, first to last. */
  layers: { inputSize: number; hiddenSize: number }[];
  /** Bytes of the `.lem` file. */
  fileBytes: number;
  /** Every tensor: shape, encoding as described by runtime/format/read.ts, bytes in the file. */
  tensors: { name: string; rows: number; cols: number; encoding: string; bytes: number }[];
  /** Provenance: the compiler, the source file and its SHA-256, the recipe (JSON). */
  metadata: { name: string; compiler: string; sourceFile: string; sourceSha256: string; recipe: string };
  /** What compile measured, by name (e.g. perplexity_compiled, check_max_abs_logit_diff). */
  metrics: Record<string, number>;
}

interface Layer {
  inputSize: number;
  hiddenSize: number;
  wIh: MatrixOperator;
  wHh: MatrixOperator;
  bias: number; // pointer to 4H f32
  stateOffset: number; // float index of h in LstmState.data (c follows)
}

/** One completion of an unfinished word ({@link LstmModel.complete}). */
export interface Completion {
  /** The vocabulary id. */
  id: number;
  /** The vocabulary entry (starts with the normalized prefix). */
  token: string;
  /** Natural-log probability of the token as the next one, under the model. */
  logProb: number;
  /** The same, renormalized among the vocabulary entries that match the prefix (all of them, not only the k shown). */
  prefixLogProb: number;
}

/** One ranked candidate ({@link LstmModel.rank}). */
export interface RankedCandidate {
  /** Position in the candidates given. */
  index: number;
  /** Sum of the natural-log probabilities of the candidate's tokens, each after the context and the ones before. */
  logProb: number;
  /** Tokens in the candidate. */
  tokens: number;
}

/** A loaded language model. Single-threaded; one instance serves any number of states. */
export class LstmModel {
  /** Text to token ids by the model's own rules and vocabulary. */
  readonly tokenizer: Tokenizer;
  /** Shape and provenance. */
  readonly info: ModelInfo;
  /**
   * LSTM steps run since load: tokens advanced through every layer, by feed, logits, score and rank (for
   * tests and monitoring: what a request cost, independent of timing).
   */
  stepsRun = 0;
  #prefixIndex?: PrefixIndex;
  readonly #k: KernelInstance;
  /** log_softmax: the relaxed module's (fused multiply-adds in its exp) where loaded. */
  readonly #logSoftmax: (x: number, n: number) => number;
  readonly #layers: Layer[];
  readonly #embedding: MatrixOperator;
  readonly #decoder: MatrixOperator;
  readonly #decoderBias: number;
  readonly #stateFloats: number;
  readonly #ptr: Record<
    "state" | "x" | "gates" | "seqA" | "seqB" | "seqGates" | "logits" | "topIdx" | "topVal",
    number
  >;
  readonly #f32: Float32Array;

  private constructor(bytes: Uint8Array, k: KernelInstance) {
    this.#k = k;
    this.#logSoftmax = k.relaxed?.log_softmax_r ?? k.exports.log_softmax;
    // Copy the file to a 16-byte aligned address and verify the copy — verified once, and what runs is
    // what was verified — then lay out the working memory after it.
    const align = (n: number) => (n + 15) & ~15;
    const fileBase = align(k.heapBase);
    let end = align(fileBase + bytes.length);
    const alloc = (floats: number) => {
      const p = end;
      end = align(end + floats * 4);
      return p;
    };
    const growTo = (bytesNeeded: number) => {
      const pages = Math.ceil(bytesNeeded / PAGE) - k.memory.buffer.byteLength / PAGE;
      if (pages > 0) k.memory.grow(pages);
    };
    growTo(end);
    new Uint8Array(k.memory.buffer, fileBase, bytes.length).set(bytes);
    // Its matrix offsets are WASM pointers. Its float vectors are views of memory that the second grow
    // below detaches: take copies of the biases (and the summary) first.
    const file = readLem(new Uint8Array(k.memory.buffer, fileBase, bytes.length));
    const decoderBias = file.decoderBias.slice();
    const biases = file.layers.map((l) => l.bias.slice());
    const summary = summarize(file);
    const vocabSize = file.vocab.length;
    const embeddingSize = file.embedding.cols;
    const shapes = file.layers.map((l) => ({ inputSize: l.inputSize, hiddenSize: l.hiddenSize }));
    const maxWidth = Math.max(embeddingSize, ...shapes.map((l) => l.hiddenSize));
    const maxHidden = Math.max(...shapes.map((l) => l.hiddenSize));
    const stateFloats = shapes.reduce((s, l) => s + 2 * l.hiddenSize, 0);
    this.#ptr = {
      state: alloc(stateFloats),
      x: alloc(maxWidth),
      gates: alloc(4 * maxHidden),
      seqA: alloc(CHUNK * maxWidth),
      seqB: alloc(CHUNK * maxWidth),
      seqGates: alloc(CHUNK * 4 * maxHidden),
      logits: alloc(CHUNK * vocabSize),
      topIdx: alloc(MAX_TOP_K),
      topVal: alloc(MAX_TOP_K),
    };
    const layerBias = shapes.map((l) => alloc(4 * l.hiddenSize));
    this.#decoderBias = alloc(vocabSize);
    const scratchFor = (m: Parameters<typeof operatorScratchBytes>[0], use = {}) =>
      alloc(Math.ceil(operatorScratchBytes(m, k, use) / 4));
    const EMBEDDING_USE = { gathers: true }; // the only matrix whose rows are gathered
    const scratch = {
      embedding: scratchFor(file.embedding, EMBEDDING_USE),
      decoder: scratchFor(file.decoder),
      layers: file.layers.map((l) => ({ wIh: scratchFor(l.wIh), wHh: scratchFor(l.wHh) })),
    };
    growTo(end);
    const f32 = this.#f32 = new Float32Array(k.memory.buffer);
    f32.set(decoderBias, this.#decoderBias >> 2);

    this.tokenizer = new Tokenizer(file.vocab, file.unkId, file.eosId, file.tokenizer, file.vocabIndex);
    this.#embedding = matrixOperator(file.embedding, k, scratch.embedding, EMBEDDING_USE);
    this.#decoder = matrixOperator(file.decoder, k, scratch.decoder);
    let stateOffset = 0;
    this.#layers = file.layers.map((l, i) => {
      f32.set(biases[i], layerBias[i] >> 2);
      const layer = {
        inputSize: l.inputSize,
        hiddenSize: l.hiddenSize,
        wIh: matrixOperator(l.wIh, k, scratch.layers[i].wIh),
        wHh: matrixOperator(l.wHh, k, scratch.layers[i].wHh),
        bias: layerBias[i],
        stateOffset,
      };
      stateOffset += 2 * l.hiddenSize;
      return layer;
    });
    this.#stateFloats = stateFloats;
    const { metrics, ...metadata } = file.metadata;
    this.info = {
      name: metadata.name,
      vocabSize,
      embeddingSize,
      layers: shapes,
      fileBytes: bytes.length,
      tensors: summary.tensors.map((t) => ({
        name: t.name,
        rows: t.shape[0],
        cols: t.shape[1],
        encoding: t.encoding,
        bytes: t.bytes,
      })),
      metadata,
      metrics: Object.fromEntries(metrics.map((m) => [m.name, m.value])),
    };
  }

  /**
   * Verifies and loads a `.lem` file.
   *
   * @example
   * ```ts
   * const model = await LstmModel.load(await Deno.readFile("models/ptb-small.lem"));
   * const state = model.createState();
   * model.feed(state, model.tokenizer.encode("the stock", { endWithEos: false }).ids);
   * model.topK(state, 5); // [{ id, token, logProb }, …]
   * ```
   */
  static async load(bytes: Uint8Array, options: LoadOptions = {}): Promise<LstmModel> {
    const k = await instantiateKernels(options.kernels, options.relaxedKernels);
    return new LstmModel(bytes, k);
  }

  /** A zero state (nothing fed yet). */
  createState(): LstmState {
    return new LstmState(new Float32Array(this.#stateFloats));
  }

  /** An independent copy of a state. */
  copyState(state: LstmState): LstmState {
    return new LstmState(state.data.slice(), state.tokens);
  }

  /** Number of floats in a state (for serializing it). */
  get stateSize(): number {
    return this.#stateFloats;
  }

  #checkIds(ids: readonly number[]) {
    const v = this.info.vocabSize;
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= v) {
        throw new RangeError(`Token id ${id} is outside 0..${v - 1}`);
      }
    }
  }

  #checkState(state: LstmState) {
    if (state.data.length !== this.#stateFloats) {
      throw new RangeError(`State has ${state.data.length} floats; this model's has ${this.#stateFloats}`);
    }
  }

  /** Advances `state` by the given tokens, one at a time. */
  feed(state: LstmState, ids: number | readonly number[]): void {
    const list = typeof ids === "number" ? [ids] : ids;
    this.#checkIds(list);
    this.#checkState(state);
    const f32 = this.#f32;
    const p = this.#ptr;
    f32.set(state.data, p.state >> 2);
    for (const id of list) {
      this.#embedding.gatherRow(id, p.x);
      let x = p.x;
      for (const layer of this.#layers) {
        const h = p.state + layer.stateOffset * 4;
        const c = h + layer.hiddenSize * 4;
        f32.copyWithin(p.gates >> 2, layer.bias >> 2, (layer.bias >> 2) + 4 * layer.hiddenSize);
        layer.wIh.matvec(x, p.gates);
        layer.wHh.matvec(h, p.gates);
        this.#k.exports.lstm_cell(p.gates, c, h, layer.hiddenSize);
        x = h;
      }
    }
    this.stepsRun += list.length;
    state.data.set(f32.subarray(p.state >> 2, (p.state >> 2) + this.#stateFloats));
    state.tokens += list.length;
  }

  /** Log-probabilities (natural log) of every vocabulary entry as the next token after `state`. */
  logProbs(state: LstmState): Float32Array {
    this.#checkState(state);
    this.#nextLogProbs(state);
    const p = this.#ptr.logits >> 2;
    return this.#f32.slice(p, p + this.info.vocabSize);
  }

  #nextLogProbs(state: LstmState) {
    const f32 = this.#f32;
    const p = this.#ptr;
    const last = this.#layers[this.#layers.length - 1];
    f32.set(state.data.subarray(last.stateOffset, last.stateOffset + last.hiddenSize), p.x >> 2);
    this.#fillBias(p.logits, 1);
    this.#decoder.matvec(p.x, p.logits);
    this.#logSoftmax(p.logits, this.info.vocabSize);
  }

  /**
   * The k most likely next tokens after `state`, most likely first (ties: smaller id first).
   * `exclude` ids are never offered (for example `<unk>` and `<eos>`).
   */
  topK(
    state: LstmState,
    k: number,
    exclude: readonly number[] = [],
  ): { id: number; token: string; logProb: number }[] {
    const v = this.info.vocabSize;
    if (!Number.isInteger(k) || k < 1 || k > Math.min(MAX_TOP_K, v)) {
      throw new RangeError(`k must be a whole number from 1 to ${Math.min(MAX_TOP_K, v)}, got ${k}`);
    }
    this.#checkState(state);
    this.#nextLogProbs(state);
    const p = this.#ptr;
    for (const id of exclude) if (id >= 0 && id < v) this.#f32[(p.logits >> 2) + id] = -Infinity;
    const kk = Math.min(k + exclude.length, v);
    this.#k.exports.top_k(p.logits, v, kk, p.topIdx, p.topVal);
    const idx = new Int32Array(this.#k.memory.buffer, p.topIdx, kk);
    const val = new Float32Array(this.#k.memory.buffer, p.topVal, kk);
    const out = [];
    for (let i = 0; i < kk && out.length < k; i++) {
      if (val[i] === -Infinity) continue;
      out.push({ id: idx[i], token: this.tokenizer.vocab[idx[i]], logProb: val[i] });
    }
    return out;
  }

  /**
   * Word completion: the `k` most likely vocabulary entries that start with the unfinished word `prefix`
   * as the next token after `state`, over the whole vocabulary, most likely first (ties: smaller id
   * first). The prefix is normalized as the tokenizer normalizes a word ({@link Tokenizer.completionPrefixes}:
   * as written, lowercased by the rules, a number → the number token). `matches` counts every entry that
   * matches (excluded ones aside); `prefixLogProb` is renormalized among all of them. The index of
   * prefixes is built once, on the first completion (sorting the vocabulary: 2.2 ms for PTB's 10 000
   * words in one run of runtime/completion.bench.ts), so a model that never completes does not pay for it
   * at load; after that a completion costs the decoder plus O(log V + matches), whatever k is.
   *
   * @example
   * ```ts
   * model.complete(state, "mar", 5, [model.tokenizer.unkId]); // { matches: 31, completions: [{ token: "market", … }, …] }
   * ```
   */
  complete(
    state: LstmState,
    prefix: string,
    k: number,
    exclude: readonly number[] = [],
  ): { matches: number; completions: Completion[] } {
    if (!Number.isInteger(k) || k < 1) throw new RangeError(`k must be a whole number ≥ 1, got ${k}`);
    this.#checkState(state);
    this.#prefixIndex ??= new PrefixIndex(this.tokenizer.vocab);
    const { starts, whole } = this.tokenizer.completionPrefixes(prefix);
    const excluded = new Set(exclude);
    const ids = new Set<number>();
    for (const s of starts) {
      for (const id of this.#prefixIndex.matching(s)) if (!excluded.has(id)) ids.add(id);
    }
    for (const token of whole) {
      const id = this.tokenizer.idOf(token);
      if (id >= 0 && !excluded.has(id)) ids.add(id);
    }
    if (ids.size === 0) return { matches: 0, completions: [] };
    this.#nextLogProbs(state);
    const logits = this.#f32.subarray(this.#ptr.logits >> 2, (this.#ptr.logits >> 2) + this.info.vocabSize);
    const matched = Int32Array.from(ids);
    let max = -Infinity;
    for (const id of matched) max = Math.max(max, logits[id]);
    let sum = 0;
    for (const id of matched) sum += Math.exp(logits[id] - max);
    const logMass = max + Math.log(sum);
    matched.sort((a, b) => logits[b] - logits[a] || a - b);
    const completions = Array.from(matched.subarray(0, k), (id) => ({
      id,
      token: this.tokenizer.vocab[id],
      logProb: logits[id],
      prefixLogProb: logits[id] - logMass,
    }));
    return { matches: matched.length, completions };
  }

  /**
   * Candidate ranking: each of `candidates` (token ids) continues from `state` — the shared context, run
   * once by whoever made the state — and is scored by the sum of its tokens' log-probabilities, each given
   * the context and the candidate's tokens before it. Costs one decoder pass for the context's next-token
   * distribution, then n − 1 LSTM steps for a candidate of n tokens ({@link stepsRun} counts them); `state`
   * is not changed. Answers in the candidates' order; an empty candidate scores 0.
   */
  rank(state: LstmState, candidates: readonly (readonly number[])[]): RankedCandidate[] {
    this.#checkState(state);
    for (const c of candidates) this.#checkIds(c);
    const v = this.info.vocabSize;
    this.#nextLogProbs(state);
    const first = this.#f32.slice(this.#ptr.logits >> 2, (this.#ptr.logits >> 2) + v);
    return candidates.map((ids, index) => {
      if (ids.length === 0) return { index, logProb: 0, tokens: 0 };
      let logProb = first[ids[0]];
      const s = this.copyState(state);
      for (let at = 0; at < ids.length - 1; at += CHUNK) {
        const chunk = ids.slice(at, Math.min(at + CHUNK, ids.length - 1));
        this.#runChunk(s, chunk);
        for (let t = 0; t < chunk.length; t++) {
          const row = this.#ptr.logits + t * v * 4;
          this.#logSoftmax(row, v);
          logProb += this.#f32[(row >> 2) + ids[at + t + 1]];
        }
      }
      return { index, logProb, tokens: ids.length };
    });
  }

  #fillBias(ptr: number, rows: number) {
    const v = this.info.vocabSize;
    const f32 = this.#f32;
    const bias = this.#decoderBias >> 2;
    for (let t = 0; t < rows; t++) f32.copyWithin((ptr >> 2) + t * v, bias, bias + v);
  }

  /**
   * Runs a chunk of ≤ CHUNK tokens from `state` (advanced in place) and leaves the decoder's raw logits,
   * (n × vocab), at the logits scratch.
   */
  #runChunk(state: LstmState, ids: readonly number[]) {
    const n = ids.length;
    const f32 = this.#f32;
    const p = this.#ptr;
    const ex = this.#k.exports;
    f32.set(state.data, p.state >> 2);
    const e = this.info.embeddingSize;
    ids.forEach((id, t) => this.#embedding.gatherRow(id, p.seqA + t * e * 4));
    let x = p.seqA;
    let y = p.seqB;
    for (const layer of this.#layers) {
      const hs = layer.hiddenSize;
      const g = 4 * hs;
      for (let t = 0; t < n; t++) {
        f32.copyWithin((p.seqGates >> 2) + t * g, layer.bias >> 2, (layer.bias >> 2) + g);
      }
      layer.wIh.matmat(x, n, p.seqGates); // (n × 4H) += X (n × I) · W_ihᵀ
      const h = p.state + layer.stateOffset * 4;
      const c = h + hs * 4;
      for (let t = 0; t < n; t++) {
        const gt = p.seqGates + t * g * 4;
        layer.wHh.matvec(h, gt);
        ex.lstm_cell(gt, c, h, hs);
        f32.copyWithin((y >> 2) + t * hs, h >> 2, (h >> 2) + hs);
      }
      [x, y] = [y, x];
    }
    const decoder = this.#decoder;
    if (decoder.matmatBias) decoder.matmatBias(x, n, p.logits, this.#decoderBias);
    else {
      this.#fillBias(p.logits, n);
      decoder.matmat(x, n, p.logits);
    }
    this.stepsRun += n;
    state.data.set(f32.subarray(p.state >> 2, (p.state >> 2) + this.#stateFloats));
    state.tokens += n;
  }

  /**
   * Raw logits (T × vocab, row-major) after each of `ids`, from `state` (zero when absent; advanced in
   * place when given). Logit row t is the distribution of the token after ids[t].
   */
  logits(ids: readonly number[], state: LstmState = this.createState()): Float32Array {
    this.#checkIds(ids);
    this.#checkState(state);
    const v = this.info.vocabSize;
    const out = new Float32Array(ids.length * v);
    for (let s = 0; s < ids.length; s += CHUNK) {
      const chunk = ids.slice(s, s + CHUNK);
      this.#runChunk(state, chunk);
      out.set(this.#f32.subarray(this.#ptr.logits >> 2, (this.#ptr.logits >> 2) + chunk.length * v), s * v);
    }
    return out;
  }

  /**
   * Scores `ids` by the project's convention: zero initial state, every token after the first scored.
   */
  score(
    ids: readonly number[],
    options: { state?: LstmState; onProgress?: (done: number, total: number) => void } = {},
  ): NllAccumulator {
    this.#checkIds(ids);
    const state = options.state ?? this.createState();
    this.#checkState(state);
    const acc = nllAccumulator();
    const v = this.info.vocabSize;
    const total = ids.length - 1;
    for (let s = 0; s < total; s += CHUNK) {
      const chunk = ids.slice(s, Math.min(s + CHUNK, total));
      this.#runChunk(state, chunk);
      for (let t = 0; t < chunk.length; t++) {
        const row = this.#ptr.logits + t * v * 4;
        const logSumExp = this.#logSoftmax(row, v);
        acc.addLogProb(this.#f32[(row >> 2) + ids[s + t + 1]]);
        void logSumExp;
      }
      options.onProgress?.(s + chunk.length, total);
    }
    return acc;
  }
}
