/**
 * Typed access to the WebAssembly SIMD kernels (build/kernels.wasm, built from as/ by build.ts).
 *
 * Memory model: every kernel argument that names an array is a byte offset into the instance's exported
 * `memory`. Bytes below `heapBase` hold the module's static data (math tables); everything from `heapBase`
 * to the end of memory belongs to the caller, who lays out weights, activations and outputs there — the
 * kernels never allocate. Grow the memory with `ensureMemory` before placing data beyond its end.
 *
 * On platforms that cannot compile WASM from bytes at run time (Cloudflare Workers), import the module as
 * a `WebAssembly.Module` and pass it to `instantiateKernels(module)`: that path compiles nothing.
 *
 * Relaxed SIMD: build/kernels_relaxed.wasm (as/relaxed.ts) holds faster int8/int4 products (7-bit/8-bit
 * activations, see its header) and imports this instance's memory. `instantiateKernels` adds it as
 * `relaxed` where the engine validates it; the leaf operators then use it and fall back to the plain
 * products of `exports` where it is absent.
 *
 * @example
 * ```ts
 * const k = await instantiateKernels();
 * const w = k.heapBase, x = w + 6 * 4, y = x + 3 * 4; // W: 2×3 f32, x: 3, y: 2
 * const f32 = new Float32Array(k.memory.buffer);
 * f32.set([1, 2, 3, 4, 5, 6], w / 4); f32.set([1, 0, -1], x / 4); f32.set([0, 0], y / 4);
 * k.exports.matvec_f32(w, 2, 3, x, y); // f32[y / 4] === -2, f32[y / 4 + 1] === -2
 * ```
 * @module
 */

/** The module's exports. Pointers are byte offsets into `memory`; sizes are i32; all products accumulate. */
export interface KernelExports {
  readonly memory: WebAssembly.Memory;
  /** First byte the caller may use (16-byte aligned). */
  heap_base(): number;
  /** W: (rows, cols) f32; x: (cols); y: (rows) += W·x. */
  matvec_f32(w: number, rows: number, cols: number, x: number, y: number): void;
  /**
   * W: (rows, cols) f16 bits; x: (cols) f32; y: (rows) f32 += W·x. With scratch (f16ScratchBytes(cols),
   * or 0) and finite = 1 (W checked by f16_finite) the fast path, which reads W's rows from `copy` where
   * that is not 0 (f16_interleave's copy of W); otherwise the exact one.
   */
  matvec_f16(
    w: number,
    rows: number,
    cols: number,
    x: number,
    y: number,
    scratch: number,
    finite: number,
    copy?: number,
  ): void;
  /** Writes the interleaved copy of W: (rows, cols) f16 that matvec_f16(r) read (f16InterleavedBytes). */
  f16_interleave(w: number, rows: number, cols: number, out: number): void;
  /** W: (rows, cols) f32; X: (n, cols); Y: (n, rows) += X·Wᵀ, i.e. Y[t·rows + r] += W[r]·X[t]. */
  matmat_f32(w: number, rows: number, cols: number, x: number, n: number, y: number): void;
  /**
   * Y (n × rows) = bias (rows f32, every timestep) + X · Wᵀ, Y written without being read; bias 0: none.
   */
  matmat_f32_bias(w: number, rows: number, cols: number, x: number, n: number, y: number, bias: number): void;
  /** As matmat_f32 with W as f16 bits; scratch and finite as matvec_f16. */
  matmat_f16(
    w: number,
    rows: number,
    cols: number,
    x: number,
    n: number,
    y: number,
    scratch: number,
    finite: number,
  ): void;
  /** 1 when none of the `count` halves at w is Inf/NaN (then matvec_f16/matmat_f16 may take finite = 1). */
  f16_finite(w: number, count: number): number;
  /** out: (cols) f32 ← row `row` of W: (·, cols) f32. */
  gather_f32(w: number, cols: number, row: number, out: number): void;
  /** out: (cols) f32 ← row `row` of W: (·, cols) f16 bits. */
  gather_f16(w: number, cols: number, row: number, out: number): void;
  /** gates: (4·hidden) i,f,g,o preactivations; c: (hidden) updated in place; h: (hidden) written. */
  lstm_cell(gates: number, c: number, h: number, hidden: number): void;
  /** x: (n) f32 ← x − logsumexp(x) in place; returns logsumexp(x) (−∞ for n = 0). */
  log_softmax(x: number, n: number): number;
  /** The k largest of x: (n), descending, ties by smaller index: outIdx: (k) i32, outVal: (k) f32. */
  top_k(x: number, n: number, k: number, outIdx: number, outVal: number): void;
  /** W: rows × cols f32, row stride `stride` floats; x: (rows); y: (cols) += xᵀ·W (a weighted sum of rows). */
  vecmat_f32(w: number, rows: number, cols: number, stride: number, x: number, y: number): void;
  /** TT-matrix at desc (layout in as/tt.ts): y (rows) += W·x (cols); work: 2·maxInter floats. */
  tt_matvec_f32(desc: number, x: number, y: number, work: number): void;
  /** TT-matrix at desc: Y (n × rows) += X (n × cols)·Wᵀ; work: 2·maxInter floats. */
  tt_matmat_f32(desc: number, x: number, n: number, y: number, work: number): void;
  /** TT-matrix at desc: out (cols) ← W[row, :]; work: 2·maxInter floats. */
  tt_gather_f32(desc: number, row: number, out: number, work: number): void;
  /**
   * W: (rows, cols) int8 codes; scales: rows·⌈cols/group⌉ f32 (group in 1..cols); x: (cols) f32;
   * y: (rows) += W·x, x quantized to int16 in `scratch` (quantizedScratchBytes(cols)); see as/quantized.ts.
   * `copy`: W as q8_interleave wrote it, or 0 / absent (the rows as stored).
   */
  matvec_q8(
    w: number,
    scales: number,
    rows: number,
    cols: number,
    group: number,
    x: number,
    y: number,
    scratch: number,
    copy?: number,
  ): void;
  /**
   * Writes q8InterleavedBytes(rows, cols, group) bytes at `out`: W's whole blocks of eight rows interleaved
   * per 16 columns, the copy matvec_q8 / matvec_q8r read (nothing where that size is 0).
   */
  q8_interleave(w: number, rows: number, cols: number, group: number, out: number): void;
  /**
   * As matvec_q8 with int4 codes (row stride ⌈cols/2⌉ bytes, element 2k in the low nibble of byte k). `prep`:
   * q4_prepare's table of W, read instead of W for groups of 2..8184 columns (or one per row; the same
   * integer sums, four rows per lane set), or 0 (the rows as stored).
   */
  matvec_q4(
    w: number,
    scales: number,
    rows: number,
    cols: number,
    group: number,
    x: number,
    y: number,
    scratch: number,
    prep?: number,
  ): void;
  /**
   * Once per int4 matrix: writes preparedTableBytes(4, …) bytes at `prep` (the scales in blocks of four row
   * quads, then at q4PrepCodesOffset a copy of the codes `w` in row quads biased by ^ 0x88), read by
   * matvec_q4 and by the relaxed module's matvec_q4r / matmat_q4r (whose `w` is that copy).
   */
  q4_prepare(w: number, scales: number, rows: number, cols: number, group: number, prep: number): void;
  /** As matvec_q8 over a sequence: X: (n, cols); Y: (n, rows) += X·Wᵀ. */
  matmat_q8(
    w: number,
    scales: number,
    rows: number,
    cols: number,
    group: number,
    x: number,
    n: number,
    y: number,
    scratch: number,
  ): void;
  /** As matmat_q8 with int4 codes; `prep` as matvec_q4's (then one matvec over the table per timestep). */
  matmat_q4(
    w: number,
    scales: number,
    rows: number,
    cols: number,
    group: number,
    x: number,
    n: number,
    y: number,
    scratch: number,
    prep?: number,
  ): void;
  /** out: (cols) f32 ← row `row` of an int8 matrix (q · scale). */
  gather_q8(w: number, scales: number, cols: number, group: number, row: number, out: number): void;
  /** out: (cols) f32 ← row `row` of an int4 matrix (q · scale). */
  gather_q4(w: number, scales: number, cols: number, group: number, row: number, out: number): void;
  /**
   * CSR y (rows) += W·x. rowPtr: rows + 1 u32; colIdx: u16 (idxBits 16) or u32 (32); vals: valKind 0 f32,
   * 1 f16, 2 int8, 3 int4, with scales/group (per ⌊k/group⌋ of the non-zeros) for 2 and 3.
   */
  csr_matvec(
    rowPtr: number,
    colIdx: number,
    idxBits: number,
    vals: number,
    valKind: number,
    scales: number,
    group: number,
    rows: number,
    x: number,
    y: number,
  ): void;
  /** CSR Y (n, rows) += X (n, cols)·Wᵀ; arguments as csr_matvec. */
  csr_matmat(
    rowPtr: number,
    colIdx: number,
    idxBits: number,
    vals: number,
    valKind: number,
    scales: number,
    group: number,
    rows: number,
    cols: number,
    x: number,
    n: number,
    y: number,
  ): void;
  /** CSR out (cols) ← row `row` as dense (zeros elsewhere); arguments as csr_matvec. */
  csr_gather(
    rowPtr: number,
    colIdx: number,
    idxBits: number,
    vals: number,
    valKind: number,
    scales: number,
    group: number,
    cols: number,
    row: number,
    out: number,
  ): void;
  /**
   * SparseBlocks y (rows) += W·x. rowPtr: ceil(rows / br) + 1 u32; blockIdx: u16;
   * vals: valKind 0 f32 or 2 int8 (scale of value v: ⌊v/group⌋, group a multiple of br·c), nblocks·br·c;
   * br: 1 or 4 block rows; c: 4, 8 or 16 block columns; scratch: blocksScratchBytes(cols).
   */
  blocks_matvec(
    rowPtr: number,
    blockIdx: number,
    vals: number,
    valKind: number,
    scales: number,
    group: number,
    br: number,
    c: number,
    rows: number,
    cols: number,
    x: number,
    y: number,
    scratch: number,
  ): void;
  /** SparseBlocks Y (n, rows) += X (n, cols)·Wᵀ, one timestep at a time; arguments as blocks_matvec. */
  blocks_matmat(
    rowPtr: number,
    blockIdx: number,
    vals: number,
    valKind: number,
    scales: number,
    group: number,
    br: number,
    c: number,
    rows: number,
    cols: number,
    x: number,
    n: number,
    y: number,
    scratch: number,
  ): void;
  /** SparseBlocks out (cols) ← row `row` as dense (zeros in dropped blocks); arguments as blocks_matvec. */
  blocks_gather(
    rowPtr: number,
    blockIdx: number,
    vals: number,
    valKind: number,
    scales: number,
    group: number,
    br: number,
    c: number,
    cols: number,
    row: number,
    out: number,
  ): void;
}

/**
 * A relaxed matrix × vector product: 1, or 0 having written nothing (x holds Inf/NaN). `copy`: int8's
 * q8_interleave copy of W or 0 (int4 ignores it: its prepared table holds its copy).
 */
type RelaxedMatvec = (
  w: number,
  prep: number,
  rows: number,
  cols: number,
  group: number,
  x: number,
  y: number,
  scratch: number,
  copy?: number,
) => number;
/** A relaxed matrix × matrix product over n timesteps: 1, or 0 having written nothing. */
type RelaxedMatmat = (
  w: number,
  prep: number,
  rows: number,
  cols: number,
  group: number,
  x: number,
  n: number,
  y: number,
  scratch: number,
) => number;

/**
 * The exports of build/kernels_relaxed.wasm (as/relaxed.ts): int8/int4 products with relaxed SIMD's
 * i8 × i7 dot product, on the same memory. Arguments as the plain `matvec_q8` … of {@link KernelExports};
 * each product returns 1, or 0 having written nothing when x holds an Inf or NaN (then run the plain one).
 */
export interface RelaxedKernelExports {
  /**
   * Once per int8 matrix: writes preparedTableBytes(8, …) bytes at `prep` (the offset sums 64 · Σ q per row
   * and group, and the scales, in four-row quads) that `matvec_q8r` / `matmat_q8r` read.
   */
  q8_prepare(w: number, scales: number, rows: number, cols: number, group: number, prep: number): void;
  /** y (rows) += W·x, W int8 prepared at `prep`; x quantized to 7 bits. */
  matvec_q8r: RelaxedMatvec;
  /** Y (n, rows) += X·Wᵀ, W int8 prepared at `prep`; each timestep quantized to 7 bits. */
  matmat_q8r: RelaxedMatmat;
  /** y (rows) += W·x, W int4 (any group but 1 below cols) copied by kernels.wasm's q4_prepare; x to 8 bits. */
  matvec_q4r: RelaxedMatvec;
  /** Y (n, rows) += X·Wᵀ, W int4 (any group but 1 below cols) copied by q4_prepare; each timestep to 8 bits. */
  matmat_q4r: RelaxedMatmat;
  /**
   * How matvec_q4r/matmat_q4r and blocks_matmat_q8r sum: 0 i32 dot products, 1 i16 ones (widened every 32
   * columns for int4, every block for blocks), −1 (the default) by the engine's dot product: i16 where
   * relaxed_dot_flavor() is 65534 (x86 without AVX-VNNI), else i32; returns the mode set (0 or 1). The sums,
   * and so the results, are the same; only speed differs.
   */
  dot_sums(mode: number): number;
  /**
   * The relaxed i8 × i7 dot product on 127 × 255 (out of the i7 range on purpose): 65534 where it is
   * pmaddubsw + pmaddwd (x86 without AVX-VNNI: pair sums saturate), 129540 with vpdpbusd, −508 with Arm's sdot.
   */
  relaxed_dot_flavor(): number;
  /**
   * y (rows) += W·x, W f16 free of Inf/NaN (f16_finite), with fused multiply-adds; scratch:
   * f16ScratchBytes(cols); W's rows read from `copy` where that is not 0 (f16_interleave's copy). 1, or 0
   * having written nothing when x cannot be prepared (|x| ≥ 2^15, Inf/NaN).
   */
  matvec_f16r(
    w: number,
    rows: number,
    cols: number,
    x: number,
    y: number,
    scratch: number,
    copy?: number,
  ): number;
  /**
   * y (rows) += W·x, W a CSR matrix with int8 values in the sliced copy of runtime/operators/csr_slices.ts
   * (`quads`, `slices` its counts); x quantized to 7 bits; scratch: quantizedScratchBytes(cols).
   */
  csr_matvec_q8r(
    sliced: number,
    quads: number,
    slices: number,
    cols: number,
    x: number,
    y: number,
    scratch: number,
  ): number;
  /**
   * tt_matvec_f32 of kernels.wasm with its P = 4 steps (the fast split's) as outer products with fused
   * multiply-adds; `work`: 3 · maxInter floats (the third holds a step's input transposed).
   */
  tt_matvec_f32r(desc: number, x: number, y: number, work: number): void;
  /** log_softmax of kernels.wasm with exp4 as fused multiply-adds (as/relaxed.ts). */
  log_softmax_r(x: number, n: number): number;
  /** tt_matmat_f32 with tt_matvec_f32r per timestep. */
  tt_matmat_f32r(desc: number, x: number, n: number, y: number, work: number): void;
  /**
   * tt_matvec_f32r with core 0's step on its int8 codes (m_0 × n_0·R_1, row-major), the step input's rows
   * quantized to 7 bits: rowScales (m_0 f32) and rowOffsets (m_0 i32, −64 · each row's Σ codes) from
   * runtime/operators/tt.ts. Where that step does not qualify (n_0·R_1 % 16, ∏_{k>0} m_k % 4) or its input holds
   * an Inf or NaN, it runs tt_matvec_f32r over desc's (decoded f32) core 0.
   */
  tt_matvec_q8r(
    desc: number,
    x: number,
    y: number,
    work: number,
    codes: number,
    rowScales: number,
    rowOffsets: number,
  ): void;
  /** tt_matmat_f32r with tt_matvec_q8r per timestep. */
  tt_matmat_q8r(
    desc: number,
    x: number,
    n: number,
    y: number,
    work: number,
    codes: number,
    rowScales: number,
    rowOffsets: number,
  ): void;
  /**
   * Y (n, rows) += X·Wᵀ, W f16 free of Inf/NaN (f16_finite): matmat_f16's fast path with fused multiply-adds;
   * scratch: f16ScratchBytes(cols). 1, or 0 having written nothing when some |x| ≥ 2^15 or x holds an Inf
   * or NaN (then run matmat_f16).
   */
  matmat_f16r(
    w: number,
    rows: number,
    cols: number,
    x: number,
    n: number,
    y: number,
    scratch: number,
  ): number;
  /** matmat_f32 of kernels.wasm with fused multiply-adds (results differ from it by float rounding). */
  matmat_f32r: KernelExports["matmat_f32"];
  /** matmat_f32_bias of kernels.wasm with fused multiply-adds (likewise). */
  matmat_f32_bias_r: KernelExports["matmat_f32_bias"];
  /**
   * Y (n, rows) += X·Wᵀ (n = 1: y += W·x), W a SparseBlocks matrix of 4-row blocks (`c` = 8 or 16
   * columns) with int8 values: blocks_matmat's arguments without valKind and R; each x quantized to 7 bits;
   * scratch: blocksScratchBytes(cols).
   */
  blocks_matmat_q8r(
    rowPtr: number,
    idx: number,
    vals: number,
    scales: number,
    group: number,
    c: number,
    rows: number,
    cols: number,
    x: number,
    n: number,
    y: number,
    scratch: number,
  ): number;
  /** Y (n, rows) += X·Wᵀ, csr_matvec_q8r per timestep. */
  csr_matmat_q8r(
    sliced: number,
    quads: number,
    slices: number,
    rows: number,
    cols: number,
    x: number,
    n: number,
    y: number,
    scratch: number,
  ): number;
}

/** A ready kernel instance. `heapBase` is `exports.heap_base()`, read once. */
export interface KernelInstance {
  memory: WebAssembly.Memory;
  exports: KernelExports;
  heapBase: number;
  /** The relaxed-SIMD products on the same memory, where loaded (see {@link instantiateKernels}). */
  relaxed?: RelaxedKernelExports;
}

/**
 * Where the built module lives, beside this file. (`import.meta.url` can be missing in a bundled worker;
 * importing this module must not throw there, and the URL is only used by `compileKernelModule`.)
 */
export const kernelWasmUrl: URL = new URL("./build/kernels.wasm", import.meta.url ?? "file:///");
/** Where the relaxed-SIMD module lives, beside kernels.wasm. */
export const relaxedWasmUrl: URL = new URL("./build/kernels_relaxed.wasm", import.meta.url ?? "file:///");

const WASM_PAGE = 65536;

// (func (result v128) i32.const 0 i8x16.splat i8x16.popcnt) — valid only where SIMD128 is supported.
const SIMD_PROBE = new Uint8Array([
  0,
  97,
  115,
  109,
  1,
  0,
  0,
  0,
  1,
  5,
  1,
  96,
  0,
  1,
  123,
  3,
  2,
  1,
  0,
  10,
  10,
  1,
  8,
  0,
  65,
  0,
  253,
  15,
  253,
  98,
  11,
]);

/**
 * Whether this engine runs WebAssembly SIMD128, which the kernels require. Where it does not, compiling
 * build/kernels.wasm fails: `instantiateKernels` (and so `LstmModel.load`) rejects with a
 * `WebAssembly.CompileError`. There is no non-SIMD path; the TypeScript references (`*.ref.ts`) are for tests.
 */
export function simdSupported(): boolean {
  try {
    return typeof WebAssembly === "object" && WebAssembly.validate(SIMD_PROBE);
  } catch {
    return false;
  }
}

/**
 * The bytes of build/kernels.wasm (or of `url`): `fetch` (works for file: URLs in Deno and for http(s)
 * in browsers), else `Deno.readFile` when fetch fails and Deno is there.
 */
export async function loadKernelBytes(url: URL = kernelWasmUrl): Promise<BufferSource> {
  try {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    return await response.arrayBuffer();
  } catch (fetchError) {
    const deno = (globalThis as { Deno?: { readFile(path: URL): Promise<Uint8Array<ArrayBuffer>> } }).Deno;
    if (!deno) {
      throw new Error(`Cannot load kernels from ${url.href}: ${(fetchError as Error).message}`);
    }
    return await deno.readFile(url);
  }
}

let compiled: Promise<WebAssembly.Module> | undefined;

/**
 * Compiles build/kernels.wasm (fetched relative to this module; `Deno.readFile` when fetching a `file:` URL
 * fails). The compiled module is cached: later calls return the same `WebAssembly.Module`.
 * Not for Cloudflare Workers, which forbid compiling from bytes: import the `.wasm` there instead.
 */
export function compileKernelModule(): Promise<WebAssembly.Module> {
  compiled ??= loadKernelBytes().then((bytes) => WebAssembly.compile(bytes));
  compiled.catch(() => (compiled = undefined)); // a failed load may be retried
  return compiled;
}

let compiledRelaxed: Promise<WebAssembly.Module | undefined> | undefined;

/**
 * Compiles build/kernels_relaxed.wasm where this engine validates relaxed SIMD (cached, like
 * `compileKernelModule`); resolves to undefined where it does not, or where the file cannot be loaded.
 */
export function compileRelaxedModule(): Promise<WebAssembly.Module | undefined> {
  compiledRelaxed ??= loadKernelBytes(relaxedWasmUrl).then(compileIfValid, () => undefined);
  return compiledRelaxed;
}

/**
 * The module of `bytes`, or undefined where this engine rejects them (no relaxed SIMD): one compile, not a
 * validation and then a compile (decoding the module twice cost a cold start ≈ 0.4 ms).
 */
function compileIfValid(bytes: BufferSource): Promise<WebAssembly.Module | undefined> {
  return WebAssembly.compile(bytes).catch((e) => {
    if (e instanceof WebAssembly.CompileError) return undefined;
    throw e;
  });
}

/**
 * Which relaxed-SIMD module to add: a compiled module (the Workers path) or its bytes (used only if
 * this engine compiles them), `true` for build/kernels_relaxed.wasm where the engine supports it,
 * `false` for none (the plain-SIMD products, int16 activations, everywhere).
 */
export type RelaxedSource = WebAssembly.Module | BufferSource | boolean;

/**
 * Instantiates the kernels from an already compiled module (compiles nothing — the Workers path), from the
 * module's bytes, or, with no argument, from build/kernels.wasm via `compileKernelModule()`.
 * The module needs no imports.
 *
 * `relaxed` adds the relaxed-SIMD products (see {@link RelaxedSource}); by default they are added when
 * `source` is omitted too (build/kernels.wasm and build/kernels_relaxed.wasm, where supported) and not
 * otherwise. Products with them quantize x to 7 bits (int8) or 8 bits (int4) instead of 16: PTB test
 * perplexity +0.015 % (int8) and +0.008 % (int4 g32) on the trained model (kernels README).
 */
export async function instantiateKernels(
  source?: WebAssembly.Module | BufferSource,
  relaxed: RelaxedSource = source === undefined,
): Promise<KernelInstance> {
  // The relaxed module compiles (on V8's background threads) while the plain one is instantiated.
  const relaxedModule = relaxed === true
    ? compileRelaxedModule()
    : relaxed instanceof WebAssembly.Module || relaxed === false
    ? Promise.resolve(relaxed || undefined)
    : compileIfValid(relaxed);
  relaxedModule.catch(() => {}); // awaited below; unobserved if the plain module fails first
  let instance: WebAssembly.Instance;
  if (source instanceof WebAssembly.Module) {
    instance = await WebAssembly.instantiate(source, {});
  } else if (source === undefined) {
    instance = await WebAssembly.instantiate(await compileKernelModule(), {});
  } else {
    instance = (await WebAssembly.instantiate(source, {})).instance;
  }
  const exports = instance.exports as unknown as KernelExports;
  const k: KernelInstance = { memory: exports.memory, exports, heapBase: exports.heap_base() };
  const module = await relaxedModule;
  if (module) {
    const r = await WebAssembly.instantiate(module, { env: { memory: exports.memory } });
    k.relaxed = r.exports as unknown as RelaxedKernelExports;
  }
  return k;
}

/**
 * Grows the kernels' memory so that it is at least `minBytes` long; returns true when it grew.
 *
 * Growing DETACHES every typed-array view on the old `memory.buffer` (their length becomes 0): after this
 * returns true, create views again from `kernels.memory.buffer`. Byte offsets (the kernels' pointers) stay
 * valid. Throws a RangeError when the engine refuses (wasm32 caps memory at 4 GiB; Workers at 128 MB).
 */
export function ensureMemory(kernels: Pick<KernelInstance, "memory">, minBytes: number): boolean {
  const have = kernels.memory.buffer.byteLength;
  if (minBytes <= have) return false;
  kernels.memory.grow(Math.ceil((minBytes - have) / WASM_PAGE));
  return true;
}
