// @ts-check
// The training view (/network): a network config built from controls (and the URL), trained live over the
// stream (kind "network", docs/networks.md); the diagram, decision boundary, loss curves, the Keras
// progress line and metrics are drawn once per animation frame from whatever arrived since the last one.
//
// Embedding (/embed/network, docs/embedding.md): play/pause/step/reset drive the live training; set(run,
// hyperparameters) changes the optimizer's hyperparameters (the stream's `set`: the next iteration uses them;
// before a training, the next one starts with them). Reports gdp:step {network: global_step}, gdp:event
// early_stop | diverged | done | stopped, then gdp:done.
import { embeddedRegistry, postJson } from "../client.js";
import { LiveSession, exposeHook } from "../live.js";
import { TrainingLog } from "../runs.js";
import { splitCsvLine } from "../csv.js";
import { DEFAULT_LIMITS, validLayers } from "../limits.js";
import { copyLink, copyText } from "../share.js";
import { errorText, formatNumber, localizeDecimal, plotlyLocale, t } from "../i18n.js";
import { stabilityEdge } from "../curvature.js";
import { FONT, MUTED_TEXT, PALETTE } from "../theme.js";
import { encodeState, readState, shareUrl, writeState } from "../state.js";
import { el, hyperparameterFields } from "../controls.js";

import {
  DecisionPlot,
  LossCurves,
  NetworkDiagram,
  confusionTable,
  formatLoss,
  metricText,
  progressLine,
  progressParts,
} from "../netplot.js";

const registry = embeddedRegistry();
const DATASETS = new Map((registry.datasets ?? []).map((d) => [d.name, d]));
const OPTIMIZERS = new Map(registry.optimizers.map((o) => [o.name, o]));
/** The server's limits (hello.limits) once connected; before, the URL's layers meet DEFAULT_LIMITS. */
const limits = () => session?.limits ?? null;
const activations = () => limits()?.activations ?? [...DEFAULT_LIMITS.activations];
const validEs = (v) => v === null || (typeof v === "object" && typeof v.monitor === "string");
const SCHEMA = {
  dataset: { type: "string", default: "two_gaussians", validate: (v) => DATASETS.has(v), aliases: ["ds"] },
  n: { type: "int", default: null, validate: (v) => v >= 4 && v <= 5000 },
  noise: { type: "number", default: 0.1, validate: (v) => v >= 0 && v <= 1 },
  val_fraction: { aliases: ["val"], type: "number", default: 0.2, validate: (v) => v >= 0 && v <= 0.9 },
  layers: { type: "json", default: [{ units: 8, act: "relu" }, { units: 8, act: "relu" }], validate: (v) => validLayers(v) },
  optimizer: { type: "string", default: "adam", validate: (v) => OPTIMIZERS.has(v), aliases: ["opt"] },
  hyperparameters: { aliases: ["hp"], type: "json", default: { lr: 0.01 }, validate: (v) => v && typeof v === "object" && !Array.isArray(v) },
  batch_size: { aliases: ["bs"], type: "int", default: 32, validate: (v) => v >= 1 && v <= 5000 },
  epochs: { type: "int", default: 100, validate: (v) => v >= 1 && v <= 5000 },
  l1: { type: "number", default: 0, validate: (v) => v >= 0 && v <= 1 },
  l2: { type: "number", default: 0, validate: (v) => v >= 0 && v <= 1 },
  dropout: { aliases: ["drop"], type: "number", default: 0, validate: (v) => v >= 0 && v <= 0.9 },
  early_stopping: { type: "json", default: null, validate: validEs, aliases: ["es"] },
  seed: { type: "int", default: 0, validate: (v) => v >= 0 },
  sharpness: { type: "bool", default: false },
  progbar: { type: "string", default: "keras3", validate: (v) => v === "keras3" || v === "keras2" },
  speed: { type: "string", default: "20", validate: (v) => v === "max" || Number(v) > 0 },
};

const state = readState(SCHEMA);
const $ = (sel) => document.querySelector(sel);
const ui = {
  dataset: $("#dataset"), datasetNote: $("#dataset-note"), datasetParams: $("#dataset-params"), rows: $("#rows"), noise: $("#noise"),
  val: $("#val-fraction"), csvBox: $("#csv-box"), csvFile: $("#csv-file"), csvTarget: $("#csv-target"), csvFeatures: $("#csv-features"),
  csvError: $("#csv-error"), csvOk: $("#csv-ok"),
  layers: $("#layers"), addLayer: $("#add-layer"), optimizer: $("#optimizer"), hp: $("#hyperparameters"),
  batch: $("#batch-size"), epochs: $("#epochs"), arith: $("#arith"),
  l1: $("#l1"), l2: $("#l2"), dropout: $("#dropout"), esOn: $("#es-on"), esBox: $("#es-box"), esMonitor: $("#es-monitor"),
  esPatience: $("#es-patience"), esDelta: $("#es-delta"), esRestore: $("#es-restore"),
  copy: $("#copy-link"), link: $("#share-url"),
  progress: $("#progress"), history: $("#history"), diagram: $("#diagram"), netDesc: $("#net-desc"), decision: $("#decision"),
  gridEpoch: $("#grid-epoch"), curves: $("#curves"), metrics: $("#metrics"), confusion: $("#confusion"),
  tabKeras: $("#tab-keras"), tabTorch: $("#tab-pytorch"), codeKeras: $("#code-keras"), codeTorch: $("#code-pytorch"),
  copyCode: $("#copy-code"), codeStatus: $("#code-status"), progbar: $("#progbar"),
  fidelityKeras: $("#fidelity-keras"), fidelityTorch: $("#fidelity-pytorch"),
  slidePanel: $("#slide-panel"), slideRows: $("#slide-rows"), slideEpoch: $("#slide-epoch"), slideNote: $("#slide-note"),
  linkNote: $("#link-note"),
  sharpness: $("#sharpness"), sharpnessFrame: $("#sharpness-frame"), sharpnessPlot: $("#sharpness-plot"),
  curvesRow: $("#curves-row"), sharpnessPreset: $("#sharpness-preset"),
};

/** The setting where the edge of stability shows (docs/networks.md): full-batch sgd on wave, 32-32 tanh. */
const SHARPNESS_PRESET = {
  dataset: "wave", n: 200, noise: 0.1, val_fraction: 0, layers: [{ units: 32, act: "tanh" }, { units: 32, act: "tanh" }],
  optimizer: "sgd", hyperparameters: { lr: 0.05 }, batch_size: 200, epochs: 600, sharpness: true, speed: "60",
};

const diagram = new NetworkDiagram(ui.diagram);
const decision = new DecisionPlot(ui.decision);
const curves = new LossCurves(ui.curves);
const log = new TrainingLog();
const csv = { text: null, columns: [], target: null, features: [], ok: false, summary: null, name: "" };
const code = { keras: "", pytorch: "", error: null, pending: 0 };
const dirty = { progress: true, diagram: true, decision: true, curves: true, metrics: true, slide: true };
const perf = { frames: 0 };
let preview = null; // dataset summary (rows) shown before any training
let previewToken = 0;

const save = () => writeState(SCHEMA, state);
const isCsv = () => ui.dataset.value === "upload";
const taskName = (task) => (["binary", "multiclass", "regression"].includes(task) ? t(`network.task.${task}`) : task);

// ------------------------------------------------------------------------------------------- config
function datasetConfig() {
  if (isCsv()) return { csv: csv.text ?? "", features: csv.features, target: csv.target ?? "", val_fraction: state.val_fraction };
  const ds = { name: state.dataset, noise: state.noise, seed: state.seed, val_fraction: state.val_fraction };
  if (state.n !== null) ds.n = state.n;
  return ds;
}

function networkConfig() {
  const hp = { ...state.hyperparameters };
  const cfg = {
    dataset: datasetConfig(),
    hidden: state.layers.map((l) => l.units),
    activations: state.layers.map((l) => l.act),
    optimizer: state.optimizer,
    hyperparameters: hp,
    batch_size: state.batch_size,
    epochs: state.epochs,
    l1: state.l1,
    l2: state.l2,
    dropout: state.dropout,
    early_stopping: state.early_stopping,
    seed: state.seed,
    every: Math.max(1, Math.min(10, Math.round(state.epochs / 50))),
  };
  if (state.sharpness) cfg.sharpness = true; // λmax per epoch (priced by the server's cost model)
  if (!cfg.hidden.length) cfg.activations = "relu";
  return cfg;
}

const canTrain = () => !isCsv() || csv.ok;

// ------------------------------------------------------------------------------------------- stream
const session = new LiveSession({
  name: "network",
  kind: "network",
  config: networkConfig,
  canStart: canTrain,
  speed: { get: () => state.speed, set: (speed) => { state.speed = speed; save(); }, label: (n) => t("network.speed", { n }) },
  words: {
    idle: t("network.status.idle"),
    running: t("network.status.running"),
    paused: t("common.paused"),
    finished: t("network.status.finished"),
  },
  closedText: () => t("network.closed"),
  on: {
    open: (hello) => {
      // the URL's layers again, against what this server allows; the default network when they do not fit
      if (!validLayers(state.layers, hello.limits)) {
        state.layers = structuredClone(SCHEMA.layers.default);
        save();
        configChanged();
      }
      renderLayers();
    },
    started: (msg) => {
      log.started(msg);
      preview = msg.dataset;
      ui.history.replaceChildren();
      markAll();
    },
    iterations: (msg) => {
      log.iterations(msg.columns);
      dirty.progress = dirty.diagram = true;
      if (log.count) session.embed.step("network", log.it.global_step[log.count - 1]);
    },
    epoch: (msg) => {
      const before = log.gridEpoch;
      const weightsBefore = log.weights;
      log.epochs(msg.records);
      appendHistory(msg.records);
      dirty.curves = dirty.metrics = dirty.progress = dirty.slide = true;
      if (log.gridEpoch !== before) dirty.decision = true;
      if (log.weights !== weightsBefore) dirty.diagram = true;
    },
    event: (msg) => {
      log.event(msg);
      dirty.curves = dirty.metrics = true;
      if (msg.restored_best_weights) dirty.decision = dirty.diagram = dirty.slide = true;
      const best = msg.best_epoch ?? "–";
      const words = {
        early_stop: t(msg.restored_best_weights ? "network.event.early_stop_restored" : "network.event.early_stop", { epoch: msg.epoch, best }),
        diverged: t("network.event.diverged", { epoch: msg.epoch, detail: msg.detail }),
        done: t("network.event.done", { epochs: msg.epoch }),
        stopped: t("network.event.stopped"),
      };
      if (msg.reason !== "stopped") session.setStatus("finished", words[msg.reason] ?? msg.detail);
    },
    done: (msg) => {
      log.done(msg);
      dirty.metrics = true;
    },
    error: (msg) => {
      const text = t("network.error", { message: errorText(msg) || msg.detail || JSON.stringify(msg) });
      if (session.status === "running" && !log.meta) session.setStatus("idle", text);
      else session.say(text);
    },
  },
  onReset: () => {
    log.reset();
    ui.history.replaceChildren();
    markAll();
  },
  embed: { set: setFromHost, query: () => encodeState(SCHEMA, state), height: 2750, note: () => linkNote() },
});
const reset = () => session.reset();
/** The status line's state again, with the transport enabled or not as the form now allows. */
const refresh = () => session.setStatus(session.status);

/** A change that needs a new training: stop the one in progress and redraw from the preview. */
function configChanged({ data = false } = {}) {
  save();
  if (session.status !== "idle") reset();
  else markAll();
  updateArith();
  scheduleCode();
  if (data) loadPreview();
}

// ------------------------------------------------------------------------------------------- preview
async function loadPreview() {
  const token = ++previewToken;
  if (isCsv() && !csv.ok) {
    preview = null;
    markAll();
    return;
  }
  try {
    const body = await postJson("/api/v1/datasets/preview", { dataset: datasetConfig() });
    if (token !== previewToken) return;
    preview = body.dataset;
    updateArith();
    markAll();
  } catch (error) {
    if (token !== previewToken) return;
    session.say(t("network.dataset_error", { message: error.message }));
  }
}

// ------------------------------------------------------------------------------------------- code panel
let codeTimer = 0;
function scheduleCode() {
  clearTimeout(codeTimer);
  codeTimer = setTimeout(fetchCode, 250);
}

async function fetchCode() {
  if (!canTrain()) {
    ui.codeStatus.textContent = t("network.code.need_csv");
    return;
  }
  const token = ++code.pending;
  ui.codeStatus.textContent = t("network.code.updating");
  try {
    const body = await postJson("/api/v1/networks/code", networkConfig());
    if (token !== code.pending) return;
    code.keras = body.keras;
    code.pytorch = body.pytorch;
    code.error = null;
    ui.codeKeras.firstElementChild.textContent = body.keras;
    ui.codeTorch.firstElementChild.textContent = body.pytorch;
    ui.codeStatus.textContent = t("network.code.ok");
  } catch (error) {
    if (token !== code.pending) return;
    code.error = error.message;
    ui.codeStatus.textContent = t("network.code.invalid", { message: error.message });
  }
}

function selectTab(which) {
  const keras = which === "keras";
  ui.tabKeras.setAttribute("aria-selected", String(keras));
  ui.tabTorch.setAttribute("aria-selected", String(!keras));
  ui.tabKeras.tabIndex = keras ? 0 : -1;
  ui.tabTorch.tabIndex = keras ? -1 : 0;
  ui.codeKeras.hidden = !keras;
  ui.codeTorch.hidden = keras;
  ui.fidelityKeras.hidden = !keras; // how far each script reproduces the run (docs/networks.md)
  ui.fidelityTorch.hidden = keras;
}

// ------------------------------------------------------------------------------------------- drawing
function markAll() {
  for (const k of Object.keys(dirty)) dirty[k] = true;
}

/** A finished epoch's two lines as Keras prints them when the epoch ends. */
function epochLines(r) {
  const ipe = log.meta?.iterations_per_epoch ?? 0;
  return progressLine({ epoch: r.epoch, epochs: log.meta?.epochs ?? state.epochs, step: ipe, steps: ipe, seconds: r.seconds, logs: r.logs, final: true, style: state.progbar });
}

/** Every finished epoch stays in the history (scrollable); it follows the newest unless scrolled up. */
function appendHistory(records) {
  const box = ui.history;
  const following = box.scrollHeight - box.scrollTop - box.clientHeight < 24;
  const lines = records.map(epochLines).join("\n");
  if (lines) box.append(box.childNodes.length ? `\n${lines}` : lines);
  if (following) box.scrollTop = box.scrollHeight;
}

function redrawHistory() {
  ui.history.replaceChildren();
  appendHistory(log.ep);
  dirty.progress = true;
}

function drawProgress() {
  const meta = log.meta;
  const last = log.last();
  const lastEp = log.ep[log.ep.length - 1];
  let line;
  if (!meta || !last) {
    const ipe = preview ? Math.ceil(preview.n_train / state.batch_size) : 0;
    line = { epoch: 1, epochs: state.epochs, step: 0, steps: ipe };
  } else if (lastEp && lastEp.epoch === last.epoch) {
    line = { epoch: lastEp.epoch, epochs: meta.epochs, step: last.iteration, steps: meta.iterations_per_epoch, seconds: lastEp.seconds, logs: lastEp.logs, final: true };
  } else {
    line = { epoch: last.epoch, epochs: meta.epochs, step: last.iteration, steps: meta.iterations_per_epoch, seconds: last.seconds, logs: last.logs };
  }
  const parts = progressParts({ ...line, style: state.progbar });
  ui.progress.replaceChildren(
    parts.header ? `${parts.header}\n` : "",
    parts.count,
    el("span", { class: "bar-done", text: parts.done }),
    el("span", { class: "bar-todo", text: parts.todo }),
    parts.info,
  );
}

/** The slide's insurance table with each row's ŷ and binary cross-entropy under the weights shown. */
function drawSlide() {
  const rows = (log.meta?.dataset ?? preview)?.slide_rows;
  ui.slidePanel.hidden = !rows;
  if (!rows) return;
  const shown = log.slide;
  const { features, target } = log.meta?.dataset ?? preview;
  let worst = -1;
  if (shown) shown.loss.forEach((v, i) => (worst = worst < 0 || v > shown.loss[worst] ? i : worst));
  const cell = (tag, text, cls = "") => el(tag, { text, class: cls });
  const head = el("tr", {}, ...features.map((f) => cell("th", f)), el("th", { text: t("network.slide.y"), title: target }), cell("th", t("network.slide.y_hat")), cell("th", t("network.slide.loss")), el("th", { "aria-hidden": "true" }));
  const body = rows.x.map((x, i) =>
    el(
      "tr",
      { class: i === worst ? "worst" : "", dataset: { row: String(i) } },
      ...x.map((v) => cell("td", formatNumber(v))),
      cell("td", String(rows.y[i])),
      cell("td", shown ? formatLoss(shown.y_hat[i]) : "–", "slide-y-hat"),
      cell("td", shown ? formatLoss(shown.loss[i]) : "–", "slide-loss"),
      cell("td", i === worst ? t("network.slide.worst") : "", "mark"),
    ),
  );
  ui.slideRows.replaceChildren(el("thead", {}, head), el("tbody", {}, ...body));
  ui.slideEpoch.textContent = !shown ? t("network.slide_untrained") : log.restored ? t("network.slide_restored", { n: log.slideEpoch }) : t("network.slide_epoch", { n: log.slideEpoch });
  const { yHat, loss } = ui.slideNote.dataset;
  ui.slideNote.textContent = t("network.slide_note", { y_hat: formatNumber(Number(yHat)), loss: localizeDecimal(Number(loss).toFixed(3)) });
}

function drawDiagram() {
  const meta = log.meta;
  if (meta) {
    diagram.draw({ layers: meta.network.layers, weights: log.weights, masks: log.masks, activations: meta.network.activations, features: meta.dataset.features });
    const n = meta.network;
    ui.netDesc.textContent = t("network.net_desc", { layers: n.layers.join("–"), params: n.n_params, output: n.output, loss: n.loss });
  } else {
    const inputs = preview?.features.length ?? 2;
    const outputs = preview?.task === "multiclass" ? preview.classes : 1;
    diagram.draw({ layers: [inputs, ...state.layers.map((l) => l.units), outputs], activations: state.layers.map((l) => l.act), features: preview?.features });
    ui.netDesc.textContent = "";
  }
}

function drawDecision() {
  const dataset = log.meta?.dataset ?? preview;
  if (!dataset) return;
  if (dataset.features.length > 2) {
    ui.decision.replaceChildren(el("p", { class: "muted small", text: t("network.too_many_features", { n: dataset.features.length }) }));
    return;
  }
  decision.draw({ dataset, grid: log.meta ? log.grid : null, task: dataset.task, classes: dataset.classes });
  if (!log.meta || !log.grid) ui.gridEpoch.textContent = "";
  else if (log.restored) ui.gridEpoch.textContent = t("network.restored_epoch", { best: log.gridEpoch, stop: log.stopEpoch });
  else ui.gridEpoch.textContent = t("network.after_epoch", { n: log.gridEpoch });
}

function drawCurves() {
  curves.draw({
    epochs: log.ep.map((r) => r.epoch),
    train: log.ep.map((r) => r.train_loss),
    val: log.ep.map((r) => r.val_loss),
    bestEpoch: log.bestEpoch,
    stopEpoch: log.stopEpoch,
    // the loss's name is long (binary_crossentropy) and already in the network's heading: a short title fits 320 px
    ytitle: log.meta && ui.curves.clientWidth > 520 ? t("network.loss_axis", { loss: log.meta.network.loss }) : t("netplot.loss"),
  });
}

/** The sharpness chart beside the loss curves when asked for; the loss curves take the row otherwise. */
function showSharpnessFrame() {
  if (ui.sharpnessFrame.hidden === !state.sharpness) return;
  ui.sharpnessFrame.hidden = !state.sharpness;
  ui.curvesRow.classList.toggle("with-sharpness", state.sharpness);
  if (ui.curves.data) Plotly.Plots.resize(ui.curves); // its frame changed width
}

/**
 * Sharpness λmax per epoch against the line 2/lr (the learning rate now: the last iteration's, or the
 * form's before training). Cohen et al. (2021): full-batch gradient descent sharpens up to the line and
 * hovers there.
 */
function drawSharpness() {
  showSharpnessFrame();
  if (!state.sharpness) return;
  const lr = log.count ? log.it.lr[log.count - 1] : state.hyperparameters.lr;
  const edge = stabilityEdge(lr);
  const epochs = log.ep.map((r) => r.epoch);
  const values = log.ep.map((r) => r.sharpness ?? null);
  const last = Math.max(state.epochs, ...epochs, 1);
  const name = t("network.sharpness_trace");
  const epochWord = t("netplot.epoch");
  /** @type {any[]} */
  const traces = [{
    type: "scatter", mode: "lines", meta: "sharpness", name, x: epochs, y: values,
    line: { color: PALETTE[0], width: 2 }, hovertemplate: `${epochWord} %{x}<br>λmax %{y:.4g}<extra></extra>`,
  }];
  if (edge !== null) {
    traces.push({
      type: "scatter", mode: "lines", meta: "edge", name: t("network.sharpness_edge", { edge: formatNumber(edge, { plus: false }) }),
      x: [0, last], y: [edge, edge], line: { color: "#b3261e", width: 2, dash: "dash" }, hoverinfo: "skip",
    });
  }
  const finite = values.filter((v) => v !== null && Number.isFinite(v));
  const top = Math.max(...finite, edge ?? 1) * 1.15;
  const layout = {
    ...plotlyLocale(),
    margin: { l: 48, r: 10, t: 8, b: 40 },
    paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "#fff",
    font: { ...FONT, size: 11, color: MUTED_TEXT },
    xaxis: { title: { text: epochWord }, range: [0, last], gridcolor: "#eef2f6" },
    yaxis: { title: { text: "λmax" }, range: [0, top], gridcolor: "#eef2f6" },
    legend: { orientation: "h", y: -0.28, x: 0, font: { size: 11 } },
  };
  Plotly.react(ui.sharpnessPlot, traces, layout, { displayModeBar: false, responsive: true });
}

function drawMetrics() {
  const r = log.ep[log.ep.length - 1];
  const task = log.meta?.dataset.task ?? preview?.task ?? "binary";
  const items = [
    [t("network.m.epoch"), r ? `${r.epoch} / ${log.meta.epochs}` : "–"],
    [t("network.m.train"), r ? metricText(task, r.train_metrics) : "–"],
    [t("network.m.validation"), r && r.val_loss !== null ? metricText(task, r.val_metrics) : "–"],
    [t("network.m.train_loss"), r ? formatLoss(r.train_loss) : "–"],
    [t("network.m.val_loss"), r ? formatLoss(r.val_loss) : "–"],
    [t("network.m.lr"), log.count ? formatNumber(log.it.lr[log.count - 1]) : formatNumber(state.hyperparameters.lr)],
    [t("network.m.penalty"), r ? `${formatNumber(r.l1_penalty)} / ${formatNumber(r.l2_penalty)}` : "–"],
    [t("network.m.best_epoch"), log.bestEpoch ?? "–"],
  ];
  ui.metrics.replaceChildren(...items.map(([k, v]) => el("div", {}, el("dt", { text: k }), el("dd", { text: String(v) }))));
  const cm = log.summary?.confusion_matrix;
  if (cm) {
    const split = cm.val ? "val" : "train";
    ui.confusion.replaceChildren(
      el("h3", { class: "small", text: t(split === "val" ? "network.confusion.val" : "network.confusion.train") }),
      el("div", { class: "table-scroll" }, confusionTable(cm[split])),
    );
  } else {
    ui.confusion.replaceChildren();
  }
}

function frame() {
  perf.frames++;
  try {
    if (dirty.progress) drawProgress();
    if (dirty.diagram) drawDiagram();
    if (dirty.decision) drawDecision();
    if (dirty.curves && (perf.frames % 3 === 0 || session.status !== "running")) {
      drawCurves();
      drawSharpness();
      dirty.curves = false;
    }
    if (dirty.metrics) drawMetrics();
    if (dirty.slide) drawSlide();
  } finally {
    dirty.progress = dirty.diagram = dirty.decision = dirty.metrics = dirty.slide = false;
  }
  requestAnimationFrame(frame);
}

// ------------------------------------------------------------------------------------------- controls
function updateArith() {
  const n = log.meta?.dataset.n_train ?? preview?.n_train;
  if (!n) {
    ui.arith.textContent = "";
    return;
  }
  const ipe = Math.ceil(n / state.batch_size);
  ui.arith.textContent = t(ipe === 1 ? "network.arith_one" : "network.arith", {
    n, bs: state.batch_size, ratio: formatNumber(n / state.batch_size), ipe, epochs: state.epochs, total: ipe * state.epochs,
  });
}

/** @param {any} input @param {string} key @param {{int?: boolean, data?: boolean, live?: false | ((v: number) => void)}} [options] */
function bindNumber(input, key, { int = false, data = false, live = false } = {}) {
  input.value = state[key] === null ? "" : String(state[key]);
  input.addEventListener("change", () => {
    const spec = SCHEMA[key];
    const raw = input.value.trim();
    if (raw === "" && spec.default === null) {
      state[key] = null;
      input.setAttribute("aria-invalid", "false");
      configChanged({ data });
      return;
    }
    const v = int ? Number.parseInt(raw, 10) : Number(raw);
    const ok = raw !== "" && Number.isFinite(v) && (!int || String(v) === raw) && (!spec.validate || spec.validate(v));
    input.setAttribute("aria-invalid", ok ? "false" : "true");
    if (!ok) return;
    state[key] = v;
    if (live) return live(v);
    configChanged({ data });
  });
}

function renderDatasetPicker() {
  ui.dataset.replaceChildren(
    ...[...DATASETS.values()].map((d) => el("option", { value: d.name, text: `${d.title}` })),
    el("option", { value: "upload", text: t("network.upload") }),
  );
  ui.dataset.value = state.dataset;
  showDatasetNote();
}

function showDatasetNote() {
  const upload = isCsv();
  const d = DATASETS.get(state.dataset);
  if (upload) ui.datasetNote.textContent = t("network.upload_note");
  else if (d) ui.datasetNote.textContent = `${d.note} ${t("network.dataset_note", { task: taskName(d.task), n: d.default_n })}`;
  else ui.datasetNote.textContent = "";
  ui.csvBox.hidden = !upload;
  ui.datasetParams.hidden = upload;
  ui.rows.placeholder = d ? String(d.default_n) : "";
}

function renderLayers() {
  ui.layers.replaceChildren(
    ...state.layers.map((layer, i) => {
      const units = el("input", { type: "number", min: 1, max: 32, step: 1, value: layer.units, id: `units-${i}`, "aria-label": t("network.layer_units", { n: i + 1 }) });
      const act = el("select", { id: `act-${i}`, "aria-label": t("network.layer_activation", { n: i + 1 }) }, ...activations().map((a) => el("option", { value: a, text: a })));
      act.value = layer.act;
      const remove = el("button", { type: "button", class: "icon", "aria-label": t("network.remove_layer", { n: i + 1 }), title: t("network.remove_layer_title"), text: "✕" });
      units.addEventListener("change", () => {
        const v = Number.parseInt(units.value, 10);
        const ok = Number.isInteger(v) && v >= 1 && v <= 32 && String(v) === units.value.trim();
        units.setAttribute("aria-invalid", ok ? "false" : "true");
        if (!ok) return;
        state.layers[i].units = v;
        configChanged();
      });
      act.addEventListener("change", () => {
        state.layers[i].act = act.value;
        configChanged();
      });
      remove.addEventListener("click", () => {
        state.layers.splice(i, 1);
        renderLayers();
        configChanged();
      });
      return el("li", { class: "layer-row" }, el("span", { class: "layer-name", text: t("network.layer", { n: i + 1 }) }), units, el("span", { class: "muted small", text: t("network.units") }), act, remove);
    }),
  );
  if (!state.layers.length) ui.layers.append(el("li", { class: "muted small", text: t("network.no_hidden") }));
  ui.addLayer.disabled = state.layers.length >= (limits()?.max_layers ?? Infinity);
}

function renderHyperparameters() {
  const optimizer = OPTIMIZERS.get(state.optimizer);
  const values = Object.fromEntries(optimizer.hyperparameters.map((s) => [s.name, state.hyperparameters[s.name] ?? s.default]));
  if (state.hyperparameters.lr === undefined) state.hyperparameters.lr = values.lr;
  ui.hp.replaceChildren(
    hyperparameterFields(optimizer, values, (name, value) => {
      state.hyperparameters[name] = value;
      save();
      scheduleCode();
      {
        session.send((client) => client.send({ type: "set", hyperparameters: { [name]: value } }));
        dirty.metrics = true;
      }
    }, "optimizer"),
  );
  const lrInput = ui.hp.querySelector("input[data-hp=lr]");
  if (lrInput) lrInput.id = "lr";
}

function bindEarlyStopping() {
  const es = state.early_stopping;
  ui.esOn.checked = es !== null;
  ui.esBox.hidden = es === null;
  const cur = es ?? { monitor: "val_loss", patience: 10, min_delta: 0, restore_best_weights: true };
  ui.esMonitor.value = cur.monitor;
  ui.esPatience.value = String(cur.patience);
  ui.esDelta.value = String(cur.min_delta);
  ui.esRestore.checked = Boolean(cur.restore_best_weights);
  const read = () => {
    if (!ui.esOn.checked) return null;
    const patience = Number.parseInt(ui.esPatience.value, 10);
    const delta = Number(ui.esDelta.value);
    const pOk = Number.isInteger(patience) && patience >= 0 && patience <= 1000;
    const dOk = Number.isFinite(delta) && delta >= 0;
    ui.esPatience.setAttribute("aria-invalid", pOk ? "false" : "true");
    ui.esDelta.setAttribute("aria-invalid", dOk ? "false" : "true");
    if (!pOk || !dOk) return undefined;
    return { monitor: ui.esMonitor.value, mode: "auto", patience, min_delta: delta, restore_best_weights: ui.esRestore.checked };
  };
  for (const input of [ui.esOn, ui.esMonitor, ui.esPatience, ui.esDelta, ui.esRestore]) {
    input.addEventListener("change", () => {
      ui.esBox.hidden = !ui.esOn.checked;
      const next = read();
      if (next === undefined) return;
      state.early_stopping = next;
      configChanged();
    });
  }
}

// ------------------------------------------------------------------------------------------- share
/** What a shared link opens: the data set it names; with an uploaded CSV, that the file stays behind. */
function linkNote() {
  const dataset = DATASETS.get(state.dataset)?.title ?? state.dataset;
  if (!isCsv()) return t("network.link_opens", { dataset });
  return t("network.link_csv", { name: csv.name || t("network.upload"), dataset });
}

/** The share panel says it under the Copy link button (and the Embed dialog when it opens). */
function showLinkNote() {
  ui.linkNote.textContent = linkNote();
  ui.linkNote.classList.toggle("warn", isCsv());
}

// ------------------------------------------------------------------------------------------- CSV upload
function showCsvError(message, where) {
  ui.csvError.replaceChildren(el("p", { class: "error-msg", text: message }), where ? el("p", { class: "small", text: where }) : null);
  ui.csvError.hidden = false;
  ui.csvOk.textContent = "";
}

function renderCsvColumns() {
  ui.csvTarget.replaceChildren(...csv.columns.map((c) => el("option", { value: c, text: c })));
  ui.csvTarget.value = csv.target ?? "";
  const boxes = csv.columns
    .filter((c) => c !== csv.target)
    .map((c) => {
      const box = el("input", { type: "checkbox", value: c });
      box.checked = csv.features.includes(c);
      box.addEventListener("change", () => {
        csv.features = [...ui.csvFeatures.querySelectorAll("input:checked")].map((b) => b.value);
        validateCsv();
      });
      return el("label", { class: "check-label" }, box, ` ${c}`);
    });
  ui.csvFeatures.replaceChildren(el("legend", { text: t("network.csv_features") }), ...boxes);
}

async function validateCsv() {
  csv.ok = false;
  refresh();
  if (!csv.text) return;
  if (!csv.features.length) {
    showCsvError(t("network.csv.pick_feature"));
    return;
  }
  try {
    const body = await postJson("/api/v1/datasets/preview", { dataset: datasetConfig() });
    csv.ok = true;
    csv.summary = body.dataset;
    preview = body.dataset;
    ui.csvError.hidden = true;
    const d = body.dataset;
    ui.csvOk.textContent = t(d.classes ? "network.csv.ok_classes" : "network.csv.ok", {
      train: d.n_train, val: d.n_val, features: d.features.length, task: taskName(d.task), classes: d.classes,
    });
  } catch (error) {
    csv.ok = false;
    preview = null;
    const loc = error.detail?.loc?.filter((p) => p !== "body").join(".");
    showCsvError(error.message, loc ? t("network.csv.where", { loc }) : null);
  }
  if (session.status !== "idle") reset();
  refresh();
  markAll();
  updateArith();
  scheduleCode();
}

async function readCsvFile() {
  const file = ui.csvFile.files?.[0];
  if (!file) return;
  csv.name = file.name;
  showLinkNote();
  const maxBytes = limits()?.max_upload_bytes ?? Infinity; // the server refuses a larger one anyway
  if (file.size > maxBytes) {
    csv.text = null;
    csv.ok = false;
    showCsvError(t("network.csv.too_big", { name: file.name, size: (file.size / 1024).toFixed(0) }));
    refresh();
    return;
  }
  csv.text = await file.text();
  const header = csv.text.split(/\r?\n/, 1)[0] ?? "";
  csv.columns = splitCsvLine(header).filter((c) => c !== "");
  if (csv.columns.length < 2) {
    csv.ok = false;
    showCsvError(t("network.csv.header"), t("network.csv.row1"));
    ui.csvTarget.replaceChildren();
    ui.csvFeatures.replaceChildren(el("legend", { text: t("network.csv_features") }));
    refresh();
    return;
  }
  csv.target = csv.columns[csv.columns.length - 1];
  csv.features = csv.columns.slice(0, -1);
  renderCsvColumns();
  await validateCsv();
}

// ------------------------------------------------------------------------------------------- setup
function init() {
  renderDatasetPicker();
  ui.rows.value = state.n === null ? "" : String(state.n);
  bindNumber(ui.rows, "n", { int: true, data: true });
  bindNumber(ui.noise, "noise", { data: true });
  bindNumber(ui.val, "val_fraction", { data: true });
  bindNumber(ui.batch, "batch_size", { int: true });
  bindNumber(ui.epochs, "epochs", { int: true });
  bindNumber(ui.l1, "l1");
  bindNumber(ui.l2, "l2");
  bindNumber(ui.dropout, "dropout");
  ui.dataset.addEventListener("change", () => {
    if (!isCsv()) state.dataset = ui.dataset.value;
    showDatasetNote();
    showLinkNote();
    refresh();
    configChanged({ data: true });
  });
  ui.csvFile.addEventListener("change", readCsvFile);
  ui.csvTarget.addEventListener("change", () => {
    csv.target = ui.csvTarget.value;
    csv.features = csv.columns.filter((c) => c !== csv.target);
    renderCsvColumns();
    validateCsv();
  });
  renderLayers();
  ui.addLayer.addEventListener("click", () => {
    if (state.layers.length >= (limits()?.max_layers ?? Infinity)) return;
    const prev = state.layers[state.layers.length - 1];
    state.layers.push({ units: prev?.units ?? 8, act: prev?.act ?? "relu" });
    renderLayers();
    configChanged();
  });
  ui.optimizer.replaceChildren(...[...OPTIMIZERS.values()].map((o) => el("option", { value: o.name, text: o.title })));
  ui.optimizer.value = state.optimizer;
  renderHyperparameters();
  ui.optimizer.addEventListener("change", () => {
    const lr = state.hyperparameters.lr;
    state.optimizer = ui.optimizer.value;
    state.hyperparameters = { lr };
    renderHyperparameters();
    configChanged();
  });
  bindEarlyStopping();
  ui.sharpness.checked = state.sharpness;
  showSharpnessFrame();
  ui.sharpness.addEventListener("change", () => {
    state.sharpness = ui.sharpness.checked;
    configChanged();
  });
  ui.sharpnessPreset.href = `${location.pathname}?${encodeState(SCHEMA, { ...readState(SCHEMA, ""), ...SHARPNESS_PRESET })}`;
  ui.copy.addEventListener("click", () => {
    copyLink(shareUrl(SCHEMA, state), ui.copy, ui.link);
    showLinkNote();
  });
  ui.progbar.value = state.progbar;
  ui.progbar.addEventListener("change", () => {
    state.progbar = ui.progbar.value;
    save();
    redrawHistory();
  });
  ui.tabKeras.addEventListener("click", () => selectTab("keras"));
  ui.tabTorch.addEventListener("click", () => selectTab("pytorch"));
  for (const tab of [ui.tabKeras, ui.tabTorch]) {
    tab.addEventListener("keydown", (e) => {
      if (e.key !== "ArrowLeft" && e.key !== "ArrowRight") return;
      e.preventDefault();
      const other = tab === ui.tabKeras ? ui.tabTorch : ui.tabKeras;
      other.focus();
      selectTab(other === ui.tabKeras ? "keras" : "pytorch");
    });
  }
  ui.copyCode.addEventListener("click", () => {
    const keras = ui.tabKeras.getAttribute("aria-selected") === "true";
    copyText(keras ? code.keras : code.pytorch, ui.copyCode, t("network.copied"));
  });
  updateArith();
  showLinkNote();
  loadPreview();
  scheduleCode();
  session.open();
  requestAnimationFrame(frame);
}

// ------------------------------------------------------------------------------------------- embedding
/** A host's gdp:set: the optimizer's hyperparameters, live when a training is in progress. */
async function setFromHost(run, hyperparameters) {
  if (run && run !== "network") throw new Error(`no run ${run}; this view has one run, "network"`);
  const optimizer = OPTIMIZERS.get(state.optimizer);
  const known = new Set(optimizer.hyperparameters.map((h) => h.name));
  const changes = {};
  for (const [name, value] of Object.entries(hyperparameters)) {
    if (!known.has(name)) throw new Error(`${optimizer.name} has no hyperparameter ${name}`);
    changes[name] = value;
  }
  Object.assign(state.hyperparameters, changes);
  save();
  renderHyperparameters();
  scheduleCode();
  session.send((client) => client.send({ type: "set", hyperparameters: changes }));
  dirty.metrics = true;
}

init();

// Read-only test hook: a fresh snapshot on every read.
exposeHook("network", () => {
    const last = log.last();
    const dropped = [...ui.diagram.querySelectorAll("circle.neuron.dropped")].map((c) => `${c.dataset.layer}:${c.dataset.unit}`);
    return Object.freeze({
      status: session.status,
      started: Boolean(log.meta),
      iterationsPerEpoch: log.meta?.iterations_per_epoch ?? null,
      epochsTotal: log.meta?.epochs ?? null,
      iterations: log.count,
      last,
      lrs: log.it.lr.slice(-50),
      globalSteps: log.it.global_step.slice(-50),
      epochs: log.ep.length,
      trainLoss: log.ep.map((r) => r.train_loss),
      valLoss: log.ep.map((r) => r.val_loss),
      accuracy: log.ep.map((r) => r.val_metrics?.accuracy ?? r.train_metrics?.accuracy ?? null),
      curvePoints: (ui.curves.data ?? []).reduce((s, t) => s + (t.x?.length ?? 0), 0),
      curveTraces: (ui.curves.data ?? []).map((t) => t.name),
      bestEpoch: log.bestEpoch,
      stopEpoch: log.stopEpoch,
      end: log.end?.reason ?? null,
      confusion: log.summary?.confusion_matrix ?? null,
      progress: ui.progress.textContent,
      history: ui.history.textContent,
      gridLabel: ui.gridEpoch.textContent,
      restored: log.restored,
      slide: log.slide,
      slideEpoch: log.slideEpoch,
      linkNote: ui.linkNote.textContent,
      dropped: dropped.length,
      droppedKey: dropped.join(","),
      neurons: ui.diagram.querySelectorAll("circle.neuron").length,
      codeKeras: code.keras,
      codePytorch: code.pytorch,
      codeRequests: code.pending,
      csvOk: csv.ok,
      previewRows: preview?.n_train ?? null,
      frames: perf.frames,
      sharpness: log.ep.map((r) => r.sharpness ?? null),
      sharpnessPlot: Object.fromEntries((ui.sharpnessPlot.data ?? []).map((tr) => [tr.meta, { x: [...tr.x], y: [...tr.y] }])),
      stateAcks: session.acks,
      serverPaused: session.serverPaused,
      config: networkConfig(),
  });
});
