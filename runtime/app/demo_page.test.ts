import assert from "node:assert/strict";
import { needs } from "../../tests/helpers.ts";
import { exists, serveModel, type Server } from "../entries/testing.ts";
import { loadTestModel, writeTestModel } from "./test_model.ts";
import { TextService } from "./service.ts";
import { LstmModel } from "../model.ts";
import { ML5_CHARRNN, writeMl5Lem } from "../../tests/helpers.ts";
import { assertReadableText, CHARACTER_GENERATE, generateCharactersLocally } from "./http_suite.ts";

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

/**
 * The 8 suggestions the page should show after `text` with the unfinished word `partial`: the next words,
 * or the 8 most likely words that complete `partial` over the whole vocabulary.
 */
async function expected(text: string, partial = "", model?: LstmModel): Promise<string[]> {
  model ??= (await loadTestModel()).model;
  const service = new TextService(model, { maxTextTokens: 1000 });
  const { predictions } = service.predict(text, model.createState(), 8, false, partial || undefined);
  return predictions.map((p) => p.token);
}

type Page = Awaited<ReturnType<Awaited<ReturnType<typeof launchChromium>>["newPage"]>>;

async function launchChromium(profile: string) {
  const { chromium } = await import("playwright-core");
  return await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    timeout: 30000,
  });
}

/**
 * Serves the model file at `modelPath` with `deno task serve`, opens the demo page in headless Chromium
 * and runs `fn`; then closes the browser, stops the server and removes the model file.
 */
async function onDemoPage(
  modelPath: string,
  fn: (page: Page, server: Server) => Promise<void>,
): Promise<void> {
  const server = await serveModel(modelPath);
  const profile = await Deno.makeTempDir({ prefix: "lstm-edge-chromium-" });
  const context = await launchChromium(profile);
  try {
    const page = context.pages()[0] ?? await context.newPage();
    page.setDefaultTimeout(15000);
    await page.goto(server.url + "/");
    await fn(page, server);
  } finally {
    await context.close();
    await server.stop();
    await Deno.remove(profile, { recursive: true }).catch(() => {});
    await Deno.remove(modelPath);
  }
}

/** Waits until the page shows exactly these suggestions, in this order. */
async function waitForSuggestions(page: Page, want: string[]): Promise<void> {
  const shown =
    `JSON.stringify([...document.querySelectorAll("#suggestions button")].map((b) => b.dataset.token))`;
  await page.waitForFunction(`${shown} === ${JSON.stringify(JSON.stringify(want))}`);
}

Deno.test({
  name:
    "demo page in headless Chromium: live suggestions sending only new words with the state, then offline",
  ...needs(exists(CHROMIUM), `${CHROMIUM} is absent (Debian package chromium)`),
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await onDemoPage(await writeTestModel(), async (page, server) => {
      const sent: { text: string; state?: string; prefix?: string }[] = [];
      page.on("request", (r) => {
        if (r.url().endsWith("/v1/predict")) sent.push(JSON.parse(r.postData() ?? "{}"));
      });
      const suggestions = async () =>
        await Promise.all(
          (await page.locator("#suggestions button").all()).map((b) => b.getAttribute("data-token")),
        );
      const waitFor = (want: string[]) => waitForSuggestions(page, want);

      await page.locator("#text").pressSequentially("The stock ", { delay: 10 });
      await waitFor(await expected("The stock "));
      await page.locator("#text").pressSequentially("market ", { delay: 10 });
      await waitFor(await expected("The stock market "));
      const last = sent.at(-1)!;
      assert.equal(last.text, "market ", `the page sent ${JSON.stringify(last)}`);
      assert.ok(last.state, "the page sent its state");
      await page.locator("#text").pressSequentially("r", { delay: 10 });
      await waitFor(await expected("The stock market ", "r"));
      assert.ok((await suggestions()).every((t) => t!.startsWith("r")));
      const completing = sent.at(-1)!;
      assert.deepEqual([completing.text, completing.prefix], ["", "r"], "the server completes the word");
      assert.ok(completing.state, "with the state of the words before");
      await page.locator("#suggestions button").first().click(); // completes the word and a space
      const chosen = (await page.inputValue("#text")).trim().split(/\s+/).at(-1)!;
      await waitFor(await expected(`The stock market ${chosen} `));

      // Offline: load the model and the runtime into the page, stop the server, keep typing.
      await page.click("#offline");
      await page.waitForSelector("body[data-mode=offline]");
      await server.stop();
      const before = sent.length;
      await page.locator("#text").pressSequentially("the ", { delay: 10 });
      await waitFor(await expected(`The stock market ${chosen} the `));
      assert.equal(sent.length, before, "no request to the server in offline mode");
      assert.match(await page.textContent("#status") ?? "", /offline/);
    });
  },
});

Deno.test({
  name:
    "demo page in headless Chromium with ml5's dubois char-RNN: next-character suggestions, then offline " +
    "generation of readable text with spaces and newlines",
  ...needs(
    exists(CHROMIUM) && exists(ML5_CHARRNN.pathname),
    `${CHROMIUM} (Debian package chromium) or ${ML5_CHARRNN.pathname} (ml5.js's char-RNNs) is absent`,
  ),
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const modelPath = await writeMl5Lem("dubois");
    const model = await LstmModel.load(await Deno.readFile(modelPath));
    await onDemoPage(modelPath, async (page, server) => {
      await page.locator("#text").pressSequentially(CHARACTER_GENERATE.prompt, { delay: 10 });
      const next = await expected(CHARACTER_GENERATE.prompt, "", model);
      assert.ok(next.every((t) => [...t].length === 1), "suggestions are characters");
      await waitForSuggestions(page, next);

      await page.click("#offline");
      await page.waitForSelector("body[data-mode=offline]");
      await server.stop();
      await page.fill("#seed", String(CHARACTER_GENERATE.seed));
      await page.click("#generate");
      await page.waitForSelector(`body[data-generated="${CHARACTER_GENERATE.seed}"]`);
      const generated = await page.textContent("#generated");
      assert.equal(
        generated,
        await generateCharactersLocally(model),
        "the same seed gives the same text offline",
      );
      assertReadableText(generated!);
    });
  },
});
