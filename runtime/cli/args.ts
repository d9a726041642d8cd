/**
 * Command-line plumbing shared by every CLI entry point (the compiler's and the runtime's: it lives in the runtime so that the runtime never imports the compiler): option parsing with `--help`, and errors that end
 * the process with a message instead of a stack trace.
 * @module
 */
import { parseArgs, type ParseArgsConfig } from "node:util";

/** An error in how the command was called: printed with the usage line, exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** Parses `args` by `options`; prints `help` and exits on `--help`/`-h`. Unknown options are usage errors. */
export function parseCli<T extends NonNullable<ParseArgsConfig["options"]>>(
  args: string[],
  options: T,
  help: string,
) {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: { ...options, help: { type: "boolean", short: "h" } },
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if ((parsed.values as Record<string, unknown>).help) {
    console.log(help.trim());
    Deno.exit(0);
  }
  return parsed;
}

/** Runs a CLI main function: usage errors exit 2, other errors exit 1, both with one readable line. */
export async function runCli(main: () => Promise<void>, usage: string): Promise<void> {
  try {
    await main();
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`error: ${e.message}\nusage: ${usage}\n(--help explains)`);
      Deno.exit(2);
    }
    const err = e as Error;
    console.error(`error: ${err.message ?? err}`);
    if (Deno.env.get("LSTM_EDGE_DEBUG")) console.error(err.stack);
    Deno.exit(1);
  }
}

/** Reads a file, turning "not found" into a message that names the file and what it was for. */
export async function readInput(path: string, what: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new Error(`${what} "${path}" does not exist`);
    if (e instanceof Deno.errors.IsADirectory) throw new Error(`${what} "${path}" is a folder, not a file`);
    throw e;
  }
}

/**
 * Throws when the folder a file is to be written in does not exist (or is not a folder): checked before
 * a long computation instead of failing at its end.
 */
export async function checkOutputFolder(path: string): Promise<void> {
  const cut = Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"));
  const dir = cut < 0 ? "." : path.slice(0, cut) || "/";
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(dir);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(`Cannot write "${path}": the folder "${dir}" does not exist`);
    }
    throw e;
  }
  if (!info.isDirectory) throw new Error(`Cannot write "${path}": "${dir}" is not a folder`);
}

/** Progress on stderr, one line rewritten in place when stderr is a terminal. */
export function progressReporter(label: string): (done: number, total: number) => void {
  const tty = Deno.stderr.isTerminal();
  let last = 0;
  const enc = new TextEncoder();
  return (done, total) => {
    const now = performance.now();
    if (done < total && now - last < (tty ? 200 : 5000)) return;
    last = now;
    const pct = total ? Math.floor((100 * done) / total) : 100;
    const line = `${label}: ${done}/${total} tokens (${pct}%)`;
    Deno.stderr.writeSync(enc.encode(tty ? `\r${line}${done >= total ? "\n" : ""}` : `${line}\n`));
  };
}
