import { readLem } from "./runtime/format/read.ts";
const model = await Deno.readFile(Deno.args[0]);
for (let i = 0; i < 1; i++) {} const t0 = performance.now(); readLem(model); console.log((performance.now() - t0).toFixed(2));
