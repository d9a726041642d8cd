/**
 * The one error type the format reader and verifier throw.
 * @module
 */

/**
 * A `.lem` file that cannot be used, with the path of the field at fault.
 *
 * `field` is a path from the root table in the schema's field names, e.g.
 * `layers[1].w_hh.encoding(Dense).data` or `vocabulary.tokens[17]`; it is `""` for problems with the file
 * as a whole (its size).
 *
 * @example
 * ```ts
 * new LemFormatError("layers[1].w_hh.encoding(Dense).data", "holds 4800 bytes, expected 160000 (…)").message;
 * // 'Cannot read model: field "layers[1].w_hh.encoding(Dense).data" holds 4800 bytes, expected 160000 (…)'
 * ```
 */
export class LemFormatError extends Error {
  override name = "LemFormatError";
  /** Path of the field at fault, e.g. `decoder.encoding(SparseCsr).row_ptr`; `""` for the whole file. */
  readonly field: string;
  /** The problem alone, without the field: the sentence's continuation given to the constructor. */
  readonly problem: string;

  /** `problem` continues the sentence `Cannot read model: field "<field>" …` (or `Cannot read model: …`). */
  constructor(field: string, problem: string) {
    super(field === "" ? `Cannot read model: ${problem}` : `Cannot read model: field "${field}" ${problem}`);
    this.field = field;
    this.problem = problem;
  }
}
