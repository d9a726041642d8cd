/**
 * ONNX's own LSTM operator tests run through the whole runtime path: importer (lstmNodeToLayer) →
 * writer → verifier → WASM kernels. The test's inputs X become the rows of an embedding (token t = X[t])
 * and the decoder is the identity, so the logits after token t are exactly the LSTM output Y[t].
 */
import { assertAllClose } from "../runtime/kernels/testing.ts";
import assert from "node:assert/strict";
import { lstmNodeToLayer } from "../compiler/onnx/import.ts";
import { lstmLayout } from "../compiler/onnx/lstm.ts";
import { toFloat32 } from "../compiler/onnx/proto.ts";
import { irMatrix, type IrModel } from "../compiler/ir.ts";
import { encodeModelDense } from "../compiler/encoded.ts";
import { writeLem } from "../compiler/writer.ts";
import { LstmModel } from "../runtime/model.ts";
import { haveNodeTests, loadNodeTest, needs, NODE_TEST_DIRS, nodeTestsReason } from "./helpers.ts";

/** A one-layer model whose token t feeds `rows[t]` and whose logits are the hidden state. */
function probeModel(layer: IrModel["layers"][number], rows: Float32Array[]): IrModel {
  const H = layer.hiddenSize;
  const I = layer.inputSize;
  const V = Math.max(rows.length, H);
  const embedding = new Float32Array(V * I);
  rows.forEach((r, t) => embedding.set(r, t * I));
  const decoder = new Float32Array(V * H);
  for (let i = 0; i < H; i++) decoder[i * H + i] = 1;
  return {
    vocab: Array.from({ length: V }, (_, i) => `t${i}`),
    unkId: -1,
    eosId: -1,
    tokenizer: { lowercase: false, eosPerLine: false },
    embedding: irMatrix("embedding", V, I, embedding),
    layers: [layer],
    decoder: irMatrix("decoder", V, H, decoder),
    decoderBias: new Float32Array(V),
    source: { file: "node-test", sha256: "" },
  };
}

for (const { dir, label } of NODE_TEST_DIRS) {
  for (const name of ["test_lstm_defaults", "test_lstm_with_initial_bias", "test_lstm_batchwise"]) {
    for (const floatType of ["f32", "f16"] as const) {
      Deno.test({
        name: `the runtime reproduces ONNX's ${name} with ${floatType} weights (${label})`,
        ...needs(haveNodeTests, nodeTestsReason),
        async fn() {
          const test = loadNodeTest(dir, name);
          const layer = lstmNodeToLayer(test.node, test.inputs);
          const layout = lstmLayout(test.node);
          const X = test.inputs.get(test.node.input![0])!;
          const x = toFloat32(X);
          const [seq, batch] = layout === 0 ? [X.dims[0], X.dims[1]] : [X.dims[1], X.dims[0]];
          const I = X.dims[2];
          const H = layer.hiddenSize;
          const at = (t: number, b: number) => (layout === 0 ? t * batch + b : b * seq + t);
          const Y = new Float32Array(seq * batch * H);
          const Y_h = new Float32Array(batch * H);
          for (let b = 0; b < batch; b++) {
            const rows = Array.from({ length: seq }, (_, t) => x.subarray(at(t, b) * I, (at(t, b) + 1) * I));
            const ir = probeModel(layer, rows);
            const bytes = writeLem(encodeModelDense(ir, floatType, { name, compiler: "test", recipe: "{}" }));
            const model = await LstmModel.load(bytes);
            const logits = model.logits(rows.map((_, t) => t));
            const v = model.info.vocabSize;
            for (let t = 0; t < seq; t++) Y.set(logits.subarray(t * v, t * v + H), at(t, b) * H);
            Y_h.set(logits.subarray((seq - 1) * v, (seq - 1) * v + H), b * H);
          }
          // f16 weights: the outputs move by about the weights' rounding (2⁻¹¹ relative).
          const tol = floatType === "f32" ? 1e-4 : 3e-3;
          const outs = test.node.output!;
          let compared = 0;
          if (outs[0]) {
            assertAllClose(Y, toFloat32(test.outputs.get(outs[0])!), `${name}: Y`, tol, tol);
            compared++;
          }
          if (outs[1]) {
            assertAllClose(Y_h, toFloat32(test.outputs.get(outs[1])!), `${name}: Y_h`, tol, tol);
            compared++;
          }
          assert.ok(compared > 0, "the test has Y or Y_h to compare");
        },
      });
    }
  }
}
