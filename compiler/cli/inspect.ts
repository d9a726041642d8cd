/**
 * `deno task inspect MODEL [--json]` — what a `.lem` holds: tensors, encodings, bytes, metadata.
 * An `.onnx` is shown as the compiler imports it.
 * @module
 */
import { parseCli, readInput, runCli, UsageError } from "../../runtime/cli/args.ts";
import { formatSummary, readLem, summarize } from "../../runtime/format/read.ts";
import { importOnnx } from "../onnx/import.ts";

const USAGE = "deno task inspect MODEL [--json]";
const HELP = `
usage: ${USAGE}

Shows what a model file holds. For a .lem: format version, vocabulary and layer shapes, every tensor
with its encoding and bytes, and the metadata (source file and SHA-256, compiler, recipe, metrics
measured at compile time). The file is verified first; a damaged file is reported with the field at
fault. For an .onnx: the shapes the compiler imports.

  --json      print the summary as JSON
  -h, --help  this text
`;

await runCli(async () => {
  const { values, positionals } = parseCli(Deno.args, { json: { type: "boolean" } }, HELP);
  if (positionals.length !== 1) {
    throw new UsageError(`expected one MODEL, got ${positionals.length} arguments`);
  }
  const path = positionals[0];
  const bytes = await readInput(path, "Model file");
  const isLem = bytes.length >= 8 && new TextDecoder().decode(bytes.subarray(4, 8)) === "LEM1";
  if (isLem) {
    const summary = summarize(readLem(bytes));
    console.log(values.json ? JSON.stringify(summary, null, 2) : formatSummary(summary));
    return;
  }
  if (!path.endsWith(".onnx")) {
    throw new Error(`"${path}" is neither a .lem file (identifier LEM1) nor an .onnx file`);
  }
  const ir = importOnnx(bytes, { fileName: path });
  const matrices = [ir.embedding, ...ir.layers.flatMap((l) => [l.wIh, l.wHh]), ir.decoder];
  const summary = {
    format: "onnx",
    fileBytes: bytes.length,
    vocabSize: ir.vocab.length,
    embeddingSize: ir.embedding.cols,
    layers: ir.layers.map((l) => ({ inputSize: l.inputSize, hiddenSize: l.hiddenSize })),
    tensors: matrices.map((m) => ({ name: m.name, shape: [m.rows, m.cols], bytes: m.data.byteLength })),
    source: ir.source,
  };
  if (values.json) {
    console.log(JSON.stringify(summary, null, 2));
  } else {
    console.log(
      `onnx, ${bytes.length} bytes; vocabulary ${summary.vocabSize}, embedding ${summary.embeddingSize}, layers ` +
        summary.layers.map((l) => `${l.inputSize}→${l.hiddenSize}`).join(", ") +
        `; sha256 ${ir.source.sha256}`,
    );
    for (const t of summary.tensors) {
      console.log(`  ${t.name.padEnd(16)} ${t.shape.join("×").padEnd(12)} ${t.bytes} bytes (f32)`);
    }
  }
}, USAGE);
