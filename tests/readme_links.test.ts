/**
 * The README's relative links (the method table, docs, sources) point at files that exist, and its links
 * into SPEC.md and to its own sections at headings that exist: a rename cannot leave the front door
 * pointing nowhere.
 */
import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);

/** The relative targets of markdown links `[text](target)` in `markdown`. */
export function relativeLinks(markdown: string): string[] {
  return [...markdown.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]).filter((t) => !/^[a-z]+:/.test(t));
}

/** GitHub's anchor of a heading: lowercased, spaces to dashes, punctuation dropped. */
export function headingAnchor(heading: string): string {
  return heading.toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, "").trim().replace(/ /g, "-");
}

Deno.test("headingAnchor() follows GitHub's rule", () => {
  assert.equal(headingAnchor("`Metadata` and `Metric`"), "metadata-and-metric");
  assert.equal(headingAnchor("SparseCsr"), "sparsecsr");
});

Deno.test("every relative link in README.md names an existing file, and SPEC.md anchors exist", () => {
  const readme = Deno.readTextFileSync(new URL("README.md", ROOT));
  const links = relativeLinks(readme);
  assert.ok(links.length >= 20, `only ${links.length} links found`);
  const missing: string[] = [];
  for (const link of links) {
    const [path, anchor] = link.split("#");
    const url = new URL(path || "README.md", ROOT); // "#anchor": a heading of the README itself
    try {
      Deno.statSync(url);
    } catch {
      missing.push(link);
      continue;
    }
    if (anchor) {
      const headings = Deno.readTextFileSync(url).split("\n").filter((l) => l.startsWith("#"))
        .map((l) => headingAnchor(l.replace(/^#+\s*/, "")));
      if (!headings.includes(anchor)) missing.push(link);
    }
  }
  assert.deepEqual(missing, []);
});
