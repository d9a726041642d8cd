/**
 * Constant folding: every tensor whose value does not depend on a graph input.
 *
 * Starts from the initializers and evaluates, in graph order and until nothing changes, each node whose
 * inputs are all known constants and whose operator is one of {@link FOLDABLE_OPS}. That is how weights
 * stored behind a few operators are found: a tied decoder written as `Transpose(embedding.weight)`, LSTM
 * weights assembled by `Slice` → `Concat` → `Unsqueeze` (a PyTorch export without constant folding), a
 * `Constant` node holding the Slice/Squeeze axes. Operators outside the list are left alone (their outputs
 * are simply not constants).
 *
 * Opset differences are handled by reading each operand from wherever the model put it: Squeeze /
 * Unsqueeze `axes` and Split `split` as an attribute (opset < 13) or an input (≥ 13), Slice's starts / ends /
 * axes as attributes (opset < 10) or inputs (≥ 10), Reshape's `allowzero` (≥ 14), Split's `num_outputs`
 * (≥ 18), Shape's start/end (≥ 15).
 * @module
 */

import { f16BitsToF32, f32ToF16Bits } from "../../runtime/format/f16.ts";
import { attrFloat, attrInt, attrInts, attrTensor, describeNode, type OnnxGraph } from "./graph.ts";
import {
  DATA_TYPES,
  type DType,
  formatDims,
  isFloat,
  type NodeProto,
  numel,
  type Tensor,
  type TensorData,
  tensorFromProto,
  toIntegers,
} from "./proto.ts";

/** Operators the folder evaluates when all their inputs are constant. */
export const FOLDABLE_OPS: ReadonlySet<string> = new Set([
  "Constant",
  "Identity",
  "Dropout",
  "Cast",
  "Transpose",
  "Unsqueeze",
  "Squeeze",
  "Concat",
  "Slice",
  "Gather",
  "Reshape",
  "Flatten",
  "Split",
  "Shape",
  "ConstantOfShape",
  "Expand",
  "Add",
  "Sub",
  "Mul",
  "Div",
  "Neg",
]);

/**
 * Decodes the initializers and folds every constant subgraph.
 *
 * @returns tensor name → value, for every tensor known without running the model
 * @example
 * ```ts
 * const consts = foldConstants(new OnnxGraph(decodeModel(bytes)));
 * consts.get("embedding.weight")?.dims; // [10000, 200]
 * ```
 */
export function foldConstants(graph: OnnxGraph): Map<string, Tensor> {
  const known = new Map<string, Tensor>();
  for (const [name, proto] of graph.initializers) {
    known.set(name, tensorFromProto(proto, `Initializer "${name}"`));
  }
  const pending = graph.nodes.filter((n) => FOLDABLE_OPS.has(n.opType ?? ""));
  for (let changed = true; changed && pending.length > 0;) {
    changed = false;
    for (let i = 0; i < pending.length; i++) {
      const node = pending[i];
      const inputs = (node.input ?? []).map((name) => (name ? known.get(name) : null));
      if (inputs.some((t) => t === undefined)) continue; // some input is not (yet) a constant
      const outputs = evaluateNode(node, inputs as (Tensor | null)[]);
      (node.output ?? []).forEach((name, k) => {
        if (name && outputs[k]) known.set(name, { ...outputs[k], name });
      });
      pending.splice(i--, 1);
      changed = true;
    }
  }
  return known;
}

/**
 * Evaluates one node on constant inputs (`null` for an omitted optional input).
 * Throws an error naming the node when its attributes or inputs are invalid.
 */
export function evaluateNode(node: NodeProto, inputs: (Tensor | null)[]): (Tensor | undefined)[] {
  try {
    return evaluate(node, inputs);
  } catch (e) {
    throw new Error(`Cannot evaluate constant ${describeNode(node)}: ${(e as Error).message}`);
  }
}

function evaluate(node: NodeProto, inputs: (Tensor | null)[]): (Tensor | undefined)[] {
  const x = inputs[0];
  const need = (t: Tensor | null | undefined, what: string): Tensor => {
    if (!t) throw new Error(`missing input ${what}`);
    return t;
  };
  switch (node.opType) {
    case "Constant":
      return [constantValue(node)];
    case "Identity":
    case "Dropout":
      return [need(x, "0")];
    case "Cast":
      return [cast(need(x, "input"), attrInt(node, "to", 0))];
    case "Transpose": {
      const t = need(x, "data");
      const perm = attrInts(node, "perm") ?? t.dims.map((_, i) => t.dims.length - 1 - i);
      return [transpose(t, perm)];
    }
    case "Unsqueeze": {
      const t = need(x, "data");
      const axes = axesOperand(node, inputs[1], "axes");
      if (!axes) throw new Error("no axes given");
      return [reshaped(t, unsqueezeDims(t.dims, axes))];
    }
    case "Squeeze": {
      const t = need(x, "data");
      return [reshaped(t, squeezeDims(t.dims, axesOperand(node, inputs[1], "axes")))];
    }
    case "Concat":
      return [concat(inputs.filter((t): t is Tensor => !!t), attrInt(node, "axis", 0))];
    case "Slice": {
      const t = need(x, "data");
      const fromInputs = (node.input ?? []).length > 1;
      const starts = fromInputs ? toIntegers(need(inputs[1], "starts")) : attrInts(node, "starts");
      const ends = fromInputs ? toIntegers(need(inputs[2], "ends")) : attrInts(node, "ends");
      if (!starts || !ends) throw new Error("starts/ends missing");
      const axes = fromInputs ? (inputs[3] ? toIntegers(inputs[3]) : undefined) : attrInts(node, "axes");
      const steps = fromInputs && inputs[4] ? toIntegers(inputs[4]) : undefined;
      return [slice(t, starts, ends, axes, steps)];
    }
    case "Gather":
      return [gather(need(x, "data"), need(inputs[1], "indices"), attrInt(node, "axis", 0))];
    case "Reshape": {
      const t = need(x, "data");
      const shape = toIntegers(need(inputs[1], "shape"));
      return [reshaped(t, reshapeDims(t.dims, shape, attrInt(node, "allowzero", 0) !== 0))];
    }
    case "Flatten": {
      const t = need(x, "data");
      const axis = normAxis(attrInt(node, "axis", 1), t.dims.length + 1);
      return [reshaped(t, [numel(t.dims.slice(0, axis)), numel(t.dims.slice(axis))])];
    }
    case "Split":
      return split(node, need(x, "input"), inputs[1] ?? null);
    case "Shape": {
      const t = need(x, "data");
      const r = t.dims.length;
      const start = clampAxis(attrInt(node, "start", 0), r);
      const end = clampAxis(attrInt(node, "end", r), r);
      const dims = t.dims.slice(start, Math.max(start, end));
      return [{ name: "", dtype: "int64", dims: [dims.length], data: BigInt64Array.from(dims, BigInt) }];
    }
    case "ConstantOfShape": {
      const dims = toIntegers(need(x, "shape"));
      const value = attrTensor(node, "value") ??
        { name: "", dtype: "float32" as DType, dims: [1], data: new Float32Array(1) };
      if (numel(value.dims) !== 1) throw new Error("attribute value must hold one element");
      const data = alloc(value.data, numel(dims));
      (data as { fill(v: unknown): unknown }).fill(value.data[0]);
      return [{ name: "", dtype: value.dtype, dims, data }];
    }
    case "Expand": {
      const t = need(x, "input");
      const dims = broadcastDims(t.dims, toIntegers(need(inputs[1], "shape")));
      return [broadcastTo(t, dims)];
    }
    case "Add":
    case "Sub":
    case "Mul":
    case "Div":
      return [binary(node.opType, need(x, "A"), need(inputs[1], "B"))];
    case "Neg": {
      const t = need(x, "X");
      const data = alloc(t.data, t.data.length);
      for (let i = 0; i < data.length; i++) (data as unknown as unknown[])[i] = neg(t.data[i]);
      return [{ ...t, data }];
    }
    default:
      throw new Error(`operator ${node.opType} cannot be folded`);
  }
}

function neg(v: number | bigint): number | bigint {
  return typeof v === "bigint" ? -v : -v;
}

function constantValue(node: NodeProto): Tensor {
  const t = attrTensor(node, "value");
  if (t) return t;
  if ((node.attribute ?? []).some((a) => a.name === "sparse_value")) {
    throw new Error("sparse_value constants are not supported");
  }
  const attr = (node.attribute ?? [])[0];
  switch (attr?.name) {
    case "value_float":
      return {
        name: "",
        dtype: "float32",
        dims: [],
        data: Float32Array.of(attrFloat(node, "value_float", 0)),
      };
    case "value_floats":
      return {
        name: "",
        dtype: "float32",
        dims: [attr.floats?.length ?? 0],
        data: Float32Array.from(attr.floats ?? []),
      };
    case "value_int":
      return {
        name: "",
        dtype: "int64",
        dims: [],
        data: BigInt64Array.of(BigInt(attrInt(node, "value_int", 0))),
      };
    case "value_ints": {
      const v = attrInts(node, "value_ints") ?? [];
      return { name: "", dtype: "int64", dims: [v.length], data: BigInt64Array.from(v, BigInt) };
    }
    default:
      throw new Error(`unsupported value attribute ${attr?.name ?? "(none)"}`);
  }
}

/** Axes from the attribute (opset < 13) or the second input (opset ≥ 13); undefined when neither. */
function axesOperand(node: NodeProto, input: Tensor | null | undefined, name: string): number[] | undefined {
  if (input) return toIntegers(input);
  return attrInts(node, name);
}

function normAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new Error(`axis ${axis} is out of range for rank ${rank}`);
  return a;
}

function clampAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  return Math.min(Math.max(a, 0), rank);
}

function strides(dims: readonly number[]): number[] {
  const s = new Array<number>(dims.length);
  let acc = 1;
  for (let i = dims.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= dims[i];
  }
  return s;
}

function alloc(like: TensorData, n: number): TensorData {
  const Ctor = like.constructor as new (n: number) => TensorData;
  return new Ctor(n);
}

function reshaped(t: Tensor, dims: number[]): Tensor {
  if (numel(dims) !== t.data.length) {
    throw new Error(`cannot reshape ${formatDims(t.dims)} to ${formatDims(dims)}`);
  }
  return { ...t, dims };
}

/** Output dims of Unsqueeze: axes refer to the output rank. */
export function unsqueezeDims(dims: readonly number[], axes: readonly number[]): number[] {
  const rank = dims.length + axes.length;
  const norm = new Set(axes.map((a) => normAxis(a, rank)));
  if (norm.size !== axes.length) throw new Error(`repeated axes [${axes.join(", ")}]`);
  const out: number[] = [];
  let k = 0;
  for (let i = 0; i < rank; i++) out.push(norm.has(i) ? 1 : dims[k++]);
  return out;
}

/** Output dims of Squeeze; without axes every size-1 dimension is removed. */
export function squeezeDims(dims: readonly number[], axes: readonly number[] | undefined): number[] {
  if (!axes || axes.length === 0) return dims.filter((d) => d !== 1);
  const norm = new Set(axes.map((a) => normAxis(a, dims.length)));
  for (const a of norm) {
    if (dims[a] !== 1) throw new Error(`cannot squeeze axis ${a} of size ${dims[a]}`);
  }
  return dims.filter((_, i) => !norm.has(i));
}

/** Output dims of Reshape: 0 copies the input dimension (unless allowzero), -1 is inferred. */
export function reshapeDims(dims: readonly number[], shape: readonly number[], allowzero: boolean): number[] {
  const out = shape.map((s, i) => (s === 0 && !allowzero ? dims[i] : s));
  const infer = out.indexOf(-1);
  if (infer >= 0) {
    if (out.indexOf(-1, infer + 1) >= 0) throw new Error(`more than one -1 in shape [${shape.join(", ")}]`);
    const known = out.reduce((a, b, i) => (i === infer ? a : a * b), 1);
    const total = numel(dims);
    if (known === 0 || total % known !== 0) {
      throw new Error(`cannot reshape ${formatDims(dims)} to [${shape.join(", ")}]`);
    }
    out[infer] = total / known;
  }
  if (out.some((d) => d === undefined || d < 0)) {
    throw new Error(`invalid shape [${shape.join(", ")}] for ${formatDims(dims)}`);
  }
  return out;
}

/** Permutes axes: output axis i is input axis perm[i]. */
export function transpose(t: Tensor, perm: readonly number[]): Tensor {
  const r = t.dims.length;
  if (perm.length !== r || new Set(perm).size !== r || perm.some((p) => p < 0 || p >= r)) {
    throw new Error(`perm [${perm.join(", ")}] is not a permutation of ${r} axes`);
  }
  const dims = perm.map((p) => t.dims[p]);
  const inStrides = strides(t.dims);
  const step = perm.map((p) => inStrides[p]);
  const data = alloc(t.data, t.data.length);
  const idx = new Array<number>(r).fill(0);
  const src = t.data as ArrayLike<unknown>;
  const dst = data as unknown as unknown[];
  for (let o = 0, off = 0; o < data.length; o++) {
    dst[o] = src[off];
    for (let a = r - 1; a >= 0; a--) {
      idx[a]++;
      off += step[a];
      if (idx[a] < dims[a]) break;
      off -= step[a] * dims[a];
      idx[a] = 0;
    }
  }
  return { name: t.name, dtype: t.dtype, dims, data };
}

function concat(ts: Tensor[], axis: number): Tensor {
  if (ts.length === 0) throw new Error("no inputs");
  const r = ts[0].dims.length;
  const a = normAxis(axis, r);
  for (const t of ts) {
    if (t.dims.length !== r || t.dims.some((d, i) => i !== a && d !== ts[0].dims[i])) {
      throw new Error(`inputs ${ts.map((x) => formatDims(x.dims)).join(", ")} differ outside axis ${a}`);
    }
    if (t.dtype !== ts[0].dtype) throw new Error(`inputs mix ${ts[0].dtype} and ${t.dtype}`);
  }
  const outer = numel(ts[0].dims.slice(0, a));
  const inner = numel(ts[0].dims.slice(a + 1));
  const dims = ts[0].dims.slice();
  dims[a] = ts.reduce((s, t) => s + t.dims[a], 0);
  const data = alloc(ts[0].data, numel(dims));
  let o = 0;
  for (let i = 0; i < outer; i++) {
    for (const t of ts) {
      const n = t.dims[a] * inner;
      (data as { set(a: ArrayLike<unknown>, o: number): void }).set(t.data.subarray(i * n, (i + 1) * n), o);
      o += n;
    }
  }
  return { name: "", dtype: ts[0].dtype, dims, data };
}

/** ONNX Slice (numpy semantics, with ONNX's clamping of out-of-range starts/ends). */
export function slice(
  t: Tensor,
  starts: readonly number[],
  ends: readonly number[],
  axes?: readonly number[],
  steps?: readonly number[],
): Tensor {
  const r = t.dims.length;
  const ax = axes ?? starts.map((_, i) => i);
  if (
    starts.length !== ends.length || ax.length !== starts.length || (steps && steps.length !== starts.length)
  ) {
    throw new Error("starts, ends, axes and steps differ in length");
  }
  const begin = t.dims.map(() => 0);
  const step = t.dims.map(() => 1);
  const count = t.dims.slice();
  ax.forEach((axis, k) => {
    const a = normAxis(axis, r);
    const d = t.dims[a];
    const st = steps ? steps[k] : 1;
    if (st === 0) throw new Error("step 0");
    let s = starts[k] < 0 ? starts[k] + d : starts[k];
    let e = ends[k] < 0 ? ends[k] + d : ends[k];
    if (st > 0) {
      s = Math.min(Math.max(s, 0), d);
      e = Math.min(Math.max(e, 0), d);
      count[a] = Math.max(0, Math.ceil((e - s) / st));
    } else {
      s = Math.min(Math.max(s, 0), d - 1);
      e = Math.min(Math.max(e, -1), d - 1);
      count[a] = Math.max(0, Math.ceil((s - e) / -st));
    }
    begin[a] = s;
    step[a] = st;
  });
  const inStrides = strides(t.dims);
  const data = alloc(t.data, numel(count));
  const src = t.data as ArrayLike<unknown>;
  const dst = data as unknown as unknown[];
  const idx = new Array<number>(r).fill(0);
  for (let o = 0; o < data.length; o++) {
    let off = 0;
    for (let a = 0; a < r; a++) off += (begin[a] + idx[a] * step[a]) * inStrides[a];
    dst[o] = src[off];
    for (let a = r - 1; a >= 0; a--) {
      if (++idx[a] < count[a]) break;
      idx[a] = 0;
    }
  }
  return { name: t.name, dtype: t.dtype, dims: count, data };
}

/** ONNX Gather: picks entries of `data` along `axis` (negative indices count from the end). */
export function gather(t: Tensor, indices: Tensor, axis: number): Tensor {
  const a = normAxis(axis, t.dims.length);
  const idx = toIntegers(indices);
  const d = t.dims[a];
  const outer = numel(t.dims.slice(0, a));
  const inner = numel(t.dims.slice(a + 1));
  const dims = [...t.dims.slice(0, a), ...indices.dims, ...t.dims.slice(a + 1)];
  const data = alloc(t.data, numel(dims));
  let o = 0;
  for (let i = 0; i < outer; i++) {
    for (const raw of idx) {
      const j = raw < 0 ? raw + d : raw;
      if (j < 0 || j >= d) throw new Error(`index ${raw} is out of range for axis ${a} of size ${d}`);
      const start = (i * d + j) * inner;
      (data as { set(a: ArrayLike<unknown>, o: number): void }).set(t.data.subarray(start, start + inner), o);
      o += inner;
    }
  }
  return { name: t.name, dtype: t.dtype, dims, data };
}

function split(node: NodeProto, t: Tensor, splitInput: Tensor | null): Tensor[] {
  const a = normAxis(attrInt(node, "axis", 0), t.dims.length);
  const outputs = (node.output ?? []).length;
  const d = t.dims[a];
  let sizes = splitInput ? toIntegers(splitInput) : attrInts(node, "split");
  if (!sizes) {
    const n = attrInt(node, "num_outputs", outputs);
    const each = Math.ceil(d / n);
    sizes = Array.from({ length: n }, (_, i) => Math.max(0, Math.min(each, d - i * each)));
  }
  if (sizes.reduce((x, y) => x + y, 0) !== d) {
    throw new Error(`split sizes [${sizes.join(", ")}] do not add up to ${d}`);
  }
  let start = 0;
  return sizes.map((s) => {
    const part = slice(t, [start], [start + s], [a]);
    start += s;
    return part;
  });
}

function cast(t: Tensor, to: number): Tensor {
  const dtype = DATA_TYPES[to];
  if (!dtype) throw new Error(`cannot cast to element type ${to}`);
  const n = t.data.length;
  let data: TensorData;
  const src = t.data as ArrayLike<number | bigint>;
  const asNumber = (v: number | bigint) => (typeof v === "bigint" ? Number(v) : v);
  switch (dtype) {
    case "float32":
    case "float64":
      data = dtype === "float32" ? new Float32Array(n) : new Float64Array(n);
      for (let i = 0; i < n; i++) data[i] = asNumber(src[i]);
      break;
    case "float16":
      data = Float32Array.from({ length: n }, (_, i) => f16BitsToF32(f32ToF16Bits(asNumber(src[i]))));
      break;
    case "bfloat16": {
      data = new Float32Array(n);
      const u = new Uint32Array(data.buffer);
      for (let i = 0; i < n; i++) {
        data[i] = asNumber(src[i]);
        u[i] = (u[i] + 0x7fff + ((u[i] >>> 16) & 1)) & 0xffff0000; // round to nearest even
      }
      break;
    }
    case "bool":
      data = Uint8Array.from({ length: n }, (_, i) => (src[i] ? 1 : 0));
      break;
    case "int64":
    case "uint64": {
      data = dtype === "int64" ? new BigInt64Array(n) : new BigUint64Array(n);
      for (let i = 0; i < n; i++) {
        const v = src[i];
        const b = typeof v === "bigint" ? v : BigInt(Math.trunc(v));
        data[i] = dtype === "int64" ? BigInt.asIntN(64, b) : BigInt.asUintN(64, b);
      }
      break;
    }
    default: {
      const Ctor = {
        int8: Int8Array,
        uint8: Uint8Array,
        int16: Int16Array,
        uint16: Uint16Array,
        int32: Int32Array,
        uint32: Uint32Array,
      }[dtype];
      const out = new Ctor(n);
      for (let i = 0; i < n; i++) out[i] = Math.trunc(asNumber(src[i]));
      data = out;
    }
  }
  return { name: t.name, dtype, dims: t.dims.slice(), data };
}

/** Numpy broadcasting of two shapes. */
export function broadcastDims(a: readonly number[], b: readonly number[]): number[] {
  const r = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    const x = a[a.length - r + i] ?? 1;
    const y = b[b.length - r + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) {
      throw new Error(`shapes ${formatDims(a)} and ${formatDims(b)} do not broadcast`);
    }
    out.push(x === 1 ? y : x);
  }
  return out;
}

/** Offsets into `t` for each element of the broadcast shape `dims`. */
function broadcastOffsets(tDims: readonly number[], dims: readonly number[]): Int32Array {
  const r = dims.length;
  const s = strides(tDims);
  const step = dims.map((_, i) => {
    const k = i - (r - tDims.length);
    return k < 0 || tDims[k] === 1 ? 0 : s[k];
  });
  const n = numel(dims);
  const out = new Int32Array(n);
  const idx = new Array<number>(r).fill(0);
  for (let o = 0, off = 0; o < n; o++) {
    out[o] = off;
    for (let a = r - 1; a >= 0; a--) {
      idx[a]++;
      off += step[a];
      if (idx[a] < dims[a]) break;
      off -= step[a] * dims[a];
      idx[a] = 0;
    }
  }
  return out;
}

function broadcastTo(t: Tensor, dims: number[]): Tensor {
  const offsets = broadcastOffsets(t.dims, dims);
  const data = alloc(t.data, offsets.length);
  const src = t.data as ArrayLike<unknown>;
  for (let i = 0; i < offsets.length; i++) (data as unknown as unknown[])[i] = src[offsets[i]];
  return { name: t.name, dtype: t.dtype, dims, data };
}

function binary(op: string, a: Tensor, b: Tensor): Tensor {
  if (a.dtype !== b.dtype) throw new Error(`operands are ${a.dtype} and ${b.dtype}`);
  const dims = broadcastDims(a.dims, b.dims);
  const oa = broadcastOffsets(a.dims, dims);
  const ob = broadcastOffsets(b.dims, dims);
  const data = alloc(a.data, oa.length);
  const float = isFloat(a);
  const x = a.data as ArrayLike<number | bigint>;
  const y = b.data as ArrayLike<number | bigint>;
  const out = data as unknown as (number | bigint)[];
  for (let i = 0; i < oa.length; i++) {
    const u = x[oa[i]];
    const v = y[ob[i]];
    if (typeof u === "bigint" && typeof v === "bigint") {
      if (op === "Div" && v === 0n) throw new Error("integer division by zero");
      out[i] = op === "Add" ? u + v : op === "Sub" ? u - v : op === "Mul" ? u * v : u / v;
    } else {
      const p = u as number, q = v as number;
      const r = op === "Add" ? p + q : op === "Sub" ? p - q : op === "Mul" ? p * q : p / q;
      out[i] = float || op !== "Div" ? r : Math.trunc(r);
    }
  }
  return { name: "", dtype: a.dtype, dims, data };
}
