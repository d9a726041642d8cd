import assert from "node:assert/strict";
import { type CsrArrays, sliceCounts, slicedBytes, writeSlices } from "./csr_slices.ts";

// The sliced copy's bytes, written out by hand for small matrices (layout: the module doc).

/** Reads back the sliced copy: each quad's header and each slice's block and lanes. */
function readBack(bytes: Uint8Array, quads: number, slices: number) {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const data = 64 * quads;
  const xoff = data + 32 * slices;
  return {
    quads: Array.from({ length: quads }, (_, q) => ({
      rows: [0, 1, 2, 3].map((j) => v.getInt32(64 * q + 4 * j, true)),
      scales: [0, 1, 2, 3].map((j) => v.getFloat32(64 * q + 16 + 4 * j, true)),
      offsets: [0, 1, 2, 3].map((j) => v.getInt32(64 * q + 32 + 4 * j, true)),
      end: v.getInt32(64 * q + 48, true),
    })),
    slices: Array.from({ length: slices }, (_, s) => ({
      block: v.getUint32(xoff + 4 * s, true) / 16,
      idx: [...bytes.subarray(data + 32 * s, data + 32 * s + 16)],
      codes: [...new Int8Array(bytes.buffer, bytes.byteOffset + data + 32 * s + 16, 16)],
    })),
  };
}

function sliced(a: CsrArrays) {
  const counts = sliceCounts(a);
  const bytes = new Uint8Array(slicedBytes(counts)).fill(0xa5); // written over entirely
  assert.deepEqual(writeSlices(a, bytes), counts);
  return { counts, ...readBack(bytes, counts.quads, counts.slices) };
}

Deno.test("two rows, one quad: slices per block as many as the fullest lane needs, unused slots 0", () => {
  // Row 0: columns 0..4 and 17; row 1: columns 16 and 39 (blocks of 16 columns: 0, 1, 2).
  const out = sliced({
    rows: 2,
    rowPtr: new Uint32Array([0, 6, 8]),
    colIdx: new Uint16Array([0, 1, 2, 3, 4, 17, 16, 39]),
    codes: new Int8Array([1, -2, 3, -128, 127, 6, 7, -8]),
    scales: new Float32Array([0.5]),
    group: 64,
  });
  assert.deepEqual(out.counts, { quads: 1, slices: 4 });
  assert.deepEqual(out.quads, [{
    rows: [0, 1, 0, 0],
    scales: [0.5, 0.5, 0, 0],
    offsets: [64 * (1 - 2 + 3 - 128 + 127 + 6), 64 * (7 - 8), 0, 0],
    end: 4,
  }]);
  const z4 = [0, 0, 0, 0];
  assert.deepEqual(out.slices, [
    { block: 0, idx: [0, 1, 2, 3, ...z4, ...z4, ...z4], codes: [1, -2, 3, -128, ...z4, ...z4, ...z4] },
    { block: 0, idx: [4, 0, 0, 0, ...z4, ...z4, ...z4], codes: [127, 0, 0, 0, ...z4, ...z4, ...z4] },
    { block: 1, idx: [1, 0, 0, 0, 0, 0, 0, 0, ...z4, ...z4], codes: [6, 0, 0, 0, 7, 0, 0, 0, ...z4, ...z4] },
    { block: 2, idx: [...z4, 7, 0, 0, 0, ...z4, ...z4], codes: [...z4, -8, 0, 0, 0, ...z4, ...z4] },
  ]);
});

Deno.test("scale groups cut rows into segments, ordered by the blocks they span; the last quad padded", () => {
  // Group 2 over 7 non-zeros: row 0 = k 0..2 → [0,2) [2,3); row 1 = k 3..6 → [3,4) [4,6) [6,7). In block
  // order (first block, last block, length): [2,3) [3,4) [0,2) [4,6) in block 0, then [6,7) in block 1.
  const out = sliced({
    rows: 3,
    rowPtr: new Uint32Array([0, 3, 7, 7]),
    colIdx: new Uint16Array([0, 5, 9, 1, 2, 3, 20]),
    codes: new Int8Array([1, 2, 3, 4, 5, 6, 7]),
    scales: new Float32Array([1, 2, 3, 4]),
    group: 2,
  });
  assert.deepEqual(out.counts, { quads: 2, slices: 2 });
  assert.deepEqual(out.quads.map((q) => q.rows), [[0, 1, 0, 1], [1, 0, 0, 0]]);
  assert.deepEqual(out.quads.map((q) => q.scales), [[2, 2, 1, 3], [4, 0, 0, 0]]);
  assert.deepEqual(out.quads.map((q) => q.offsets), [[64 * 3, 64 * 4, 64 * 3, 64 * 11], [64 * 7, 0, 0, 0]]);
  assert.deepEqual(out.quads.map((q) => q.end), [1, 2]);
  assert.deepEqual(out.slices[0].idx, [9, 0, 0, 0, 1, 0, 0, 0, 0, 5, 0, 0, 2, 3, 0, 0]);
  assert.deepEqual(out.slices[0].codes, [3, 0, 0, 0, 4, 0, 0, 0, 1, 2, 0, 0, 5, 6, 0, 0]);
  assert.deepEqual(out.slices[1], {
    block: 1,
    idx: [4, 0, 0, 0, ...new Array(12).fill(0)],
    codes: [7, 0, 0, 0, ...new Array(12).fill(0)],
  });
});

Deno.test("no non-zeros: no quads, no slices, no bytes", () => {
  const a = { rows: 4, rowPtr: new Uint32Array(5), colIdx: new Uint16Array(0), group: 1 };
  assert.deepEqual(sliceCounts(a), { quads: 0, slices: 0 });
  assert.equal(slicedBytes(sliceCounts(a)), 0);
});
