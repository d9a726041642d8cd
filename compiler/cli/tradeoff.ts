/**
 * `deno task tradeoff [MODEL.onnx] [--limit N] [--methods M,M,…] [--out FILE]`: the size / perplexity /
 * speed table of every compression method (compiler/tradeoff.ts) on PTB's validation and test texts.
 * @module
 */
import { parseCli, readInput, runCli, UsageError } from "../../runtime/cli/args.ts";
import { importOnnx } from "../onnx/import.ts";
import { DEFAULT_METHODS, measureTradeoff, tradeoffMarkdown, tradeoffPoints } from "../tradeoff.ts";
import { paretoSvg } from "../budget/svg.ts";
import { METHOD_GRAMMAR, parseMethod, RecipeError } from "../recipe.ts";
import { writeFileAtomic } from "../writer.ts";
import { Tokenizer } from "../../runtime/tokenizer.ts";

const SHIPPED = "models/ptb-small.onnx";
const DATA = "../shared/data/ptb";
const USAGE =
  "deno task tradeoff [MODEL.onnx] [--data DIR] [--limit N] [--methods M,M,…] [--retrained A.onnx,…] [--out FILE] [--plot FILE.svg]";
const HELP = `
usage: ${USAGE}

Compiles MODEL with every compression method (each applied to all weight matrices), loads each result
in lstm-edge's runtime, and prints a markdown table: file bytes, ratio to f32, validation and test
perplexity (deno task eval's convention), ms/token stepwise (feed + logProbs) and over a 256-token sequence.
Speed is best of 3 runs on this machine: compare rows of one table, not tables of different runs.

  MODEL.onnx       the model (default: ${SHIPPED})
  --data DIR       PTB folder with ptb.valid.txt and ptb.test.txt (default: ${DATA})
  --limit N        score only the first N tokens of each text (the whole texts take long)
  --methods LIST   comma-separated method strings (default: ${DEFAULT_METHODS.join(",")})
                   grammar: ${METHOD_GRAMMAR}
  --retrained LIST comma-separated ONNX files written by models/finetune.py (re-trained with the compression
                   in place): each gets a row after the methods, named by its recipe, with its epochs and
                   training time (from the reference JSON beside it)
  --out FILE       also write the table (with the command that made it) to FILE
  --plot FILE.svg  also write the size / test perplexity plot: post-hoc rows grey, re-trained rows blue
  -h, --help       this text
`;

await runCli(async () => {
  const { values, positionals } = parseCli(Deno.args, {
    data: { type: "string" },
    limit: { type: "string" },
    methods: { type: "string" },
    out: { type: "string" },
    retrained: { type: "string" },
    plot: { type: "string" },
  }, HELP);
  if (values.plot !== undefined && !values.plot.endsWith(".svg")) {
    throw new UsageError(`--plot writes an SVG file: give a name ending in .svg, got "${values.plot}"`);
  }
  if (positionals.length > 1) throw new UsageError(`expected at most one model, got ${positionals.length}`);
  const methods = values.methods ? values.methods.split(",").map((m) => m.trim()) : [...DEFAULT_METHODS];
  for (const m of methods) {
    try {
      parseMethod(m);
    } catch (e) {
      if (e instanceof RecipeError) throw new UsageError(`${e.message}\n--methods takes ${METHOD_GRAMMAR}`);
      throw e;
    }
  }
  const limit = values.limit === undefined ? undefined : Number(values.limit);
  if (limit !== undefined && !(Number.isInteger(limit) && limit >= 2)) {
    throw new UsageError(`--limit must be a whole number ≥ 2, got "${values.limit}"`);
  }
  const input = positionals[0] ?? SHIPPED;
  const data = values.data ?? DATA;
  const decoder = new TextDecoder();
  const onnx = await readInput(input, "Model");
  const valid = decoder.decode(await readInput(`${data}/ptb.valid.txt`, "Validation text"));
  const test = decoder.decode(await readInput(`${data}/ptb.test.txt`, "Test text"));
  const ir = importOnnx(onnx, { fileName: input.replace(/^.*[\\/]/, "") });
  const tokenizer = new Tokenizer(ir.vocab, ir.unkId, ir.eosId, ir.tokenizer);
  const ids = (text: string) => {
    const all = tokenizer.encode(text).ids;
    return limit ? all.slice(0, limit) : all;
  };
  const validIds = ids(valid);
  const testIds = ids(test);
  console.error(
    `${input}: ${methods.length} methods, ${validIds.length} valid and ${testIds.length} test tokens`,
  );
  const retrained = [];
  for (const path of values.retrained ? values.retrained.split(",").map((p) => p.trim()) : []) {
    const model = importOnnx(await readInput(path, "Re-trained model"), {
      fileName: path.replace(/^.*[\\/]/, ""),
    });
    if (!model.trained) {
      throw new UsageError(`${path} carries no trained parts: it was not written by models/finetune.py`);
    }
    const reference = JSON.parse(
      decoder.decode(await readInput(path.replace(/\.onnx$/, "") + ".reference.json", "Its reference JSON")),
    );
    const epochs = (reference.history as { epoch: number }[]).filter((h) => h.epoch > 0).length;
    retrained.push({ ir: model, epochs, trainSeconds: reference.train_seconds as number });
  }
  const rows = await measureTradeoff(ir, {
    methods,
    retrained,
    validIds,
    testIds,
    onStage: (m) => console.error(`  ${m}`),
  });
  const table = tradeoffMarkdown(rows);
  console.log(table);
  if (values.out) {
    const command = `deno task tradeoff ${
      Deno.args.filter((a, i, all) => a !== "--out" && all[i - 1] !== "--out").join(" ")
    }`
      .trim();
    const note =
      `Made by \`${command}\` on ${input} (${validIds.length} validation, ${testIds.length} test tokens).\n\n`;
    await writeFileAtomic(values.out, new TextEncoder().encode(note + table));
    console.error(`wrote ${values.out}`);
  }
  if (values.plot) {
    const svg = paretoSvg(tradeoffPoints(rows), {
      title: `${input.replace(/^.*[\\/]/, "")}: file size vs test perplexity, every method on every matrix`,
      legend: {
        frontier: "re-trained (label: ms/token)",
        candidate: "compressed after training",
        baseline: "f32",
      },
    });
    await writeFileAtomic(values.plot, new TextEncoder().encode(svg));
    console.error(`wrote ${values.plot}`);
  }
}, USAGE);
