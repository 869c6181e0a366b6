// @ts-check
// The data of live runs, decoded from the stream's messages: RunStore for descents (`steps` frames decoded
// by the `started.columns` the server sends) and TrainingLog for one network training (docs/networks.md).
// No DOM and no drawing here: what arrived, in full; drawing decides what to show.

/** @typedef {import("./protocol").Started} Started */
/** @typedef {import("./protocol").StepsFrame} StepsFrame */
/** @typedef {import("./protocol").RunEvent} RunEvent */

/**
 * @typedef {object} RunData
 * @property {string} id
 * @property {string} optimizer
 * @property {Record<string, unknown>} hyperparameters
 * @property {Record<string, any[]>} cols    one array per column of `started.columns`
 * @property {string[]} auxColumns          the run's own aux columns (its optimizer's; docs/api.md)
 * @property {{reason: string, step: number, detail: string} | null} end
 * @property {Record<string, any> | null} summary
 * @property {string} [color]
 * @property {string} [dash]     Plotly line.dash of its path and loss line (theme.js styleOf)
 * @property {string} [symbol]   Plotly marker.symbol of its current point
 * @property {any} [tuning]      its learning-rate search (`started.runs[].tuning`; null without `tune`)
 * @property {number | null} [clip_norm]   its gradient clipping as started (null: none)
 * @property {number | null} [clip_value]
 */

const EMPTY = Object.freeze([]);

/**
 * Append one run's columns of a `steps` frame to `target` (column name -> array), for the named columns
 * only; returns how many rows arrived. A column missing from the frame adds nothing.
 * @param {Record<string, any[]>} target
 * @param {Record<string, any[]>} frame
 * @param {readonly string[]} columns
 */
export function appendColumns(target, frame, columns) {
  let rows = 0;
  for (const c of columns) {
    const values = frame[c];
    if (!values) continue;
    const into = (target[c] ??= []);
    for (let i = 0; i < values.length; i++) into.push(values[i]);
    rows = Math.max(rows, values.length);
  }
  return rows;
}

/**
 * Append a `steps` frame's `evaluated` points (per step, the other points an optimizer such as L-BFGS or SAM
 * evaluated) to `target.evaluated`, aligned with `target.step`: the column starts only when such points first
 * arrive, so earlier steps are padded with empty lists. `rows` is how many steps the frame appended.
 * @param {Record<string, any[]>} target
 * @param {number[][][]} points
 * @param {number} rows
 */
export function appendEvaluated(target, points, rows) {
  const into = (target.evaluated ??= []);
  const before = (target.step ?? EMPTY).length - rows;
  while (into.length < before) into.push(EMPTY);
  for (const p of points) into.push(p);
}

/** The runs of one descent: created by `started` (and `run_added`), filled by `steps`, ended by `event`. */
export class RunStore {
  constructor() {
    /** @type {string[]} */
    this.columns = [];
    /** @type {Map<string, RunData>} */
    this.runs = new Map();
  }

  /** A run with no steps yet (also for runs drawn before their descent starts). */
  blank(/** @type {{id: string, optimizer: string, hyperparameters?: object, aux_columns?: string[]}} */ run, extra = {}) {
    const cols = Object.fromEntries(this.columns.map((c) => [c, []]));
    const auxColumns = [...(run.aux_columns ?? [])];
    return { id: run.id, optimizer: run.optimizer, hyperparameters: { ...(run.hyperparameters ?? {}) }, cols, auxColumns, end: null, summary: null, ...extra };
  }

  /** A new descent: forget the old runs, take the columns the server names. */
  start(/** @type {Started} */ started, /** @type {(run: any) => object} */ extra = () => ({})) {
    this.columns = [...started.columns];
    this.runs.clear();
    for (const run of started.runs) this.add(run, extra(run));
  }

  /** A run joins; its aux columns (a run added later may bring new ones) join the decoded columns. */
  add(/** @type {{id: string, optimizer: string, hyperparameters?: object, aux_columns?: string[]}} */ run, extra = {}) {
    for (const c of run.aux_columns ?? []) if (!this.columns.includes(c)) this.columns.push(c);
    const data = this.blank(run, extra);
    this.runs.set(run.id, data);
    return data;
  }

  /**
   * Decode a `steps` frame; returns [run id, latest step] of every run it moved. Runs removed locally are
   * skipped (their last steps may still be on the way).
   * @param {StepsFrame} frame
   * @returns {Array<[string, number]>}
   */
  append(frame) {
    /** @type {Array<[string, number]>} */
    const moved = [];
    for (const [id, cols] of Object.entries(frame.runs)) {
      const run = this.runs.get(id);
      if (!run) continue;
      const rows = appendColumns(run.cols, cols, this.columns);
      if (cols.evaluated) appendEvaluated(run.cols, cols.evaluated, rows);
      const steps = run.cols.step ?? EMPTY;
      if (steps.length) moved.push([id, steps[steps.length - 1]]);
    }
    return moved;
  }

  /** How a run ended (`event`); returns the run, or undefined when it is not (or no longer) here. */
  end(/** @type {RunEvent} */ msg) {
    const run = this.runs.get(msg.run);
    if (run) {
      run.end = { reason: msg.reason, step: msg.step, detail: msg.detail };
      run.summary = msg.summary ?? null;
    }
    return run;
  }

  get(/** @type {string} */ id) {
    return this.runs.get(id);
  }

  delete(/** @type {string} */ id) {
    this.runs.delete(id);
  }

  clear() {
    this.runs.clear();
  }

  keys() {
    return this.runs.keys();
  }

  values() {
    return this.runs.values();
  }
}

/**
 * The LiveSession handlers (`on`) of a surface view: `started`, `steps` and `event` kept in `store`, each moved
 * run's latest step reported to the embed, and `changed()` after each message (mark the figures dirty).
 * @param {RunStore} store
 * @param {() => {embed: {step: (run: string, step: number) => void}}} session  the session (built after this)
 * @param {() => void} changed
 * @param {(run: any) => object} [extra]  what `store.start` adds to each run (its colour)
 */
export function followRuns(store, session, changed, extra = () => ({})) {
  return {
    started: (/** @type {Started} */ msg) => {
      store.start(msg, extra);
      changed();
    },
    steps: (/** @type {StepsFrame} */ msg) => {
      for (const [id, step] of store.append(msg)) session().embed.step(id, step);
      changed();
    },
    event: (/** @type {RunEvent} */ msg) => {
      store.end(msg);
      changed();
    },
  };
}

/** A run's column (an empty one when the run has not seen that column yet). */
export const column = (/** @type {RunData} */ run, /** @type {string} */ name) => run.cols[name] ?? EMPTY;

/**
 * A run's aux columns split by kind: points (`eval` from `eval_x`, `eval_y`) to draw as a second path, and
 * scalars (`d`) to draw over the steps.
 * @param {readonly string[]} auxColumns
 * @returns {{points: string[], scalars: string[]}}
 */
export function auxKinds(auxColumns) {
  const points = [];
  const scalars = [];
  for (const c of auxColumns) {
    if (c.endsWith("_x") && auxColumns.includes(`${c.slice(0, -2)}_y`)) points.push(c.slice(0, -2));
    else if (!c.endsWith("_x") && !c.endsWith("_y")) scalars.push(c);
  }
  return { points, scalars };
}

/** Columns of an `iterations` message that every log has from the start (the rest appear as they come). */
const IT_COLUMNS = ["epoch", "iteration", "global_step", "batch_loss", "lr", "batch", "masks", "logs", "seconds"];

/** One network training's messages gathered into arrays (full data; drawing decides what to show). */
export class TrainingLog {
  constructor() {
    this.reset();
  }

  reset() {
    /** @type {any} */
    this.meta = null;
    /** @type {Record<string, any[]>} */
    this.it = Object.fromEntries(IT_COLUMNS.map((c) => [c, []]));
    /** @type {any[]} */
    this.ep = [];
    /** @type {any} */
    this.weights = null;
    this.weightsEpoch = 0;
    /** @type {any} */
    this.grid = null;
    this.gridEpoch = 0;
    /** @type {any} */
    this.masks = null;
    /** @type {{y_hat: number[], loss: number[]} | null} the slide table's ŷ and loss under the weights shown */
    this.slide = null;
    this.slideEpoch = 0;
    /** early stopping restored the best weights: grid, weights and slide rows are that epoch's */
    this.restored = false;
    /** @type {any} */
    this.end = null;
    /** @type {any} */
    this.summary = null;
  }

  started(/** @type {any} */ msg) {
    this.reset();
    this.meta = msg;
  }

  /** Append an `iterations` message's columns (whatever columns it carries). */
  iterations(/** @type {Record<string, any[]>} */ columns) {
    appendColumns(this.it, columns, Object.keys(columns));
    const masks = columns.masks;
    if (masks?.length) this.masks = masks[masks.length - 1];
  }

  epochs(/** @type {any[]} */ records) {
    for (const r of records) {
      this.ep.push(r);
      if (r.weights) {
        this.weights = r.weights;
        this.weightsEpoch = r.epoch;
      }
      if (r.decision_grid) {
        this.grid = r.decision_grid;
        this.gridEpoch = r.epoch;
      }
      if (r.slide_rows) {
        this.slide = r.slide_rows;
        this.slideEpoch = r.epoch;
      }
    }
  }

  /** How the training ended; restored best weights replace what is shown (grid, weights, slide rows). */
  event(/** @type {any} */ msg) {
    this.end = msg;
    if (!msg.restored_best_weights) return;
    this.restored = true;
    const best = msg.best_epoch;
    if (msg.weights) [this.weights, this.weightsEpoch] = [msg.weights, best];
    if (msg.decision_grid) [this.grid, this.gridEpoch] = [msg.decision_grid, best];
    if (msg.slide_rows) [this.slide, this.slideEpoch] = [msg.slide_rows, best];
  }

  done(/** @type {any} */ msg) {
    this.summary = msg.summary ?? null;
  }

  get bestEpoch() {
    return this.end?.best_epoch ?? this.summary?.best_epoch ?? null;
  }

  get stopEpoch() {
    return this.end?.reason === "early_stop" ? this.end.epoch : null;
  }

  get count() {
    return this.it.global_step.length;
  }

  last() {
    const n = this.count;
    if (!n) return null;
    return Object.fromEntries(IT_COLUMNS.map((c) => [c, this.it[c][n - 1]]));
  }

  /** A whole REST trace (POST /api/v1/traces/network) as a log. */
  static fromTrace(/** @type {any} */ trace) {
    const log = new TrainingLog();
    const { iterations, epochs, end, summary, ...meta } = trace;
    log.started({ type: "started", ...meta });
    if (iterations) log.iterations(iterations);
    if (epochs) log.epochs(epochs);
    if (end) log.event(end);
    if (summary) log.summary = summary;
    return log;
  }
}
