/**
 * Re-training from the compiler: runs models/finetune.py (PyTorch) on a model with a recipe and reads what
 * it wrote — the re-trained ONNX carrying its trained parts, and PyTorch's reference JSON. The budgeted
 * compile with `--finetune` uses it for its shortlist and for the winner (./budgeted_compile.ts).
 * @module
 */
import { fileURLToPath } from "node:url";
import type { Recipe } from "../recipe.ts";
import { recipeJson } from "./assignment.ts";

/** models/finetune.py in this checkout. */
export const FINETUNE_SCRIPT = fileURLToPath(new URL("../../models/finetune.py", import.meta.url));

/** The Python that runs finetune.py: `LSTM_EDGE_PYTHON`, else Debian's (with python3-torch), else python3. */
export function defaultPython(): string {
  const env = Deno.env.get("LSTM_EDGE_PYTHON");
  if (env) return env;
  try {
    Deno.statSync("/usr/bin/python3");
    return "/usr/bin/python3";
  } catch {
    return "python3";
  }
}

/** Throws, saying what to install, unless `python` imports torch and onnx. */
export async function checkPython(python: string): Promise<void> {
  let ok = false;
  try {
    ok =
      (await new Deno.Command(python, { args: ["-c", "import torch, onnx"], stdout: "null", stderr: "null" })
        .output()).success;
  } catch {
    ok = false;
  }
  if (!ok) {
    throw new Error(
      `re-training needs PyTorch: "${python}" cannot import torch and onnx (Debian: apt-get install ` +
        `python3-torch python3-onnx libopenblas0-pthread; another interpreter: --python PATH or LSTM_EDGE_PYTHON)`,
    );
  }
}

/** One finetune.py run. */
export interface RetrainRun {
  python: string;
  /** The model to re-train (an ONNX compile reads). */
  model: string;
  recipe: Recipe;
  train: string;
  valid: string;
  /** Where the re-trained ONNX goes (recipe, reference JSON, log and checkpoint beside it). */
  out: string;
  epochs: number;
  /** Stop each epoch after this many batches (the shortlist's brief re-training). */
  maxBatches?: number;
  /** Validation tokens scored after each epoch (the last score is always on the whole text). */
  validTokens?: number;
  lr?: number;
  threads?: number;
  /** Each line finetune.py prints. */
  onLine?: (line: string) => void;
}

/** What a run produced: the ONNX, PyTorch's validation perplexity of it, the training seconds. */
export interface RetrainResult {
  out: string;
  validPerplexity: number;
  trainSeconds: number;
  seconds: number;
}

/** Runs finetune.py; its output lines go to `onLine`; a failure throws with its last lines. */
export async function retrain(run: RetrainRun): Promise<RetrainResult> {
  const started = performance.now();
  const stem = run.out.replace(/\.onnx$/, "");
  const recipePath = `${stem}.recipe.json`;
  await Deno.writeTextFile(recipePath, recipeJson(run.recipe));
  const args = [
    FINETUNE_SCRIPT,
    `--model=${run.model}`,
    `--recipe=${recipePath}`,
    `--train=${run.train}`,
    `--valid=${run.valid}`,
    `--out=${run.out}`,
    `--epochs=${run.epochs}`,
    ...(run.maxBatches ? [`--max-batches=${run.maxBatches}`] : []),
    ...(run.validTokens ? [`--valid-tokens=${run.validTokens}`] : []),
    ...(run.lr !== undefined ? [`--lr=${run.lr}`] : []),
    ...(run.threads ? [`--threads=${run.threads}`] : []),
  ];
  const child = new Deno.Command(run.python, { args, stdout: "piped", stderr: "piped" }).spawn();
  const tail: string[] = [];
  const pump = async (stream: ReadableStream<Uint8Array>, show: boolean) => {
    let pending = "";
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      pending += chunk;
      const lines = pending.split("\n");
      pending = lines.pop()!;
      for (const line of lines) {
        tail.push(line);
        if (tail.length > 20) tail.shift();
        if (show && line.trim()) run.onLine?.(line);
      }
    }
  };
  const [status] = await Promise.all([child.status, pump(child.stdout, true), pump(child.stderr, false)]);
  if (!status.success) {
    throw new Error(`models/finetune.py failed (exit code ${status.code}):\n${tail.join("\n")}`);
  }
  const reference = JSON.parse(await Deno.readTextFile(`${stem}.reference.json`));
  return {
    out: run.out,
    validPerplexity: reference.valid_perplexity,
    trainSeconds: reference.train_seconds,
    seconds: (performance.now() - started) / 1000,
  };
}
