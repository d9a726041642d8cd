import assert from "node:assert/strict";
import { irMatrix } from "../ir.ts";
import { checkStorage, decodeStorage, describeStorage, encodeStorage } from "./storage.ts";
import { mulberry32 } from "../../runtime/random.ts";
import { f16BitsToF32, f32ToF16Bits } from "../../runtime/format/f16.ts";
import type { StorageSpec } from "./method.ts";

Deno.test("encodeStorage() int8 reproduces SPEC.md's per-row example byte for byte", () => {
  const e = encodeStorage(irMatrix("w", 1, 4, new Float32Array([0.5, -1.0, 0.25, 1.27])), { type: "int8" });
  assert.equal(e.encoding.kind, "quantized");
  if (e.encoding.kind !== "quantized") return;
  assert.equal(e.encoding.bits, 8);
  assert.equal(e.encoding.groupSize, 4);
  assert.deepEqual(new Uint8Array(e.encoding.scales.buffer), new Uint8Array([0x0a, 0xd7, 0x23, 0x3c]));
  assert.deepEqual(e.encoding.data, new Uint8Array([0x32, 0x9c, 0x19, 0x7f]));
});

Deno.test("encodeStorage() int4 packs element 2k in the low nibble, padding the odd column with 0", () => {
  // One group; scale = 7/7 = 1, so q = x.
  const odd = encodeStorage(irMatrix("w", 1, 3, new Float32Array([1, -2, 7])), { type: "int4" });
  assert.ok(odd.encoding.kind === "quantized");
  assert.deepEqual(odd.encoding.data, new Uint8Array([0xe1, 0x07]));
  const even = encodeStorage(irMatrix("w", 1, 4, new Float32Array([1, -2, 3, 7])), { type: "int4" });
  assert.ok(even.encoding.kind === "quantized");
  assert.deepEqual(even.encoding.data, new Uint8Array([0xe1, 0x73]));
});

Deno.test("encodeStorage() gives an all-zero row scale 0 and q = 0", () => {
  const e = encodeStorage(irMatrix("w", 2, 3, new Float32Array([0, 0, 0, 1, 2, 3])), { type: "int8" });
  assert.ok(e.encoding.kind === "quantized");
  assert.equal(e.encoding.scales[0], 0);
  assert.deepEqual([...decodeStorage(e).subarray(0, 3)], [0, 0, 0]);
});

Deno.test("encodeStorage() rejects non-finite values and bad group sizes with the place named", () => {
  const m = irMatrix("decoder", 1, 2, new Float32Array([1, NaN]));
  assert.throws(() => encodeStorage(m, { type: "int8" }), /"decoder".*NaN at row 0, column 1/);
  assert.throws(() => checkStorage({ type: "int4", groupSize: 0 }), /whole number ≥ 1, got 0/);
  assert.throws(() => checkStorage({ type: "int3" } as unknown as StorageSpec), /Unknown storage type/);
});

Deno.test("decodeStorage(encodeStorage()) is within half a step of every element (int8, int4, random shapes)", () => {
  const rand = mulberry32(11);
  const specs: StorageSpec[] = [
    { type: "int8" },
    { type: "int8", groupSize: 5 },
    { type: "int4" },
    { type: "int4", groupSize: 7 },
    { type: "int4", groupSize: 64 },
  ];
  for (let trial = 0; trial < 40; trial++) {
    const rows = 1 + Math.floor(rand() * 9);
    const cols = 1 + Math.floor(rand() * 80);
    const data = new Float32Array(rows * cols);
    const mag = 10 ** (rand() * 6 - 3);
    for (let i = 0; i < data.length; i++) data[i] = (2 * rand() - 1) * mag;
    data.fill(0, 0, cols); // row 0 all zeros
    if (rows > 2) data.fill(0, 2 * cols, 2 * cols + Math.min(cols, 3)); // partly zero group
    const m = irMatrix("w", rows, cols, data);
    for (const spec of specs) {
      const e = encodeStorage(m, spec);
      assert.ok(e.encoding.kind === "quantized");
      const { scales, groupSize } = e.encoding;
      const gpr = Math.ceil(cols / groupSize);
      const back = decodeStorage(e);
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < cols; c++) {
          const s = scales[r * gpr + Math.floor(c / groupSize)];
          const err = Math.abs(back[r * cols + c] - data[r * cols + c]);
          assert.ok(
            err <= s / 2 * (1 + 1e-6) + 1e-30,
            `${describeStorage(spec)} ${rows}×${cols} (${r}, ${c}): error ${err} > half step ${s / 2}`,
          );
        }
      }
    }
  }
});

Deno.test("encodeStorage() f32 and f16 are the dense encodings; decodeStorage() inverts f32 exactly", () => {
  const m = irMatrix("w", 2, 2, new Float32Array([1.5, -2.25, 1e-3, 3]));
  const e = encodeStorage(m, { type: "f32" });
  assert.deepEqual(decodeStorage(e), m.data);
  const h = encodeStorage(m, { type: "f16" });
  assert.ok(h.encoding.kind === "dense" && h.encoding.type === "f16");
  assert.ok(Math.abs(decodeStorage(h)[2] - 1e-3) < 1e-6);
});

Deno.test("describeStorage() names the storage as reports show it", () => {
  assert.equal(describeStorage({ type: "int8" }), "int8 per-row");
  assert.equal(describeStorage({ type: "int8", groupSize: 64 }), "int8 g64");
  assert.equal(describeStorage({ type: "int4" }), "int4 g32");
  assert.equal(describeStorage({ type: "f16" }), "f16");
});

Deno.test("encodeStorage() with :s16 stores binary16 scales at or above max / qmax, codes within ±qmax, within half a step", () => {
  const rand = mulberry32(12);
  for (
    const spec of [{ type: "int8", scales: "f16" }, { type: "int4", groupSize: 8, scales: "f16" }] as const
  ) {
    const m = irMatrix("w", 7, 29, Float32Array.from({ length: 7 * 29 }, () => rand() - 0.5));
    const e = encodeStorage(m, spec);
    const enc = e.encoding;
    if (enc.kind !== "quantized") throw new Error("not quantized");
    assert.equal(enc.scaleType, "f16");
    const qmax = spec.type === "int8" ? 127 : 7;
    const g = enc.groupSize;
    const groups = Math.ceil(29 / g);
    const decoded = decodeStorage(e);
    for (let r = 0; r < 7; r++) {
      for (let k = 0; k < groups; k++) {
        const s: number = enc.scales[r * groups + k];
        assert.equal(f16BitsToF32(f32ToF16Bits(s)), s, "the scale is a binary16 value");
        let max = 0;
        for (let c = k * g; c < Math.min(29, (k + 1) * g); c++) {
          max = Math.max(max, Math.abs(m.data[r * 29 + c]));
        }
        assert.ok(s >= max / qmax && s < (max / qmax) * (1 + 2 ** -9), `scale ${s} for max ${max}`);
        for (let c = k * g; c < Math.min(29, (k + 1) * g); c++) {
          assert.ok(Math.abs(decoded[r * 29 + c] - m.data[r * 29 + c]) <= s / 2 + 1e-7, `(${r}, ${c})`);
        }
      }
    }
  }
  assert.equal(describeStorage({ type: "int4", groupSize: 64, scales: "f16" }), "int4 g64 s16");
  assert.throws(() => checkStorage({ type: "f16", scales: "f16" }), /only int8 and int4 take f16 scales/);
  assert.throws(
    () => encodeStorage(irMatrix("w", 1, 1, new Float32Array([1e7])), { type: "int8", scales: "f16" }),
    /does not fit float16 scales/,
  );
});
