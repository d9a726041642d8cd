/**
 * Every `deno task` explains itself with `--help` (exit 0, a usage text, nothing else done), and
 * bench:load refuses a missing model instead of benchmarking another one.
 */
import assert from "node:assert/strict";
import { runTask } from "./helpers.ts";

const tasks = Object.keys(
  JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url))).tasks,
);

Deno.test("every task in deno.json answers --help with exit 0 and a usage text, doing nothing else", async () => {
  assert.ok(tasks.length >= 11, tasks.join(" "));
  for (const task of tasks) {
    const r = await runTask(task, "--help");
    assert.equal(r.code, 0, `${task}: ${r.stderr}`);
    // Ours print "usage: deno task NAME …"; `test` is deno's own test runner ("Usage: deno test").
    const usage = task === "test" ? /^Usage: deno test/m : new RegExp(`^usage: deno task ${task}\\b`);
    assert.match(r.stdout, usage, task);
    assert.doesNotMatch(r.stdout + r.stderr, /\bwrote\b|\n\s+at /, task); // built nothing, no stack trace
  }
});

Deno.test("bench:load with a missing model says so (exit 1) instead of benchmarking a random one", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const r = await runTask("bench:load", `${dir}/ptb-small.lem`);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      new RegExp(`^error: Model file "${dir}/ptb-small\\.lem" does not exist; --random`, "m"),
    );
    const bad = await runTask("bench:load", "--duration", "0");
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--duration must be a whole number ≥ 1, got "0"/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
