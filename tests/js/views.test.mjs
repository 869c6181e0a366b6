// The URL state of the learning-rate view and the network view's layer check (pure modules of static/js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { encodeState, readState } from "../../static/js/state.js";
import { LR_SCHEMA, RUN_IDS } from "../../static/js/views/learning-rate-schema.js";
import { DEFAULT_LIMITS, validLayers } from "../../static/js/limits.js";

test("learning-rate: each rate's URL key is its run id", () => {
  const state = readState(LR_SCHEMA, "?too_low=0.02&just_right=0.5&too_high=0.8&much_too_high=1.2&own=0.3");
  assert.deepEqual(
    RUN_IDS.map((id) => state[id]),
    [0.02, 0.5, 0.8, 1.2, 0.3],
  );
  assert.equal(encodeState(LR_SCHEMA, state), "too_low=0.02&just_right=0.5&too_high=0.8&much_too_high=1.2&own=0.3");
});

test("learning-rate: the old low / right / high / diverge keys are read as aliases", () => {
  const state = readState(LR_SCHEMA, "?low=0.02&right=0.5&high=0.8&diverge=1.2");
  assert.deepEqual([state.too_low, state.just_right, state.too_high, state.much_too_high], [0.02, 0.5, 0.8, 1.2]);
  assert.equal(encodeState(LR_SCHEMA, state), "too_low=0.02&just_right=0.5&too_high=0.8&much_too_high=1.2", "written under the new names");
  assert.equal(readState(LR_SCHEMA, "?low=0.02&too_low=0.03").too_low, 0.03, "the run id wins over its alias");
  assert.equal(readState(LR_SCHEMA, "?diverge=-1").much_too_high, 1.05, "an invalid rate falls back to the default");
});

test("validLayers checks the URL's layers against hello.limits, the defaults before it", () => {
  const two = [{ units: 8, act: "relu" }, { units: 8, act: "tanh" }];
  assert.ok(validLayers(two));
  assert.ok(validLayers([]));
  assert.ok(!validLayers([{ units: 8, act: "swish" }]), "an activation the server does not know");
  assert.ok(!validLayers([{ units: DEFAULT_LIMITS.max_units + 1, act: "relu" }]), "too many units");
  assert.ok(!validLayers(Array.from({ length: DEFAULT_LIMITS.max_layers + 1 }, () => ({ units: 2, act: "relu" }))), "too many layers");
  assert.ok(!validLayers([{ units: 1.5, act: "relu" }]) && !validLayers("relu") && !validLayers([null]));
  const limits = { activations: ["relu", "swish"], max_layers: 1, max_units: 64 };
  assert.ok(validLayers([{ units: 64, act: "swish" }], limits), "the server's own limits");
  assert.ok(!validLayers(two, limits), "more layers than this server allows");
  assert.ok(validLayers(two, { max_layers: 3 }), "what hello leaves out falls back to the defaults");
});
