/**
 * The runtime for a browser page (the demo's offline mode): load a `.lem` and predict with no server.
 * Bundled by runtime/entries/bundle.ts with the kernels' WASM inlined, so the bundle is self-contained.
 * @module
 */
import { LstmModel } from "../model.ts";
import { TextService } from "../app/service.ts";
import { modelCard } from "../app/model_card.ts";

// modelCard: the demo page describes a `.lem` file it loads offline as the server describes its own.
export { LstmModel, modelCard, TextService };

/**
 * Loads a model with the given kernels (bytes or compiled module) and, optionally, the relaxed-SIMD
 * kernels, used where this browser validates them.
 */
export function loadModelWith(
  bytes: Uint8Array,
  kernels: BufferSource | WebAssembly.Module,
  relaxedKernels?: BufferSource | WebAssembly.Module,
): Promise<LstmModel> {
  return LstmModel.load(bytes, { kernels, relaxedKernels: relaxedKernels ?? false });
}

/** Prediction, scoring and generation on text, as the server's routes do them. */
export function textService(model: LstmModel): TextService {
  return new TextService(model, { maxTextTokens: Number.MAX_SAFE_INTEGER });
}
