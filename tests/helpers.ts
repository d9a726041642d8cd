/**
 * Shared by the cross-module tests: skipping when shared data is absent
 * (a failure under CI=true), and loading ONNX's own operator tests.
 * @module
 */
import { readTensorProto } from "../compiler/onnx/import.ts";
import { decodeModel, type Tensor } from "../compiler/onnx/proto.ts";

export const CI = Deno.env.get("CI") === "true";
export const NODE_TESTS = new URL("../../shared/data/onnx-node-tests/", import.meta.url);
export const PTB = new URL("../../shared/data/ptb/", import.meta.url);
/** ml5.js's pretrained char-RNN folders (dubois/, shakespeare/): manifest.json, raw float32 weights, vocab.json. */
export const ML5_CHARRNN = new URL("../../shared/data/ml5-charrnn/", import.meta.url);
/** The small two-layer LM exported by PyTorch (tests/fixtures/make_fixtures.py) that CLI tests compile. */
export const LSTM2_FIXTURE = new URL("fixtures/lstm2.onnx", import.meta.url).pathname;

/**
 * A model whose next-token distributions are sharp (weights uniform ±2.5; tests/fixtures/make_fixtures.py):
 * heavy compression ruins it, 8-bit quantization does not — what the compile quality-verdict tests need.
 */
export const CONFIDENT_FIXTURE = new URL("fixtures/confident.onnx", import.meta.url).pathname;

/** An ml5 char-RNN of ML5_CHARRNN compiled in f32 (`vocab` replacing its vocab.json), written to a temp file. */
export async function writeMl5Lem(name: string, vocab?: string[]): Promise<string> {
  // Imported when called: the compile pipeline loads onnxruntime-web, which most tests never need.
  const { compileMl5Folder } = await import("../compiler/compile.ts");
  const result = await compileMl5Folder(new URL(`${name}/`, ML5_CHARRNN).pathname, { fileName: name, vocab });
  const path = await Deno.makeTempFile({ prefix: `lstm-edge-${name}-`, suffix: ".lem" });
  await Deno.writeFile(path, result.bytes);
  return path;
}

/** Runs `deno task -q ARGS` in the repository root without colour; the exit code and the output. */
export async function runTask(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "-q", ...args],
    cwd: new URL("../", import.meta.url),
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/** A PTB-format text of `lines` lines over the lstm2 fixture's vocabulary (≈ 8 tokens a line). */
export function fixtureText(lines: number): string {
  const words = "the big cat sat on the red mat and it was N year old".split(" ");
  return Array.from({ length: lines }, (_, i) => " " + words.slice(i % 5, 6 + (i % 7)).join(" ") + " ").join(
    "\n",
  ) + "\n";
}

/** Whether Debian's Python (/usr/bin/python3, the one with python3-torch) imports torch and onnx. */
export function torchAvailable(): boolean {
  try {
    return new Deno.Command("/usr/bin/python3", {
      args: ["-c", "import torch, onnx"],
      stdout: "null",
      stderr: "null",
    }).outputSync().success;
  } catch {
    return false;
  }
}

export function exists(url: URL): boolean {
  try {
    Deno.statSync(url);
    return true;
  } catch {
    return false;
  }
}

/** Deno.test options that skip (with a printed reason) when `ok` is false — except under CI=true. */
export function needs(ok: boolean, reason: string): { ignore: boolean } {
  if (!ok && !CI) console.log(`skipping: ${reason}`);
  return { ignore: !ok && !CI };
}

/** ONNX's LSTM operator tests: the current ones and the opset-14 copies. */
export const NODE_TEST_DIRS = [
  { dir: NODE_TESTS, label: "onnx v1.22.0, opset 22" },
  { dir: new URL("lstm-opset14-onnx-v1.16.2/", NODE_TESTS), label: "onnx v1.16.2, opset 14" },
];
export const haveNodeTests = exists(NODE_TESTS);
export const nodeTestsReason =
  `${NODE_TESTS.pathname} is absent (ONNX's operator tests: onnx/backend/test/data/node of the onnx repository)`;

export interface NodeTest {
  node: NonNullable<NonNullable<ReturnType<typeof decodeModel>["graph"]>["node"]>[number];
  inputs: Map<string, Tensor>;
  outputs: Map<string, Tensor>;
}

/** Reads one operator test: its single node and the tensors of test_data_set_0 by graph input/output name. */
export function loadNodeTest(dir: URL, name: string): NodeTest {
  const base = new URL(`${name}/`, dir);
  const graph = decodeModel(Deno.readFileSync(new URL("model.onnx", base))).graph!;
  const read = (kind: string, names: string[]) =>
    new Map(
      names.map((
        n,
        i,
      ) => [n, readTensorProto(Deno.readFileSync(new URL(`test_data_set_0/${kind}_${i}.pb`, base)))]),
    );
  return {
    node: graph.node![0],
    inputs: read("input", graph.input!.map((v) => v.name!)),
    outputs: read("output", graph.output!.map((v) => v.name!)),
  };
}
