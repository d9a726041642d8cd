/**
 * ml5.js's pretrained char-RNNs (../shared/data/ml5-charrnn): compiled from their folders, checked
 * against the checked-in PyTorch reference (tests/ml5_reference.py) on a raw text, compressed, and made
 * to generate.
 * @module
 */
import assert from "node:assert/strict";
import { exists, ML5_CHARRNN, needs, runTask, torchAvailable } from "./helpers.ts";
import { RAW_TEXT } from "./ml5_text.ts";
import { compileMl5Folder } from "../compiler/compile.ts";
import { methodRecipe } from "../compiler/recipe.ts";
import { LstmModel } from "../runtime/model.ts";
import { TextService } from "../runtime/app/service.ts";
import { assertReadableText } from "../runtime/app/http_suite.ts";

const HAVE_DATA = exists(ML5_CHARRNN);
const DATA_REASON = `${ML5_CHARRNN.pathname} is absent (ml5.js's pretrained char-RNNs)`;
const REFERENCE = new URL("ml5_reference.py", import.meta.url).pathname;
const folder = (name: string) => new URL(`${name}/`, ML5_CHARRNN).pathname;

/**
 * shakespeare/vocab.json has two broken keys: "" for id 40 and "  " for id 13 (the data README: most
 * likely "U" and "u" lost in an export). The corrected vocabulary, written where the test can pass it.
 */
function correctedShakespeareVocab(dir: string): string {
  const broken: Record<string, number> = JSON.parse(
    Deno.readTextFileSync(`${folder("shakespeare")}vocab.json`),
  );
  const byId: string[] = [];
  for (const [ch, id] of Object.entries(broken)) byId[id] = ch;
  byId[13] = "u";
  byId[40] = "U";
  const path = `${dir}/shakespeare-vocab.json`;
  Deno.writeTextFileSync(path, JSON.stringify(Object.fromEntries(byId.map((ch, id) => [ch, id]))));
  return path;
}

Deno.test({
  name:
    "deno task compile refuses shakespeare's broken vocab.json, naming ids 13 and 40 and the --vocab way out",
  ...needs(HAVE_DATA, DATA_REASON),
  fn: async () => {
    const out = await Deno.makeTempFile({ suffix: ".lem" });
    await Deno.remove(out);
    const r = await runTask("compile", folder("shakespeare"), "-o", out);
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /vocab\.json is not a usable vocabulary: id 13 is " {2}" \(2 characters\); id 40 is the empty string/,
    );
    assert.match(r.stderr, /Pass a corrected vocabulary with --vocab FILE\.json/);
    assert.ok(!(await Deno.stat(out).then(() => true, () => false)), "no model written");
  },
});

for (const name of ["dubois", "shakespeare"]) {
  Deno.test({
    name:
      `${name}: compile + eval on raw text equal the PyTorch reference within 1e-4 (perplexity and logits); ` +
      `int8 within +1 % of f32`,
    ...needs(HAVE_DATA && torchAvailable(), `${DATA_REASON}, or /usr/bin/python3 cannot import torch`),
    fn: async () => {
      const dir = await Deno.makeTempDir({ prefix: "lstm-edge-ml5-" });
      try {
        const textPath = `${dir}/raw.txt`;
        await Deno.writeTextFile(textPath, RAW_TEXT);
        const vocabArgs = name === "shakespeare" ? ["--vocab", correctedShakespeareVocab(dir)] : [];
        const evalJson = async (method: string, kernels: string) => {
          const lem = `${dir}/${name}-${method}.lem`;
          const c = await runTask("compile", folder(name), "-o", lem, "--method", method, ...vocabArgs);
          assert.equal(c.code, 0, c.stderr);
          const e = await runTask("eval", lem, textPath, "--json", "--kernels", kernels);
          assert.equal(e.code, 0, e.stderr);
          return { lem, ...JSON.parse(e.stdout) };
        };
        const f32 = await evalJson("f32", "plain");
        const ref = JSON.parse(
          new TextDecoder().decode(
            (await new Deno.Command("/usr/bin/python3", {
              args: [REFERENCE, folder(name), textPath, "--logits", "64", ...vocabArgs],
              stderr: "inherit",
            }).output()).stdout,
          ),
        );
        assert.equal(f32.tokens, [...RAW_TEXT].length - 1, "every character after the first is scored");
        assert.equal(f32.tokens, ref.tokens);
        assert.equal(f32.unknown, 0);
        const rel = Math.abs(f32.perplexity / ref.perplexity - 1);
        console.log(
          `${name}: f32 perplexity ${f32.perplexity}, PyTorch ${ref.perplexity} (rel ${
            rel.toExponential(1)
          })`,
        );
        assert.ok(rel <= 1e-4, `${f32.perplexity} vs ${ref.perplexity}`);

        const model = await LstmModel.load(await Deno.readFile(f32.lem));
        const ids = model.tokenizer.encode(RAW_TEXT).ids;
        const ours = model.logits(ids.slice(0, 64));
        const v = model.info.vocabSize;
        let max = 0;
        ref.logits.forEach((row: number[], t: number) =>
          row.forEach((x, k) => (max = Math.max(max, Math.abs(x - ours[t * v + k]))))
        );
        assert.equal(ref.logits.length, 64);
        console.log(`${name}: max |logit − PyTorch's| over 64 positions ${max.toExponential(2)}`);
        assert.ok(max <= 1e-4, `max |logit difference| ${max}`);

        for (const kernels of ["plain", "relaxed"]) {
          const int8 = await evalJson("int8", kernels);
          const increase = int8.perplexity / f32.perplexity - 1;
          console.log(
            `${name}: int8 (${kernels}) perplexity ${int8.perplexity} (${
              (100 * increase).toFixed(3)
            } % vs f32)`,
          );
          assert.ok(increase <= 0.01, `int8 ${kernels}: +${(100 * increase).toFixed(2)} %`);
        }
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}

Deno.test({
  name: "dubois: every compression method applies to an imported char-RNN",
  ...needs(HAVE_DATA, DATA_REASON),
  fn: async () => {
    const f32 = await compileMl5Folder(folder("dubois"), { fileName: "dubois", evalText: RAW_TEXT });
    for (
      const [method, encoding, maxIncrease] of [
        ["f16", /dense f16/, 0.001],
        ["int4", /int4/, 0.15],
        ["prune:0.3+int8", /csr/, 0.1],
        ["lowrank:96+int8", /lowrank/, 0.5],
        ["tt:16+f16", /^tt/, 20],
      ] as const
    ) {
      const r = await compileMl5Folder(folder("dubois"), {
        fileName: "dubois",
        evalText: RAW_TEXT,
        recipe: methodRecipe(method),
      });
      assert.ok(
        r.tensors.every((t) => encoding.test(t.encoding)),
        `${method}: ${r.tensors.map((t) => t.encoding)}`,
      );
      const increase = r.perplexityCompiled! / f32.perplexityCompiled! - 1;
      console.log(
        `dubois ${method}: ${r.bytes.length} bytes, perplexity ${r.perplexityCompiled!.toFixed(4)} ` +
          `(${(100 * increase).toFixed(2)} % vs f32 ${f32.perplexityCompiled!.toFixed(4)})`,
      );
      assert.ok(
        Number.isFinite(increase) && increase <= maxIncrease,
        `${method}: ${(100 * increase).toFixed(2)} %`,
      );
      assert.ok(r.bytes.length < f32.bytes.length, `${method}: ${r.bytes.length} bytes`);
    }
  },
});

Deno.test({
  name: "dubois generates readable text, with spaces and newlines, the same for the same seed",
  ...needs(HAVE_DATA, DATA_REASON),
  fn: async () => {
    const compiled = await compileMl5Folder(folder("dubois"), { fileName: "dubois" });
    const model = await LstmModel.load(compiled.bytes);
    const service = new TextService(model, { maxTextTokens: 4000 });
    const run = async () => {
      const state = model.createState();
      service.feed("The ", state);
      return await service.generate(state, { maxTokens: 400, temperature: 0.7, topK: 40, seed: 11 });
    };
    const a = await run();
    assert.equal((await run()).text, a.text);
    assert.equal(a.text, a.tokens.join(""), "characters joined as they are");
    assertReadableText(a.text);
  },
});

Deno.test("deno task compile DIR --target-size is refused: the budget search needs an ONNX model", async () => {
  const dir = await Deno.makeTempDir({ prefix: "lstm-edge-ml5-" });
  try {
    await Deno.writeTextFile(`${dir}/manifest.json`, "{}");
    const r = await runTask(
      "compile",
      dir,
      "--target-size",
      "100000",
      "--eval",
      "x.txt",
      "-o",
      `${dir}/x.lem`,
    );
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /is an ml5 char-RNN folder: compile it with --method or --recipe/);
    const empty = await runTask("compile", dir, "-o", `${dir}/x.lem`);
    assert.equal(empty.code, 1);
    assert.match(empty.stderr, /manifest\.json has no variable embedding, softmax_w, softmax_b/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
