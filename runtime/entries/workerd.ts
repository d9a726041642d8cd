/**
 * `deno task workerd ARGS…`: runs the workerd binary of the npm package `workerd`, pinned in deno.json and
 * deno.lock, with ARGS — e.g. `deno task workerd serve dist/worker/workerd.capnp --socket-addr
 * http=127.0.0.1:8787` for the folder `deno task build:worker` writes. It runs the platform binary itself,
 * not the package's node shim (`npx workerd`), which does not pass signals on and leaves workerd running,
 * holding its port, when stopped: here Ctrl-C or SIGTERM is forwarded to workerd, and the exit code is
 * workerd's.
 * @module
 */
import { exists } from "./testing.ts";

const USAGE = "deno task workerd serve DIR/workerd.capnp [--socket-addr http=HOST:PORT] [workerd options]";
const HELP = `
usage: ${USAGE}

Runs Cloudflare's workerd (the npm package pinned in deno.json; its install script fetches the binary:
deno install --allow-scripts=npm:workerd@…) with these arguments. Stopping this command stops workerd.
\`deno task workerd serve --help\` is workerd's own help.

  -h, --help    this text
`;

/**
 * workerd's native binary from the npm package's platform dependency (not the `node_modules/.bin` shim,
 * which, without install scripts, is a node script that does not pass SIGTERM on); the shim when that is
 * all there is; undefined when absent.
 */
export function workerdBinary(): string | undefined {
  const root = new URL("../../node_modules/", import.meta.url);
  const os = { linux: "linux", darwin: "darwin", windows: "windows" }[Deno.build.os as string];
  const cpu = Deno.build.arch === "x86_64" ? "64" : "arm64";
  const pkg = `workerd-${os}-${cpu}`;
  try {
    for (const entry of Deno.readDirSync(new URL(".deno/", root))) {
      if (entry.name.startsWith(`@cloudflare+${pkg}@`)) {
        const bin = new URL(`.deno/${entry.name}/node_modules/@cloudflare/${pkg}/bin/workerd`, root).pathname;
        if (exists(bin)) return bin;
      }
    }
  } catch { /* no node_modules/.deno */ }
  const shim = new URL(".bin/workerd", root).pathname;
  return exists(shim) ? shim : undefined;
}

if (import.meta.main) {
  if (Deno.args.length === 0 || Deno.args[0] === "--help" || Deno.args[0] === "-h") {
    console.log(HELP.trim());
    Deno.exit(Deno.args.length === 0 ? 2 : 0);
  }
  const binary = workerdBinary();
  if (!binary) {
    console.error(
      "error: workerd is not installed: run deno install --allow-scripts=npm:workerd (see README, Set up)",
    );
    Deno.exit(1);
  }
  const child = new Deno.Command(binary, { args: Deno.args }).spawn();
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    Deno.addSignalListener(signal, () => {
      try {
        child.kill(signal);
      } catch { /* already exited */ }
    });
  }
  const status = await child.status;
  Deno.exit(status.code);
}
