// The cross-entropy view's pure helpers: URL state, Keras batch positions, the three batch sizes, latestOnly.
import assert from "node:assert/strict";
import { test } from "node:test";

import { encodeState, readState } from "../../static/js/state.js";
import {
  XENT_SCHEMA, batchPosition, comparisonSizes, latestOnly, surfaceParams,
} from "../../static/js/views/cross-entropy-schema.js";

test("cross-entropy: URL keys are the API's field names; defaults are left out", () => {
  const state = readState(XENT_SCHEMA, "?optimizer=adam&hyperparameters=%7B%22lr%22%3A0.1%7D&batch_size=1&rows=500&start=1,2");
  assert.equal(state.optimizer, "adam");
  assert.deepEqual(state.hyperparameters, { lr: 0.1 });
  assert.deepEqual(surfaceParams(state), { rows: 500, val_fraction: 0.2, batch_size: 1, seed: 0 });
  assert.deepEqual(surfaceParams(state, 32).batch_size, 32);
  assert.deepEqual(state.start, [1, 2]);
  assert.equal(encodeState(XENT_SCHEMA, readState(XENT_SCHEMA, "")), "");
  assert.equal(readState(XENT_SCHEMA, "?batch_size=0").batch_size, 32, "an invalid batch size falls back");
  assert.equal(readState(XENT_SCHEMA, "?rows=12").rows, 875, "fewer rows than the slide's 13 fall back");
});

test("cross-entropy: step t uses batch t, counted as Keras prints epoch and iteration (700 / 32 → 22)", () => {
  assert.deepEqual(batchPosition(0, 22), { epoch: 1, iteration: 1 });
  assert.deepEqual(batchPosition(21, 22), { epoch: 1, iteration: 22 });
  assert.deepEqual(batchPosition(22, 22), { epoch: 2, iteration: 1 });
  assert.deepEqual(batchPosition(300, 22), { epoch: 14, iteration: 15 });
  assert.deepEqual(batchPosition(5, 1), { epoch: 6, iteration: 1 }, "full batch: one iteration per epoch");
  assert.deepEqual(comparisonSizes(700), [700, 32, 1]);
  assert.deepEqual(comparisonSizes(10), [10, 10, 1]);
});

test("cross-entropy: latestOnly keeps one request in flight and fetches only the newest wish", async () => {
  const asked = [];
  const shown = [];
  /** @type {Array<() => void>} */
  const pending = [];
  const fetcher = (args) => new Promise((resolve) => { asked.push(args); pending.push(() => resolve(args * 10)); });
  const latest = latestOnly(fetcher, (result) => shown.push(result));
  latest.ask("1", 1);
  latest.ask("2", 2);
  latest.ask("3", 3); // replaces 2, which is never fetched
  latest.ask("1", 1); // the one in flight: nothing new
  assert.deepEqual(asked, [1]);
  pending.shift()();
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(asked, [1], "wish 3 was dropped: 1 was asked again after it");
  latest.ask("3", 3);
  assert.deepEqual(asked, [1, 3]);
  pending.shift()();
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(shown, [10, 30]);
  latest.ask("3", 3);
  assert.deepEqual(asked, [1, 3], "what is shown is not fetched again");
  latest.forget();
  latest.ask("3", 3);
  assert.deepEqual(asked, [1, 3, 3], "after forget() it is");
});
