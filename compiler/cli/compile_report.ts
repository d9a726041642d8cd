/**
 * What `deno task compile` reads and prints, the same for a plain and a budgeted compile: the inputs
 * named on the command line, progress lines on stderr, and the report of a {@link CompileResult} (tensor
 * table, file written, the onnxruntime-web logit check, perplexity before and after).
 * @module
 */
import { readInput } from "../../runtime/cli/args.ts";
import { formatBytes } from "../../runtime/cli/format.ts";
import type { CompileOptions, CompileResult } from "../compile.ts";
import { readVocabFile } from "../onnx/import.ts";
import { tensorTable } from "./tensor_table.ts";

/** The files a compile command names. */
export interface CompileFiles {
  input: string;
  vocab?: string;
  tokenizer?: string;
  evalPath?: string;
  evalLimit?: number;
  name?: string;
}

/** Reads the model, vocabulary and evaluation text a command names; errors name the missing file. */
export async function readCompileInputs(files: CompileFiles): Promise<{
  onnxBytes: Uint8Array;
  sizeText: string;
  options: Omit<CompileOptions, "recipe" | "onProgress">;
}> {
  const decoder = new TextDecoder();
  const onnxBytes = await readInput(files.input, "Input model");
  const vocab = files.vocab
    ? readVocabFile(decoder.decode(await readInput(files.vocab, "Vocabulary file")))
    : undefined;
  const evalText = files.evalPath
    ? decoder.decode(await readInput(files.evalPath, "Evaluation text"))
    : undefined;
  return {
    onnxBytes,
    sizeText: formatBytes(onnxBytes.length),
    options: {
      fileName: files.input.replace(/^.*[\\/]/, ""),
      vocab,
      tokenizer: files.tokenizer,
      name: files.name,
      evalText,
      evalLimit: files.evalLimit,
    },
  };
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
    console.error(`  ${stage}: ${done}/${total}${stage.startsWith("compressing") ? "" : " tokens"}`);
  };
}

/** The report printed after a compile; `note` is appended to the "wrote" line. */
export function compileReport(
  result: CompileResult,
  { out, evalPath }: { out: string; evalPath?: string },
  note = "",
): string {
  const lines = [
    tensorTable(result.tensors).trimEnd(),
    `\nwrote ${out}: ${formatBytes(result.bytes.length)} (${result.bytes.length} bytes${note})`,
  ];
  if (result.referenceError) {
    lines.push(
      `check against onnxruntime-web: not possible, it cannot run the original (${result.referenceError})`,
    );
  } else {
    lines.push(
      `check against onnxruntime-web: max |logit difference| ${result.maxLogitDiff.toExponential(2)} over ` +
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
  return lines.join("\n");
}
