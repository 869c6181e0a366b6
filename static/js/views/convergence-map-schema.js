// @ts-check
// The convergence map's URL state, its request body and how a cell's value is shown (pure: tests/js reads it).
// Keys are the API's field names (POST /api/v1/maps): kind, surface, expression, n, steps, tolerance, runs,
// start, and the trainability axes by their field paths x.name, x.min, x.max, x.scale (y.… alike). `show` is
// the page's own: which field of a cell colours the map (basin, steps_taken or final_loss).

/** Points per axis the view offers (the server allows up to max_map_n = 200). */
export const RESOLUTIONS = [25, 50, 100, 150, 200];
/** What a cell's colour shows: a field of the map's cells. */
export const SHOWS = ["basin", "steps_taken", "final_loss"];
export const MAX_PANELS = 3;
/** Gradient descent, momentum and Adam: on Himmelblau their basins differ. */
export const DEFAULT_RUNS = [
  { id: "sgd", optimizer: "sgd", hyperparameters: { lr: 0.01 } },
  { id: "momentum", optimizer: "momentum", hyperparameters: { lr: 0.01 } },
  { id: "adam", optimizer: "adam", hyperparameters: { lr: 0.1 } },
];

const isNumber = (/** @type {unknown} */ v) => typeof v === "number" && Number.isFinite(v);
const ID = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}$/;

/**
 * @param {Iterable<string>} surfaceNames 2-D registry surfaces (and "custom")
 * @param {Iterable<string>} optimizerNames
 */
export function mapSchema(surfaceNames, optimizerNames) {
  const surfaces = new Set(surfaceNames);
  const optimizers = new Set(optimizerNames);
  const validRuns = (/** @type {any} */ runs) =>
    Array.isArray(runs) &&
    runs.length >= 1 &&
    runs.length <= MAX_PANELS &&
    runs.every((r) => r && ID.test(r.id) && optimizers.has(r.optimizer) && isNumber(r.hyperparameters?.lr) && r.hyperparameters.lr > 0) &&
    new Set(runs.map((r) => r.id)).size === runs.length;
  const scale = { type: "string", default: "log", validate: (/** @type {string} */ v) => v === "log" || v === "linear" };
  const name = (/** @type {string} */ fallback) => ({ type: "string", default: fallback, validate: (/** @type {string} */ v) => /^[a-z_]+(\.[01])?$/.test(v) });
  const bound = (/** @type {number} */ fallback) => ({ type: "number", default: fallback });
  return {
    kind: { type: "string", default: "basins", validate: (/** @type {string} */ v) => v === "basins" || v === "trainability" },
    surface: { type: "string", default: "himmelblau", validate: (/** @type {string} */ v) => surfaces.has(v) },
    expression: { type: "string", default: "x**4 - 2*x**2 + y**2 + 0.3*x" },
    n: { type: "int", default: 100, validate: (/** @type {number} */ v) => RESOLUTIONS.includes(v) },
    steps: { type: "int", default: 300, validate: (/** @type {number} */ v) => v >= 1 && v <= 5000 },
    tolerance: { type: "number", default: 1e-3, validate: (/** @type {number} */ v) => v >= 0 && v <= 1 },
    runs: { type: "json", default: DEFAULT_RUNS, validate: validRuns },
    show: { type: "string", default: "basin", validate: (/** @type {string} */ v) => SHOWS.includes(v) },
    start: { type: "numbers", default: [0, 0], validate: (/** @type {number[]} */ v) => v.length === 2 },
    "x.name": name("lr"),
    "x.min": bound(1e-4),
    "x.max": bound(1),
    "x.scale": scale,
    "y.name": name("momentum"),
    "y.min": bound(0),
    "y.max": bound(0.99),
    "y.scale": { ...scale, default: "linear" },
  };
}

/** One trainability axis of the request from the state's `<axis>.…` keys. */
function axis(/** @type {Record<string, any>} */ state, /** @type {"x" | "y"} */ which) {
  return { name: state[`${which}.name`], min: state[`${which}.min`], max: state[`${which}.max`], scale: state[`${which}.scale`] };
}

/** The POST /api/v1/maps body (also the stream's `start` config) for a state. */
export function mapRequest(/** @type {Record<string, any>} */ state) {
  /** @type {Record<string, any>} */
  const body = { kind: state.kind, n: state.n, steps: state.steps, tolerance: state.tolerance, runs: state.runs };
  if (state.surface === "custom") body.expression = state.expression;
  else body.surface = state.surface;
  if (state.kind === "trainability") {
    body.start = state.start;
    body.x = axis(state, "x");
    body.y = axis(state, "y");
  }
  return body;
}

/** Names a trainability axis may take for every optimizer of `runs` (numeric hyperparameters; a pair's parts). */
export function axisNames(/** @type {any[]} */ optimizers) {
  const namesOf = (/** @type {any} */ o) =>
    o.hyperparameters.flatMap((/** @type {any} */ h) => (h.kind === "float" ? [h.name] : h.kind === "pair" ? [`${h.name}.0`, `${h.name}.1`] : []));
  const [first, ...rest] = optimizers.map(namesOf);
  return (first ?? []).filter((name) => rest.every((names) => names.includes(name)));
}

/** Preferred axes, in order: the learning rate across, then momentum, β₁, the rest up. */
const AXIS_PREFERENCE = ["lr", "momentum", "betas.0", "alpha", "betas.1"];

/**
 * The state's axis names, changed only where the panels' optimizers cannot take them: x falls back to lr
 * (else the first allowed name), y to the first preferred name that is allowed and not x's.
 * @param {Record<string, any>} state
 * @param {string[]} allowed  axisNames of the panels
 */
export function fitAxes(state, allowed) {
  const order = [...AXIS_PREFERENCE.filter((n) => allowed.includes(n)), ...allowed.filter((n) => !AXIS_PREFERENCE.includes(n))];
  const x = allowed.includes(state["x.name"]) ? state["x.name"] : order[0];
  const y = allowed.includes(state["y.name"]) && state["y.name"] !== x ? state["y.name"] : order.find((n) => n !== x);
  return { "x.name": x ?? state["x.name"], "y.name": y ?? state["y.name"] };
}

/** The colours of the basin codes: one per known minimum (the palette's), then other, not converged, diverged. */
export const OUTCOME_COLORS = { other: "#8c96a3", not_converged: "#e6e1d3", diverged: "#2f2f2f" };

/**
 * A discrete Plotly colorscale over z = code + 3 (codes -3 … minima - 1), one flat band per code.
 * @param {number} minima  how many known minima the surface lists
 * @param {string[]} palette  colours of the minima, in order (repeated when there are more minima)
 */
export function basinScale(minima, palette) {
  const colors = [OUTCOME_COLORS.diverged, OUTCOME_COLORS.not_converged, OUTCOME_COLORS.other];
  for (let i = 0; i < minima; i++) colors.push(palette[i % palette.length]);
  const bands = colors.length;
  /** @type {Array<[number, string]>} */
  const scale = [];
  colors.forEach((color, i) => {
    scale.push([i / bands, color], [(i + 1) / bands, color]);
  });
  return { colorscale: scale, zmin: -0.5, zmax: bands - 0.5 };
}

/**
 * The heatmap values of rows of cells for what `show` colours: basin codes shifted to 0 … (see basinScale),
 * steps taken, or the final loss (plot.js zScale then puts it on a log scale when it spans decades); a diverged
 * cell is null there, drawn as the background (the diverged colour).
 * @param {{basin: number[][], steps_taken: number[][], final_loss: (number | null)[][]}} rows
 * @param {string} show
 */
export function cellValues(rows, show) {
  return rows.basin.map((basinRow, i) =>
    basinRow.map((code, j) => {
      if (show === "basin") return code + 3;
      if (code === -3) return null;
      if (show === "steps_taken") return rows.steps_taken[i][j];
      return rows.final_loss[i][j];
    }),
  );
}
