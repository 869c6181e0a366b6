// @ts-check
// The URL state of the learning-rate view (pure, so tests/js can read it): one learning rate per run, under
// the run's id in the `start` config; the short keys of older links stay readable as aliases.
import { SPEED_CHOICES } from "../theme.js";

/** The runs of the view, in panel order; the last is the learner's own. */
export const RUN_IDS = ["too_low", "just_right", "too_high", "much_too_high", "own"];

/** @param {number} fallback @param {string[]} [aliases] */
const lrSpec = (fallback, aliases = []) => ({ type: "number", default: fallback, aliases, validate: (/** @type {number} */ v) => v > 0 && v <= 1000 });

export const LR_SCHEMA = {
  too_low: lrSpec(0.01, ["low"]),
  just_right: lrSpec(0.5, ["right"]), // on f(x) = x² the optimal rate: one step lands on the minimum
  too_high: lrSpec(0.9, ["high"]),
  much_too_high: lrSpec(1.05, ["diverge"]),
  own: lrSpec(0.1),
  speed: { type: "string", default: "4", validate: (/** @type {string} */ v) => SPEED_CHOICES["learning-rate"].includes(v) },
  steps: { type: "int", default: 150, validate: (/** @type {number} */ v) => v >= 1 && v <= 2000 },
};
