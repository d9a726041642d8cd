import assert from "node:assert/strict";
import { formatBytes, formatPercent } from "./format.ts";

Deno.test("formatBytes() writes decimal units, trimmed for axis ticks", () => {
  assert.equal(formatBytes(18_784_480), "18.78 MB");
  assert.equal(formatBytes(163_200), "163.2 kB");
  assert.equal(formatBytes(512), "512 B");
  assert.equal(formatBytes(3_000_000, { trim: true }), "3 MB");
  assert.equal(formatBytes(500_000, { trim: true }), "500 kB");
  assert.equal(formatBytes(2_500_000, { trim: true }), "2.5 MB");
});

Deno.test("formatPercent() signs a relative change", () => {
  assert.equal(formatPercent(0.0289), "+2.89 %");
  assert.equal(formatPercent(0), "+0.00 %");
  assert.equal(formatPercent(-0.5, 1), "-50.0 %");
});
