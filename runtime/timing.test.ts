import assert from "node:assert/strict";
import { bestOf, sequenceMsPerToken, stepwiseMsPerToken } from "./timing.ts";
import { LstmModel } from "./model.ts";
import { testModelBytes } from "./app/test_model.ts";

Deno.test("bestOf() keeps the smallest of its measurements", () => {
  const values = [3, 1, 2];
  assert.equal(bestOf(3, () => values.shift()!), 1);
});

Deno.test("stepwiseMsPerToken() feeds every token and asks for its distribution", async () => {
  const model = await LstmModel.load(testModelBytes());
  const calls: string[] = [];
  const spy = {
    createState: () => model.createState(),
    feed: (
      s: ReturnType<LstmModel["createState"]>,
      id: number,
    ) => (calls.push(`feed ${id}`), model.feed(s, id)),
    logProbs: (s: ReturnType<LstmModel["createState"]>) => (calls.push("logProbs"), model.logProbs(s)),
  } as unknown as LstmModel;
  const ms = stepwiseMsPerToken(spy, [1, 2]);
  assert.deepEqual(calls, ["feed 1", "logProbs", "feed 2", "logProbs"]);
  assert.ok(ms >= 0 && Number.isFinite(ms));
  assert.ok(sequenceMsPerToken(model, [1, 2, 3]) >= 0);
});
