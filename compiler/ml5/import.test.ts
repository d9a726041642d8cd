import assert from "node:assert/strict";
import { mulberry32 } from "../../runtime/random.ts";
import { needs, torchAvailable } from "../../tests/helpers.ts";
import { compileMl5Folder } from "../compile.ts";
import { LstmModel } from "../../runtime/model.ts";
import { importMl5CharRnn, isMl5Folder, TF_FORGET_BIAS } from "./import.ts";

const VOCAB = [" ", "\n", "a", "b", "c", "d", "e", ".", "é"];

interface FolderSpec {
  /** Hidden size of each layer. */
  hidden: number[];
  embed?: number;
  /** "weights"/"biases" (ml5's older exports) or "kernel"/"bias" (newer TensorFlow). */
  names?: "weights" | "kernel";
  /** Without a MultiRNNCell: one layer at rnnlm/basic_lstm_cell/… */
  single?: boolean;
  vocabJson?: string;
  seed?: number;
}

/** Writes a random char-RNN folder in ml5's format; returns its path. */
function writeFolder(spec: FolderSpec): string {
  const dir = Deno.makeTempDirSync({ prefix: "lstm-edge-ml5-" });
  const rand = mulberry32(spec.seed ?? 3);
  const manifest: Record<string, { filename: string; shape: number[] }> = {};
  const add = (name: string, shape: number[], scale = 0.6) => {
    const filename = name.replaceAll("/", "_");
    const data = Float32Array.from(
      { length: shape.reduce((a, b) => a * b, 1) },
      () => (rand() * 2 - 1) * scale,
    );
    Deno.writeFileSync(`${dir}/${filename}`, new Uint8Array(data.buffer));
    manifest[name] = { filename, shape };
  };
  const V = VOCAB.length;
  const E = spec.embed ?? 5;
  add("Variable", []);
  add("embedding", [V, E]);
  const [w, b] = spec.names === "kernel" ? ["kernel", "bias"] : ["weights", "biases"];
  let input = E;
  spec.hidden.forEach((H, k) => {
    const cell = spec.single ? "rnnlm/basic_lstm_cell" : `rnnlm/multi_rnn_cell/cell_${k}/basic_lstm_cell`;
    add(`${cell}/${w}`, [input + H, 4 * H]);
    add(`${cell}/${b}`, [4 * H], 0.3);
    input = H;
  });
  add("rnnlm/softmax_w", [input, V], 1.5);
  add("rnnlm/softmax_b", [V], 0.5);
  Deno.writeTextFileSync(`${dir}/manifest.json`, JSON.stringify(manifest, null, 2));
  Deno.writeTextFileSync(
    `${dir}/vocab.json`,
    spec.vocabJson ?? JSON.stringify(Object.fromEntries(VOCAB.map((ch, i) => [ch, i]))),
  );
  return dir;
}

function withFolder(spec: FolderSpec, fn: (dir: string) => void | Promise<void>) {
  return async () => {
    const dir = writeFolder(spec);
    try {
      await fn(dir);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  };
}

Deno.test(
  "importMl5CharRnn() converts TensorFlow's [I + H, 4H] kernel (i, j, f, o) to w_ih, w_hh in i, f, g, o with forget bias 1.0",
  withFolder({ hidden: [4] }, async (dir) => {
    const ir = await importMl5CharRnn(dir);
    assert.ok(isMl5Folder(dir));
    const manifest = JSON.parse(Deno.readTextFileSync(`${dir}/manifest.json`));
    const read = (name: string) =>
      new Float32Array(Deno.readFileSync(`${dir}/${manifest[name].filename}`).buffer);
    const kernel = read("rnnlm/multi_rnn_cell/cell_0/basic_lstm_cell/weights"); // [5 + 4, 16]
    const bias = read("rnnlm/multi_rnn_cell/cell_0/basic_lstm_cell/biases");
    const [layer] = ir.layers;
    const H = 4, I = 5;
    // IR gate f (block 1), unit 2 ← TF block 2 (f); IR gate g (block 2) ← TF block 1 (j).
    assert.equal(layer.wIh.data[(1 * H + 2) * I + 3], kernel[3 * 4 * H + 2 * H + 2]);
    assert.equal(layer.wIh.data[(2 * H + 2) * I + 3], kernel[3 * 4 * H + 1 * H + 2]);
    assert.equal(layer.wHh.data[(3 * H + 1) * H + 0], kernel[(I + 0) * 4 * H + 3 * H + 1]);
    assert.equal(layer.bias[1 * H + 2], Math.fround(bias[2 * H + 2] + TF_FORGET_BIAS));
    assert.equal(layer.bias[2 * H + 2], bias[1 * H + 2]);
    const softmaxW = read("rnnlm/softmax_w"); // [4, V]
    assert.equal(ir.decoder.data[5 * H + 3], softmaxW[3 * VOCAB.length + 5]);
    assert.deepEqual(ir.vocab, VOCAB);
    assert.equal(ir.tokenizer.kind, "character");
    assert.equal(ir.unkId, -1);
  }),
);

for (const spec of [{ hidden: [6, 7, 5], names: "kernel" as const }, { hidden: [6], single: true }]) {
  const what = spec.single ? "one cell without a MultiRNNCell" : "three layers named kernel/bias";
  Deno.test({
    name: `an ml5 folder with ${what} compiles to logits equal to the PyTorch reference's within 1e-4`,
    ...needs(torchAvailable(), "/usr/bin/python3 cannot import torch (Debian python3-torch)"),
    fn: withFolder(spec, async (dir) => {
      const text = "abc de.\néa bad cab\n\nc. é";
      const textPath = `${dir}/text.txt`;
      Deno.writeTextFileSync(textPath, text);
      const ref = JSON.parse(
        new TextDecoder().decode(
          (await new Deno.Command("/usr/bin/python3", {
            args: [
              new URL("../../tests/ml5_reference.py", import.meta.url).pathname,
              dir,
              textPath,
              "--logits",
              "99",
            ],
          }).output()).stdout,
        ),
      );
      const compiled = await compileMl5Folder(dir, { fileName: "synthetic" });
      const model = await LstmModel.load(compiled.bytes);
      const ids = model.tokenizer.encode(text).ids;
      assert.equal(ids.length, [...text].length);
      const ours = model.logits(ids.slice(0, -1));
      const V = VOCAB.length;
      let max = 0;
      ref.logits.forEach((row: number[], t: number) =>
        row.forEach((x, v) => (max = Math.max(max, Math.abs(x - ours[t * V + v]))))
      );
      assert.equal(ref.logits.length, ids.length - 1);
      assert.ok(max <= 1e-4, `max |logit difference| ${max}`);
      const score = model.score(ids);
      assert.ok(
        Math.abs(score.perplexity / ref.perplexity - 1) <= 1e-4,
        `${score.perplexity} vs ${ref.perplexity}`,
      );
      assert.ok(compiled.maxLogitDiff <= 1e-4, `compile's own check ${compiled.maxLogitDiff}`);
    }),
  });
}

const errorOf = async (dir: string, options = {}) => {
  try {
    await importMl5CharRnn(dir, options);
  } catch (e) {
    return (e as Error).message;
  }
  assert.fail("expected the import to fail");
};

Deno.test(
  "importMl5CharRnn() names every broken vocabulary id and says how to pass a corrected one",
  withFolder(
    { hidden: [4], vocabJson: '{" ": 0, "\\n": 1, "": 2, "b": 3, "cc": 4, "d": 5, "e": 6, "e": 7, "é": 8}' },
    async (dir) => {
      const message = await errorOf(dir);
      assert.match(message, /vocab\.json is not a usable vocabulary/);
      assert.match(message, /key "e" appears 2 times/);
      assert.match(message, /no key has id 6/);
      assert.match(message, /Pass a corrected vocabulary with --vocab FILE\.json/);
      const fixed = [" ", "\n", "a", "b", "c", "d", "e", ".", "é"];
      assert.deepEqual((await importMl5CharRnn(dir, { vocab: fixed })).vocab, fixed);
    },
  ),
);

Deno.test(
  "importMl5CharRnn() refuses empty and multi-character keys by id, and ids given twice",
  withFolder(
    {
      hidden: [4],
      vocabJson: '{" ": 0, "\\n": 1, "": 2, "b": 3, "cc": 4, "d": 5, "e": 6, ".": 7, "é": 7, "z": 8}',
    },
    async (dir) => {
      const message = await errorOf(dir);
      assert.match(message, /id 7 is given to both "\." and "é"/);
      assert.match(message, /key "z" has id 8|no key has id/);
    },
  ),
);

Deno.test(
  "importMl5CharRnn() reports empty and multi-character keys (shakespeare's defect) by id",
  withFolder(
    { hidden: [4], vocabJson: '{" ": 0, "\\n": 1, "": 2, "b": 3, "cc": 4, "d": 5, "e": 6, ".": 7, "é": 8}' },
    async (dir) => {
      const message = await errorOf(dir);
      assert.match(message, /id 2 is the empty string; id 4 is "cc" \(2 characters\)/);
      assert.match(message, /--vocab FILE\.json/);
    },
  ),
);

Deno.test(
  "importMl5CharRnn() refuses a weight file of the wrong size, a wrong shape, unknown variables and a missing layer",
  withFolder({ hidden: [4, 4] }, async (dir) => {
    const manifestPath = `${dir}/manifest.json`;
    const manifest = JSON.parse(Deno.readTextFileSync(manifestPath));
    const edit = (change: (m: Record<string, { filename: string; shape: number[] }>) => void) => {
      const m = structuredClone(manifest);
      change(m);
      Deno.writeTextFileSync(manifestPath, JSON.stringify(m));
    };
    const kernel = "rnnlm/multi_rnn_cell/cell_1/basic_lstm_cell/weights";
    edit((m) => (m[kernel].shape = [8, 15]));
    assert.match(await errorOf(dir), /holds 512 bytes, expected 480 \(120 float32 values\)/);
    edit((m) => (m[kernel].shape = [16, 8]));
    assert.match(
      await errorOf(dir),
      /cell_1\/basic_lstm_cell\/weights" has shape \[16, 8\]; expected \[6, 8\] \(input 4 \+ hidden 2\)/,
    );
    edit((m) => (m["rnnlm/extra"] = { ...m["rnnlm/softmax_b"] }));
    assert.match(await errorOf(dir), /variable "rnnlm\/extra" \(shape \[9\]\) is not part of a char-RNN/);
    edit((m) => delete m["rnnlm/multi_rnn_cell/cell_0/basic_lstm_cell/biases"]);
    assert.match(await errorOf(dir), /layer 0 \(cell_0\) has no biases\/bias variable/);
    edit((m) => (m.embedding.filename = "../elsewhere"));
    assert.match(await errorOf(dir), /names the file "\.\.\/elsewhere" outside the folder/);
    edit((m) => (m.embedding.filename = "absent"));
    assert.match(await errorOf(dir), /variable "embedding": its file ".*\/absent" does not exist/);
    edit(() => {});
    assert.equal((await importMl5CharRnn(dir)).layers.length, 2);
  }),
);
