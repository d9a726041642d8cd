// Prepared tables of quantized matrices: written once per matrix (at the first product, into memory the
// caller keeps) in the order the products read them, so that a pass over four or sixteen rows reads one
// sequential stream and loads each group's scales (and int8's offset sums) for four rows as one v128.
// Compiled into both modules from this one source: kernels.wasm exports q4_prepare (its plain int4 product
// and kernels_relaxed.wasm's both read its table); kernels_relaxed.wasm's q8_prepare uses the scale layout.
//
// Scales (prepareScales): int8's rows in quads, [quad][group][r % 4] (prepOffset, 16 bytes per quad and
// group); int4's [block of four quads][group][quad][r % 4] (q4ScaleOffset, 64 bytes per block and group).
//
// int4's copy of the codes (q4_prepare), laid out for four rows at a time: rows in quads, quads in blocks of
// four (the last padded with zero bytes), each group's columns in chunks of 8 (4 bytes of a row; a group's
// last chunk padded with zero codes, so no chunk straddles two scales: group g's chunks start at
// g · ⌈group/8⌉); chunk k of quad Q is the 16 bytes at ((⌊Q/4⌋ · chunks + k) · 4 + Q mod 4) · 16 (a block's
// four quads side by side per chunk), holding row 4Q + r's 4 bytes at 4r in the file's order (byte j: column
// 2j in the low nibble, 2j + 1 in the high), each byte the file's ^ 0x88: every nibble biased to
// v = q + 8 ∈ [0, 15], so a product sums Σ v·xq and starts from −8 · Σ xq per group (padding is 0 and adds
// 0). A quad's chunk then sums each row in its own i32 lane (no transposes) and a quad's per-group scales
// are one v128.

/**
 * Byte offset of row r, group g in a prepared table: rows in quads, [quad][group][r % 4], 16 bytes per
 * (quad, group), so that matvec loads one v128 per group for four rows.
 */
// @ts-ignore: decorator
@inline export function prepOffset(r: i32, g: i32, gpr: i32): usize {
  return ((<usize>(r >> 2) * <usize>gpr + <usize>g) << 4) + (<usize>(r & 3) << 2);
}

/**
 * Copies scales (rows · gpr f32, row-major) into the prepared layout at out (rows past the last: 0):
 * prepOffset's [quad][group][r % 4] (int8), or with `blocks` int4's [block of four quads][group][quad]
 * [r % 4] (q4ScaleOffset), so that a pass over a block reads each group's 64 bytes at one address.
 */
export function prepareScales(scales: usize, rows: i32, gpr: i32, out: usize, blocks: bool): void {
  memory.fill(out, 0, blocks ? q4ScaleBytes(rows, gpr) : <usize>((rows + 3) >> 2) * <usize>gpr << 4);
  for (let r = 0; r < rows; r++) {
    for (let g = 0; g < gpr; g++) {
      const at = blocks ? q4ScaleOffset(r, g, gpr) : prepOffset(r, g, gpr);
      store<f32>(out + at, load<f32>(scales + ((<usize>r * <usize>gpr + <usize>g) << 2)));
    }
  }
}

/** int4's scale table: 64 bytes per block of four quads (16 rows) and group. */
// @ts-ignore: decorator
@inline export function q4ScaleBytes(rows: i32, gpr: i32): usize {
  return <usize>((rows + 15) >> 4) * <usize>gpr << 6;
}

/** Byte offset of row r, group g in int4's scale table: [block][group][quad of the block][r % 4]. */
// @ts-ignore: decorator
@inline function q4ScaleOffset(r: i32, g: i32, gpr: i32): usize {
  return ((<usize>(r >> 4) * <usize>gpr + <usize>g) << 6) + (<usize>((r >> 2) & 3) << 4) + (<usize>(r & 3) << 2);
}

/** Bytes of the code copy: blocks of four quads (the last padded with zero quads) × chunks × 64. */
// @ts-ignore: decorator
@inline export function q4CopyBytes(rows: i32, cols: i32, group: i32): usize {
  return <usize>((rows + 15) >> 4) * <usize>q4Chunks(cols, group) << 6;
}

/** Chunks of 8 columns per group: ⌈min(group, cols)/8⌉. */
// @ts-ignore: decorator
@inline export function chunksPerGroup(cols: i32, group: i32): i32 {
  return (min(group, cols) + 7) >> 3;
}

/** Chunks of a row in the copy: every group's ⌈group/8⌉, the last group's ⌈its columns/8⌉. */
// @ts-ignore: decorator
@inline export function q4Chunks(cols: i32, group: i32): i32 {
  const gpr = (cols - 1) / group + 1;
  return (gpr - 1) * chunksPerGroup(cols, group) + ((cols - (gpr - 1) * group + 7) >> 3);
}

/**
 * Prepares an int4 matrix for matvec_q4 / matmat_q4 (kernels.wasm) and *_q4r (kernels_relaxed.wasm), once
 * (preparedTableBytes(4, …) bytes at `out`): its scales in blocks of four quads (q4ScaleOffset), then at
 * out + q4PrepCodesOffset(rows, cols, group) the copy of the codes w (file layout, row stride ⌈cols/2⌉) in
 * quads and chunks, biased (see the top) — the codes the products over the table read.
 */
export function q4_prepare(w: usize, scales: usize, rows: i32, cols: i32, group: i32, out: usize): void {
  if (rows <= 0 || cols <= 0) return;
  const gpr = (cols - 1) / group + 1;
  prepareScales(scales, rows, gpr, out, true);
  const dst = out + q4ScaleBytes(rows, gpr);
  const chunks = <usize>q4Chunks(cols, group);
  memory.fill(dst, 0, q4CopyBytes(rows, cols, group));
  const stride = (cols + 1) >> 1;
  const aligned = group >= cols || (group & 7) == 0; // no padding inside the row: the file's bytes in order
  const cpg = chunksPerGroup(cols, group);
  for (let r = 0; r < rows; r++) {
    const src = w + <usize>r * <usize>stride;
    // Row r: quad r / 4, that quad's place (r / 4) % 4 in its block of four, lane r % 4.
    const row = dst + (<usize>(r >> 4) * chunks << 6) + (<usize>((r >> 2) & 3) << 4) + (<usize>(r & 3) << 2);
    if (aligned) {
      let b = 0;
      for (; b + 4 <= stride; b += 4) store<u32>(row + (<usize>b << 4), load<u32>(src + <usize>b) ^ 0x88888888);
      for (; b < stride; b++) store<u8>(row + (<usize>(b >> 2) << 6) + <usize>(b & 3), load<u8>(src + <usize>b) ^ 0x88);
      // An odd row's last byte holds one code: its unused high nibble must stay 0 (it was 8 after the bias).
      if (cols & 1) {
        const last = row + (<usize>((stride - 1) >> 2) << 6) + <usize>((stride - 1) & 3);
        store<u8>(last, load<u8>(last) & 0x0f);
      }
      continue;
    }
    // Groups padded to whole chunks: position p in group g → chunk g · cpg + p / 8. An even group keeps
    // each byte's two codes together (byte by byte); an odd one splits bytes (code by code).
    let g = 0;
    let p = 0;
    if ((group & 1) == 0) {
      for (let b = 0; b < stride; b++) {
        let v = <u32>load<u8>(src + <usize>b) ^ 0x88;
        if (2 * b + 1 == cols) v &= 0x0f; // an odd row's unused high nibble
        store<u8>(row + (<usize>(g * cpg + (p >> 3)) << 6) + <usize>((p & 7) >> 1), <u8>v);
        p += 2;
        if (p == group) {
          p = 0;
          g++;
        }
      }
      continue;
    }
    for (let c = 0; c < cols; c++) {
      const v = ((<u32>load<u8>(src + (<usize>c >> 1)) >> ((c & 1) << 2)) & 15) ^ 8;
      const at = row + (<usize>(g * cpg + (p >> 3)) << 6) + <usize>((p & 7) >> 1);
      store<u8>(at, load<u8>(at) | <u8>(v << ((p & 1) << 2)));
      if (++p == group) {
        p = 0;
        g++;
      }
    }
  }
}
