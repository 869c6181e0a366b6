// @ts-check
// The cross-entropy view (/cross-entropy): the course's insurance table under the model ŷ = σ(w·age_scaled + b),
// each row's loss and their mean, and the same loss over (w, b) as a contour the learner descends live in
// mini-batches (surface insurance_bce). The current batch's own surface is drawn faintly under the path, the
// Keras count of epochs and iterations runs beside it, and three REST traces race full batch, 32 and 1.
// All numbers come from the server: the stream (steps), GET /api/v1/cross-entropy (the table at the current
// point) and GET /api/v1/surfaces/insurance_bce (the full surface, and `batch=t` for mini-batch t).
//
// Embedding (/embed/cross-entropy): play/pause/step/reset drive the descent; set(run, {lr, …}) changes the
// optimizer's hyperparameters live. Reports gdp:step {descent: step} and gdp:event / gdp:done.
import { crossEntropyTable, embeddedRegistry, postJson, surfaceGrid } from "../client.js";
import { LiveSession, exposeHook } from "../live.js";
import { RunStore, followRuns } from "../runs.js";
import { formatNumber, t } from "../i18n.js";
import { encodeState, readState, shareUrl, writeState } from "../state.js";
import { ContourWithOverlay, LossPlot, thin } from "../plot.js";
import { PALETTE } from "../theme.js";
import { el, hyperparameterFields } from "../controls.js";
import { copyLink } from "../share.js";
import { RUN_ID, SURFACE, XENT_SCHEMA, batchPosition, comparisonSizes, latestOnly, surfaceParams } from "./cross-entropy-schema.js";

const GRID = 120;
const BATCH_GRID = 40;
const CMP_KEYS = ["full", "mini", "one"];
const PATH_COLOR = PALETTE[0];
const CMP_COLORS = [PALETTE[0], PALETTE[1], PALETTE[3]];

const registry = embeddedRegistry();
const optimizers = new Map(registry.optimizers.map((o) => [o.name, o]));
const state = readState(XENT_SCHEMA);
if (!optimizers.has(state.optimizer)) state.optimizer = XENT_SCHEMA.optimizer.default;
const save = () => writeState(XENT_SCHEMA, state);

const $ = (/** @type {string} */ sel) => /** @type {any} */ (document.querySelector(sel));
const ui = {
  optimizer: $("#optimizer"), hp: $("#hyperparameters"), steps: $("#steps"), startOut: $("#start-out"),
  rows: $("#rows"), val: $("#val-fraction"), batch: $("#batch-size"), presets: /** @type {HTMLButtonElement[]} */ ([...document.querySelectorAll("[data-batch]")]),
  showBatch: $("#toggle-batch"), copy: $("#copy-link"), link: $("#share-url"), arith: $("#arith"),
  epoch: $("#count-epoch"), iteration: $("#count-iteration"), updates: $("#count-updates"), batchLoss: $("#count-batch-loss"),
  bceNow: $("#count-bce"), point: $("#count-point"), table: $("#xent-table tbody"), meanLoss: $("#mean-loss"), bce: $("#bce"),
  bceLabel: $("#bce-label"), tablePoint: $("#table-point"), slideCase: $("#slide-case"), worst: $("#worst-row"),
  cmpDesc: $("#cmp-desc"),
};

const contour = new ContourWithOverlay($("#contour"), { onPick: (w, b) => setStart([w, b]), axes: ["w", "b"] });
contour.onRangeChange = () => {
  dirty.overlay = true;
  drawBatchLayer();
};
const lossPlot = new LossPlot($("#loss"), { log: false }); // BCE of a batch stays within a decade
const cmpPlots = CMP_KEYS.map((_, k) => new ContourWithOverlay($(`#cmp-${k}`), { small: true }));
const data = new RunStore();
/** @type {any} */
let surface = null; // the full-data surface with its grid
/** @type {any} */
let table = null; // the last GET /api/v1/cross-entropy answer (the point it was asked for is table.w, table.b)
/** @type {any} */
let batchSurface = null; // the current mini-batch's surface ({batch, grid, minima})
const dirty = { overlay: true, loss: true, counters: true };
const perf = { frames: 0, tables: 0, batches: 0, comparisons: 0 };
let cmpToken = 0;
const cmpState = { drawn: 0, error: /** @type {string | null} */ (null) };

const params = () => surfaceParams(state);
const startPoint = () => state.start ?? surface?.start ?? [3, -1.25];
const fullBatch = () => Boolean(table) && state.batch_size >= table.n_train;

/** The latest record of the live run: its point, step and (batch) loss; the start before any step. */
function current() {
  const run = data.get(RUN_ID);
  const n = run?.cols.step?.length ?? 0;
  if (!run || !n) return { w: startPoint()[0], b: startPoint()[1], step: null, loss: null };
  return { w: run.cols.x[n - 1], b: run.cols.y[n - 1], step: run.cols.step[n - 1], loss: run.cols.loss[n - 1] };
}

function config() {
  return {
    surface: SURFACE,
    params: params(),
    start: startPoint(),
    steps: state.steps,
    runs: [{ id: RUN_ID, optimizer: state.optimizer, hyperparameters: state.hyperparameters }],
  };
}

// ------------------------------------------------------------------------------------------ stream
const session = new LiveSession({
  name: "cross-entropy",
  config,
  canStart: () => Boolean(surface),
  stepRestarts: true,
  speed: { get: () => state.speed, set: (speed) => { state.speed = speed; save(); } },
  words: (status) => t(`descent.status.${status}`),
  on: followRuns(data, () => session, markDirty),
  onReset: () => {
    data.clear();
    markDirty();
  },
  embed: { set: setFromHost, query: () => encodeState(XENT_SCHEMA, state), height: 2100 },
});

function markDirty() {
  dirty.overlay = dirty.loss = dirty.counters = true;
}

// ------------------------------------------------------------------------------------------ server answers
const tables = latestOnly(
  (/** @type {{w: number, b: number}} */ at) => crossEntropyTable(at.w, at.b, params()),
  (answer) => {
    table = answer;
    perf.tables++;
    renderTable();
    renderArithmetic();
    dirty.counters = true;
  },
  (error) => session.say(t("error.surface", { message: error.message })),
);

const batches = latestOnly(
  (/** @type {number} */ batch) => surfaceGrid(SURFACE, { grid: BATCH_GRID, params: { ...params(), batch } }),
  (answer) => {
    batchSurface = answer;
    perf.batches++;
    drawBatchLayer();
  },
  (error) => session.say(t("error.surface", { message: error.message })),
);

/** Ask for what the current record needs: the table at its point, and the surface of its mini-batch. */
function requestAnswers() {
  const now = current();
  tables.ask(`${now.w},${now.b}`, { w: now.w, b: now.b });
  const batch = now.step ?? 0;
  if (state.show_batch && !fullBatch()) batches.ask(String(batch), batch);
}

async function loadSurface() {
  tables.forget();
  batches.forget();
  batchSurface = null;
  try {
    surface = await surfaceGrid(SURFACE, { grid: GRID, params: params() });
    await contour.drawSurface(surface);
  } catch (error) {
    session.say(t("error.surface", { message: error.message }));
    return;
  }
  drawBatchLayer();
  updateStartOut();
  markDirty();
  requestAnswers();
  session.setStatus(session.status === "finished" ? "idle" : session.status);
}

// ------------------------------------------------------------------------------------------ drawing
function overlayTraces() {
  const [sx, sy] = startPoint();
  /** @type {object[]} */
  const traces = [{
    type: "scatter", mode: "markers", x: [sx], y: [sy], meta: "start",
    marker: { symbol: "x-thin", size: 14, line: { width: 3, color: "#1d2430" } },
  }];
  const run = data.get(RUN_ID);
  if (run && run.cols.x?.length) {
    const { x, y } = thin(run.cols.x, run.cols.y, 2000, 500);
    const n = run.cols.x.length;
    traces.push({ type: "scatter", mode: "lines", x, y, meta: "path", line: { color: PATH_COLOR, width: 2.2 } });
    traces.push({
      type: "scatter", mode: "markers", x: [run.cols.x[n - 1]], y: [run.cols.y[n - 1]], meta: "current",
      marker: { size: 12, color: PATH_COLOR, line: { color: "#fff", width: 2 } },
    });
  }
  return traces;
}

/** The current mini-batch's own loss as faint contour lines, and its minimum as a hollow star. */
function drawBatchLayer() {
  if (!state.show_batch || fullBatch() || !batchSurface) {
    contour.drawLayer([]);
    return;
  }
  const g = batchSurface.grid;
  const lines = {
    type: "contour", x: g.x, y: g.y, z: g.z, ncontours: 16, showscale: false, hoverinfo: "skip",
    contours: { coloring: "lines" }, colorscale: [[0, "rgba(20,20,20,0.55)"], [1, "rgba(20,20,20,0.55)"]],
    line: { width: 1, dash: "dot" },
  };
  const minima = {
    type: "scatter", mode: "markers", x: batchSurface.minima.map((m) => m[0]), y: batchSurface.minima.map((m) => m[1]),
    marker: { symbol: "star-open", size: 15, color: "#1d2430", line: { width: 2 } },
  };
  contour.drawLayer([lines, minima]);
}

function renderCounters() {
  const now = current();
  const ipe = table?.iterations_per_epoch ?? 1;
  if (now.step === null) {
    ui.epoch.textContent = ui.iteration.textContent = "–";
    ui.updates.textContent = "0";
  } else {
    const at = batchPosition(now.step, ipe);
    ui.epoch.textContent = String(at.epoch);
    ui.iteration.textContent = t("cross-entropy.of", { i: at.iteration, n: ipe });
    ui.updates.textContent = String(now.step);
  }
  ui.batchLoss.textContent = formatNumber(now.loss);
  const fresh = table && table.w === now.w && table.b === now.b;
  ui.bceNow.textContent = fresh ? formatNumber(table.bce) : ui.bceNow.textContent;
  ui.point.textContent = t("cross-entropy.point", { w: formatNumber(now.w, { digits: 3 }), b: formatNumber(now.b, { digits: 3 }) });
}

const cell = (/** @type {number} */ v, digits = 4) => el("td", { text: formatNumber(v, { digits, small: 1e-4 }) });

function renderTable() {
  if (!table) return;
  ui.table.replaceChildren(
    ...table.rows.map((row, i) =>
      el(
        "tr",
        { class: i === table.worst ? "worst" : null, dataset: { row: String(i) } },
        el("td", { text: String(row.age) }),
        el("td", { class: "col-afford", text: String(row.affordability) }),
        el("td", { text: String(row.have_insurance) }),
        cell(row.age_scaled, 3),
        cell(row.z, 3),
        cell(row.y_hat, 3),
        cell(row.loss, 4),
      ),
    ),
  );
  ui.meanLoss.textContent = formatNumber(table.mean_loss);
  ui.bce.textContent = formatNumber(table.bce);
  ui.bceLabel.textContent = t("cross-entropy.bce_rows", { n: table.n_train });
  ui.tablePoint.textContent = t("cross-entropy.at", { w: formatNumber(table.w, { digits: 3 }), b: formatNumber(table.b, { digits: 3 }) });
  const c = table.slide_case;
  ui.slideCase.replaceChildren(
    el("strong", { text: t("cross-entropy.slide_case_title") }),
    ` ${t("cross-entropy.slide_case", { y_hat: formatNumber(c.y_hat), loss: formatNumber(c.loss) })}`,
  );
  const w = table.rows[table.worst];
  ui.worst.textContent = t("cross-entropy.worst", {
    age: w.age, y: w.have_insurance, y_hat: formatNumber(w.y_hat, { digits: 3, small: 1e-4 }), loss: formatNumber(w.loss),
  });
}

function renderArithmetic() {
  if (!table) return;
  const n = table.n_train;
  const bs = table.batch_size;
  ui.arith.textContent = bs >= n
    ? t("cross-entropy.arith_full", { n })
    : t("cross-entropy.arith", { n, bs, exact: formatNumber(n / bs, { digits: 5 }), ipe: table.iterations_per_epoch });
  for (const button of ui.presets) button.setAttribute("aria-pressed", String(presetSize(button.dataset.batch) === state.batch_size));
}

const presetSize = (/** @type {string} */ name) => (name === "full" ? (table?.n_train ?? null) : Number(name));

function frame() {
  perf.frames++;
  if (dirty.overlay) {
    dirty.overlay = false;
    contour.drawOverlay(overlayTraces());
    requestAnswers();
  }
  if (dirty.counters && perf.frames % 3 === 1) {
    dirty.counters = false;
    renderCounters();
  }
  if (dirty.loss && perf.frames % 3 === 0) {
    dirty.loss = false;
    const run = data.get(RUN_ID);
    const series = run && run.cols.step?.length ? [{ name: t("cross-entropy.batch_loss_series"), color: PATH_COLOR, ...thin(run.cols.step, run.cols.loss, 600, 150) }] : [];
    lossPlot.draw(series);
  }
  requestAnimationFrame(frame);
}

// ------------------------------------------------------------------------------------------ comparison
/** Three REST traces, full batch / 32 / 1, same optimizer, start and number of updates, on small contours. */
async function drawComparison() {
  if (!surface) return;
  const token = ++cmpToken;
  const base = table ?? (await crossEntropyTable(startPoint()[0], startPoint()[1], params()));
  if (token !== cmpToken) return;
  const sizes = comparisonSizes(base.n_train);
  ui.cmpDesc.textContent = t("cross-entropy.cmp_desc", { steps: state.steps, optimizer: optimizers.get(state.optimizer)?.title ?? state.optimizer });
  cmpState.drawn = 0;
  cmpState.error = null;
  await Promise.all(sizes.map(async (size, k) => {
    const plot = cmpPlots[k];
    await plot.drawSurface(surface);
    try {
      const trace = await postJson("/api/v1/traces", { ...config(), params: surfaceParams(state, size) });
      const run = trace.runs[0];
      const end = run.trace;
      const last = end.x.length - 1;
      const final = await crossEntropyTable(end.x[last], end.y[last], surfaceParams(state, size));
      if (token !== cmpToken) return;
      const ipe = final.iterations_per_epoch;
      $(`#cap-${k}`).textContent = t(`cross-entropy.cmp.${CMP_KEYS[k]}`, { bs: final.batch_size, ipe });
      $(`#end-${k}`).textContent = t("cross-entropy.cmp_end", {
        steps: end.step[last], epochs: formatNumber(end.step[last] / ipe, { digits: 3 }), bce: formatNumber(final.bce),
      });
      const path = thin(end.x, end.y, 1500, 300);
      await plot.drawOverlay([
        { type: "scatter", mode: "lines", x: path.x, y: path.y, meta: "path", line: { color: CMP_COLORS[k], width: 1.8 } },
        { type: "scatter", mode: "markers", x: [end.x[last]], y: [end.y[last]], meta: "current", marker: { size: 9, color: CMP_COLORS[k], line: { color: "#fff", width: 1.5 } } },
      ]);
      cmpState.drawn++;
      perf.comparisons++;
    } catch (error) {
      if (token !== cmpToken) return;
      cmpState.error = error.message;
      $(`#end-${k}`).textContent = t("error.surface", { message: error.message });
    }
  }));
}

// ------------------------------------------------------------------------------------------ controls
function updateStartOut() {
  const [w, b] = startPoint();
  ui.startOut.textContent = t("cross-entropy.point", { w: formatNumber(w, { digits: 3 }), b: formatNumber(b, { digits: 3 }) });
}

function setStart(point) {
  state.start = point.map((v) => Number(v.toFixed(3)));
  save();
  updateStartOut();
  session.restartIfRunning();
  markDirty();
  drawComparison();
}

function renderHyperparameters() {
  const opt = optimizers.get(state.optimizer);
  ui.hp.replaceChildren(hyperparameterFields(opt, state.hyperparameters, setHyperparameter, RUN_ID));
}

function setHyperparameter(name, value) {
  state.hyperparameters = { ...state.hyperparameters, [name]: value };
  save();
  const live = data.get(RUN_ID);
  if (live && !live.end) session.send((client) => client.set(RUN_ID, { [name]: value }));
  drawComparison();
}

async function setFromHost(run, hyperparameters) {
  if (run && run !== RUN_ID) throw new Error(`no run ${run}; this view has one run, ${RUN_ID}`);
  const opt = optimizers.get(state.optimizer);
  for (const [name, value] of Object.entries(hyperparameters)) {
    if (opt.hyperparameters.some((h) => h.name === name)) setHyperparameter(name, value);
  }
  renderHyperparameters();
}

/** A data or batch-size change: a new surface, a new descent, a new comparison. */
async function dataChanged() {
  save();
  session.reset();
  await loadSurface();
  drawComparison();
}

function bindNumber(input, key) {
  input.value = String(state[key]);
  input.addEventListener("change", () => {
    const v = Number(input.value);
    const spec = XENT_SCHEMA[key];
    const ok = input.value !== "" && Number.isFinite(v) && (!("validate" in spec) || spec.validate(v));
    input.setAttribute("aria-invalid", String(!ok));
    if (!ok) return;
    state[key] = v;
    if (key === "steps") {
      save();
      session.restartIfRunning();
      drawComparison();
    } else {
      dataChanged();
    }
  });
}

function bindControls() {
  for (const o of optimizers.values()) ui.optimizer.append(el("option", { value: o.name, text: o.title }));
  ui.optimizer.value = state.optimizer;
  ui.optimizer.addEventListener("change", () => {
    state.optimizer = ui.optimizer.value;
    const lr = state.hyperparameters.lr;
    state.hyperparameters = lr === undefined ? {} : { lr };
    save();
    renderHyperparameters();
    session.reset();
    drawComparison();
  });
  renderHyperparameters();
  bindNumber(ui.steps, "steps");
  bindNumber(ui.rows, "rows");
  bindNumber(ui.val, "val_fraction");
  bindNumber(ui.batch, "batch_size");
  for (const button of ui.presets) {
    button.addEventListener("click", () => {
      const size = presetSize(button.dataset.batch);
      if (size === null || size === state.batch_size) return;
      state.batch_size = size;
      ui.batch.value = String(size);
      dataChanged();
    });
  }
  ui.showBatch.checked = state.show_batch;
  ui.showBatch.addEventListener("change", () => {
    state.show_batch = ui.showBatch.checked;
    save();
    drawBatchLayer();
    requestAnswers();
  });
  ui.copy.addEventListener("click", () => copyLink(shareUrl(XENT_SCHEMA, state), ui.copy, ui.link));
}

// Read-only hook for the browser tests: they wait on these, never on sleeps.
exposeHook("cross-entropy", {
  status: () => session.status,
  ready: () => Boolean(surface) && Boolean(session.hello) && Boolean(table),
  pathLength: () => data.get(RUN_ID)?.cols.x?.length ?? 0,
  lastStep: () => current().step,
  point: () => current(),
  table: () => (table ? { w: table.w, b: table.b, worst: table.worst, bce: table.bce } : null),
  batchShown: () => (batchSurface && state.show_batch && !fullBatch() ? batchSurface.params.batch : null),
  drawnPoints: () => contour.drawnPoints,
  comparisons: () => ({ ...cmpState }),
  counts: () => ({ ...perf }),
  state: () => structuredClone(state),
});

bindControls();
save();
session.open(loadSurface().then(() => drawComparison()));
requestAnimationFrame(frame);
