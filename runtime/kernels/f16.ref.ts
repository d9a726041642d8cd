/**
 * binary16 → f32 decoding for the TypeScript references: a 65 536-entry table (256 KB, built once on first
 * use from `f16BitsToF32` in runtime/format/f16.ts) so that the reference loops are plain array reads.
 * @module
 */

import { f16BitsToF32 } from "../format/f16.ts";

let table: Float32Array | undefined;

/**
 * The f32 value of every half bit pattern: `f16Table()[bits] === Math.fround(f16BitsToF32(bits))`.
 *
 * @example
 * ```ts
 * f16Table()[0x3c00] === 1; f16Table()[0xc000] === -2;
 * ```
 */
export function f16Table(): Float32Array {
  if (!table) {
    table = new Float32Array(65536);
    for (let bits = 0; bits < 65536; bits++) table[bits] = f16BitsToF32(bits);
  }
  return table;
}
