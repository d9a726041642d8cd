// Entry point of kernels.wasm: the exported ABI, nothing else. All pointers are byte offsets into the
// exported `memory`; f32 little-endian; f16 weights are raw IEEE binary16 bits; sizes are i32.
// Build: deno task build:kernels (runtime/kernels/build.ts) → runtime/kernels/build/kernels.wasm.

export { f16_interleave, matvec_f16, matvec_f32 } from "./matvec";
export { matmat_f16, matmat_f32, matmat_f32_bias } from "./matmat";
export { gather_f16, gather_f32 } from "./gather";
export { f16_finite } from "./f16";
export { lstm_cell } from "./lstm_cell";
export { log_softmax } from "./log_softmax";
export { top_k } from "./top_k";
export { vecmat_f32 } from "./vecmat";
export { tt_gather_f32, tt_matmat_f32, tt_matvec_f32 } from "./tt";
export { gather_q4, gather_q8, matmat_q4, matmat_q8, matvec_q4, matvec_q8, q8_interleave } from "./quantized";
export { q4_prepare } from "./prepared";
export { csr_gather, csr_matmat, csr_matvec } from "./csr";
export { blocks_gather, blocks_matmat, blocks_matvec } from "./blocks";

/**
 * First byte JS may use for its own data, rounded up to 16 bytes. Below it: the module's static data
 * (math tables). The kernels never allocate, so everything from here to the end of memory belongs to JS.
 */
export function heap_base(): usize {
  return (__heap_base + 15) & ~(<usize>15);
}
