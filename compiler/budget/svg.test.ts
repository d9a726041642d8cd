import assert from "node:assert/strict";
import { escapeXml, paretoSvg, type PlotPoint } from "./svg.ts";

/**
 * A small XML well-formedness check (no DOMParser in Deno): one root, every tag closed in order, quoted
 * attributes without duplicates, only the five predefined entities (or numeric ones) in text.
 */
function assertWellFormed(xml: string): void {
  const stack: string[] = [];
  let roots = 0;
  const token = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|<!--[\s\S]*?-->|<\?[\s\S]*?\?>/g;
  let at = 0;
  for (const m of xml.matchAll(token)) {
    const text = xml.slice(at, m.index);
    assert.doesNotMatch(text, /<|>/, `stray angle bracket before offset ${m.index}: ${JSON.stringify(text)}`);
    assert.doesNotMatch(text, /&(?!(amp|lt|gt|quot|apos|#\d+);)/, `bad entity in ${JSON.stringify(text)}`);
    at = m.index! + m[0].length;
    if (!m[2]) continue;
    const [, closing, name, attrs, selfClosing] = m;
    const names = [...attrs.matchAll(/([\w:-]+)="/g)].map((a) => a[1]);
    assert.equal(new Set(names).size, names.length, `duplicate attribute in <${name}${attrs}>`);
    for (const v of attrs.matchAll(/="([^"]*)"/g)) {
      assert.doesNotMatch(v[1], /&(?!(amp|lt|gt|quot|apos|#\d+);)/, `bad entity in attribute ${v[1]}`);
    }
    if (closing) {
      assert.equal(stack.pop(), name, `</${name}> closes the wrong element`);
    } else if (!selfClosing) {
      if (stack.length === 0) roots++;
      stack.push(name);
    } else if (stack.length === 0) roots++;
  }
  assert.equal(xml.slice(at).trim(), "", "text after the root element");
  assert.deepEqual(stack, [], "unclosed elements");
  assert.equal(roots, 1, "exactly one root element");
}

const points: PlotPoint[] = [
  { bytes: 18_784_880, perplexity: 104.02, msPerToken: 1.0, kind: "baseline", label: "all f32" },
  {
    bytes: 2_969_104,
    perplexity: 106.62,
    msPerToken: 1.67,
    kind: "chosen",
    label: "emb=int4:g128 <&> dec=int4:g32",
  },
  { bytes: 2_495_840, perplexity: 108.38, msPerToken: 1.43, kind: "frontier" },
  { bytes: 4_391_440, perplexity: 104.05, msPerToken: 1.26, kind: "frontier" },
  { bytes: 2_950_000, perplexity: 107.5, msPerToken: 1.5, kind: "candidate" },
  // On the three-objective frontier (fastest) but not on the size/perplexity line.
  { bytes: 2_900_000, perplexity: 109, msPerToken: 0.3, kind: "frontier" },
  { bytes: 16_000_000, perplexity: 665.0, kind: "single", label: "tt" },
  { bytes: 17_000_000, perplexity: 105.3, kind: "single" },
];

Deno.test("paretoSvg() is well-formed SVG with every point, the frontier, the star and the target line", () => {
  const svg = paretoSvg(points, { title: "ptb-small <test>", targetBytes: 3_000_000, maxPerplexity: 109 });
  assertWellFormed(svg);
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  const circles = [...svg.matchAll(/<circle class="point (\w+)"[^>]*data-bytes="(\d+)"/g)];
  const stars = [...svg.matchAll(/<polygon class="point chosen"[^>]*data-bytes="(\d+)"/g)];
  const clipped = [...svg.matchAll(/<path class="point (\w+) clipped"/g)];
  assert.equal(stars.length, 1);
  assert.equal(stars[0][1], "2969104");
  assert.equal(clipped.length, 1, "the 665 perplexity point is clipped to the top edge");
  assert.equal(circles.length + stars.length + clipped.length, points.length);
  for (const p of points.filter((p) => p.perplexity < 600 && p.kind !== "chosen")) {
    assert.ok(circles.some((c) => c[2] === String(p.bytes) && c[1] === p.kind), `point ${p.bytes} drawn`);
  }
  const line = /<polyline class="frontier"[^>]*points="([^"]+)"/.exec(svg);
  assert.ok(line, "frontier line");
  const joined = line[1].split(" ").map((xy) => xy.split(",").map(Number));
  assert.equal(joined.length, 3, "the size/perplexity staircase of the frontier and chosen points");
  for (let i = 1; i < joined.length; i++) {
    assert.ok(
      joined[i][0] > joined[i - 1][0] && joined[i][1] > joined[i - 1][1],
      "right and down (SVG y grows down)",
    );
  }
  assert.match(svg, /<line class="target"/);
  assert.match(svg, /target 3 MB/);
  assert.match(svg, /<line class="ppl-limit"/);
  assert.match(svg, /1\.67 ms/);
  assert.match(svg, /ptb-small &lt;test&gt;/);
  assert.match(svg, /emb=int4:g128 &lt;&amp;&gt; dec=int4:g32/);
});

Deno.test("paretoSvg() draws an empty or single-point plot without NaN coordinates", () => {
  for (const pts of [[], [points[1]]]) {
    const svg = paretoSvg(pts, {});
    assertWellFormed(svg);
    assert.doesNotMatch(svg, /NaN|Infinity/);
  }
});

Deno.test("escapeXml() escapes the five XML specials", () => {
  assert.equal(escapeXml(`a<b>&"c'`), "a&lt;b&gt;&amp;&quot;c&apos;");
});

Deno.test("the well-formedness check itself rejects broken XML", () => {
  for (
    const bad of [
      "<svg><g></svg>",
      "<svg></svg><svg></svg>",
      '<svg a="1" a="2"/>',
      "<svg>a & b</svg>",
      "<svg>a < b</svg>",
    ]
  ) {
    assert.throws(() => assertWellFormed(bad), assert.AssertionError, bad);
  }
  assertWellFormed('<svg a="&amp;"><g/><text>x &lt; y</text></svg>');
});
