/**
 * The streaming-read probe of `deno task bench`: how long it takes just to read N bytes of memory, the
 * floor under any kernel that reads N bytes of weights. A step whose time is close to the probe's is
 * memory-bound; one far above it is compute- (or overhead-) bound.
 *
 * The probe is a tiny WebAssembly module assembled here, byte by byte (no toolchain, no change to the
 * kernels): `sum(ptr, n)` reads [ptr, ptr + n) as v128 with eight loads per iteration into four i32x4
 * accumulators (no dependency chain slower than the loads) and returns a lane of the sum, so that the
 * reads cannot be optimized away. n is rounded down to a multiple of 128 bytes.
 * @module
 */

const I32 = 0x7f;
const V128 = 0x7b;

/** Unsigned LEB128. */
function uleb(n: number): number[] {
  const out = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n) byte |= 0x80;
    out.push(byte);
  } while (n);
  return out;
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

function name(text: string): number[] {
  const bytes = [...new TextEncoder().encode(text)];
  return [...uleb(bytes.length), ...bytes];
}

/** The module's bytes: memory (exported, 1 page to start) and `sum(ptr: i32, n: i32) -> i32`. */
export function probeModuleBytes(): Uint8Array<ArrayBuffer> {
  const localGet = (i: number) => [0x20, i];
  const localSet = (i: number) => [0x21, i];
  const i32x4Add = [0xfd, ...uleb(174)];
  // params: 0 ptr, 1 n; locals: 2 end (i32), 3..6 accumulators (v128)
  const accumulate = (acc: number, offset: number) => [
    ...localGet(acc),
    ...localGet(0),
    0xfd,
    0x00,
    4,
    ...uleb(offset), // v128.load align=16 offset
    ...i32x4Add,
    ...localSet(acc),
  ];
  const body = [
    2,
    1,
    I32,
    4,
    V128, // locals
    ...localGet(0),
    ...localGet(1),
    0x6a, // i32.add
    ...localSet(2),
    0x02,
    0x40, // block
    0x03,
    0x40, // loop
    ...localGet(0),
    ...localGet(2),
    0x4f, // i32.ge_u
    0x0d,
    1, // br_if block end
    ...[0, 1, 2, 3, 4, 5, 6, 7].flatMap((k) => accumulate(3 + (k % 4), 16 * k)),
    ...localGet(0),
    0x41,
    ...[0x80, 0x01], // i32.const 128 (signed LEB128)
    0x6a,
    ...localSet(0),
    0x0c,
    0, // br loop
    0x0b, // end loop
    0x0b, // end block
    ...localGet(3),
    ...localGet(4),
    ...i32x4Add,
    ...localGet(5),
    ...localGet(6),
    ...i32x4Add,
    ...i32x4Add,
    0xfd,
    0x1b,
    0, // i32x4.extract_lane 0
    0x0b,
  ];
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, [1, 0x60, 2, I32, I32, 1, I32]), // type: (i32, i32) -> i32
    ...section(3, [1, 0]), // function 0 has type 0
    ...section(5, [1, 0, 1]), // memory: min 1 page
    ...section(7, [2, ...name("memory"), 2, 0, ...name("sum"), 0, 0]),
    ...section(10, [1, ...uleb(body.length), ...body]),
  ]);
}

/** A probe instance holding a copy of some bytes to stream over. */
export interface ReadProbe {
  /** Bytes it holds (rounded down to 128). */
  readonly capacity: number;
  /** Reads the first `n` bytes (n ≤ capacity, rounded down to 128) `times` times; mean ms per read. */
  read(n: number, times: number): number;
  /** The probe's result for the first `n` bytes (for checking that it reads what it should). */
  sum(n: number): number;
}

/**
 * Instantiates the probe with a copy of `bytes` in its memory (kept apart from the kernels' memory).
 *
 * @example
 * ```ts
 * const probe = readProbe(await Deno.readFile("models/ptb-small.lem"));
 * probe.read(8_000_000, 20); // mean ms to stream-read 8 MB
 * ```
 */
export function readProbe(bytes: Uint8Array): ReadProbe {
  const instance = new WebAssembly.Instance(new WebAssembly.Module(probeModuleBytes()), {});
  const memory = instance.exports.memory as WebAssembly.Memory;
  const sum = instance.exports.sum as (ptr: number, n: number) => number;
  const base = 1024;
  const capacity = bytes.length & ~127;
  memory.grow(Math.ceil((base + bytes.length) / 65536));
  new Uint8Array(memory.buffer, base, bytes.length).set(bytes);
  let sink = 0;
  return {
    capacity,
    read(n: number, times: number): number {
      if (n > capacity) throw new RangeError(`probe holds ${capacity} bytes, asked to read ${n}`);
      const len = n & ~127;
      const t0 = performance.now();
      for (let i = 0; i < times; i++) sink ^= sum(base, len);
      const ms = (performance.now() - t0) / times;
      if (sink === 0x7fffffff) console.error("(probe)"); // keeps `sink` observable
      return ms;
    },
    sum: (n: number) => sum(base, n & ~127),
  };
}

/** Exported for tests: the plain sum the probe computes (i32 lanes, wrapping), lane 0 of the total. */
export function probeReferenceSum(bytes: Uint8Array, n: number): number {
  const len = n & ~127;
  const words = new Int32Array(bytes.buffer, bytes.byteOffset, len / 4);
  let lane0 = 0;
  for (let i = 0; i < words.length; i += 4) lane0 = (lane0 + words[i]) | 0;
  return lane0;
}
