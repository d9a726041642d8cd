/**
 * What `deno task bench` prints: the rows (JSON), the ratios against onnxruntime-web computed per round,
 * the benchmark targets this project sets itself (README, "Size, perplexity and speed"), and a markdown
 * table.
 * @module
 */

/** Per-round samples of one row (index r of every list is round r). */
export interface RoundSamples {
  stepMs: number[];
  seqMsPerToken: number[];
  probeMs: number[];
  coldStartMs: number[];
}

/** Speed-ups against onnxruntime-web: ORT's value / this row's, median over rounds (> 1: this is faster). */
export interface VsOrt {
  step: number;
  seq: number;
  coldStart: number;
  /** ORT's runtime code bytes / this row's. */
  code: number;
}

/** One row of the JSON output. */
export interface BenchRow {
  engine: "onnxruntime-web" | "lstm-edge";
  variant: string;
  /** Where the variant's recipe came from ("method", "rules", a file, "placeholder"), or "onnx". */
  recipe: string;
  /** Per-tensor encodings, e.g. "embedding int4 g32, layers.* int8 per-row, decoder int4 g32". */
  detail: string;
  /** Model file bytes (.onnx for ORT, .lem for ours). */
  bytes: number;
  /** Runtime code bytes, JS + WASM, model excluded. */
  codeBytes: number;
  /** Median ms per token, one token at a time with the state carried, next-token output included. */
  stepMs: number;
  /** Median ms per token over one sequence. */
  seqMsPerToken: number;
  /** Median ms from model bytes in memory to the first next-token output, in a fresh process. */
  coldStartMs: number;
  /** Median ms importing the engine's entry JS module in that process (not in coldStartMs). */
  importMs: number;
  ppl: number;
  pplTokens: number;
  /** Weight bytes one step reads: every matrix but the embedding, plus one embedding row's share. */
  stepBytes: number;
  /** Median ms to stream-read stepBytes (tests/bench/probe.ts). */
  probeMs: number;
  /** Median over rounds of stepMs / probeMs (1 = the step runs at the speed of reading its weights). */
  stepOverProbe: number;
  /** stepBytes / probeMs, GB/s (median probe). */
  probeGBps: number;
  vsOrt: VsOrt;
  /** Argmax of the first next-token output (warm run); the cold-start runs must agree. */
  firstArgmax: number;
  rounds: RoundSamples;
}

/** One of the project's benchmark targets. */
export interface Target {
  target: string;
  row: string;
  /** The measured value, in the unit `unit` names. */
  value: number | null;
  unit: string;
  met: boolean | null;
}

export function median(xs: readonly number[]): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Median over rounds of ort[r] / mine[r]. */
export function medianRatio(ort: readonly number[], mine: readonly number[]): number {
  return median(ort.map((o, r) => o / mine[r]));
}

/** The ratios of every row against `ort` (same rounds). */
export function vsOrt(
  row: Pick<BenchRow, "rounds" | "codeBytes">,
  ort: Pick<BenchRow, "rounds" | "codeBytes">,
): VsOrt {
  return {
    step: medianRatio(ort.rounds.stepMs, row.rounds.stepMs),
    seq: medianRatio(ort.rounds.seqMsPerToken, row.rounds.seqMsPerToken),
    coldStart: medianRatio(ort.rounds.coldStartMs, row.rounds.coldStartMs),
    code: ort.codeBytes / row.codeBytes,
  };
}

/**
 * The benchmark targets this project sets itself (README, "Size, perplexity and speed"), evaluated on the
 * rows (null where the row was not run).
 */
export function targets(rows: readonly BenchRow[], codeBudget: number): Target[] {
  const ours = (v: string) => rows.find((r) => r.engine === "lstm-edge" && r.variant === v);
  const f32 = ours("f32");
  const budget = ours("budget");
  const any = rows.find((r) => r.engine === "lstm-edge");
  return [
    {
      target: "f32 step time ≤ 1.0× onnxruntime-web's",
      row: "f32",
      value: f32 ? 1 / f32.vsOrt.step : null,
      unit: "× ORT's step time",
      met: f32 ? 1 / f32.vsOrt.step <= 1 : null,
    },
    {
      target: "budgeted model's step ≥ 5× faster",
      row: "budget",
      value: budget?.vsOrt.step ?? null,
      unit: "× faster",
      met: budget ? budget.vsOrt.step >= 5 : null,
    },
    {
      target: "cold start ≥ 20× faster",
      row: "budget",
      value: budget?.vsOrt.coldStart ?? null,
      unit: "× faster",
      met: budget ? budget.vsOrt.coldStart >= 20 : null,
    },
    {
      target: `runtime code ≤ ${codeBudget / 1000} kB`,
      row: "(all)",
      value: any?.codeBytes ?? null,
      unit: "bytes",
      met: any ? any.codeBytes <= codeBudget : null,
    },
  ];
}

const int = (n: number) => Math.round(n).toLocaleString("en-US");
const fix = (n: number, d = 3) => (Number.isFinite(n) ? n.toFixed(d) : "–");
const times = (n: number) => (Number.isFinite(n) ? `${n >= 10 ? n.toFixed(1) : n.toFixed(2)}×` : "–");

/** The rows as markdown: the table, the targets, and what the columns mean. */
export function benchMarkdown(
  rows: readonly BenchRow[],
  tgts: readonly Target[],
  notes: readonly string[],
): string {
  const header = [
    "engine",
    "variant",
    "model bytes",
    "PPL",
    "step ms",
    "step ×ORT",
    "seq ms/token",
    "seq ×ORT",
    "cold start ms",
    "cold ×ORT",
    "code bytes",
    "code ×ORT",
    "step bytes",
    "probe ms",
    "step/probe",
  ];
  const lines = [
    `| ${header.join(" | ")} |`,
    `| ${header.map((_, i) => (i < 2 ? "---" : "---:")).join(" | ")} |`,
    ...rows.map((r) =>
      `| ${r.engine} | \`${r.variant}\` | ${int(r.bytes)} | ${fix(r.ppl, 2)} | ${fix(r.stepMs)} | ${
        times(r.vsOrt.step)
      } | ${fix(r.seqMsPerToken)} | ${times(r.vsOrt.seq)} | ${fix(r.coldStartMs, 1)} | ${
        times(r.vsOrt.coldStart)
      } | ${int(r.codeBytes)} | ${times(r.vsOrt.code)} | ${int(r.stepBytes)} | ${fix(r.probeMs)} | ${
        fix(r.stepOverProbe, 2)
      } |`
    ),
    "",
    "Targets (against onnxruntime-web, same run):",
    "",
    ...tgts.map((t) =>
      `- ${t.met === null ? "n/a " : t.met ? "MET " : "MISSED "}${t.target}: ${
        t.value === null ? "not measured" : `${t.unit === "bytes" ? int(t.value) : fix(t.value, 2)} ${t.unit}`
      } (${t.row})`
    ),
    "",
    ...notes.map((n) => `- ${n}`),
  ];
  return lines.join("\n") + "\n";
}
