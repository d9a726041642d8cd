/**
 * The re-trained models that ship (models/ptb-small-*x.lem, made by models/finetune.py and compiled; how:
 * models/README.md): each scores PyTorch's validation and test perplexity of the same re-trained model
 * (the reference JSON beside it) within 1e-4 with the plain kernels, on PTB's full texts, and meets the size
 * and perplexity it was made for.
 */
import assert from "node:assert/strict";
import { evaluateModelFile } from "../compiler/evaluate.ts";
import { LstmModel } from "../runtime/model.ts";
import { exists, needs, PTB } from "./helpers.ts";

const MODELS = new URL("../models/", import.meta.url);
/** Each shipped re-trained model: its largest size and test perplexity (f32's is 113.07). */
const SHIPPED: Record<string, { maxBytes: number; maxTestPerplexity: number }> = {
  "ptb-small-8x": { maxBytes: 2_348_000, maxTestPerplexity: 115.33 },
  "ptb-small-20x": { maxBytes: 939_000, maxTestPerplexity: 122.1 },
};
const present = Object.keys(SHIPPED).filter((name) => exists(new URL(`${name}.lem`, MODELS)));

for (const name of present) {
  Deno.test({
    name:
      `${name}.lem scores what PyTorch scored for the re-trained model (plain kernels, 1e-4) and meets its targets`,
    ...needs(exists(PTB), "needs ../shared/data/ptb"),
    async fn() {
      const lem = new URL(`${name}.lem`, MODELS).pathname;
      const reference = JSON.parse(await Deno.readTextFile(new URL(`${name}.reference.json`, MODELS)));
      const bytes = await Deno.readFile(lem);
      assert.ok(bytes.length <= SHIPPED[name].maxBytes, `${bytes.length} bytes`);
      const model = await LstmModel.load(bytes);
      assert.ok(model.info.tensors.length > 0);
      for (
        const [split, expected] of [["valid", reference.valid_perplexity], [
          "test",
          reference.test_perplexity,
        ]]
      ) {
        const text = await Deno.readTextFile(new URL(`ptb.${split}.txt`, PTB));
        const r = await evaluateModelFile(lem, text, { kernels: "plain" });
        const rel = Math.abs(r.perplexity / expected - 1);
        assert.ok(
          rel <= 1e-4,
          `${name} ${split}: lstm-edge ${r.perplexity}, PyTorch ${expected} (rel ${rel})`,
        );
      }
      assert.ok(
        reference.test_perplexity <= SHIPPED[name].maxTestPerplexity,
        `test perplexity ${reference.test_perplexity}`,
      );
    },
  });
}
