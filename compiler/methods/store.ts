/**
 * The "store" method: the matrix as it is, in one storage type (f32, f16, int8 per row, int4 per group).
 * Runs in runtime/operators/store.ts (kernels: runtime/kernels/as/matvec.ts, matmat.ts, gather.ts, f16.ts,
 * quantized.ts, relaxed.ts); format: schema/SPEC.md "Dense", "Quantized".
 * @module
 */
import type { CompressionMethod, MethodSpec } from "./method.ts";
import { describeStorage, encodeStorage } from "./storage.ts";

/** `--method f32 | f16 | int8 | int4[:gN]`. */
export const storeMethod: CompressionMethod<Extract<MethodSpec, { kind: "store" }>> = {
  kind: "store",
  encode(m, spec) {
    return { encoded: encodeStorage(m, spec.storage), detail: describeStorage(spec.storage, m.cols) };
  },
};
