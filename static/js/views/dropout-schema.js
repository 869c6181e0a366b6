// @ts-check
// The URL state of the dropout view (pure, so tests/js can read it). Keys are the API's names for what they
// set — `dataset` (dataset.name), `noise`, `n`, `hidden`, `dropout` (one rate p per hidden layer), `epochs` of
// the network config — and the short keys of older links (`ds`, `p`) stay readable as aliases.

/** @param {number[]} v */
const validLayers = (v) => v.length >= 1 && v.length <= 4 && v.every((u) => Number.isInteger(u) && u >= 1 && u <= 32);

/** @param {string[]} datasetNames the datasets the view offers (two features, classification) */
export function dropoutSchema(datasetNames) {
  return {
    dataset: { type: "string", default: "circle", aliases: ["ds"], validate: (/** @type {string} */ v) => datasetNames.includes(v) },
    noise: { type: "number", default: 0.6, validate: (/** @type {number} */ v) => v >= 0 && v <= 1 },
    n: { type: "int", default: 200, validate: (/** @type {number} */ v) => v >= 20 && v <= 2000 },
    hidden: { type: "numbers", default: [32, 32], validate: validLayers },
    dropout: { type: "numbers", default: [0.5, 0.5], aliases: ["p"], validate: (/** @type {number[]} */ v) => v.every((x) => x >= 0 && x <= 0.9) },
    epochs: { type: "int", default: 200, validate: (/** @type {number} */ v) => v >= 1 && v <= 2000 },
    lr: { type: "number", default: 0.01, validate: (/** @type {number} */ v) => v > 0 && v <= 1 },
    speed: { type: "string", default: "60", validate: (/** @type {string} */ v) => v === "max" || Number(v) > 0 },
  };
}
