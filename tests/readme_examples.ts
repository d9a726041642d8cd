/**
 * `deno task readme [--check]`: runs every example of README.md and writes what each command printed under
 * it. tests/readme_examples.test.ts runs the same examples and fails where README.md shows something else.
 *
 * Every ```sh and ```ts block of README.md comes after a comment (on the line before, or the one before a
 * blank line) that says how it runs; GitHub does not show it:
 *
 * - `<!-- example: sh -->` runs the block in bash, in a copy of the repository (below);
 *   `serve=MODEL.lem` first starts the server of `deno task serve MODEL.lem` (runtime/entries/deno.ts; one
 *   per model, shared by the blocks) on a free port and points the block's `localhost:8000` (or `port=N`'s)
 *   at it; `needs=ml5-charrnn,torch` names what the block needs beyond Deno, curl and jq (`ptb`,
 *   `ml5-charrnn`: folders of ../shared/data; `torch`: /usr/bin/python3 with torch and onnx) — without them
 *   the block is skipped, or fails under CI=true.
 * - `<!-- example: ts file=NAME.ts -->` saves the block as NAME.ts in that copy and type-checks it (a later
 *   sh block runs it, as the README tells a user to).
 * - `<!-- example: skip REASON -->` does not run it; the reason is there for reviewers.
 *
 * A table's byte counts come from the files: before a table, `<!-- example: bytes 2="ARGS" -->` makes column 2
 * of every row the size of the file `deno task compile ARGS -o FILE` writes, with `{}` in ARGS replaced by the
 * row's first code span (`int8` in "| `int8` | 4,957,536 |"); several columns may each have their ARGS;
 * `needs=…` as for sh blocks.
 *
 * In a sh block, the `#` lines right under a command are its output: what it printed on stdout (and on
 * stderr, after stdout, when it fails), one `# ` line per line. A command must exit 0, unless its first
 * line ends with `# exits N`. Comparing, trailing spaces are ignored, and so is a number followed by ` s`
 * or ` ms` (timings differ from run to run); nothing else is.
 *
 * The copy of the repository is a temporary folder with links to the repository's parts, its own
 * `models/` (links to the shipped files) and `deno.json` (`deno task` runs in the folder of the
 * deno.json it finds), and `../shared` linked to the repository's: what examples write stays there. In it,
 * `deno task compile` first makes models/ptb-small.lem, as the README's set-up does.
 * @module
 */
import { parseCli, runCli, UsageError } from "../runtime/cli/args.ts";
import { exists, serveModel, type Server } from "../runtime/entries/testing.ts";
import { CI, ML5_CHARRNN, PTB, torchAvailable } from "./helpers.ts";

/** One command of a sh block: its lines in the README, the output shown under it, the exit it must have. */
export interface Command {
  /** The command as written (continuation lines joined by "\n"). */
  text: string;
  /** 0-based index in the README of its first line. */
  line: number;
  /** The output lines shown under it, without their `# ` prefix. */
  shown: string[];
  expectedExit: number;
}

/** A fenced sh/ts block and how its comment says to run it. */
export interface Block {
  kind: "sh" | "ts" | "skip";
  /** 0-based index in the README of the opening fence. */
  line: number;
  /** The lines between the fences. */
  body: string[];
  reason?: string;
  serve?: string;
  port: number;
  needs: string[];
  file?: string;
  commands: Command[];
}

/** How long one block may run: the slowest, the 3 MB recipe with --eval on PTB valid, takes ≈ 25 s. */
const BLOCK_TIMEOUT_MS = 180_000;
const DIRECTIVE = /^<!-- example: (sh|ts|skip)\b(.*?)\s*-->$/;
const NEEDS: Record<string, () => boolean> = {
  ptb: () => exists(PTB),
  "ml5-charrnn": () => exists(ML5_CHARRNN),
  torch: torchAvailable,
};

/** The sh/ts blocks of `markdown`, each with its directive; throws naming the line of any that lacks one. */
export function parseExamples(markdown: string, name = "README.md"): Block[] {
  const lines = markdown.split("\n");
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const fence = /^```(\w*)\s*$/.exec(lines[i]);
    if (!fence) continue;
    const end = lines.findIndex((l, j) => j > i && /^```\s*$/.test(l));
    if (end < 0) throw new Error(`${name}:${i + 1}: the block opened here is never closed`);
    const lang = fence[1];
    if (lang === "sh" || lang === "ts") {
      const where = `${name}:${i + 1}`;
      let above = i - 1; // the directive, or a blank line after it (deno fmt puts one there)
      if (lines[above]?.trim() === "") above--;
      const m = DIRECTIVE.exec(lines[above] ?? "");
      if (!m) {
        throw new Error(
          `${where}: a \`\`\`${lang} block needs a comment on the line before it saying how it runs: ` +
            `<!-- example: sh -->, <!-- example: ts file=NAME.ts --> or <!-- example: skip REASON -->`,
        );
      }
      blocks.push(parseBlock(m[1] as Block["kind"], m[2].trim(), lang, i, lines.slice(i + 1, end), where));
    }
    i = end;
  }
  return blocks;
}

function parseBlock(
  kind: Block["kind"],
  rest: string,
  lang: string,
  line: number,
  body: string[],
  where: string,
): Block {
  const block: Block = { kind, line, body, port: 8000, needs: [], commands: [] };
  if (kind === "skip") {
    if (!rest) throw new Error(`${where}: "example: skip" needs a reason after it`);
    block.reason = rest;
    return block;
  }
  if (kind !== lang) throw new Error(`${where}: a \`\`\`${lang} block cannot run as "${kind}"`);
  for (const option of rest.split(/\s+/).filter(Boolean)) {
    const [key, value] = option.split("=", 2);
    if (kind === "sh" && key === "serve" && value) block.serve = value;
    else if (kind === "sh" && key === "port" && /^\d+$/.test(value ?? "")) block.port = Number(value);
    else if (kind === "sh" && key === "needs" && value) block.needs = parseNeeds(value, where);
    else if (kind === "ts" && key === "file" && /^[\w.-]+\.ts$/.test(value ?? "")) block.file = value;
    else throw new Error(`${where}: "${option}" is not an option of "example: ${kind}"`);
  }
  if (kind === "ts" && !block.file) throw new Error(`${where}: "example: ts" needs file=NAME.ts`);
  if (kind === "sh") block.commands = parseCommands(body, line + 1, where);
  return block;
}

/** `needs=A,B`'s list, each checked to be one the runner knows. */
function parseNeeds(value: string, where: string): string[] {
  const needs = value.split(",");
  const unknown = needs.filter((n) => !(n in NEEDS));
  if (unknown.length) {
    throw new Error(`${where}: needs=${unknown.join(",")}: known are ${Object.keys(NEEDS).join(", ")}`);
  }
  return needs;
}

/** Splits a sh block into commands (a line ending in `\` continues) and the `#` output lines under each. */
function parseCommands(body: string[], first: number, where: string): Command[] {
  const commands: Command[] = [];
  for (let i = 0; i < body.length; i++) {
    if (/^#( |$)/.test(body[i])) {
      if (!commands.length) throw new Error(`${where}: output line "${body[i]}" before any command`);
      commands.at(-1)!.shown.push(body[i].replace(/^# ?/, ""));
      continue;
    }
    const start = i;
    while (body[i].endsWith("\\") && i + 1 < body.length) i++;
    const exits = /#\s*exits (\d+)\s*$/.exec(body[start]);
    commands.push({
      text: body.slice(start, i + 1).join("\n"),
      line: first + start,
      shown: [],
      expectedExit: exits ? Number(exits[1]) : 0,
    });
  }
  return commands;
}

/** What running one block gave: each command's output lines, or why it did not run. */
export interface BlockRun {
  block: Block;
  outputs?: string[][];
  skipped?: string;
}

/** A temporary copy of the repository for the examples to run in, and the servers they started. */
export class World {
  private servers = new Map<string, Promise<Server>>();
  private constructor(readonly dir: string, readonly repo: string) {}

  /** Makes the copy of `root` (the repository) and, with `setup`, runs `deno task compile` in it. */
  static async create(root: string, setup = true): Promise<World> {
    const dir = await Deno.makeTempDir({ prefix: "lstm-edge-readme-" });
    const repo = `${dir}/repo`;
    await Deno.mkdir(`${repo}/models`, { recursive: true });
    // Links, not copies (node_modules alone is hundreds of MB); only the parts the layout fixes, so that an
    // example writing a file at the top never writes through a link into one of the user's files.
    for (const part of ["compiler", "runtime", "schema", "tests", "docs", "node_modules", "deno.lock"]) {
      if (exists(`${root}/${part}`)) await Deno.symlink(`${root}/${part}`, `${repo}/${part}`);
    }
    await Deno.copyFile(`${root}/deno.json`, `${repo}/deno.json`);
    // models/ptb-small.lem and what compile names after it (ptb-small.int8.lem …) are left out: the set-up
    // compiles the first here, as on a fresh clone, and the examples compile the others.
    for await (const entry of Deno.readDir(`${root}/models`)) {
      if (!/^ptb-small(\..+)?\.lem$/.test(entry.name)) {
        await Deno.symlink(`${root}/models/${entry.name}`, `${repo}/models/${entry.name}`);
      }
    }
    if (exists(`${root}/../shared`)) {
      await Deno.symlink(await Deno.realPath(`${root}/../shared`), `${dir}/shared`);
    }
    const world = new World(dir, repo);
    if (setup) {
      const r = await world.bash("deno task -q compile >/dev/null");
      if (r.code !== 0) {
        throw new Error(`the set-up's \`deno task compile\` failed (exit ${r.code}):\n${r.stderr}`);
      }
    }
    return world;
  }

  /** The base URL of `deno task serve MODEL` (a path in the copy), started on first use. */
  server(model: string): Promise<Server> {
    let s = this.servers.get(model);
    if (!s) {
      s = serveModel(`${this.repo}/${model}`);
      this.servers.set(model, s);
    }
    return s;
  }

  /** Runs `script` in bash in the copy, with this Deno first on PATH and no colours. */
  async bash(
    script: string,
    timeoutMs = BLOCK_TIMEOUT_MS,
  ): Promise<{ code: number; stdout: string; stderr: string }> {
    const path = `${this.dir}/script-${crypto.randomUUID()}.sh`;
    await Deno.writeTextFile(path, script);
    const bin = Deno.execPath().replace(/\/[^/]*$/, "");
    const out = await new Deno.Command("bash", {
      args: [path],
      cwd: this.repo,
      env: { NO_COLOR: "1", PATH: `${bin}:${Deno.env.get("PATH") ?? ""}` },
      stdout: "piped",
      stderr: "piped",
      stdin: "null",
      signal: AbortSignal.timeout(timeoutMs),
    }).output();
    const d = new TextDecoder();
    return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
  }

  async close(): Promise<void> {
    for (const s of this.servers.values()) await (await s.catch(() => undefined))?.stop();
    await Deno.remove(this.dir, { recursive: true });
  }
}

/**
 * Why something that needs `needs` cannot run here (undefined when it can); under CI=true an absence is an
 * error instead.
 */
function unmet(needs: string[], where: string): string | undefined {
  const missing = needs.filter((n) => !NEEDS[n]());
  if (!missing.length) return undefined;
  const why = `needs ${missing.join(", ")}, which is not here`;
  if (CI) throw new Error(`${where} ${why} (required under CI=true)`);
  return why;
}

/** Runs one block in `world`; throws, naming the README line, when a command exits other than it must. */
export async function runBlock(world: World, block: Block, name = "README.md"): Promise<BlockRun> {
  if (block.kind === "skip") return { block, skipped: block.reason };
  const why = unmet(block.needs, `${name}:${block.line + 1}`);
  if (why) return { block, skipped: why };
  if (block.kind === "ts") {
    await Deno.writeTextFile(`${world.repo}/${block.file}`, block.body.join("\n") + "\n");
    const r = await world.bash(`deno check -q ${block.file}`);
    if (r.code !== 0) {
      throw new Error(`${name}:${block.line + 1}: ${block.file} does not type-check:\n${r.stderr}`);
    }
    return { block, outputs: [] };
  }
  let text = (c: Command) => c.text;
  if (block.serve) {
    const url = (await world.server(block.serve)).url; // http://127.0.0.1:PORT
    text = (c) => c.text.replaceAll(`localhost:${block.port}`, url.replace(/^http:\/\//, ""));
  }
  // One bash for the block, so that a variable set by one command reaches the next; each command's output
  // goes to its own files. pipefail: a failing `curl` in `curl | jq` fails the command.
  const files = `${world.dir}/out-${block.line}`;
  const script = [
    "set -o pipefail",
    `mkdir -p ${files}`,
    ...block.commands.map((c, i) =>
      `{\n${text(c)}\n} >${files}/${i}.out 2>${files}/${i}.err; echo $? >${files}/${i}.rc`
    ),
  ].join("\n");
  const r = await world.bash(script);
  if (r.code !== 0) {
    // Each command's status goes to its file, so bash itself fails only when killed (by the time limit).
    const where = `${name}:${block.line + 1}`;
    const limit = `${BLOCK_TIMEOUT_MS / 1000} s`;
    throw new Error(`${where}: the block's bash ended with ${r.code} (killed after ${limit}?):\n${r.stderr}`);
  }
  const outputs: string[][] = [];
  for (const [i, c] of block.commands.entries()) {
    const code = Number(await Deno.readTextFile(`${files}/${i}.rc`));
    const stdout = await Deno.readTextFile(`${files}/${i}.out`);
    const stderr = await Deno.readTextFile(`${files}/${i}.err`);
    if (code !== c.expectedExit) {
      throw new Error(
        `${name}:${c.line + 1}: \`${c.text}\` exited ${code}, expected ${c.expectedExit}` +
          (c.expectedExit ? "" : ` (a command that must fail ends with "# exits N")`) +
          `\nstdout:\n${stdout.slice(-2000)}\nstderr:\n${stderr.slice(-2000)}`,
      );
    }
    outputs.push(outputLines(code === 0 ? stdout : stdout + stderr));
  }
  return { block, outputs };
}

/** Output text as lines: without the final line break, trailing spaces dropped. */
function outputLines(text: string): string[] {
  const t = text.replace(/\n$/, "");
  return t === "" ? [] : t.split("\n").map((l) => l.trimEnd());
}

/** A table whose byte counts come from compiling: the rows, and which columns come from which compile. */
export interface BytesTable {
  /** 0-based index in the README of the directive. */
  line: number;
  rows: { line: number; name: string }[];
  /** Column number (1-based, as the directive writes it) → compile arguments with `{}` for the row's name. */
  columns: Map<number, string>;
  /** The columns whose separator cell ends in ":" (right-aligned). */
  right: Set<number>;
  needs: string[];
}

/** A byte count as the README's tables write it: 4,957,536. */
export const formatBytes = (n: number) => n.toLocaleString("en-US");

/** The cells of a markdown table row, trimmed. */
const cells = (row: string) => row.replace(/^\|/, "").replace(/\|\s*$/, "").split("|").map((c) => c.trim());

/** The tables of `markdown` that a `<!-- example: bytes … -->` comment precedes. */
export function parseBytesTables(markdown: string, name = "README.md"): BytesTable[] {
  const lines = markdown.split("\n");
  const tables: BytesTable[] = [];
  for (const [i, l] of lines.entries()) {
    const m = /^<!-- example: bytes\b(.*?)\s*-->$/.exec(l);
    if (!m) continue;
    const where = `${name}:${i + 1}`;
    const columns = new Map<number, string>();
    let needs: string[] = [];
    for (const spec of m[1].matchAll(/\s*(\d+)="([^"]+)"|\s*needs=(\S+)|\s*(\S+)/g)) {
      if (spec[3]) needs = parseNeeds(spec[3], where);
      else if (spec[4] || Number(spec[1]) < 2) {
        throw new Error(`${where}: "${spec[0].trim()}" is not COLUMN="COMPILE ARGS" (a column from 2 on)`);
      } else columns.set(Number(spec[1]), spec[2]);
    }
    if (!columns.size) throw new Error(`${where}: "example: bytes" names no column`);
    let head = i + 1;
    if (lines[head]?.trim() === "") head++;
    if (!lines[head]?.startsWith("|") || !/^\|[\s:|-]+\|$/.test(lines[head + 1] ?? "")) {
      throw new Error(`${where}: "example: bytes" must come before a table`);
    }
    const rows: BytesTable["rows"] = [];
    for (let r = head + 2; lines[r]?.startsWith("|"); r++) {
      const code = /`([^`]+)`/.exec(cells(lines[r])[0]);
      if (!code) throw new Error(`${name}:${r + 1}: the row's first cell has no \`name\` for {}`);
      rows.push({ line: r, name: code[1] });
    }
    const right = new Set([...columns.keys()].filter((c) => cells(lines[head + 1])[c - 1]?.endsWith(":")));
    tables.push({ line: i, rows, columns, right, needs });
  }
  return tables;
}

/** One cell a bytes table shows and the size of the file its compile wrote. */
export interface BytesCell {
  line: number;
  column: number;
  args: string;
  shown: string;
  bytes: number;
  right: boolean;
}

/** Compiles what every cell of `tables` names, in `world`, and measures the files. */
export async function measureTables(
  world: World,
  tables: BytesTable[],
  markdown: string,
): Promise<BytesCell[]> {
  const lines = markdown.split("\n");
  const out: BytesCell[] = [];
  const file = `${world.dir}/bytes.lem`;
  for (const table of tables) {
    const why = unmet(table.needs, `README.md:${table.line + 1}`);
    if (why) {
      console.log(`README.md:${table.line + 1}: byte counts not measured: ${why}`);
      continue;
    }
    for (const row of table.rows) {
      for (const [column, pattern] of table.columns) {
        const args = pattern.replaceAll("{}", row.name);
        const r = await world.bash(`deno task -q compile ${args} -o ${file} >/dev/null`);
        if (r.code !== 0) {
          throw new Error(`README.md:${row.line + 1}: \`deno task compile ${args}\` failed:\n${r.stderr}`);
        }
        out.push({
          line: row.line,
          column,
          args,
          shown: cells(lines[row.line])[column - 1],
          bytes: (await Deno.stat(file)).size,
          right: table.right.has(column),
        });
      }
    }
  }
  return out;
}

/** `markdown` with every measured cell holding its file's size, aligned as its column is, in its width. */
export function rewriteBytes(markdown: string, measured: BytesCell[]): string {
  const lines = markdown.split("\n");
  for (const c of measured) {
    const parts = lines[c.line].split("|"); // parts[0] is the text before the first "|"
    const width = parts[c.column].length - 2;
    const value = formatBytes(c.bytes);
    parts[c.column] = ` ${c.right ? value.padStart(width) : value.padEnd(width)} `;
    lines[c.line] = parts.join("|");
  }
  return lines.join("\n");
}

/** The cells that show another number than their file's size. */
export function bytesDifferences(measured: BytesCell[], name = "README.md"): string[] {
  return measured.filter((c) => c.shown !== formatBytes(c.bytes)).map((c) =>
    `${name}:${c.line + 1}: column ${c.column} shows ${c.shown}; \`deno task compile ${c.args}\` writes ${
      formatBytes(c.bytes)
    } bytes`
  );
}

/** The comparison's one allowance: timings, a number before ` s` or ` ms`. */
export function normalize(line: string): string {
  return line.trimEnd().replace(/\b\d+(\.\d+)? (ms|s)\b/g, "… $2");
}

/** Whether shown output lines and printed ones are the same but for what normalize() allows. */
export function sameOutput(shown: string[], printed: string[]): boolean {
  return shown.map(normalize).join("\n") === printed.map(normalize).join("\n");
}

/** The commands whose shown output differs from what they printed, as readable paragraphs. */
export function differences(runs: BlockRun[], name = "README.md"): string[] {
  const out: string[] = [];
  for (const { block, outputs } of runs) {
    if (!outputs || block.kind !== "sh") continue;
    for (const [i, c] of block.commands.entries()) {
      if (!sameOutput(c.shown, outputs[i])) {
        out.push(
          `${name}:${c.line + 1}: \`${c.text}\`\n  README shows:\n${indent(c.shown)}\n  it printed:\n${
            indent(outputs[i])
          }`,
        );
      }
    }
  }
  return out;
}

const indent = (lines: string[]) => lines.length ? lines.map((l) => `    ${l}`).join("\n") : "    (nothing)";

/** `markdown` with every run command's output lines replaced by what it printed. */
export function rewrite(markdown: string, runs: BlockRun[]): string {
  const lines = markdown.split("\n");
  // From the last block up, so that the line numbers of the blocks above stay right.
  for (const { block, outputs } of [...runs].sort((a, b) => b.block.line - a.block.line)) {
    if (!outputs || block.kind !== "sh") continue;
    const body = block.commands.flatMap((c, i) => [
      ...c.text.split("\n"),
      // Output that matches (timings aside) stays as shown: a run does not churn the README's timings.
      ...(sameOutput(c.shown, outputs[i]) ? c.shown : outputs[i]).map((l) => (l ? `# ${l}` : "#")),
    ]);
    lines.splice(block.line + 1, block.body.length, ...body);
  }
  return lines.join("\n");
}

/** What running a README gave: every block's run and every measured table cell. */
export interface ExamplesRun {
  runs: BlockRun[];
  bytes: BytesCell[];
}

/** Runs every example of `markdown` in one copy of `root`, in order, measures its tables, stops the servers. */
export async function runExamples(markdown: string, root: string, name = "README.md"): Promise<ExamplesRun> {
  const blocks = parseExamples(markdown, name);
  const tables = parseBytesTables(markdown, name);
  const world = await World.create(root);
  try {
    const runs: BlockRun[] = [];
    for (const block of blocks) runs.push(await runBlock(world, block, name));
    return { runs, bytes: await measureTables(world, tables, markdown) };
  } finally {
    await world.close();
  }
}

/** Every difference between what the README shows and what its examples printed or wrote. */
export const allDifferences = (r: ExamplesRun) => [...differences(r.runs), ...bytesDifferences(r.bytes)];

/** The README rewritten with what its examples printed and wrote (tables keep their line count: first). */
export const rewriteAll = (markdown: string, r: ExamplesRun) =>
  rewrite(rewriteBytes(markdown, r.bytes), r.runs);

const USAGE = "deno task readme [--check]";
const HELP = `
usage: ${USAGE}

Runs every example of README.md — the sh blocks in bash against \`deno task serve\` where their comment says
so, the ts blocks through the library — in a temporary copy of the repository, and writes what each command
printed into the README under it (the \`# \` lines), and the byte counts of the tables marked
<!-- example: bytes … --> from the files compile writes. How a block runs is the comment before it
(<!-- example: sh | ts file=NAME.ts | skip REASON -->; tests/readme_examples.ts explains them). Needs bash,
curl and jq. tests/readme_examples.test.ts runs the same examples and fails where the README differs.

  --check     write nothing; list the outputs and byte counts that differ and exit 1 if any does
  -h, --help  this text
`;

if (import.meta.main) {
  await runCli(async () => {
    const { values, positionals } = parseCli(Deno.args, { check: { type: "boolean" } }, HELP);
    if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    const root = new URL("../", import.meta.url).pathname.replace(/\/$/, "");
    const path = `${root}/README.md`;
    const markdown = await Deno.readTextFile(path);
    const started = performance.now();
    const result = await runExamples(markdown, root);
    const ran = result.runs.filter((r) => r.outputs).length;
    for (const r of result.runs) {
      if (r.skipped) console.log(`skipped README.md:${r.block.line + 1}: ${r.skipped}`);
    }
    const diffs = allDifferences(result);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    if (values.check) {
      for (const d of diffs) console.log(d);
      console.log(`${ran} blocks run in ${seconds} s; ${diffs.length} output(s) or byte count(s) differ`);
      if (diffs.length) Deno.exit(1);
      return;
    }
    const updated = rewriteAll(markdown, result);
    if (updated !== markdown) await Deno.writeTextFile(path, updated);
    console.log(
      `${ran} blocks run in ${seconds} s; rewrote ${diffs.length} output(s) or byte count(s) in README.md`,
    );
  }, USAGE);
}
