// @ts-check
// The URL state of the cross-entropy view and its pure helpers (no DOM, so tests/js can import them): the keys
// are the API's field names (the run's `optimizer` and `hyperparameters`, the insurance_bce surface's `rows`,
// `val_fraction`, `batch_size`, `seed`, the trace's `start` and `steps`); `show_batch` is the page's own.

export const SURFACE = "insurance_bce";
export const RUN_ID = "descent";

export const XENT_SCHEMA = {
  optimizer: { type: "string", default: "sgd" },
  hyperparameters: {
    type: "json",
    default: { lr: 0.5 },
    validate: (/** @type {any} */ v) => v && typeof v === "object" && !Array.isArray(v),
  },
  steps: { type: "int", default: 300, validate: (/** @type {number} */ v) => v >= 1 && v <= 5000 },
  start: { type: "numbers", default: null, validate: (/** @type {number[]} */ v) => v.length === 2 },
  rows: { type: "int", default: 875, validate: (/** @type {number} */ v) => v >= 13 && v <= 5000 },
  val_fraction: { type: "number", default: 0.2, validate: (/** @type {number} */ v) => v >= 0 && v <= 0.9 },
  batch_size: { type: "int", default: 32, validate: (/** @type {number} */ v) => v >= 1 && v <= 5000 },
  seed: { type: "int", default: 0, validate: (/** @type {number} */ v) => v >= 0 && v <= 2 ** 31 - 1 },
  show_batch: { type: "bool", default: true },
  speed: { type: "string", default: "10", validate: (/** @type {string} */ v) => v === "max" || Number(v) > 0 },
};

/** The insurance_bce surface parameters of a state (`batch_size` may be overridden: the comparison). */
export function surfaceParams(/** @type {any} */ state, batchSize = state.batch_size) {
  return { rows: state.rows, val_fraction: state.val_fraction, batch_size: batchSize, seed: state.seed };
}

/**
 * Where step `step` of a descent stands in Keras' count: the update from record t uses mini-batch t, which is
 * iteration `t % ipe + 1` of epoch `floor(t / ipe) + 1` (both 1-based, as Keras prints them).
 */
export function batchPosition(/** @type {number} */ step, /** @type {number} */ iterationsPerEpoch) {
  const ipe = Math.max(1, iterationsPerEpoch);
  return { epoch: Math.floor(step / ipe) + 1, iteration: (step % ipe) + 1 };
}

/** The three batch sizes raced side by side: full batch, the slide's 32 (at most the rows), and 1. */
export function comparisonSizes(/** @type {number} */ nTrain) {
  return [nTrain, Math.min(32, nTrain), 1];
}

/**
 * Keep at most one request of a kind in flight and only the newest wish waiting: `ask(key, args)` starts
 * `fetcher(args)` now, or remembers it if one is running (replacing an older wish, which is never fetched);
 * `apply(result, args)` gets every answer. A wish for the key being fetched or already shown is dropped.
 * @template A, R
 * @param {(args: A) => Promise<R>} fetcher
 * @param {(result: R, args: A) => void} apply
 * @param {(error: any) => void} [onError]
 */
export function latestOnly(fetcher, apply, onError = () => {}) {
  /** @type {string | null} */
  let running = null;
  /** @type {string | null} */
  let shown = null;
  /** @type {{key: string, args: A} | null} */
  let waiting = null;
  const run = (/** @type {string} */ key, /** @type {A} */ args) => {
    running = key;
    return fetcher(args)
      .then((result) => {
        shown = key;
        apply(result, args);
      })
      .catch(onError)
      .finally(() => {
        running = null;
        const next = waiting;
        waiting = null;
        if (next && next.key !== shown) run(next.key, next.args);
      });
  };
  return {
    /** @param {string} key @param {A} args */
    ask(key, args) {
      if (key === running || (key === shown && !running)) {
        waiting = null;
        return;
      }
      if (running) waiting = { key, args };
      else run(key, args);
    },
    /** Forget what is shown (a new surface: the same key must be fetched again). */
    forget() {
      shown = null;
      waiting = null;
    },
  };
}
