/**
 * `deno task compile [IN.onnx] [-o OUT.lem] [--vocab FILE] [--tokenizer JSON] [--method M | --recipe FILE] [--eval TEXT]`
 *
 * With no arguments it compiles the shipped model, models/ptb-small.onnx → models/ptb-small.lem.
 * @module
 */
import { parseCli, readInput, runCli, UsageError } from "./args.ts";
import { compileOnnx } from "../compile.ts";
import { writeFileAtomic } from "../writer.ts";
import { readVocabFile } from "../onnx/import.ts";
import { METHOD_GRAMMAR, methodRecipe, parseRecipe, type Recipe, RecipeError } from "../recipe.ts";

const SHIPPED = "models/ptb-small.onnx";
const USAGE = "deno task compile [IN.onnx] [-o OUT.lem] [--vocab FILE] [--tokenizer JSON] " +
  "[--method M [--prune-scope tensor|global] | --recipe FILE] [--eval TEXT]";
const HELP = `
usage: ${USAGE}

Compiles an ONNX LSTM language model (Embedding → LSTM × N → Linear, as torch.onnx.export writes it)
into one .lem file for lstm-edge's runtime, then checks the result against the original run by
onnxruntime-web: logits on 32 tokens always, perplexity with --eval. The numbers are stored in the file.

  IN.onnx             the model (default: ${SHIPPED}, the shipped PTB model)
  -o, --out FILE      where to write (default: IN with the extension .lem); written atomically
  --vocab FILE        vocabulary, one token per line (line number = id), when the ONNX file's
                      metadata_props has no "vocab"
  --tokenizer JSON    text normalization rules replacing metadata_props "tokenizer", e.g.
                      '{"lowercase": true, "numberToken": "N"}' for PTB (see runtime/tokenizer.ts)
  --method M          compression of every weight matrix (default f32):
                        f32 | f16 | int8[:gN] | int4[:gN]      storage (int8: one scale per row or
                                                               per N columns; int4: per 32 or N)
                        prune:S[+STORAGE]                      magnitude pruning to sparsity S → CSR
                        lowrank:R[+STORAGE], lowrank:eE[+…]    truncated SVD to rank R / energy E
                        tt:R[+STORAGE], tt:tT[+…]              tensor-train, max rank R / tolerance T
                      e.g. int8, int4:g64, prune:0.8+int8, lowrank:64+int8, tt:16+f16
  --prune-scope S     with --method prune:…: "tensor" (default, each matrix to the sparsity) or
                      "global" (one magnitude threshold across all weight matrices)
  --recipe FILE       JSON rules choosing the method per tensor by name, first match wins, e.g.
                      {"rules": [{"tensors": "layers.*.w_hh", "method": "int8"},
                                 {"tensors": "*", "method": "f16"}]}  (compiler/recipes/example.json)
  --float f32|f16     the same as --method f32|f16 (older spelling)
  --eval TEXT         PTB-format text: measure perplexity before and after compiling
  --eval-limit N      score only the first N tokens of the --eval text
  --name NAME         model name stored in the file (default: IN's base name)
  -h, --help          this text
`;

function formatBytes(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)} MB` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} kB` : `${n} B`;
}

await runCli(async () => {
  const { values, positionals } = parseCli(Deno.args, {
    out: { type: "string", short: "o" },
    vocab: { type: "string" },
    tokenizer: { type: "string" },
    float: { type: "string" },
    method: { type: "string" },
    "prune-scope": { type: "string" },
    recipe: { type: "string" },
    eval: { type: "string" },
    "eval-limit": { type: "string" },
    name: { type: "string" },
  }, HELP);
  if (positionals.length > 1) {
    throw new UsageError(`expected at most one input file, got ${positionals.length}`);
  }
  const input = positionals[0] ?? SHIPPED;
  const out = values.out ?? input.replace(/\.onnx$/i, "") + ".lem";
  // Every method string is checked here, before any file is read.
  if ([values.method, values.recipe, values.float].filter((v) => v !== undefined).length > 1) {
    throw new UsageError("give one of --method, --recipe, --float");
  }
  if (values.float !== undefined && values.float !== "f32" && values.float !== "f16") {
    throw new UsageError(`--float must be f32 or f16, got "${values.float}"`);
  }
  const scope = values["prune-scope"];
  if (scope !== undefined && scope !== "tensor" && scope !== "global") {
    throw new UsageError(`--prune-scope must be tensor or global, got "${scope}"`);
  }
  if (scope !== undefined && !values.method?.startsWith("prune:")) {
    throw new UsageError('--prune-scope goes with --method prune:S (in a recipe, use a rule\'s "scope")');
  }
  let recipe: Recipe;
  try {
    recipe = values.recipe !== undefined
      ? parseRecipe(new TextDecoder().decode(await readInput(values.recipe, "Recipe")), values.recipe)
      : methodRecipe(values.method ?? values.float ?? "f32", scope);
  } catch (e) {
    if (e instanceof RecipeError && values.recipe === undefined) {
      throw new UsageError(`${e.message}\n--method takes ${METHOD_GRAMMAR}`);
    }
    throw e;
  }
  const evalLimit = values["eval-limit"] === undefined ? undefined : Number(values["eval-limit"]);
  if (evalLimit !== undefined && !(Number.isInteger(evalLimit) && evalLimit >= 2)) {
    throw new UsageError(`--eval-limit must be a whole number ≥ 2, got "${values["eval-limit"]}"`);
  }
  if (out === input) throw new UsageError(`the output would overwrite the input "${input}"; pass -o`);
  const decoder = new TextDecoder();
  const onnxBytes = await readInput(input, "Input model");
  const vocab = values.vocab
    ? readVocabFile(decoder.decode(await readInput(values.vocab, "Vocabulary file")))
    : undefined;
  const evalText = values.eval ? decoder.decode(await readInput(values.eval, "Evaluation text")) : undefined;

  console.error(`compiling ${input} (${formatBytes(onnxBytes.length)}) …`);
  let lastStage = "";
  let lastTime = 0;
  const result = await compileOnnx(onnxBytes, {
    fileName: input.replace(/^.*[\\/]/, ""),
    vocab,
    tokenizer: values.tokenizer,
    recipe,
    name: values.name,
    evalText,
    evalLimit,
    onProgress: (stage, done, total) => {
      const now = performance.now();
      if (stage === lastStage && done < total && now - lastTime < 5000) return;
      lastStage = stage;
      lastTime = now;
      console.error(`  ${stage}: ${done}/${total}${stage.startsWith("compressing") ? "" : " tokens"}`);
    },
  });
  await writeFileAtomic(out, result.bytes);

  const rows = result.tensors.map((t) => [
    t.name,
    `${t.shape[0]}×${t.shape[1]}`,
    t.encoding,
    formatBytes(t.bytes),
    t.relativeError.toExponential(2),
    t.method,
    t.detail,
  ]);
  const header = ["tensor", "shape", "encoding", "bytes", "rel. error", "method", "detail"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
  console.log(line(header));
  for (const r of rows) console.log(line(r));
  console.log(`\nwrote ${out}: ${formatBytes(result.bytes.length)} (${result.bytes.length} bytes)`);
  if (result.referenceError) {
    console.log(
      `check against onnxruntime-web: not possible, it cannot run the original (${result.referenceError})`,
    );
  } else {
    console.log(
      `check against onnxruntime-web: max |logit difference| ${result.maxLogitDiff.toExponential(2)} over ` +
        `${result.checkTokens} tokens`,
    );
  }
  if (result.perplexitySource === undefined && result.perplexityCompiled !== undefined) {
    console.log(
      `perplexity on ${values.eval} (${result.evalTokens} tokens): compiled ${
        result.perplexityCompiled.toFixed(4)
      }`,
    );
  } else if (result.perplexitySource !== undefined) {
    const rel = result.perplexityCompiled! / result.perplexitySource - 1;
    console.log(
      `perplexity on ${values.eval} (${result.evalTokens} tokens): original ${
        result.perplexitySource.toFixed(4)
      }, ` +
        `compiled ${result.perplexityCompiled!.toFixed(4)} (${rel >= 0 ? "+" : ""}${
          (rel * 100).toFixed(4)
        } %)`,
    );
  }
}, USAGE);
