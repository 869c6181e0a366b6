// Pure functions of static/js, run by `node --test tests/js/` (no browser, no DOM).
import assert from "node:assert/strict";
import { test } from "node:test";

import { clipSegment, colorbar, equalScaleSize, evaluatedDots, growRange, thin, zScale } from "../../static/js/plot.js";
import { inputText, speedIndex } from "../../static/js/controls.js";
import { SPEEDS, styleOf } from "../../static/js/theme.js";
import { kerasNumber, kerasStepTime, progressLine, progressParts } from "../../static/js/netplot.js";
import { learningRates } from "../../static/js/rates.js";
import { splitCsvLine } from "../../static/js/csv.js";
import { cleanHyperparameters, contentHeight } from "../../static/js/embed.js";
import { errorText, toDotDecimal } from "../../static/js/i18n.js";
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

test("progressLine prints the epoch's end exactly as Keras 3 does, Epoch n/N on the line before", () => {
  const logs = { accuracy: 0.92813, loss: 0.29451, val_accuracy: 1, val_loss: 0.21444 };
  assert.equal(
    progressLine({ epoch: 11, epochs: 100, step: 10, steps: 10, seconds: 0.021, logs, final: true }),
    "Epoch 11/100\n10/10 ━━━━━━━━━━━━━━━━━━━━ 0s 2ms/step - accuracy: 0.9281 - loss: 0.2945 - val_accuracy: 1.0000 - val_loss: 0.2144",
  );
  // one epoch only: Keras prints no "Epoch 1/1" line
  assert.equal(progressLine({ epoch: 1, epochs: 1, step: 3, steps: 3, seconds: 3.6, logs: { loss: 2 }, final: true }), "3/3 ━━━━━━━━━━━━━━━━━━━━ 4s 1s/step - loss: 2.0000");
});

test("progressParts mid-epoch: padded count, the done share of 20 bars, the ETA, running logs", () => {
  const parts = progressParts({ epoch: 2, epochs: 300, step: 6, steps: 22, seconds: 0.0012, logs: { accuracy: 0.5, loss: 0.00012 } });
  assert.equal(parts.header, "Epoch 2/300");
  assert.equal(parts.count, " 6/22 ");
  assert.equal(parts.done, "━".repeat(5)); // int(20 · 6/22)
  assert.equal(parts.todo, "━".repeat(15));
  assert.equal(parts.info, " 0s 200us/step - accuracy: 0.5000 - loss: 1.2000e-04");
});

test("progressLine in tf.keras 2's form: the slide's 22/22 [====] - 0s 2ms/step - loss first", () => {
  const logs = { accuracy: 0.75, loss: 256629.3281, val_accuracy: 0.5, val_loss: 0.7 };
  assert.equal(
    progressLine({ epoch: 1, epochs: 300, step: 22, steps: 22, seconds: 0.044, logs, final: true, style: "keras2" }),
    "Epoch 1/300\n22/22 [==============================] - 0s 2ms/step - loss: 256629.3281 - accuracy: 0.7500 - val_loss: 0.7000 - val_accuracy: 0.5000",
  );
  const half = progressLine({ epoch: 1, epochs: 2, step: 5, steps: 10, seconds: 0.5, logs: { loss: 0.5 }, style: "keras2" });
  assert.equal(half, "Epoch 1/2\n 5/10 [==============>...............] - ETA: 0s - loss: 0.5000");
});

test("kerasNumber and kerasStepTime format as Python's %.4f / %.4e and Keras' _format_time", () => {
  assert.equal(kerasNumber(0.001), "1.0000e-03");
  assert.equal(kerasNumber(-2.5), "-2.5000");
  assert.equal(kerasNumber(1e-12), "1.0000e-12");
  assert.equal(kerasStepTime(0), " 0s/step");
  assert.equal(kerasStepTime(0.0024), " 2ms/step");
  assert.equal(kerasStepTime(2.4), " 2s/step");
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

test("contentHeight is the body's height in whole px, rounded up, the larger of its box and its scroll height", () => {
  const body = (scrollHeight, height) => ({ scrollHeight, getBoundingClientRect: () => ({ height }) });
  assert.equal(contentHeight(body(1600, 1623.2)), 1624);
  assert.equal(contentHeight(body(1700, 1623.2)), 1700);
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

const TR = {
  "error.at_column": " ({column}. sütun)",
  "error.kind.optimizer": "optimizer",
  "error.unknown_name": "bilinmeyen {kind}: '{name}'; geçerli olanlar: {valid}",
  "error.expression.unknown_function": "bilinmeyen fonksiyon '{name}'",
  "error.validation.greater_than": "{gt} değerinden büyük olmalı",
};

test("errorText says a keyed refusal with the catalog's words, the column of an expression appended", () => {
  const detail = { msg: "unknown function 'foo'; allowed: sin (column 8)\n  x + foo(y)\n      ^^^", key: "expression.unknown_function", params: { name: "foo", column: 8 } };
  assert.equal(errorText(detail, TR), "bilinmeyen fonksiyon 'foo' (8. sütun)");
  assert.equal(errorText({ message: "…", key: "unknown_name", params: { kind: "optimizer", name: "adamm", valid: "adam, sgd" } }, TR), "bilinmeyen optimizer: 'adamm'; geçerli olanlar: adam, sgd");
  assert.equal(errorText({ msg: "Input should be greater than 0.5", key: "validation.greater_than", params: { gt: 0.5 } }, TR), "0.5 değerinden büyük olmalı");
});

test("errorText falls back to the first line of the English msg or message without a known key", () => {
  assert.equal(errorText({ msg: "syntax error (column 3)\n  x**\n    ^", key: "expression.new_kind", params: {} }, TR), "syntax error (column 3)");
  assert.equal(errorText({ message: "at most 60 commands per second" }, TR), "at most 60 commands per second");
  assert.equal(errorText(null, TR), "");
});

test("toDotDecimal leaves a dot-decimal number alone on an English page", () => {
  assert.equal(toDotDecimal(" 0.3 "), "0.3");
  assert.equal(toDotDecimal("0,3"), "0,3"); // only a decimal-comma page reads the comma as the decimal point
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
