/**
 * The ONNX importer against PyTorch (fixtures written by tests/fixtures/make_fixtures.py and a fresh export
 * by models/train.py) and against ONNX's own LSTM operator tests.
 */

import { assertAllClose } from "../runtime/kernels/testing.ts";
import assert from "node:assert/strict";
import { importOnnx, lstmNodeToLayer, readVocabFile } from "../compiler/onnx/import.ts";
import { lstmLayout } from "../compiler/onnx/lstm.ts";
import { decodeModel, encodeModel, toFloat32 } from "../compiler/onnx/proto.ts";
import { irLogits, lstmStep } from "../compiler/ir_forward.ts";
import {
  exists,
  haveNodeTests,
  loadNodeTest,
  needs,
  NODE_TEST_DIRS,
  type NodeTest,
  nodeTestsReason,
  PTB,
  torchAvailable,
} from "./helpers.ts";

const FIXTURES = new URL("./fixtures/", import.meta.url);
const ROOT = new URL("../", import.meta.url);

interface Expected {
  name: string;
  config: { layers: number; hidden: number; tied: boolean; decoder_bias: boolean };
  vocab_size: number;
  embedding_size: number;
  sentence_ids: number[];
  logits: number[][];
}

const fixtureNames = [...Deno.readDirSync(FIXTURES)]
  .map((e) => e.name)
  .filter((n) => n.endsWith(".expected.json"))
  .map((n) => n.slice(0, -".expected.json".length))
  .sort();

Deno.test("the fixture set covers every export variant it promises", () => {
  for (
    const name of [
      "lstm1",
      "lstm2",
      "lstm3",
      "batch_first",
      "no_state",
      "emb12_hidden8",
      "tied",
      "opset9",
      "opset17",
      "opset21",
      "layout1_opset14",
      "flat_gemm",
      "gemm_transb0",
      "no_decoder_bias",
    ]
  ) {
    assert.ok(fixtureNames.includes(name), `missing fixture ${name}`);
  }
  const total = [...Deno.readDirSync(FIXTURES)].reduce(
    (s, e) => s + Deno.statSync(new URL(e.name, FIXTURES)).size,
    0,
  );
  assert.ok(total < 1_000_000, `fixtures take ${total} bytes; keep them under 1 MB`);
});

for (const name of fixtureNames) {
  Deno.test(`importOnnx() of fixture ${name} gives PyTorch's logits`, () => {
    const expected: Expected = JSON.parse(Deno.readTextFileSync(new URL(`${name}.expected.json`, FIXTURES)));
    const bytes = Deno.readFileSync(new URL(`${name}.onnx`, FIXTURES));
    const model = importOnnx(bytes, { fileName: `${name}.onnx` });

    const { layers, hidden } = expected.config;
    const V = expected.vocab_size;
    assert.equal(model.vocab.length, V);
    assert.equal(model.vocab[0], "<unk>");
    assert.equal(model.unkId, 0);
    assert.equal(model.eosId, 1);
    assert.deepEqual([model.embedding.name, model.embedding.rows, model.embedding.cols], [
      "embedding",
      V,
      expected.embedding_size,
    ]);
    assert.equal(model.layers.length, layers);
    model.layers.forEach((layer, k) => {
      const input = k === 0 ? expected.embedding_size : hidden;
      assert.equal(layer.inputSize, input);
      assert.equal(layer.hiddenSize, hidden);
      assert.deepEqual([layer.wIh.name, layer.wIh.rows, layer.wIh.cols], [
        `layers.${k}.w_ih`,
        4 * hidden,
        input,
      ]);
      assert.deepEqual([layer.wHh.name, layer.wHh.rows, layer.wHh.cols], [
        `layers.${k}.w_hh`,
        4 * hidden,
        hidden,
      ]);
      assert.equal(layer.bias.length, 4 * hidden);
      assert.ok(layer.bias.some((b) => b !== 0), "the fixtures' LSTM biases are non-zero");
    });
    assert.deepEqual([model.decoder.name, model.decoder.rows, model.decoder.cols], ["decoder", V, hidden]);
    assert.equal(model.decoderBias.length, V);
    assert.equal(model.decoderBias.some((b) => b !== 0), expected.config.decoder_bias);
    if (expected.config.tied) assert.deepEqual(model.decoder.data, model.embedding.data);
    assert.equal(model.source.file, `${name}.onnx`);
    assert.match(model.source.sha256, /^[0-9a-f]{64}$/);

    const logits = irLogits(model, expected.sentence_ids);
    assert.equal(logits.length, expected.logits.length);
    logits.forEach((row, t) =>
      assertAllClose(row, expected.logits[t], `${name}: logits of token ${t}`, 1e-4, 1e-4)
    );
  });
}

Deno.test("importOnnx() reads the tokenizer settings from metadata_props and defaults without them", () => {
  const lstm3 = importOnnx(Deno.readFileSync(new URL("lstm3.onnx", FIXTURES)));
  assert.deepEqual(lstm3.tokenizer, { lowercase: true, eosPerLine: false, numberToken: "N" });
  const lstm1 = importOnnx(Deno.readFileSync(new URL("lstm1.onnx", FIXTURES)));
  assert.deepEqual(lstm1.tokenizer, { lowercase: false, eosPerLine: true, numberToken: undefined });
  assert.equal(lstm1.source.file, "model.onnx");
});

Deno.test("importOnnx() records the SHA-256 of the file's bytes", async () => {
  const bytes = Deno.readFileSync(new URL("lstm1.onnx", FIXTURES));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  const hex = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
  assert.equal(importOnnx(bytes).source.sha256, hex);
});

// ---------------------------------------------------------------------------------------------- rejections

function fixture(name: string): Uint8Array {
  return Deno.readFileSync(new URL(`${name}.onnx`, FIXTURES));
}

Deno.test("importOnnx() rejects a GRU, naming the node and saying only LSTM layers are supported", () => {
  assert.throws(() => importOnnx(fixture("gru")), (e: Error) => {
    assert.match(e.message, /GRU node "\/rnn\/GRU"/);
    assert.match(e.message, /only LSTM recurrent layers are supported/);
    return true;
  });
});

Deno.test("importOnnx() rejects a bidirectional LSTM, naming the node and the direction attribute", () => {
  assert.throws(() => importOnnx(fixture("bidirectional")), (e: Error) => {
    assert.match(e.message, /LSTM node "\/rnn\/LSTM"/);
    assert.match(e.message, /attribute direction is "bidirectional"; only "forward" is supported/);
    return true;
  });
});

Deno.test("importOnnx() rejects a vocabulary whose length differs from the embedding rows", () => {
  const vocab = readVocabFile(Array.from({ length: 39 }, (_, i) => `w${i}`).join("\n"));
  assert.throws(
    () => importOnnx(fixture("lstm1"), { vocab }),
    /vocabulary from the vocabulary file has 39 tokens but the embedding "embedding.weight" has 40 rows/,
  );
});

Deno.test("importOnnx() prefers options.vocab over the model's metadata", () => {
  const vocab = Array.from({ length: 40 }, (_, i) => (i === 5 ? "<eos>" : `w${i}`));
  const model = importOnnx(fixture("lstm1"), { vocab });
  assert.equal(model.vocab[3], "w3");
  assert.equal(model.unkId, -1);
  assert.equal(model.eosId, 5);
});

Deno.test("importOnnx() without any vocabulary says to pass --vocab", () => {
  const proto = decodeModel(fixture("lstm1"));
  proto.metadataProps = (proto.metadataProps ?? []).filter((p) => p.key !== "vocab");
  const bytes = encodeModel(proto);
  assert.throws(
    () => importOnnx(bytes),
    /no vocabulary \(no "vocab" entry in metadata_props\): pass one with --vocab FILE/,
  );
  const vocab = readVocabFile(
    decodeModel(fixture("lstm1")).metadataProps!.find((p) => p.key === "vocab")!.value!,
  );
  assert.equal(importOnnx(bytes, { vocab }).vocab.length, 40);
});

// ------------------------------------------------------------------------------- ONNX's own LSTM tests

/** Runs the converted layer over X with a zero initial state: Y (as laid out by `layout`) and Y_h. */
function runLstmNode(test: NodeTest): { Y: Float32Array; Y_h: Float32Array } {
  const layer = lstmNodeToLayer(test.node, test.inputs);
  const layout = lstmLayout(test.node);
  const X = test.inputs.get(test.node.input![0])!;
  const x = toFloat32(X);
  const [seq, batch] = layout === 0 ? [X.dims[0], X.dims[1]] : [X.dims[1], X.dims[0]];
  const I = X.dims[2];
  const H = layer.hiddenSize;
  // Y: layout 0 (seq, 1, batch, H); layout 1 (batch, seq, 1, H). Y_h: layout 0 (1, batch, H); 1 (batch, 1, H).
  const Y = new Float32Array(seq * batch * H);
  const Y_h = new Float32Array(batch * H);
  for (let b = 0; b < batch; b++) {
    const h = new Float64Array(H);
    const c = new Float64Array(H);
    for (let t = 0; t < seq; t++) {
      const off = (layout === 0 ? t * batch + b : b * seq + t) * I;
      lstmStep(layer, x.subarray(off, off + I), h, c);
      Y.set(h, (layout === 0 ? t * batch + b : b * seq + t) * H);
    }
    Y_h.set(h, b * H);
  }
  return { Y, Y_h };
}

for (const { dir, label } of NODE_TEST_DIRS) {
  for (const name of ["test_lstm_defaults", "test_lstm_with_initial_bias", "test_lstm_batchwise"]) {
    Deno.test({
      name: `lstmNodeToLayer() reproduces ONNX's ${name} (${label})`,
      ...needs(haveNodeTests, nodeTestsReason),
      fn() {
        const test = loadNodeTest(dir, name);
        const { Y, Y_h } = runLstmNode(test);
        const outs = test.node.output!;
        let compared = 0;
        if (outs[0]) {
          assertAllClose(Y, toFloat32(test.outputs.get(outs[0])!), `${name}: Y`, 1e-4, 1e-4);
          compared++;
        }
        if (outs[1]) {
          assertAllClose(Y_h, toFloat32(test.outputs.get(outs[1])!), `${name}: Y_h`, 1e-4, 1e-4);
          compared++;
        }
        assert.ok(compared > 0, "the test has Y or Y_h to compare");
      },
    });
  }
  Deno.test({
    name: `lstmNodeToLayer() rejects ONNX's test_lstm_with_peepholes, naming the node and input P (${label})`,
    ...needs(haveNodeTests, nodeTestsReason),
    fn() {
      const test = loadNodeTest(dir, "test_lstm_with_peepholes");
      assert.throws(() => lstmNodeToLayer(test.node, test.inputs), (e: Error) => {
        assert.match(e.message, /^LSTM node \(unnamed, output "Y_h"\) is not supported/);
        assert.match(e.message, /input P \(peepholes\) "P" is given; peephole connections are not supported/);
        assert.match(e.message, /input sequence_lens "sequence_lens" is given/);
        return true;
      });
    },
  });
}

// ------------------------------------------------------------------ the real training script's export

const haveTorch = torchAvailable();
const havePtb = exists(PTB);

Deno.test({
  name: "importOnnx() of a fresh models/train.py export gives the logits in its reference JSON",
  ...needs(
    haveTorch && havePtb,
    !haveTorch
      ? "/usr/bin/python3 cannot import torch and onnx (needed to run models/train.py)"
      : `${PTB.pathname} is absent (Penn Treebank)`,
  ),
  fn() {
    const tmp = Deno.makeTempDirSync({ prefix: "lstm-edge-importer-" });
    try {
      const out = `${tmp}/tiny.onnx`;
      const r = new Deno.Command("/usr/bin/python3", {
        args: [
          "models/train.py",
          "--config",
          "tiny",
          "--data",
          "../shared/data/ptb",
          "--out",
          out,
          "--max-batches",
          "5",
          "--eval-tokens",
          "200",
          "--threads",
          "1",
        ],
        cwd: ROOT,
        stdout: "piped",
        stderr: "piped",
      }).outputSync();
      const decode = (b: Uint8Array) => new TextDecoder().decode(b);
      assert.ok(r.success, `models/train.py failed:\n${decode(r.stdout)}\n${decode(r.stderr)}`);
      const reference = JSON.parse(Deno.readTextFileSync(`${tmp}/tiny.reference.json`));
      const model = importOnnx(Deno.readFileSync(out), { fileName: "tiny.onnx" });
      assert.equal(model.source.sha256, reference.onnx_sha256);
      assert.equal(model.layers.length, reference.hyperparameters.layers);
      assert.equal(model.layers[0].hiddenSize, reference.hyperparameters.hidden);
      assert.equal(model.vocab[model.eosId], "<eos>");
      assert.equal(model.vocab[model.unkId], "<unk>");
      const words: string[] = reference.sentence.split(" ");
      assert.deepEqual(words.map((w) => model.vocab.indexOf(w)), reference.sentence_ids);
      const logits = irLogits(model, reference.sentence_ids);
      logits.forEach((row, t) =>
        assertAllClose(row, reference.logits[t], `train.py export: logits of token ${t}`, 1e-4, 1e-4)
      );
    } finally {
      Deno.removeSync(tmp, { recursive: true });
    }
  },
});
