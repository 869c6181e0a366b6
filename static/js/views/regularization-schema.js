// @ts-check
// The URL state of the L1 vs L2 view (pure, so tests/js can read it). `dataset` (dataset.name), `hidden`,
// `epochs` and `lr` are the API's names for what they set; `ds`, the older key, stays readable as an alias.
//
// `lam` and `lam2` are not API field names, because no one field takes either value: `lam` is the `l1` of the
// L1 network and the `l2` of the L2 network at once, and `lam2` is a coefficient inside the two-weight model's
// custom expression (POST /api/v1/traces), not a field of any request.

/** The λ ladder of the networks' slider (each rung trained for the count-vs-λ chart). With the view's defaults
 * (circle, 16,16, SGD lr 0.3, 100 epochs) both networks still learn up to 0.03 and both collapse at 0.1, where
 * the page says so. */
export const LADDER = [0, 1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1];

/** @param {string[]} datasetNames the datasets the view offers (two features, classification) */
export function regularizationSchema(datasetNames) {
  return {
    lam: { type: "number", default: 1e-3, validate: (/** @type {number} */ v) => LADDER.includes(v) },
    lam2: { type: "number", default: 1, validate: (/** @type {number} */ v) => v >= 0.1 && v <= 3 },
    dataset: { type: "string", default: "circle", aliases: ["ds"], validate: (/** @type {string} */ v) => datasetNames.includes(v) },
    hidden: { type: "numbers", default: [16, 16], validate: (/** @type {number[]} */ v) => v.length >= 1 && v.length <= 4 && v.every((u) => Number.isInteger(u) && u >= 1 && u <= 32) },
    epochs: { type: "int", default: 100, validate: (/** @type {number} */ v) => v >= 1 && v <= 500 },
    lr: { type: "number", default: 0.3, validate: (/** @type {number} */ v) => v > 0 && v <= 1 },
  };
}
