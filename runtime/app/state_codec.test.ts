import assert from "node:assert/strict";
import { LstmState } from "../model.ts";
import { ApiError } from "./errors.ts";
import { StateCodec } from "./state_codec.ts";

const ID = "a1b2c3d4e5f60718" + "0".repeat(48);

function code(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof ApiError, String(e));
    assert.equal(e.status, 400);
    return e.code;
  }
  assert.fail("expected an ApiError");
}

Deno.test("StateCodec encodes the worked example of its module documentation", () => {
  const codec = new StateCodec(ID, 2);
  const text = codec.encode(new LstmState(new Float32Array([0.5, -1]), 3));
  assert.equal(text, "TAGhssPU5fYHGAMAAAAAAAA_AACAvw");
  assert.equal(text.length, codec.encodedLength);
});

Deno.test("StateCodec round-trips states exactly, token count included", () => {
  const codec = new StateCodec(ID, 5);
  const data = new Float32Array([0, -0, 1e-30, -3.25, 123456.789]);
  const back = codec.decode(codec.encode(new LstmState(data, 77)));
  assert.deepEqual(Array.from(back.data), Array.from(data));
  assert.equal(back.tokens, 77);
});

Deno.test("StateCodec.decode rejects malformed, foreign, wrong-length and non-finite states with 400", () => {
  const codec = new StateCodec(ID, 2);
  const good = codec.encode(new LstmState(new Float32Array([1, 2]), 1));
  assert.equal(code(() => codec.decode("not base64!")), "invalid_state");
  assert.equal(code(() => codec.decode("")), "invalid_state");
  assert.equal(code(() => codec.decode("A")), "invalid_state");
  assert.equal(code(() => codec.decode("x" + good.slice(1))), "invalid_state"); // magic
  assert.equal(code(() => codec.decode(good + "AAAA")), "invalid_state"); // one float too many
  assert.equal(code(() => codec.decode(good.slice(0, -6))), "invalid_state"); // too short
  assert.equal(code(() => codec.decode(good + "A".repeat(10_000))), "invalid_state"); // huge: refused before decoding
  const other = new StateCodec("f".repeat(64), 2);
  assert.equal(
    code(() => codec.decode(other.encode(new LstmState(new Float32Array(2))))),
    "state_model_mismatch",
  );
  const bytes = Uint8Array.from(
    atob(good.replaceAll("-", "+").replaceAll("_", "/") + "=="),
    (c) => c.charCodeAt(0),
  );
  const tamper = (f: (v: DataView) => void) => {
    const b = bytes.slice();
    f(new DataView(b.buffer));
    return btoa(String.fromCharCode(...b)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
  };
  assert.equal(code(() => codec.decode(tamper((v) => v.setFloat32(14, NaN, true)))), "invalid_state");
  assert.equal(code(() => codec.decode(tamper((v) => v.setFloat32(18, -Infinity, true)))), "invalid_state");
  assert.equal(code(() => codec.decode(tamper((v) => v.setUint8(1, 2)))), "invalid_state"); // version
});
