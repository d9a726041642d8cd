/**
 * For tests that start real servers: spawn a process, wait for it to listen (bounded), stop it for sure.
 * @module
 */

/** A running server process and its base URL. */
export interface Server {
  url: string;
  output: () => string;
  stop(): Promise<void>;
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/**
 * Starts `cmd args`, and waits (at most `timeoutMs`) until `ready(output)` returns the base URL. The process
 * is killed if it does not get there; `stop()` sends SIGTERM, then SIGKILL after 3 s.
 */
export async function startServer(
  cmd: string,
  args: string[],
  ready: (output: string) => string | undefined | Promise<string | undefined>,
  timeoutMs = 20000,
): Promise<Server> {
  const child = new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped", stdin: "null" }).spawn();
  let out = "";
  const decoder = new TextDecoder();
  const pump = (s: ReadableStream<Uint8Array>) =>
    s.pipeTo(new WritableStream({ write: (chunk) => void (out += decoder.decode(chunk, { stream: true })) }))
      .catch(() => {});
  const pumps = [pump(child.stdout), pump(child.stderr)];
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  const stop = async () => {
    if (!exited) {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      const timer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch { /* already gone */ }
      }, 3000);
      await status;
      clearTimeout(timer);
    }
    // A grandchild that outlives the child (an npm shim's binary) would hold the pipes open: don't wait.
    await Promise.race([Promise.all(pumps), new Promise((r) => setTimeout(r, 2000))]);
  };
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const url = await ready(out);
    if (url) return { url, output: () => out, stop };
    if (exited) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  await stop();
  throw new Error(
    `${cmd} did not start within ${timeoutMs} ms (exited: ${exited}); output:\n${out.slice(-2000)}`,
  );
}

/** Resolves to the URL once GET url/healthz answers 200 (for servers that print nothing when ready). */
export async function healthy(url: string): Promise<string | undefined> {
  try {
    const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) });
    await res.body?.cancel();
    return res.ok ? url : undefined;
  } catch {
    return undefined;
  }
}

/** Whether a file exists. */
export function exists(path: string | URL): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * `deno task serve MODEL --port 0 [ARGS]` (runtime/entries/deno.ts) started, once it says where it
 * listens.
 */
export function serveModel(modelPath: string, args: string[] = []): Promise<Server> {
  return startServer(
    Deno.execPath(),
    ["run", "-A", new URL("./deno.ts", import.meta.url).pathname, modelPath, "--port", "0", ...args],
    (out) => /listening on (http:\/\/127\.0\.0\.1:\d+)\//.exec(out)?.[1],
  );
}

/**
 * `deno task workerd serve DIR/workerd.capnp` (the pinned binary; DIR written by build:worker) on a free
 * loopback port, once GET /healthz answers.
 */
export async function serveWorker(dir: string): Promise<Server & { port: number }> {
  const port = freePort();
  const url = `http://127.0.0.1:${port}`;
  const server = await startServer(
    Deno.execPath(),
    ["task", "-q", "workerd", "serve", `${dir}/workerd.capnp`, "--socket-addr", `http=127.0.0.1:${port}`],
    () => healthy(url),
  );
  return { ...server, port };
}
