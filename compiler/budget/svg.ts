/**
 * The Pareto plot of a budget search as a standalone SVG string (no dependency): file size (log scale)
 * against perplexity, every measured model a dot, the frontier joined by a line and labelled with its
 * ms/token, the chosen model a star, the size target a dashed vertical line. Hovering a point shows its
 * recipe (an SVG `<title>`).
 * @module
 */
import { formatBytes } from "../../runtime/cli/format.ts";
import { paretoFront } from "./pareto.ts";

/** One point of the plot. */
export interface PlotPoint {
  bytes: number;
  perplexity: number;
  msPerToken?: number;
  /** What hovering shows, e.g. the per-tensor recipe. */
  label?: string;
  /** "frontier" points are joined and labelled; "single" (one tensor compressed) drawn faint. */
  kind: "single" | "candidate" | "frontier" | "chosen" | "baseline";
}

/** Options of {@link paretoSvg}. */
export interface PlotOptions {
  title?: string;
  /** Draws the size target as a vertical line. */
  targetBytes?: number;
  /** Draws the perplexity limit as a horizontal line. */
  maxPerplexity?: number;
  /** Perplexities above this are drawn as triangles on the top edge (default: 1.6 × the smallest). */
  clipPerplexity?: number;
  width?: number;
  height?: number;
  /**
   * The legend's words for each kind of point (default: the budget search's); kinds left out are not
   * listed.
   */
  legend?: Partial<Record<PlotPoint["kind"], string>>;
}

/** Escapes text for SVG content and attribute values. */
export function escapeXml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" })[c]!,
  );
}

/** Ticks at 1, 2, 5 × 10^k within [lo, hi] (log axis). */
function logTicks(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (v >= lo && v <= hi) out.push(v);
    }
  }
  return out;
}

/** About `count` round ticks within [lo, hi] (linear axis). */
function linearTicks(lo: number, hi: number, count = 6): number[] {
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) out.push(+v.toPrecision(10));
  return out;
}

const f = (x: number) => x.toFixed(1);

/** A five-pointed star of outer radius r around (cx, cy), as polygon points. */
function starPoints(cx: number, cy: number, r: number): string {
  return Array.from({ length: 10 }, (_, i) => {
    const a = (Math.PI / 5) * i - Math.PI / 2;
    const rr = i % 2 ? r * 0.45 : r;
    return `${f(cx + rr * Math.cos(a))},${f(cy + rr * Math.sin(a))}`;
  }).join(" ");
}

/**
 * The plot as an SVG document.
 *
 * @example
 * ```ts
 * const svg = paretoSvg([{ bytes: 2.9e6, perplexity: 120, msPerToken: 0.4, kind: "chosen" }], { targetBytes: 3e6 });
 * await Deno.writeTextFile("x.pareto.svg", svg);
 * ```
 */
export function paretoSvg(points: readonly PlotPoint[], options: PlotOptions = {}): string {
  const width = options.width ?? 760;
  const height = options.height ?? 480;
  const m = { left: 70, right: 20, top: 40, bottom: 50 };
  const plotW = width - m.left - m.right;
  const plotH = height - m.top - m.bottom;
  const usable = points.filter((p) => p.bytes > 0 && Number.isFinite(p.perplexity));
  const bytes = usable.map((p) => p.bytes).concat(options.targetBytes ? [options.targetBytes] : []);
  const ppls = usable.map((p) => p.perplexity);
  const minPpl = ppls.length ? Math.min(...ppls) : 1;
  const clip = options.clipPerplexity ?? minPpl * 1.6;
  const shown = ppls.filter((p) => p <= clip).concat(options.maxPerplexity ? [options.maxPerplexity] : []);
  let xLo = bytes.length ? Math.min(...bytes) / 1.25 : 1e3;
  let xHi = bytes.length ? Math.max(...bytes) * 1.25 : 1e7;
  if (xHi <= xLo) [xLo, xHi] = [xLo / 2, xHi * 2];
  let yLo = shown.length ? Math.min(...shown) : 1;
  let yHi = shown.length ? Math.max(...shown) : 2;
  const pad = (yHi - yLo) * 0.06 || yLo * 0.05 || 1;
  yLo -= pad;
  yHi += pad;
  const x = (b: number) => m.left + ((Math.log(b) - Math.log(xLo)) / (Math.log(xHi) - Math.log(xLo))) * plotW;
  const y = (p: number) => m.top + (1 - (Math.min(p, yHi) - yLo) / (yHi - yLo)) * plotH;

  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
      `font-family="sans-serif" font-size="11">`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="white"/>`,
  );
  if (options.title) {
    parts.push(
      `<text x="${width / 2}" y="20" text-anchor="middle" font-size="14">${escapeXml(options.title)}</text>`,
    );
  }
  // Axes, grid, ticks.
  parts.push(`<g stroke="#ddd">`);
  const xt = logTicks(xLo, xHi);
  const yt = linearTicks(yLo, yHi);
  for (const t of xt) {
    parts.push(`<line x1="${f(x(t))}" y1="${m.top}" x2="${f(x(t))}" y2="${m.top + plotH}"/>`);
  }
  for (const t of yt) {
    parts.push(`<line x1="${m.left}" y1="${f(y(t))}" x2="${m.left + plotW}" y2="${f(y(t))}"/>`);
  }
  parts.push(`</g>`);
  parts.push(
    `<rect x="${m.left}" y="${m.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`,
  );
  for (const t of xt) {
    parts.push(
      `<text x="${f(x(t))}" y="${m.top + plotH + 15}" text-anchor="middle">${
        formatBytes(t, { trim: true })
      }</text>`,
    );
  }
  for (const t of yt) {
    parts.push(`<text x="${m.left - 6}" y="${f(y(t) + 4)}" text-anchor="end">${t}</text>`);
  }
  parts.push(
    `<text x="${m.left + plotW / 2}" y="${
      height - 12
    }" text-anchor="middle">file size (bytes, log scale)</text>`,
    `<text transform="translate(16 ${m.top + plotH / 2}) rotate(-90)" text-anchor="middle">perplexity</text>`,
  );
  // Limits.
  if (options.targetBytes) {
    const tx = f(x(options.targetBytes));
    parts.push(
      `<line class="target" x1="${tx}" y1="${m.top}" x2="${tx}" y2="${
        m.top + plotH
      }" stroke="#c00" stroke-dasharray="5 4"/>`,
      `<text x="${tx}" y="${m.top - 4}" text-anchor="middle" fill="#c00">target ${
        formatBytes(options.targetBytes, { trim: true })
      }</text>`,
    );
  }
  if (options.maxPerplexity && options.maxPerplexity <= yHi) {
    const ty = f(y(options.maxPerplexity));
    parts.push(
      `<line class="ppl-limit" x1="${m.left}" y1="${ty}" x2="${
        m.left + plotW
      }" y2="${ty}" stroke="#c00" stroke-dasharray="5 4"/>`,
    );
  }
  // Frontier line: the size/perplexity staircase of the frontier points (which are a frontier in three
  // objectives, speed too: a faster point may be worse in both size and perplexity than another).
  const frontier = paretoFront(
    usable.filter((p) => p.kind === "frontier" || p.kind === "chosen"),
    [(p) => p.bytes, (p) => p.perplexity],
  );
  if (frontier.length > 1) {
    parts.push(
      `<polyline class="frontier" fill="none" stroke="#1565c0" stroke-width="1.5" points="${
        frontier.map((p) => `${f(x(p.bytes))},${f(y(p.perplexity))}`).join(" ")
      }"/>`,
    );
  }
  // Points: faint ones first so the frontier is drawn on top.
  const order = { single: 0, candidate: 1, baseline: 2, frontier: 3, chosen: 4 };
  for (const p of [...usable].sort((a, b) => order[a.kind] - order[b.kind])) {
    const px = f(x(p.bytes));
    const py = f(y(p.perplexity));
    const tip = `<title>${
      escapeXml(
        `${p.label ? p.label + "\n" : ""}${p.bytes} bytes, perplexity ${p.perplexity.toFixed(2)}${
          p.msPerToken === undefined ? "" : `, ${p.msPerToken.toFixed(3)} ms/token`
        }`,
      )
    }</title>`;
    const cls = `point ${p.kind}`;
    if (p.perplexity > yHi) {
      const yy = m.top + 2;
      parts.push(
        `<path class="${cls} clipped" d="M${px} ${yy} l-4 7 h8 z" fill="#999">${tip}</path>`,
      );
      continue;
    }
    if (p.kind === "chosen") {
      const star = starPoints(+px, +py, 8);
      parts.push(
        `<polygon class="${cls}" points="${star}" fill="#f9a825" stroke="#333" data-bytes="${p.bytes}" data-perplexity="${p.perplexity}">${tip}</polygon>`,
      );
    } else {
      const style = p.kind === "single"
        ? `r="2.5" fill="#bbb"`
        : p.kind === "candidate"
        ? `r="3.5" fill="#90a4ae"`
        : p.kind === "baseline"
        ? `r="4" fill="none" stroke="#333"`
        : `r="4" fill="#1565c0"`;
      parts.push(
        `<circle class="${cls}" cx="${px}" cy="${py}" ${style} data-bytes="${p.bytes}" data-perplexity="${p.perplexity}">${tip}</circle>`,
      );
    }
  }
  // ms/token labels: the chosen point's first, then the frontier's, none within 40 × 14 px of another.
  const labelled: { x: number; y: number }[] = [];
  const toLabel = usable.filter((p) => p.msPerToken !== undefined && p.perplexity <= yHi)
    .filter((p) => p.kind === "chosen" || p.kind === "frontier")
    .sort((a, b) => (a.kind === "chosen" ? -1 : b.kind === "chosen" ? 1 : a.bytes - b.bytes));
  for (const p of toLabel) {
    const px = x(p.bytes);
    const py = y(p.perplexity);
    if (labelled.some((l) => Math.abs(l.x - px) < 40 && Math.abs(l.y - py) < 14)) continue;
    labelled.push({ x: px, y: py });
    parts.push(
      `<text class="ms" x="${f(px + 6)}" y="${f(py - 6)}" fill="#1565c0">${
        p.msPerToken!.toFixed(2)
      } ms</text>`,
    );
  }
  // Legend, on a white box over whatever lies beneath.
  const lx = m.left + plotW - 200;
  const ly = m.top + 14;
  const words = options.legend ?? {
    frontier: "frontier (label: ms/token)",
    chosen: "chosen",
    candidate: "other combinations",
    single: "one tensor compressed",
    baseline: "f32",
  };
  const marks: Record<PlotPoint["kind"], (cy: number) => string> = {
    frontier: (cy) => `<circle cx="${lx}" cy="${cy}" r="4" fill="#1565c0"/>`,
    chosen: (cy) => `<polygon points="${starPoints(lx, cy, 6)}" fill="#f9a825" stroke="#333"/>`,
    candidate: (cy) => `<circle cx="${lx}" cy="${cy}" r="3.5" fill="#90a4ae"/>`,
    single: (cy) => `<circle cx="${lx}" cy="${cy}" r="2.5" fill="#bbb"/>`,
    baseline: (cy) => `<circle cx="${lx}" cy="${cy}" r="4" fill="none" stroke="#333"/>`,
  };
  const kinds = (["frontier", "chosen", "candidate", "single", "baseline"] as const).filter((k) => words[k]);
  const legend: [string, string][] = kinds.map((k, i) => [marks[k](ly + 14 * i), words[k]!]);
  parts.push(
    `<g class="legend" font-size="10">`,
    `<rect x="${lx - 10}" y="${ly - 10}" width="185" height="${legend.length * 14 + 6}" fill="white" ` +
      `fill-opacity="0.9" stroke="#ccc"/>`,
    ...legend.map(([mark, text], i) => `${mark}<text x="${lx + 10}" y="${ly + i * 14 + 4}">${text}</text>`),
    `</g>`,
  );
  parts.push(`</svg>`);
  return parts.join("\n") + "\n";
}
