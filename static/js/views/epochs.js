// The epoch / batch / iteration view (/epochs): one live training over the stream (kind "network") whose
// `iterations.batch` colours every training example by the batch it falls in this epoch, with the Keras
// arithmetic spelled out; and three REST trainings (batch size 1, 32 and n) compared side by side.
/* global Plotly */
import { StreamClient, api, embeddedRegistry } from "../client.js";
import { readState, shareUrl, writeState } from "../state.js";
import { PALETTE, formatNumber } from "../plot.js";
import { SPEEDS, bindShortcuts, el, speedIndex } from "../controls.js";
import { TrainingLog, progressLine } from "../netplot.js";

const registry = embeddedRegistry();
const DATASETS = new Map((registry.datasets ?? []).filter((d) => d.features.length === 2).map((d) => [d.name, d]));
const FONT = { family: "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", size: 12, color: "#1d2430" };
const BATCH_COLORS = PALETTE.slice(0, 7); // Okabe–Ito without yellow (weak on white)
const CMP_EPOCHS = 5;
const MODEL = { hidden: [8], activations: "relu", optimizer: "sgd", hyperparameters: { lr: 0.1 } };

const SCHEMA = {
  ds: { type: "string", default: "insurance", validate: (v) => DATASETS.has(v) },
  n: { type: "int", default: 700, validate: (v) => v >= 4 && v <= 5000 },
  val: { type: "number", default: 0, validate: (v) => v >= 0 && v <= 0.9 },
  bs: { type: "int", default: 32, validate: (v) => v >= 1 && v <= 5000 },
  epochs: { type: "int", default: 300, validate: (v) => v >= 1 && v <= 5000 },
  speed: { type: "string", default: "5", validate: (v) => v === "max" || Number(v) > 0 },
};
const state = readState(SCHEMA);
const $ = (sel) => document.querySelector(sel);
const ui = {
  play: $("#play"), step: $("#step"), reset: $("#reset"), speed: $("#speed"), speedOut: $("#speed-out"), status: $("#status"),
  dataset: $("#dataset"), rows: $("#rows"), val: $("#val-fraction"), batch: $("#batch-size"), epochs: $("#epochs"),
  copy: $("#copy-link"), link: $("#share-url"), arith: $("#arith"), cEpoch: $("#count-epoch"), cIter: $("#count-iteration"),
  cBatch: $("#count-batch"), cSteps: $("#count-steps"), progress: $("#progress"), plot: $("#batches"), batchDesc: $("#batch-desc"),
  jitter: $("#jitter-note"), cmpDesc: $("#cmp-desc"), cmpNote: $("#compare-note"),
};

const log = new TrainingLog();
let preview = null; // dataset summary with rows (before training starts)
let status = "idle";
let client = null;
let ignoreSeq = 0;
let assign = null; // row -> iteration (1-based) of the current epoch, 0 = not yet used
let assignEpoch = 0;
let processed = 0; // iterations folded into `assign`
let dirty = true;
let jitterY = null;
let previewToken = 0;
const compare = { sizes: [], ipe: [], points: [0, 0, 0], done: false, error: null, token: 0 };

const save = () => writeState(SCHEMA, state);
const parseSpeed = (s) => (s === "max" ? "max" : Number(s));
const live = (msg) => msg.seq === undefined || msg.seq > ignoreSeq;

function datasetConfig() {
  return { name: state.ds, n: state.n, seed: 0, val_fraction: state.val };
}

function config(batchSize = state.bs, epochs = state.epochs) {
  return { dataset: datasetConfig(), ...MODEL, batch_size: batchSize, epochs, every: 1000, grid_size: 5 };
}

function setStatus(next, message) {
  status = next;
  ui.play.textContent = status === "running" ? "Pause" : "Play";
  ui.play.setAttribute("aria-pressed", String(status === "running"));
  ui.step.disabled = status === "finished";
  const words = { idle: "Ready: press Play or Step (one iteration = one batch).", running: "Training…", paused: "Paused.", finished: "Finished. Play starts again." };
  ui.status.textContent = message ?? words[status];
}

// --------------------------------------------------------------------------------------- stream
function connect() {
  client = new StreamClient();
  client.on("started", (msg) => {
    if (!live(msg) || msg.kind !== "network") return;
    log.started(msg);
    preview = msg.dataset;
    assign = new Int32Array(msg.dataset.n_train);
    assignEpoch = 0;
    processed = 0;
    computeJitter();
    setStatus(msg.paused ? "paused" : "running");
    dirty = true;
  });
  client.on("iterations", (msg) => {
    if (!live(msg)) return;
    log.iterations(msg.columns);
    dirty = true;
  });
  client.on("epoch", (msg) => {
    if (!live(msg)) return;
    log.epochs(msg.records);
    dirty = true;
  });
  client.on("event", (msg) => {
    if (!live(msg)) return;
    log.event(msg);
    if (msg.event !== "stopped") setStatus("finished", msg.event === "done" ? `Done: ${msg.epoch} epochs, ${msg.global_step} iterations.` : msg.detail);
  });
  client.on("state", (msg) => {
    if (!live(msg) || status === "finished" || status === "idle") return;
    setStatus(msg.paused ? "paused" : "running");
  });
  client.on("error", (msg) => {
    ui.status.textContent = `Error: ${msg.message ?? JSON.stringify(msg)}`;
  });
  client.on("close", () => {
    if (status === "running" || status === "paused") setStatus("idle", "Connection closed: press Play to train again.");
    client = null;
  });
  return client.ready;
}

async function ensureClient() {
  if (!client || client.closed) await connect();
  return client;
}

async function play() {
  if (status === "running") {
    client.pause();
    setStatus("paused");
  } else if (status === "paused") {
    client.resume();
    setStatus("running");
  } else {
    const c = await ensureClient();
    c.startNetwork(config(), { speed: parseSpeed(state.speed), paused: false });
    setStatus("running", "Starting…");
  }
}

async function stepOnce() {
  if (status === "finished") return;
  const c = await ensureClient();
  if (status === "idle") {
    c.startNetwork(config(), { speed: parseSpeed(state.speed), paused: true });
    setStatus("paused");
  } else if (status === "running") {
    c.pause();
    setStatus("paused");
  }
  c.step(1);
}

function reset() {
  if (client && (status === "running" || status === "paused")) client.stop();
  ignoreSeq = client?.seq ?? ignoreSeq;
  log.reset();
  assign = null;
  processed = 0;
  setStatus("idle");
  dirty = true;
}

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
  ui.jitter.textContent = ` ${preview.features[1]} takes only ${distinct.size} values: the points are spread a little up and down so they do not hide each other.`;
}

function arithmetic(n, bs) {
  const ipe = Math.ceil(n / bs);
  const lastSize = n - (ipe - 1) * bs;
  const exact = Number.isInteger(n / bs) ? String(n / bs) : String(Number((n / bs).toFixed(3)));
  let text = `${n} training examples / batch size ${bs} = ${exact} → ${ipe} iteration${ipe === 1 ? "" : "s"} per epoch`;
  if (ipe > 1 && lastSize !== bs) text += ` (${ipe - 1} batches of ${bs} and a last one of ${lastSize})`;
  else if (ipe > 1) text += ` (${ipe} batches of ${bs})`;
  else text += " (the whole training set in one batch)";
  return { text: `${text}.`, ipe, lastSize };
}

function draw() {
  dirty = false;
  foldIterations();
  const data = log.meta?.dataset ?? preview;
  if (!data) return;
  const n = data.n_train;
  const bs = log.meta?.batch_size ?? state.bs;
  const { text, ipe } = arithmetic(n, bs);
  ui.arith.textContent = text;
  const last = log.last();
  const epochs = log.meta?.epochs ?? state.epochs;
  ui.cEpoch.textContent = `${last?.epoch ?? 0} / ${epochs}`;
  ui.cIter.textContent = `${last?.iteration ?? 0} / ${ipe}`;
  ui.cBatch.textContent = last ? String(last.batch.length) : "–";
  ui.cSteps.textContent = String(last?.global_step ?? 0);
  const lastEp = log.ep[log.ep.length - 1];
  ui.progress.textContent = progressLine({
    epoch: last?.epoch ?? 0,
    epochs,
    iteration: last?.iteration ?? 0,
    iterations: ipe,
    loss: last ? (lastEp && lastEp.epoch === last.epoch ? lastEp.train_loss : log.runningLoss()) : null,
    valLoss: lastEp?.val_loss ?? undefined,
  });
  ui.batchDesc.textContent = last ? `(epoch ${last.epoch}, iteration ${last.iteration} of ${ipe})` : "";
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
    { type: "scatter", mode: "markers", name: "not yet used this epoch", ...pick(unused), marker: { size: 6, color: "#c3cad3" }, hoverinfo: "skip" },
    {
      type: "scatter",
      mode: "markers",
      name: "used this epoch (colour = batch)",
      ...pick(used),
      customdata: used.map((i) => assign[i]),
      marker: { size: 7, color: used.map((i) => BATCH_COLORS[(assign[i] - 1) % BATCH_COLORS.length]), line: { width: 0.5, color: "#fff" } },
      hovertemplate: "batch %{customdata}<extra></extra>",
    },
    { type: "scatter", mode: "markers", name: `current batch (${current.length} examples)`, ...pick(current), marker: { size: 12, symbol: "circle-open", color: "#000", line: { width: 2.2, color: "#000" } }, hoverinfo: "skip" },
  ];
  const layout = {
    margin: { l: 50, r: 10, t: 8, b: 42 },
    font: FONT,
    xaxis: { title: { text: data.features[0], standoff: 4 }, zeroline: false },
    yaxis: { title: { text: data.features[1], standoff: 4 }, zeroline: false, tickvals: jitterY ? [...new Set(rows.map((p) => p[1]))] : undefined },
    legend: { orientation: "h", y: -0.15, yanchor: "top", x: 0 },
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "#fff",
    uirevision: "keep",
  };
  Plotly.react(ui.plot, traces, layout, { responsive: true, displaylogo: false });
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
  ui.cmpDesc.textContent = `(${CMP_EPOCHS} epochs each, same model, SGD with learning rate 0.1)`;
  ui.cmpNote.textContent = "Training the three…";
  let traces;
  try {
    traces = await Promise.all(compare.sizes.map((bs) => api.networkTrace(config(bs, CMP_EPOCHS))));
  } catch (error) {
    if (token !== compare.token) return;
    compare.error = error.message;
    ui.cmpNote.textContent = `The comparison could not be trained: ${error.message}`;
    return;
  }
  if (token !== compare.token) return;
  compare.ipe = traces.map((t) => t.iterations_per_epoch);
  // one shared y range: the 98th percentile of every batch loss, so rare spikes of batch size 1 do not squash the rest
  const all = traces.flatMap((t) => t.iterations.batch_loss.filter(Number.isFinite)).sort((p, q) => p - q);
  const hi = Math.max(all[Math.floor(0.98 * (all.length - 1))] ?? 1, ...traces.slice(1).flatMap((t) => t.iterations.batch_loss.filter(Number.isFinite)));
  const names = ["batch size 1 (stochastic)", `batch size ${compare.sizes[1]} (mini-batch)`, `batch size ${n} = n (full batch)`];
  await Promise.all(
    traces.map((t, k) => {
      const ipe = t.iterations_per_epoch;
      const steps = t.iterations.global_step;
      const x = steps.map((s) => s / ipe);
      const y = t.iterations.batch_loss;
      const epochX = t.epochs.map((r) => r.epoch);
      const epochY = t.epochs.map((r) => r.train_loss);
      compare.points[k] = y.length;
      $(`#cap-${k}`).textContent = `${names[k]}: ${ipe} iteration${ipe === 1 ? "" : "s"} per epoch`;
      const traces2 = [
        { type: "scatter", mode: ipe === 1 ? "lines+markers" : "lines", name: "loss of each iteration", x, y, line: { color: PALETTE[k], width: ipe > 200 ? 0.8 : 1.8 }, marker: { size: 6 }, hovertemplate: "epoch %{x:.2f}<br>batch loss %{y:.4f}<extra></extra>" },
        { type: "scatter", mode: "markers", name: "epoch loss", x: epochX, y: epochY, marker: { color: "#000", size: 6, symbol: "diamond" }, hovertemplate: "epoch %{x}<br>loss %{y:.4f}<extra></extra>" },
      ];
      const layout = {
        margin: { l: 44, r: 8, t: 6, b: 38 },
        font: { ...FONT, size: 11 },
        xaxis: { title: { text: "epoch", standoff: 2 }, range: [0, CMP_EPOCHS + 0.1], zeroline: false },
        yaxis: { title: { text: "loss" }, range: [0, hi * 1.05], zeroline: false },
        showlegend: k === 0,
        legend: { orientation: "h", y: 1, yanchor: "top", x: 1, xanchor: "right", bgcolor: "rgba(255,255,255,0.8)", font: { size: 10 } },
        paper_bgcolor: "rgba(0,0,0,0)",
        plot_bgcolor: "#fff",
      };
      return Plotly.react($(`#cmp-${k}`), traces2, layout, { responsive: true, displaylogo: false, displayModeBar: false });
    }),
  );
  const [a, b, c] = compare.ipe;
  ui.cmpNote.textContent =
    `Each line is the loss of every iteration over ${CMP_EPOCHS} epochs; diamonds are the epoch's loss. ` +
    `With batch size 1 every example makes its own update: ${a} noisy steps per epoch, each from one example's gradient. ` +
    `With batch size ${compare.sizes[1]}, ${b} steps per epoch, each averaged over ${compare.sizes[1]} examples: less noise, still many updates. ` +
    `With the full batch (${n}) there is ${c} smooth step per epoch: the cleanest gradient, but the fewest updates, so after ${CMP_EPOCHS} epochs it has moved the least.`;
  compare.done = true;
}

// --------------------------------------------------------------------------------------- controls
async function loadPreview() {
  const token = ++previewToken;
  try {
    const body = await api.post("/api/v1/datasets/preview", { dataset: datasetConfig() });
    if (token !== previewToken) return;
    preview = body.dataset;
    computeJitter();
    dirty = true;
    runComparison();
  } catch (error) {
    if (token !== previewToken) return;
    ui.status.textContent = `Dataset: ${error.message}`;
  }
}

function changed({ data = false } = {}) {
  save();
  if (status !== "idle") reset();
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
  ui.dataset.value = state.ds;
  ui.dataset.addEventListener("change", () => {
    state.ds = ui.dataset.value;
    changed({ data: true });
  });
  bindNumber(ui.rows, "n", { int: true, data: true });
  bindNumber(ui.val, "val", { data: true });
  bindNumber(ui.batch, "bs", { int: true });
  bindNumber(ui.epochs, "epochs", { int: true });
  ui.speed.min = "0";
  ui.speed.max = String(SPEEDS.length - 1);
  ui.speed.step = "1";
  ui.speed.value = String(speedIndex(parseSpeed(state.speed)));
  const showSpeed = () => {
    const s = SPEEDS[Number(ui.speed.value)];
    ui.speedOut.textContent = s === "max" ? "max" : `${s} iterations/s`;
    ui.speed.setAttribute("aria-valuetext", ui.speedOut.textContent);
    return s;
  };
  showSpeed();
  ui.speed.addEventListener("input", () => {
    const s = showSpeed();
    state.speed = String(s);
    save();
    if (client && (status === "running" || status === "paused")) client.speed(s);
  });
  ui.play.addEventListener("click", play);
  ui.step.addEventListener("click", stepOnce);
  ui.reset.addEventListener("click", reset);
  bindShortcuts({ toggle: play, step: stepOnce });
  ui.copy.addEventListener("click", async () => {
    const url = shareUrl(SCHEMA, state);
    ui.link.value = url;
    ui.link.hidden = false;
    try {
      await navigator.clipboard.writeText(url);
      ui.copy.textContent = "Link copied";
      setTimeout(() => (ui.copy.textContent = "Copy link"), 1500);
    } catch {
      ui.link.select();
    }
  });
  setStatus("idle");
  loadPreview();
  connect().catch(() => {});
  requestAnimationFrame(frame);
}

init();

Object.defineProperty(window, "__epochs", {
  get() {
    const last = log.last();
    const data = log.meta?.dataset ?? preview;
    const highlight = ui.plot.data?.[2]?.x?.length ?? 0;
    return Object.freeze({
      status,
      nTrain: data?.n_train ?? null,
      iterationsPerEpoch: log.meta?.iterations_per_epoch ?? (data ? Math.ceil(data.n_train / state.bs) : null),
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
  },
});
