import assert from "node:assert/strict";
import { needs } from "../../tests/helpers.ts";
import { exists, startServer } from "../entries/testing.ts";
import { loadTestModel, writeTestModel } from "./test_model.ts";
import { TextService } from "./service.ts";

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

/** The 8 suggestions the page should show after `text` with the partial word `partial`. */
async function expected(text: string, partial = ""): Promise<string[]> {
  const { model } = await loadTestModel();
  const service = new TextService(model, { maxTextTokens: 1000 });
  const { predictions } = service.predict(text, model.createState(), 50);
  return predictions.map((p) => p.token).filter((t) => t.startsWith(partial)).slice(0, 8);
}

Deno.test({
  name:
    "demo page in headless Chromium: live suggestions sending only new words with the state, then offline",
  ...needs(exists(CHROMIUM), `${CHROMIUM} is absent (Debian package chromium)`),
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const { chromium } = await import("playwright-core");
    const modelPath = await writeTestModel();
    const server = await startServer(
      Deno.execPath(),
      ["run", "-A", new URL("../entries/deno.ts", import.meta.url).pathname, modelPath, "--port", "0"],
      (out) => /listening on (http:\/\/127\.0\.0\.1:\d+)\//.exec(out)?.[1],
    );
    const profile = await Deno.makeTempDir({ prefix: "lstm-edge-chromium-" });
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: FLAGS,
      timeout: 30000,
    });
    try {
      const page = context.pages()[0] ?? await context.newPage();
      page.setDefaultTimeout(15000);
      const sent: { text: string; state?: string }[] = [];
      page.on("request", (r) => {
        if (r.url().endsWith("/v1/predict")) sent.push(JSON.parse(r.postData() ?? "{}"));
      });
      const suggestions = async () =>
        await Promise.all(
          (await page.locator("#suggestions button").all()).map((b) => b.getAttribute("data-token")),
        );
      const waitFor = async (want: string[]) => {
        const shown =
          `[...document.querySelectorAll("#suggestions button")].map((b) => b.dataset.token).join(" ")`;
        await page.waitForFunction(`${shown} === ${JSON.stringify(want.join(" "))}`);
      };

      await page.goto(server.url + "/");
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
    } finally {
      await context.close();
      await server.stop();
      await Deno.remove(profile, { recursive: true }).catch(() => {});
      await Deno.remove(modelPath);
    }
  },
});
