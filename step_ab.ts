import { importOnnx } from "./compiler/onnx/import.ts";
import { compressModel } from "./compiler/compress.ts";
import { writeLem } from "./compiler/writer.ts";
import { methodRecipe } from "./compiler/recipe.ts";
import { LstmModel } from "./runtime/model.ts";
import { stepwiseMsPerToken } from "./runtime/timing.ts";
const ir = importOnnx(await Deno.readFile("./models/ptb-small.onnx"));
const ids = Array.from({ length: 300 }, (_, i) => (i * 37) % 10000);
const lms: [string, LstmModel][] = [];
for (const m of Deno.args) lms.push([m, await LstmModel.load(writeLem(compressModel(ir, methodRecipe(m), { name: "x", compiler: "x" }).model))]);
const res: Record<string, number[]> = {};
for (let round = 0; round < 14; round++) for (const [n, lm] of lms) { const ms = stepwiseMsPerToken(lm, ids); if (round >= 2) (res[n] ??= []).push(ms * 1000); }
const med = (a: number[]) => [...a].sort((p, q) => p - q)[a.length >> 1];
for (const [n, r] of Object.entries(res)) console.log(n.padEnd(24), "step µs", med(r).toFixed(1));
