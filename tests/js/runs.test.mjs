// RunStore and TrainingLog (static/js/runs.js): frames decoded by the columns the server names.
import assert from "node:assert/strict";
import { test } from "node:test";

import { RunStore, TrainingLog, appendColumns, appendEvaluated, auxKinds, column, followRuns } from "../../static/js/runs.js";

const started = (columns) => ({
  type: "started",
  seq: 1,
  columns,
  runs: [
    { id: "sgd", optimizer: "sgd", hyperparameters: { lr: 0.1 } },
    { id: "adam", optimizer: "adam", hyperparameters: { lr: 0.01 } },
  ],
  steps: 10,
  speed: 30,
  paused: false,
});

test("a steps frame is decoded by started.columns, not by a list of our own", () => {
  const store = new RunStore();
  store.start(started(["step", "x", "loss", "brand_new"]));
  const moved = store.append({ type: "steps", seq: 1, runs: { sgd: { step: [0, 1], x: [1, 0.5], loss: [1, 0.25], brand_new: [7, 8], unknown: [1, 2] } } });
  assert.deepEqual(moved, [["sgd", 1]]);
  const sgd = store.get("sgd");
  assert.deepEqual(sgd.cols, { step: [0, 1], x: [1, 0.5], loss: [1, 0.25], brand_new: [7, 8] });
  assert.deepEqual(store.get("adam").cols.step, [], "a run that did not move has empty columns");
});

test("a run's aux columns are decoded; a run added later brings its own", () => {
  const store = new RunStore();
  const msg = started(["step", "x", "y", "eval_x", "eval_y"]);
  msg.runs[1] = { id: "sf", optimizer: "schedule_free_adamw", aux_columns: ["eval_x", "eval_y"] };
  store.start(msg);
  assert.deepEqual(store.get("sf").auxColumns, ["eval_x", "eval_y"]);
  assert.deepEqual(store.get("sgd").auxColumns, []);
  store.append({ runs: { sf: { step: [0], x: [1], y: [2], eval_x: [1], eval_y: [2] }, sgd: { step: [0], x: [1], y: [2] } } });
  assert.deepEqual(column(store.get("sgd"), "eval_x"), [], "a run without the column has none");
  store.add({ id: "p", optimizer: "prodigy", aux_columns: ["d"] });
  assert.ok(store.columns.includes("d"));
  store.append({ runs: { p: { step: [0, 1], x: [1, 1], y: [2, 2], d: [1e-6, null] } } });
  assert.deepEqual(column(store.get("p"), "d"), [1e-6, null], "null (undefined) is kept as a gap");
});

test("auxKinds tells points (drawn as a second path) from scalars (drawn over the steps)", () => {
  assert.deepEqual(auxKinds(["eval_x", "eval_y"]), { points: ["eval"], scalars: [] });
  assert.deepEqual(auxKinds(["ax_x", "ax_y", "d"]), { points: ["ax"], scalars: ["d"] });
  assert.deepEqual(auxKinds([]), { points: [], scalars: [] });
});

test("frames append in order; runs removed locally are skipped", () => {
  const store = new RunStore();
  store.start(started(["step", "x"]));
  store.append({ runs: { sgd: { step: [0], x: [1] }, adam: { step: [0], x: [2] } } });
  store.delete("adam");
  assert.deepEqual(store.append({ runs: { sgd: { step: [1], x: [0.5] }, adam: { step: [1], x: [1] } } }), [["sgd", 1]]);
  assert.deepEqual(store.get("sgd").cols.x, [1, 0.5]);
  assert.equal(store.get("adam"), undefined);
});

test("a new started forgets the old runs and takes its columns", () => {
  const store = new RunStore();
  store.start(started(["step", "x"]));
  store.append({ runs: { sgd: { step: [0], x: [1] } } });
  store.start(started(["step", "y"]), (run) => ({ color: run.id === "sgd" ? "blue" : "red" }));
  assert.deepEqual(store.get("sgd").cols, { step: [], y: [] });
  assert.equal(store.get("adam").color, "red");
});

test("an event records how a run ended", () => {
  const store = new RunStore();
  store.start(started(["step"]));
  store.end({ type: "event", seq: 1, run: "sgd", reason: "converged", step: 4, detail: "small gradient", summary: { final_loss: 0 } });
  assert.deepEqual(store.get("sgd").end, { reason: "converged", step: 4, detail: "small gradient" });
  assert.deepEqual(store.get("sgd").summary, { final_loss: 0 });
  assert.equal(store.end({ run: "gone", reason: "diverged" }), undefined);
});

test("a blank run before any start reads as empty columns", () => {
  const run = new RunStore().blank({ id: "sgd", optimizer: "sgd" });
  assert.deepEqual(column(run, "step"), []);
});

test("appendColumns counts the rows that arrived", () => {
  const target = {};
  assert.equal(appendColumns(target, { a: [1, 2, 3], b: [4, 5, 6] }, ["a"]), 3);
  assert.deepEqual(target, { a: [1, 2, 3] });
});

test("TrainingLog gathers iterations, epochs and the end of a training", () => {
  const log = new TrainingLog();
  log.started({ type: "started", epochs: 2, iterations_per_epoch: 2 });
  const logs = [{ accuracy: 0.5, loss: 1 }, { accuracy: 0.66, loss: 0.83 }];
  log.iterations({ epoch: [1, 1], iteration: [1, 2], global_step: [1, 2], batch_loss: [1, 0.5], lr: [0.1, 0.1], batch: [[0, 1], [2]], masks: [null, null], logs, seconds: [0.001, 0.002] });
  assert.equal(log.count, 2);
  assert.deepEqual(log.last(), { epoch: 1, iteration: 2, global_step: 2, batch_loss: 0.5, lr: 0.1, batch: [2], masks: null, logs: logs[1], seconds: 0.002 });
  log.epochs([{ epoch: 1, train_loss: 0.8, weights: [[1]], decision_grid: { z: [] }, slide_rows: { y_hat: [0.2], loss: [1.6] } }]);
  log.epochs([{ epoch: 2, train_loss: 0.7, weights: [[2]], decision_grid: { z: [2] }, slide_rows: { y_hat: [0.4], loss: [0.9] } }]);
  assert.deepEqual(log.weights, [[2]]);
  assert.equal(log.gridEpoch, 2);
  assert.equal(log.slideEpoch, 2);
  assert.equal(log.restored, false);
  log.event({ reason: "early_stop", epoch: 2, best_epoch: 1 });
  assert.equal(log.bestEpoch, 1);
  assert.equal(log.stopEpoch, 2);
  assert.equal(log.gridEpoch, 2, "weights not restored: the stop epoch's grid stays");
});

test("TrainingLog shows the restored best weights' grid, weights and slide rows, named by their epoch", () => {
  const log = new TrainingLog();
  log.started({ type: "started", epochs: 20, iterations_per_epoch: 1 });
  log.epochs([{ epoch: 20, weights: [[2]], decision_grid: { z: [2] }, slide_rows: { y_hat: [0.4], loss: [0.9] } }]);
  log.event({ reason: "early_stop", epoch: 20, best_epoch: 10, restored_best_weights: true, weights: [[1]], decision_grid: { z: [1] }, slide_rows: { y_hat: [0.3], loss: [1.2] } });
  assert.equal(log.restored, true);
  assert.deepEqual([log.weights, log.weightsEpoch], [[[1]], 10]);
  assert.deepEqual([log.grid, log.gridEpoch], [{ z: [1] }, 10]);
  assert.deepEqual([log.slide.loss, log.slideEpoch], [[1.2], 10]);
});

test("TrainingLog.fromTrace reads a whole REST trace", () => {
  const log = TrainingLog.fromTrace({ epochs: [{ epoch: 1 }], iterations: { epoch: [1], iteration: [1], global_step: [1], batch_loss: [0.3], lr: [0.1], batch: [[0]], masks: [null] }, summary: { best_epoch: 1 } });
  assert.equal(log.count, 1);
  assert.equal(log.ep.length, 1);
  assert.equal(log.bestEpoch, 1);
});

test("evaluated points join a run's columns aligned with its steps, padded before they first arrive", () => {
  const store = new RunStore();
  store.start(started(["step", "x", "y", "evaluations"]));
  store.append({ type: "steps", seq: 2, runs: { sgd: { step: [0], x: [1], y: [2], evaluations: [0] } } });
  assert.equal(store.get("sgd").cols.evaluated, undefined, "a first-order run has no evaluated column");
  store.append({
    type: "steps",
    seq: 3,
    runs: { sgd: { step: [1, 2], x: [3, 4], y: [5, 6], evaluations: [3, 2], evaluated: [[[1, 1], [2, 2]], [[3, 3]]] } },
  });
  const cols = store.get("sgd").cols;
  assert.deepEqual(cols.evaluations, [0, 3, 2]);
  assert.deepEqual(cols.evaluated, [[], [[1, 1], [2, 2]], [[3, 3]]]);
  assert.equal(cols.evaluated.length, cols.step.length);
});

test("appendEvaluated pads only the steps before the frame", () => {
  const target = { step: [0, 1, 2, 3] };
  appendEvaluated(target, [[[9, 9]]], 1);
  assert.deepEqual(target.evaluated, [[], [], [], [[9, 9]]]);
});

test("followRuns keeps the store, reports each moved run's latest step to the embed and marks changes", () => {
  const store = new RunStore();
  const reported = [];
  let changes = 0;
  const session = { embed: { step: (run, step) => reported.push([run, step]) } };
  const on = followRuns(store, () => session, () => changes++, (run) => ({ color: run.id === "sgd" ? "red" : "blue" }));
  on.started(started(["step", "x"]));
  assert.equal(store.get("sgd").color, "red");
  on.steps({ type: "steps", seq: 1, runs: { sgd: { step: [0, 1], x: [1, 0.5] }, adam: { step: [0], x: [1] } } });
  assert.deepEqual(reported, [["sgd", 1], ["adam", 0]]);
  on.event({ type: "event", seq: 1, run: "adam", reason: "converged", step: 0, detail: "done" });
  assert.equal(store.get("adam").end.reason, "converged");
  assert.equal(changes, 3);
});
