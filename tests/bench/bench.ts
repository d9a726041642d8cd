/**
 * `deno task bench [--json]` — a benchmark, not a test: onnxruntime-web (wasm, one thread) on the dense
 * ONNX against lstm-edge's runtime on f32 and compressed variants of the same model, in one run on one
 * machine. `--help` explains the options and what each column means.
 *
 * The machine is shared and its memory bandwidth drifts minute to minute, so rows are measured
 * round-robin (each round visits every row, starting one row later than the round before) and every
 * speed is the median over rounds; ratios against onnxruntime-web are medians of per-round ratios, so
 * each ratio compares measurements taken seconds apart.
 * @module
 */
import { sequenceMsPerToken, stepwiseMsPerToken } from "../../runtime/timing.ts";
import { parseCli, readInput, runCli, UsageError } from "../../runtime/cli/args.ts";
import { importOnnx } from "../../compiler/onnx/import.ts";
import { compressModel } from "../../compiler/compress.ts";
import { compressChoosingSplits } from "../../compiler/tt_split_choice.ts";
import { writeLem } from "../../compiler/writer.ts";
import { COMPILER } from "../../compiler/compile.ts";
import { RecipeError } from "../../compiler/recipe.ts";
import { OnnxReferenceModel } from "../../compiler/onnxruntime_reference.ts";
import { LstmModel } from "../../runtime/model.ts";
import { Tokenizer } from "../../runtime/tokenizer.ts";
import { kernelWasmUrl, relaxedWasmUrl } from "../../runtime/kernels/kernels.ts";
import { buildWorker, runtimeBytes, WORKER_BUDGET_BYTES } from "../../runtime/entries/build_worker.ts";
import { WORKER_MODULES } from "../../runtime/entries/bundle.ts";
import { stopBundler } from "../../runtime/entries/bundle.ts";
import { readProbe } from "./probe.ts";
import { BUDGET_RECIPE, DEFAULT_VARIANTS, resolveVariant, type Variant } from "./variants.ts";
import { benchMarkdown, type BenchRow, median, type RoundSamples, targets, vsOrt } from "./report.ts";

const ROOT = new URL("../../", import.meta.url);
const SHIPPED = "models/ptb-small.onnx";
const TEXT = "../shared/data/ptb/ptb.test.txt";
const DEFAULT_PPL_TOKENS = 10000;
const USAGE = "deno task bench [--json] [--model FILE.onnx] [--text FILE] [--ppl-tokens N|all] " +
  "[--variants LIST] [--budget-recipe FILE] [--rounds N] [--warmup-rounds N] [--step-tokens N] [--seq-tokens N] [--cold-rounds N]";
const HELP = `
usage: ${USAGE}

Benchmarks onnxruntime-web (wasm backend, numThreads = 1) running the dense ONNX model against
lstm-edge's runtime running the same model compiled to .lem with each variant's compression, in one run.
Rows are measured round-robin, several rounds; numbers are medians over rounds, and every ratio against
onnxruntime-web is the median of the per-round ratios (this machine's memory bandwidth drifts a lot).

Columns (per row):
  model bytes     size of the model file (.onnx for onnxruntime-web, .lem for ours)
  PPL             perplexity on the first --ppl-tokens tokens of --text (deno task eval's convention)
  step ms         ms per token, one token at a time, state carried, next-token output included.
                  ORT: session.run(tokens [1,1], h0, c0) → logits, h, c (raw logits).
                  ours: feed(state, id) + logProbs(state) (also computes the log-softmax over the
                  vocabulary and copies it out as a new Float32Array).
  seq ms/token    ms per token over one --seq-tokens sequence: ORT one run with tokens [T,1];
                  ours model.logits(ids) (raw logits, matrix × matrix path).
  cold start ms   in a fresh deno process per measurement: from model bytes and engine .wasm bytes in
                  memory to the first next-token output — WebAssembly compile + instantiate (ours: both
                  kernel modules, the relaxed-SIMD one too, as deployed), model load/verify (ours) or
                  session creation (ORT, which also imports its 24 KB emscripten glue), one token. Importing the engine's entry JS module is not included (importMs).
  code bytes      runtime code, JS + WASM, model excluded. ours: worker.js + kernels*.wasm of
                  deno task build:worker. ORT: ort.wasm.min.mjs + ort-wasm-simd-threaded.mjs +
                  ort-wasm-simd-threaded.wasm (what a browser/edge deployment of the wasm backend loads;
                  in Deno the node entry + onnxruntime-common load instead, with the same .mjs + .wasm).
  ×ORT            ORT's value / this row's: > 1 means faster (or smaller) than onnxruntime-web.
  step bytes      weight bytes one step reads: every matrix but the embedding, plus one embedding row.
  probe ms        time to stream-read step bytes (a v128 read loop in a separate tiny WASM module).
  step/probe      step ms / probe ms (median of per-round ratios): 1 = bound by memory bandwidth.

Options:
  --json               print exactly one JSON object {"rows": [...], "meta", "targets"} on stdout
  --model FILE.onnx    the model (default ${SHIPPED}); needs h0/c0 inputs and h/c outputs
  --text FILE          PTB-format text for perplexity and the timed tokens (default ${TEXT})
  --ppl-tokens N|all   score the first N tokens of --text (default ${DEFAULT_PPL_TOKENS}; all, ≈ 82 k
                       PTB test tokens, adds ≈ 7 min on a quiet 2-core machine)
  --variants LIST      comma-separated variants (default ${DEFAULT_VARIANTS.join(",")}):
                       METHOD (every matrix), PATTERN=METHOD;… (rules), @FILE (recipe JSON),
                       budget (the --budget-recipe file)
  --budget-recipe FILE the budgeted default's recipe (default ${BUDGET_RECIPE}; while it does not
                       exist, a placeholder: embedding and decoder int4, LSTM int8)
  --rounds N           timing rounds (default 15)
  --warmup-rounds N    unrecorded rounds first (default 4: onnxruntime-web's 14 MB of WASM needs
                       several hundred runs before V8 has tiered its hot functions up)
  --step-tokens N      tokens per row per round, stepwise (default 128)
  --seq-tokens N       sequence length (default 256)
  --cold-rounds N      cold starts per row (default 3)
  -h, --help           this text
`;

function log(message: string) {
  console.error(message);
}

function wholeOption(text: string | undefined, name: string, fallback: number, min = 1): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) {
    throw new UsageError(`--${name} must be a whole number ≥ ${min}, got "${text}"`);
  }
  return n;
}

function argmax(x: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}

/** The ORT files a deployment of the wasm backend needs, and their sizes. */
async function ortFiles(): Promise<{ files: Record<string, number>; wasm: string; denoEntry: string }> {
  const entry = new URL(import.meta.resolve("onnxruntime-web"));
  const dist = new URL("./", entry);
  const names = ["ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm"];
  const files: Record<string, number> = {};
  for (const name of names) files[name] = (await Deno.stat(new URL(name, dist))).size;
  return { files, wasm: new URL("ort-wasm-simd-threaded.wasm", dist).pathname, denoEntry: entry.pathname };
}

/** One engine under test: what the rounds call. */
interface Engine {
  row: Omit<
    BenchRow,
    | "stepMs"
    | "seqMsPerToken"
    | "coldStartMs"
    | "importMs"
    | "probeMs"
    | "stepOverProbe"
    | "probeGBps"
    | "vsOrt"
    | "rounds"
  >;
  /** Mean ms/token over `ids`, one at a time from a zero state. */
  step(ids: readonly number[]): Promise<number>;
  /** ms/token for the whole sequence at once. */
  seq(ids: readonly number[]): Promise<number>;
  /** Argument for tests/bench/cold_start.ts. */
  coldSpec: Record<string, unknown>;
  rounds: RoundSamples;
  importMs: number[];
}

async function coldStart(
  spec: Record<string, unknown>,
): Promise<{ coldStartMs: number; importMs: number; argmax: number }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--config",
      new URL("deno.json", ROOT).pathname,
      new URL("./cold_start.ts", import.meta.url).pathname,
      JSON.stringify(spec),
    ],
    cwd: ROOT.pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  if (!out.success) {
    throw new Error(
      `cold start (${spec.engine}) failed: ${new TextDecoder().decode(out.stderr).trim() || text}`,
    );
  }
  return JSON.parse(text.split("\n").at(-1)!);
}

await runCli(async () => {
  const { values, positionals } = parseCli(Deno.args, {
    json: { type: "boolean" },
    model: { type: "string" },
    text: { type: "string" },
    "ppl-tokens": { type: "string" },
    variants: { type: "string" },
    "budget-recipe": { type: "string" },
    rounds: { type: "string" },
    "warmup-rounds": { type: "string" },
    "step-tokens": { type: "string" },
    "seq-tokens": { type: "string" },
    "cold-rounds": { type: "string" },
  }, HELP);
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const rounds = wholeOption(values.rounds, "rounds", 15);
  const warmupRounds = wholeOption(values["warmup-rounds"], "warmup-rounds", 4, 0);
  const stepTokens = wholeOption(values["step-tokens"], "step-tokens", 128);
  const seqTokens = wholeOption(values["seq-tokens"], "seq-tokens", 256);
  const coldRounds = wholeOption(values["cold-rounds"], "cold-rounds", 3);
  const pplTokens = values["ppl-tokens"] === "all"
    ? Infinity
    : wholeOption(values["ppl-tokens"], "ppl-tokens", DEFAULT_PPL_TOKENS, 2);
  const modelPath = values.model ?? SHIPPED;
  const textPath = values.text ?? TEXT;
  const budgetRecipe = values["budget-recipe"] ?? BUDGET_RECIPE;
  const specs = values.variants
    ? values.variants.split(",").map((v) => v.trim()).filter(Boolean)
    : [...DEFAULT_VARIANTS];
  let variants: Variant[];
  try {
    variants = await Promise.all(specs.map((s) => resolveVariant(s, budgetRecipe)));
  } catch (e) {
    if (e instanceof RecipeError) throw new UsageError(`--variants: ${e.message}`);
    throw e;
  }
  const started = performance.now();
  const loadBefore = Deno.loadavg();

  // The model, its tokenizer, the tokens.
  const onnxBytes = await readInput(modelPath, "Model");
  const text = new TextDecoder().decode(await readInput(textPath, "Text"));
  const ir = importOnnx(onnxBytes, { fileName: modelPath.replace(/^.*[\\/]/, "") });
  const tokenizer = new Tokenizer(ir.vocab, ir.unkId, ir.eosId, ir.tokenizer);
  const allIds = tokenizer.encode(text).ids;
  if (allIds.length < 2) throw new Error(`Text "${textPath}" has fewer than 2 tokens`);
  const pplIds = allIds.slice(0, Math.min(pplTokens, allIds.length));
  const timingIds = Array.from(
    { length: Math.max(stepTokens, seqTokens) },
    (_, i) => allIds[i % allIds.length],
  );
  const stepIds = timingIds.slice(0, stepTokens);
  const seqIds = timingIds.slice(0, seqTokens);

  // Runtime code sizes.
  const tmp = await Deno.makeTempDir({ prefix: "lstm-edge-bench-" });
  const ortInfo = await ortFiles();
  const ortCode = Object.values(ortInfo.files).reduce((a, b) => a + b, 0);
  let ourCode: number;
  const ourFiles: Record<string, number> = {};
  try {
    log("building the worker bundle (runtime code size)");
    const meta = { name: "bench", compiler: COMPILER };
    const smallest = writeLem(compressModel(ir, { rules: [{ tensors: "*", method: "int8" }] }, meta).model);
    await Deno.writeFile(`${tmp}/code-size.lem`, smallest);
    const sizes = await buildWorker(`${tmp}/code-size.lem`, `${tmp}/worker`);
    // What the bundle ships besides the model: worker.js and both kernel modules (runtimeBytes' sum).
    for (const name of ["worker.js", WORKER_MODULES.kernels, WORKER_MODULES.relaxed]) {
      ourFiles[name] = sizes[name];
    }
    ourCode = runtimeBytes(sizes);
  } finally {
    await stopBundler();
  }

  try {
    // onnxruntime-web on the dense ONNX.
    log(`onnxruntime-web: session for ${modelPath}`);
    const ref = await OnnxReferenceModel.create(onnxBytes);
    // Without h/c outputs (the test fixtures) every step starts from the zero state: the same work per token.
    const carried = ref.hasState;
    const embedding = ir.embedding;
    const denseStepBytes = 4 *
      (embedding.cols + ir.decoder.rows * ir.decoder.cols +
        ir.layers.reduce((s, l) => s + l.wIh.rows * l.wIh.cols + l.wHh.rows * l.wHh.cols, 0));
    const first = await ref.run([stepIds[0]]);
    const engines: Engine[] = [{
      row: {
        engine: "onnxruntime-web",
        variant: "dense onnx",
        recipe: "onnx",
        detail: `f32 (onnxruntime-web wasm, numThreads 1)${
          carried ? "" : "; state not carried between steps"
        }`,
        bytes: onnxBytes.length,
        codeBytes: ortCode,
        ppl: NaN,
        pplTokens: pplIds.length,
        stepBytes: denseStepBytes,
        firstArgmax: argmax(first.logits),
      },
      async step(ids) {
        const t0 = performance.now();
        let state;
        for (const id of ids) {
          state = (await ref.run([id], state)).state;
          if (!carried) state = undefined;
        }
        return (performance.now() - t0) / ids.length;
      },
      async seq(ids) {
        const t0 = performance.now();
        await ref.run([...ids]);
        return (performance.now() - t0) / ids.length;
      },
      coldSpec: {
        engine: "ort",
        model: new URL(modelPath, `file://${Deno.cwd()}/`).pathname,
        wasm: ortInfo.wasm,
        token: stepIds[0],
        ort: {
          tokens: ref.layout.tokens,
          state: ref.layout.stateInputs,
          logits: ref.layout.logits,
        },
      },
      rounds: { stepMs: [], seqMsPerToken: [], probeMs: [], coldStartMs: [] },
      importMs: [],
    }];

    // Our runtime on each variant.
    for (const variant of variants) {
      log(`${variant.name}: compressing (${variant.source})`);
      const { model, tensors } = await compressChoosingSplits(ir, variant.recipe, {
        name: `bench ${variant.name}`,
        compiler: COMPILER,
      });
      const bytes = writeLem(model);
      const path = `${tmp}/variant-${engines.length}.lem`;
      await Deno.writeFile(path, bytes);
      const lm = await LstmModel.load(bytes);
      const emb = lm.info.tensors[0];
      const stepBytes = lm.info.tensors.slice(1).reduce((s, t) => s + t.bytes, 0) +
        Math.ceil(emb.bytes / emb.rows);
      const s0 = lm.createState();
      lm.feed(s0, stepIds[0]);
      engines.push({
        row: {
          engine: "lstm-edge",
          variant: variant.name,
          recipe: variant.source,
          detail: tensors.map((t) => `${t.name} ${lm.info.tensors.find((f) => f.name === t.name)!.encoding}`)
            .join(", "),
          bytes: bytes.length,
          codeBytes: ourCode,
          ppl: NaN,
          pplTokens: pplIds.length,
          stepBytes,
          firstArgmax: argmax(lm.logProbs(s0)),
        },
        step: (ids) => Promise.resolve(stepwiseMsPerToken(lm, ids)),
        seq: (ids) => Promise.resolve(sequenceMsPerToken(lm, ids)),
        coldSpec: {
          engine: "ours",
          model: path,
          wasm: kernelWasmUrl.pathname,
          relaxed: relaxedWasmUrl.pathname,
          token: stepIds[0],
        },
        rounds: { stepMs: [], seqMsPerToken: [], probeMs: [], coldStartMs: [] },
        importMs: [],
      });
      // Perplexity now, while this model is the one in cache.
      log(`${variant.name}: perplexity on ${pplIds.length} tokens`);
      engines.at(-1)!.row.ppl = lm.score(pplIds).perplexity;
    }
    log(`onnxruntime-web: perplexity on ${pplIds.length} tokens`);
    engines[0].row.ppl = (await ref.score(pplIds)).perplexity;

    // The read probe holds as many bytes as the largest step reads (model bytes, repeated).
    const probeBytes = new Uint8Array(Math.max(...engines.map((e) => e.row.stepBytes)) + 128);
    for (let o = 0; o < probeBytes.length; o += onnxBytes.length) {
      probeBytes.set(onnxBytes.subarray(0, Math.min(onnxBytes.length, probeBytes.length - o)), o);
    }
    const probe = readProbe(probeBytes);

    // Timing rounds, round-robin, after unrecorded warm-up rounds (JIT and WASM tier-up).
    for (let r = 1 - warmupRounds; r <= rounds; r++) {
      log(r < 1 ? `warm-up round ${r + warmupRounds}/${warmupRounds}` : `timing round ${r}/${rounds}`);
      for (let i = 0; i < engines.length; i++) {
        const e = engines[(i + r + warmupRounds) % engines.length];
        const step = await e.step(stepIds);
        const probeMs = probe.read(e.row.stepBytes, stepIds.length);
        const seq = await e.seq(seqIds);
        if (r < 1) continue;
        e.rounds.stepMs.push(step);
        e.rounds.probeMs.push(probeMs);
        e.rounds.seqMsPerToken.push(seq);
      }
    }

    // Cold starts: a fresh process each, round-robin too.
    for (let r = 0; r < coldRounds; r++) {
      log(`cold starts, round ${r + 1}/${coldRounds}`);
      for (let i = 0; i < engines.length; i++) {
        const e = engines[(i + r) % engines.length];
        const c = await coldStart(e.coldSpec);
        if (c.argmax !== e.row.firstArgmax) {
          throw new Error(
            `${e.row.engine} ${e.row.variant}: the cold start's first output has argmax ${c.argmax}, the warm run's ${e.row.firstArgmax}`,
          );
        }
        e.rounds.coldStartMs.push(c.coldStartMs);
        e.importMs.push(c.importMs);
      }
    }

    const ort = engines[0];
    const rows: BenchRow[] = engines.map((e) => {
      const probeMs = median(e.rounds.probeMs);
      return {
        ...e.row,
        stepMs: median(e.rounds.stepMs),
        seqMsPerToken: median(e.rounds.seqMsPerToken),
        coldStartMs: median(e.rounds.coldStartMs),
        importMs: median(e.importMs),
        probeMs,
        stepOverProbe: median(e.rounds.stepMs.map((s, k) => s / e.rounds.probeMs[k])),
        probeGBps: e.row.stepBytes / probeMs / 1e6,
        vsOrt: vsOrt({ rounds: e.rounds, codeBytes: e.row.codeBytes }, {
          rounds: ort.rounds,
          codeBytes: ort.row.codeBytes,
        }),
        rounds: e.rounds,
      };
    });
    const tgts = targets(rows, WORKER_BUDGET_BYTES);
    const seconds = (performance.now() - started) / 1000;
    const load = `load average (1/5/15 min) ${loadBefore.map((x) => x.toFixed(2)).join("/")} at the start, ${
      Deno.loadavg().map((x) => x.toFixed(2)).join("/")
    } at the end, on ${navigator.hardwareConcurrency} CPUs`;
    const budget = variants.find((v) => v.name === "budget");
    const notes = [
      `${modelPath}: ${allIds.length} tokens in ${textPath}; perplexity on the first ${pplIds.length}; ` +
      `${warmupRounds} warm-up and ${rounds} timing rounds of ${stepIds.length} stepwise tokens and one ${seqIds.length}-token sequence per row; ` +
      `${coldRounds} cold starts per row; ${seconds.toFixed(0)} s in all.`,
      `Machine: ${load}.`,
      "Step: ORT returns raw logits; ours returns log-probabilities (log-softmax over the vocabulary + a copy out of WASM memory).",
      `Code: ours = ${Object.entries(ourFiles).map(([n, b]) => `${n} ${b}`).join(" + ")} bytes; ORT = ${
        Object.entries(ortInfo.files).map(([n, b]) => `${n} ${b}`).join(" + ")
      } bytes.`,
      "Cold start: fresh deno process per measurement; bytes in memory → first next-token output, WASM compile included, " +
      "entry-module JS import excluded (importMs in --json).",
      ...(budget
        ? [
          `budget: ${
            budget.source === "placeholder"
              ? `placeholder recipe (${budgetRecipe} does not exist yet): embedding + decoder int4, LSTM int8`
              : budget.source
          }.`,
        ]
        : []),
      ...rows.slice(1).map((r) => `\`${r.variant}\`: ${r.detail}.`),
    ];
    if (values.json) {
      console.log(JSON.stringify({
        rows,
        meta: {
          model: modelPath,
          text: textPath,
          textTokens: allIds.length,
          pplTokens: pplIds.length,
          rounds,
          warmupRounds,
          stepTokens: stepIds.length,
          seqTokens: seqIds.length,
          coldRounds,
          seconds,
          load,
          ortFiles: ortInfo.files,
          ortDenoEntry: ortInfo.denoEntry,
          ourFiles,
          budgetRecipe: budget ? budget.source : null,
          notes,
        },
        targets: tgts,
      }));
    } else {
      console.log(benchMarkdown(rows, tgts, notes));
    }
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}, USAGE);
