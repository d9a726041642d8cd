/**
 * Every compression method by kind, and what the pipeline needs to report on any encoded matrix: its
 * dense reconstruction (for the relative error) and its stored bytes.
 *
 * A new method: implement `CompressionMethod` in compiler/methods/<method>.ts, add a `MethodSpec` variant
 * in method.ts, register it here, and teach compiler/recipe.ts its `--method` syntax.
 * @module
 */
import type { EncodedMatrix } from "../encoded.ts";
import type { CompressionMethod, MethodSpec } from "./method.ts";
import { storeMethod } from "./store.ts";
import { csrToDense, pruneMethod } from "./prune.ts";
import { blocksToDense } from "./prune_blocks.ts";
import { lowRankMethod, lowRankToDense } from "./lowrank.ts";
import { tensorTrainMethod, tensorTrainToDense } from "./tt.ts";
import { decodeStorage } from "./storage.ts";

/** The methods, by `MethodSpec["kind"]`. */
export const METHODS: { [K in MethodSpec["kind"]]: CompressionMethod<Extract<MethodSpec, { kind: K }>> } = {
  store: storeMethod,
  prune: pruneMethod,
  lowrank: lowRankMethod,
  tt: tensorTrainMethod,
};

/** The method that implements `spec`. */
export function methodFor(spec: MethodSpec): CompressionMethod {
  const method = METHODS[spec.kind] as CompressionMethod | undefined;
  if (!method) throw new Error(`No compression method of kind "${spec.kind}"`);
  return method;
}

/** Dense float32 reconstruction of any encoded matrix (for error reports and tests). */
export function decodeMatrix(e: EncodedMatrix): Float32Array {
  switch (e.encoding.kind) {
    case "dense":
    case "quantized":
      return decodeStorage(e);
    case "csr":
      return csrToDense(e);
    case "blocks":
      return blocksToDense(e);
    case "lowrank":
      return lowRankToDense(e);
    case "tt":
      return tensorTrainToDense(e);
  }
}

/** Bytes of the vectors an encoded matrix stores (data, scales, indices, nested matrices). */
export function encodedBytes(m: EncodedMatrix): number {
  const e = m.encoding;
  switch (e.kind) {
    case "dense":
      return e.data.byteLength;
    case "quantized":
      return e.data.byteLength + e.scales.length * (e.scaleType === "f16" ? 2 : 4);
    case "lowrank":
      return encodedBytes(e.a) + encodedBytes(e.b);
    case "tt":
      return e.cores.reduce((s, c) => s + encodedBytes(c), 0) + 4 * (3 * e.rowModes.length + 1);
    case "csr":
      return e.rowPtr.byteLength + e.colIdx.byteLength + encodedBytes(e.values);
    case "blocks":
      return e.rowPtr.byteLength + e.blockIdx.byteLength + encodedBytes(e.values);
  }
}

/** ‖W − decode(encode(W))‖ / ‖W‖ (‖·‖ Frobenius; the absolute error when W = 0). */
export function relativeError(original: Float32Array, encoded: EncodedMatrix): number {
  const decoded = decodeMatrix(encoded);
  let num = 0;
  let den = 0;
  for (let i = 0; i < decoded.length; i++) {
    num += (original[i] - decoded[i]) ** 2;
    den += original[i] ** 2;
  }
  return den ? Math.sqrt(num / den) : Math.sqrt(num);
}
