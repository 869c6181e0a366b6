import assert from "node:assert/strict";
import test from "node:test";

import { CROSS_FRACTION, curvatureCross, curvatureErrorText, debounce, stabilityEdge } from "../../static/js/curvature.js";

const RANGE = { x: [-2, 2], y: [-1, 3] }; // both spans 4

test("the cross has one arm per eigenvector, centred on the point, along it", () => {
  const s = Math.SQRT1_2;
  const arms = curvatureCross({ eigenvalues: [1, 10], eigenvectors: [[s, -s], [s, s]] }, [0.5, 1], RANGE);
  assert.equal(arms.length, 2);
  for (const [i, arm] of arms.entries()) {
    assert.deepEqual([(arm.x[0] + arm.x[1]) / 2, (arm.y[0] + arm.y[1]) / 2], [0.5, 1]);
    const dx = arm.x[1] - arm.x[0];
    const dy = arm.y[1] - arm.y[0];
    const v = [[s, -s], [s, s]][i];
    assert.ok(Math.abs(dx * v[1] - dy * v[0]) < 1e-12, "parallel to its eigenvector");
  }
});

test("arm lengths are |λ|/max|λ| of a fixed fraction of the view; negative curvature is marked", () => {
  const arms = curvatureCross({ eigenvalues: [-5, 10], eigenvectors: [[1, 0], [0, 1]] }, [0, 0], RANGE);
  const half = (arm) => Math.hypot(arm.x[1] - arm.x[0], arm.y[1] - arm.y[0]) / 2;
  assert.ok(Math.abs(half(arms[1]) - CROSS_FRACTION * 4) < 1e-12);
  assert.ok(Math.abs(half(arms[0]) - 0.5 * CROSS_FRACTION * 4) < 1e-12);
  assert.deepEqual(arms.map((a) => a.negative), [true, false]);
});

test("a flat point draws a cross of zero length, not NaN", () => {
  const arms = curvatureCross({ eigenvalues: [0, 0], eigenvectors: [[1, 0], [0, 1]] }, [1, 2], RANGE);
  assert.deepEqual(arms[0].x, [1, 1]);
  assert.deepEqual(arms[1].y, [2, 2]);
});

test("the edge of stability is 2/v, and none without upward curvature", () => {
  assert.equal(stabilityEdge(2), 1); // f = x²: f'' = 2, so lr = 1 bounces forever
  assert.equal(stabilityEdge(0.05), 40); // lr 0.05: sharpness can reach 40
  assert.equal(stabilityEdge(0), null);
  assert.equal(stabilityEdge(-3), null);
  assert.equal(stabilityEdge(null), null);
  assert.equal(stabilityEdge(Infinity), null);
});

test("debounce calls once, with the last arguments, after the calls stop", (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const calls = [];
  const f = debounce((x) => calls.push(x), 150);
  f(1);
  t.mock.timers.tick(100);
  f(2);
  t.mock.timers.tick(100);
  f(3);
  assert.deepEqual(calls, []);
  t.mock.timers.tick(150);
  assert.deepEqual(calls, [3]);
});

test("a 422 says the point has no Hessian; other failures keep their message", () => {
  const t = (key, params = {}) => `${key}${params.message ? `:${params.message}` : ""}`;
  assert.equal(curvatureErrorText({ status: 422, message: "the surface is not twice differentiable here" }, t), "curv.none");
  assert.equal(curvatureErrorText({ status: 503, message: "busy" }, t), "curv.failed:busy");
});
