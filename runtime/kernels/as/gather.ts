// Row gather (embedding lookup): out[c] = W[row·cols + c] for c in [0, cols).

import { f16ToF32, f16x8High, f16x8Low } from "./f16";

/** W: (·, cols) row-major f32; row: which row; out: (cols) f32, overwritten. */
export function gather_f32(w: usize, cols: i32, row: i32, out: usize): void {
  if (cols <= 0) return;
  const bytes = <usize>cols << 2;
  memory.copy(out, w + <usize>row * bytes, bytes);
}

/** W: (·, cols) row-major f16 bits (row stride cols·2 bytes); row: which row; out: (cols) f32, overwritten. */
export function gather_f16(w: usize, cols: i32, row: i32, out: usize): void {
  const src = w + <usize>row * (<usize>cols << 1);
  let c = 0;
  for (; c + 8 <= cols; c += 8) {
    const raw = v128.load(src + (<usize>c << 1));
    const dst = out + (<usize>c << 2);
    v128.store(dst, f16x8Low(raw, true));
    v128.store(dst, f16x8High(raw, true), 16);
  }
  if (c + 4 <= cols) {
    v128.store(out + (<usize>c << 2), f16x8Low(v128.load64_zero(src + (<usize>c << 1)), true));
    c += 4;
  }
  for (; c < cols; c++) store<f32>(out + (<usize>c << 2), f16ToF32(load<u16>(src + (<usize>c << 1))));
}
