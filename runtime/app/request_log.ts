/**
 * One log line per request (`deno task serve --log`): method, path, status, milliseconds and the tokens
 * the model processed, e.g. `POST /v1/predict 200 2.4 ms 3 tokens`. Routes that run the model record
 * their tokens with {@link countTokens}; other routes log 0. A streamed answer (Server-Sent Events) is
 * logged when its last byte is sent, so its time and tokens are the whole generation's.
 * @module
 */
import type { MiddlewareHandler } from "hono";

/** Tokens per request in flight, by the platform's Request object (dropped with it). */
const tokensOf = new WeakMap<Request, number>();

/** Adds `n` to the tokens `request` (a route's `c.req.raw`) made the model process. */
export function countTokens(request: Request, n: number): void {
  tokensOf.set(request, (tokensOf.get(request) ?? 0) + n);
}

/** The middleware: calls `write` with the request's line once the answer (or its stream) is complete. */
export function requestLog(write: (line: string) => void): MiddlewareHandler {
  return async (c, next) => {
    const start = performance.now();
    await next();
    const line = () =>
      `${c.req.method} ${new URL(c.req.url).pathname} ${c.res.status} ${
        (performance.now() - start).toFixed(1)
      } ms ${tokensOf.get(c.req.raw) ?? 0} tokens`;
    const res = c.res;
    if (res.body && res.headers.get("content-type")?.startsWith("text/event-stream")) {
      const logAtEnd = new TransformStream<Uint8Array, Uint8Array>({ flush: () => write(line()) });
      c.res = new Response(res.body.pipeThrough(logAtEnd), res);
    } else {
      write(line());
    }
  };
}
