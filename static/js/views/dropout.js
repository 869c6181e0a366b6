// @ts-check
// The dropout view: a live training over the stream (kind "network") with a dropout rate p per hidden layer,
// the masks it draws (neurons × recent iterations), the running fraction of neurons kept against 1 − p, and
// the same network trained with and without dropout (two REST traces) to show the train/val loss gap.
//
// Embedding (/embed/dropout): play/pause/step/reset drive the live training; set(run, {p: 0.3}) or
// set(run, {p_1: 0.5, p_2: 0.25}) changes the dropout rate of every / one hidden layer (a new live training and
// comparison: dropout is fixed for a run), set(run, {lr}) the learning rate (sent live with the stream's `set`).
// Reports gdp:step {dropout: global_step}, gdp:event done | diverged | stopped, then gdp:done.
import { embeddedRegistry, postJson } from "../client.js";
import { LiveSession, exposeHook } from "../live.js";
import { formatNumber, localizeDecimal, plotlyLocale, t } from "../i18n.js";
import { encodeState, readState, shareUrl, writeState } from "../state.js";
import { FONT, PALETTE } from "../theme.js";
import { el } from "../controls.js";
import { NetworkDiagram, progressLine } from "../netplot.js";
import { copyLink } from "../share.js";
import { dropoutSchema } from "./dropout-schema.js";

const CONFIG = { responsive: true, displaylogo: false, displayModeBar: false };
const WINDOW = 80; // iterations shown in the mask heatmap
const TRAIN = PALETTE[0];
const VAL = PALETTE[1];

const registry = embeddedRegistry();
const DATASETS = (registry.datasets ?? []).filter((d) => d.task !== "regression" && d.features.length === 2);
const datasetNames = DATASETS.length ? DATASETS.map((d) => d.name) : ["circle"];

const SCHEMA = dropoutSchema(datasetNames);

const state = readState(SCHEMA);
fitRates();
const $ = (/** @type {string} */ id) => /** @type {any} */ (document.getElementById(id));
const ui = {
  rates: $("rates"), dataset: $("dataset"), noise: $("noise"), hidden: $("hidden"),
  epochs: $("epochs"), lr: $("lr"), rows: $("rows"), copy: $("copy-link"), link: $("share-url"),
  progress: $("progress"), masks: $("masks"), kept: $("kept"), keptReadout: $("kept-readout"),
  cmpWithout: $("cmp-without"), cmpWith: $("cmp-with"), gapWithout: $("gap-without"), gapWith: $("gap-with"),
  cmpP: $("cmp-p"), cmpStatus: $("cmp-status"),
};

/** One rate p per hidden layer (`dropout`): pad with the last rate (or 0.5), cut to the number of layers. */
function fitRates() {
  const p = state.dropout.slice(0, state.hidden.length);
  while (p.length < state.hidden.length) p.push(p.length ? p[p.length - 1] : 0.5);
  state.dropout = p;
}

const save = () => writeState(SCHEMA, state);

function networkConfig(dropout, every = 100000) {
  return {
    dataset: { name: state.dataset, n: state.n, noise: state.noise, seed: 0, val_fraction: 0.5 },
    hidden: state.hidden,
    activations: "relu",
    optimizer: "adam",
    hyperparameters: { lr: state.lr },
    batch_size: 32,
    epochs: state.epochs,
    dropout,
    seed: 0,
    every, // weights for the diagram every this many epochs (the comparison needs none: 1 and last only)
    grid_size: 5,
  };
}

// ------------------------------------------------------------------------------------------ live stream
let live = null; // data of the current live training

function newLive(msg) {
  const layers = msg.network.layers.slice(1, -1);
  return {
    sizes: msg.network.layers, // input, hidden…, output
    weights: null, // the latest weights an epoch record carried
    masks: null, // the latest iteration's masks
    layers, // units per hidden layer
    ipe: msg.iterations_per_epoch,
    epochs: msg.epochs,
    steps: [], // global_step per iteration in the window
    columns: [], // per iteration in the window: per layer a 0/1 array for one example (null: no dropout)
    kept: layers.map(() => ({ kept: 0, total: 0, x: [], y: [] })),
    iterations: 0,
    last: null, // {epoch, iteration, batch_loss}
    epochRecords: [],
  };
}

const session = new LiveSession({
  name: "dropout",
  kind: "network",
  config: () => networkConfig(state.dropout, 5),
  stepRestarts: true,
  speed: { get: () => state.speed, set: (speed) => { state.speed = speed; save(); }, label: (n) => t("network.speed", { n }) },
  words: {
    idle: t("dropout.status.idle"),
    running: t("network.status.running"),
    paused: t("common.paused"),
    finished: t("dropout.status.finished"),
  },
  on: {
    started: (msg) => {
      live = newLive(msg);
      dirty = true;
    },
    iterations: (msg) => live && addIterations(msg.columns),
    epoch: (msg) => {
      if (!live) return;
      live.epochRecords.push(...msg.records);
      for (const r of msg.records) if (r.weights) live.weights = r.weights;
      dirty = true;
    },
  },
  onReset: () => {
    live = null;
    dirty = true;
  },
  embed: { set: setFromHost, query: () => encodeState(SCHEMA, state), height: 2050 },
});

/** A mask as sent: the batch's first example's 0/1 row (or, from older servers, one row per example); null = no dropout. */
function maskRows(mask) {
  if (mask === null || mask === undefined) return null;
  return Array.isArray(mask[0]) ? mask : [mask];
}

function addIterations(cols) {
  const n = cols.global_step.length;
  for (let i = 0; i < n; i++) {
    const masks = cols.masks?.[i] ?? [];
    const keptNow = cols.kept?.[i]; // per layer: the fraction kept over the whole batch (≈ 1 − p)
    const batch = cols.batch?.[i]?.length || 1;
    const column = live.layers.map((units, layer) => {
      const rows = maskRows(masks[layer]);
      const acc = live.kept[layer];
      if (keptNow && Number.isFinite(keptNow[layer])) {
        acc.kept += keptNow[layer] * units * batch;
        acc.total += units * batch;
      } else if (rows) {
        for (const row of rows) {
          for (const v of row) acc.kept += v;
          acc.total += row.length;
        }
      } else {
        acc.kept += units;
        acc.total += units;
      }
      return rows ? rows[0] : null;
    });
    live.iterations++;
    for (const acc of live.kept) {
      acc.x.push(cols.global_step[i]);
      acc.y.push(acc.total ? acc.kept / acc.total : 1);
    }
    live.steps.push(cols.global_step[i]);
    live.columns.push(column);
    live.last = { epoch: cols.epoch[i], iteration: cols.iteration[i], loss: cols.batch_loss[i], logs: cols.logs?.[i], seconds: cols.seconds?.[i] };
    live.masks = column;
  }
  if (n) session.embed.step("dropout", cols.global_step[n - 1]);
  if (live.steps.length > WINDOW) {
    live.steps.splice(0, live.steps.length - WINDOW);
    live.columns.splice(0, live.columns.length - WINDOW);
  }
  dirty = true;
}

/** A change of the network or of p: a live training restarts with it (dropout is fixed for a run). */
function restartLive() {
  session.restartIfRunning();
}

// ------------------------------------------------------------------------------------------ comparison
const compare = { token: 0, without: null, with: null, p: null, timer: null };

function scheduleCompare(delay = 350) {
  clearTimeout(compare.timer);
  compare.timer = setTimeout(runCompare, delay);
}

function curves(trace) {
  const epochs = trace.epochs.map((r) => r.epoch);
  const train = trace.epochs.map((r) => r.train_loss);
  const val = trace.epochs.map((r) => r.val_loss);
  // the gap at the end, averaged over the last tenth of the epochs (one epoch alone is noisy)
  const k = Math.max(1, Math.round(epochs.length / 10));
  const mean = (a) => a.slice(-k).reduce((s, v) => s + v, 0) / k;
  const gap = mean(val) - mean(train);
  return { epochs, train, val, gap, trainEnd: mean(train), valEnd: mean(val), accuracy: trace.summary?.val_metrics?.accuracy ?? null };
}

async function runCompare() {
  const token = ++compare.token;
  const p = state.dropout.slice();
  ui.cmpStatus.textContent = t("dropout.training_both");
  try {
    const [without, withDropout] = await Promise.all([
      postJson("/api/v1/traces/network", networkConfig(0)),
      postJson("/api/v1/traces/network", networkConfig(p)),
    ]);
    if (token !== compare.token) return;
    compare.without = curves(without);
    compare.with = curves(withDropout);
    compare.p = p;
    drawCompare();
    const a = compare.without;
    const b = compare.with;
    ui.cmpStatus.textContent =
      a.accuracy !== null && b.accuracy !== null
        ? t("dropout.cmp_result_acc", {
            without: formatNumber(a.gap), with_: formatNumber(b.gap),
            acc_without: formatNumber(a.accuracy * 100), acc_with: formatNumber(b.accuracy * 100),
          })
        : t("dropout.cmp_result", { without: formatNumber(a.gap), with_: formatNumber(b.gap) });
  } catch (error) {
    if (token === compare.token) ui.cmpStatus.textContent = t("dropout.could_not_train", { message: error.message });
  }
}

function drawCompare() {
  const both = [compare.without, compare.with];
  const top = Math.max(...both.flatMap((c) => [...c.train, ...c.val].filter(Number.isFinite)));
  const range = [0, Math.min(top * 1.05, 3)];
  const draw = (element, c, showLegend) => {
    const traces = [
      { type: "scatter", mode: "lines", name: t("dropout.training_loss"), x: c.epochs, y: c.train, line: { color: TRAIN, width: 2 } },
      {
        type: "scatter", mode: "lines", name: t("dropout.validation_loss"), x: c.epochs, y: c.val,
        line: { color: VAL, width: 2, dash: "dash" }, fill: "tonexty", fillcolor: "rgba(213,94,0,0.12)",
      },
    ];
    const layout = {
      ...plotlyLocale(),
      margin: { l: 46, r: 8, t: showLegend ? 28 : 8, b: 38 },
      font: FONT,
      xaxis: { title: { text: t("netplot.epoch"), standoff: 2 }, zeroline: false },
      yaxis: { title: { text: t("netplot.loss") }, range, zeroline: false },
      showlegend: true,
      legend: { orientation: "h", x: 0, y: 1.02, yanchor: "bottom", font: { size: 11 }, traceorder: "normal" },
      paper_bgcolor: "rgba(0,0,0,0)",
    };
    return Plotly.react(element, traces, layout, CONFIG);
  };
  draw(ui.cmpWithout, compare.without, true);
  draw(ui.cmpWith, compare.with, true);
  ui.gapWithout.textContent = t("dropout.gap", { value: formatNumber(compare.without.gap) });
  ui.gapWith.textContent = t("dropout.gap", { value: formatNumber(compare.with.gap) });
  ui.cmpP.textContent = `(p = ${compare.p.map((v) => formatNumber(v)).join(t("common.list_sep"))})`;
}

// ------------------------------------------------------------------------------------------ drawing
const diagram = new NetworkDiagram(document.getElementById("diagram"), { height: 300 });
let dirty = true;
let frames = 0;
let draws = 0;

function heatmapData() {
  const layers = live?.layers ?? state.hidden;
  const rows = [];
  const ticks = [];
  const text = [];
  let y = 0;
  layers.forEach((units, layer) => {
    if (layer > 0) {
      rows.push(new Array(live?.columns.length ?? 0).fill(null)); // a blank row between layers
      ticks.push(null);
      y++;
    }
    for (let u = 0; u < units; u++) {
      rows.push((live?.columns ?? []).map((col) => (col[layer] ? col[layer][u] : 1)));
      y++;
    }
    text.push({ y: y - units / 2 - 0.5, label: t("dropout.layer_p", { n: layer + 1, p: formatNumber(state.dropout[layer] ?? 0) }) });
  });
  return { z: rows, x: live?.steps ?? [], labels: text, n: y };
}

function drawMasks() {
  const { z, x, labels, n } = heatmapData();
  const trace = {
    type: "heatmap", z, x, y: [...Array(n).keys()],
    zmin: 0, zmax: 1, colorscale: [[0, "#e9edf2"], [0.5, "#e9edf2"], [0.5, "#0072B2"], [1, "#0072B2"]],
    showscale: false, xgap: 1, ygap: 0, hoverongaps: false,
    hovertemplate: `${t("dropout.hover_mask")}<extra></extra>`,
  };
  const layout = {
    ...plotlyLocale(),
    margin: { l: 70, r: 8, t: 4, b: 36 },
    font: FONT,
    xaxis: { title: { text: t("dropout.global_step"), standoff: 2 }, zeroline: false, showgrid: false, nticks: 6, visible: x.length > 0 },
    yaxis: { autorange: false, range: [n - 0.5, -0.5], showticklabels: false, ticks: "", showgrid: false, zeroline: false },
    annotations: [
      ...labels.map((l) => ({
        xref: "paper", yref: "y", x: 0, y: l.y, xanchor: "right", text: l.label, showarrow: false, xshift: -6, font: { size: 11 },
      })),
      ...(x.length
        ? []
        : [{ xref: "paper", yref: "paper", x: 0.5, y: 0.5, showarrow: false, text: t("dropout.press_play"), font: { size: 13, color: "#5b6675" } }]),
    ],
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "#ffffff",
  };
  return Plotly.react(ui.masks, [trace], layout, CONFIG);
}

function drawKept() {
  const traces = [];
  const layers = live?.layers ?? state.hidden;
  let xMax = Math.max(10, live?.iterations ?? 0);
  layers.forEach((_, layer) => {
    const color = PALETTE[(layer * 2) % PALETTE.length];
    const acc = live?.kept[layer];
    const p = state.dropout[layer] ?? 0;
    traces.push({
      type: "scatter", mode: "lines", name: t("dropout.layer_kept", { n: layer + 1 }), x: acc ? acc.x : [], y: acc ? acc.y : [],
      line: { color, width: 2 },
      hovertemplate: `${t("dropout.layer", { n: layer + 1 })}<br>${t("dropout.iteration")} %{x}<br>${t("dropout.kept")} %{y:.3f}<extra></extra>`,
    });
    traces.push({
      type: "scatter", mode: "lines", name: t("dropout.layer_target", { n: layer + 1, value: formatNumber(1 - p) }),
      x: [0, xMax], y: [1 - p, 1 - p], line: { color, width: 1.5, dash: "dot" }, hoverinfo: "skip",
    });
  });
  const layout = {
    ...plotlyLocale(),
    margin: { l: 46, r: 8, t: 8, b: 38 },
    font: FONT,
    xaxis: { title: { text: t("dropout.iteration"), standoff: 2 }, range: [0, xMax], zeroline: false },
    yaxis: { title: { text: t("dropout.fraction_kept") }, range: [0, 1.05], zeroline: false },
    legend: { orientation: "h", x: 0, y: -0.3, yanchor: "top", font: { size: 11 } },
    paper_bgcolor: "rgba(0,0,0,0)",
  };
  Plotly.react(ui.kept, traces, layout, CONFIG);
  ui.keptReadout.replaceChildren(
    ...layers.map((units, layer) => {
      const acc = live?.kept[layer];
      const mean = acc && acc.total ? acc.kept / acc.total : null;
      const p = state.dropout[layer] ?? 0;
      return el(
        "div", {},
        el("dt", { text: t("dropout.layer_neurons", { n: layer + 1, units }) }),
        el("dd", { dataset: { layer: String(layer) }, text: t("dropout.kept_readout", { mean: mean === null ? "–" : formatNumber(mean), target: formatNumber(1 - p) }) }),
      );
    }),
  );
}

function drawProgress() {
  if (!live || !live.last) {
    ui.progress.textContent = t("dropout.progress_idle", { epochs: state.epochs });
    return;
  }
  const rec = live.epochRecords[live.epochRecords.length - 1];
  const final = rec?.epoch === live.last.epoch;
  ui.progress.textContent = progressLine({
    epoch: live.last.epoch, epochs: live.epochs, step: live.last.iteration, steps: live.ipe,
    seconds: final ? rec.seconds : live.last.seconds, logs: final ? rec.logs : live.last.logs, final,
  });
}

function frame() {
  frames++;
  if (dirty && frames % 6 === 0) {
    dirty = false;
    draws++;
    drawMasks();
    drawKept();
    drawProgress();
    const sizes = live?.sizes ?? [2, ...state.hidden, 1];
    diagram.draw({ layers: sizes, weights: live?.weights ?? null, masks: live?.masks ?? null, activations: sizes.slice(1, -1).map(() => "relu") });
  }
  requestAnimationFrame(frame);
}

// ------------------------------------------------------------------------------------------ controls
function renderRates() {
  ui.rates.replaceChildren(
    ...state.hidden.map((units, layer) => {
      const id = `rate-${layer}`;
      const out = el("output", { for: id, text: "" });
      const input = el("input", { type: "range", id, min: "0", max: "0.9", step: "0.05", value: String(state.dropout[layer]) });
      const show = () => {
        out.textContent = t("dropout.rate_out", { p: localizeDecimal(Number(input.value).toFixed(2)), keep: localizeDecimal((1 - Number(input.value)).toFixed(2)) });
        input.setAttribute("aria-valuetext", out.textContent);
      };
      show();
      input.addEventListener("input", () => {
        show();
        state.dropout[layer] = Number(input.value);
        save();
        dirty = true;
        scheduleCompare(450);
      });
      input.addEventListener("change", restartLive);
      return el("div", { class: "field rate" }, el("label", { for: id }, `${t("dropout.rate_label", { n: layer + 1, units })} `, out), input);
    }),
  );
}

/** @param {any} input @param {string} key @param {(s: string) => any} [parse] */
function bindNumber(input, key, parse = Number) {
  input.value = String(state[key]);
  input.addEventListener("change", () => {
    const v = parse(input.value);
    const ok = input.value.trim() !== "" && v !== undefined && SCHEMA[key].validate(v);
    input.setAttribute("aria-invalid", String(!ok));
    if (!ok) return;
    state[key] = v;
    if (key === "hidden") {
      fitRates();
      renderRates();
    }
    save();
    restartLive();
    scheduleCompare(0);
  });
}

function bindControls() {
  for (const d of DATASETS) ui.dataset.append(el("option", { value: d.name, text: d.title }));
  ui.dataset.value = state.dataset;
  ui.dataset.addEventListener("change", () => {
    state.dataset = ui.dataset.value;
    save();
    restartLive();
    scheduleCompare(0);
  });
  bindNumber(ui.noise, "noise");
  bindNumber(ui.epochs, "epochs", (s) => Number.parseInt(s, 10));
  bindNumber(ui.lr, "lr");
  bindNumber(ui.rows, "n", (s) => Number.parseInt(s, 10));
  ui.hidden.value = state.hidden.join(",");
  bindNumber(ui.hidden, "hidden", (s) => {
    const v = s.split(",").map((t) => Number(t.trim()));
    return v.every(Number.isFinite) ? v : undefined;
  });
  ui.copy.addEventListener("click", () => copyLink(shareUrl(SCHEMA, state), ui.copy, ui.link));
}


// Read-only hooks for the browser tests: they wait on these, never on sleeps.
exposeHook("dropout", {
  ready: () => Boolean(session.hello),
  status: () => session.status,
  iterations: () => live?.iterations ?? 0,
  heatmapColumns: () => ui.masks.data?.[0]?.x?.length ?? 0,
  heatmapRows: () => ui.masks.data?.[0]?.z?.length ?? 0,
  keptDropped: () => {
    const z = (ui.masks.data?.[0]?.z ?? []).flat().filter((v) => v !== null);
    return { kept: z.filter((v) => v === 1).length, dropped: z.filter((v) => v === 0).length };
  },
  kept: () => (live?.kept ?? []).map((acc, layer) => ({ layer, p: state.dropout[layer], mean: acc.total ? acc.kept / acc.total : null, total: acc.total })),
  compare: () =>
    compare.without && compare.with
      ? {
          p: compare.p,
          curves: [ui.cmpWithout.data?.length ?? 0, ui.cmpWith.data?.length ?? 0],
          without: { gap: compare.without.gap, epochs: compare.without.epochs.length, train: compare.without.trainEnd, val: compare.without.valEnd },
          with: { gap: compare.with.gap, epochs: compare.with.epochs.length, train: compare.with.trainEnd, val: compare.with.valEnd },
        }
      : null,
  draws: () => draws,
  droppedInDiagram: () => diagram.droppedCount(),
  state: () => structuredClone(state),
});

// ------------------------------------------------------------------------------------------ embedding
async function setFromHost(run, hyperparameters) {
  if (run && run !== "dropout") throw new Error(`no run ${run}; this view has one run, "dropout"`);
  const rates = state.dropout.slice();
  let lr;
  for (const [name, value] of Object.entries(hyperparameters)) {
    const layer = /^p_(\d)$/.exec(name);
    if (name === "lr" && value > 0 && value <= 1) lr = value;
    else if (name === "p" && value >= 0 && value <= 0.9) rates.fill(value);
    else if (layer && Number(layer[1]) >= 1 && Number(layer[1]) <= rates.length && value >= 0 && value <= 0.9) rates[Number(layer[1]) - 1] = value;
    else throw new Error(`cannot set ${name} = ${value} (p, p_1 … p_${rates.length} in [0, 0.9], lr in (0, 1])`);
  }
  if (lr !== undefined) {
    state.lr = lr;
    ui.lr.value = String(lr);
    session.send((client) => client.send({ type: "set", hyperparameters: { lr } }));
  }
  if (rates.some((v, i) => v !== state.dropout[i])) {
    state.dropout = rates;
    renderRates();
    restartLive();
    scheduleCompare(0);
  }
  save();
}

bindControls();
renderRates();
save();
session.open();
scheduleCompare(0);
requestAnimationFrame(frame);
