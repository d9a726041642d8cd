/**
 * Storage types for leaf matrices (Dense f32/f16, Quantized int8/int4): the encoding every method ends
 * in, and inside low-rank factors, TT cores and CSR values. Byte layouts: schema/SPEC.md ("Quantized").
 *
 * - f32, f16: `encodeDense` (compiler/encoded.ts).
 * - int8: symmetric, one scale per row by default (scale = max|row| / 127, q = round(x / scale) ∈
 *   [−127, 127]); with `groupSize`, one scale per `groupSize` columns instead.
 * - int4: symmetric, one scale per group of `groupSize` columns (default 32; scale = max|group| / 7,
 *   q ∈ [−7, 7]), two per byte, element 2k of a row in the low nibble of byte k.
 *
 * Rounding is to nearest, halves away from zero, with the scale as stored (float32), so every decoded
 * element is within half a step (scale / 2) of the original. An all-zero group gets scale 0 (q = 0).
 * @module
 */
import type { IrMatrix } from "../ir.ts";
import { encodeDense, type EncodedMatrix, type QuantizedEnc } from "../encoded.ts";
import type { StorageSpec } from "./method.ts";
import { f16BitsToF32, f32ToF16Bits } from "../../runtime/format/f16.ts";

/** int4's default group size (columns per scale). */
export const INT4_DEFAULT_GROUP = 32;

/** The group size a spec stores with: int8 → given or the whole row; int4 → given or 32; floats → 0. */
export function storageGroupSize(storage: StorageSpec, cols: number): number {
  if (storage.type === "int8") return storage.groupSize ?? Math.max(1, cols);
  if (storage.type === "int4") return storage.groupSize ?? INT4_DEFAULT_GROUP;
  return 0;
}

/** Throws unless `storage` is a valid spec (known type, group size a whole number ≥ 1, scales of a quantized type). */
export function checkStorage(storage: StorageSpec): void {
  if (!["f32", "f16", "int8", "int4"].includes(storage.type)) {
    throw new Error(`Unknown storage type "${storage.type}": expected f32, f16, int8 or int4`);
  }
  if (storage.scales !== undefined && (storage.scales !== "f16" || !storage.type.startsWith("int"))) {
    throw new Error(`Scales "${storage.scales}": only int8 and int4 take f16 scales (:s16)`);
  }
  const g = storage.groupSize;
  if (g !== undefined && !(Number.isInteger(g) && g >= 1 && g <= 0xffffffff)) {
    throw new Error(`Group size must be a whole number ≥ 1, got ${g}`);
  }
}

/** "f32", "f16", "int8 per-row", "int8 g64", "int4 g32": a storage spec as reports show it. */
export function describeStorage(storage: StorageSpec, cols?: number): string {
  const s16 = storage.scales === "f16" ? " s16" : "";
  if (storage.type === "int8") {
    const g = storage.groupSize;
    return (g === undefined || (cols !== undefined && g >= cols) ? "int8 per-row" : `int8 g${g}`) + s16;
  }
  if (storage.type === "int4") return `int4 g${storage.groupSize ?? INT4_DEFAULT_GROUP}${s16}`;
  return storage.type;
}

/**
 * Encodes a leaf matrix in a storage type: Dense f32/f16 or Quantized int8/int4.
 *
 * @example
 * ```ts
 * const e = encodeStorage(irMatrix("w", 1, 4, new Float32Array([0.5, -1, 0.25, 1.27])), { type: "int8" });
 * // e.encoding: { kind: "quantized", bits: 8, groupSize: 4, scales: [0.01], data: [50, 156, 25, 127] }
 * ```
 */
export function encodeStorage(m: IrMatrix, storage: StorageSpec): EncodedMatrix {
  checkStorage(storage);
  const n = m.rows * m.cols;
  if (m.data.length !== n) {
    throw new Error(`Matrix "${m.name}": expected ${m.rows}×${m.cols} = ${n} values, found ${m.data.length}`);
  }
  if (storage.type === "f32" || storage.type === "f16") return encodeDense(m, storage.type);
  const bits = storage.type === "int8" ? 8 : 4;
  const qmax = bits === 8 ? 127 : 7;
  const groupSize = storageGroupSize(storage, m.cols);
  const groupsPerRow = Math.ceil(m.cols / groupSize);
  const scales = new Float32Array(m.rows * groupsPerRow);
  const codes = new Int8Array(m.rows * m.cols);
  for (let r = 0; r < m.rows; r++) {
    for (let g = 0; g < groupsPerRow; g++) {
      const c0 = g * groupSize;
      const c1 = Math.min(m.cols, c0 + groupSize);
      let max = 0;
      for (let c = c0; c < c1; c++) {
        const v = m.data[r * m.cols + c];
        if (!Number.isFinite(v)) {
          throw new Error(
            `Matrix "${m.name}": cannot quantize the non-finite value ${v} at row ${r}, column ${c}`,
          );
        }
        max = Math.max(max, Math.abs(v));
      }
      // With f16 scales the codes are rounded against the scale as stored (the nearest binary16 at or above
      // max / qmax, so that no code exceeds qmax).
      const scale = storage.scales === "f16" ? f16ScaleAtLeast(max / qmax) : Math.fround(max / qmax);
      scales[r * groupsPerRow + g] = scale;
      for (let c = c0; c < c1; c++) {
        const v = m.data[r * m.cols + c];
        let q = scale === 0 ? 0 : Math.round(Math.abs(v) / scale);
        if (q > qmax) q = qmax;
        codes[r * m.cols + c] = v < 0 ? -q : q;
      }
    }
  }
  const packed = packQuantized(m.name, m.rows, m.cols, bits, groupSize, codes, scales);
  if (storage.scales === "f16") (packed.encoding as QuantizedEnc).scaleType = "f16";
  return packed;
}

/** The smallest binary16 value ≥ v (v ≥ 0, finite; at most 65504, the largest finite half). */
export function f16ScaleAtLeast(v: number): number {
  if (!(v <= 65504)) {
    throw new Error(
      `a quantization scale of ${v} does not fit float16 scales (at most 65504); use f32 scales`,
    );
  }
  let bits = f32ToF16Bits(v);
  if (f16BitsToF32(bits) < v) bits++; // the next half up (bits of non-negative halves are ordered)
  return f16BitsToF32(bits);
}

/**
 * A Quantized matrix from its codes (rows × cols, row-major, each in [−qmax, qmax]: ±127 for int8, ±7 for
 * int4) and scales (rows × ⌈cols / groupSize⌉): the byte layout of schema/SPEC.md ("Quantized": int8 one
 * byte per code, int4 two per byte, element 2k in the low nibble of byte k, rows padded to whole bytes).
 * encodeStorage packs what it quantized through here; so does the importer for trained parts.
 */
export function packQuantized(
  name: string,
  rows: number,
  cols: number,
  bits: 4 | 8,
  groupSize: number,
  codes: ArrayLike<number>,
  scales: Float32Array,
): EncodedMatrix {
  const qmax = bits === 8 ? 127 : 7;
  const groupsPerRow = Math.ceil(cols / groupSize);
  if (codes.length !== rows * cols || scales.length !== rows * groupsPerRow) {
    throw new Error(
      `Matrix "${name}": ${rows}×${cols} in groups of ${groupSize} needs ${rows * cols} codes and ` +
        `${rows * groupsPerRow} scales, found ${codes.length} and ${scales.length}`,
    );
  }
  const stride = bits === 8 ? cols : Math.ceil(cols / 2);
  const data = new Uint8Array(rows * stride);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const q = codes[r * cols + c];
      if (!(Number.isInteger(q) && q >= -qmax && q <= qmax)) {
        throw new Error(
          `Matrix "${name}": int${bits} code ${q} at row ${r}, column ${c} is outside ±${qmax}`,
        );
      }
      if (bits === 8) data[r * stride + c] = q & 0xff;
      else data[r * stride + (c >> 1)] |= (q & 0xf) << (4 * (c & 1));
    }
  }
  return { name, rows, cols, encoding: { kind: "quantized", bits, groupSize, scales, data } };
}

/**
 * Dense float32 reconstruction of a leaf (Dense or Quantized) encoded matrix, row-major. For error
 * reports and tests; the runtime never does this.
 */
export function decodeStorage(e: EncodedMatrix): Float32Array {
  const enc = e.encoding;
  const out = new Float32Array(e.rows * e.cols);
  if (enc.kind === "dense") {
    const dv = new DataView(enc.data.buffer, enc.data.byteOffset, enc.data.byteLength);
    for (let i = 0; i < out.length; i++) {
      out[i] = enc.type === "f32" ? dv.getFloat32(i * 4, true) : f16BitsToF32(dv.getUint16(i * 2, true));
    }
    return out;
  }
  if (enc.kind !== "quantized") {
    throw new Error(`decodeStorage: "${e.name}" is ${enc.kind}, not a leaf (Dense or Quantized)`);
  }
  const gpr = Math.ceil(e.cols / enc.groupSize);
  const stride = enc.bits === 8 ? e.cols : Math.ceil(e.cols / 2);
  for (let r = 0; r < e.rows; r++) {
    for (let c = 0; c < e.cols; c++) {
      let q: number;
      if (enc.bits === 8) q = (enc.data[r * stride + c] << 24) >> 24;
      else {
        const nib = (enc.data[r * stride + (c >> 1)] >> (4 * (c & 1))) & 0xf;
        q = nib >= 8 ? nib - 16 : nib;
      }
      out[r * e.cols + c] = q * enc.scales[r * gpr + Math.floor(c / enc.groupSize)];
    }
  }
  return out;
}
