import assert from "node:assert/strict";
import { combineOptions, type TensorOption } from "./combine.ts";

const options: TensorOption[][] = [
  [
    { method: "f32", bytes: 800, delta: 0, dms: 0 },
    { method: "int8", bytes: 200, delta: 0.001, dms: -0.1 },
    { method: "int4", bytes: 100, delta: 0.02, dms: 0.2 },
  ],
  [
    { method: "f32", bytes: 400, delta: 0, dms: 0 },
    { method: "int8", bytes: 100, delta: 0.004, dms: -0.05 },
    { method: "lowrank", bytes: 60, delta: 0.05, dms: -0.1 },
  ],
  [{ method: "f32", bytes: 50, delta: 0 }, { method: "int4", bytes: 10, delta: 0.001 }],
];

/** Every combination, by brute force. */
function all(withSpeed: boolean) {
  const out: { methods: string[]; bytes: number; delta: number; dms: number }[] = [];
  for (const a of options[0]) {
    for (const b of options[1]) {
      for (const c of options[2]) {
        out.push({
          methods: [a.method, b.method, c.method],
          bytes: 20 + a.bytes + b.bytes + c.bytes,
          delta: a.delta + b.delta + c.delta,
          dms: withSpeed ? (a.dms ?? 0) + (b.dms ?? 0) + (c.dms ?? 0) : 0,
        });
      }
    }
  }
  return out;
}

Deno.test("combineOptions() is the Pareto frontier of every combination over bytes and summed Δ", () => {
  const front = combineOptions(options, 20, false);
  const every = all(false);
  for (const c of every) {
    const inFront = front.some((f) => f.methods.join() === c.methods.join());
    const beaten = every.some((o) =>
      o.bytes <= c.bytes && o.delta <= c.delta && (o.bytes < c.bytes || o.delta < c.delta)
    );
    assert.equal(inFront, !beaten, c.methods.join());
  }
  assert.deepEqual(front.map((f) => f.bytes), [...front.map((f) => f.bytes)].sort((a, b) => a - b));
  assert.deepEqual(front[0].methods, ["int4", "lowrank", "int4"]);
  assert.equal(front[0].bytes, 20 + 100 + 60 + 10);
  assert.deepEqual(front.at(-1)!.methods, ["f32", "f32", "f32"]);
});

Deno.test("combineOptions() with speed keeps combinations that are only faster", () => {
  const front = combineOptions(options, 20, true);
  const every = all(true);
  const objectives = (c: { bytes: number; delta: number; dms: number }) => [c.bytes, c.delta, c.dms];
  for (const c of every) {
    const inFront = front.some((f) => f.methods.join() === c.methods.join());
    const beaten = every.some((o) => {
      const a = objectives(o);
      const b = objectives(c);
      return a.every((v, i) => v <= b[i] + 1e-12) && a.some((v, i) => v < b[i] - 1e-12);
    });
    assert.equal(inFront, !beaten, c.methods.join());
  }
  assert.ok(front.length > combineOptions(options, 20, false).length);
});

Deno.test("combineOptions() thins a long frontier evenly and rejects a tensor without options", () => {
  const many: TensorOption[][] = Array.from(
    { length: 4 },
    () =>
      Array.from({ length: 12 }, (_, j) => ({ method: `m${j}`, bytes: 1000 - j * 70, delta: j * j * 0.001 })),
  );
  const front = combineOptions(many, 0, false, 10);
  assert.equal(front.length, 10);
  assert.throws(() => combineOptions([[]], 0, false), /tensor 0 has no option/);
});
