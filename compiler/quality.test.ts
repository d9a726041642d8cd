import assert from "node:assert/strict";
import { compileQuality, meanDivergence, QUALITY_THRESHOLDS, qualityVerdict } from "./quality.ts";

Deno.test("qualityVerdict() is fine up to +5 %, noticeable up to +50 %, ruined beyond (and for NaN)", () => {
  assert.equal(qualityVerdict(-0.2), "fine");
  assert.equal(qualityVerdict(QUALITY_THRESHOLDS.fine), "fine");
  assert.equal(qualityVerdict(0.0501), "noticeable");
  assert.equal(qualityVerdict(QUALITY_THRESHOLDS.noticeable), "noticeable");
  assert.equal(qualityVerdict(0.5001), "ruined");
  assert.equal(qualityVerdict(14), "ruined");
  assert.equal(qualityVerdict(NaN), "ruined");
});

Deno.test("meanDivergence() is 0 for equal logits (up to a shift) and KL(p‖q) for two rows", () => {
  const a = new Float32Array([1, 2, 3, 0, 0, 0]);
  assert.equal(meanDivergence(a, new Float32Array([11, 12, 13, 5, 5, 5]), 3), 0);
  // Row 1: p = (1/2, 1/2), q = (e/(1+e), 1/(1+e)); row 2: equal. Mean = KL(row 1) / 2.
  const p = new Float32Array([0, 0, 4, 1]);
  const q = new Float32Array([1, 0, 4, 1]);
  const q1 = Math.E / (1 + Math.E);
  const kl = 0.5 * Math.log(0.5 / q1) + 0.5 * Math.log(0.5 / (1 - q1));
  assert.ok(Math.abs(meanDivergence(p, q, 2) - kl / 2) < 1e-7, `${meanDivergence(p, q, 2)} vs ${kl / 2}`);
  assert.ok(meanDivergence(q, p, 2) > 0);
  assert.throws(() => meanDivergence(p, new Float32Array(3), 2), /not rows of 2/);
});

Deno.test("compileQuality() uses the --eval perplexity when measured, else exp(KL) − 1, else nothing", () => {
  assert.deepEqual(
    compileQuality({ perplexitySource: 100, perplexityCompiled: 130, checkDivergence: 0.001 }),
    {
      verdict: "noticeable",
      increase: 0.30000000000000004,
      basis: "eval",
    },
  );
  const expected = compileQuality({ checkDivergence: Math.log(3) });
  assert.equal(expected?.basis, "reference");
  assert.ok(Math.abs(expected!.increase - 2) < 1e-12);
  assert.equal(expected?.verdict, "ruined");
  assert.equal(compileQuality({ perplexityCompiled: 120 }), undefined);
});
