/**
 * The per-tensor table compile prints (tensor, shape, encoding, bytes, relative error, method, detail).
 * @module
 */
import type { CompiledTensor } from "../compile.ts";
import { formatBytes } from "../../runtime/cli/format.ts";

/** One line per tensor, columns padded; ends with a newline. */
export function tensorTable(reports: readonly CompiledTensor[]): string {
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
