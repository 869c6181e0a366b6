// The fair race's pure functions (static/js/fair.js): what the race sends, and how each run's settings read.
import assert from "node:assert/strict";
import { test } from "node:test";

import { clipFields, clipState, fairConfig, tuningFacts } from "../../static/js/fair.js";

const evaluating = (name) => ["lbfgs", "sam", "newton", "polyak"].includes(name);
const runs = [
  { id: "adam", optimizer: "adam", hyperparameters: { lr: 0.05 } },
  { id: "lbfgs", optimizer: "lbfgs", hyperparameters: { lr: 1 } },
];

test("fair race: nothing extra is sent with the fairness settings off", () => {
  const out = fairConfig({ budget: "steps", tune: 0, clip: 0 }, runs, evaluating);
  assert.deepEqual(out.cfg, {});
  assert.deepEqual(out.runs, runs);
});

test("fair race: budget, tune and clipping go into the config; L-BFGS is sent without clipping", () => {
  const out = fairConfig({ budget: "evaluations", tune: 12, clip: 2.5 }, runs, evaluating);
  assert.deepEqual(out.cfg, { budget: "evaluations", tune: { count: 12, low: 1e-4, high: 1 } });
  assert.equal(out.runs[0].clip_norm, 2.5);
  assert.equal("clip_norm" in out.runs[1], false, "an optimizer that evaluates the function is never clipped");
  assert.deepEqual(clipFields(1, "sam", evaluating), {});
  assert.deepEqual(clipFields(1, "sgd", evaluating), { clip_norm: 1 });
});

test("fair race: each run's clipping as the table says it", () => {
  assert.equal(clipState({ clip_norm: 1 }, false), "norm");
  assert.equal(clipState({ clip_value: 0.5 }, false), "value");
  assert.equal(clipState({ clip_norm: null, clip_value: null }, false), "none");
  assert.equal(clipState({ clip_norm: null }, true), "own");
});

test("fair race: a learning-rate search's facts, the winner and the diverged candidates", () => {
  const tuning = { lr: 0.01, candidates: [0.0001, 0.01, 1], final_losses: [3.5, 0.2, null], budget: { evaluations: 500 } };
  const facts = tuningFacts(tuning);
  assert.deepEqual(
    { count: facts.count, low: facts.low, high: facts.high, kind: facts.kind, amount: facts.amount, chosen: facts.chosen },
    { count: 3, low: 0.0001, high: 1, kind: "evaluations", amount: 500, chosen: 1 },
  );
  assert.deepEqual(facts.rows[2], { lr: 1, loss: null });
  assert.equal(tuningFacts({ ...tuning, lr: null }).chosen, -1, "every candidate diverged: no winner");
  assert.equal(tuningFacts(null), null);
});
