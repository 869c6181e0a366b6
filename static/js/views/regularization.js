// @ts-check
// The L1 vs L2 view: the same network trained with an L1 and with an L2 penalty of strength λ (REST traces of
// the whole training by plain gradient descent, L1 as the server's proximal step, the last epoch's weights), their
// weight histograms and exact-zero counts side by side (`zero_weights` of the last epoch record), the counts across
// λ, a notice when a network has collapsed to one prediction for every point (the record's `collapsed`), and the
// two-weight picture: a tilted quadratic loss with the L1 diamond and the L2 circle and
// the gradient-descent path of loss + L1 and of loss + L2 (custom expression surfaces).
//
// Embedding (/embed/regularization): this view trains over REST, so play = (re)compute both networks at the
// current λ and the two-weight paths; reset = back to the default λs and recompute; pause and step have
// nothing to hold or advance and answer gdp:error. set(run, {lam: 0.01, lam2: 1.5}): λ of the networks (the
// nearest rung of the λ ladder) and of the two-weight model, then recompute. When a computation is complete:
// gdp:event {run: "l1" | "l2", event: "done"} and gdp:done.
import { embeddedRegistry, surfaceGrid, postJson } from "../client.js";
import { registerView } from "../embed.js";
import { formatNumber, plotlyLocale, t } from "../i18n.js";
import { encodeState, readState, shareUrl, writeState } from "../state.js";
import { ContourWithOverlay } from "../plot.js";
import { FONT, PALETTE } from "../theme.js";
import { el } from "../controls.js";
import { copyLink } from "../share.js";
import { LADDER, regularizationSchema } from "./regularization-schema.js";

const CONFIG = { responsive: true, displaylogo: false, displayModeBar: false };
const L1C = PALETTE[1]; // vermillion
const L2C = PALETTE[0]; // blue
const LOSS2 = "1.5*(x - 2)**2 + 0.5*(y - 1)**2 + (x - 2)*(y - 1)"; // a tilted quadratic, minimum (2, 1)
const loss2 = (x, y) => 1.5 * (x - 2) ** 2 + 0.5 * (y - 1) ** 2 + (x - 2) * (y - 1); // the same, for level curves
const LOSS2_MIN = [2, 1];
const VIEW2 = [-0.6, 2.6, -0.6, 2.6];
const START2 = [-0.3, 2.2];
const STEPS2 = 600;

const registry = embeddedRegistry();
const DATASETS = (registry.datasets ?? []).filter((d) => d.features.length === 2 && d.task !== "regression");
const datasetNames = DATASETS.length ? DATASETS.map((d) => d.name) : ["circle"];

const SCHEMA = regularizationSchema(datasetNames);
const state = readState(SCHEMA);
const save = () => writeState(SCHEMA, state);
const $ = (/** @type {string} */ id) => /** @type {any} */ (document.getElementById(id));
const ui = {
  strength: $("strength"), strengthOut: $("strength-out"), dataset: $("dataset"), epochs: $("epochs"),
  hidden: $("hidden"), lr: $("lr"), status: $("status"), lam2: $("lam2"), lam2Out: $("lam2-out"), loss2: $("loss2"),
  copy: $("copy-link"), link: $("share-url"), histL1: $("hist-l1"), histL2: $("hist-l2"), countL1: $("count-l1"),
  countL2: $("count-l2"), collapse: $("collapse"), sweep: $("sweep"), contour: $("contour"), legend: $("reg-legend"), solutions: $("solutions"),
};

// ------------------------------------------------------------------------------------------ networks
const cache = new Map(); // `${configKey}|${kind}|${λ}` -> promise of {weights: [...], zero, total, valLoss, collapsed}
const sweepValues = new Map(); // the same keys -> the resolved values (what the count-vs-λ chart can draw)
let token = 0;
let shown = null; // {lam, l1, l2}

const configKey = () => JSON.stringify([state.dataset, state.hidden, state.epochs, state.lr]);

function networkConfig(kind, lam) {
  return {
    dataset: { name: state.dataset, n: 200, noise: 0.2, seed: 0, val_fraction: 0.2 },
    hidden: state.hidden,
    activations: "relu",
    optimizer: "sgd", // plain gradient descent: the L1 proximal step's threshold is lr·λ, L2's shrinkage 2·lr·λ
    hyperparameters: { lr: state.lr },
    batch_size: 32,
    epochs: state.epochs,
    l1: kind === "l1" ? lam : 0,
    l2: kind === "l2" ? lam : 0,
    seed: 0,
    every: 100000, // weights only at epoch 1 and the last
    grid_size: 5,
  };
}

/** The trained weights (W of every dense layer, biases left out) of the last epoch that carries them. */
function finalWeights(trace) {
  const record = [...trace.epochs].reverse().find((r) => r.weights);
  if (!record) return [];
  return record.weights.flatMap((layer) => layer.W.flat());
}

async function trained(kind, lam) {
  const key = `${configKey()}|${kind}|${lam}`;
  if (!cache.has(key)) {
    cache.set(
      key,
      postJson("/api/v1/traces/network", networkConfig(kind, lam)).then((trace) => {
        const weights = finalWeights(trace);
        const last = trace.epochs[trace.epochs.length - 1];
        return {
          weights, zero: last?.zero_weights ?? 0, total: weights.length, collapsed: Boolean(last?.collapsed),
          valLoss: last?.val_loss ?? null, valAccuracy: last?.val_metrics?.accuracy ?? null,
        };
      }),
    );
    cache.get(key).then((value) => sweepValues.set(key, value), () => cache.delete(key));
  }
  return cache.get(key);
}

let debounce = null;
function scheduleTrain(delay = 300) {
  clearTimeout(debounce);
  debounce = setTimeout(showStrength, delay);
}

async function showStrength() {
  const mine = ++token;
  const lam = state.lam;
  ui.status.textContent = t("reg.training", { lam: formatNumber(lam) });
  try {
    const [l1, l2] = await Promise.all([trained("l1", lam), trained("l2", lam)]);
    if (mine !== token) return;
    shown = { lam, l1, l2 };
    drawHistograms();
    ui.status.textContent = t("reg.trained", { lam: formatNumber(lam), l1: formatNumber(l1.valLoss), l2: formatNumber(l2.valLoss) });
    showCollapse();
    embed.event("l1", "done");
    embed.event("l2", "done");
    embed.done();
    fillSweep(mine);
  } catch (error) {
    if (mine === token) ui.status.textContent = t("reg.could_not_train", { message: error.message });
  }
}

/** After the chosen λ, train the rest of the ladder one by one (cached) for the count-vs-λ chart. */
async function fillSweep(mine) {
  drawSweep();
  for (const lam of LADDER) {
    if (mine !== token) return;
    try {
      await Promise.all([trained("l1", lam), trained("l2", lam)]);
    } catch {
      return;
    }
    drawSweep();
  }
}

function histogram(element, weights, color, lo, hi) {
  const trace = {
    type: "histogram", x: weights, marker: { color, line: { color: "#ffffff", width: 0.5 } },
    xbins: { start: lo, end: hi, size: (hi - lo) / 60 },
    hovertemplate: `${t("reg.hist_hover")}<extra></extra>`,
  };
  const layout = {
    ...plotlyLocale(),
    margin: { l: 44, r: 8, t: 6, b: 38 },
    font: FONT,
    xaxis: { title: { text: t("reg.weight_axis"), standoff: 2 }, range: [lo, hi], zeroline: true, zerolinecolor: "#888" },
    yaxis: { title: { text: t("reg.count_axis") }, type: "log", dtick: 1 },
    bargap: 0,
    paper_bgcolor: "rgba(0,0,0,0)",
  };
  return Plotly.react(element, [trace], layout, CONFIG);
}

function drawHistograms() {
  const all = [...shown.l1.weights, ...shown.l2.weights].map(Math.abs).sort((a, b) => a - b);
  const edge = Math.max(0.2, all.length ? all[Math.floor(all.length * 0.995)] * 1.1 : 1);
  histogram(ui.histL1, shown.l1.weights, L1C, -edge, edge);
  histogram(ui.histL2, shown.l2.weights, L2C, -edge, edge);
  const line = (r) => t("reg.zero", { zero: r.zero, total: r.total, percent: formatNumber((100 * r.zero) / Math.max(1, r.total)) });
  ui.countL1.textContent = line(shown.l1);
  ui.countL2.textContent = line(shown.l2);
}

/** Say so when λ is too strong: a network that predicts the same for every point has stopped learning. */
function showCollapse() {
  const which = ["l1", "l2"].filter((kind) => shown[kind].collapsed);
  ui.collapse.hidden = which.length === 0;
  if (!which.length) return;
  ui.collapse.textContent = t("reg.collapsed", {
    lam: formatNumber(shown.lam),
    which: which.map((k) => k.toUpperCase()).join(t("reg.and")),
    loss: formatNumber(shown[which[0]].valLoss),
    ln2: formatNumber(Number(Math.LN2.toFixed(3))),
  });
}

async function drawSweep() {
  const points = { l1: [], l2: [] };
  for (const kind of ["l1", "l2"]) {
    for (const lam of LADDER) {
      const key = `${configKey()}|${kind}|${lam}`;
      const result = sweepValues.get(key);
      if (result) points[kind].push([lam, result.zero, result.collapsed]);
    }
  }
  const xOf = (lam) => (lam === 0 ? LADDER[1] / 3 : lam); // λ = 0 drawn left of the smallest λ on the log axis
  const trace = (kind, color, name) => ({
    type: "scatter", mode: "lines+markers", name, x: points[kind].map((p) => xOf(p[0])), y: points[kind].map((p) => p[1]),
    line: { color, width: 2 },
    // a collapsed network (one prediction for every point) is an open marker
    marker: { size: 8, color, symbol: points[kind].map((p) => (p[2] ? "circle-open" : "circle")), line: { color, width: 2 } },
    customdata: points[kind].map((p) => [formatNumber(p[0]), p[2] ? t("reg.sweep_collapsed") : ""]),
    hovertemplate: `${t("reg.sweep_hover", { name })}<extra></extra>`,
  });
  const chosen = xOf(state.lam);
  const layout = {
    ...plotlyLocale(),
    margin: { l: 50, r: 8, t: 8, b: 40 },
    font: FONT,
    xaxis: {
      type: "log", title: { text: t("reg.lambda_axis"), standoff: 2 },
      range: [Math.log10(xOf(0)) - 0.15, Math.log10(LADDER[LADDER.length - 1]) + 0.15], autorange: false,
      tickvals: LADDER.map(xOf), ticktext: LADDER.map((v) => (v === 0 ? "0" : formatNumber(v, { expDigits: 0, plus: false }))),
      automargin: true,
    },
    yaxis: { title: { text: t("reg.zero_axis") }, rangemode: "tozero" },
    legend: { orientation: "h", x: 0, y: 1.02, yanchor: "bottom" },
    shapes: [{ type: "line", xref: "x", yref: "paper", x0: chosen, x1: chosen, y0: 0, y1: 1, line: { color: "#888", dash: "dot", width: 1.5 } }],
    paper_bgcolor: "rgba(0,0,0,0)",
  };
  return Plotly.react(ui.sweep, [trace("l1", L1C, "L1"), trace("l2", L2C, "L2")], layout, CONFIG);
}

// ------------------------------------------------------------------------------------------ two weights
const contour = new ContourWithOverlay(ui.contour);
contour.onRangeChange = () => drawTwoWeights();
let two = null; // {l1: {x, y}, l2: {x, y}}
let grid2 = null; // the loss on the contour's grid (for the level curves through the solutions)
let twoToken = 0;

function runConfig(expression) {
  return {
    surface: "custom",
    expression,
    view: VIEW2,
    start: START2,
    steps: STEPS2,
    tolerance: 1e-9,
    // plain gradient descent whose learning rate decays to 0 (cosine): the L1 path settles on the axis
    runs: [{ id: "gd", optimizer: "sgd", hyperparameters: { lr: 0.05 }, schedule: { name: "cosine", params: { T_max: STEPS2 } } }],
  };
}

async function loadTwoWeights() {
  const surface = await surfaceGrid("custom", { grid: 120, expression: LOSS2, view: VIEW2 });
  surface.minima = [LOSS2_MIN];
  grid2 = surface.grid;
  await contour.drawSurface(surface);
  // colour-bar ticks at a few decades of the loss, short enough to fit the bar's margin
  const sc = contour.scale;
  const bar = {};
  if (sc.log && sc.hi > sc.lo) {
    const values = [0, 1, 2, 3].map((k) => sc.lo + (sc.hi - sc.lo) * 10 ** -k);
    bar["colorbar.tickvals"] = [values.map(sc.f)];
    bar["colorbar.ticktext"] = [values.map((v) => formatNumber(Number(v.toPrecision(2))))];
  }
  await Plotly.update(contour.base, bar, { "xaxis.title.text": "w1", "yaxis.title.text": "w2" }, [0]);
  ui.loss2.textContent = t("reg.loss2", { expression: LOSS2.replaceAll("x", "w1").replaceAll("y", "w2") });
  await solveTwoWeights();
}

async function solveTwoWeights() {
  const mine = ++twoToken;
  const lam = state.lam2;
  const [l1, l2] = await Promise.all([
    postJson("/api/v1/traces", runConfig(`${LOSS2} + ${lam}*(abs(x) + abs(y))`)),
    postJson("/api/v1/traces", runConfig(`${LOSS2} + ${lam}*(x**2 + y**2)`)),
  ]);
  if (mine !== twoToken) return;
  const path = (trace) => ({ x: trace.runs[0].trace.x, y: trace.runs[0].trace.y });
  two = { lam, l1: path(l1), l2: path(l2) };
  drawTwoWeights();
}

const last = (p) => [p.x[p.x.length - 1], p.y[p.y.length - 1]];

function drawTwoWeights() {
  if (!two) return;
  const s1 = last(two.l1);
  const s2 = last(two.l2);
  const t1 = Math.abs(s1[0]) + Math.abs(s1[1]); // the diamond through the L1 solution
  const t2 = Math.hypot(s2[0], s2[1]); // the circle through the L2 solution
  const circle = { x: [], y: [] };
  for (let k = 0; k <= 120; k++) {
    const a = (2 * Math.PI * k) / 120;
    circle.x.push(t2 * Math.cos(a));
    circle.y.push(t2 * Math.sin(a));
  }
  // the loss contour through each solution: it touches the diamond (L1) or the circle (L2) right there
  const level = (point, color) => ({
    type: "contour", x: grid2.x, y: grid2.y, z: grid2.z, showscale: false, hoverinfo: "skip",
    contours: { coloring: "none", start: loss2(...point), end: loss2(...point), size: 1, showlabels: false },
    line: { color, width: 1.3, dash: "dot" },
  });
  const traces = [
    level(s1, L1C),
    level(s2, L2C),
    { type: "scatter", mode: "lines", x: [t1, 0, -t1, 0, t1], y: [0, t1, 0, -t1, 0], fill: "toself", fillcolor: "rgba(213,94,0,0.14)", line: { color: L1C, width: 1.5 } },
    { type: "scatter", mode: "lines", x: circle.x, y: circle.y, fill: "toself", fillcolor: "rgba(0,114,178,0.12)", line: { color: L2C, width: 1.5 } },
    { type: "scatter", mode: "lines", meta: "path", x: two.l1.x, y: two.l1.y, line: { color: L1C, width: 2.8 } },
    { type: "scatter", mode: "lines", meta: "path", x: two.l2.x, y: two.l2.y, line: { color: L2C, width: 2.8 } },
    { type: "scatter", mode: "markers", x: [START2[0]], y: [START2[1]], marker: { symbol: "x-thin", size: 12, line: { width: 3, color: "#1d2430" } } },
    { type: "scatter", mode: "markers", x: [s1[0]], y: [s1[1]], marker: { size: 13, color: L1C, symbol: "diamond", line: { color: "#fff", width: 2 } } },
    { type: "scatter", mode: "markers", x: [s2[0]], y: [s2[1]], marker: { size: 13, color: L2C, line: { color: "#fff", width: 2 } } },
  ];
  contour.drawOverlay(traces);
  ui.legend.replaceChildren(
    el("li", {}, el("span", { class: "swatch", style: `background:${L1C}` }), t("reg.legend_l1", { t: formatNumber(t1) })),
    el("li", {}, el("span", { class: "swatch", style: `background:${L2C}` }), t("reg.legend_l2", { t: formatNumber(t2) })),
    el("li", {}, el("span", { class: "swatch", style: "background:#F0E442" }), t("reg.legend_min")),
  );
  const fmt = (p) => t("common.point", { x: formatNumber(round(p[0])), y: formatNumber(round(p[1])) });
  ui.solutions.textContent = t("reg.solutions", {
    lam: formatNumber(two.lam),
    s1: fmt(s1),
    where1: t(Math.min(Math.abs(s1[0]), Math.abs(s1[1])) < 0.01 ? "reg.l1_on_axis" : "reg.l1_off_axis"),
    s2: fmt(s2),
    where2: t(Math.min(Math.abs(s2[0]), Math.abs(s2[1])) < 0.01 ? "reg.l2_on_axis" : "reg.l2_off_axis"),
  });
}

const round = (v) => (Math.abs(v) < 5e-4 ? 0 : v);

// ------------------------------------------------------------------------------------------ controls
function bindControls() {
  ui.strength.min = "0";
  ui.strength.max = String(LADDER.length - 1);
  ui.strength.step = "1";
  ui.strength.value = String(LADDER.indexOf(state.lam));
  const showStrengthLabel = () => {
    const lam = LADDER[Number(ui.strength.value)];
    ui.strengthOut.textContent = `= ${formatNumber(lam)}`;
    ui.strength.setAttribute("aria-valuetext", `λ = ${lam}`);
    return lam;
  };
  showStrengthLabel();
  ui.strength.addEventListener("input", () => {
    state.lam = showStrengthLabel();
    save();
    drawSweep();
    scheduleTrain();
  });
  for (const d of DATASETS) ui.dataset.append(el("option", { value: d.name, text: d.title }));
  ui.dataset.value = state.dataset;
  ui.dataset.addEventListener("change", () => {
    state.dataset = ui.dataset.value;
    save();
    scheduleTrain(0);
  });
  const bind = (input, key, parse) => {
    input.value = Array.isArray(state[key]) ? state[key].join(",") : String(state[key]);
    input.addEventListener("change", () => {
      const v = parse(input.value);
      const ok = input.value.trim() !== "" && v !== undefined && SCHEMA[key].validate(v);
      input.setAttribute("aria-invalid", String(!ok));
      if (!ok) return;
      state[key] = v;
      save();
      scheduleTrain(0);
    });
  };
  bind(ui.epochs, "epochs", (s) => Number.parseInt(s, 10));
  bind(ui.lr, "lr", Number);
  bind(ui.hidden, "hidden", (s) => {
    const v = s.split(",").map((t) => Number(t.trim()));
    return v.every(Number.isFinite) ? v : undefined;
  });
  ui.lam2.value = String(state.lam2);
  const showLam2 = () => {
    ui.lam2Out.textContent = `= ${formatNumber(Number(ui.lam2.value))}`;
    ui.lam2.setAttribute("aria-valuetext", `λ = ${ui.lam2.value}`);
  };
  showLam2();
  let timer = null;
  ui.lam2.addEventListener("input", () => {
    showLam2();
    state.lam2 = Number(ui.lam2.value);
    save();
    clearTimeout(timer);
    timer = setTimeout(() => solveTwoWeights().catch((e) => (ui.solutions.textContent = t("reg.could_not_descend", { message: e.message }))), 200);
  });
  ui.copy.addEventListener("click", () => copyLink(shareUrl(SCHEMA, state), ui.copy, ui.link));
}


// Read-only hooks for the browser tests.
window.__reg = {
  counts: () => (shown ? { lam: shown.lam, l1: shown.l1.zero, l2: shown.l2.zero, total: shown.l1.total } : null),
  collapsed: () => (shown ? { l1: shown.l1.collapsed, l2: shown.l2.collapsed } : null),
  sweep: () => Object.fromEntries(["l1", "l2"].map((kind) => [kind, LADDER.map((lam) => sweepValues.get(`${configKey()}|${kind}|${lam}`)?.zero ?? null)])),
  histogramsDrawn: () => Boolean(ui.histL1.data?.[0]?.x?.length && ui.histL2.data?.[0]?.x?.length),
  sweepPoints: () => (ui.sweep.data ?? []).map((t) => t.x.length),
  solutions: () => (two ? { lam: two.lam, l1: last(two.l1), l2: last(two.l2) } : null),
  overlayTraces: () => contour.overlay.data?.length ?? 0,
  state: () => structuredClone(state),
};

// ------------------------------------------------------------------------------------------ embedding
function recompute() {
  scheduleTrain(0);
  if (grid2) solveTwoWeights().catch((e) => (ui.solutions.textContent = t("reg.could_not_descend", { message: e.message })));
}

async function setFromHost(_run, hyperparameters) {
  for (const [name, value] of Object.entries(hyperparameters)) {
    if ((name === "lam" || name === "lambda") && value >= 0 && value <= 1) {
      state.lam = LADDER.reduce((best, v) => (Math.abs(v - value) < Math.abs(best - value) ? v : best), LADDER[0]);
      ui.strength.value = String(LADDER.indexOf(state.lam));
      ui.strength.dispatchEvent(new Event("input"));
    } else if (name === "lam2" && value >= 0.1 && value <= 3) {
      state.lam2 = value;
      ui.lam2.value = String(value);
      ui.lam2.dispatchEvent(new Event("input"));
    } else throw new Error(`cannot set ${name} = ${value} (lam in [0, 1], lam2 in [0.1, 3])`);
  }
  save();
}

const refuse = (what) => async () => {
  throw new Error(`${what}: this view computes whole trainings over REST; use gdp:play to recompute`);
};
const embed = registerView(
  "regularization",
  {
    play: recompute,
    pause: refuse("pause"),
    step: refuse("step"),
    reset: () => setFromHost(null, { lam: SCHEMA.lam.default, lam2: SCHEMA.lam2.default }),
    set: setFromHost,
  },
  { query: () => encodeState(SCHEMA, state), height: 1600 },
);

bindControls();
save();
scheduleTrain(0);
loadTwoWeights()
  .catch((e) => (ui.solutions.textContent = t("reg.could_not_draw", { message: e.message })))
  .finally(() => embed.ready());
