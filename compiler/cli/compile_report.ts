/**
 * What `deno task compile` reads and prints, the same for a plain and a budgeted compile: the inputs
 * named on the command line, progress lines on stderr, and the report of a {@link CompileResult} (tensor
 * table, file written, the onnxruntime-web logit check, perplexity before and after, the quality verdict).
 * @module
 */
import { checkOutputFolder, readInput } from "../../runtime/cli/args.ts";
import { formatBytes, formatPercent } from "../../runtime/cli/format.ts";
import { compileQuality, QUALITY_THRESHOLDS } from "../quality.ts";
import type { CompileOptions, CompileResult } from "../compile.ts";
import { readVocabFile } from "../onnx/import.ts";
import { tensorTable } from "./tensor_table.ts";
import { describeSplitChoice } from "../tt_split_choice.ts";
import { isMl5Folder } from "../ml5/import.ts";

/** The files a compile command names. */
export interface CompileFiles {
  input: string;
  vocab?: string;
  tokenizer?: string;
  evalPath?: string;
  evalLimit?: number;
  name?: string;
}

/**
 * Reads the model, vocabulary and evaluation text a command names; errors name the missing file. An
 * input folder with a manifest.json is an ml5 char-RNN (`ml5Folder`; its files are read by the importer).
 */
export async function readCompileInputs(files: CompileFiles): Promise<{
  onnxBytes: Uint8Array;
  ml5Folder?: string;
  sizeText: string;
  options: Omit<CompileOptions, "recipe" | "onProgress">;
}> {
  const decoder = new TextDecoder();
  const ml5Folder = isMl5Folder(files.input) ? files.input : undefined;
  const onnxBytes = ml5Folder ? new Uint8Array() : await readInput(files.input, "Input model");
  const vocab = files.vocab
    ? readVocabFile(decoder.decode(await readInput(files.vocab, "Vocabulary file")))
    : undefined;
  const evalText = files.evalPath
    ? decoder.decode(await readInput(files.evalPath, "Evaluation text"))
    : undefined;
  let folderBytes = 0;
  if (ml5Folder) {
    for (const e of Deno.readDirSync(ml5Folder)) {
      folderBytes += Deno.statSync(`${ml5Folder}/${e.name}`).size;
    }
  }
  return {
    onnxBytes,
    ml5Folder,
    sizeText: formatBytes(ml5Folder ? folderBytes : onnxBytes.length),
    options: {
      fileName: files.input.replace(/[\\/]+$/, "").replace(/^.*[\\/]/, ""),
      vocab,
      tokenizer: files.tokenizer,
      name: files.name,
      evalText,
      evalLimit: files.evalLimit,
    },
  };
}

/**
 * Fails unless the folder of every file a compile will write exists: checked after the inputs are read
 * and before compressing, not minutes later when writing.
 */
export async function checkOutputFolders(paths: readonly (string | undefined)[]): Promise<void> {
  for (const path of paths) if (path !== undefined) await checkOutputFolder(path);
}

/** Compile progress on stderr: a line per stage, at most every 5 s within one. */
export function stageProgress(): NonNullable<CompileOptions["onProgress"]> {
  let lastStage = "";
  let lastTime = 0;
  return (stage, done, total) => {
    const now = performance.now();
    if (stage === lastStage && done < total && now - lastTime < 5000) return;
    lastStage = stage;
    lastTime = now;
    // total 0: a stage without a count (the tensor-train split choice).
    const count = total === 0 ? "" : `: ${done}/${total}${stage.startsWith("compressing") ? "" : " tokens"}`;
    console.error(`  ${stage}${count}`);
  };
}

/**
 * The report printed after a compile; `note` is appended to the "wrote" line. Without `out` the model
 * was not written (a limit refused it) and the report says so.
 */
export function compileReport(
  result: CompileResult,
  { out, evalPath }: { out?: string; evalPath?: string },
  note = "",
): string {
  const size = `${formatBytes(result.bytes.length)} (${result.bytes.length} bytes${note})`;
  const lines = [
    tensorTable(result.tensors).trimEnd(),
    ...(result.splitChoice ? [describeSplitChoice(result.splitChoice)] : []),
    out === undefined ? `\ncompiled, not written: ${size}` : `\nwrote ${out}: ${size}`,
  ];
  if (result.referenceError) {
    lines.push(
      `check against ${result.reference}: not possible, it cannot run the original (${result.referenceError})`,
    );
  } else {
    lines.push(
      `check against ${result.reference}: max |logit difference| ${
        result.maxLogitDiff.toExponential(2)
      } over ` +
        `${result.checkTokens} tokens`,
    );
  }
  if (result.perplexitySource === undefined && result.perplexityCompiled !== undefined) {
    lines.push(
      `perplexity on ${evalPath} (${result.evalTokens} tokens): compiled ${
        result.perplexityCompiled.toFixed(4)
      }`,
    );
  } else if (result.perplexitySource !== undefined) {
    const rel = result.perplexityCompiled! / result.perplexitySource - 1;
    lines.push(
      `perplexity on ${evalPath} (${result.evalTokens} tokens): original ${
        result.perplexitySource.toFixed(4)
      }, ` +
        `compiled ${result.perplexityCompiled!.toFixed(4)} (${rel >= 0 ? "+" : ""}${
          (rel * 100).toFixed(4)
        } %)`,
    );
  }
  lines.push(qualityLine(result, evalPath));
  return lines.join("\n");
}

/**
 * `quality: fine — perplexity +0.1 % on valid.txt …`: the verdict of compiler/quality.ts, what it is
 * based on and the thresholds.
 */
export function qualityLine(result: CompileResult, evalPath?: string): string {
  const quality = compileQuality(result);
  if (!quality) return `quality: not measured (${result.reference} cannot run the original to compare with)`;
  const expected = result.checkDivergence === undefined ? undefined : Math.expm1(result.checkDivergence);
  const reference =
    `expected from the divergence from ${result.reference} over ${result.checkTokens} reference tokens`;
  const basis = quality.basis === "eval"
    ? `perplexity ${formatPercent(quality.increase, 1)} on ${evalPath}` +
      (expected === undefined ? "" : ` (${formatPercent(expected, 1)} ${reference})`)
    : `perplexity ${formatPercent(quality.increase, 1)} ${reference}; --eval TEXT measures it on real text`;
  const { fine, noticeable } = QUALITY_THRESHOLDS;
  return `quality: ${quality.verdict} — ${basis} (fine ≤ ${formatPercent(fine, 0)}, noticeable ≤ ` +
    `${formatPercent(noticeable, 0)}, ruined above)`;
}
