/**
 * The `.lem` format for the runtime: verify, read, describe. See schema/SPEC.md.
 *
 * @example
 * ```ts
 * import { readLem, summarize } from "./runtime/format/mod.ts";
 * const file = readLem(await Deno.readFile("model.lem")); // throws LemFormatError on a bad file
 * ```
 * @module
 */

export { LemFormatError } from "./errors.ts";
export { verifyLem } from "./verify.ts";
export {
  describeEncoding,
  floatsAt,
  formatSummary,
  readLem,
  summarize,
  uint16sAt,
  uint32sAt,
} from "./read.ts";
export type {
  DenseInfo,
  LayerInfo,
  LemFile,
  LemFileMetadata,
  LemSummary,
  LemTokenizer,
  LowRankInfo,
  MatrixInfo,
  QuantizedInfo,
  SparseCsrInfo,
  StoredInfo,
  TensorSummary,
  TensorTrainInfo,
} from "./read.ts";
export { DATA_ALIGNMENT, FILE_IDENTIFIER, FORMAT_MAJOR, FORMAT_MINOR } from "./constants.ts";
