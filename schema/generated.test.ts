import assert from "node:assert/strict";
import {
  addTsExtensions,
  EXPECTED_FLATC_VERSION,
  flatcVersion,
  GENERATED_DIR,
  generateSchema,
} from "./generate.ts";

const version = await flatcVersion();
const ci = Deno.env.get("CI") === "true";
if (version === null && !ci) {
  console.log(
    "schema/generated.test.ts skipped: flatc is not installed (apt-get install flatbuffers-compiler)",
  );
}

async function readTree(dir: string, prefix = ""): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const entry of Deno.readDir(dir)) {
    const rel = prefix + entry.name;
    if (entry.isDirectory) {
      for (const [k, v] of await readTree(`${dir}/${entry.name}`, rel + "/")) out.set(k, v);
    } else out.set(rel, await Deno.readTextFile(`${dir}/${entry.name}`));
  }
  return out;
}

Deno.test({
  name: "schema/generated/ is what `deno task gen:schema` produces from lem.fbs",
  ignore: version === null && !ci,
  async fn() {
    assert.ok(version !== null, "flatc is not installed, and CI=true requires this check");
    const tmp = await Deno.makeTempDir({ prefix: "lem-gen-test-" });
    try {
      await generateSchema(tmp);
      const fresh = await readTree(tmp);
      const committed = await readTree(GENERATED_DIR).catch(() => new Map<string, string>());
      const hint = version === EXPECTED_FLATC_VERSION
        ? ""
        : ` (note: flatc ${version} is installed; the committed files come from flatc ${EXPECTED_FLATC_VERSION})`;
      const names = (m: Map<string, string>) => [...m.keys()].sort().join(", ");
      assert.equal(
        names(committed),
        names(fresh),
        `stale: run deno task gen:schema (file list differs)${hint}`,
      );
      for (const [file, text] of fresh) {
        assert.ok(committed.get(file) === text, `stale: run deno task gen:schema (${file} differs)${hint}`);
      }
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});

Deno.test("addTsExtensions() adds .ts to relative specifiers only", () => {
  assert.equal(
    addTsExtensions(
      "import * as flatbuffers from 'flatbuffers';\nimport { A } from '../lem/a';\nexport { B } from './lem/b.ts';",
    ),
    "import * as flatbuffers from 'flatbuffers';\nimport { A } from '../lem/a.ts';\nexport { B } from './lem/b.ts';",
  );
});
