/**
 * The per-tensor table compile prints (tensor, shape, encoding, bytes, relative error, method, detail).
 * @module
 */
import type { TensorReport } from "../compress.ts";

/** Bytes for people: 18.78 MB, 163.2 kB, 512 B. */
export function formatBytes(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)} MB` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} kB` : `${n} B`;
}

/** One line per tensor, columns padded; ends with a newline. */
export function tensorTable(reports: readonly TensorReport[]): string {
  const rows = reports.map((t) => [
    t.name,
    `${t.shape[0]}×${t.shape[1]}`,
    t.encoding,
    formatBytes(t.bytes),
    t.relativeError.toExponential(2),
    t.method,
    t.detail,
  ]);
  const header = ["tensor", "shape", "encoding", "bytes", "rel. error", "method", "detail"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
  return [header, ...rows].map(line).join("\n") + "\n";
}
