import assert from "node:assert/strict";
import { sampleToken } from "./sampling.ts";
import { mulberry32 } from "../random.ts";

const logs = (p: number[]) => new Float32Array(p.map(Math.log));

Deno.test("mulberry32() repeats for a seed and differs between seeds", () => {
  const a = mulberry32(1), b = mulberry32(1), c = mulberry32(2);
  const xs = Array.from({ length: 5 }, a);
  assert.deepEqual(Array.from({ length: 5 }, b), xs);
  assert.notDeepEqual(Array.from({ length: 5 }, c), xs);
  assert.ok(xs.every((x) => x >= 0 && x < 1));
});

Deno.test("sampleToken() at temperature 0 takes the most likely token, ties by smaller id", () => {
  assert.equal(sampleToken(logs([0.2, 0.5, 0.3]), mulberry32(1), { temperature: 0, topK: 0 }), 1);
  assert.equal(sampleToken(logs([0.4, 0.4, 0.2]), mulberry32(1), { temperature: 0, topK: 0 }), 0);
  assert.equal(
    sampleToken(logs([0.2, 0.5, 0.3]), mulberry32(1), { temperature: 0, topK: 0, exclude: [1] }),
    2,
  );
});

Deno.test("sampleToken() follows the distribution, within topK, never an excluded token", () => {
  const p = [0.1, 0.6, 0.3];
  const rand = mulberry32(9);
  const counts = [0, 0, 0];
  for (let i = 0; i < 20000; i++) counts[sampleToken(logs(p), rand, { temperature: 1, topK: 0 })]++;
  counts.forEach((n, i) => assert.ok(Math.abs(n / 20000 - p[i]) < 0.02, `token ${i}: ${n}`));
  for (let i = 0; i < 200; i++) {
    assert.notEqual(sampleToken(logs(p), rand, { temperature: 1, topK: 2 }), 0);
    assert.notEqual(sampleToken(logs(p), rand, { temperature: 5, topK: 0, exclude: [1] }), 1);
  }
});
