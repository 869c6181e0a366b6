// The notebook widget's pure part: steps from the kernel (wire columns per run) appended to each run's columns.
import assert from "node:assert/strict";
import { test } from "node:test";

import { appendColumns } from "../../static/js/widget.js";

test("appendColumns appends each message's columns to its run and ignores runs it does not know", () => {
  const runs = new Map([["adam", { id: "adam", color: "#0072B2", cols: {}, end: null, lr: 0.1 }]]);
  appendColumns(runs, { adam: { step: [0, 1], loss: [5, 4] } });
  appendColumns(runs, { adam: { step: [2], loss: [3] }, ghost: { step: [0], loss: [1] } });
  assert.deepEqual(runs.get("adam").cols, { step: [0, 1, 2], loss: [5, 4, 3] });
  assert.equal(runs.size, 1);
});
