import assert from "node:assert/strict";
import { mulberry32 } from "../../runtime/random.ts";
import { irMatrix } from "../ir.ts";
import { csrToDense, globalPruneThreshold, pruneMethod, type PruneSpec } from "./prune.ts";
import { blockNorms, blocksToDense } from "./prune_blocks.ts";
import { decodeStorage } from "./storage.ts";
import { randomMatrix } from "../../runtime/format/test_fixtures.ts";

const spec = (sparsity: number, storage: PruneSpec["storage"] = { type: "f32" }): PruneSpec => ({
  kind: "prune",
  sparsity,
  storage,
});

Deno.test("prune at sparsity 0 stores every entry (zeros too) and decodes to the matrix itself", () => {
  const m = randomMatrix(mulberry32(1), "w", 7, 9);
  m.data[3] = 0;
  const { encoded } = pruneMethod.encode(m, spec(0), "decoder");
  assert.ok(encoded.encoding.kind === "csr");
  assert.equal(encoded.encoding.colIdx.length, 63);
  assert.deepEqual(csrToDense(encoded), m.data);
});

Deno.test("prune's CSR equals the matrix with exactly round(s·n) smallest-magnitude entries zeroed", () => {
  const rand = mulberry32(2);
  for (
    const [rows, cols, s] of [[1, 1, 0.5], [5, 3, 0.3], [13, 37, 0.8], [40, 7, 0.95], [3, 4, 1]] as const
  ) {
    const m = randomMatrix(rand, "w", rows, cols);
    m.data[0] = m.data[1] = 0.001; // a tie
    const { encoded } = pruneMethod.encode(m, spec(s), "w_hh");
    const dense = csrToDense(encoded);
    const n = rows * cols;
    const pruned = [...dense].filter((v, i) => v === 0 && m.data[i] !== 0).length;
    assert.equal(pruned, Math.round(s * n), `${rows}×${cols} at ${s}`);
    let maxPruned = 0;
    let minKept = Infinity;
    for (let i = 0; i < n; i++) {
      if (dense[i] === 0) maxPruned = Math.max(maxPruned, Math.abs(m.data[i]));
      else {
        assert.equal(dense[i], m.data[i], "kept entries are stored exactly (f32)");
        minKept = Math.min(minKept, Math.abs(m.data[i]));
      }
    }
    assert.ok(maxPruned <= minKept, "nothing kept is smaller than anything pruned");
  }
});

Deno.test("prune's column indices are 16-bit up to 65536 columns and 32-bit beyond", () => {
  const narrow = pruneMethod.encode(
    irMatrix("w", 1, 65536, new Float32Array(65536).fill(1)),
    spec(0.5),
    "decoder",
  );
  assert.ok(narrow.encoded.encoding.kind === "csr" && narrow.encoded.encoding.colIdx instanceof Uint16Array);
  const data = new Float32Array(65537).map((_, i) => i);
  const wide = pruneMethod.encode(irMatrix("w", 1, 65537, data), spec(0.5), "decoder");
  assert.ok(wide.encoded.encoding.kind === "csr" && wide.encoded.encoding.colIdx instanceof Uint32Array);
  assert.equal(wide.encoded.encoding.colIdx[wide.encoded.encoding.colIdx.length - 1], 65536);
  assert.match(wide.detail, /32-bit indices/);
});

Deno.test("prune stores int8 values with one scale per 64 non-zeros (or the given group), within half a step", () => {
  const m = randomMatrix(mulberry32(3), "w", 30, 20);
  const { encoded, detail } = pruneMethod.encode(m, spec(0.5, { type: "int8" }), "w_ih");
  assert.ok(encoded.encoding.kind === "csr");
  const v = encoded.encoding.values;
  assert.ok(v.encoding.kind === "quantized");
  assert.equal(v.encoding.groupSize, 64);
  assert.equal(v.encoding.scales.length, Math.ceil(300 / 64));
  assert.match(detail, /values int8 g64/);
  const values = decodeStorage(v);
  const { rowPtr, colIdx } = encoded.encoding;
  for (let r = 0; r < 30; r++) {
    for (let k = rowPtr[r]; k < rowPtr[r + 1]; k++) {
      const step = v.encoding.scales[Math.floor(k / 64)];
      assert.ok(Math.abs(values[k] - m.data[r * 20 + colIdx[k]]) <= step / 2 + 1e-7, `non-zero ${k}`);
    }
  }
  const g = pruneMethod.encode(m, spec(0.5, { type: "int4", groupSize: 16 }), "w_ih").encoded;
  assert.ok(g.encoding.kind === "csr" && g.encoding.values.encoding.kind === "quantized");
  assert.equal(g.encoding.values.encoding.groupSize, 16);
});

Deno.test("globalPruneThreshold() prunes the target fraction of all matrices together, unevenly per matrix", () => {
  const rand = mulberry32(4);
  const small = randomMatrix(rand, "a", 10, 10, 0.1);
  const large = randomMatrix(rand, "b", 10, 10, 1);
  const t = globalPruneThreshold([small, large], 0.5);
  const results = [small, large].map((m) =>
    pruneMethod.encode(m, { ...spec(0.5), scope: "global", threshold: t }, "w_hh")
  );
  const nnz = results.map((r) => r.encoded.encoding.kind === "csr" ? r.encoded.encoding.colIdx.length : -1);
  assert.equal(nnz[0] + nnz[1], 100);
  assert.ok(nnz[0] < 20 && nnz[1] > 80, `the small-magnitude matrix loses most: ${nnz}`);
  assert.equal(globalPruneThreshold([small], 0), 0);
  assert.equal(globalPruneThreshold([small], 1), Infinity);
  assert.match(results[0].detail, /global \|x\| < /);
});

Deno.test("prune rejects a sparsity outside [0, 1]", () => {
  assert.throws(
    () => pruneMethod.encode(randomMatrix(mulberry32(5), "w", 2, 2), spec(1.2), "w_hh"),
    /from 0 to 1, got 1.2/,
  );
});

Deno.test("block pruning drops exactly round(s·blocks) whole blocks, the smallest by norm, padding included", () => {
  const rand = mulberry32(5);
  for (
    const [rows, cols, br, bc, s] of [[1, 1, 1, 4, 0.5], [5, 9, 4, 4, 0.5], [13, 37, 1, 8, 0.8], [
      40,
      20,
      4,
      16,
      0.7,
    ]] as const
  ) {
    const m = randomMatrix(rand, "w", rows, cols);
    const { encoded, detail } = pruneMethod.encode(
      m,
      { ...spec(s), blockRows: br, blockCols: bc },
      "decoder",
    );
    assert.ok(encoded.encoding.kind === "blocks");
    const blocks = Math.ceil(rows / br) * Math.ceil(cols / bc);
    assert.equal(
      encoded.encoding.blockIdx.length,
      blocks - Math.round(s * blocks),
      `${rows}×${cols} ${br}×${bc}`,
    );
    assert.match(detail, new RegExp(`of ${blocks} blocks of ${br}×${bc}`));
    const dense = blocksToDense(encoded);
    const norms = blockNorms(m, { rows: br, cols: bc });
    let maxDropped = 0;
    let minKept = Infinity;
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < cols; j++) {
        const b = Math.floor(i / br) * Math.ceil(cols / bc) + Math.floor(j / bc);
        const kept = encoded.encoding.blockIdx.length > 0 && dense[i * cols + j] !== 0;
        if (kept) {
          assert.equal(dense[i * cols + j], m.data[i * cols + j], "kept entries are stored exactly (f32)");
          minKept = Math.min(minKept, norms[b]);
        } else maxDropped = Math.max(maxDropped, norms[b]);
      }
    }
    assert.ok(maxDropped <= minKept, "no kept block is smaller than a dropped one");
  }
});

Deno.test("global block pruning thresholds block norms across matrices", () => {
  const rand = mulberry32(6);
  const small = randomMatrix(rand, "a", 8, 16, 0.1);
  const large = randomMatrix(rand, "b", 8, 16, 1);
  const block = { rows: 4, cols: 8 };
  const t = globalPruneThreshold([small, large], 0.5, block);
  const kept = [small, large].map((m) => {
    const { encoded } = pruneMethod.encode(
      m,
      { ...spec(0.5), scope: "global", threshold: t, blockRows: 4, blockCols: 8 },
      "w_hh",
    );
    return encoded.encoding.kind === "blocks" ? encoded.encoding.blockIdx.length : -1;
  });
  assert.deepEqual(kept, [0, 4], "the 4 large-magnitude blocks stay, the 4 small ones go");
});

Deno.test("block-pruned int8 values get groups of 512 values, whole blocks of every shape", () => {
  const m = randomMatrix(mulberry32(7), "w", 8, 32);
  for (const [br, bc, group] of [[1, 4, 512], [1, 16, 512], [4, 16, 512], [4, 8, 512]] as const) {
    const { encoded } = pruneMethod.encode(m, {
      ...spec(0.5, { type: "int8" }),
      blockRows: br,
      blockCols: bc,
    }, "w_hh");
    assert.ok(encoded.encoding.kind === "blocks");
    const v = encoded.encoding.values.encoding;
    assert.ok(v.kind === "quantized" && v.groupSize === group && group % (br * bc) === 0);
  }
});
