/**
 * The budgeted compile as a user runs it: `deno task compile … --target-size …` in subprocesses, on a
 * fixture model (seconds, not minutes).
 */
import assert from "node:assert/strict";
import { fixtureText, LSTM2_FIXTURE, runTask } from "./helpers.ts";
import { LstmModel } from "../runtime/model.ts";

const FIXTURE = LSTM2_FIXTURE;
const MENU = "int8,int4:g32,lowrank:4+int8,prune:0.7+int8";

const TEXT_LINES = 200;

Deno.test("compile --target-size rejects bad flags before reading anything (exit 2, one line)", async () => {
  const missing = "/nonexistent/model.onnx"; // never read: the flags are checked first
  const cases: [string[], RegExp][] = [
    [["--target-size", "3MB", "--eval", "v.txt"], /--target-size must be a whole number ≥ 1, got "3MB"/],
    [["--target-size=-5", "--eval", "v.txt"], /--target-size must be a whole number ≥ 1, got "-5"/],
    [["--target-size", "1.5", "--eval", "v.txt"], /--target-size must be a whole number ≥ 1, got "1\.5"/],
    [["--target-size", "3000"], /--target-size needs --eval VALID_TEXT/],
    [["--target-size", "3000", "--eval", "v.txt", "--method", "int8"], /cannot be combined with --method/],
    [["--target-size", "3000", "--eval", "v.txt", "--recipe", "r.json"], /cannot be combined with --recipe/],
    [["--max-ms-per-token", "5", "--eval", "v.txt"], /--max-ms-per-token goes with --target-size/],
    [["--write-closest"], /--write-closest goes with --target-size/],
    [
      ["--target-size", "3000", "--eval", "v.txt", "--max-ppl-increase=-1"],
      /--max-ppl-increase must be a number ≥ 0/,
    ],
    [["--target-size", "3000", "--eval", "v.txt", "--max-ppl-increase", "five"], /got "five"/],
    [
      ["--target-size", "3000", "--eval", "v.txt", "--max-ms-per-token", "0"],
      /--max-ms-per-token must be a number > 0/,
    ],
    [["--target-size", "3000", "--eval", "v.txt", "--menu", "int8,int9"], /--menu: Invalid method "int9"/],
    [["--target-size", "3000", "--eval", "v.txt", "--menu", "int8,f32"], /--menu: .*f32.*always a choice/],
    [["--target-size", "3000", "--eval", "v.txt", "--plot", "x.png"], /--plot writes an SVG file/],
    [
      ["--target-size", "3000", "--eval", "v.txt", "--subset-tokens", "1"],
      /--subset-tokens must be a whole number ≥ 2/,
    ],
    [
      ["--target-size", "3000", "--eval", "v.txt", "--finalists", "0"],
      /--finalists must be a whole number ≥ 1/,
    ],
  ];
  const results = await Promise.all(cases.map(([args]) => runTask("compile", missing, ...args)));
  results.forEach((r, i) => {
    const what = cases[i][0].join(" ");
    assert.equal(r.code, 2, `${what}: ${r.stderr}`);
    assert.match(r.stderr, cases[i][1], what);
    assert.match(r.stderr, /^error: /m, what); // (deno may print a lock-wait line first)
    assert.doesNotMatch(r.stderr, /does not exist|\n\s+at /, what);
  });
});

Deno.test("compile --target-size searches, writes a model within the size, the plot and a recipe --recipe reproduces", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const txt = `${dir}/valid.txt`;
    await Deno.writeTextFile(txt, fixtureText(TEXT_LINES));
    const out = `${dir}/m.lem`;
    const recipe = `${dir}/chosen.json`;
    const r = await runTask(
      "compile",
      FIXTURE,
      "--target-size",
      "9000",
      "--eval",
      txt,
      "-o",
      out,
      "--menu",
      MENU,
      "--subset-tokens",
      "300",
      "--write-recipe",
      recipe,
    );
    assert.equal(r.code, 0, r.stderr);
    // Progress on stderr: every stage, candidate i/n and elapsed time.
    for (const stage of ["baseline", "encode", "sensitivity", "combine", "final"]) {
      assert.match(r.stderr, new RegExp(`\\[${stage} \\d+/\\d+ · \\d+:\\d\\d\\]`), stage);
    }
    // The frontier table on stdout, the chosen row marked.
    assert.match(r.stdout, /Pareto frontier/);
    assert.match(r.stdout, /bytes\s+subset PPL\s+valid PPL\s+ms\/token\s+meets\s+methods/);
    assert.match(r.stdout, /^\*\s+[\d,]+\s+\d+\.\d\d \([+-]\d+\.\d\d %\)\s+\d+\.\d\d/m);
    assert.match(r.stdout, /search: \d+ models scored/);
    const bytes = await Deno.readFile(out);
    assert.ok(bytes.length <= 9000, `${bytes.length} bytes`);
    const lm = await LstmModel.load(bytes);
    assert.ok(lm.info.metrics.perplexity_compiled > 1);
    // The chosen recipe went through the common compile: checked against onnxruntime-web, measured.
    assert.match(
      r.stdout,
      /check against onnxruntime-web: max \|logit difference\| \d\.\d\de[+-]\d+ over 32 tokens/,
    );
    assert.ok(lm.info.metrics.check_max_abs_logit_diff >= 0);
    assert.ok(lm.info.metrics.perplexity_source > 1);

    const svg = await Deno.readTextFile(`${dir}/m.pareto.svg`);
    assert.match(svg, /^<svg /);
    assert.match(svg, /class="point chosen"/);
    assert.ok(svg.trimEnd().endsWith("</svg>"));

    // The recipe reproduces the chosen model's tensors without searching.
    const chosen = JSON.parse(await Deno.readTextFile(recipe));
    assert.equal(chosen.rules.length, 6);
    assert.match(chosen.description, /Chosen by `deno task compile .*--target-size 9000/);
    // With the same --eval text it writes the very same file: one pipeline.
    const again = await runTask(
      "compile",
      FIXTURE,
      "--recipe",
      recipe,
      "--eval",
      txt,
      "-o",
      `${dir}/again.lem`,
    );
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(await Deno.readFile(`${dir}/again.lem`), bytes);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("compile --target-size that cannot be met exits 3, says why and what came closest, writes no model", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const txt = `${dir}/valid.txt`;
    await Deno.writeTextFile(txt, fixtureText(TEXT_LINES));
    const args = [
      FIXTURE,
      "--target-size",
      "100",
      "--eval",
      txt,
      "--menu",
      "int8,int4:g32",
      "--subset-tokens",
      "200",
    ];
    const [r, closest] = await Promise.all([
      runTask("compile", ...args, "-o", `${dir}/none.lem`),
      runTask("compile", ...args, "-o", `${dir}/closest.lem`, "--write-closest"),
    ]);
    assert.equal(r.code, 3, r.stderr);
    assert.match(
      r.stderr,
      /error: no model meets --target-size 100: --target-size 100: every tensor at its smallest usable choice makes about \d+ bytes/,
    );
    assert.match(r.stderr, /closest: \d+ bytes, valid perplexity \d+\.\d\d .*misses --target-size by \d+/);
    assert.match(r.stderr, /nothing written to/);
    assert.match(r.stdout, /Pareto frontier/, "the frontier is printed anyway");
    const files = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
    assert.ok(!files.includes("none.lem"));
    assert.ok(files.includes("none.pareto.svg"), "the plot is written anyway");

    assert.equal(closest.code, 3, closest.stderr);
    assert.match(closest.stderr, /wrote it to .*closest\.lem anyway \(--write-closest\)/);
    assert.ok(files.includes("closest.lem"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("compile --help describes the budgeted compile", async () => {
  const help = await runTask("compile", "--help");
  assert.equal(help.code, 0);
  for (
    const flag of [
      "--target-size",
      "--max-ppl-increase",
      "--max-ms-per-token",
      "--plot",
      "--write-recipe",
      "--write-closest",
    ]
  ) {
    assert.ok(help.stdout.includes(flag), flag);
  }
});
