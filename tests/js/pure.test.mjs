// Pure functions of static/js, run by `node --test tests/js/` (no browser, no DOM).
import assert from "node:assert/strict";
import { test } from "node:test";

import { clipSegment, colorbar, equalScaleSize, growRange, thin, zScale } from "../../static/js/plot.js";
import { speedIndex } from "../../static/js/controls.js";
import { SPEEDS, styleOf } from "../../static/js/theme.js";
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

test("clipSegment keeps the part of an arrow inside the plot box and says when its head was cut", () => {
  const box = { x: [-2, 2], y: [-1, 3] };
  assert.deepEqual(clipSegment(0, 0, 1, 1, box), { x0: 0, y0: 0, x1: 1, y1: 1, head: true });
  const cut = clipSegment(1, 1, 5, 1, box); // heads off to the right, across the colour bar
  assert.deepEqual(cut, { x0: 1, y0: 1, x1: 2, y1: 1, head: false });
  const entering = clipSegment(-6, 0, 0, 0, box);
  assert.equal(entering.x0, -2);
  assert.equal(entering.head, true);
  assert.equal(clipSegment(3, 4, 5, 6, box), null, "a segment wholly outside draws nothing");
  assert.equal(clipSegment(3, 0, 3, 2, box), null, "a vertical segment right of the box draws nothing");
});

test("equalScaleSize gives the figure the view box's shape: one unit as long across as up", () => {
  const margin = { l: 48, r: 78, t: 10, b: 40 };
  const square = equalScaleSize(1000, margin, [-3, 3, -3, 3], 240, 640);
  assert.equal(square.height, 640, "a square box in a wide card is capped in height ...");
  assert.equal(square.width - margin.l - margin.r, square.height - margin.t - margin.b, "... and narrows to stay square");
  const flat = equalScaleSize(600, margin, [-2, 2, -1.2, 1.2], 240, 640);
  assert.equal(flat.width, 600);
  const [pw, ph] = [flat.width - margin.l - margin.r, flat.height - margin.t - margin.b];
  assert.ok(Math.abs(pw / 4 - ph / 2.4) < 0.5, `px per unit across ${pw / 4} vs up ${ph / 2.4}`);
});

test("styleOf gives neighbouring runs a different colour, dash and marker symbol", () => {
  for (let i = 0; i < 7; i++) {
    const [a, b] = [styleOf(i), styleOf(i + 1)];
    assert.notEqual(a.color, b.color);
    assert.notEqual(a.dash, b.dash);
    assert.notEqual(a.symbol, b.symbol);
  }
  assert.equal(styleOf(0).dash, "solid");
});

test("colour-bar ticks of a surface spanning hundreds of decades are short, distinct powers of ten", () => {
  const xs = Array.from({ length: 61 }, (_, i) => -3 + i / 10);
  const grid = { z: [xs.map((x) => Math.exp(100 * x))] }; // exp(100*x): 1e-130 ... 2e130
  const bar = colorbar(zScale(grid));
  assert.ok(bar.ticktext.length >= 3);
  assert.equal(new Set(bar.ticktext).size, bar.ticktext.length, `ticks repeat: ${bar.ticktext}`);
  for (const text of bar.ticktext) assert.match(text, /^10<sup>\d+<\/sup>$/);
  const rosenbrock = colorbar(zScale({ z: [[0, 0.01, 0.1, 1, 3, 5, 10, 100, 2500]] }));
  assert.ok(rosenbrock.ticktext.includes("100"), `small decades stay plain numbers: ${rosenbrock.ticktext}`);
});
