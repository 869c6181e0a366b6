// @ts-check
// The epoch / batch / iteration view (/epochs): one live training over the stream (kind "network") whose
// `iterations.batch` colours every training example by the batch it falls in this epoch, with the Keras
// arithmetic spelled out; and three REST trainings (batch size 1, 32 and n) compared side by side.
//
// Embedding (/embed/epochs): play/pause/step/reset drive the live training; set(run, {batch_size, epochs})
// changes the batch size or the number of epochs (a new training; the comparison is redrawn), set(run, {lr})
// sends the stream's `set` to the training in progress. Reports gdp:step {epochs: global_step}, gdp:event
// done | diverged | stopped, then gdp:done.
import { embeddedRegistry, postJson } from "../client.js";
import { LiveSession, exposeHook } from "../live.js";
import { TrainingLog } from "../runs.js";
import { errorText, localizeDecimal, plotlyLocale, t } from "../i18n.js";
import { encodeState, readState, shareUrl, writeState } from "../state.js";
import { FONT, PALETTE } from "../theme.js";
import { el } from "../controls.js";
import { progressLine } from "../netplot.js";
import { figureConfig } from "../plot.js";
import { copyLink } from "../share.js";

const registry = embeddedRegistry();
const DATASETS = new Map((registry.datasets ?? []).filter((d) => d.features.length === 2).map((d) => [d.name, d]));
const BATCH_COLORS = PALETTE.slice(0, 7); // Okabe–Ito without yellow (weak on white)
const CMP_EPOCHS = 5;
const MODEL = { hidden: [8], activations: "relu", optimizer: "sgd", hyperparameters: { lr: 0.1 } };

const SCHEMA = {
  dataset: { type: "string", default: "insurance", validate: (v) => DATASETS.has(v), aliases: ["ds"] },
  n: { type: "int", default: 700, validate: (v) => v >= 4 && v <= 5000 },
  val_fraction: { aliases: ["val"], type: "number", default: 0, validate: (v) => v >= 0 && v <= 0.9 },
  batch_size: { aliases: ["bs"], type: "int", default: 32, validate: (v) => v >= 1 && v <= 5000 },
  epochs: { type: "int", default: 300, validate: (v) => v >= 1 && v <= 5000 },
  speed: { type: "string", default: "5", validate: (v) => v === "max" || Number(v) > 0 },
};
const state = readState(SCHEMA);
const $ = (sel) => document.querySelector(sel);
const ui = {
  dataset: $("#dataset"), rows: $("#rows"), val: $("#val-fraction"), batch: $("#batch-size"), epochs: $("#epochs"),
  copy: $("#copy-link"), link: $("#share-url"), arith: $("#arith"), cEpoch: $("#count-epoch"), cIter: $("#count-iteration"),
  cBatch: $("#count-batch"), cSteps: $("#count-steps"), progress: $("#progress"), plot: $("#batches"), batchDesc: $("#batch-desc"),
  jitter: $("#jitter-note"), cmpDesc: $("#cmp-desc"), cmpNote: $("#compare-note"),
};

const log = new TrainingLog();
let preview = null; // dataset summary with rows (before training starts)
let assign = null; // row -> iteration (1-based) of the current epoch, 0 = not yet used
let assignEpoch = 0;
let processed = 0; // iterations folded into `assign`
let dirty = true;
let jitterY = null;
let previewToken = 0;
const compare = { sizes: [], ipe: [], points: [0, 0, 0], done: false, error: null, token: 0 };

const save = () => writeState(SCHEMA, state);

function datasetConfig() {
  return { name: state.dataset, n: state.n, seed: 0, val_fraction: state.val_fraction };
}

function config(batchSize = state.batch_size, epochs = state.epochs) {
  return { dataset: datasetConfig(), ...MODEL, batch_size: batchSize, epochs, every: 1000, grid_size: 5 };
}

// --------------------------------------------------------------------------------------- stream
const session = new LiveSession({
  name: "epochs",
  kind: "network",
  config: () => config(),
  speed: { get: () => state.speed, set: (speed) => { state.speed = speed; save(); }, label: (n) => t("network.speed", { n }) },
  words: { idle: t("epochs.status.idle"), running: t("network.status.running"), paused: t("common.paused"), finished: t("epochs.status.finished") },
  closedText: () => t("network.closed"),
  on: {
    started: (msg) => {
      log.started(msg);
      preview = msg.dataset;
      assign = new Int32Array(msg.dataset.n_train);
      assignEpoch = 0;
      processed = 0;
      computeJitter();
      dirty = true;
    },
    iterations: (msg) => {
      log.iterations(msg.columns);
      dirty = true;
      if (log.count) session.embed.step("epochs", log.it.global_step[log.count - 1]);
    },
    epoch: (msg) => {
      log.epochs(msg.records);
      dirty = true;
    },
    event: (msg) => {
      log.event(msg);
      if (msg.reason !== "stopped") session.setStatus("finished", msg.reason === "done" ? t("epochs.status.done", { epochs: msg.epoch, steps: msg.global_step }) : msg.detail);
    },
    error: (msg) => session.say(t("network.error", { message: errorText(msg) || JSON.stringify(msg) })),
  },
  onReset: () => {
    log.reset();
    assign = null;
    processed = 0;
    dirty = true;
  },
  embed: { set: setFromHost, query: () => encodeState(SCHEMA, state), height: 1900 },
});
const reset = () => session.reset();

// --------------------------------------------------------------------------------------- drawing
/** Fold the iterations that arrived into the row → batch map of the current epoch. */
function foldIterations() {
  if (!assign) return;
  const n = log.count;
  for (let k = processed; k < n; k++) {
    const epoch = log.it.epoch[k];
    if (epoch !== assignEpoch) {
      assign.fill(0);
      assignEpoch = epoch;
    }
    for (const row of log.it.batch[k]) assign[row] = log.it.iteration[k];
  }
  processed = n;
}

function computeJitter() {
  const rows = preview?.train?.x ?? [];
  const distinct = new Set(rows.map((p) => p[1]));
  if (distinct.size > 3 || !rows.length) {
    jitterY = null;
    ui.jitter.textContent = "";
    return;
  }
  const ys = rows.map((p) => p[1]);
  const span = Math.max(...ys) - Math.min(...ys) || 1;
  // deterministic jitter (a hash of the row index) so 0/1 features do not pile onto one line
  jitterY = rows.map((_, i) => ((((i * 2654435761) >>> 0) % 1000) / 1000 - 0.5) * 0.36 * span);
  ui.jitter.textContent = ` ${t("epochs.jitter", { feature: preview.features[1], n: distinct.size })}`;
}

function arithmetic(n, bs) {
  const ipe = Math.ceil(n / bs);
  const lastSize = n - (ipe - 1) * bs;
  const exact = localizeDecimal(Number.isInteger(n / bs) ? String(n / bs) : String(Number((n / bs).toFixed(3))));
  let text = t(ipe === 1 ? "epochs.arith_one" : "epochs.arith", { n, bs, ratio: exact, ipe });
  if (ipe > 1 && lastSize !== bs) text += ` ${t("epochs.arith.partial", { full: ipe - 1, bs, last: lastSize })}`;
  else if (ipe > 1) text += ` ${t("epochs.arith.even", { ipe, bs })}`;
  else text += ` ${t("epochs.arith.whole")}`;
  return { text: `${text}.`, ipe, lastSize };
}

function draw() {
  dirty = false;
  foldIterations();
  const data = log.meta?.dataset ?? preview;
  if (!data) return;
  const n = data.n_train;
  const bs = log.meta?.batch_size ?? state.batch_size;
  const { text, ipe } = arithmetic(n, bs);
  ui.arith.textContent = text;
  const last = log.last();
  const epochs = log.meta?.epochs ?? state.epochs;
  ui.cEpoch.textContent = `${last?.epoch ?? 0} / ${epochs}`;
  ui.cIter.textContent = `${last?.iteration ?? 0} / ${ipe}`;
  ui.cBatch.textContent = last ? String(last.batch.length) : "–";
  ui.cSteps.textContent = String(last?.global_step ?? 0);
  const lastEp = log.ep[log.ep.length - 1];
  const final = Boolean(last && lastEp && lastEp.epoch === last.epoch);
  ui.progress.textContent = progressLine({
    epoch: last?.epoch ?? 1,
    epochs,
    step: last?.iteration ?? 0,
    steps: ipe,
    seconds: final ? lastEp.seconds : last?.seconds,
    logs: final ? lastEp.logs : last?.logs,
    final,
  });
  ui.batchDesc.textContent = last ? t("epochs.batch_desc", { epoch: last.epoch, iteration: last.iteration, ipe }) : "";
  drawPoints(data, last);
}

function drawPoints(data, last) {
  const rows = data.train.x;
  const ys = rows.map((p, i) => p[1] + (jitterY ? jitterY[i] : 0));
  const xs = rows.map((p) => p[0]);
  const pick = (idx) => ({ x: idx.map((i) => xs[i]), y: idx.map((i) => ys[i]) });
  const unused = [];
  const used = [];
  rows.forEach((_, i) => ((assign && assign[i] > 0 ? used : unused).push(i)));
  const current = last ? last.batch : [];
  const traces = [
    { type: "scatter", mode: "markers", name: t("epochs.unused"), ...pick(unused), marker: { size: 6, color: "#c3cad3" }, hoverinfo: "skip" },
    {
      type: "scatter",
      mode: "markers",
      name: t("epochs.used"),
      ...pick(used),
      customdata: used.map((i) => assign[i]),
      marker: { size: 7, color: used.map((i) => BATCH_COLORS[(assign[i] - 1) % BATCH_COLORS.length]), line: { width: 0.5, color: "#fff" } },
      hovertemplate: `${t("epochs.batch_n")} %{customdata}<extra></extra>`,
    },
    { type: "scatter", mode: "markers", name: t("epochs.current", { n: current.length }), ...pick(current), marker: { size: 12, symbol: "circle-open", color: "#000", line: { width: 2.2, color: "#000" } }, hoverinfo: "skip" },
  ];
  const layout = {
    ...plotlyLocale(),
    margin: { l: 50, r: 10, t: 8, b: 42 },
    font: FONT,
    xaxis: { title: { text: data.features[0], standoff: 4 }, zeroline: false },
    yaxis: { title: { text: data.features[1], standoff: 4 }, zeroline: false, tickvals: jitterY ? [...new Set(rows.map((p) => p[1]))] : undefined },
    legend: { orientation: "h", y: -0.15, yanchor: "top", x: 0 },
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "#fff",
    uirevision: "keep",
  };
  Plotly.react(ui.plot, traces, layout, figureConfig());
}

function frame() {
  if (dirty) draw();
  requestAnimationFrame(frame);
}

// --------------------------------------------------------------------------------------- comparison
async function runComparison() {
  const token = ++compare.token;
  compare.done = false;
  compare.points = [0, 0, 0];
  const n = preview?.n_train;
  if (!n) return;
  compare.sizes = [1, Math.min(32, n), n];
  ui.cmpDesc.textContent = t("epochs.cmp_desc", { epochs: CMP_EPOCHS });
  ui.cmpNote.textContent = t("epochs.cmp_training");
  let traces;
  try {
    traces = await Promise.all(compare.sizes.map((bs) => postJson("/api/v1/traces/network", config(bs, CMP_EPOCHS))));
  } catch (error) {
    if (token !== compare.token) return;
    compare.error = error.message;
    ui.cmpNote.textContent = t("epochs.cmp_error", { message: error.message });
    return;
  }
  if (token !== compare.token) return;
  compare.ipe = traces.map((t) => t.iterations_per_epoch);
  // one shared log-scale y range holding every batch loss: one example's loss spans 0.001 to 5 and more, so
  // a linear range either cuts the spikes of batch size 1 or squashes the other two into a flat line
  const all = traces.flatMap((t) => t.iterations.batch_loss.filter((v) => Number.isFinite(v) && v > 0));
  const lo = Math.min(...all);
  const hi = Math.max(...all);
  const yRange = [Math.log10(lo) - 0.05, Math.log10(hi) + 0.05];
  const names = [t("epochs.name.stochastic"), t("epochs.name.mini", { bs: compare.sizes[1] }), t("epochs.name.full", { n })];
  const epochWord = t("netplot.epoch");
  await Promise.all(
    traces.map((trace, k) => {
      const ipe = trace.iterations_per_epoch;
      const steps = trace.iterations.global_step;
      const x = steps.map((s) => s / ipe);
      const y = trace.iterations.batch_loss;
      const epochX = trace.epochs.map((r) => r.epoch);
      const epochY = trace.epochs.map((r) => r.train_loss);
      compare.points[k] = y.length;
      $(`#cap-${k}`).textContent = t(ipe === 1 ? "epochs.caption_one" : "epochs.caption", { name: names[k], ipe });
      const traces2 = [
        { type: "scatter", mode: ipe === 1 ? "lines+markers" : "lines", name: t("epochs.iter_loss"), x, y, line: { color: PALETTE[k], width: ipe > 200 ? 0.8 : 1.8 }, marker: { size: 6 }, hovertemplate: `${epochWord} %{x:.2f}<br>${t("epochs.batch_loss")} %{y:.4f}<extra></extra>` },
        { type: "scatter", mode: "markers", name: t("epochs.epoch_loss"), x: epochX, y: epochY, marker: { color: "#000", size: 6, symbol: "diamond" }, hovertemplate: `${epochWord} %{x}<br>${t("netplot.loss")} %{y:.4f}<extra></extra>` },
      ];
      const layout = {
        ...plotlyLocale(),
        margin: { l: 44, r: 8, t: 6, b: 38 },
        font: { ...FONT, size: 11 },
        xaxis: { title: { text: epochWord, standoff: 2 }, range: [0, CMP_EPOCHS + 0.1], zeroline: false },
        yaxis: { title: { text: t("epochs.loss_log") }, type: "log", range: yRange, zeroline: false },
        showlegend: false, // the note under the plots says what the line and the diamonds are
        paper_bgcolor: "rgba(0,0,0,0)",
        plot_bgcolor: "#fff",
      };
      return Plotly.react($(`#cmp-${k}`), traces2, layout, { responsive: true, displaylogo: false, displayModeBar: false });
    }),
  );
  const [a, b, c] = compare.ipe;
  ui.cmpNote.textContent = t("epochs.cmp_note", { epochs: CMP_EPOCHS, a, b, c, bs: compare.sizes[1], n });
  compare.done = true;
}

// --------------------------------------------------------------------------------------- controls
async function loadPreview() {
  const token = ++previewToken;
  try {
    const body = await postJson("/api/v1/datasets/preview", { dataset: datasetConfig() });
    if (token !== previewToken) return;
    preview = body.dataset;
    computeJitter();
    dirty = true;
    runComparison();
  } catch (error) {
    if (token !== previewToken) return;
    session.say(t("network.dataset_error", { message: error.message }));
  }
}

function changed({ data = false } = {}) {
  save();
  if (session.status !== "idle") reset();
  dirty = true;
  if (data) loadPreview();
}

function bindNumber(input, key, { int = false, data = false } = {}) {
  input.value = String(state[key]);
  input.addEventListener("change", () => {
    const raw = input.value.trim();
    const v = int ? Number.parseInt(raw, 10) : Number(raw);
    const ok = raw !== "" && Number.isFinite(v) && (!int || String(v) === raw) && SCHEMA[key].validate(v);
    input.setAttribute("aria-invalid", ok ? "false" : "true");
    if (!ok) return;
    state[key] = v;
    changed({ data });
  });
}

function init() {
  ui.dataset.replaceChildren(...[...DATASETS.values()].map((d) => el("option", { value: d.name, text: d.title })));
  ui.dataset.value = state.dataset;
  ui.dataset.addEventListener("change", () => {
    state.dataset = ui.dataset.value;
    changed({ data: true });
  });
  bindNumber(ui.rows, "n", { int: true, data: true });
  bindNumber(ui.val, "val_fraction", { data: true });
  bindNumber(ui.batch, "batch_size", { int: true });
  bindNumber(ui.epochs, "epochs", { int: true });
  ui.copy.addEventListener("click", () => copyLink(shareUrl(SCHEMA, state), ui.copy, ui.link));
  loadPreview();
  session.open();
  requestAnimationFrame(frame);
}

// ------------------------------------------------------------------------------------------- embedding
async function setFromHost(run, hyperparameters) {
  if (run && run !== "epochs") throw new Error(`no run ${run}; this view has one run, "epochs"`);
  const { lr, batch_size: bs, epochs, ...rest } = hyperparameters;
  if (Object.keys(rest).length) throw new Error(`unknown hyperparameters: ${Object.keys(rest).join(", ")} (lr, batch_size, epochs)`);
  if (bs !== undefined && !SCHEMA.batch_size.validate(bs)) throw new Error("batch_size must be an integer in 1 … 5000");
  if (epochs !== undefined && !SCHEMA.epochs.validate(epochs)) throw new Error("epochs must be an integer in 1 … 5000");
  if (lr !== undefined && !(lr > 0)) throw new Error("lr must be positive");
  if (bs !== undefined || epochs !== undefined) {
    if (bs !== undefined) ui.batch.value = String((state.batch_size = bs));
    if (epochs !== undefined) ui.epochs.value = String((state.epochs = epochs));
    changed({ data: bs !== undefined });
  }
  if (lr !== undefined) {
    MODEL.hyperparameters.lr = lr;
    session.send((client) => client.send({ type: "set", hyperparameters: { lr } }));
  }
}

init();

exposeHook("epochs", () => {
    const last = log.last();
    const data = log.meta?.dataset ?? preview;
    const highlight = ui.plot.data?.[2]?.x?.length ?? 0;
    return Object.freeze({
      status: session.status,
      nTrain: data?.n_train ?? null,
      iterationsPerEpoch: log.meta?.iterations_per_epoch ?? (data ? Math.ceil(data.n_train / state.batch_size) : null),
      epoch: last?.epoch ?? 0,
      iteration: last?.iteration ?? 0,
      iterations: log.count,
      batchSize: last?.batch.length ?? 0,
      highlighted: highlight,
      usedThisEpoch: ui.plot.data?.[1]?.x?.length ?? 0,
      arith: ui.arith.textContent,
      counters: `${ui.cEpoch.textContent} | ${ui.cIter.textContent}`,
      compareDone: compare.done,
      compareIpe: compare.ipe.slice(),
      comparePoints: compare.points.slice(),
      compareCurves: [0, 1, 2].filter((k) => ($(`#cmp-${k}`).data?.[0]?.x?.length ?? 0) > 0).length,
  });
});
