// URL state (static/js/state.js): keys are the API's field names; older short keys are still read.
import assert from "node:assert/strict";
import { test } from "node:test";

import { encodeState, readState, stateKeys } from "../../static/js/state.js";

const SCHEMA = {
  dataset: { type: "string", default: "two_gaussians", aliases: ["ds"] },
  hyperparameters: { type: "json", default: { lr: 0.01 }, aliases: ["hp"] },
  batch_size: { type: "int", default: 32, validate: (v) => v >= 1, aliases: ["bs"] },
  start: { type: "numbers", default: null, validate: (v) => v.length === 2 },
  d3: { type: "bool", default: false },
  speed: { type: "string", default: "20" },
};

test("a state round-trips through its query string", () => {
  const state = { dataset: "xor", hyperparameters: { lr: 0.1, momentum: 0.8 }, batch_size: 8, start: [1.5, -2], d3: true, speed: "max" };
  const query = encodeState(SCHEMA, state);
  assert.deepEqual(readState(SCHEMA, `?${query}`), state);
});

test("encodeState writes the API field names and leaves defaults out", () => {
  const query = encodeState(SCHEMA, { ...readState(SCHEMA, ""), dataset: "xor", batch_size: 16 });
  assert.equal(query, "dataset=xor&batch_size=16");
});

test("the older short keys of shared links are still read", () => {
  const state = readState(SCHEMA, `?ds=xor&bs=16&hp=${encodeURIComponent('{"lr":0.5}')}`);
  assert.equal(state.dataset, "xor");
  assert.equal(state.batch_size, 16);
  assert.deepEqual(state.hyperparameters, { lr: 0.5 });
});

test("the API field name wins over an alias when a link has both", () => {
  assert.equal(readState(SCHEMA, "?ds=xor&dataset=circle").dataset, "circle");
});

test("unreadable or invalid values fall back to the default", () => {
  const state = readState(SCHEMA, "?batch_size=0&start=1,2,3&d3=maybe&hyperparameters={");
  assert.equal(state.batch_size, 32);
  assert.equal(state.start, null);
  assert.equal(state.d3, false);
  assert.deepEqual(state.hyperparameters, { lr: 0.01 });
});

test("defaults are copies: changing a state leaves the schema alone", () => {
  readState(SCHEMA, "").hyperparameters.lr = 9;
  assert.deepEqual(readState(SCHEMA, "").hyperparameters, { lr: 0.01 });
});

test("stateKeys lists names and aliases", () => {
  assert.deepEqual(stateKeys({ expression: { type: "string", default: "", aliases: ["expr"] } }), ["expression", "expr"]);
});
