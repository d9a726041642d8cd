/**
 * `deno task eval MODEL TEXT [--json]` — perplexity of a text under a model.
 *
 * MODEL is a `.lem` (run by lstm-edge's runtime) or an `.onnx` (run by onnxruntime-web, the reference).
 * @module
 */
import { parseCli, progressReporter, readInput, runCli, UsageError } from "../../runtime/cli/args.ts";
import { evaluateModelFile } from "../evaluate.ts";

const USAGE = "deno task eval MODEL TEXT [--json] [--vocab FILE] [--limit N] [--kernels plain|relaxed]";
const HELP = `
usage: ${USAGE}

Perplexity of TEXT under MODEL.
  MODEL   a .lem file (run by lstm-edge's WASM runtime) or an .onnx file (run by onnxruntime-web,
          wasm, one thread: the reference)
  TEXT    PTB format: whitespace-separated tokens, <eos> appended to every line; words outside the
          vocabulary count as <unk>. For a character model (e.g. compiled from an ml5 char-RNN
          folder): raw text, every character a token, newlines included

Convention: one stream, zero initial state, state carried across lines;
perplexity = exp(mean negative log-likelihood of every token after the first).

options:
  --json          print one JSON object: {model, text, engine, kernels (.lem), perplexity, tokens, nll,
                  unknown, seconds}
  --vocab FILE    vocabulary for an .onnx without one in its metadata (one token per line)
  --limit N       score only the first N tokens of TEXT
  --kernels K     for a .lem: "relaxed" (default) runs int8/int4 products in the relaxed-SIMD module
                  where the engine has it (activations quantized to 7/8 bits: faster, PTB perplexity
                  +0.015 % int8); "plain" only in the plain-SIMD module (16-bit activations), which is
                  what agrees with PyTorch within 1e-4
  -h, --help      this text
`;

await runCli(async () => {
  const { values, positionals } = parseCli(Deno.args, {
    json: { type: "boolean" },
    vocab: { type: "string" },
    limit: { type: "string" },
    kernels: { type: "string" },
  }, HELP);
  if (positionals.length !== 2) {
    throw new UsageError(`expected MODEL and TEXT, got ${positionals.length} arguments`);
  }
  const [modelPath, textPath] = positionals;
  const limit = values.limit === undefined ? undefined : Number(values.limit);
  if (limit !== undefined && !(Number.isInteger(limit) && limit >= 2)) {
    throw new UsageError(`--limit must be a whole number ≥ 2, got "${values.limit}"`);
  }
  const kernels = values.kernels;
  if (kernels !== undefined && kernels !== "plain" && kernels !== "relaxed") {
    throw new UsageError(`--kernels must be plain or relaxed, got "${kernels}"`);
  }
  const text = new TextDecoder().decode(await readInput(textPath, "Text file"));
  const vocabText = values.vocab
    ? new TextDecoder().decode(await readInput(values.vocab, "Vocabulary file"))
    : undefined;
  const result = await evaluateModelFile(modelPath, text, {
    vocabText,
    limit,
    kernels,
    onProgress: progressReporter(`eval ${modelPath}`),
  });
  if (values.json) {
    console.log(JSON.stringify({ model: modelPath, text: textPath, ...result }));
  } else {
    console.log(
      `${modelPath} (${result.engine}${result.kernels ? `, ${result.kernels} kernels` : ""}): perplexity ${
        result.perplexity.toFixed(4)
      } over ${result.tokens} tokens` +
        ` (${result.unknown} ${result.characters ? "characters" : "words"} outside the vocabulary) in ${
          result.seconds.toFixed(1)
        } s`,
    );
  }
}, USAGE);
