/**
 * `deno task bench:load [MODEL.lem | --random] [--duration S] [--connections N]` — a load benchmark, not a test.
 *
 * Starts `deno task serve` on loopback and drives it with wrk (Debian package `wrk`): 64 connections,
 * 60 s, every request a typing step — POST /v1/predict with one new word and the client-carried state
 * after ten words (k = 5). Prints requests/s, p50/p99 latency, errors (non-2xx and socket errors), and the
 * server's resident memory before, during the first and the last 10 s, and after. The server runs with the
 * V8 flags of `deno task serve`: `--max-semi-space-size=1` (MiB) keeps V8's young generation from growing
 * under load (without it, RSS grows ≈ 40 MiB over a minute while the JS heap after GC stays flat).
 * MODEL.lem defaults to models/ptb-small.lem; a missing model is an error, and `--random` serves a random
 * model of PTB-small's shape (10 000 words, 2 × 200) instead: the same work per request as the real one.
 * @module
 */
import { parseCli, readInput, runCli, UsageError } from "../runtime/cli/args.ts";
import { encodeModelDense } from "../compiler/encoded.ts";
import { writeLem } from "../compiler/writer.ts";
import { randomIrModel } from "../runtime/format/test_fixtures.ts";
import { LstmModel } from "../runtime/model.ts";
import { exists, startServer } from "../runtime/entries/testing.ts";

const USAGE =
  "deno task bench:load [MODEL.lem | --random] [--duration S] [--connections N] [--v8-flags FLAGS]";
const HELP = `
usage: ${USAGE}

A load benchmark (not a test): starts \`deno task serve MODEL.lem\` on loopback and drives it with wrk
(Debian package wrk) — every request a typing step, POST /v1/predict with one new word and the
client-carried state after ten words, k = 5. Prints requests/s, p50/p99 latency, errors and the server's
resident memory before, during the first and last 10 s, and after.

  MODEL.lem          the model to serve (default: models/ptb-small.lem, which \`deno task compile\` makes)
  --random           serve a random model of PTB-small's shape (10 000 words, 2 × 200) instead: the
                     same work per request, no compile needed
  --duration S       seconds of load (default 60)
  --connections N    wrk's concurrent connections (default 64)
  --v8-flags FLAGS   the server's V8 flags (default: those of \`deno task serve\` in deno.json)
  -h, --help         this text
`;

/** A whole number ≥ 1 from a flag, or a UsageError naming it. */
function positive(flag: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) {
    throw new UsageError(`--${flag} must be a whole number ≥ 1, got "${text}"`);
  }
  return n;
}

await runCli(async () => {
  const { values, positionals } = parseCli(Deno.args, {
    duration: { type: "string", default: "60" },
    connections: { type: "string", default: "64" },
    "v8-flags": { type: "string" },
    random: { type: "boolean" },
  }, HELP);
  if (positionals.length > 1) {
    throw new UsageError(`expected at most one MODEL.lem, got ${positionals.length}`);
  }
  if (values.random && positionals.length) throw new UsageError("give MODEL.lem or --random, not both");
  const duration = positive("duration", values.duration);
  const connections = positive("connections", values.connections);
  // The server runs as `deno task serve` runs it (its V8 flags from deno.json) unless --v8-flags says otherwise.
  const serveTask: string =
    JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url))).tasks.serve;
  const v8Flags = values["v8-flags"] ?? /--v8-flags=(\S+)/.exec(serveTask)?.[1] ?? "";

  let modelPath = positionals[0] ?? "models/ptb-small.lem";
  let what = modelPath;
  if (values.random) {
    const ir = randomIrModel(1, { vocab: 10000, embed: 200, hidden: [200, 200] });
    const bytes = writeLem(
      encodeModelDense(ir, "f32", { name: "random-ptb-small-shape", compiler: "bench", recipe: "{}" }),
    );
    modelPath = await Deno.makeTempFile({ suffix: ".lem" });
    await Deno.writeFile(modelPath, bytes);
    what = `random model of PTB-small's shape (10 000 × 200, 2 × LSTM 200; ${bytes.length} bytes)`;
  } else if (!exists(modelPath)) {
    throw new Error(
      `Model file "${modelPath}" does not exist` +
        (positionals.length ? "" : " (`deno task compile` makes it from models/ptb-small.onnx)") +
        "; --random benchmarks a random model of PTB-small's shape instead",
    );
  }
  if (!exists("/usr/bin/wrk")) throw new Error("bench:load needs wrk: apt-get install -y wrk");
  await runLoad(modelPath, what, { duration, connections, v8Flags });
}, USAGE);

/** Serves `modelPath`, loads it with wrk and prints the numbers. */
async function runLoad(
  modelPath: string,
  what: string,
  { duration, connections, v8Flags }: { duration: number; connections: number; v8Flags: string },
): Promise<void> {
  // The request: one new word after a state of ten words, as a client typing would send.
  const model = await LstmModel.load(await readInput(modelPath, "Model file"));
  const words = model.tokenizer.vocab.filter((w) => !w.startsWith("<")).slice(10, 21);

  const server = await startServer(
    Deno.execPath(),
    [
      "run",
      "-A",
      ...(v8Flags ? [`--v8-flags=${v8Flags}`] : []),
      new URL("../runtime/entries/deno.ts", import.meta.url).pathname,
      modelPath,
      "--port",
      "0",
    ],
    (out) => /listening on (http:\/\/127\.0\.0\.1:\d+)\//.exec(out)?.[1],
    60000,
  );
  const pid = Number(
    new TextDecoder().decode(
      (await new Deno.Command("pgrep", { args: ["-n", "-f", `entries/deno.ts ${modelPath}`] }).output())
        .stdout,
    ).trim(),
  );
  const rssKiB = () =>
    Number(/VmRSS:\s+(\d+)/.exec(Deno.readTextFileSync(`/proc/${pid}/status`))?.[1] ?? NaN);

  try {
    const first = await (await fetch(`${server.url}/v1/predict`, {
      method: "POST",
      body: JSON.stringify({ text: words.slice(0, 10).join(" ") }),
    })).json();
    const body = JSON.stringify({ text: words[10], state: first.state, k: 5 });
    const check = await fetch(`${server.url}/v1/predict`, { method: "POST", body });
    if (!check.ok) throw new Error(`warm-up request failed: ${check.status} ${await check.text()}`);
    await check.body?.cancel();
    const script = await Deno.makeTempFile({ suffix: ".lua" });
    await Deno.writeTextFile(
      script,
      `wrk.method = "POST"\nwrk.body = ${
        JSON.stringify(body)
      }\nwrk.headers["Content-Type"] = "application/json"\n`,
    );

    const before = rssKiB();
    const samples: number[] = [];
    const sampler = setInterval(() => samples.push(rssKiB()), 1000);
    const wrk = await new Deno.Command("wrk", {
      args: [
        "-t2",
        `-c${connections}`,
        `-d${duration}s`,
        "--latency",
        "-s",
        script,
        `${server.url}/v1/predict`,
      ],
    }).output();
    clearInterval(sampler);
    const after = rssKiB();
    const out = new TextDecoder().decode(wrk.stdout);
    const num = (re: RegExp) => re.exec(out)?.[1];
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    const firstTen = mean(samples.slice(0, 10));
    const lastTen = mean(samples.slice(-10));
    const mib = (kib: number) => `${(kib / 1024).toFixed(1)} MiB`;
    const non2xx = Number(num(/Non-2xx or 3xx responses: (\d+)/) ?? 0);
    const socket = num(/Socket errors: (.*)/) ?? "none";
    console.log(`model: ${what}`);
    console.log(`request: POST /v1/predict, one word + state (${body.length} bytes), k = 5`);
    const flags = v8Flags ? ` --v8-flags=${v8Flags}` : "";
    console.log(
      `wrk: ${connections} connections, ${duration} s, loopback; server: deno task serve${flags} (Deno ${Deno.version.deno})`,
    );
    console.log(`RSS samples (MiB, 1 s apart): ${samples.map((k) => (k / 1024).toFixed(0)).join(" ")}`);
    console.log(`requests/s: ${num(/Requests\/sec:\s+([\d.]+)/)}   total: ${num(/(\d+) requests in/)}`);
    console.log(`latency p50: ${num(/ 50%\s+(\S+)/)}   p99: ${num(/ 99%\s+(\S+)/)}`);
    console.log(`errors: non-2xx ${non2xx}, socket ${socket}`);
    console.log(
      `RSS: before ${mib(before)}, first 10 s ${mib(firstTen)}, last 10 s ${mib(lastTen)} ` +
        `(${(100 * (lastTen / firstTen - 1)).toFixed(1)} %), after ${mib(after)}`,
    );
    if (wrk.code !== 0) console.error(new TextDecoder().decode(wrk.stderr));
    await Deno.remove(script);
  } finally {
    await server.stop();
  }
}
