/**
 * `deno task compile [IN.onnx] [-o OUT.lem] [--vocab FILE] [--tokenizer JSON] [--float f32|f16] [--eval TEXT]`
 *
 * With no arguments it compiles the shipped model, models/ptb-small.onnx → models/ptb-small.lem.
 * @module
 */
import { parseCli, readInput, runCli, UsageError } from "./args.ts";
import { compileOnnx } from "../compile.ts";
import { writeFileAtomic } from "../writer.ts";
import { readVocabFile } from "../onnx/import.ts";

const SHIPPED = "models/ptb-small.onnx";
const USAGE =
  "deno task compile [IN.onnx] [-o OUT.lem] [--vocab FILE] [--tokenizer JSON] [--float f32|f16] [--eval TEXT]";
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
  --float f32|f16     storage of every weight matrix (default f32)
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
    eval: { type: "string" },
    "eval-limit": { type: "string" },
    name: { type: "string" },
  }, HELP);
  if (positionals.length > 1) {
    throw new UsageError(`expected at most one input file, got ${positionals.length}`);
  }
  const input = positionals[0] ?? SHIPPED;
  const out = values.out ?? input.replace(/\.onnx$/i, "") + ".lem";
  const floatType = values.float ?? "f32";
  if (floatType !== "f32" && floatType !== "f16") {
    throw new UsageError(`--float must be f32 or f16, got "${floatType}"`);
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
    floatType,
    name: values.name,
    evalText,
    evalLimit,
    onProgress: (stage, done, total) => {
      const now = performance.now();
      if (stage === lastStage && done < total && now - lastTime < 5000) return;
      lastStage = stage;
      lastTime = now;
      console.error(`  ${stage}: ${done}/${total} tokens`);
    },
  });
  await writeFileAtomic(out, result.bytes);

  const rows = result.tensors.map((t) => [
    t.name,
    `${t.shape[0]}×${t.shape[1]}`,
    t.encoding,
    formatBytes(t.bytes),
    t.relativeError.toExponential(2),
  ]);
  const header = ["tensor", "shape", "encoding", "bytes", "rel. error"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i])).join("  ");
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
