/**
 * deno.json's `exports` — what a Deno app imports — are documented: `deno doc --lint` finds every exported
 * symbol with JSDoc and no reference to an unexported type, except two that cannot be written otherwise.
 */
import assert from "node:assert/strict";

const root = new URL("../", import.meta.url);
const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", root)));

Deno.test("deno.json exports the runtime and the client, and deno doc --lint finds every export documented", async () => {
  assert.deepEqual(config.exports, { ".": "./runtime/mod.ts", "./client": "./runtime/client.ts" });
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--lint", ...Object.values(config.exports as Record<string, string>)],
    cwd: root,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  const problems = [...text.matchAll(/error\[([\w-]+)\]: (.*)\n\s*--> .*?([\w/.]+\.ts):(\d+)/g)]
    .map((m) => `${m[1]} ${m[3].replace(/^.*\/(runtime\/)/, "$1")}: ${m[2]}`);
  assert.ok(problems.length > 0 || out.success, text);
  assert.deepEqual(problems, [
    // The client's type is whatever Hono's hc makes of the app's routes; hono does not export its name.
    "private-type-ref runtime/client.ts: public type 'Client' references private type 'hc'",
    // Written out, createApp's return type would lose the routes' types that the typed client reads.
    "missing-return-type runtime/app.ts: exported function is missing an explicit return type annotation",
  ]);
});
