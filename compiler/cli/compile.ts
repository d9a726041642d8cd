/**
 * `deno task compile [IN.onnx] [-o OUT.lem] [--vocab FILE] [--tokenizer JSON] [--method M | --recipe FILE] [--eval TEXT] [--max-ppl-increase PCT]`
 * `deno task compile ML5_DIR [-o OUT.lem] [--vocab FIXED.json] [--method M | --recipe FILE] [--eval RAW.txt] [--max-ppl-increase PCT]`
 * `deno task compile IN.onnx --target-size BYTES [--max-ppl-increase PCT] [--max-ms-per-token MS] --eval VALID -o OUT.lem`
 *
 * With no arguments it compiles the shipped model, models/ptb-small.onnx → models/ptb-small.lem; without
 * -o a compressed compile writes a name that says its method (IN.int8.lem), never IN.lem. Every compile
 * ends with the quality verdict of compiler/quality.ts. With --target-size it searches per-tensor methods
 * for the budget (compiler/budget/, docs/budget.md).
 * @module
 */
import { parseCli, readInput, runCli, UsageError } from "../../runtime/cli/args.ts";
import { formatPercent } from "../../runtime/cli/format.ts";
import { compileMl5Folder, compileOnnx } from "../compile.ts";
import { isMl5Folder } from "../ml5/import.ts";
import { compileQuality, QUALITY_THRESHOLDS } from "../quality.ts";
import { writeFileAtomic } from "../writer.ts";
import { METHOD_GRAMMAR, methodRecipe, parseRecipe, type Recipe, RecipeError } from "../recipe.ts";
import { runBudgetedCompile } from "./compile_budget.ts";
import { checkOutputFolders, compileReport, readCompileInputs, stageProgress } from "./compile_report.ts";
import { checkMenu, DEFAULT_MENU } from "../budget/menu.ts";
import { type Budget, violations } from "../budget/budget.ts";

const SHIPPED = "models/ptb-small.onnx";
const FINE_PCT = QUALITY_THRESHOLDS.fine * 100;
const NOTICEABLE_PCT = QUALITY_THRESHOLDS.noticeable * 100;
const USAGE = "deno task compile [IN.onnx] [-o OUT.lem] [--vocab FILE] [--tokenizer JSON] " +
  "[--method M [--prune-scope tensor|global] | --recipe FILE | --target-size BYTES …] [--eval TEXT] " +
  "[--max-ppl-increase PCT] [--write-recipe FILE]";
const HELP = `
usage: ${USAGE}

Compiles an ONNX LSTM language model (Embedding → LSTM × N → Linear, as torch.onnx.export writes it)
into one .lem file for lstm-edge's runtime, then checks the result against the original run by
onnxruntime-web: logits on 32 tokens always, perplexity with --eval. The numbers are stored in the file.
IN may also be an ml5.js / TensorFlow char-RNN folder (manifest.json, raw float32 weight files,
vocab.json): a character-level model, checked against its own weights run in plain float64.

  IN.onnx | DIR       the model (default: ${SHIPPED}, the shipped PTB model), or an ml5 char-RNN folder
  -o, --out FILE      where to write; written atomically, and only there: without -o the name
                      says the method — IN.lem for f32 (or a re-trained file's own recipe),
                      IN.METHOD.lem for --method (IN.int8.lem, IN.tt-16+int8.lem), IN.RECIPE.lem
                      for --recipe RECIPE.json, IN.budget-BYTES.lem for --target-size BYTES
                      (for a folder DIR: DIR.lem, DIR.METHOD.lem, …)
  --vocab FILE        vocabulary, one token per line (line number = id), or JSON (an array of
                      tokens, or {"token": id, …} like ml5's vocab.json: it can hold " " and "\n"),
                      replacing the ONNX file's own (metadata_props "vocab"; needed when it has
                      none) or an ml5 folder's vocab.json (e.g. a corrected one)
  --tokenizer JSON    text normalization rules replacing metadata_props "tokenizer", e.g.
                      '{"lowercase": true, "numberToken": "N"}' for PTB, '{"kind": "character"}'
                      for a character-level model (see runtime/tokenizer.ts)
  --method M          compression of every weight matrix (default f32; for a model re-trained by
                      models/finetune.py, the recipe it was re-trained with):
                        f32 | f16 | int8[:gN] | int4[:gN]      storage (int8: one scale per row or
                                                               per N columns; int4: per 32 or N)
                        prune:S[+STORAGE]                      magnitude pruning to sparsity S → CSR
                        lowrank:R[+STORAGE], lowrank:eE[+…]    truncated SVD to rank R / energy E
                        tt:R[+STORAGE], tt:tT[+…]              tensor-train, max rank R / tolerance T
                      e.g. int8, int4:g64, prune:0.8+int8, lowrank:64+int8, tt:16+f16
                      tt factors each matrix's shape the way its own decomposition (and then the
                      whole model's predictions, over 256 tokens the original writes) loses least,
                      printed as "tensor-train: …"; a recipe's rowModes/colModes fix it
  --prune-scope S     with --method prune:…: "tensor" (default, each matrix to the sparsity) or
                      "global" (one magnitude threshold across all weight matrices)
  --recipe FILE       JSON rules choosing the method per tensor by name, first match wins, e.g.
                      {"rules": [{"tensors": "layers.*.w_hh", "method": "int8"},
                                 {"tensors": "*", "method": "f16"}]}  (compiler/recipes/example.json)
  --eval TEXT         PTB-format text (raw text for a character model): measure perplexity before
                      and after compiling (with --target-size: the validation text the search
                      measures on)
  --eval-limit N      score only the first N tokens of the --eval text
  --max-ppl-increase PCT
                      write nothing and exit with code 3 when the compiled model's perplexity is
                      more than PCT % above the original's (measured on --eval, else expected from
                      the divergence on the reference tokens; see "quality" below)
  --name NAME         model name stored in the file (default: IN's base name)
  --write-recipe FILE save the per-tensor recipe used (or chosen by the search) as JSON that
                      --recipe accepts

Budgeted compile (searches a method per tensor; needs --eval; not with --method/--recipe):
  --target-size BYTES       the .lem must be at most BYTES bytes (a whole number, e.g. 3000000)
  --max-ppl-increase PCT    and its --eval perplexity at most PCT % above the f32 model's
  --max-ms-per-token MS     and stepwise decoding (feed + next-token log-probs) at most MS ms/token
                            on this machine (best of 3 runs over 200 tokens; timings are noisy)
  --plot FILE.svg           the Pareto plot (default: OUT with the extension .pareto.svg)
  --subset-tokens N         tokens of the --eval text the cheap stages score (default 6000, in 6
                            pieces spread over the text)
  --finalists N             measured combinations scored on the whole --eval text (default 3)
  --menu M,M,…              methods tried on every tensor besides f32 (default:
                            ${DEFAULT_MENU.join(",")})
  --write-closest           when no model meets the budget, still write the closest one to OUT
                            (the exit code is 3 either way)
  --finetune TRAIN_TEXT     re-train with the compression in place (models/finetune.py, PyTorch): the
                            search expects low rank, TT and pruning to recover most of their damage
                            after re-training (quantization half of it), re-trains the best few
                            candidates briefly, the best of those fully, and compiles what was trained
  --shortlist N             candidates re-trained briefly (default 3)
  --shortlist-batches N     batches of each brief re-training (default 300; PTB's epoch is 2323)
  --finetune-epochs N       epochs of the winner's re-training (default 3; early stopping may end it
                            sooner)
  --finetune-dir DIR        where the runs go: each candidate's and the winner's ONNX, recipe, log and
                            PyTorch reference (default: OUT with the extension .finetune)
  --python PATH             the Python with torch and onnx (default: LSTM_EDGE_PYTHON, else
                            /usr/bin/python3)
  The search (docs/budget.md): the f32 baseline; every tensor × menu method encoded, hopeless
  choices discarded; each remaining choice measured alone on the subset (its sensitivity);
  combinations predicted by adding those up, the best within the budget measured on the subset;
  the best few on the whole --eval text; the lowest perplexity meeting the budget is written. It
  prints the Pareto frontier (bytes, perplexity, ms/token) and progress on stderr. When no model
  meets the budget it says which budget is out of reach and what came closest, writes no model
  (unless --write-closest) and exits with code 3.

Every compile ends with a quality verdict against the original run by onnxruntime-web: "fine" up
to +${FINE_PCT} % perplexity, "noticeable" up to +${NOTICEABLE_PCT} %, "ruined" beyond. With --eval it is the
measured perplexity increase on that text; without, the increase expected on text the original
would write, exp(KL) − 1 with KL the mean divergence of the next-token distributions over the
reference tokens.

  -h, --help          this text
`;

/**
 * A numeric flag's value: a decimal number (a whole one when `whole`) ≥ `min` (> `min` when
 * `exclusive`); anything else is a UsageError naming the flag and what it got.
 */
function parseNumberFlag(
  flag: string,
  text: string,
  { whole = false, min = -Infinity, exclusive = false }: {
    whole?: boolean;
    min?: number;
    exclusive?: boolean;
  },
): number {
  const value = /^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$/.test(text) ? Number(text) : NaN;
  const wanted = `${whole ? "a whole number" : "a number"} ${exclusive ? ">" : "≥"} ${min}`;
  if (
    !Number.isFinite(value) || (whole && !Number.isInteger(value)) || value < min ||
    (exclusive && value === min)
  ) {
    throw new UsageError(`--${flag} must be ${wanted}, got "${text}"`);
  }
  return value;
}

const FLAGS = {
  out: { type: "string", short: "o" },
  vocab: { type: "string" },
  tokenizer: { type: "string" },
  method: { type: "string" },
  "prune-scope": { type: "string" },
  recipe: { type: "string" },
  eval: { type: "string" },
  "eval-limit": { type: "string" },
  name: { type: "string" },
  "write-recipe": { type: "string" },
  "target-size": { type: "string" },
  "max-ppl-increase": { type: "string" },
  "max-ms-per-token": { type: "string" },
  plot: { type: "string" },
  "subset-tokens": { type: "string" },
  finalists: { type: "string" },
  menu: { type: "string" },
  "write-closest": { type: "boolean" },
  finetune: { type: "string" },
  "finetune-epochs": { type: "string" },
  "finetune-dir": { type: "string" },
  shortlist: { type: "string" },
  "shortlist-batches": { type: "string" },
  python: { type: "string" },
} as const;

type Flags = ReturnType<typeof parseCli<typeof FLAGS>>["values"];

/** What every compile reads and writes, checked from the flags before any file is read. */
export interface CompileCommand {
  input: string;
  out: string;
  vocab?: string;
  tokenizer?: string;
  evalPath?: string;
  evalLimit?: number;
  name?: string;
  writeRecipe?: string;
}

/** The budgeted compile's settings, from --target-size and the flags that go with it. */
export interface BudgetFlags {
  budget: Budget;
  menu: readonly string[];
  plot: string;
  subsetTokens?: number;
  finalists?: number;
  writeClosest: boolean;
  /** `--finetune TRAIN_TEXT` and its settings: re-train the shortlist and the winner. */
  finetune?: {
    trainPath: string;
    epochs?: number;
    dir: string;
    shortlist?: number;
    shortlistBatches?: number;
    python?: string;
  };
}

const BUDGET_ONLY = [
  "finetune",
  "finetune-epochs",
  "finetune-dir",
  "shortlist",
  "shortlist-batches",
  "python",
  "max-ms-per-token",
  "plot",
  "subset-tokens",
  "finalists",
  "menu",
  "write-closest",
] as const;

/** The flags of a budgeted compile, or a UsageError naming the flag that is wrong. */
function parseBudgetFlags(values: Flags, out: string): BudgetFlags {
  for (const flag of ["method", "recipe", "prune-scope"] as const) {
    if (values[flag] !== undefined) {
      throw new UsageError(`--target-size searches the methods itself: it cannot be combined with --${flag}`);
    }
  }
  if (values.eval === undefined) {
    throw new UsageError("--target-size needs --eval VALID_TEXT: the search measures perplexity on it");
  }
  const budget: Budget = {
    targetBytes: parseNumberFlag("target-size", values["target-size"]!, { whole: true, min: 1 }),
    maxPplIncrease: parsePplLimit(values),
  };
  if (values["max-ms-per-token"] !== undefined) {
    budget.maxMsPerToken = parseNumberFlag("max-ms-per-token", values["max-ms-per-token"], {
      min: 0,
      exclusive: true,
    });
  }
  let menu: readonly string[] = DEFAULT_MENU;
  if (values.menu !== undefined) {
    try {
      menu = checkMenu(values.menu.split(",").map((m) => m.trim()));
    } catch (e) {
      throw new UsageError(withGrammar(`--menu: ${(e as Error).message}`, "methods:"));
    }
  }
  if (values.plot !== undefined && !values.plot.endsWith(".svg")) {
    throw new UsageError(`--plot writes an SVG file: give a name ending in .svg, got "${values.plot}"`);
  }
  return {
    budget,
    menu,
    plot: values.plot ?? out.replace(/\.lem$/i, "") + ".pareto.svg",
    subsetTokens: values["subset-tokens"] === undefined
      ? undefined
      : parseNumberFlag("subset-tokens", values["subset-tokens"], { whole: true, min: 2 }),
    finalists: values.finalists === undefined
      ? undefined
      : parseNumberFlag("finalists", values.finalists, { whole: true, min: 1 }),
    writeClosest: values["write-closest"] ?? false,
    finetune: parseFinetuneFlags(values, out),
  };
}

/** A bad method's message with the method grammar after `label`, once: an unknown method's ends with it. */
function withGrammar(message: string, label: string): string {
  return message.includes(METHOD_GRAMMAR) ? message : `${message}\n${label} ${METHOD_GRAMMAR}`;
}

/** `--max-ppl-increase PCT` as a fraction (5 → 0.05), the same for a plain and a budgeted compile. */
function parsePplLimit(values: Flags): number | undefined {
  const text = values["max-ppl-increase"];
  return text === undefined ? undefined : parseNumberFlag("max-ppl-increase", text, { min: 0 }) / 100;
}

/** `--finetune` and the flags that go with it; undefined without it. */
function parseFinetuneFlags(values: Flags, out: string): BudgetFlags["finetune"] {
  if (values.finetune === undefined) {
    for (
      const flag of ["finetune-epochs", "finetune-dir", "shortlist", "shortlist-batches", "python"] as const
    ) {
      if (values[flag] !== undefined) throw new UsageError(`--${flag} goes with --finetune`);
    }
    return undefined;
  }
  const whole = (flag: "finetune-epochs" | "shortlist" | "shortlist-batches") =>
    values[flag] === undefined ? undefined : parseNumberFlag(flag, values[flag]!, { whole: true, min: 1 });
  return {
    trainPath: values.finetune,
    epochs: whole("finetune-epochs"),
    dir: values["finetune-dir"] ?? out.replace(/\.lem$/i, "") + ".finetune",
    shortlist: whole("shortlist"),
    shortlistBatches: whole("shortlist-batches"),
    python: values.python,
  };
}

/**
 * The recipe of a plain compile (--method or --recipe); undefined without either (then the re-trained
 * file's own recipe, or f32 everywhere).
 */
async function parseRecipeFlags(values: Flags): Promise<Recipe | undefined> {
  if (values.method !== undefined && values.recipe !== undefined) {
    throw new UsageError("give one of --method, --recipe");
  }
  const scope = values["prune-scope"];
  if (scope !== undefined && scope !== "tensor" && scope !== "global") {
    throw new UsageError(`--prune-scope must be tensor or global, got "${scope}"`);
  }
  if (scope !== undefined && !values.method?.startsWith("prune:")) {
    throw new UsageError('--prune-scope goes with --method prune:S (in a recipe, use a rule\'s "scope")');
  }
  if (values.recipe === undefined && values.method === undefined) return undefined;
  try {
    return values.recipe !== undefined
      ? parseRecipe(new TextDecoder().decode(await readInput(values.recipe, "Recipe")), values.recipe)
      : methodRecipe(values.method!, scope);
  } catch (e) {
    if (e instanceof RecipeError && values.recipe === undefined) {
      throw new UsageError(withGrammar(e.message, "--method takes"));
    }
    throw e;
  }
}

/**
 * Parses the command line: the files, and either the recipe (plain compile) or the budget. Every method
 * string and number is checked here, before the model is read.
 */
async function parseCompileArgs(
  args: string[],
): Promise<{ command: CompileCommand; recipe?: Recipe; budget?: BudgetFlags; maxPplIncrease?: number }> {
  const { values, positionals } = parseCli(args, FLAGS, HELP);
  if (positionals.length > 1) {
    throw new UsageError(`expected at most one input file, got ${positionals.length}`);
  }
  const input = positionals[0] ?? SHIPPED;
  const out = values.out ?? defaultOutput(input, values);
  const budgeted = values["target-size"] !== undefined;
  if (budgeted && isMl5Folder(input)) {
    throw new UsageError(
      `--target-size searches with onnxruntime-web on an ONNX model; "${input}" is an ml5 char-RNN folder: ` +
        `compile it with --method or --recipe`,
    );
  }
  for (const flag of BUDGET_ONLY) {
    if (!budgeted && values[flag] !== undefined) throw new UsageError(`--${flag} goes with --target-size`);
  }
  for (const flag of ["plot", "write-recipe"] as const) {
    const path = values[flag];
    if (path !== undefined && (path === input || path === out)) {
      throw new UsageError(`--${flag} "${path}" would overwrite the ${path === input ? "input" : "output"}`);
    }
  }
  const budget = budgeted ? parseBudgetFlags(values, out) : undefined;
  const recipe = budgeted ? undefined : await parseRecipeFlags(values);
  const evalLimit = values["eval-limit"] === undefined ? undefined : Number(values["eval-limit"]);
  if (evalLimit !== undefined && !(Number.isInteger(evalLimit) && evalLimit >= 2)) {
    throw new UsageError(`--eval-limit must be a whole number ≥ 2, got "${values["eval-limit"]}"`);
  }
  if (out === input) throw new UsageError(`the output would overwrite the input "${input}"; pass -o`);
  const command: CompileCommand = {
    input,
    out,
    vocab: values.vocab,
    tokenizer: values.tokenizer,
    evalPath: values.eval,
    evalLimit,
    name: values.name,
    writeRecipe: values["write-recipe"],
  };
  return { command, recipe, budget, maxPplIncrease: budget ? undefined : parsePplLimit(values) };
}

/**
 * Where a compile without -o writes: a name that says the method (`IN.int8.lem`, `IN.tt-16+int8.lem`,
 * `IN.RECIPE.lem`, `IN.budget-BYTES.lem`), so that a compressed compile never replaces the f32 model
 * (`IN.lem`) that serve, build:worker and the library read.
 */
function defaultOutput(input: string, values: Flags): string {
  const method = values.method?.trim();
  const tag = values["target-size"] !== undefined
    ? `budget-${values["target-size"].trim()}`
    : values.recipe !== undefined
    ? values.recipe.replace(/^.*[\\/]/, "").replace(/\.json$/i, "")
    : method !== undefined && method !== "f32"
    ? method + (values["prune-scope"] === "global" ? "-global" : "")
    : "";
  // ":" is not allowed in Windows file names.
  const base = input.replace(/[\\/]+$/, "").replace(/\.onnx$/i, ""); // an ml5 folder "dubois/" → "dubois"
  return base + (tag ? `.${tag.replace(/[:/\\]/g, "-")}` : "") + ".lem";
}

/**
 * A compile by one recipe: compile, check `--max-ppl-increase`, write the model (and the recipe), print
 * the report. Returns the exit code: 0, or 3 (nothing written) when the model misses the limit.
 */
async function runPlainCompile(
  command: CompileCommand,
  recipe: Recipe | undefined,
  maxPplIncrease: number | undefined,
): Promise<number> {
  const inputs = await readCompileInputs(command);
  await checkOutputFolders([command.out, command.writeRecipe]);
  console.error(`compiling ${command.input} (${inputs.sizeText}) …`);
  const options = { ...inputs.options, recipe, onProgress: stageProgress() };
  const result = inputs.ml5Folder
    ? await compileMl5Folder(inputs.ml5Folder, options)
    : await compileOnnx(inputs.onnxBytes, options);
  if (maxPplIncrease !== undefined) {
    const quality = compileQuality(result);
    if (!quality) {
      throw new Error(
        `--max-ppl-increase cannot be checked: onnxruntime-web cannot run the original ` +
          `(${result.referenceError}); nothing written to ${command.out}`,
      );
    }
    // The budgeted compile's check, on the perplexity ratio compiled ÷ original.
    const missed = violations(
      { bytes: result.bytes.length, perplexity: 1 + quality.increase },
      { targetBytes: Infinity, maxPplIncrease },
      1,
    );
    if (missed.length) {
      console.log(compileReport(result, { ...command, out: undefined }));
      const limit = +(maxPplIncrease * 100).toPrecision(6);
      const where = quality.basis === "eval"
        ? `on ${command.evalPath}`
        : "(expected from the reference tokens)";
      console.error(
        `error: the compiled model's perplexity ${formatPercent(quality.increase, 1)} ${where} exceeds ` +
          `--max-ppl-increase ${limit}; nothing written to ${command.out}`,
      );
      return 3;
    }
  }
  await writeFileAtomic(command.out, result.bytes);
  if (command.writeRecipe !== undefined) {
    await writeFileAtomic(
      command.writeRecipe,
      new TextEncoder().encode(JSON.stringify(result.recipe, null, 2) + "\n"),
    );
  }
  console.log(compileReport(result, command));
  return 0;
}

await runCli(async () => {
  const { command, recipe, budget, maxPplIncrease } = await parseCompileArgs(Deno.args);
  const code = budget
    ? await runBudgetedCompile(command, budget, ["deno", "task", "compile", ...Deno.args].join(" "))
    : await runPlainCompile(command, recipe, maxPplIncrease);
  if (code !== 0) Deno.exit(code);
}, USAGE);
