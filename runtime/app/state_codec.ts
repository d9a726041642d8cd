/**
 * Client-carried LSTM state: a compact, versioned string bound to one model file, so that a client typing
 * word by word sends only the new words (constant work per word at a stateless edge function).
 *
 * Layout (version 1), then base64url without padding:
 *
 * | bytes      | field                                                                 |
 * | ---------- | --------------------------------------------------------------------- |
 * | 0          | magic 0x4C ("L")                                                      |
 * | 1          | version, 1                                                            |
 * | 2 .. 9     | the first 8 bytes of the model file's SHA-256                         |
 * | 10 .. 13   | tokens fed so far, u32 little-endian                                  |
 * | 14 ..      | the state floats, f32 little-endian: h₀, c₀, h₁, c₁, … (LstmState)    |
 *
 * Worked example: a model whose file hashes to `a1b2c3d4e5f60718…` with one layer of hidden size 1,
 * after 3 tokens with h = 0.5, c = -1: bytes `4C 01 A1 B2 C3 D4 E5 F6 07 18 03 00 00 00 00 00 00 3F 00 00
 * 80 BF` → `TAGhssPU5fYHGAMAAAAAAAA_AACAvw`. PTB-small (2 layers × 200) is 14 + 3200 bytes, 4 286
 * characters. f32 (not f16) so that continuing from a state equals running the whole text (1e-5).
 * @module
 */
import { LstmState } from "../model.ts";
import { ApiError } from "./errors.ts";

const MAGIC = 0x4c;
export const STATE_VERSION = 1;
const HEADER = 14;

function toBase64Url(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(s).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function fromBase64Url(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return undefined;
  const b64 = text.replaceAll("-", "+").replaceAll("_", "/") + "=".repeat((4 - (text.length % 4)) % 4);
  try {
    const binary = atob(b64);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  } catch {
    return undefined;
  }
}

/** Encodes and decodes states for one model (identified by its file's hex SHA-256). */
export class StateCodec {
  readonly #id: Uint8Array;

  constructor(modelSha256: string, readonly stateSize: number) {
    if (!/^[0-9a-f]{64}$/.test(modelSha256)) {
      throw new Error(`Model identity must be a hex SHA-256 (64 digits), got "${modelSha256}"`);
    }
    this.#id = Uint8Array.from({ length: 8 }, (_, i) => parseInt(modelSha256.slice(2 * i, 2 * i + 2), 16));
  }

  /** Length in characters of every encoded state of this model. */
  get encodedLength(): number {
    return Math.ceil(((HEADER + 4 * this.stateSize) * 4) / 3);
  }

  encode(state: LstmState): string {
    const bytes = new Uint8Array(HEADER + 4 * state.data.length);
    const view = new DataView(bytes.buffer);
    bytes[0] = MAGIC;
    bytes[1] = STATE_VERSION;
    bytes.set(this.#id, 2);
    view.setUint32(10, Math.min(state.tokens, 0xffffffff), true);
    state.data.forEach((x, i) => view.setFloat32(HEADER + 4 * i, x, true));
    return toBase64Url(bytes);
  }

  /** Decodes a client's state; throws an {@link ApiError} (400) saying what is wrong with it. */
  decode(text: string): LstmState {
    const bad = (code: string, message: string) => new ApiError(400, code, message);
    if (text.length > this.encodedLength + 4) {
      throw bad(
        "invalid_state",
        `state is ${text.length} characters; this model's are ${this.encodedLength}`,
      );
    }
    const bytes = fromBase64Url(text);
    if (!bytes) throw bad("invalid_state", "state is not base64url text");
    if (bytes.length < HEADER || bytes[0] !== MAGIC) {
      throw bad("invalid_state", "state is not an lstm-edge state (bad header)");
    }
    if (bytes[1] !== STATE_VERSION) {
      throw bad("invalid_state", `state has version ${bytes[1]}; this server reads version ${STATE_VERSION}`);
    }
    if (!this.#id.every((b, i) => bytes[2 + i] === b)) {
      throw bad("state_model_mismatch", "state belongs to another model; start again without a state");
    }
    const floats = (bytes.length - HEADER) / 4;
    if (floats !== this.stateSize) {
      throw bad("invalid_state", `state holds ${floats} numbers; this model's hold ${this.stateSize}`);
    }
    const view = new DataView(bytes.buffer);
    const data = new Float32Array(floats);
    for (let i = 0; i < floats; i++) {
      const x = view.getFloat32(HEADER + 4 * i, true);
      if (!Number.isFinite(x)) throw bad("invalid_state", `state number ${i} is not finite (${x})`);
      data[i] = x;
    }
    return new LstmState(data, view.getUint32(10, true));
  }
}
