/**
 * The candidate methods the budget search tries on every weight matrix. Each is a method string of
 * compiler/recipe.ts; f32 (the matrix as it is) is always a choice and is not listed.
 * @module
 */
import { parseMethod } from "../recipe.ts";

/**
 * The default menu, from lossless-ish and large to lossy and small. On a 10000 × 200 matrix (8 MB f32):
 * f16 4 MB; int8 2.04 MB (`:s16`, binary16 scales: 2.02 MB); int4 g32/g64/g128 1.28/1.16/1.08 MB (`:s16`:
 * 1.14/1.08/1.04 MB); prune 0.6/0.8/0.9 + int8 values
 * ≈ 2.5/1.25/0.65 MB; lowrank 32…128 + int8 0.35…1.35 MB (+ int4 about 60 % of that); tt 32/64 + int8
 * ≈ 0.11/0.43 MB.
 */
export const DEFAULT_MENU: readonly string[] = [
  "f16",
  "int8",
  "int8:s16",
  "int4:g32",
  "int4:g64",
  "int4:g128",
  "int4:g32:s16",
  "int4:g64:s16",
  "int4:g128:s16",
  "prune:0.6+int8",
  "prune:0.8+int8",
  "prune:0.9+int8",
  "lowrank:32+int8",
  "lowrank:64+int8",
  "lowrank:96+int8",
  "lowrank:128+int8",
  "lowrank:64+int4",
  "lowrank:128+int4",
  "tt:32+int8",
  "tt:64+int8",
];

/**
 * Checks a menu (every method string parses; no duplicates; no f32, which is always a choice) and
 * returns it. Throws RecipeError or Error naming the bad entry.
 */
export function checkMenu(menu: readonly string[]): readonly string[] {
  const seen = new Set<string>();
  for (const m of menu) {
    parseMethod(m);
    if (m === "f32") throw new Error('The menu lists "f32": it is always a choice, leave it out');
    if (seen.has(m)) throw new Error(`The menu lists "${m}" twice`);
    seen.add(m);
  }
  if (menu.length === 0) throw new Error("The menu is empty");
  return menu;
}
