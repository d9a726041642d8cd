/**
 * Constants of the `.lem` format shared by the writer, the verifier and the reader.
 * @module
 */

/** The FlatBuffers file identifier at bytes 4..8 of every `.lem` file. */
export const FILE_IDENTIFIER = "LEM1";
/** The format major version this code reads and writes; a reader rejects a newer major. */
export const FORMAT_MAJOR = 1;
/**
 * The newest format minor this code knows (1.1: SparseBlocks, Quantized.scales_f16, TokenizerKind.Character).
 * Writers write the lowest minor a file needs; a reader accepts any minor of its major (and rejects, by
 * name, encodings and enum values it does not know).
 */
export const FORMAT_MINOR = 1;
/** Alignment of every numeric vector's data from the start of the file, as written (never required). */
export const DATA_ALIGNMENT = 16;
/** A `.lem` file's size is a multiple of this (FlatBuffers pads the buffer to its largest alignment). */
export const FILE_SIZE_MULTIPLE = 16;
/**
 * Whether this host stores numbers little-endian, as the format (and ONNX's raw tensor data) does: then a
 * typed array can view the bytes directly instead of decoding them one by one through a DataView.
 */
export const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
