import assert from "node:assert/strict";
import { mulberry32 } from "../random.ts";
import { writeLem } from "../../compiler/writer.ts";
import { encodeStorage } from "../../compiler/methods/storage.ts";
import { LemFormatError } from "./errors.ts";
import { formatSummary, readLem, summarize } from "./read.ts";
import { verifyLem } from "./verify.ts";
import { blockSparse, characterModel, mixedModel, randInt, sparse, toEncodedModel } from "./test_fixtures.ts";
import { randomIrModel } from "./test_fixtures.ts";

/**
 * Small valid files with several encodings: the mixed model, a variant with a CSR32 int8 decoder, one with
 * format 1.1's encodings (SparseBlocks: a 4 × 4 int8 decoder, a 1 × 8 f32 embedding; f16 scales on an int4
 * LSTM matrix), and the mixed model with a Character vocabulary (whitespace tokens, a longer unk token).
 */
function baseFiles(): Uint8Array[] {
  const mixed = mixedModel(1);
  const ir = randomIrModel(1, { vocab: 12, embed: 6, hidden: [4, 5] });
  const csr32 = { ...mixedModel(2), decoder: sparse(ir.decoder, 0.4, 32, { type: "int8" }) };
  const blocks = {
    ...mixedModel(3),
    embedding: blockSparse(ir.embedding, 0.5, { rows: 1, cols: 8 }, { type: "f32" }),
    decoder: blockSparse(ir.decoder, 0.5, { rows: 4, cols: 4 }, { type: "int8", groupSize: 16 }),
  };
  const layer = blocks.layers[0];
  blocks.layers = [
    { ...layer, wIh: encodeStorage(ir.layers[0].wIh, { type: "int4", groupSize: 2, scales: "f16" }) },
    ...blocks.layers.slice(1),
  ];
  return [writeLem(mixed), writeLem(csr32), writeLem(blocks), writeLem(characterModel(3))];
}

/** Applies 1–4 random byte mutations (bit flip, random byte, 0x00, 0xff, ±1) in place; returns them. */
function mutate(bytes: Uint8Array, rand: () => number): string[] {
  const done: string[] = [];
  for (let k = 1 + randInt(rand, 4); k > 0; k--) {
    const p = randInt(rand, bytes.length);
    const before = bytes[p];
    switch (randInt(rand, 5)) {
      case 0:
        bytes[p] ^= 1 << randInt(rand, 8);
        break;
      case 1:
        bytes[p] = randInt(rand, 256);
        break;
      case 2:
        bytes[p] = 0;
        break;
      case 3:
        bytes[p] = 0xff;
        break;
      case 4:
        bytes[p] = (bytes[p] + (rand() < 0.5 ? 1 : 255)) & 0xff;
        break;
    }
    done.push(`byte ${p}: ${before} → ${bytes[p]}`);
  }
  return done;
}

Deno.test("verifyLem() on 12 000 seeded random mutations either accepts (and readLem works) or throws LemFormatError", () => {
  const files = baseFiles();
  const seeds = [1, 2, 3, 4, 5, 6];
  const perSeed = 2000;
  let accepted = 0;
  let rejected = 0;
  const fields = new Map<string, number>();
  for (const seed of seeds) {
    const rand = mulberry32(seed);
    for (let i = 0; i < perSeed; i++) {
      const base = files[i % files.length];
      const bytes = base.slice();
      const mutations = mutate(bytes, rand);
      const where = `seed ${seed}, mutation ${i} of file ${i % files.length} (${mutations.join(", ")})`;
      let ok = false;
      try {
        verifyLem(bytes);
        ok = true;
      } catch (e) {
        if (!(e instanceof LemFormatError)) {
          assert.fail(`${where}: threw ${e instanceof Error ? e.stack : e}`);
        }
        rejected++;
        const top = e.field.split(/[.[]/)[0] || "(file)";
        fields.set(top, (fields.get(top) ?? 0) + 1);
      }
      if (ok) {
        accepted++;
        try {
          const file = readLem(bytes);
          formatSummary(summarize(file));
          toEncodedModel(file); // reads every vector the kernels would
        } catch (e) {
          assert.fail(`${where}: verified, but reading threw ${e instanceof Error ? e.stack : e}`);
        }
      }
    }
  }
  const total = seeds.length * perSeed;
  console.log(
    `mutations: ${total}, accepted ${accepted}, rejected ${rejected}; rejections by top-level field: ` +
      [...fields].sort((a, b) => b[1] - a[1]).map(([f, n]) => `${f} ${n}`).join(", "),
  );
  assert.equal(accepted + rejected, total);
  assert.ok(rejected > total / 10, "most structural mutations are caught");
  assert.ok(accepted > 0, "mutations inside weight bytes keep the file valid");
});

Deno.test("verifyLem() rejects every single-byte change of the header and root table", () => {
  const [bytes] = baseFiles();
  const rootEnd = new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true) + 4;
  for (let p = 0; p < rootEnd; p++) {
    if (p >= 8 && p < rootEnd - 4) continue; // between identifier and root table: vtables and padding
    const copy = bytes.slice();
    copy[p] ^= 0x40;
    assert.throws(() => verifyLem(copy), LemFormatError, `byte ${p}`);
  }
});
