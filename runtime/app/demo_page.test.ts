import assert from "node:assert/strict";
import { ML5_CHARRNN, needs, writeMl5Lem } from "../../tests/helpers.ts";
import { exists, serveModel, type Server, serveWorker } from "../entries/testing.ts";
import { buildWorker } from "../entries/build_worker.ts";
import { stopBundler } from "../entries/bundle.ts";
import { workerdBinary } from "../entries/workerd.ts";
import { TextService } from "./service.ts";
import { GENERATE_TOP_K } from "./demo_page.ts";
import { LstmModel } from "../model.ts";
import { assertReadableText, CHARACTER_GENERATE, generateLocally } from "./http_suite.ts";

const CHROMIUM = "/usr/bin/chromium";
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
/** A real PTB model that ships with the repository (re-trained, 20× smaller than f32): PTB's vocabulary. */
const PTB_MODEL = new URL("../../models/ptb-small-20x.lem", import.meta.url).pathname;
/** Where the screenshots go for review (git-ignored): the same path on every run, printed by the test. */
const SCREENSHOTS = new URL("../../dist/demo-screenshots/", import.meta.url).pathname;

/**
 * The 8 suggestions the page should show after `text` with the unfinished word `partial`: the next words,
 * or the 8 most likely words that complete `partial` over the whole vocabulary — and how many match.
 */
function expected(model: LstmModel, text: string, partial = ""): { tokens: string[]; matches?: number } {
  const service = new TextService(model, { maxTextTokens: 1000 });
  const { predictions, matches } = service.predict(text, model.createState(), 8, false, partial || undefined);
  return { tokens: predictions.map((p) => p.token), matches };
}

type Page = Awaited<ReturnType<Awaited<ReturnType<typeof launchChromium>>["newPage"]>>;

async function launchChromium(profile: string) {
  const { chromium } = await import("playwright-core");
  return await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    timeout: 30000,
    viewport: { width: 1200, height: 900 },
  });
}

/**
 * Starts a server (`deno task serve`, or workerd), opens its demo page in headless Chromium and runs `fn`; then asserts that the page logged no console error, threw nothing and got no HTTP error
 * (a missing favicon is one), and closes the browser and stops the server.
 */
async function onDemoPage(
  start: () => Promise<Server>,
  fn: (page: Page, server: Server) => Promise<void>,
): Promise<void> {
  const server = await start();
  const profile = await Deno.makeTempDir({ prefix: "lstm-edge-chromium-" });
  const context = await launchChromium(profile);
  const problems: string[] = [];
  try {
    const page = context.pages()[0] ?? await context.newPage();
    page.setDefaultTimeout(20000);
    page.on("console", (m) => m.type() === "error" && problems.push(`console: ${m.text()}`));
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    page.on("requestfailed", (r) => problems.push(`failed: ${r.url()} ${r.failure()?.errorText}`));
    page.on("response", (r) => r.status() >= 400 && problems.push(`HTTP ${r.status()}: ${r.url()}`));
    await page.goto(server.url + "/");
    await fn(page, server);
    assert.deepEqual(problems, [], "no console errors, page errors or failed requests");
  } finally {
    await context.close();
    await server.stop();
    await Deno.remove(profile, { recursive: true }).catch(() => {});
  }
}

/** Fails at once when the page reports an error in its status line (it logs none to the console). */
async function assertNoPageError(page: Page): Promise<void> {
  const status = await page.textContent("#status");
  assert.doesNotMatch(status ?? "", /^error/, `the page says: ${status}`);
}

/** Waits until the page shows exactly these suggestions, in this order. */
async function waitForSuggestions(page: Page, want: string[]): Promise<void> {
  const shown =
    `JSON.stringify([...document.querySelectorAll("#suggestions button")].map((b) => b.dataset.token))`;
  await page.waitForFunction(`${shown} === ${JSON.stringify(JSON.stringify(want))}`);
  await assertNoPageError(page);
}

/**
 * The model card against the server's GET /v1/model (name, vocabulary size, file bytes, encodings) and
 * every example of a tokenizer rule against the library's tokenizer: what the page says `typed` reads as
 * is what the model reads.
 */
async function checkCard(page: Page, model: LstmModel, info: Record<string, unknown>): Promise<void> {
  const value = (id: string) => page.getAttribute(`#card-${id}`, "data-value");
  assert.equal(await value("name"), info.name);
  assert.equal(await value("vocabulary"), String(info.vocabSize));
  assert.equal(await value("file"), String(info.fileBytes));
  const tensors = info.tensors as { encoding: string }[];
  const encodings = await page.$$eval("#card-encodings li", (lis) => lis.map((li) => li.dataset.encoding));
  assert.deepEqual(encodings.sort(), [...new Set(tensors.map((t) => t.encoding))].sort());
  const examples = await page.$$eval("#rules .example", (spans) =>
    spans.map((s) => ({
      typed: s.dataset.typed!,
      reads: [...s.querySelectorAll("code[data-token]")].map((c) => c.getAttribute("data-token")!),
    })));
  assert.ok(examples.length >= 1, "the rules come with examples");
  const t = model.tokenizer;
  for (const { typed, reads } of examples) {
    const tokens = t.encode(typed, { endWithEos: false }).ids.map((id) => t.vocab[id]);
    assert.deepEqual(reads, tokens, `the card says ${JSON.stringify(typed)} reads as ${reads.join(" ")}`);
  }
  // Each rule the tokenizer has is shown by an example of it (derived from the model's rules, not typed here).
  const shown = examples.flatMap((e) => e.reads);
  if (t.rules.numberToken) assert.ok(shown.includes(t.rules.numberToken), "a number becomes its token");
  if (t.unkId >= 0) assert.ok(shown.includes(t.vocab[t.unkId]), "an unknown word becomes <unk>");
  if (t.rules.lowercase) {
    assert.ok(
      examples.some((e) => e.typed !== e.typed.toLowerCase() && e.reads.includes(e.typed.toLowerCase())),
    );
  }
}

/** Sets the generate box's controls, clicks Generate and returns what the page shows when it is done. */
async function generateOnPage(
  page: Page,
  settings: { maxTokens: number; minTokens: number; temperature: number; seed: number; stream: boolean },
): Promise<{ text: string; streamed: number }> {
  await page.fill("#temperature", String(settings.temperature));
  await page.fill("#seed", String(settings.seed));
  await page.fill("#max-tokens", String(settings.maxTokens));
  await page.fill("#min-tokens", String(settings.minTokens));
  await page.setChecked("#stream", settings.stream);
  await page.click("#generate");
  await page.waitForSelector(`body[data-generated="${settings.seed}"]`);
  await assertNoPageError(page);
  return {
    text: (await page.textContent("#generated"))!,
    streamed: Number(await page.getAttribute("#generated", "data-streamed")),
  };
}

/** Scores `text` in the page's score box; the perplexity it shows (exactly, from its data attribute). */
async function scoreOnPage(page: Page, text: string): Promise<number> {
  await page.evaluate(`delete document.getElementById("score-result").dataset.perplexity`);
  await page.fill("#score-text", text);
  await page.click("#score");
  await page.waitForSelector("#score-result[data-perplexity]");
  await assertNoPageError(page);
  return Number(await page.getAttribute("#score-result", "data-perplexity"));
}

/**
 * Saves full-page screenshots at 1200 px and 390 px (a phone) for review, after checking that at 390 px
 * nothing is wider than the screen (no sideways scrolling). Prints the paths.
 */
async function screenshots(page: Page, name: string): Promise<void> {
  await Deno.mkdir(SCREENSHOTS, { recursive: true });
  for (const width of [1200, 390]) {
    await page.setViewportSize({ width, height: width > 600 ? 900 : 844 });
    const overflow = await page.evaluate<number>(`document.documentElement.scrollWidth - innerWidth`);
    assert.ok(overflow <= 0, `at ${width} px the page is ${overflow} px wider than the screen`);
    const path = `${SCREENSHOTS}${name}-${width}.png`;
    await page.screenshot({ path, fullPage: true });
    console.log(`screenshot: ${path}`);
  }
}

const serverInfo = async (server: Server) => await (await fetch(server.url + "/v1/model")).json();
const serverScore = async (server: Server, text: string) =>
  await (await fetch(server.url + "/v1/score", { method: "POST", body: JSON.stringify({ text }) })).json();

/**
 * The PTB walk through every control of the page served by `server`: the card, next words and labelled
 * completions (only new words sent, with the state), streamed and whole generation, scoring, an empty
 * box's message, then the download with progress and the same offline, with the server stopped.
 */
async function everyControlWithPtb(page: Page, server: Server, model: LstmModel): Promise<void> {
  const sent: Record<
    string,
    { text?: string; prompt?: string; state?: string; prefix?: string; stream?: boolean }[]
  > = {};
  page.on("request", (r) => {
    const path = new URL(r.url()).pathname;
    if (r.method() === "POST") (sent[path] ??= []).push(JSON.parse(r.postData() ?? "{}"));
  });
  const label = () => page.textContent("#suggest-label");
  const waitFor = (want: { tokens: string[] }) => waitForSuggestions(page, want.tokens);
  const info = await serverInfo(server);
  await checkCard(page, model, info);
  // Empty boxes: the page says what is missing, in the box, and sends nothing.
  await page.click("#generate");
  await page.click("#score");
  assert.equal(await page.textContent("#gen-status"), "error: type a text to continue first");
  assert.equal(await page.textContent("#score-result"), "error: type a text to score");
  assert.deepEqual(sent, {});

  await page.locator("#text").pressSequentially("The stock ", { delay: 10 });
  await waitFor(expected(model, "The stock "));
  assert.equal(await label(), "Next word");
  await page.locator("#text").pressSequentially("market ", { delay: 10 });
  await waitFor(expected(model, "The stock market "));
  const last = sent["/v1/predict"].at(-1)!;
  assert.equal(last.text, "market ", `the page sent ${JSON.stringify(last)}`);
  assert.ok(last.state, "the page sent its state");

  // An unfinished word: completions, labelled with the word and how many vocabulary entries match.
  await page.locator("#text").pressSequentially("r", { delay: 10 });
  const completions = expected(model, "The stock market ", "r");
  await waitFor(completions);
  assert.ok(completions.tokens.every((t) => t.startsWith("r")));
  assert.equal(
    await label(),
    `Completions of “r” (${completions.matches!.toLocaleString("en-US")} of ${
      model.info.vocabSize.toLocaleString("en-US")
    } words start with it)`,
  );
  assert.match(await page.textContent("#suggest-why") ?? "", /no space after it yet/);
  const completing = sent["/v1/predict"].at(-1)!;
  assert.deepEqual([completing.text, completing.prefix], ["", "r"], "the server completes the word");
  assert.ok(completing.state, "with the state of the words before");
  await page.locator("#suggestions button").first().click(); // completes the word and a space
  const chosen = (await page.inputValue("#text")).trim().split(/\s+/).at(-1)!;
  assert.equal(chosen, completions.tokens[0]);
  await waitFor(expected(model, `The stock market ${chosen} `));
  assert.equal(await label(), "Next word");

  // Generate, streamed (token events shown one by one) and whole, each as the library generates it.
  const prompt = await page.inputValue("#text");
  const streamed = { maxTokens: 12, minTokens: 5, temperature: 0.8, seed: 3, stream: true };
  const want = await generateLocally(model, prompt, { ...streamed, topK: GENERATE_TOP_K });
  const got = await generateOnPage(page, streamed);
  assert.equal(got.text, want.text);
  assert.equal(got.streamed, want.tokens.length, "every token arrived as its own event");
  assert.ok(want.tokens.length >= streamed.minTokens);
  assert.equal(sent["/v1/generate"].at(-1)!.stream, true);
  const whole = { maxTokens: 20, minTokens: 0, temperature: 1.2, seed: 4, stream: false };
  const wantWhole = await generateLocally(model, prompt, { ...whole, topK: GENERATE_TOP_K });
  assert.deepEqual(await generateOnPage(page, whole), { text: wantWhole.text, streamed: 0 });

  const scored = "the company said it expects higher sales";
  assert.equal(await scoreOnPage(page, scored), (await serverScore(server, scored)).perplexity);

  // Offline: download the model (the progress bar follows Content-Length), stop the server, go on.
  await page.click("#offline");
  await page.waitForSelector("body[data-mode=offline]");
  const progress = await page.evaluate(
    `(({ value, max }) => [value, max])(document.getElementById("progress"))`,
  );
  assert.deepEqual(
    progress,
    [info.fileBytes, info.fileBytes],
    "the progress bar ends full, at the file's size",
  );
  const mb = (info.fileBytes / 1e6).toFixed(1);
  assert.equal(await page.textContent("#progress-text"), `${mb} of ${mb} MB`);
  await server.stop();
  const before = Object.values(sent).flat().length;
  await page.locator("#text").pressSequentially("the ", { delay: 10 });
  await waitFor(expected(model, `${prompt}the `));
  const offline = { maxTokens: 10, minTokens: 3, temperature: 0.7, seed: 5, stream: true };
  const wantOffline = await generateLocally(model, `${prompt}the `, { ...offline, topK: GENERATE_TOP_K });
  const gotOffline = await generateOnPage(page, offline);
  assert.equal(gotOffline.text, wantOffline.text, "the same seed gives the same text offline");
  assert.equal(gotOffline.streamed, wantOffline.tokens.length);
  const library = new TextService(model, { maxTextTokens: 1000 }).score(scored).perplexity;
  const inPage = await scoreOnPage(page, scored);
  assert.ok(
    Math.abs(inPage - library) <= 1e-9 * library,
    `offline perplexity ${inPage}, library ${library}`,
  );
  assert.equal(Object.values(sent).flat().length, before, "no request to the server in offline mode");
  assert.match(await page.textContent("#status") ?? "", /offline/);
  await checkCard(page, model, info); // rendered again, in the page, by the runtime bundle's modelCard
}

Deno.test({
  name: "demo page in headless Chromium with PTB under deno task serve: model card, labelled completions " +
    "and next words sending only new words with the state, streamed and whole generation, scoring, then " +
    "offline after a download with progress",
  ...needs(exists(CHROMIUM), `${CHROMIUM} is absent (Debian package chromium)`),
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const model = await LstmModel.load(await Deno.readFile(PTB_MODEL));
    await onDemoPage(() => serveModel(PTB_MODEL), async (page, server) => {
      await everyControlWithPtb(page, server, model);
      await screenshots(page, "ptb-small-20x");
    });
  },
});

Deno.test({
  name: "demo page in headless Chromium with PTB under workerd (the page rendered by build:worker): " +
    "every control as under Deno",
  ...needs(
    exists(CHROMIUM) && workerdBinary() !== undefined,
    `${CHROMIUM} (Debian package chromium) or workerd (npm workerd: deno install) is absent`,
  ),
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const model = await LstmModel.load(await Deno.readFile(PTB_MODEL));
    const dir = await Deno.makeTempDir({ prefix: "lstm-edge-demo-worker-" });
    try {
      await buildWorker(PTB_MODEL, dir);
      await stopBundler();
      await onDemoPage(() => serveWorker(dir), (page, server) => everyControlWithPtb(page, server, model));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "demo page in headless Chromium with ml5's dubois char-RNN: its card and characters, next-character " +
    "suggestions, streamed generation and scoring, then a .lem file picked for offline: readable text",
  ...needs(
    exists(CHROMIUM) && exists(ML5_CHARRNN.pathname),
    `${CHROMIUM} (Debian package chromium) or ${ML5_CHARRNN.pathname} (ml5.js's char-RNNs) is absent`,
  ),
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const modelPath = await writeMl5Lem("dubois");
    const model = await LstmModel.load(await Deno.readFile(modelPath));
    try {
      await onDemoPage(() => serveModel(modelPath), async (page, server) => {
        const info = await serverInfo(server);
        await checkCard(page, model, info);
        const alphabet = (await page.textContent("#alphabet"))!;
        const heading = `Its ${model.info.vocabSize} characters: `;
        assert.ok(alphabet.startsWith(heading), alphabet);
        assert.equal(
          alphabet.slice(heading.length).split(" ").length,
          model.info.vocabSize,
          "each one shown",
        );

        const { prompt, maxTokens, temperature, seed } = CHARACTER_GENERATE;
        await page.locator("#text").pressSequentially(prompt, { delay: 10 });
        const next = expected(model, prompt).tokens;
        assert.ok(next.every((t) => [...t].length === 1), "suggestions are characters");
        await waitForSuggestions(page, next);
        assert.equal(await page.textContent("#suggest-label"), "Next character");

        const settings = { maxTokens, temperature, seed, minTokens: 0, stream: true };
        const want = (await generateLocally(model, prompt, { ...settings, topK: GENERATE_TOP_K })).text;
        const got = await generateOnPage(page, settings);
        assert.equal(got.text, want, "streamed from the server, as the library generates it");
        assert.equal(got.streamed, [...want].length, "one event per character");
        const scored = "The end of the day.\n";
        assert.equal(await scoreOnPage(page, scored), (await serverScore(server, scored)).perplexity);

        // Offline from a picked file: the card is the file's, and nothing more goes to the server.
        await page.setInputFiles("#file", modelPath);
        await page.waitForSelector("body[data-mode=offline]");
        await server.stop();
        await checkCard(page, model, info);
        const offline = await generateOnPage(page, { ...settings, stream: false });
        assert.equal(offline.text, want, "the same seed gives the same text offline");
        assertReadableText(offline.text);
        await screenshots(page, "dubois");
      });
    } finally {
      await Deno.remove(modelPath);
    }
  },
});
