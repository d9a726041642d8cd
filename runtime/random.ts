/**
 * The project's one seeded generator (Mulberry32): integer arithmetic only, so a seed gives the same
 * sequence on every platform. Sampling (`generate`'s seed) and every test's random data use it.
 * @module
 */

/**
 * Mulberry32 over a 32-bit seed; returns floats in [0, 1).
 *
 * @example
 * ```ts
 * const rand = mulberry32(42);
 * rand(); // the same first number on every run and platform
 * ```
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
