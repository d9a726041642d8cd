/**
 * `deno task serve [MODEL.lem] [--port N] [--hostname H] [--limits JSON] [--log]`: the app under Deno.serve.
 * Prints `listening on http://HOST:PORT/` once it accepts connections, with --log one line per request
 * (runtime/app/request_log.ts); stops on SIGINT/SIGTERM.
 * @module
 */
import { parseCli, readInput, runCli, UsageError } from "../cli/args.ts";
import { LstmModel } from "../model.ts";
import { createApp } from "../app.ts";
import { resolveLimits } from "../app/limits.ts";
import { sha256Hex } from "../sha256.ts";

const SHIPPED = "models/ptb-small.lem";
const USAGE = "deno task serve [MODEL.lem] [--port N] [--hostname H] [--limits JSON] [--log]";
const HELP = `
usage: ${USAGE}

Serves the HTTP API (see README "Serving") and the demo page for one compiled model.

  MODEL.lem         the model (default: ${SHIPPED}, made by \`deno task compile\`)
  --port N          TCP port (default 8000; 0 picks a free one)
  --hostname H      address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)
  --limits JSON     request limits, e.g. '{"maxBodyBytes": 131072, "maxGenerateTokens": 50}'
                    (keys: maxBodyBytes, maxTextChars, maxTextTokens, maxK, maxGenerateTokens)
  --log             one line per request on stdout: method, path, status, ms and the tokens the
                    model processed, e.g. "POST /v1/predict 200 2.4 ms 3 tokens"
  -h, --help        this text
`;

await runCli(async () => {
  const { values, positionals } = parseCli(Deno.args, {
    port: { type: "string" },
    hostname: { type: "string" },
    limits: { type: "string" },
    log: { type: "boolean" },
  }, HELP);
  if (positionals.length > 1) {
    throw new UsageError(`expected at most one model file, got ${positionals.length}`);
  }
  const port = Number(values.port ?? 8000);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`--port must be 0..65535, got "${values.port}"`);
  }
  let limits;
  try {
    limits = resolveLimits(values.limits ?? {});
  } catch (e) {
    throw new UsageError(`--limits: ${(e as Error).message}`);
  }
  const path = positionals[0] ?? SHIPPED;
  const bytes = await readInput(path, positionals[0] ? "Model" : "The shipped model (compile it first)");
  const model = await LstmModel.load(bytes);
  let runtime: Promise<string> | undefined;
  const app = createApp({
    model,
    sha256: await sha256Hex(bytes),
    modelBytes: bytes,
    limits,
    requestLog: values.log ? (line) => console.log(line) : undefined,
    browserRuntime: () => {
      runtime ??= import("./bundle.ts").then(async (b) => {
        const js = await b.bundleBrowserRuntime();
        await b.stopBundler();
        return js;
      });
      runtime.catch(() => (runtime = undefined));
      return runtime;
    },
  });
  const server = Deno.serve({
    port,
    hostname: values.hostname ?? "127.0.0.1",
    onListen: ({ hostname, port }) => console.log(`listening on http://${hostname}:${port}/ (${path})`),
  }, app.fetch);
  const stop = () => server.shutdown();
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  await server.finished;
}, USAGE);
