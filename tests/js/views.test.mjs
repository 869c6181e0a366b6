// The URL state of the learning-rate, landscape, regularization and dropout views and the network view's layer check (pure modules of static/js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { encodeState, readState } from "../../static/js/state.js";
import { LR_SCHEMA, RUN_IDS } from "../../static/js/views/learning-rate-schema.js";
import { landscapeSchema } from "../../static/js/views/landscape-schema.js";
import { regularizationSchema } from "../../static/js/views/regularization-schema.js";
import { dropoutSchema } from "../../static/js/views/dropout-schema.js";
import { DEFAULT_LIMITS, validLayers } from "../../static/js/limits.js";

test("learning-rate: each rate's URL key is its run id", () => {
  const state = readState(LR_SCHEMA, "?too_low=0.02&just_right=0.4&too_high=0.8&much_too_high=1.2&own=0.3");
  assert.deepEqual(
    RUN_IDS.map((id) => state[id]),
    [0.02, 0.4, 0.8, 1.2, 0.3],
  );
  assert.equal(encodeState(LR_SCHEMA, state), "too_low=0.02&just_right=0.4&too_high=0.8&much_too_high=1.2&own=0.3");
});

test("learning-rate: the old low / right / high / diverge keys are read as aliases", () => {
  const state = readState(LR_SCHEMA, "?low=0.02&right=0.4&high=0.8&diverge=1.2");
  assert.deepEqual([state.too_low, state.just_right, state.too_high, state.much_too_high], [0.02, 0.4, 0.8, 1.2]);
  assert.equal(encodeState(LR_SCHEMA, state), "too_low=0.02&just_right=0.4&too_high=0.8&much_too_high=1.2", "written under the new names");
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

const LANDSCAPE = landscapeSchema(["circle", "xor"], ["adam", "sgd"]);
const REGULARIZATION = regularizationSchema(["circle", "xor"]);
const DROPOUT = dropoutSchema(["circle", "xor"]);

test("landscape: the URL keys are the API's dataset, optimizer and batch_size", () => {
  const state = readState(LANDSCAPE, "?dataset=xor&optimizer=sgd&batch_size=16&epochs=12");
  assert.deepEqual([state.dataset, state.optimizer, state.batch_size, state.epochs], ["xor", "sgd", 16, 12]);
  assert.equal(encodeState(LANDSCAPE, state), "dataset=xor&optimizer=sgd&epochs=12&batch_size=16");
  assert.ok(!("ds" in state || "opt" in state || "batch" in state), "no property under an old name");
});

test("landscape: the old ds / opt / batch keys are read as aliases", () => {
  const state = readState(LANDSCAPE, "?ds=xor&opt=sgd&batch=16");
  assert.deepEqual([state.dataset, state.optimizer, state.batch_size], ["xor", "sgd", 16]);
  assert.equal(encodeState(LANDSCAPE, state), "dataset=xor&optimizer=sgd&batch_size=16", "written under the new names");
  const both = readState(LANDSCAPE, "?ds=xor&dataset=circle&opt=sgd&optimizer=adam&batch=16&batch_size=64");
  assert.deepEqual([both.dataset, both.optimizer, both.batch_size], ["circle", "adam", 64], "the API name wins over its alias");
  const bad = readState(LANDSCAPE, "?ds=moons&opt=lion&batch=0");
  assert.deepEqual([bad.dataset, bad.optimizer, bad.batch_size], ["circle", "adam", 32], "an invalid alias falls back to the default");
});

test("regularization: dataset is the API name (ds still read); lam and lam2 keep their keys", () => {
  const state = readState(REGULARIZATION, "?dataset=xor&lam=0.01&lam2=1.5");
  assert.deepEqual([state.dataset, state.lam, state.lam2], ["xor", 0.01, 1.5]);
  assert.equal(encodeState(REGULARIZATION, state), "lam=0.01&lam2=1.5&dataset=xor");
  const old = readState(REGULARIZATION, "?ds=xor&lam=0");
  assert.deepEqual([old.dataset, old.lam], ["xor", 0]);
  assert.equal(encodeState(REGULARIZATION, old), "lam=0&dataset=xor", "written under the new name");
  assert.equal(readState(REGULARIZATION, "?ds=xor&dataset=circle").dataset, "circle", "the API name wins over its alias");
  assert.equal(readState(REGULARIZATION, "?lam=0.02").lam, 1e-3, "λ off the ladder falls back to the default");
});

test("dropout: the rates' URL key is the API's dropout (p still read)", () => {
  const state = readState(DROPOUT, "?dropout=0.5,0.25&dataset=xor");
  assert.deepEqual(state.dropout, [0.5, 0.25]);
  assert.ok(!("p" in state));
  assert.equal(encodeState(DROPOUT, state), "dataset=xor&dropout=0.5%2C0.25");
  const old = readState(DROPOUT, "?p=0.45,0.5&ds=xor");
  assert.deepEqual([old.dropout, old.dataset], [[0.45, 0.5], "xor"]);
  assert.equal(encodeState(DROPOUT, old), "dataset=xor&dropout=0.45%2C0.5", "written under the new name");
  assert.deepEqual(readState(DROPOUT, "?p=0.1,0.2&dropout=0.3,0.4").dropout, [0.3, 0.4], "the API name wins over its alias");
  assert.deepEqual(readState(DROPOUT, "?p=0.95").dropout, [0.5, 0.5], "a rate above 0.9 falls back to the default");
});

test("convergence map: URL keys are the API's field paths and the request is the POST /api/v1/maps body", async () => {
  const { mapSchema, mapRequest, DEFAULT_RUNS } = await import("../../static/js/views/convergence-map-schema.js");
  const schema = mapSchema(["himmelblau", "rosenbrock", "custom"], ["sgd", "momentum", "adam"]);
  const state = readState(schema, "?kind=trainability&surface=rosenbrock&n=50&x.min=0.001&y.name=betas.0&y.max=0.9&start=1,2");
  assert.deepEqual(mapRequest(state), {
    kind: "trainability", n: 50, steps: 300, tolerance: 1e-3, runs: DEFAULT_RUNS, surface: "rosenbrock", start: [1, 2],
    x: { name: "lr", min: 0.001, max: 1, scale: "log" },
    y: { name: "betas.0", min: 0, max: 0.9, scale: "linear" },
  });
  assert.equal(encodeState(schema, state), "kind=trainability&surface=rosenbrock&n=50&start=1%2C2&x.min=0.001&y.name=betas.0&y.max=0.9");
  const basins = readState(schema, "?surface=custom&expression=x**2%2By**2&n=7");
  assert.deepEqual(mapRequest(basins), { kind: "basins", n: 100, steps: 300, tolerance: 1e-3, runs: DEFAULT_RUNS, expression: "x**2+y**2" }, "n=7 is not offered: the default");
  assert.deepEqual(readState(schema, `?runs=${encodeURIComponent(JSON.stringify([{ id: "a", optimizer: "nope", hyperparameters: { lr: 1 } }]))}`).runs, DEFAULT_RUNS, "an unknown optimizer: the default panels");
});

test("convergence map: axes fall back to what every panel's optimizer can take", async () => {
  const { axisNames, fitAxes } = await import("../../static/js/views/convergence-map-schema.js");
  const hp = (name, kind = "float") => ({ name, kind });
  const sgd = { hyperparameters: [hp("lr"), hp("momentum"), hp("nesterov", "bool")] };
  const adam = { hyperparameters: [hp("lr"), hp("betas", "pair"), hp("eps")] };
  assert.deepEqual(axisNames([adam]), ["lr", "betas.0", "betas.1", "eps"]);
  assert.deepEqual(axisNames([sgd, adam]), ["lr"]);
  assert.deepEqual(fitAxes({ "x.name": "lr", "y.name": "momentum" }, axisNames([adam])), { "x.name": "lr", "y.name": "betas.0" });
  assert.deepEqual(fitAxes({ "x.name": "lr", "y.name": "momentum" }, axisNames([sgd])), { "x.name": "lr", "y.name": "momentum" }, "kept when allowed");
  assert.deepEqual(fitAxes({ "x.name": "eps", "y.name": "eps" }, axisNames([adam])), { "x.name": "eps", "y.name": "lr" }, "y never equals x");
});

test("convergence map: cell values and the discrete basin scale", async () => {
  const { cellValues, basinScale, OUTCOME_COLORS } = await import("../../static/js/views/convergence-map-schema.js");
  const rows = { basin: [[0, -1], [-2, -3]], steps_taken: [[12, 30], [300, 4]], final_loss: [[1e-9, 0.5], [2, null]] };
  assert.deepEqual(cellValues(rows, "basin"), [[3, 2], [1, 0]]);
  assert.deepEqual(cellValues(rows, "steps_taken"), [[12, 30], [300, null]], "a diverged cell is drawn as the background");
  assert.deepEqual(cellValues(rows, "final_loss"), [[1e-9, 0.5], [2, null]]);
  const scale = basinScale(2, ["#111111", "#222222"]);
  assert.equal(scale.zmin, -0.5);
  assert.equal(scale.zmax, 4.5);
  assert.deepEqual(scale.colorscale.slice(0, 2), [[0, OUTCOME_COLORS.diverged], [0.2, OUTCOME_COLORS.diverged]]);
  assert.deepEqual(scale.colorscale.slice(-2), [[0.8, "#222222"], [1, "#222222"]]);
});
