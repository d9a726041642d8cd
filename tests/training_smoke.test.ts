/**
 * models/train.py end to end, as CI runs it: a few steps of the tiny config on a slice of PTB, export,
 * compile with our compiler, evaluate with both engines, and compare with the numbers PyTorch wrote in
 * the reference JSON. A change that breaks real PyTorch output fails here.
 */
import { assertAllClose } from "../runtime/kernels/testing.ts";
import assert from "node:assert/strict";
import { evaluateModelFile } from "../compiler/evaluate.ts";
import { compileOnnx } from "../compiler/compile.ts";
import { writeFileAtomic } from "../compiler/writer.ts";
import { LstmModel } from "../runtime/model.ts";
import { exists, needs, PTB, torchAvailable } from "./helpers.ts";

const ROOT = new URL("../", import.meta.url);
const EVAL_TOKENS = 1500;

Deno.test({
  name: "a model trained by models/train.py scores the same in PyTorch, onnxruntime-web and lstm-edge",
  ...needs(
    torchAvailable() && exists(PTB),
    "needs /usr/bin/python3 with torch and onnx (Debian python3-torch, python3-onnx) and ../shared/data/ptb",
  ),
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const onnxPath = `${dir}/tiny.onnx`;
      const train = await new Deno.Command("/usr/bin/python3", {
        args: [
          "models/train.py",
          "--config=tiny",
          `--data=${PTB.pathname}`,
          `--out=${onnxPath}`,
          "--max-batches=20",
          `--eval-tokens=${EVAL_TOKENS}`,
          "--threads=1",
        ],
        cwd: ROOT,
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.ok(train.success, new TextDecoder().decode(train.stderr).slice(-2000));
      const reference = JSON.parse(await Deno.readTextFile(`${dir}/tiny.reference.json`));
      assert.ok(reference.valid_perplexity > 1 && reference.valid_perplexity < 10000);

      const compiled = await compileOnnx(await Deno.readFile(onnxPath), { fileName: "tiny.onnx" });
      await writeFileAtomic(`${dir}/tiny.lem`, compiled.bytes);
      const model = await LstmModel.load(compiled.bytes);
      assertAllClose(
        model.logits(reference.sentence_ids),
        reference.logits.flat(),
        "logits vs PyTorch",
        1e-4,
        1e-4,
      );

      for (
        const [split, expected] of [["valid", reference.valid_perplexity], [
          "test",
          reference.test_perplexity,
        ]]
      ) {
        const text = await Deno.readTextFile(new URL(`ptb.${split}.txt`, PTB));
        for (const file of [onnxPath, `${dir}/tiny.lem`]) {
          const r = await evaluateModelFile(file, text, { limit: EVAL_TOKENS });
          assert.equal(r.tokens, EVAL_TOKENS - 1);
          const rel = Math.abs(r.perplexity / expected - 1);
          assert.ok(rel < 1e-4, `${split} ${r.engine}: ${r.perplexity} vs PyTorch ${expected} (${rel})`);
        }
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "models/train.py --resume continues exactly where the checkpoint stopped",
  ...needs(
    torchAvailable() && exists(PTB),
    "needs /usr/bin/python3 with torch and onnx, and ../shared/data/ptb",
  ),
  async fn() {
    const dir = await Deno.makeTempDir();
    const run = async (out: string, ...extra: string[]) => {
      const r = await new Deno.Command("/usr/bin/python3", {
        args: [
          "models/train.py",
          "--config=tiny",
          `--data=${PTB.pathname}`,
          `--out=${out}`,
          "--max-batches=8",
          "--eval-tokens=300",
          "--threads=1",
          ...extra,
        ],
        cwd: ROOT,
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.ok(r.success, new TextDecoder().decode(r.stderr).slice(-2000));
      return JSON.parse(await Deno.readTextFile(out.replace(/\.onnx$/, ".reference.json")));
    };
    try {
      const straight = await run(`${dir}/a.onnx`, "--epochs=2");
      await run(`${dir}/b.onnx`, "--epochs=1");
      const resumed = await run(`${dir}/b.onnx`, "--epochs=2", "--resume");
      assert.deepEqual(resumed.history, straight.history);
      assert.deepEqual(resumed.logits, straight.logits);
      assert.equal(resumed.onnx_sha256, straight.onnx_sha256);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
