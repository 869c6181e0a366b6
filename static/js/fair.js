// @ts-check
// A fair race (/race): what the race sends for its budget, its learning-rate search and its clipping, and
// how each run's settings read in the results table. Pure functions: no DOM, no catalog (the view words them).

/** The learning-rate search of the race (docs/api.md "A fair race"): `count` candidates from LOW to HIGH. */
export const TUNE_LOW = 1e-4;
export const TUNE_HIGH = 1.0;
export const TUNE_COUNTS = { min: 2, max: 24, default: 12 };

/**
 * The race's fairness settings as fields of the trace config: `budget`, `tune` (`count` candidates, 0 = no
 * search) and the gradient clipping of each run (`clip` = the norm, 0 = off). A run of an optimizer that
 * evaluates the function itself (L-BFGS, SAM, Newton, Polyak: `evaluating` in the registry) takes its own
 * gradients, so it is sent without clipping (the server refuses clipping for it).
 * @param {{budget: string, tune: number, clip: number}} fair
 * @param {Array<{optimizer: string}>} runs
 * @param {(name: string) => boolean} evaluating
 */
export function fairConfig(fair, runs, evaluating) {
  /** @type {Record<string, unknown>} */
  const cfg = {};
  if (fair.budget === "evaluations") cfg.budget = "evaluations";
  if (fair.tune) cfg.tune = { count: fair.tune, low: TUNE_LOW, high: TUNE_HIGH };
  return { cfg, runs: runs.map((run) => ({ ...run, ...clipFields(fair.clip, run.optimizer, evaluating) })) };
}

/** The clipping fields of one run: `{clip_norm}` when clipping is on and the optimizer can take it. */
export function clipFields(/** @type {number} */ clip, /** @type {string} */ optimizer, /** @type {(name: string) => boolean} */ evaluating) {
  return clip > 0 && !evaluating(optimizer) ? { clip_norm: clip } : {};
}

/**
 * How a run's gradients were taken, as the table says it: "norm" (clipped to a norm), "value" (each
 * component clipped), "own" (an optimizer that evaluates the function takes its own gradients: never
 * clipped) or "none".
 * @param {{clip_norm?: number | null, clip_value?: number | null}} run  as in the stream's `started`
 * @param {boolean} evaluating
 */
export function clipState(run, evaluating) {
  if (evaluating) return "own";
  if (run.clip_norm) return "norm";
  if (run.clip_value) return "value";
  return "none";
}

/**
 * The facts of a run's learning-rate search (`tuning` of `started` or of a REST trace) the view words: how
 * many candidates from which to which, what each could spend, and which one won (-1 when all diverged).
 * @param {{lr: number | null, candidates: number[], final_losses: Array<number | null>, budget: Record<string, number>} | null | undefined} tuning
 */
export function tuningFacts(tuning) {
  if (!tuning || !tuning.candidates.length) return null;
  const [kind, amount] = Object.entries(tuning.budget)[0] ?? ["steps", 0];
  return {
    count: tuning.candidates.length,
    low: tuning.candidates[0],
    high: tuning.candidates[tuning.candidates.length - 1],
    kind,
    amount,
    chosen: tuning.lr === null ? -1 : tuning.candidates.indexOf(tuning.lr),
    rows: tuning.candidates.map((lr, i) => ({ lr, loss: tuning.final_losses[i] ?? null })),
  };
}
