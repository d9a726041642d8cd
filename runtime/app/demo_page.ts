/**
 * GET /: the demo page. Type a sentence and see the next word suggested as you type. Each finished word is
 * sent alone with the `state` of the previous answer (constant work per word); editing earlier text starts
 * again from the whole text. "Run in this page" loads the `.lem` file and the runtime bundle
 * (/v1/model.lem, /demo/runtime.js — or a `.lem` file you pick) and from then on predicts with no server.
 * @module
 */

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

/** The page's HTML. `offline`: whether this server offers the runtime bundle for in-page mode. */
export function demoPage(options: { modelName: string; offline: boolean }): string {
  const name = escapeHtml(options.modelName);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>lstm-edge · ${name}</title>
<style>
body{font:16px/1.5 system-ui,sans-serif;max-width:42rem;margin:2rem auto;padding:0 1rem;color:#222}
textarea{width:100%;font:inherit;padding:.5rem;box-sizing:border-box}
#suggestions{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.4rem;min-height:2.2rem}
#suggestions button{font:inherit;padding:.2rem .6rem;border:1px solid #999;border-radius:1rem;background:#f6f6f6;cursor:pointer}
#suggestions small{color:#777}
#status{color:#555;font-size:.9rem}
</style></head><body>
<h1>lstm-edge</h1>
<p>Model <b>${name}</b>. Type a sentence; suggestions for the next word follow as you type (click one to use it).</p>
<textarea id="text" rows="3" autofocus placeholder="the stock market"></textarea>
<ul id="suggestions" aria-live="polite"></ul>
<p id="status">mode: server</p>
<p>${
    options.offline
      ? `<button id="offline">Run in this page (offline)</button> or load a .lem file: <input id="file" type="file" accept=".lem">`
      : "In-page (offline) mode is not offered by this server."
  }</p>
<p><a href="/openapi.json">API description</a></p>
<script type="module">
const $ = (id) => document.getElementById(id);
const text = $("text"), list = $("suggestions"), status = $("status");
let local = null;          // offline: { service, model }
let committed = "";        // text whose words have been fed
let state = null;          // server: encoded state; offline: LstmState
let predictions = [];
let busy = false, dirty = false;

async function predictServer(words, k) {
  const body = { text: words, k };
  if (state) body.state = state;
  const res = await fetch("/v1/predict", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const json = await res.json();
  if (!res.ok) throw new Error(json.error.code + ": " + json.error.message);
  state = json.state;
  return json.predictions;
}

function predictLocal(words, k) {
  state ??= local.model.createState();
  return local.service.predict(words, state, k).predictions;
}

async function step() {
  const m = /^([\\s\\S]*\\s)?(\\S*)$/.exec(text.value);
  const complete = m[1] ?? "", partial = m[2];
  if (complete.trim() === "") {
    committed = ""; state = null; predictions = [];
  } else {
    // Only the words after what was already fed travel, with the state; an edit before them starts again.
    const continues = state !== null && complete.startsWith(committed);
    const words = continues ? complete.slice(committed.length) : complete;
    if (!continues) state = null;
    if (!continues || words.trim() !== "" || words.includes("\\n")) {
      predictions = local ? predictLocal(words, 50) : await predictServer(words, 50);
      status.textContent = "mode: " + (local ? "offline (in this page)" : "server") + " · sent " + JSON.stringify(words.trim());
    }
    committed = complete;
  }
  render(partial);
}

function render(partial) {
  const p = partial.toLowerCase();
  const shown = predictions.filter((x) => x.token.startsWith(p)).slice(0, 8);
  list.replaceChildren(...shown.map((x) => {
    const li = document.createElement("li");
    const b = document.createElement("button");
    b.type = "button";
    b.dataset.token = x.token;
    b.append(x.token + " ");
    const small = document.createElement("small");
    small.textContent = (100 * x.prob).toFixed(1) + "%";
    b.append(small);
    b.onclick = () => { text.value = text.value.replace(/\\S*$/, "") + x.token + " "; text.focus(); update(); };
    li.append(b);
    return li;
  }));
}

async function update() {
  if (busy) { dirty = true; return; }
  busy = true;
  try {
    do { dirty = false; await step(); } while (dirty);
  } catch (e) {
    status.textContent = "error: " + e.message;
  } finally { busy = false; }
}

async function goOffline(bytes) {
  status.textContent = "loading the runtime…";
  const runtime = await import("/demo/runtime.js");
  const model = await runtime.loadModel(bytes);
  local = { model, service: runtime.textService(model) };
  committed = ""; state = null; predictions = [];
  status.textContent = "mode: offline (in this page) · " + model.info.name + " loaded, " + bytes.length + " bytes";
  document.body.dataset.mode = "offline";
  await update();
}

text.addEventListener("input", update);
$("offline")?.addEventListener("click", async () => {
  try {
    const res = await fetch("/v1/model.lem");
    if (!res.ok) throw new Error("cannot fetch the model: HTTP " + res.status);
    await goOffline(new Uint8Array(await res.arrayBuffer()));
  } catch (e) { status.textContent = "error: " + e.message; }
});
$("file")?.addEventListener("change", async (ev) => {
  const file = ev.target.files[0];
  if (file) await goOffline(new Uint8Array(await file.arrayBuffer())).catch((e) => { status.textContent = "error: " + e.message; });
});
document.body.dataset.mode = "server";
update();
</script>
</body></html>
`;
}
