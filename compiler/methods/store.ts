/**
 * The "store" method: the matrix as it is, in one storage type (f32, f16, int8 per row, int4 per group).
 * @module
 */
import type { CompressionMethod, MethodSpec } from "./method.ts";
import { describeStorage, encodeLeaf } from "./storage.ts";

/** `--method f32 | f16 | int8 | int4[:gN]`. */
export const storeMethod: CompressionMethod<Extract<MethodSpec, { kind: "store" }>> = {
  kind: "store",
  encode(m, spec) {
    return { encoded: encodeLeaf(m, spec.storage), detail: describeStorage(spec.storage, m.cols) };
  },
};
