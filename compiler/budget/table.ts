/**
 * The budget search's frontier as a plain-text table (what `deno task compile --target-size` prints).
 * @module
 */
import { formatPercent } from "../../runtime/cli/format.ts";
import type { MeasuredModel, SearchResult } from "./search.ts";
import { violations } from "./budget.ts";

/** Short tensor names for the method column: embedding → emb, layers.0.w_ih → l0.ih, decoder → dec. */
export function shortTensorName(name: string): string {
  return name.replace(/^embedding$/, "emb").replace(/^decoder$/, "dec").replace(
    /^layers\.(\d+)\.w_(ih|hh)$/,
    "l$1.$2",
  );
}

/**
 * The frontier (and the chosen model, marked `*`), one row per model sorted by bytes: file bytes,
 * subset and full validation perplexity (with the change against f32), ms/token, whether it meets the
 * budget (`yes`/`no`, `?` when its full perplexity was not measured but a perplexity limit is set),
 * and its methods in tensor order.
 */
export function frontierTable(result: SearchResult): string {
  const { baseline, budget } = result;
  const rows = [...result.frontier];
  for (const m of [result.chosen, result.closest]) if (m && !rows.includes(m)) rows.push(m);
  rows.sort((a, b) => a.bytes - b.bytes);
  const meets = (m: MeasuredModel) => {
    const point = {
      bytes: m.bytes,
      perplexity: m.validPerplexity ??
        m.subsetPerplexity * (baseline.validPerplexity / baseline.subsetPerplexity),
      msPerToken: m.msPerToken,
    };
    const v = violations(point, budget, baseline.validPerplexity);
    if (v.length) return "no";
    return m.validPerplexity === undefined && budget.maxPplIncrease !== undefined ? "?" : "yes";
  };
  const header = ["", "bytes", "subset PPL", "valid PPL", "ms/token", "meets", "methods"];
  const body = rows.map((m) => [
    m === result.chosen ? "*" : m === baseline ? "f32" : "",
    m.bytes.toLocaleString("en-US"),
    `${m.subsetPerplexity.toFixed(2)} (${formatPercent(m.subsetPerplexity / baseline.subsetPerplexity - 1)})`,
    m.validPerplexity === undefined
      ? "-"
      : `${m.validPerplexity.toFixed(2)} (${
        formatPercent(m.validPerplexity / baseline.validPerplexity - 1)
      })`,
    m.msPerToken === undefined ? "-" : m.msPerToken.toFixed(3),
    meets(m),
    m.methods.join(" "),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const right = new Set([1, 2, 3, 4]);
  const line = (r: string[]) =>
    r.map((c, i) => (right.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join("  ").trimEnd();
  return [
    line(header),
    ...body.map(line),
    `methods in tensor order: ${result.tensors.map(shortTensorName).join(" ")}`,
  ].join("\n") + "\n";
}
