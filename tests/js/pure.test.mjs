// Pure functions of static/js, run by `node --test tests/js/` (no browser, no DOM).
import assert from "node:assert/strict";
import { test } from "node:test";

import { evaluatedDots, growRange, thin, zScale } from "../../static/js/plot.js";
import { inputText, speedIndex } from "../../static/js/controls.js";
import { SPEEDS } from "../../static/js/theme.js";
import { progressLine } from "../../static/js/netplot.js";
import { learningRates } from "../../static/js/rates.js";
import { splitCsvLine } from "../../static/js/csv.js";
import { cleanHyperparameters } from "../../static/js/embed.js";
import { parseSpeed, statusWord } from "../../static/js/live.js";

const range = (n) => Array.from({ length: n }, (_, i) => i);

test("thin keeps a short path whole, as a copy", () => {
  const xs = [1, 2, 3];
  const out = thin(xs, [4, 5, 6]);
  assert.deepEqual(out, { x: [1, 2, 3], y: [4, 5, 6] });
  assert.notEqual(out.x, xs);
});

test("thin caps a long path at max points and keeps the newest tail in full", () => {
  const xs = range(10000);
  const { x, y } = thin(xs, xs, 2000, 500);
  assert.ok(x.length <= 2000, `kept ${x.length} points`);
  assert.deepEqual(x.slice(-500), xs.slice(-500));
  assert.deepEqual(x, y);
  assert.equal(x[0], 0);
});

test("thin picks the same older points as the path grows (power-of-two stride)", () => {
  const a = thin(range(5000), range(5000), 2000, 500).x;
  const b = thin(range(5100), range(5100), 2000, 500).x;
  const older = a.filter((v) => v < 4000);
  assert.deepEqual(b.slice(0, older.length), older);
});

test("zScale is linear for an even surface and log for a wide one", () => {
  assert.equal(zScale({ z: [[0, 1], [2, 3]] }).log, false);
  const wide = zScale({ z: [[0, 0.01, 0.02, 0.03], [0.04, 0.05, 0.06, 2500]] });
  assert.equal(wide.log, true);
  assert.ok(wide.f(2500) > wide.f(1));
});

test("zScale of a grid without finite values is linear", () => {
  assert.equal(zScale({ z: [[null, NaN]] }).log, false);
});

test("growRange pads a first range and only grows by at least its span", () => {
  const first = growRange(null, 0, 10, false);
  assert.ok(first[0] < 0 && first[1] > 10);
  assert.deepEqual(growRange(first, 1, 9, false), first, "a range holding the data stays");
  const grown = growRange(first, 0, 11, false);
  assert.ok(grown[1] - grown[0] >= 2 * (first[1] - first[0]) - 1e-9, "grows by at least its own span");
  assert.deepEqual(growRange(null, -2.3, 1.2, true), [-3, 2], "log ranges snap to whole decades");
});

test("speedIndex finds a speed's stop and snaps unknown speeds to the nearest", () => {
  assert.equal(SPEEDS[speedIndex(60)], 60);
  assert.equal(speedIndex("max"), SPEEDS.length - 1);
  assert.equal(SPEEDS[speedIndex(55)], 60);
  assert.equal(SPEEDS[speedIndex(250)], 200);
});

test("parseSpeed turns the URL's text into what the server takes", () => {
  assert.equal(parseSpeed("60"), 60);
  assert.equal(parseSpeed("max"), "max");
});

test("statusWord takes a table or a function", () => {
  assert.equal(statusWord({ idle: "Ready" }, "idle"), "Ready");
  assert.equal(statusWord((s) => `is ${s}`, "paused"), "is paused");
});

test("progressLine prints the Keras progress bar", () => {
  assert.equal(
    progressLine({ epoch: 3, epochs: 300, iteration: 22, iterations: 22, loss: 0.41321, valLoss: 0.441 }),
    "Epoch 3/300 — 22/22 [==========] — loss: 0.4132 — val_loss: 0.4410",
  );
  const half = progressLine({ epoch: 1, epochs: 2, iteration: 5, iterations: 10, loss: null, width: 10 });
  assert.match(half, /^Epoch 1\/2 — 5\/10 \[=====>\.\.\.\.\] — loss: /);
  assert.ok(!half.includes("val_loss"));
});

test("learningRates spaces n rates evenly on a log scale, 3 significant digits", () => {
  assert.deepEqual(learningRates(4, 0.001, 1), [0.001, 0.01, 0.1, 1]);
  assert.deepEqual(learningRates(3, 0.0001, 0.1), [0.0001, 0.00316, 0.1]);
  assert.deepEqual(learningRates(1, 0.5, 2), [0.5]);
});

test("splitCsvLine splits on commas outside quotes and unescapes doubled quotes", () => {
  assert.deepEqual(splitCsvLine("a, b ,c"), ["a", "b", "c"]);
  assert.deepEqual(splitCsvLine('"x, y",z'), ["x, y", "z"]);
  assert.deepEqual(splitCsvLine('"say ""hi""",2'), ['say "hi"', "2"]);
  assert.deepEqual(splitCsvLine(""), [""]);
  assert.deepEqual(splitCsvLine("a,,b"), ["a", "", "b"]);
});

test("cleanHyperparameters keeps plain names with numbers, booleans and pairs", () => {
  assert.deepEqual(cleanHyperparameters({ lr: 0.1, nesterov: true, betas: [0.9, 0.99] }), { lr: 0.1, nesterov: true, betas: [0.9, 0.99] });
});

test("cleanHyperparameters refuses anything else whole", () => {
  for (const bad of [null, [], "lr", {}, { lr: NaN }, { lr: "0.1" }, { "<img>": 1 }, { betas: [1] }, { lr: Infinity }, { __proto__x: [1, "a"] }]) {
    assert.equal(cleanHyperparameters(bad), null, JSON.stringify(bad));
  }
});

test("inputText shows tiny values in 6 significant digits and everything else as it is", () => {
  assert.equal(inputText(2.220446049250313e-16), "2.22045e-16");
  assert.equal(inputText(1e-8), "1e-8");
  assert.equal(inputText(0.001), "0.001");
  assert.equal(inputText(0), "0");
  assert.equal(inputText(""), "");
});

test("evaluatedDots flattens the steps' points, keeping the newest max of them in order", () => {
  const evaluated = [[], [[1, 10], [2, 20]], [], [[3, 30]]];
  assert.deepEqual(evaluatedDots(evaluated), { x: [1, 2, 3], y: [10, 20, 30] });
  assert.deepEqual(evaluatedDots(evaluated, 2), { x: [2, 3], y: [20, 30] });
  assert.deepEqual(evaluatedDots(undefined), { x: [], y: [] });
});
