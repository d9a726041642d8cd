/**
 * Decoding ONNX protobuf messages (via the `onnx-proto` package) and turning TensorProtos into typed arrays.
 *
 * Floating-point tensors (float32, float16, bfloat16, float64) become `Float32Array` / `Float64Array`
 * (half and bfloat16 are widened exactly to float32, `dtype` keeps the stored type); integer tensors keep
 * their width (`Int32Array`, `BigInt64Array`, …). Both ways ONNX stores data are read: `raw_data`
 * (little-endian bytes) and the typed `*_data` fields. Tensors whose data lives in an external file are
 * rejected with an error that says how to re-save the model.
 * @module
 */

import onnxProto from "onnx-proto";
import type { onnx } from "onnx-proto";
import { f16BitsToF32 } from "../../runtime/format/f16.ts";
import { LITTLE_ENDIAN } from "../../runtime/format/constants.ts";

export type ModelProto = onnx.IModelProto;
export type GraphProto = onnx.IGraphProto;
export type NodeProto = onnx.INodeProto;
export type TensorProto = onnx.ITensorProto;
export type AttributeProto = onnx.IAttributeProto;
export type ValueInfoProto = onnx.IValueInfoProto;

/** Element types the importer reads (ONNX TensorProto.DataType names, lower-case). */
export type DType =
  | "float32"
  | "float16"
  | "bfloat16"
  | "float64"
  | "int8"
  | "uint8"
  | "int16"
  | "uint16"
  | "int32"
  | "uint32"
  | "int64"
  | "uint64"
  | "bool";

/** The typed array behind a tensor: float32/float16/bfloat16 → Float32Array, int64 → BigInt64Array, … */
export type TensorData =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

/** A decoded tensor: row-major data with explicit dims (`[]` for a scalar). */
export interface Tensor {
  name: string;
  dtype: DType;
  dims: number[];
  data: TensorData;
}

/** ONNX TensorProto.DataType codes → our names (codes we cannot read are absent). */
export const DATA_TYPES: Readonly<Record<number, DType>> = {
  1: "float32",
  2: "uint8",
  3: "int8",
  4: "uint16",
  5: "int16",
  6: "int32",
  7: "int64",
  9: "bool",
  10: "float16",
  11: "float64",
  12: "uint32",
  13: "uint64",
  16: "bfloat16",
};

const DATA_TYPE_NAMES: Readonly<Record<number, string>> = {
  0: "UNDEFINED",
  8: "STRING",
  14: "COMPLEX64",
  15: "COMPLEX128",
  17: "FLOAT8E4M3FN",
  18: "FLOAT8E4M3FNUZ",
  19: "FLOAT8E5M2",
  20: "FLOAT8E5M2FNUZ",
  21: "UINT4",
  22: "INT4",
  23: "FLOAT4E2M1",
};

/**
 * Converts a protobuf int64 (a `Long`, a number or a bigint) to a JS number. Values beyond ±(2^53 − 1) are
 * clamped to it: they only occur as "infinity" sentinels (Slice ends of INT64_MAX), where that is exact
 * enough.
 */
export function toNumber(value: unknown): number {
  if (typeof value === "number") return value;
  if (typeof value === "bigint") return clampedNumber(value);
  if (value && typeof value === "object" && "low" in value && "high" in value) {
    return clampedNumber(toBigInt(value));
  }
  if (value === null || value === undefined) return 0;
  throw new Error(`Expected an integer, found ${typeof value}`);
}

/** Converts a protobuf int64 (a `Long`, a number or a bigint) to a signed 64-bit bigint. */
export function toBigInt(value: unknown): bigint {
  if (typeof value === "bigint") return value;
  if (typeof value === "number") return BigInt(value);
  if (value && typeof value === "object" && "low" in value && "high" in value) {
    const { low, high, unsigned } = value as { low: number; high: number; unsigned?: boolean };
    const bits = (BigInt(high >>> 0) << 32n) | BigInt(low >>> 0);
    return unsigned ? bits : BigInt.asIntN(64, bits);
  }
  if (value === null || value === undefined) return 0n;
  throw new Error(`Expected an integer, found ${typeof value}`);
}

function clampedNumber(v: bigint): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) return Number.MAX_SAFE_INTEGER;
  if (v < BigInt(Number.MIN_SAFE_INTEGER)) return Number.MIN_SAFE_INTEGER;
  return Number(v);
}

/**
 * Decodes an ONNX model file.
 *
 * @example
 * ```ts
 * const model = decodeModel(Deno.readFileSync("model.onnx"));
 * console.log(model.graph?.node?.length);
 * ```
 */
export function decodeModel(bytes: Uint8Array): ModelProto {
  let model: ModelProto;
  try {
    model = onnxProto.onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new Error(`Not an ONNX model: protobuf decoding failed (${(e as Error).message})`);
  }
  if (!model.graph) throw new Error("Not an ONNX model: the ModelProto has no graph");
  return model;
}

/**
 * Decodes a serialized TensorProto (an ONNX test's `input_0.pb`, `output_0.pb`, …) into a tensor.
 *
 * @example
 * ```ts
 * const x = readTensorProto(Deno.readFileSync("test_data_set_0/input_0.pb"));
 * x.dims; // [1, 3, 2]
 * ```
 */
export function readTensorProto(bytes: Uint8Array): Tensor {
  let proto: TensorProto;
  try {
    proto = onnxProto.onnx.TensorProto.decode(bytes);
  } catch (e) {
    throw new Error(`Not a TensorProto: protobuf decoding failed (${(e as Error).message})`);
  }
  return tensorFromProto(proto);
}

/** Encodes a model (tests build small graphs by hand and feed the bytes to the importer). */
export function encodeModel(model: ModelProto): Uint8Array {
  return onnxProto.onnx.ModelProto.encode(model).finish();
}

/**
 * Reads a TensorProto's data into a typed array.
 *
 * `what` names the tensor in error messages (defaults to `Tensor "<name>"`).
 */
export function tensorFromProto(proto: TensorProto, what?: string): Tensor {
  const name = proto.name ?? "";
  const label = what ?? `Tensor "${name}"`;
  const code = proto.dataType ?? 0;
  const dtype = DATA_TYPES[code];
  if (!dtype) {
    throw new Error(
      `${label}: element type ${DATA_TYPE_NAMES[code] ?? code} is not supported ` +
        `(expected a float, float16, bfloat16, double or integer tensor)`,
    );
  }
  if (proto.dataLocation === 1 || (proto.externalData?.length ?? 0) > 0) {
    const location = proto.externalData?.find((e) => e.key === "location")?.value ?? "?";
    throw new Error(
      `${label}: its data is stored in an external file ("${location}"), which the importer does not read; ` +
        `re-save the model with the weights inside it: ` +
        `onnx.save(onnx.load(path), out_path, save_as_external_data=False)`,
    );
  }
  if (proto.segment) throw new Error(`${label}: segmented tensors are not supported`);
  const dims = (proto.dims ?? []).map((d) => toNumber(d));
  if (dims.some((d) => d < 0)) throw new Error(`${label}: negative dimension in [${dims.join(", ")}]`);
  const count = dims.reduce((a, b) => a * b, 1);
  const raw = proto.rawData;
  const data = raw && raw.length > 0 ? fromRaw(dtype, raw, label) : fromTypedFields(dtype, proto, label);
  if (data.length !== count) {
    throw new Error(
      `${label}: dims [${dims.join(", ")}] need ${count} values, found ${data.length}` +
        (raw && raw.length > 0 ? ` (${raw.length} bytes of raw_data)` : ""),
    );
  }
  return { name, dtype, dims, data };
}

/** raw_data: the values' little-endian bytes back to back. */
function fromRaw(dtype: DType, raw: Uint8Array, label: string): TensorData {
  const size = BYTES[dtype];
  if (raw.length % size !== 0) {
    throw new Error(`${label}: raw_data has ${raw.length} bytes, not a multiple of ${size} (${dtype})`);
  }
  const n = raw.length / size;
  // Copy into a fresh, aligned buffer (raw_data is a view at an arbitrary offset into the file).
  // (Not raw.slice(): protobufjs may hand out a Node Buffer, whose slice() is a view, not a copy.)
  const bytes = new Uint8Array(raw.length);
  bytes.set(raw);
  const view = new DataView(bytes.buffer);
  switch (dtype) {
    case "float32":
      return LITTLE_ENDIAN ? new Float32Array(bytes.buffer) : mapView(n, (i) => view.getFloat32(4 * i, true));
    case "float64": {
      if (LITTLE_ENDIAN) return new Float64Array(bytes.buffer);
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getFloat64(8 * i, true);
      return out;
    }
    case "float16":
      return mapView(n, (i) => f16BitsToF32(view.getUint16(2 * i, true)));
    case "bfloat16":
      return mapView(n, (i) => bf16BitsToF32(view.getUint16(2 * i, true)));
    case "int8":
      return new Int8Array(bytes.buffer);
    case "uint8":
    case "bool":
      return bytes;
    case "int16": {
      const out = new Int16Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getInt16(2 * i, true);
      return out;
    }
    case "uint16": {
      const out = new Uint16Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getUint16(2 * i, true);
      return out;
    }
    case "int32": {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getInt32(4 * i, true);
      return out;
    }
    case "uint32": {
      const out = new Uint32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getUint32(4 * i, true);
      return out;
    }
    case "int64": {
      const out = new BigInt64Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getBigInt64(8 * i, true);
      return out;
    }
    case "uint64": {
      const out = new BigUint64Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getBigUint64(8 * i, true);
      return out;
    }
  }
}

/**
 * The typed fields: float_data (float), int32_data (int32 and every narrower type, float16/bfloat16 as bit
 * patterns, bool), int64_data (int64), double_data (double), uint64_data (uint32, uint64).
 */
function fromTypedFields(dtype: DType, proto: TensorProto, label: string): TensorData {
  const ints = proto.int32Data ?? [];
  switch (dtype) {
    case "float32":
      return Float32Array.from(proto.floatData ?? []);
    case "float64":
      return Float64Array.from(proto.doubleData ?? []);
    case "float16":
      return Float32Array.from(ints, (b) => f16BitsToF32(b & 0xffff));
    case "bfloat16":
      return Float32Array.from(ints, (b) => bf16BitsToF32(b & 0xffff));
    case "int8":
      return Int8Array.from(ints);
    case "uint8":
    case "bool":
      return Uint8Array.from(ints);
    case "int16":
      return Int16Array.from(ints);
    case "uint16":
      return Uint16Array.from(ints);
    case "int32":
      return Int32Array.from(ints);
    case "uint32":
      return Uint32Array.from(proto.uint64Data ?? [], (v) => toNumber(v));
    case "int64":
      return BigInt64Array.from(proto.int64Data ?? [], (v) => toBigInt(v));
    case "uint64":
      return BigUint64Array.from(proto.uint64Data ?? [], (v) => BigInt.asUintN(64, toBigInt(v)));
    default:
      throw new Error(`${label}: cannot read ${dtype} data`);
  }
}

const BYTES: Readonly<Record<DType, number>> = {
  float32: 4,
  float16: 2,
  bfloat16: 2,
  float64: 8,
  int8: 1,
  uint8: 1,
  bool: 1,
  int16: 2,
  uint16: 2,
  int32: 4,
  uint32: 4,
  int64: 8,
  uint64: 8,
};

function mapView(n: number, get: (i: number) => number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = get(i);
  return out;
}

/** bfloat16 is the top half of a float32. */
function bf16BitsToF32(bits: number): number {
  const u = new Uint32Array([bits << 16]);
  return new Float32Array(u.buffer)[0];
}

/** True for float32/float16/bfloat16/float64 tensors. */
export function isFloat(t: Tensor): boolean {
  return t.dtype === "float32" || t.dtype === "float16" || t.dtype === "bfloat16" || t.dtype === "float64";
}

/** A float tensor's values as float32 (float64 is rounded). Throws for integer tensors. */
export function toFloat32(t: Tensor, what = `Tensor "${t.name}"`): Float32Array {
  if (!isFloat(t)) throw new Error(`${what}: expected floating-point values, found ${t.dtype}`);
  return t.data instanceof Float32Array ? t.data : Float32Array.from(t.data as Float64Array);
}

/** An integer tensor's values as JS numbers (for shapes, axes, indices). */
export function toIntegers(t: Tensor, what = `Tensor "${t.name}"`): number[] {
  if (isFloat(t)) throw new Error(`${what}: expected integer values, found ${t.dtype}`);
  return Array.from(t.data as ArrayLike<number | bigint>, (v) => toNumber(v));
}

/** Number of elements of a shape. */
export function numel(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/** Formats dims for messages: `[1, 32, 8]`. */
export function formatDims(dims: readonly number[]): string {
  return `[${dims.join(", ")}]`;
}
