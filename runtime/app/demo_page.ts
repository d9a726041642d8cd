/**
 * GET /: the demo page. Type a sentence and see the next word suggested as you type — while a word is
 * unfinished, the most likely words that complete it (predict's `prefix`, over the whole vocabulary).
 * Each finished word is sent alone with the `state` of the previous answer (constant work per word);
 * editing earlier text starts again from the whole text. A character model suggests the next character
 * and is fed every character. "Continue" generates a continuation of the text (seeded). "Run in this
 * page" loads the `.lem` file and the runtime bundle (/v1/model.lem, /demo/runtime.js — or a `.lem` file
 * you pick) and from then on predicts and generates with no server.
 * @module
 */

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

/**
 * The page's HTML. `offline`: whether this server offers the runtime bundle for in-page mode;
 * `characters`: whether the server's model is character-level.
 */
export function demoPage(options: { modelName: string; offline: boolean; characters?: boolean }): string {
  const name = escapeHtml(options.modelName);
  const unit = options.characters ? "character" : "word";
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
#generated{white-space:pre-wrap;background:#f6f6f6;padding:.5rem;min-height:1rem}
</style></head><body>
<h1>lstm-edge</h1>
<p>Model <b>${name}</b>. Type a sentence; suggestions for the next ${unit} follow as you type (click one to use it).</p>
<textarea id="text" rows="3" autofocus placeholder="the stock market"></textarea>
<ul id="suggestions" aria-live="polite"></ul>
<p><button id="generate" type="button">Continue</button> the text (seed <input id="seed" type="number" value="1" min="0" style="width:5rem">)</p>
<pre id="generated"></pre>
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
const SHOWN = 8;
let local = null;          // offline: { service, model }
let committed = "";        // text whose words (characters) have been fed
let asked = "";            // the unfinished word the shown suggestions complete
let state = null;          // server: encoded state; offline: LstmState
let predictions = [];
let busy = false, dirty = false;
// A character model is fed every character and suggests the next one; a word model completes words.
const characters = () => local ? local.model.tokenizer.kind === "character" : ${options.characters === true};

async function predictServer(words, k, prefix) {
  const body = { text: words, k };
  if (state) body.state = state;
  if (prefix) body.prefix = prefix;
  const res = await fetch("/v1/predict", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const json = await res.json();
  if (!res.ok) throw new Error(json.error.code + ": " + json.error.message);
  state = json.state;
  return json.predictions;
}

function predictLocal(words, k, prefix) {
  state ??= local.model.createState();
  return local.service.predict(words, state, k, false, prefix || undefined).predictions;
}

async function step() {
  const m = characters() ? [null, text.value, ""] : /^([\\s\\S]*\\s)?(\\S*)$/.exec(text.value);
  const complete = m[1] ?? "", partial = m[2];
  if (characters() ? complete === "" : complete.trim() === "") {
    committed = ""; asked = ""; state = null; predictions = [];
  } else {
    // Only the words after what was already fed travel, with the state; an edit before them starts again.
    const continues = state !== null && complete.startsWith(committed);
    const words = continues ? complete.slice(committed.length) : complete;
    if (!continues) state = null;
    const fresh = !continues || (characters() ? words !== "" : words.trim() !== "" || words.includes("\\n"));
    if (fresh || partial !== asked) {
      predictions = local ? predictLocal(words, SHOWN, partial) : await predictServer(words, SHOWN, partial);
      status.textContent = "mode: " + (local ? "offline (in this page)" : "server") + " · sent " +
        JSON.stringify(words) + (partial ? " completing " + JSON.stringify(partial) : "");
    }
    committed = complete;
    asked = partial;
  }
  render();
}

const shownToken = (t) => t === " " ? "␣" : t === "\\n" ? "↵" : t;

function render() {
  list.replaceChildren(...predictions.slice(0, SHOWN).map((x) => {
    const li = document.createElement("li");
    const b = document.createElement("button");
    b.type = "button";
    b.dataset.token = x.token;
    b.append(shownToken(x.token) + " ");
    const small = document.createElement("small");
    small.textContent = (100 * x.prob).toFixed(1) + "%";
    b.append(small);
    b.onclick = () => {
      text.value = characters() ? text.value + x.token : text.value.replace(/\\S*$/, "") + x.token + " ";
      text.focus();
      update();
    };
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

async function generate() {
  const settings = { maxTokens: characters() ? 200 : 20, temperature: 0.7, topK: 40, seed: Number($("seed").value) };
  let out;
  if (local) {
    const fresh = local.model.createState();
    local.service.feed(text.value, fresh);
    out = (await local.service.generate(fresh, settings)).text;
  } else {
    const res = await fetch("/v1/generate", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ prompt: text.value, ...settings }) });
    const json = await res.json();
    if (!res.ok) throw new Error(json.error.code + ": " + json.error.message);
    out = json.text;
  }
  $("generated").textContent = out;
  document.body.dataset.generated = String(settings.seed);
}

text.addEventListener("input", update);
$("generate").addEventListener("click", () => generate().catch((e) => { status.textContent = "error: " + e.message; }));
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
