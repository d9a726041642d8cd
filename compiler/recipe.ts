/**
 * Compression recipes: which method each weight matrix gets, from `--method M` (every matrix) or
 * `--recipe FILE` (rules by tensor name). Everything here is checked before any compression starts.
 *
 * Method strings (`--method`, and the `method` of a recipe rule):
 *
 * ```
 * METHOD  := STORAGE                         the matrix as it is:            f32, f16, int8, int4:g64
 *          | "prune:" S ["+" STORAGE]        magnitude pruning → CSR:        prune:0.8, prune:0.9+int8
 *          | "prune:" S ":b" R "x" C ["+" STORAGE]  … of whole R × C blocks: prune:0.8:b4x16+int8
 *          | "lowrank:" R ["+" STORAGE]      truncated SVD to rank R:        lowrank:64, lowrank:64+int8
 *          | "lowrank:e" E ["+" STORAGE]     … smallest rank keeping E of Σσ²: lowrank:e0.95
 *          | "tt:" R ["+" STORAGE]           TT-SVD with ranks ≤ R:          tt:16, tt:16+f16
 *          | "tt:t" T ["+" STORAGE]          … to relative error T:          tt:t0.05
 * STORAGE := "f32" | "f16" | "int8" [":g" N] [":s16"] | "int4" [":g" N] [":s16"]
 * ```
 *
 * S is a sparsity in [0, 1]; R, N whole numbers ≥ 1; E in (0, 1]; T in [0, 1). int8 has one scale per row
 * unless `:gN` asks for one per N columns; int4 one per 32 columns unless `:gN`; `:s16` stores those scales
 * as float16 instead of float32 (int4 g32: 4.5 bits per weight instead of 5); CSR values (a 1 × nnz
 * vector) default to int8 groups of 64 non-zeros. A rank larger than a matrix allows is clipped to the
 * exact decomposition. Block pruning (R = 1 or 4 rows, C = 4, 8 or 16 columns) keeps or drops R × C blocks
 * whole, by block norm, and stores them as SparseBlocks with f32 or int8 values, which SIMD kernels run
 * densely.
 *
 * A recipe file is JSON (example: compiler/recipes/example.json):
 *
 * ```json
 * { "rules": [
 *     { "tensors": "embedding", "method": "int8" },
 *     { "tensors": "layers.*.w_hh", "method": "int8" },
 *     { "tensors": "layers.*", "method": "prune:0.5+int8", "scope": "global" },
 *     { "tensors": "decoder", "method": "lowrank:64+int8" } ] }
 * ```
 *
 * Rules are tried in order and the first whose `tensors` pattern matches a tensor's name wins (`*` matches
 * any run of characters, dots included); a tensor no rule matches stays f32. A pattern that matches no
 * tensor is an error (a typo would otherwise silently do nothing). Optional rule fields: `scope`
 * ("tensor" | "global", prune only: one magnitude threshold across all tensors the rule selects),
 * `rowModes`, `colModes` (tt: the mode factorizations), and `description` (ignored).
 * @module
 */
import type { MethodSpec, StorageSpec } from "./methods/method.ts";
import { checkPruneSpec } from "./methods/prune.ts";
import { checkLowRankSpec } from "./methods/lowrank.ts";
import { checkTensorTrainSpec } from "./methods/tt.ts";

/** The method-string grammar, quoted in errors. */
export const METHOD_GRAMMAR =
  "f32 | f16 | int8[:gN][:s16] | int4[:gN][:s16] | prune:S[:bRxC] | lowrank:R | lowrank:eE | tt:R | " +
  "tt:tT, the last five optionally +STORAGE (e.g. prune:0.8:b4x8+int8, lowrank:64+int4:g64, tt:16+f16; " +
  ":s16 stores int scales as float16)";

/** A recipe or method string that cannot be used; the message says what was expected and found. */
export class RecipeError extends Error {
  override name = "RecipeError";
}

/** One rule of a recipe, as written in the file (normalized). */
export interface RecipeRule {
  /** Tensor-name pattern; `*` matches any run of characters. */
  tensors: string;
  /** A method string (see the module doc). */
  method: string;
  /** prune only: "global" = one threshold across every tensor this rule selects. */
  scope?: "tensor" | "global";
  /** tt only: row and column mode factorizations. */
  rowModes?: number[];
  colModes?: number[];
}

/** A recipe: ordered rules, first match wins. What is stored in the file's metadata (as JSON). */
export interface Recipe {
  rules: RecipeRule[];
}

/** What one tensor gets. */
export interface TensorPlan {
  name: string;
  /** Index of the rule that selected it, -1 when none did (then f32). */
  rule: number;
  spec: MethodSpec;
}

const NUMBER = /^(\d+(\.\d*)?|\.\d+)$/;
const WHOLE = /^[1-9]\d*$/;

function number(text: string, what: string, method: string): number {
  if (!NUMBER.test(text)) {
    throw new RecipeError(`Invalid method "${method}": ${what} "${text}" is not a number`);
  }
  return Number(text);
}

function whole(text: string, what: string, method: string): number {
  if (!WHOLE.test(text)) {
    throw new RecipeError(`Invalid method "${method}": ${what} must be a whole number ≥ 1, got "${text}"`);
  }
  return Number(text);
}

/**
 * Parses a storage type: `f32`, `f16`, `int8`, `int8:g64`, `int4`, `int4:g64`.
 *
 * @example
 * ```ts
 * parseStorage("int4:g64"); // { type: "int4", groupSize: 64 }
 * ```
 */
export function parseStorage(text: string, method = text): StorageSpec {
  const m = /^(f32|f16|int8|int4)(?::g([^:]*))?(:s16)?$/.exec(text);
  if (!m) {
    throw new RecipeError(
      `Invalid method "${method}": unknown storage "${text}" (expected f32, f16, int8[:gN][:s16] or int4[:gN][:s16])`,
    );
  }
  const type = m[1] as StorageSpec["type"];
  if ((type === "f32" || type === "f16") && (m[2] !== undefined || m[3])) {
    throw new RecipeError(
      `Invalid method "${method}": ${type} has no ${m[2] !== undefined ? "group size" : "scales"}`,
    );
  }
  const spec: StorageSpec = { type };
  if (m[2] !== undefined) spec.groupSize = whole(m[2], "the group size", method);
  if (m[3]) spec.scales = "f16";
  return spec;
}

/** `S` or `S:bRxC` of a prune method. */
function parsePruneArg(
  arg: string,
  storage: StorageSpec,
  text: string,
): Extract<MethodSpec, { kind: "prune" }> {
  const [sparsity, block, ...rest] = arg.split(":");
  if (rest.length) throw new RecipeError(`Invalid method "${text}": expected prune:S or prune:S:bRxC`);
  const spec = { kind: "prune" as const, sparsity: number(sparsity, "the sparsity", text), storage };
  if (block === undefined) return spec;
  const m = /^b(\d+)x(\d+)$/.exec(block);
  if (!m) {
    throw new RecipeError(`Invalid method "${text}": the block shape "${block}" is not bRxC, e.g. b4x16`);
  }
  return { ...spec, blockRows: Number(m[1]), blockCols: Number(m[2]) };
}

/**
 * Parses a method string (grammar in the module doc) into a spec, checking every number.
 *
 * @example
 * ```ts
 * parseMethod("prune:0.8+int8"); // { kind: "prune", sparsity: 0.8, storage: { type: "int8" } }
 * parseMethod("lowrank:e0.95");  // { kind: "lowrank", energy: 0.95, storage: { type: "f32" } }
 * ```
 */
export function parseMethod(text: string): MethodSpec {
  if (typeof text !== "string" || text.trim() === "") {
    throw new RecipeError(`Invalid method ${JSON.stringify(text)}: expected ${METHOD_GRAMMAR}`);
  }
  const plus = text.indexOf("+");
  const head = plus < 0 ? text : text.slice(0, plus);
  const storage: StorageSpec = plus < 0 ? { type: "f32" } : parseStorage(text.slice(plus + 1), text);
  const colon = head.indexOf(":");
  const kind = colon < 0 ? head : head.slice(0, colon);
  const arg = colon < 0 ? undefined : head.slice(colon + 1);
  let spec: MethodSpec;
  try {
    switch (kind) {
      case "f32":
      case "f16":
      case "int8":
      case "int4":
        if (plus >= 0) throw new RecipeError(`Invalid method "${text}": a storage type takes no "+storage"`);
        return { kind: "store", storage: parseStorage(head, text) };
      case "prune":
        if (arg === undefined) {
          throw new RecipeError(`Invalid method "${text}": prune needs a sparsity, e.g. prune:0.8`);
        }
        spec = parsePruneArg(arg, storage, text);
        checkPruneSpec(spec);
        return spec;
      case "lowrank":
        if (arg === undefined) {
          throw new RecipeError(
            `Invalid method "${text}": lowrank needs a rank or energy, e.g. lowrank:64 or lowrank:e0.95`,
          );
        }
        spec = arg.startsWith("e")
          ? { kind: "lowrank", energy: number(arg.slice(1), "the energy", text), storage }
          : { kind: "lowrank", rank: whole(arg, "the rank", text), storage };
        checkLowRankSpec(spec);
        return spec;
      case "tt":
        if (arg === undefined) {
          throw new RecipeError(
            `Invalid method "${text}": tt needs a maximum rank or tolerance, e.g. tt:16 or tt:t0.05`,
          );
        }
        spec = arg.startsWith("t")
          ? { kind: "tt", tolerance: number(arg.slice(1), "the tolerance", text), storage }
          : { kind: "tt", maxRank: whole(arg, "the rank", text), storage };
        checkTensorTrainSpec(spec);
        return spec;
      default:
        throw new RecipeError(
          `Invalid method "${text}": unknown method "${kind}"; expected ${METHOD_GRAMMAR}`,
        );
    }
  } catch (e) {
    if (e instanceof RecipeError) throw e;
    throw new RecipeError(`Invalid method "${text}": ${(e as Error).message}`);
  }
}

/** The recipe that gives every matrix `method` (`--method`, with `--prune-scope`). */
export function methodRecipe(method: string, pruneScope?: "tensor" | "global"): Recipe {
  parseMethod(method); // its own error message, without "rule 1"
  return parseRecipe({ rules: [{ tensors: "*", method, ...(pruneScope ? { scope: pruneScope } : {}) }] });
}

const RULE_KEYS = new Set(["tensors", "method", "scope", "rowModes", "colModes", "description"]);

/**
 * Checks a recipe (parsed JSON, or its text) and returns it normalized: every rule's method string and
 * options are valid. `source` names the file in errors.
 */
export function parseRecipe(input: unknown, source = "recipe"): Recipe {
  let value = input;
  if (typeof input === "string") {
    try {
      value = JSON.parse(input);
    } catch (e) {
      throw new RecipeError(`${source} is not valid JSON: ${(e as Error).message}`);
    }
  }
  const rules = Array.isArray(value) ? value : (value as { rules?: unknown })?.rules;
  if (!Array.isArray(rules) || rules.length === 0) {
    throw new RecipeError(
      `${source} must be { "rules": [ { "tensors": "…", "method": "…" }, … ] } with at least one rule`,
    );
  }
  if (!Array.isArray(value)) {
    for (const key of Object.keys(value as object)) {
      if (key !== "rules" && key !== "description") {
        throw new RecipeError(
          `${source}: unknown top-level field "${key}" (expected "rules", "description")`,
        );
      }
    }
  }
  return {
    rules: rules.map((rule, i): RecipeRule => {
      const where = `${source}, rule ${i + 1}`;
      if (typeof rule !== "object" || rule === null || Array.isArray(rule)) {
        throw new RecipeError(`${where}: expected an object like { "tensors": "decoder", "method": "int8" }`);
      }
      const r = rule as Record<string, unknown>;
      for (const key of Object.keys(r)) {
        if (!RULE_KEYS.has(key)) {
          throw new RecipeError(`${where}: unknown field "${key}" (expected ${[...RULE_KEYS].join(", ")})`);
        }
      }
      if (typeof r.tensors !== "string" || r.tensors === "") {
        throw new RecipeError(`${where}: "tensors" must be a name pattern such as "layers.*.w_hh"`);
      }
      if (typeof r.method !== "string") throw new RecipeError(`${where}: "method" must be a method string`);
      let spec: MethodSpec;
      try {
        spec = parseMethod(r.method);
      } catch (e) {
        throw new RecipeError(`${where}: ${(e as Error).message}`);
      }
      const out: RecipeRule = { tensors: r.tensors, method: r.method };
      if (r.scope !== undefined) {
        if (spec.kind !== "prune") {
          throw new RecipeError(`${where}: "scope" applies to prune only, not ${r.method}`);
        }
        if (r.scope !== "tensor" && r.scope !== "global") {
          throw new RecipeError(
            `${where}: "scope" must be "tensor" or "global", got ${JSON.stringify(r.scope)}`,
          );
        }
        out.scope = r.scope;
      }
      for (const key of ["rowModes", "colModes"] as const) {
        if (r[key] === undefined) continue;
        if (spec.kind !== "tt") {
          throw new RecipeError(`${where}: "${key}" applies to tt only, not ${r.method}`);
        }
        const modes = r[key];
        if (!Array.isArray(modes) || !modes.every((m) => Number.isInteger(m) && m >= 1)) {
          throw new RecipeError(`${where}: "${key}" must be a list of whole numbers ≥ 1`);
        }
        out[key] = modes as number[];
      }
      if (spec.kind === "tt") {
        try {
          checkTensorTrainSpec({ ...spec, rowModes: out.rowModes, colModes: out.colModes });
        } catch (e) {
          throw new RecipeError(`${where}: ${(e as Error).message}`);
        }
      }
      return out;
    }),
  };
}

/** Whether `name` matches `pattern` (`*` = any run of characters, everything else literal). */
export function matchesPattern(pattern: string, name: string): boolean {
  const re = new RegExp(
    "^" + pattern.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*") + "$",
  );
  return re.test(name);
}

/**
 * Which method each tensor gets: the first matching rule's (with its options), f32 where none matches.
 * Throws when a rule matches no tensor at all, naming the tensors there are.
 */
export function planRecipe(recipe: Recipe, tensorNames: readonly string[]): TensorPlan[] {
  recipe.rules.forEach((rule, i) => {
    if (!tensorNames.some((n) => matchesPattern(rule.tensors, n))) {
      throw new RecipeError(
        `Recipe rule ${i + 1}: "${rule.tensors}" matches no tensor; the model's tensors are ${
          tensorNames.join(", ")
        }`,
      );
    }
  });
  return tensorNames.map((name) => {
    const rule = recipe.rules.findIndex((r) => matchesPattern(r.tensors, name));
    if (rule < 0) return { name, rule, spec: { kind: "store", storage: { type: "f32" } } };
    const r = recipe.rules[rule];
    let spec = parseMethod(r.method);
    if (spec.kind === "prune" && r.scope) spec = { ...spec, scope: r.scope };
    if (spec.kind === "tt" && (r.rowModes || r.colModes)) {
      spec = {
        ...spec,
        ...(r.rowModes ? { rowModes: r.rowModes } : {}),
        ...(r.colModes ? { colModes: r.colModes } : {}),
      };
    }
    return { name, rule, spec };
  });
}
