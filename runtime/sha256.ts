/**
 * A model file's identity: the hex SHA-256 of its bytes (Web Crypto, on every platform the runtime runs
 * on). `/v1/model` reports it and every state token is bound to its first 8 bytes.
 * @module
 */

/** Hex SHA-256 of `bytes`. */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}
