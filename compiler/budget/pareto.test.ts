import assert from "node:assert/strict";
import { dominates, paretoFront } from "./pareto.ts";

type P = { name: string; bytes: number; ppl: number; ms: number };
const p = (name: string, bytes: number, ppl: number, ms = 1): P => ({ name, bytes, ppl, ms });
const byBytes = (x: P) => x.bytes;
const byPpl = (x: P) => x.ppl;
const byMs = (x: P) => x.ms;

Deno.test("paretoFront() keeps the points nothing beats in both size and perplexity, sorted by size", () => {
  const points = [
    p("big-good", 10, 100),
    p("small-bad", 2, 150),
    p("mid", 5, 120),
    p("beaten", 6, 130),
    p("x", 3, 160),
  ];
  const front = paretoFront(points, [byBytes, byPpl]);
  assert.deepEqual(front.map((q) => q.name), ["small-bad", "mid", "big-good"]);
});

Deno.test("paretoFront() with three objectives keeps a slower-but-smaller and a bigger-but-faster point", () => {
  const points = [p("a", 5, 120, 2), p("b", 6, 120, 1), p("c", 6, 121, 2), p("d", 4, 130, 3)];
  const front = paretoFront(points, [byBytes, byPpl, byMs]);
  assert.deepEqual(front.map((q) => q.name), ["d", "a", "b"]);
});

Deno.test("paretoFront() keeps the first of equal points and treats NaN as worst", () => {
  const front = paretoFront([p("one", 5, 100), p("two", 5, 100), p("nan", 1, NaN)], [byBytes, byPpl]);
  assert.deepEqual(front.map((q) => q.name), ["nan", "one"]);
  assert.deepEqual(paretoFront([], [byBytes]), []);
  assert.throws(() => paretoFront([p("a", 1, 1)], []), /at least one objective/);
});

Deno.test("paretoFront() agrees with a brute-force dominance check on random points", () => {
  let s = 7;
  const rand = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) % 1000) / 10;
  for (let trial = 0; trial < 20; trial++) {
    const points = Array.from(
      { length: 60 },
      (_, i) => p(`p${i}`, Math.round(rand()), Math.round(rand()), Math.round(rand())),
    );
    const objectives = [byBytes, byPpl, byMs];
    const front = new Set(paretoFront(points, objectives));
    for (const q of points) {
      const beaten = points.some((o) => dominates(o, q, objectives));
      const duplicateKept = [...front].some((o) => o !== q && objectives.every((f) => f(o) === f(q)));
      assert.equal(front.has(q), !beaten && !duplicateKept, q.name);
    }
  }
});
