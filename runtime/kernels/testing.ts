/**
 * Shared helpers for the kernel tests: the tolerance, a seeded generator, the sizes every kernel is tested
 * at, and an arena that places arrays in WASM memory between guard bytes.
 *
 * Tolerance (all kernel-vs-reference comparisons): |actual − expected| ≤ ATOL + RTOL·|expected| with
 * ATOL = RTOL = 1e-5. NaN matches only NaN, ±∞ only the same infinity.
 * @module
 */

import { mulberry32 } from "../random.ts";
import assert from "node:assert/strict";
import { f32ToF16Bits } from "../format/f16.ts";
import { ensureMemory, type KernelInstance } from "./kernels.ts";

export const ATOL = 1e-5;
export const RTOL = 1e-5;

/**
 * Every size dimension (rows, cols, n, hidden, k) is tested at these: 0, 1, lanes − 1, lanes, lanes + 1,
 * several lanes + tail, and decoder-like 200 (a multiple of 8) and 203 (not).
 */
export const SIZES: readonly number[] = [0, 1, 3, 4, 5, 37, 200, 203];

/** Asserts `actual` matches `expected` element-wise within ATOL + RTOL·|expected|. */
export function assertAllClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  what: string,
  atol = ATOL,
  rtol = RTOL,
): void {
  assert.equal(
    actual.length,
    expected.length,
    `${what}: expected length ${expected.length}, found ${actual.length}`,
  );
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (Number.isNaN(e) || Number.isNaN(a) || !Number.isFinite(e)) {
      if (!Object.is(a, e) && !(Number.isNaN(a) && Number.isNaN(e))) {
        assert.fail(`${what}[${i}]: expected ${e}, found ${a}`);
      }
      continue;
    }
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) {
      assert.fail(
        `${what}[${i}]: expected ${e}, found ${a} (|diff| ${Math.abs(a - e)} > ${atol + rtol * Math.abs(e)})`,
      );
    }
  }
}

/** The path of a file: URL (URL.pathname, percent-decoded). */
export function fromFileUrl(url: URL): string {
  return decodeURIComponent(url.pathname);
}

/** Seeded uniform generator on [lo, hi) (mulberry32): the same seed gives the same data on every run. */
export function rng(seed: number): (lo?: number, hi?: number) => number {
  const next = mulberry32(seed);
  return (lo = -1, hi = 1) => lo + (hi - lo) * next();
}

/** n uniform f32 values on [lo, hi). */
export function randomF32(
  n: number,
  rand: (lo?: number, hi?: number) => number,
  lo = -1,
  hi = 1,
): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rand(lo, hi);
  return a;
}

/** n uniform values on [lo, hi), rounded to f16 bit patterns. */
export function randomF16(
  n: number,
  rand: (lo?: number, hi?: number) => number,
  lo = -1,
  hi = 1,
): Uint16Array {
  const a = new Uint16Array(n);
  for (let i = 0; i < n; i++) a[i] = f32ToF16Bits(rand(lo, hi));
  return a;
}

const GUARD = 32; // bytes of canary on each side of every allocation
const CANARY = 0xa5;

/**
 * Bump allocator over the kernels' memory, starting at heap_base. Each array gets GUARD canary bytes on
 * both sides; `checkGuards()` fails if a kernel wrote any of them. `misalign` shifts every array off
 * 16-byte alignment by that many bytes (a multiple of the element size), to test unaligned pointers.
 */
export class Arena {
  #k: KernelInstance;
  #top: number;
  #misalign: number;
  #blocks: { ptr: number; bytes: number; name: string }[] = [];

  constructor(kernels: KernelInstance, misalign = 0) {
    this.#k = kernels;
    this.#top = kernels.heapBase;
    this.#misalign = misalign;
  }

  /** Reserves `bytes` and returns the pointer; the contents are set to the canary too. */
  alloc(bytes: number, name: string): number {
    const start = (this.#top + 15) & ~15;
    const ptr = start + GUARD + this.#misalign;
    const end = ptr + bytes + GUARD;
    ensureMemory(this.#k, end);
    this.bytes(start, end - start).fill(CANARY);
    this.#blocks.push({ ptr, bytes, name });
    this.#top = end;
    return ptr;
  }

  /** Copies an array into fresh memory and returns its pointer. */
  put(a: ArrayBufferView, name: string): number {
    const ptr = this.alloc(a.byteLength, name);
    this.bytes(ptr, a.byteLength).set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    return ptr;
  }

  bytes(ptr: number, n: number): Uint8Array {
    return new Uint8Array(this.#k.memory.buffer, ptr, n);
  }

  /** A copy (not a view: views detach when memory grows) of n f32 values at ptr. */
  f32(ptr: number, n: number): Float32Array {
    return new Float32Array(this.#k.memory.buffer.slice(ptr, ptr + 4 * n));
  }

  i32(ptr: number, n: number): Int32Array {
    return new Int32Array(this.#k.memory.buffer.slice(ptr, ptr + 4 * n));
  }

  /** Fails naming the array whose guard bytes were overwritten. */
  checkGuards(): void {
    for (const { ptr, bytes, name } of this.#blocks) {
      for (const [at, len] of [[ptr - GUARD, GUARD], [ptr + bytes, GUARD]]) {
        const g = this.bytes(at, len);
        const bad = g.findIndex((b) => b !== CANARY);
        if (bad >= 0) {
          assert.fail(`memory next to ${name} was written: byte ${at + bad - ptr} relative to its start`);
        }
      }
    }
  }
}
