// @ts-check
// The URL state of the landscape view (pure, so tests/js can read it). Keys are the API's names for what
// they set — `dataset` (config.dataset.name), `optimizer`, `batch_size`, `epochs`, `hidden` of the network
// config, `n`, `span`, `seed` of POST /api/v1/networks/landscape — and the short keys of older links (`ds`,
// `opt`, `batch`) stay readable as aliases.

/** Grid points per axis the view offers. */
export const RESOLUTIONS = [21, 31, 41, 61, 81];

/**
 * @param {string[]} datasetNames the datasets the view offers (the first-listed default is "circle")
 * @param {Iterable<string>} optimizerNames the optimizers of the registry
 */
export function landscapeSchema(datasetNames, optimizerNames) {
  const optimizers = new Set(optimizerNames);
  return {
    dataset: { type: "string", default: "circle", aliases: ["ds"], validate: (/** @type {string} */ v) => datasetNames.includes(v) },
    hidden: { type: "numbers", default: [16], validate: (/** @type {number[]} */ v) => v.length <= 4 && v.every((u) => Number.isInteger(u) && u >= 1 && u <= 32) },
    optimizer: { type: "string", default: "adam", aliases: ["opt"], validate: (/** @type {string} */ v) => optimizers.has(v) },
    lr: { type: "number", default: 0.01, validate: (/** @type {number} */ v) => v > 0 && v <= 10 },
    epochs: { type: "int", default: 50, validate: (/** @type {number} */ v) => v >= 1 && v <= 500 },
    batch_size: { type: "int", default: 32, aliases: ["batch"], validate: (/** @type {number} */ v) => v >= 1 && v <= 1000 },
    span: { type: "number", default: 1, validate: (/** @type {number} */ v) => v >= 0.05 && v <= 10 },
    n: { type: "int", default: 41, validate: (/** @type {number} */ v) => RESOLUTIONS.includes(v) },
    seed: { type: "int", default: 0, validate: (/** @type {number} */ v) => v >= 0 && v <= 9999 },
    d3: { type: "bool", default: false },
  };
}
