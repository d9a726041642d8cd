/**
 * Every example of README.md runs (tests/readme_examples.ts says how), and the output it shows under each
 * command is what the command printed: `deno task readme` rewrites the outputs after a change.
 */
import assert from "node:assert/strict";
import {
  allDifferences,
  type BlockRun,
  bytesDifferences,
  differences,
  normalize,
  parseBytesTables,
  parseExamples,
  rewrite,
  rewriteBytes,
  runBlock,
  runExamples,
  sameOutput,
  World,
} from "./readme_examples.ts";
import { needs } from "./helpers.ts";

const ROOT = new URL("../", import.meta.url).pathname.replace(/\/$/, "");

function have(program: string): boolean {
  try {
    return new Deno.Command(program, { args: ["--version"], stdout: "null", stderr: "null" }).outputSync()
      .success;
  } catch {
    return false;
  }
}

const SAMPLE = [
  "text",
  "<!-- example: sh -->",
  "```sh",
  "echo one \\",
  "  two",
  "# one two",
  "false   # exits 1",
  "printf 'a\\n\\nb\\n'",
  "# a",
  "#",
  "# b",
  "```",
  "```json",
  "{}",
  "```",
  "<!-- example: skip hours of work -->",
  "", // deno fmt's blank line between the directive and the block
  "```sh",
  "sleep 99999",
  "```",
].join("\n");

Deno.test("parseExamples() reads each block's directive, its commands and the output under each", () => {
  const [sh, skip, ...rest] = parseExamples(SAMPLE);
  assert.equal(rest.length, 0); // the json block is not an example
  assert.equal(sh.kind, "sh");
  assert.equal(sh.line, 2);
  assert.deepEqual(sh.commands.map((c) => [c.text, c.line, c.shown, c.expectedExit]), [
    ["echo one \\\n  two", 3, ["one two"], 0],
    ["false   # exits 1", 6, [], 1],
    ["printf 'a\\n\\nb\\n'", 7, ["a", "", "b"], 0],
  ]);
  assert.equal(skip.kind, "skip");
  assert.equal(skip.reason, "hours of work");
});

Deno.test("parseExamples() refuses a block without a directive, a skip without a reason, unknown options", () => {
  assert.throws(
    () => parseExamples("a\n```sh\nls\n```"),
    /^Error: README\.md:2: a ```sh block needs a comment/,
  );
  assert.throws(
    () => parseExamples("<!-- example: skip -->\n```sh\nls\n```"),
    /README\.md:2: .*needs a reason/,
  );
  assert.throws(
    () => parseExamples("<!-- example: sh serve -->\n```sh\nls\n```"),
    /"serve" is not an option/,
  );
  assert.throws(
    () => parseExamples("<!-- example: sh needs=gpu -->\n```sh\nls\n```"),
    /needs=gpu: known are/,
  );
  assert.throws(() => parseExamples("<!-- example: ts -->\n```ts\nlet a;\n```"), /needs file=NAME\.ts/);
  assert.throws(
    () => parseExamples("<!-- example: sh -->\n```sh\n# out\nls\n```"),
    /output line "# out" before/,
  );
  assert.throws(() => parseExamples("<!-- example: sh -->\n```sh\nls\n"), /README\.md:2: .*never closed/);
});

Deno.test("sameOutput() lets timings differ and nothing else", () => {
  assert.equal(
    normalize("perplexity 4.97 over 142 tokens in 0.0 s  "),
    "perplexity 4.97 over 142 tokens in … s",
  );
  assert.ok(sameOutput(["in 0.0 s, 2.4 ms"], ["in 0.1 s, 12 ms"]));
  assert.ok(!sameOutput(["perplexity 4.9707"], ["perplexity 4.9708"]));
  assert.ok(!sameOutput(["1147152 bytes"], ["1147216 bytes"]));
  assert.ok(!sameOutput(["a"], ["a", ""]));
});

Deno.test("rewrite() puts what each command printed under it, keeping output that matches but for timings", () => {
  const [sh, skip] = parseExamples(SAMPLE);
  const runs: BlockRun[] = [{ block: sh, outputs: [["one  two"], ["error"], ["a", "", "b"]] }, {
    block: skip,
    skipped: "hours of work",
  }];
  const lines = rewrite(SAMPLE, runs).split("\n");
  assert.deepEqual(lines.slice(3, 12), [
    "echo one \\",
    "  two",
    "# one  two",
    "false   # exits 1",
    "# error",
    "printf 'a\\n\\nb\\n'",
    "# a",
    "#",
    "# b",
  ]);
  assert.equal(lines.slice(12).join("\n"), SAMPLE.split("\n").slice(11).join("\n"));
  assert.equal(differences(runs).length, 2);
  assert.match(
    differences(runs)[0],
    /^README\.md:4: `echo one \\\n {2}two`\n {2}README shows:\n {4}one two\n/,
  );
  const timed = "<!-- example: sh -->\n```sh\necho\n# in 0.0 s\n```";
  const [t] = parseExamples(timed);
  assert.equal(rewrite(timed, [{ block: t, outputs: [["in 0.3 s"]] }]), timed);
});

Deno.test("runBlock() carries variables between commands, shows stderr of a failure, refuses a surprise exit", async () => {
  const world = await World.create(ROOT, false);
  try {
    const md = [
      "<!-- example: sh -->",
      "```sh",
      "x=$(echo 42); echo warning >&2",
      'echo "x is $x"',
      "ls no-such-file   # exits 2",
      "```",
    ].join("\n");
    const run = await runBlock(world, parseExamples(md)[0]);
    assert.deepEqual(run.outputs?.[0], []); // stderr of a command that succeeds is not output
    assert.deepEqual(run.outputs?.[1], ["x is 42"]);
    assert.match(run.outputs![2].join("\n"), /no-such-file/);
    const surprise = "<!-- example: sh -->\n```sh\necho ok\ncurl -s localhost:1/ | cat\n```";
    await assert.rejects(
      runBlock(world, parseExamples(surprise)[0]),
      /README\.md:4: `curl -s localhost:1\/ \| cat` exited 7, expected 0/,
    );
  } finally {
    await world.close();
  }
});

Deno.test(
  "every README example runs, and README.md shows what each command printed (`deno task readme` updates it)",
  needs(have("jq") && have("curl"), "jq or curl is not installed (Debian: apt-get install jq curl)"),
  async () => {
    const markdown = await Deno.readTextFile(`${ROOT}/README.md`);
    const result = await runExamples(markdown, ROOT);
    const { runs } = result;
    const ran = runs.filter((r) => r.outputs);
    for (const r of runs) if (r.skipped) console.log(`README.md:${r.block.line + 1} not run: ${r.skipped}`);
    // The README holds shell examples against a server, the library snippet and its command.
    assert.ok(ran.filter((r) => r.block.serve).length >= 3, `${ran.length} blocks ran`);
    assert.ok(ran.some((r) => r.block.kind === "ts"));
    assert.ok(result.bytes.length >= 10, `${result.bytes.length} table byte counts measured`);
    const diffs = allDifferences(result);
    assert.equal(
      diffs.length,
      0,
      `${diffs.length} README outputs or byte counts differ from what the commands print and write (deno task readme rewrites them):\n\n` +
        diffs.join("\n\n"),
    );
  },
);

Deno.test("parseBytesTables() finds each row's name; rewriteBytes() writes file sizes, keeping alignment", () => {
  const md = [
    '<!-- example: bytes 2="m.onnx --method {}" 4="m.onnx --method {}:s16" -->',
    "",
    "| method       | bytes     | ppl | s16   |",
    "| ------------ | --------: | --- | ----- |",
    "| `int8`       | 4,957,472 | 1.0 | 4,000 |",
    "| `int4` (g32) |    72,000 | 2.0 | 3,000 |",
  ].join("\n");
  const [table] = parseBytesTables(md);
  assert.deepEqual(table.rows, [{ line: 4, name: "int8" }, { line: 5, name: "int4" }]);
  assert.deepEqual([...table.columns], [[2, "m.onnx --method {}"], [4, "m.onnx --method {}:s16"]]);
  assert.deepEqual([...table.right], [2]); // "--------:"
  const cell = (line: number, column: number, shown: string, bytes: number) => ({
    line,
    column,
    args: "",
    shown,
    bytes,
    right: table.right.has(column),
  });
  const measured = [cell(4, 2, "4,957,472", 4957536), cell(4, 4, "4,000", 400), cell(5, 2, "72,000", 72064)];
  assert.deepEqual(rewriteBytes(md, measured).split("\n").slice(4), [
    "| `int8`       | 4,957,536 | 1.0 | 400   |",
    "| `int4` (g32) |    72,064 | 2.0 | 3,000 |",
  ]);
  assert.deepEqual(bytesDifferences(measured).length, 3);
  assert.deepEqual(table.needs, []);
  const needy =
    '<!-- example: bytes 2="d --method {}" needs=ml5-charrnn -->\n| a | b |\n| - | - |\n| `f16` | 1 |';
  assert.deepEqual(parseBytesTables(needy)[0].needs, ["ml5-charrnn"]);
  assert.throws(() => parseBytesTables(needy.replace("ml5-charrnn", "gpu")), /needs=gpu: known are/);
  assert.throws(
    () => parseBytesTables("<!-- example: bytes 2=x -->\n| a |"),
    /"2=x" is not COLUMN="COMPILE ARGS"/,
  );
  assert.throws(() => parseBytesTables('<!-- example: bytes 2="x" -->\ntext'), /must come before a table/);
  assert.throws(
    () => parseBytesTables('<!-- example: bytes 2="x" -->\n| a | b |\n| - | - |\n| c | 1 |'),
    /README\.md:4: the row's first cell has no `name`/,
  );
});
