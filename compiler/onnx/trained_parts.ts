/**
 * Trained parts: what models/finetune.py re-trained with the compression in place — low-rank factors, TT
 * cores, pruning masks with their values, quantization codes and scales — carried in the ONNX file beside the
 * dense weights, so that compile packs exactly what was trained: nothing is re-factorized or re-quantized.
 *
 * Layout (compiler/onnx/README.md, "Trained parts"): metadata_props key `lstm_edge.trained_parts` holds JSON
 *
 * ```
 * { "format": 1, "recipe": RECIPE, "tensors": { NAME: ENTRY, … } }
 * ENTRY := { "method": METHOD, "rows": R, "cols": C, "encoding": "store", "matrix": LEAF }
 *        | { …, "encoding": "lowrank", "a": LEAF, "b": LEAF }
 *        | { …, "encoding": "tt", "rowModes": [..], "colModes": [..], "ranks": [..], "cores": [LEAF, …] }
 *        | { …, "encoding": "csr", "rowPtr": INIT, "colIdx": INIT, "values": LEAF (1 × nnz) }
 * LEAF  := { "storage": "f32" | "f16", "rows", "cols", "values": INIT }
 *        | { "storage": "int8" | "int4", "rows", "cols", "groupSize": G, "codes": INIT, "scales": INIT }
 * ```
 *
 * INIT names an initializer of the graph that no node uses: values FLOAT (f32) or FLOAT16 (f16) rows × cols;
 * codes INT8 rows × cols (int8 in ±127, int4 in ±7, unpacked); scales FLOAT rows × ⌈cols / G⌉; row_ptr INT32
 * rows + 1; col_idx INT32 nnz. NAME is the compiler's tensor name (embedding, layers.K.w_ih, …, decoder),
 * METHOD the recipe method it was trained as, RECIPE the recipe finetune.py was given.
 * @module
 */
import type { IrMatrix } from "../ir.ts";
import type { EncodedMatrix } from "../encoded.ts";
import { encodeDense } from "../encoded.ts";
import { packQuantized } from "../methods/storage.ts";
import { type BlockShape, blockShapeOf } from "../methods/prune_blocks.ts";
import { parseMethod, parseRecipe, type Recipe } from "../recipe.ts";
import type { OnnxGraph } from "./graph.ts";
import { tensorFromProto, toFloat32 } from "./proto.ts";

/** The metadata_props key. */
export const TRAINED_PARTS_KEY = "lstm_edge.trained_parts";
/** The layout version this compiler reads. */
export const TRAINED_PARTS_FORMAT = 1;

/** One re-trained tensor: the method it was trained as and its encoding, ready to write. */
export interface TrainedTensor {
  method: string;
  encoded: EncodedMatrix;
}

/** Everything finetune.py handed over. */
export interface TrainedParts {
  /** The recipe the model was re-trained with (compile's default recipe for this file). */
  recipe: Recipe;
  tensors: Map<string, TrainedTensor>;
}

/** A malformed trained-parts entry; the message names the tensor and the field. */
export class TrainedPartsError extends Error {
  override name = "TrainedPartsError";
}

type Json = Record<string, unknown>;

/**
 * Reads the trained parts of a graph, or undefined when it has none. `shapes` gives each tensor's
 * rows × cols (from the dense weights), which the parts must match.
 */
export function readTrainedParts(
  graph: OnnxGraph,
  text: string | undefined,
  shapes: ReadonlyMap<string, { rows: number; cols: number }>,
): TrainedParts | undefined {
  if (text === undefined) return undefined;
  let doc: Json;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new TrainedPartsError(`metadata_props "${TRAINED_PARTS_KEY}" is not JSON: ${(e as Error).message}`);
  }
  const where = `metadata_props "${TRAINED_PARTS_KEY}"`;
  if (typeof doc !== "object" || doc === null || doc.format !== TRAINED_PARTS_FORMAT) {
    throw new TrainedPartsError(
      `${where}: expected format ${TRAINED_PARTS_FORMAT}, found ${JSON.stringify((doc as Json)?.format)} ` +
        `(written by a newer finetune.py?)`,
    );
  }
  const recipe = parseRecipe(doc.recipe, `${where} recipe`);
  const entries = doc.tensors;
  if (typeof entries !== "object" || entries === null) throw new TrainedPartsError(`${where}: no "tensors"`);
  const tensors = new Map<string, TrainedTensor>();
  for (const [name, entry] of Object.entries(entries as Json)) {
    const shape = shapes.get(name);
    if (!shape) {
      throw new TrainedPartsError(
        `${where}: tensor "${name}" is not one of the model's (${[...shapes.keys()].join(", ")})`,
      );
    }
    const reader = new PartReader(graph, `${where} tensor "${name}"`);
    tensors.set(name, reader.tensor(name, entry as Json, shape));
  }
  return { recipe, tensors };
}

class PartReader {
  constructor(readonly graph: OnnxGraph, readonly where: string) {}

  fail(message: string): never {
    throw new TrainedPartsError(`${this.where}: ${message}`);
  }

  int(value: unknown, what: string, min = 1): number {
    if (!(typeof value === "number" && Number.isInteger(value) && value >= min)) {
      this.fail(`${what} must be a whole number ≥ ${min}, found ${JSON.stringify(value)}`);
    }
    return value;
  }

  ints(value: unknown, what: string): number[] {
    if (!Array.isArray(value) || value.length === 0) this.fail(`${what} must be a list of whole numbers`);
    return value.map((v, i) => this.int(v, `${what}[${i}]`));
  }

  /** The values of initializer `name` with `count` elements of one of `types` (ONNX element types). */
  init(name: unknown, what: string, count: number, types: string[]): ArrayLike<number> {
    if (typeof name !== "string") this.fail(`${what} must name an initializer`);
    const proto = this.graph.initializers.get(name);
    if (!proto) this.fail(`${what}: initializer "${name}" is not in the graph`);
    const t = tensorFromProto(proto, `${this.where} ${what} "${name}"`);
    if (!types.includes(t.dtype)) {
      this.fail(`${what} "${name}" is ${t.dtype}, expected ${types.join(" or ")}`);
    }
    if (t.data.length !== count) {
      this.fail(`${what} "${name}" has ${t.data.length} values, expected ${count}`);
    }
    return t.dtype === "int32" || t.dtype === "int8" ? (t.data as ArrayLike<number>) : toFloat32(t);
  }

  leaf(value: unknown, what: string, name: string, rows?: number, cols?: number): EncodedMatrix {
    if (typeof value !== "object" || value === null) this.fail(`${what} must be an object`);
    const leaf = value as Json;
    const r = this.int(leaf.rows, `${what}.rows`);
    const c = this.int(leaf.cols, `${what}.cols`);
    if ((rows !== undefined && r !== rows) || (cols !== undefined && c !== cols)) {
      this.fail(`${what} is ${r}×${c}, expected ${rows ?? r}×${cols ?? c}`);
    }
    const storage = leaf.storage;
    if (storage === "f32" || storage === "f16") {
      const data = Float32Array.from(this.init(leaf.values, `${what}.values`, r * c, ["float32", "float16"]));
      const m: IrMatrix = { name, rows: r, cols: c, data };
      return encodeDense(m, storage);
    }
    if (storage === "int8" || storage === "int4") {
      const g = this.int(leaf.groupSize, `${what}.groupSize`);
      const codes = this.init(leaf.codes, `${what}.codes`, r * c, ["int8"]);
      const scales = Float32Array.from(
        this.init(leaf.scales, `${what}.scales`, r * Math.ceil(c / g), ["float32"]),
      );
      if (!scales.every((s) => Number.isFinite(s) && s >= 0)) {
        this.fail(`${what}.scales must be finite and ≥ 0`);
      }
      try {
        return packQuantized(name, r, c, storage === "int8" ? 8 : 4, g, codes, scales);
      } catch (e) {
        this.fail(`${what}: ${(e as Error).message}`);
      }
    }
    this.fail(`${what}.storage must be f32, f16, int8 or int4, found ${JSON.stringify(storage)}`);
  }

  /**
   * A block-pruned matrix's parts (finetune.py's "blocks" entry): blockRows/blockCols as the method says,
   * rowPtr (block rows + 1, from 0, never decreasing), blockIdx (block columns, increasing within a block
   * row), values a 1 × nblocks·R·C leaf in the block order SparseBlocks stores.
   */
  blocks(
    entry: Json,
    block: BlockShape,
    rows: number,
    cols: number,
    leaf: (v: unknown, r: number, c: number) => EncodedMatrix,
  ): EncodedMatrix["encoding"] {
    if (entry.blockRows !== block.rows || entry.blockCols !== block.cols) {
      this.fail(
        `blocks are ${entry.blockRows}×${entry.blockCols}, but the method says ${block.rows}×${block.cols}`,
      );
    }
    const blockRows = Math.ceil(rows / block.rows);
    const per = Math.ceil(cols / block.cols);
    if (per > 65536) this.fail(`${per} blocks per row do not fit 16-bit block indices`);
    const rowPtr = Uint32Array.from(this.init(entry.rowPtr, "rowPtr", blockRows + 1, ["int32"]));
    if (rowPtr[0] !== 0 || rowPtr.some((p, i) => i > 0 && p < rowPtr[i - 1])) {
      this.fail("rowPtr must start at 0 and never decrease");
    }
    const n = rowPtr[blockRows];
    const idx = this.init(entry.blockIdx, "blockIdx", n, ["int32"]);
    for (let i = 0; i < blockRows; i++) {
      for (let k = rowPtr[i]; k < rowPtr[i + 1]; k++) {
        if (!(idx[k] >= 0 && idx[k] < per) || (k > rowPtr[i] && idx[k] <= idx[k - 1])) {
          this.fail(
            `blockIdx of block row ${i} must increase within 0..${per - 1} (found ${idx[k]} at ${k})`,
          );
        }
      }
    }
    const values = leaf(entry.values, 1, n * block.rows * block.cols);
    return {
      kind: "blocks",
      blockRows: block.rows,
      blockCols: block.cols,
      rowPtr,
      blockIdx: Uint16Array.from(idx),
      values,
    };
  }

  tensor(name: string, entry: Json, shape: { rows: number; cols: number }): TrainedTensor {
    if (typeof entry !== "object" || entry === null) this.fail("must be an object");
    const method = entry.method;
    if (typeof method !== "string") this.fail(`"method" must be a method string`);
    const spec = (() => {
      try {
        return parseMethod(method);
      } catch (e) {
        this.fail((e as Error).message);
      }
    })();
    const { rows, cols } = shape;
    if (entry.rows !== rows || entry.cols !== cols) {
      this.fail(`is ${entry.rows}×${entry.cols}, but the model's weight is ${rows}×${cols}`);
    }
    const block = spec.kind === "prune" ? blockShapeOf(spec) : undefined;
    const expected = block
      ? "blocks"
      : { store: "store", lowrank: "lowrank", tt: "tt", prune: "csr" }[spec.kind];
    if (entry.encoding !== expected) {
      this.fail(
        `method ${method} is stored as "${expected}", found encoding ${JSON.stringify(entry.encoding)}`,
      );
    }
    const storage = spec.storage.type;
    const leaf = (v: unknown, what: string, leafName: string, r?: number, c?: number) => {
      const m = this.leaf(v, what, leafName, r, c);
      const e = m.encoding;
      const stored = e.kind === "dense" ? e.type : e.kind === "quantized" ? `int${e.bits}` : e.kind;
      if (stored !== storage) this.fail(`${what} is stored as ${stored}, but ${method} stores ${storage}`);
      return m;
    };
    let encoding: EncodedMatrix["encoding"];
    switch (spec.kind) {
      case "store":
        return { method, encoded: leaf(entry.matrix, "matrix", name, rows, cols) };
      case "lowrank": {
        const a = leaf(entry.a, "a", `${name}.a`, rows);
        const b = leaf(entry.b, "b", `${name}.b`, a.cols, cols);
        encoding = { kind: "lowrank", a, b };
        break;
      }
      case "tt": {
        const rowModes = this.ints(entry.rowModes, "rowModes");
        const colModes = this.ints(entry.colModes, "colModes");
        const ranks = this.ints(entry.ranks, "ranks");
        const d = rowModes.length;
        if (colModes.length !== d || ranks.length !== d + 1 || ranks[0] !== 1 || ranks[d] !== 1) {
          this.fail(`TT needs d row and column modes and d + 1 ranks starting and ending in 1`);
        }
        const prod = (a: number[]) => a.reduce((p, v) => p * v, 1);
        if (prod(rowModes) < rows || prod(colModes) < cols) {
          this.fail(`TT modes ${rowModes.join("·")} × ${colModes.join("·")} do not cover ${rows}×${cols}`);
        }
        if (!Array.isArray(entry.cores) || entry.cores.length !== d) this.fail(`needs ${d} cores`);
        const cores = (entry.cores as unknown[]).map((core, k) =>
          leaf(core, `cores[${k}]`, `${name}.cores.${k}`, ranks[k], rowModes[k] * colModes[k] * ranks[k + 1])
        );
        encoding = { kind: "tt", rowModes, colModes, ranks, cores };
        break;
      }
      case "prune": {
        if (block) {
          encoding = this.blocks(
            entry,
            block,
            rows,
            cols,
            (v, r, c) => leaf(v, "values", `${name}.values`, r, c),
          );
          break;
        }
        const rowPtr = Uint32Array.from(this.init(entry.rowPtr, "rowPtr", rows + 1, ["int32"]));
        const nnz = rowPtr[rows];
        if (rowPtr[0] !== 0 || rowPtr.some((p, i) => i > 0 && p < rowPtr[i - 1])) {
          this.fail("rowPtr must start at 0 and never decrease");
        }
        const idx = this.init(entry.colIdx, "colIdx", nnz, ["int32"]);
        for (let r = 0; r < rows; r++) {
          for (let k = rowPtr[r]; k < rowPtr[r + 1]; k++) {
            if (!(idx[k] >= 0 && idx[k] < cols) || (k > rowPtr[r] && idx[k] <= idx[k - 1])) {
              this.fail(`colIdx of row ${r} must increase within 0..${cols - 1} (found ${idx[k]} at ${k})`);
            }
          }
        }
        const colIdx = cols <= 65536 ? Uint16Array.from(idx) : Uint32Array.from(idx);
        const values = leaf(entry.values, "values", `${name}.values`, 1, nnz);
        encoding = { kind: "csr", rowPtr, colIdx, values };
        break;
      }
    }
    return { method, encoded: { name, rows, cols, encoding } };
  }
}
