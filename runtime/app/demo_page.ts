/**
 * GET /: the demo page, one dependency-free HTML document. It says what the model is (a model card:
 * name, vocabulary, file bytes, encodings, and the tokenizer's rules with what each does to typed text),
 * then:
 * - Type: the next word suggested as you type — while a word is unfinished, the most likely words that
 *   complete it (predict's `prefix`, over the whole vocabulary), labelled as such. Each finished word is
 *   sent alone with the `state` of the previous answer (constant work per word); editing earlier text
 *   starts again from the whole text. A character model suggests the next character and is fed every one.
 * - Generate: a continuation of the typed text with temperature, seed, length and streaming (SSE).
 * - Score: the perplexity of a text.
 * - Offline: loads the `.lem` file (with a progress bar) and the runtime bundle (/v1/model.lem,
 *   /demo/runtime.js — or a `.lem` file you pick), and from then on everything runs with no server.
 *
 * The card is computed on the server (model_card.ts) and embedded as JSON; the page renders it, and renders
 * the card of a picked file with the same code (the runtime bundle exports modelCard).
 * @module
 */
import type { LstmModel } from "../model.ts";
import { modelCard } from "./model_card.ts";

// The page's parts are functions, not module constants: a constant computed by a call would be kept by
// esbuild in the worker bundle (which imports app.ts, and so this module, but never renders the page) and
// counted in its 150 KB runtime budget.

/** A favicon drawn inline (no request, so no 404 in the console): an LSTM cell's arrow on teal. */
const favicon = () =>
  "data:image/svg+xml," + encodeURIComponent(
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#0f766e"/>` +
      `<path d="M7 22h6l4-12h8" fill="none" stroke="#fff" stroke-width="3" stroke-linecap="round" stroke-linejoin="round"/>` +
      `<circle cx="25" cy="10" r="3" fill="#fde68a"/></svg>`,
  );

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
/** JSON inside a <script> element: no "</script>" can end it early. */
const scriptJson = (value: unknown) => JSON.stringify(value).replace(/</g, "\\u003c");

/** The generate box samples from this many most likely tokens (generate's `topK`). */
export const GENERATE_TOP_K = 40;

/**
 * The page's HTML for `model`. `offline`: whether this server offers the runtime bundle for in-page mode.
 */
export function demoPage(
  options: { model: Pick<LstmModel, "info" | "tokenizer">; offline: boolean },
): string {
  const card = modelCard(options.model);
  const icon = favicon();
  const name = escapeHtml(card.name);
  const characters = card.kind === "character";
  const unit = characters ? "character" : "word";
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>lstm-edge · ${name}</title>
<link rel="icon" href="${icon}">
<style>${style()}</style></head><body data-mode="server">
<header><h1><img src="${icon}" alt="" width="28" height="28"> lstm-edge <span>${name}</span></h1>
<p>A compressed LSTM language model, answering from this server — or from this page, offline.</p></header>
<main>
<section aria-labelledby="card-h" id="card"><h2 id="card-h">The model</h2>
<dl id="facts"></dl>
<h3>How it reads what you type</h3>
<ul id="rules"></ul>
<p id="alphabet" hidden></p>
</section>
<section aria-labelledby="type-h"><h2 id="type-h">Type</h2>
<label for="text">Your text — suggestions for the next ${unit} follow as you type (click one to use it)</label>
<textarea id="text" rows="3" autofocus placeholder="${characters ? "The " : "the stock market"}"></textarea>
<p class="label" id="suggest-label">Next ${unit}</p>
<ul id="suggestions" aria-labelledby="suggest-label" aria-live="polite"></ul>
<p class="hint" id="suggest-why"></p>
</section>
<section aria-labelledby="gen-h"><h2 id="gen-h">Generate</h2>
<p class="hint">Continues the text above, sampling each ${unit} from the model's ${GENERATE_TOP_K} most likely.</p>
<div class="row">
<label>Temperature <input id="temperature" type="number" value="0.7" min="0" max="10" step="0.1"></label>
<label>Seed <input id="seed" type="number" value="1" min="0" step="1"></label>
<label>Up to <input id="max-tokens" type="number" value="${
    characters ? 200 : 20
  }" min="1" max="200" step="1"> ${unit}s</label>
<label>At least <input id="min-tokens" type="number" value="${
    characters ? 0 : 5
  }" min="0" max="200" step="1"></label>
<label class="check"><input id="stream" type="checkbox" checked> Stream</label>
</div>
<button id="generate" type="button">Generate</button>
<output id="generated" for="text temperature seed"></output>
<p class="hint" id="gen-status"></p>
</section>
<section aria-labelledby="score-h"><h2 id="score-h">Score</h2>
<label for="score-text">A text to score: its perplexity (lower: the model expected it more)</label>
<textarea id="score-text" rows="2" placeholder="${
    characters ? "The end of the day." : "the company said it expects higher sales"
  }"></textarea>
<button id="score" type="button">Score</button>
<output id="score-result" for="score-text"></output>
</section>
<section aria-labelledby="offline-h"><h2 id="offline-h">Offline</h2>
${
    options.offline
      ? `<p class="hint">Download the model and the runtime into this page; from then on nothing is sent to the server.</p>
<div class="row"><button id="offline" type="button">Run in this page</button>
<label>or load a .lem file <input id="file" type="file" accept=".lem"></label></div>
<progress id="progress" aria-label="Model download" hidden></progress> <span class="hint" id="progress-text"></span>`
      : `<p class="hint">In-page (offline) mode is not offered by this server.</p>`
  }
</section>
</main>
<footer><p id="status">mode: server</p><p><a href="/openapi.json">API description (OpenAPI)</a></p></footer>
<script type="application/json" id="config">${scriptJson({ card, topK: GENERATE_TOP_K })}</script>
<script type="module">${script()}</script>
</body></html>
`;
}

const style = () => `
:root{--ink:#1f2933;--muted:#5b6875;--line:#d8dee4;--soft:#f3f6f8;--accent:#0f766e;color-scheme:light}
*{box-sizing:border-box}
body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--ink);margin:0;background:#fff}
header,main,footer{max-width:46rem;margin:0 auto;padding:0 1rem}
header{padding-top:1.5rem}
h1{font-size:1.6rem;margin:0;display:flex;align-items:center;gap:.5rem;flex-wrap:wrap}
h1 span{font-weight:400;color:var(--muted);font-size:1.1rem}
header p{margin:.25rem 0 0;color:var(--muted)}
section{border:1px solid var(--line);border-radius:.75rem;padding:.75rem 1rem 1rem;margin:1rem 0}
h2{font-size:1.15rem;margin:0 0 .5rem}
h3{font-size:1rem;margin:.75rem 0 .25rem}
label{display:block;margin:.25rem 0}
.row{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;margin:.5rem 0}
.row label{margin:0}
.check{display:flex;align-items:center;gap:.3rem}
textarea,input{font:inherit;border:1px solid #aab4bd;border-radius:.4rem;padding:.4rem}
textarea{width:100%;display:block}
input[type=number]{width:5.5rem}
input[type=file]{max-width:100%;border:0;padding:0}
button{font:inherit;border:1px solid var(--accent);background:var(--accent);color:#fff;border-radius:.4rem;padding:.35rem .9rem;cursor:pointer}
button:focus-visible,textarea:focus-visible,input:focus-visible{outline:3px solid #99d5cf;outline-offset:1px}
dl{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:.15rem 1rem;margin:0}
dt{color:var(--muted)}
dd{margin:0;overflow-wrap:anywhere}
#rules{padding-left:1.2rem;margin:.25rem 0}
#card-encodings{padding-left:1.2rem;margin:0}
#rules li{margin:.2rem 0}
.example{display:inline-flex;flex-wrap:wrap;gap:.25rem;align-items:center;margin-right:.75rem}
code{font:.9em ui-monospace,SFMono-Regular,Menlo,monospace;background:var(--soft);border:1px solid var(--line);border-radius:.3rem;padding:0 .3rem;white-space:pre-wrap;overflow-wrap:anywhere}
.example code{white-space:pre}
.label{font-weight:600;margin:.6rem 0 .25rem}
.hint{color:var(--muted);font-size:.9rem;margin:.25rem 0}
#suggestions{list-style:none;padding:0;margin:0;display:flex;flex-wrap:wrap;gap:.4rem;min-height:2.2rem}
#suggestions button{background:var(--soft);color:var(--ink);border:1px solid #aab4bd;border-radius:1rem;padding:.15rem .7rem}
#suggestions small{color:var(--muted)}
output{display:block;white-space:pre-wrap;overflow-wrap:anywhere;background:var(--soft);border-radius:.4rem;padding:.5rem;margin-top:.5rem;min-height:2.5rem}
progress{width:100%;margin-top:.5rem}
footer{color:var(--muted);font-size:.9rem;padding-bottom:2rem}
footer a{color:var(--accent)}
`;

// The page's script. Kept free of backticks and dollar-brace so that it can sit in this template as is.
const script = () =>
  String.raw`
const $ = (id) => document.getElementById(id);
const config = JSON.parse($("config").textContent);
const text = $("text"), list = $("suggestions"), status = $("status");
const SHOWN = 8;
let card = config.card;
let local = null;          // offline: { service, model }
let committed = "";        // text whose words (characters) have been fed
let asked = "";            // the unfinished word the shown suggestions complete
let state = null;          // server: encoded state; offline: LstmState
let predictions = [], matches = null;
let busy = false, dirty = false;
// A character model is fed every character and suggests the next one; a word model completes words.
const characters = () => card.kind === "character";
const unit = () => characters() ? "character" : "word";
const number = (n) => n.toLocaleString("en-US");
const shownToken = (t) => t === " " ? "␣" : t === "\n" ? "↵" : t;
const element = (tag, props = {}, ...children) => {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...children);
  return e;
};
const quoted = (s) => "“" + s + "”";

function renderCard() {
  const megabytes = (card.fileBytes / 1e6).toFixed(card.fileBytes < 1e7 ? 2 : 1);
  const facts = [
    ["Name", card.name, card.name],
    ["Vocabulary", number(card.vocabSize) + " " + unit() + "s", card.vocabSize],
    ["File", number(card.fileBytes) + " bytes (" + megabytes + " MB)", card.fileBytes],
    ["Layers", card.layers.map((l) => l.inputSize + " → " + l.hiddenSize).join(", ") + " (LSTM, input → hidden)", card.layers.length],
  ];
  const dl = $("facts");
  dl.replaceChildren(...facts.flatMap(([term, shown, value]) => {
    const dd = element("dd", { textContent: shown, id: "card-" + term.toLowerCase() });
    dd.dataset.value = String(value); // the number itself, for tests and scripts
    return [element("dt", { textContent: term }), dd];
  }));
  const encodings = element("ul", { id: "card-encodings" }, ...card.encodings.map((e) => {
    const li = element("li", {}, element("code", { textContent: e.encoding }),
      " " + e.tensors.join(", ") + " — " + number(e.bytes) + " bytes");
    li.dataset.encoding = e.encoding;
    return li;
  }));
  dl.append(element("dt", { textContent: "Encodings" }), element("dd", {}, encodings));
  $("rules").replaceChildren(...card.rules.map((rule) => {
    const li = element("li", {}, rule.text + " ");
    for (const ex of rule.examples) {
      const span = element("span", { className: "example" }, element("code", { textContent: ex.typed.replace(/\n/g, "↵") }), " reads as");
      span.dataset.typed = ex.typed;
      for (const token of ex.reads) {
        const chip = element("code", { textContent: shownToken(token) });
        chip.dataset.token = token;
        span.append(" ", chip);
      }
      li.append(span);
    }
    return li;
  }));
  const alphabet = $("alphabet");
  alphabet.hidden = !card.characters;
  if (card.characters) alphabet.textContent = "Its " + card.characters.length + " characters: " + card.characters.map(shownToken).join(" ");
}

async function post(path, body) {
  const res = await fetch(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  if (!res.ok) {
    const json = await res.json();
    throw new Error(json.error.code + ": " + json.error.message);
  }
  return res;
}

async function predictServer(words, k, prefix) {
  const body = { text: words, k };
  if (state) body.state = state;
  if (prefix) body.prefix = prefix;
  const json = await (await post("/v1/predict", body)).json();
  state = json.state;
  return json;
}

function predictLocal(words, k, prefix) {
  state ??= local.model.createState();
  return local.service.predict(words, state, k, false, prefix || undefined);
}

async function step() {
  const m = characters() ? [null, text.value, ""] : /^([\s\S]*\s)?(\S*)$/.exec(text.value);
  const complete = m[1] ?? "", partial = m[2];
  if (characters() ? complete === "" : complete.trim() === "") {
    committed = ""; asked = ""; state = null; predictions = []; matches = null;
  } else {
    // Only the words after what was already fed travel, with the state; an edit before them starts again.
    const continues = state !== null && complete.startsWith(committed);
    const words = continues ? complete.slice(committed.length) : complete;
    if (!continues) state = null;
    const fresh = !continues || (characters() ? words !== "" : words.trim() !== "" || words.includes("\n"));
    if (fresh || partial !== asked) {
      const answer = local ? predictLocal(words, SHOWN, partial) : await predictServer(words, SHOWN, partial);
      predictions = answer.predictions;
      matches = answer.matches ?? null;
      status.textContent = "mode: " + (local ? "offline (in this page)" : "server") + " · sent " +
        JSON.stringify(words) + (partial ? " completing " + JSON.stringify(partial) : "");
    }
    committed = complete;
    asked = partial;
  }
  render();
}

function render() {
  const completing = matches !== null; // predict answers matches only when it completed a prefix
  $("suggest-label").textContent = completing
    ? "Completions of " + quoted(asked) + " (" + number(matches) + " of " + number(card.vocabSize) + " words start with it)"
    : "Next " + unit();
  $("suggest-why").textContent = characters()
    ? "Every character, spaces included, is fed to the model; the list is the most likely next character."
    : completing
    ? "The last word has no space after it yet, so the list completes it: the words of the vocabulary that " +
      "start with " + quoted(asked) + ", most likely first (percent: the model's probability of each as the next word). " +
      "Type a space to see next words."
    : "The most likely next words after what you typed (percent: the model's probability).";
  list.replaceChildren(...predictions.slice(0, SHOWN).map((x) => {
    const b = element("button", { type: "button" }, shownToken(x.token) + " ", element("small", { textContent: (100 * x.prob).toFixed(1) + "%" }));
    b.dataset.token = x.token;
    b.onclick = () => {
      text.value = characters() ? text.value + x.token : text.value.replace(/\S*$/, "") + x.token + " ";
      text.focus();
      update();
    };
    return element("li", {}, b);
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

/** Server-sent events of a fetch response, one { event, data } at a time. */
async function* events(res) {
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = "message", data = "";
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data += line.slice(5);
      }
      yield { event, data: JSON.parse(data) };
    }
  }
}

async function generate() {
  if (characters() ? text.value === "" : text.value.trim() === "") throw new Error("type a text to continue first");
  const settings = {
    maxTokens: Number($("max-tokens").value),
    minTokens: Number($("min-tokens").value),
    temperature: Number($("temperature").value),
    topK: config.topK,
    seed: Number($("seed").value),
  };
  const stream = $("stream").checked;
  const out = $("generated"), info = $("gen-status");
  out.textContent = "";
  out.dataset.streamed = "0";
  delete document.body.dataset.generated;
  info.textContent = "generating…";
  // Streamed tokens are shown as they come; the final text replaces them (it is the same text).
  const shown = (t) => {
    out.textContent += (t.index > 0 && !characters() ? " " : "") + t.token;
    out.dataset.streamed = String(t.index + 1);
  };
  let result;
  if (local) {
    const fresh = local.model.createState();
    local.service.feed(text.value, fresh);
    result = await local.service.generate(fresh, settings, stream
      ? async (t) => { shown(t); await new Promise((r) => setTimeout(r, 0)); } // let the page paint
      : undefined);
  } else {
    const res = await post("/v1/generate", { prompt: text.value, ...settings, stream });
    if (!stream) result = await res.json();
    else {
      for await (const { event, data } of events(res)) {
        if (event === "token") shown(data);
        else if (event === "done") result = data;
        else if (event === "error") throw new Error(data.error.code + ": " + data.error.message);
      }
      if (!result) throw new Error("the stream ended without a result");
    }
  }
  out.textContent = result.text;
  info.textContent = number(result.tokens.length) + " " + unit() + "s, seed " + result.seed + ", " +
    (result.finishReason === "eos" ? "stopped at the end of a sentence" : "stopped at the length limit") +
    (stream ? ", streamed" : "");
  document.body.dataset.generated = String(settings.seed);
}

async function score() {
  const input = $("score-text").value;
  // Nothing to send for an empty box (the server would answer 400, which browsers log as an error).
  if (input.trim() === "") throw new Error("type a text to score");
  const result = local ? local.service.score(input) : await (await post("/v1/score", { text: input })).json();
  const out = $("score-result");
  out.textContent = "perplexity " + result.perplexity.toFixed(2) + " over " + number(result.tokens) + " " +
    (characters() ? "characters" : "tokens (<eos> ends each line)") + " after the first (log-probability " +
    result.logprob.toFixed(2) + ")" +
    (result.unknown ? "; " + result.unknown + " outside the vocabulary" : "");
  out.dataset.perplexity = String(result.perplexity);
}

/** The body of a fetch response, with the progress bar following Content-Length. */
async function download(res) {
  const progress = $("progress"), label = $("progress-text");
  const total = Number(res.headers.get("content-length")) || 0;
  progress.hidden = false;
  if (total) progress.max = total; else progress.removeAttribute("value");
  const reader = res.body.getReader();
  const chunks = [];
  let received = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    chunks.push(value);
    received += value.length;
    if (total) progress.value = received;
    label.textContent = (received / 1e6).toFixed(1) + (total ? " of " + (total / 1e6).toFixed(1) : "") + " MB";
  }
  const bytes = new Uint8Array(received);
  let at = 0;
  for (const c of chunks) { bytes.set(c, at); at += c.length; }
  return bytes;
}

async function goOffline(bytes) {
  status.textContent = "loading the runtime…";
  const runtime = await import("/demo/runtime.js");
  const model = await runtime.loadModel(bytes);
  local = { model, service: runtime.textService(model) };
  card = runtime.modelCard(model);
  renderCard();
  committed = ""; state = null; predictions = []; matches = null;
  status.textContent = "mode: offline (in this page) · " + model.info.name + " loaded, " + number(bytes.length) + " bytes";
  document.body.dataset.mode = "offline";
  await update();
}

const failed = (e) => { status.textContent = "error: " + e.message; };
text.addEventListener("input", update);
// A box's error is shown in the box, where the reader looks.
$("generate").addEventListener("click", () => generate().catch((e) => { $("gen-status").textContent = "error: " + e.message; }));
$("score").addEventListener("click", () => score().catch((e) => { $("score-result").textContent = "error: " + e.message; }));
$("offline")?.addEventListener("click", async () => {
  try {
    const res = await fetch("/v1/model.lem");
    if (!res.ok) throw new Error("cannot fetch the model: HTTP " + res.status);
    await goOffline(await download(res));
  } catch (e) { failed(e); }
});
$("file")?.addEventListener("change", async (ev) => {
  const file = ev.target.files[0];
  if (file) await goOffline(new Uint8Array(await file.arrayBuffer())).catch(failed);
});
renderCard();
update();
`;
