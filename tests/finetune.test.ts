/**
 * models/finetune.py end to end, as CI runs it: the tiny config trained for a few steps by models/train.py,
 * re-trained for a few steps with a low-rank + int4 recipe (and once with TT, pruning and f16), compiled, and
 * the compiled model's perplexity with the plain kernels compared with PyTorch's in the reference JSON. Also:
 * finetune.py's quantizer and TT modes are the compiler's, number for number.
 */
import assert from "node:assert/strict";
import { compileOnnx } from "../compiler/compile.ts";
import { evaluateModelFile } from "../compiler/evaluate.ts";
import { writeFileAtomic } from "../compiler/writer.ts";
import { encodeStorage } from "../compiler/methods/storage.ts";
import { chooseModes, fastModes, tensorTrainMethod, tensorTrainToDense } from "../compiler/methods/tt.ts";
import { irMatrix } from "../compiler/ir.ts";
import { importOnnx } from "../compiler/onnx/import.ts";
import { mulberry32 } from "../runtime/random.ts";
import { LstmModel } from "../runtime/model.ts";
import { exists, needs, PTB, runTask, torchAvailable } from "./helpers.ts";

const ROOT = new URL("../", import.meta.url);
const F32 = { type: "f32" } as const;
const EVAL_TOKENS = 1500;

const READY = torchAvailable() && exists(PTB);
const NEEDS = needs(
  READY,
  "needs /usr/bin/python3 with torch and onnx (Debian python3-torch, python3-onnx) and ../shared/data/ptb",
);
const NEEDS_TORCH = needs(torchAvailable(), "needs /usr/bin/python3 with torch (Debian python3-torch)");

async function python(args: string[], stdin?: string): Promise<string> {
  const child = new Deno.Command("/usr/bin/python3", {
    args,
    cwd: ROOT,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const out = await child.output();
  const decoder = new TextDecoder();
  if (!out.success) throw new Error(`python ${args.join(" ")} failed:\n${decoder.decode(out.stderr)}`);
  return decoder.decode(out.stdout);
}

Deno.test({
  name: "finetune.py quantizes as the compiler does: the same int8/int4 codes and float32 scales",
  ...NEEDS_TORCH,
  async fn() {
    const rand = mulberry32(5);
    const rows = 7, cols = 45;
    const data = Float32Array.from({ length: rows * cols }, () => (rand() - 0.5) * 3);
    data[3] = 0; // an exact zero, and a group of zeros:
    for (let c = 0; c < 16; c++) data[2 * cols + c] = 0;
    const cases = [{ bits: 8, group: 45 }, { bits: 8, group: 16 }, { bits: 4, group: 32 }, {
      bits: 4,
      group: 16,
    }];
    const script = [
      "import sys, json, torch",
      "sys.path.insert(0, 'models')",
      "from finetune import quantize_codes",
      "req = json.load(sys.stdin)",
      "w = torch.tensor(req['data'], dtype=torch.float32).view(req['rows'], req['cols'])",
      "out = []",
      "for c in req['cases']:",
      "    q, s = quantize_codes(w, c['bits'], c['group'])",
      "    out.append({'codes': q.flatten().tolist(), 'scales': s.flatten().tolist()})",
      "print(json.dumps(out))",
    ].join("\n");
    const answers = JSON.parse(
      await python(["-c", script], JSON.stringify({ data: [...data], rows, cols, cases })),
    );
    cases.forEach((c, i) => {
      const e = encodeStorage(irMatrix("w", rows, cols, data), {
        type: c.bits === 8 ? "int8" : "int4",
        groupSize: c.group,
      });
      assert.ok(e.encoding.kind === "quantized");
      assert.deepEqual(answers[i].scales, [...e.encoding.scales], `scales, ${JSON.stringify(c)}`);
      const stride = c.bits === 8 ? cols : Math.ceil(cols / 2);
      const codes = Array.from({ length: rows * cols }, (_, k) => {
        const [r, col] = [Math.floor(k / cols), k % cols];
        const b = (e.encoding as { data: Uint8Array }).data[r * stride + (c.bits === 8 ? col : col >> 1)];
        return c.bits === 8 ? (b << 24) >> 24 : (((b >> (4 * (col & 1))) & 0xf) << 28) >> 28;
      });
      assert.deepEqual(answers[i].codes, codes, `codes, ${JSON.stringify(c)}`);
    });
  },
});

Deno.test({
  name: "finetune.py factors TT modes as the compiler does",
  ...NEEDS_TORCH,
  async fn() {
    const sizes = [1, 2, 7, 32, 128, 200, 650, 800, 2600, 10000, 10007];
    const script = "import sys, json; sys.path.insert(0, 'models'); " +
      "from finetune import choose_modes, fast_modes; " +
      `print(json.dumps([[choose_modes(n), fast_modes(n, "rows"), fast_modes(n, "cols")] ` +
      `for n in ${JSON.stringify(sizes)}]))`;
    assert.deepEqual(
      JSON.parse(await python(["-c", script])),
      sizes.map((n) => [chooseModes(n), fastModes(n, "rows"), fastModes(n, "cols")]),
    );
    // Without modes both pick the split of smaller TT-SVD error: matrices that are exactly a rank-2 TT in
    // the fast and in the balanced split (40 × 24, no padding) get that split from either.
    const rand = mulberry32(3);
    const matrices = [[[10, 2, 2], [2, 2, 6]], [chooseModes(40), chooseModes(24)]].map(
      ([rowModes, colModes]) => {
        const m = irMatrix("w", 40, 24, Float32Array.from({ length: 960 }, () => rand() - 0.5));
        const source = tensorTrainMethod.encode(m, {
          kind: "tt",
          maxRank: 2,
          rowModes,
          colModes,
          storage: F32,
        }, "decoder");
        return { modes: [rowModes, colModes], data: Array.from(tensorTrainToDense(source.encoded)) };
      },
    );
    const pick =
      "import sys, json; import numpy as np; sys.path.insert(0, 'models'); from finetune import tt_cores; " +
      "ms = json.load(sys.stdin); " +
      "print(json.dumps([list(tt_cores(np.array(m['data'], np.float32).reshape(40, 24), {'maxRank': 2})[:2]) " +
      "for m in ms]))";
    assert.deepEqual(
      JSON.parse(await python(["-c", pick], JSON.stringify(matrices))),
      matrices.map((m) => m.modes),
    );
  },
});

/** Trains the tiny model once for the tests below. */
async function tinyModel(dir: string): Promise<string> {
  const onnx = `${dir}/tiny.onnx`;
  await python([
    "models/train.py",
    "--config=tiny",
    `--data=${PTB.pathname}`,
    `--out=${onnx}`,
    "--max-batches=20",
    `--eval-tokens=${EVAL_TOKENS}`,
    "--threads=1",
  ]);
  return onnx;
}

async function finetune(dir: string, model: string, recipe: object, name: string, extra: string[] = []) {
  const recipePath = `${dir}/${name}.recipe.json`;
  await Deno.writeTextFile(recipePath, JSON.stringify(recipe));
  const out = `${dir}/${name}.onnx`;
  await python([
    "models/finetune.py",
    `--model=${model}`,
    `--recipe=${recipePath}`,
    `--train=${PTB.pathname}ptb.train.txt`,
    `--valid=${PTB.pathname}ptb.valid.txt`,
    `--test=${PTB.pathname}ptb.test.txt`,
    `--out=${out}`,
    "--epochs=2",
    "--max-batches=12",
    `--eval-tokens=${EVAL_TOKENS}`,
    "--threads=1",
    ...extra,
  ]);
  return { out, recipePath, reference: JSON.parse(await Deno.readTextFile(`${dir}/${name}.reference.json`)) };
}

Deno.test({
  name:
    "a model re-trained by finetune.py compiles to a .lem that scores what PyTorch scored (plain kernels, 1e-4)",
  ...NEEDS,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const tiny = await tinyModel(dir);
      const recipes: [string, object, string[]][] = [
        ["lowrank-int4", {
          rules: [
            { tensors: "decoder", method: "lowrank:8+int4" },
            { tensors: "embedding", method: "lowrank:8+int4:g16" },
            { tensors: "*", method: "int4:g16" },
          ],
        }, ["--distill=0"]],
        ["tt-prune-f16", {
          rules: [
            { tensors: "embedding", method: "tt:4+int8" },
            { tensors: "layers.0.*", method: "prune:0.5+int8" },
            { tensors: "layers.1.*", method: "prune:0.3+int4", scope: "global" },
            { tensors: "decoder", method: "f16" },
          ],
        }, ["--distill=0.5", "--optimizer=adam"]],
        ["blocks", {
          rules: [
            { tensors: "layers.0.*", method: "prune:0.5:b4x8+int8" },
            { tensors: "layers.1.*", method: "prune:0.4:b1x4", scope: "global" },
            { tensors: "decoder", method: "prune:0.5:b4x16+int8:g128" },
            { tensors: "*", method: "int8" },
          ],
        }, []],
      ];
      for (const [name, recipe, extra] of recipes) {
        const { out, reference } = await finetune(dir, tiny, recipe, name, extra);
        const history = reference.history as { epoch: number; valid_ppl: number }[];
        assert.equal(history[0].epoch, 0, "the compressed model before re-training is logged");
        const compiled = await compileOnnx(await Deno.readFile(out), { fileName: `${name}.onnx` });
        assert.ok(compiled.tensors.every((t) => t.detail.startsWith("trained parts")), name);
        if (name === "tt-prune-f16") {
          // Pruned to the recipe's sparsity, whichever epoch early stopping kept.
          const lm = await LstmModel.load(compiled.bytes);
          const enc = (n: string) => lm.info.tensors.find((t) => t.name === n)!.encoding;
          assert.match(enc("layers.0.w_ih"), /^csr16 50\.0% /);
          assert.match(enc("layers.0.w_hh"), /^csr16 50\.0% /);
        }
        if (name === "blocks") {
          // Whole blocks, to the recipe's block sparsity, whichever epoch early stopping kept.
          const lm = await LstmModel.load(compiled.bytes);
          const enc = (n: string) => lm.info.tensors.find((t) => t.name === n)!.encoding;
          assert.match(enc("layers.0.w_ih"), /^blocks 4x8 50\.0% \(int8 g512\)/);
          assert.match(enc("decoder"), /^blocks 4x16 50\.0% \(int8 g128\)/);
          assert.match(enc("layers.1.w_hh"), /^blocks 1x4 /);
        }
        const lem = `${dir}/${name}.lem`;
        await writeFileAtomic(lem, compiled.bytes);
        for (
          const [split, expected] of [["valid", reference.valid_perplexity], [
            "test",
            reference.test_perplexity,
          ]]
        ) {
          const text = await Deno.readTextFile(new URL(`ptb.${split}.txt`, PTB));
          const plain = await evaluateModelFile(lem, text, { limit: EVAL_TOKENS, kernels: "plain" });
          const rel = Math.abs(plain.perplexity / expected - 1);
          assert.ok(
            rel < 1e-4,
            `${name} ${split}: lstm-edge ${plain.perplexity}, PyTorch ${expected} (rel ${rel})`,
          );
          // The dense weights in the ONNX are the same model for onnxruntime-web.
          const ort = await evaluateModelFile(out, text, { limit: EVAL_TOKENS });
          assert.ok(
            Math.abs(ort.perplexity / expected - 1) < 1e-4,
            `${name} ${split}: onnxruntime ${ort.perplexity}`,
          );
          // The relaxed kernels' 7/8-bit activations cost a little; reported, bounded loosely.
          const relaxed = await evaluateModelFile(lem, text, { limit: EVAL_TOKENS, kernels: "relaxed" });
          assert.ok(
            Math.abs(relaxed.perplexity / expected - 1) < 1e-2,
            `${name} ${split}: relaxed ${relaxed.perplexity}`,
          );
        }
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "finetune.py refuses bad input with one line and exit code 2, before training",
  ...NEEDS,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const tiny = await tinyModel(dir);
      const run = async (recipe: unknown, ...extra: string[]) => {
        await Deno.writeTextFile(`${dir}/r.json`, JSON.stringify(recipe));
        return await new Deno.Command("/usr/bin/python3", {
          args: [
            "models/finetune.py",
            `--model=${tiny}`,
            `--recipe=${dir}/r.json`,
            `--train=${PTB.pathname}ptb.train.txt`,
            `--valid=${PTB.pathname}ptb.valid.txt`,
            `--out=${dir}/x.onnx`,
            ...extra,
          ],
          cwd: ROOT,
          stdout: "piped",
          stderr: "piped",
        }).output();
      };
      const cases: [unknown, string[], RegExp][] = [
        [{ rules: [{ tensors: "decoder", method: "int5" }] }, [], /Invalid method "int5"/],
        [{ rules: [{ tensors: "decodr", method: "int8" }] }, [], /pattern 'decodr' matches no tensor/],
        [{ rules: [{ tensors: "*", method: "int8", scope: "global" }] }, [], /"scope" .* for prune only/],
        [{ rules: [] }, [], /a recipe is/],
        [{ rules: [{ tensors: "*", method: "int8" }] }, ["--distill=2"], /--distill must be in \[0, 1\]/],
        [
          { rules: [{ tensors: "*", method: "int8" }] },
          ["--test=/nonexistent.txt"],
          /--test \/nonexistent\.txt does not exist/,
        ],
      ];
      for (const [recipe, extra, message] of cases) {
        const r = await run(recipe, ...extra);
        const stderr = new TextDecoder().decode(r.stderr);
        assert.equal(r.code, 2, stderr);
        assert.match(stderr, message);
        assert.doesNotMatch(stderr, /Traceback/);
      }
      assert.ok(!exists(new URL(`file://${dir}/x.onnx`)), "nothing written");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "compile --target-size --finetune re-trains a shortlist, re-trains the best, and writes what was trained",
  ...NEEDS,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const tiny = await tinyModel(dir);
      const lines = (name: string, n: number) =>
        Deno.readTextFile(new URL(name, PTB)).then((t) => t.split("\n").slice(0, n).join("\n") + "\n");
      await Deno.writeTextFile(`${dir}/train.txt`, await lines("ptb.train.txt", 1500));
      await Deno.writeTextFile(`${dir}/valid.txt`, await lines("ptb.valid.txt", 300));
      const out = `${dir}/m.lem`;
      const r = await runTask(
        "compile",
        tiny,
        "--target-size=320000",
        `--eval=${dir}/valid.txt`,
        `--finetune=${dir}/train.txt`,
        "--shortlist=2",
        "--shortlist-batches=5",
        "--finetune-epochs=1",
        "--menu=int8,int4:g32,lowrank:8+int8,tt:8+int8",
        "--subset-tokens=1000",
        "-o",
        out,
      );
      assert.equal(r.code, 0, r.stderr);
      // Progress of every stage, the shortlist, the winner and each stage's time.
      assert.match(r.stderr, /\[shortlist 1\/2\] epoch 0 \(compressed, not re-trained\) valid ppl/);
      assert.match(r.stderr, /\[re-training\] final valid ppl/);
      assert.match(r.stdout, /re-training shortlist/);
      assert.match(
        r.stdout,
        /stages: search \d+ s, shortlist 1\/2 \d+ s, shortlist 2\/2 \d+ s, re-training \d+ s, compile \d+ s/,
      );
      assert.match(r.stdout, /check against onnxruntime-web: max \|logit difference\|/);
      const bytes = await Deno.readFile(out);
      assert.ok(bytes.length <= 320000, `${bytes.length}`);
      // The file is the compile of the re-trained ONNX, its trained parts packed as they are.
      const retrained = `${dir}/m.finetune/retrained.onnx`;
      const again = await compileOnnx(await Deno.readFile(retrained), {
        fileName: "retrained.onnx",
        evalText: await Deno.readTextFile(`${dir}/valid.txt`),
        name: "tiny",
      });
      assert.deepEqual(again.bytes, bytes);
      assert.ok(again.tensors.every((t) => t.detail.startsWith("trained parts")));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("compile --finetune flags are checked before anything is read", async () => {
  const cases: [string[], RegExp][] = [
    [["--finetune", "t.txt"], /--finetune goes with --target-size/],
    [["--target-size", "3000", "--eval", "v.txt", "--shortlist", "2"], /--shortlist goes with --finetune/],
    [
      ["--target-size", "3000", "--eval", "v.txt", "--finetune", "t.txt", "--shortlist", "0"],
      /--shortlist must be a whole number ≥ 1/,
    ],
    [
      ["--target-size", "3000", "--eval", "v.txt", "--finetune", "t.txt", "--finetune-epochs", "x"],
      /--finetune-epochs must be a whole number ≥ 1/,
    ],
  ];
  for (const [args, message] of cases) {
    const r = await runTask("compile", "/nonexistent/model.onnx", ...args);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, message);
  }
});

Deno.test({
  name: "finetune.py reads every fixture the importer reads to the same weights (gates i, f, g, o)",
  ...NEEDS_TORCH,
  async fn() {
    const fixtures = [...Deno.readDirSync(new URL("fixtures/", import.meta.url))]
      .map((e) => e.name).filter((n) => n.endsWith(".onnx") && !/^(bidirectional|gru)\.onnx$/.test(n)).sort();
    assert.ok(fixtures.length >= 15, fixtures.join(" "));
    const script = [
      "import sys, json",
      "sys.path.insert(0, 'models')",
      "from finetune import read_model, tensor_names, tensor_matrix",
      "out = {}",
      "for f in json.load(sys.stdin):",
      "    m = read_model('tests/fixtures/' + f)",
      "    w = {n: tensor_matrix(m, n).flatten().tolist() for n in tensor_names(m)}",
      "    w['biases'] = [(l['b_ih'] + l['b_hh']).tolist() for l in m['layers']]",
      "    w['decoder_bias'] = m['decoder_bias'].tolist()",
      "    out[f] = w",
      "print(json.dumps(out))",
    ].join("\n");
    const read = JSON.parse(await python(["-c", script], JSON.stringify(fixtures)));
    for (const name of fixtures) {
      const ir = importOnnx(Deno.readFileSync(new URL(`fixtures/${name}`, import.meta.url)), {
        fileName: name,
      });
      const mats = [ir.embedding, ...ir.layers.flatMap((l) => [l.wIh, l.wHh]), ir.decoder];
      for (const m of mats) assert.deepEqual(read[name][m.name], [...m.data], `${name} ${m.name}`);
      ir.layers.forEach((l, k) => {
        const sum = read[name].biases[k] as number[];
        sum.forEach((v, i) =>
          assert.ok(Math.abs(v - l.bias[i]) <= 1e-6 * (1 + Math.abs(v)), `${name} bias ${k}`)
        );
      });
      assert.deepEqual(read[name].decoder_bias, [...ir.decoderBias], `${name} decoder bias`);
    }
  },
});

Deno.test({
  name: "finetune.py --resume continues from its checkpoint to the same model as an uninterrupted run",
  ...NEEDS,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const tiny = await tinyModel(dir);
      const recipe = {
        rules: [{ tensors: "decoder", method: "lowrank:8+int4" }, { tensors: "*", method: "int8" }],
      };
      const straight = await finetune(dir, tiny, recipe, "straight", ["--patience=5"]);
      // The same run stopped after its first epoch, then resumed for the second.
      await finetune(dir, tiny, recipe, "resumed", ["--patience=5", "--epochs=1"]);
      const resumed = await finetune(dir, tiny, recipe, "resumed", ["--patience=5", "--resume"]);
      assert.equal(resumed.reference.valid_perplexity, straight.reference.valid_perplexity);
      assert.deepEqual(resumed.reference.logits, straight.reference.logits);
      const log = await Deno.readTextFile(`${dir}/resumed.train.log`);
      assert.match(log, /resumed from .*resumed\.ckpt\.pt at epoch 2, batch 0/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
