// The learning-rate view: four SGD runs on f(x) = x² (too low, just right, too high, much too high) plus the
// learner's own rate, streamed live over one WebSocket; each step drawn as "step size = slope × learning rate".

import { StreamClient } from "../client.js";
import { registerView } from "../embed.js";
import { formatNumber, plotlyLocale, t } from "../i18n.js";
import { encodeState, readState, shareUrl, writeState } from "../state.js";
import { el } from "../controls.js";

const Plotly = window.Plotly;
const tr = t; // `t` is also the step index in the drawing code below

// Okabe–Ito colours (colour-blind safe).
const PRESETS = [
  { id: "too_low", title: t("lr.too_low"), color: "#0072B2", key: "low", caption: t("lr.caption.too_low") },
  { id: "just_right", title: t("lr.just_right"), color: "#009E73", key: "right", caption: t("lr.caption.just_right") },
  { id: "too_high", title: t("lr.too_high"), color: "#E69F00", key: "high", caption: t("lr.caption.too_high") },
  {
    id: "much_too_high", title: t("lr.much_too_high"), color: "#D55E00", key: "diverge",
    caption: t("lr.caption.much_too_high"),
  },
];
const OWN = { id: "own", title: t("lr.own_label"), color: "#CC79A7", key: "own", caption: "" };
const RUNS = [...PRESETS, OWN];
const SPEEDS = ["1", "2", "4", "10", "30", "60", "max"];

const lrSpec = (fallback) => ({ type: "number", default: fallback, validate: (v) => v > 0 && v <= 1000 });
const SCHEMA = {
  low: lrSpec(0.01),
  right: lrSpec(0.45),
  high: lrSpec(0.9),
  diverge: lrSpec(1.05),
  own: lrSpec(0.1),
  speed: { type: "string", default: "4", validate: (v) => SPEEDS.includes(v) },
  steps: { type: "int", default: 150, validate: (v) => v >= 1 && v <= 2000 },
};

const state = readState(SCHEMA);
const COLUMNS = ["step", "x", "loss", "grad_x", "lr", "update_x"];
const f = (x) => x * x; // the "parabola" surface

// ---- live data, filled by the stream, drawn once per animation frame -------------------------------------
const data = {}; // run id -> {step: [], x: [], ...}
const ended = {}; // run id -> event message
const dirty = new Set();
let lossDirty = false;
let session = { connected: false, started: false, paused: true, done: false, seq: 0, budget: state.steps };
let frames = 0;
let frameRequested = false;
let ownUpdatedFrom = null;
let endOrder = [];
let stateMessages = 0;

function clearData() {
  for (const run of RUNS) {
    data[run.id] = Object.fromEntries(COLUMNS.map((c) => [c, []]));
    delete ended[run.id];
    dirty.add(run.id);
  }
  lossDirty = true;
  ownUpdatedFrom = null;
  endOrder = [];
}

// ---- formatting -------------------------------------------------------------------------------------------
const fmt = (v, digits = 4) => formatNumber(v, { digits, plus: false });
const fmtLr = (v) => formatNumber(v, { digits: 3, small: 0, big: Infinity });

function endText(run) {
  const e = ended[run];
  if (!e) return "";
  const n = e.summary?.steps_taken ?? e.step;
  if (e.reason === "max_steps") return t("lr.end.max_steps", { n, loss: fmt(e.summary?.final_loss, 3) });
  return t(`lr.end.${e.reason === "converged" || e.reason === "diverged" ? e.reason : "stopped"}`, { n });
}

// ---- DOM ------------------------------------------------------------------------------------------------
const $ = (id) => document.getElementById(id);
const panels = {};

/** A panel's contents: title (and learning-rate field), caption, plot, the step readout, how it ended. */
function panelContent(run) {
  const field = (name, text) => el("b", { dataset: { field: name }, text });
  const term = (label, name, cls = "term") => el("span", { class: cls }, el("small", { text: label }), field(name, "–"));
  const lrField =
    run.id === "own"
      ? null
      : el(
          "label",
          { class: "lr-field" },
          t("common.learning_rate"),
          el("input", {
            type: "number", inputmode: "decimal", min: "0.0001", max: "1000", step: "any", value: String(state[run.key]),
            dataset: { key: run.key }, "aria-label": `${run.title}: ${t("common.learning_rate")}`,
          }),
        );
  return [
    el("header", { class: "panel-head" }, el("h2", { class: "panel-title" }, el("span", { class: "swatch", "aria-hidden": "true" }), run.title), lrField),
    run.caption ? el("p", { class: "caption", text: run.caption }) : null,
    el("div", { class: "plot panel-plot", role: "img", "aria-label": `${run.title}: ${t("lr.panel_plot_label")}` }),
    el(
      "div",
      { class: "lr-readout" },
      el("p", { class: "where" }, el("span", {}, `${t("common.step_lc")} `, field("t", "0")), " ", el("span", {}, "x ", field("x", "–"))),
      el(
        "p",
        { class: "formula-line", "aria-label": t("lr.formula_label") },
        term(t("lr.slope"), "slope"), el("span", { class: "op", text: "×" }),
        term("lr", "lr"), el("span", { class: "op", text: "=" }),
        term(t("lr.step_size"), "size", "term result"),
      ),
    ),
    el("p", { class: "end-reason", dataset: { field: "end" }, role: "status" }),
  ];
}

function buildPanels() {
  const container = $("panels");
  for (const run of RUNS) {
    const element = el(run.id === "own" ? "div" : "article", { class: `lr-panel card run-${run.id}`, dataset: { run: run.id } }, panelContent(run));
    element.style.setProperty("--c", run.color);
    (run.id === "own" ? $("own-panel") : container).appendChild(element);
    panels[run.id] = {
      element,
      plot: element.querySelector(".panel-plot"),
      fields: Object.fromEntries([...element.querySelectorAll("[data-field]")].map((n) => [n.dataset.field, n])),
      drawn: false,
    };
  }
  container.addEventListener("change", (event) => {
    const input = event.target.closest("input[data-key]");
    if (!input) return;
    const value = Number(input.value);
    if (!(value > 0 && value <= 1000)) {
      input.value = state[input.dataset.key];
      return;
    }
    state[input.dataset.key] = value;
    writeState(SCHEMA, state);
    restart(session.paused);
  });
}

// ---- drawing --------------------------------------------------------------------------------------------
const PLOT_CONFIG = { displayModeBar: false, staticPlot: true, responsive: true };

function panelFigure(run) {
  const d = data[run.id];
  const n = d.x.length;
  const maxAbs = n ? Math.max(...d.x.map(Math.abs)) : 2.5;
  const R = Math.max(3, maxAbs * 1.08);
  const top = R * R * 1.05;
  const base = -0.14 * top; // the x-axis arrow lives below the curve
  const curveX = Array.from({ length: 161 }, (_, i) => -R + (2 * R * i) / 160);
  const traces = [
    { x: curveX, y: curveX.map(f), mode: "lines", line: { color: "#9aa5b1", width: 2 }, hoverinfo: "skip" },
    {
      x: d.x, y: d.loss, mode: "lines+markers", hoverinfo: "skip",
      line: { color: run.color, width: 1, dash: "dot" },
      marker: { color: run.color, size: 5, opacity: 0.55 },
    },
  ];
  const annotations = [];
  const t = n - 1;
  if (t >= 0) {
    // the step shown: the last one made (from t-1 to t), or the first one ahead at step 0
    const from = t >= 1 ? t - 1 : 0;
    const x0 = d.x[from];
    const slope = d.grad_x[from];
    const lr = d.lr[from];
    const x1 = t >= 1 ? d.x[t] : x0 - lr * slope;
    const half = R * 0.35;
    traces.push({
      x: [x0 - half, x0 + half], y: [f(x0) - slope * half, f(x0) + slope * half],
      mode: "lines", line: { color: "#1d2430", width: 1.5, dash: "dash" }, hoverinfo: "skip",
    });
    traces.push({
      x: [d.x[t]], y: [d.loss[t]], mode: "markers", hoverinfo: "skip",
      marker: { color: run.color, size: 11, line: { color: "#1d2430", width: 1.5 } },
    });
    const arrow = { showarrow: true, arrowhead: 2, arrowsize: 1, arrowwidth: 2, axref: "x", ayref: "y" };
    if (Math.abs(x1 - x0) > 1e-12 * R) {
      annotations.push({ ...arrow, x: x1, y: base, ax: x0, ay: base, arrowcolor: run.color, text: "" });
      annotations.push({
        ...arrow, x: x1, y: f(x1), ax: x0, ay: f(x0), arrowcolor: run.color, arrowwidth: 1.5, text: "",
        opacity: t >= 1 ? 1 : 0.5,
      });
    }
  }
  const layout = {
    ...plotlyLocale(),
    margin: { l: 34, r: 8, t: 6, b: 22 },
    showlegend: false,
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "#fff",
    font: { size: 10, family: "system-ui, sans-serif", color: "#3b4656" },
    xaxis: { range: [-R, R], zeroline: true, zerolinecolor: "#c7d0da", gridcolor: "#eef2f6", fixedrange: true },
    yaxis: {
      range: [base * 1.6, top], zeroline: true, zerolinecolor: "#c7d0da", gridcolor: "#eef2f6", fixedrange: true,
      tickformat: top > 1e4 ? ".1e" : "",
    },
    annotations,
  };
  return { traces, layout };
}

function updateReadout(run) {
  const d = data[run.id];
  const p = panels[run.id];
  const t = d.x.length - 1;
  if (t < 0) {
    for (const key of ["x", "slope", "lr", "size"]) p.fields[key].textContent = "–";
    p.fields.t.textContent = "0";
  } else {
    const from = t >= 1 ? t - 1 : 0;
    const slope = d.grad_x[from];
    const lr = d.lr[from];
    const size = t >= 1 ? d.update_x[t] : -lr * slope; // the move made: −(slope × lr)
    p.fields.t.textContent = t >= 1 ? `${t - 1} → ${t}` : tr("lr.next_step");
    p.fields.x.textContent = t >= 1 ? `${fmt(d.x[t - 1])} → ${fmt(d.x[t])}` : fmt(d.x[0]);
    p.fields.slope.textContent = fmt(slope);
    p.fields.lr.textContent = fmt(lr);
    p.fields.size.textContent = fmt(-size);
    p.fields.size.dataset.value = String(-size);
    p.fields.slope.dataset.value = String(slope);
    p.fields.lr.dataset.value = String(lr);
  }
  const end = ended[run.id];
  p.fields.end.textContent = endText(run.id);
  p.element.dataset.end = end ? end.reason : "";
}

function lossFigure() {
  const traces = RUNS.map((run) => ({
    x: data[run.id].step,
    y: data[run.id].loss.map((v) => (v > 0 ? v : null)),
    name: run.title, mode: "lines", line: { color: run.color, width: 2, dash: run.id === "own" ? "dot" : "solid" },
  }));
  const layout = {
    ...plotlyLocale(),
    margin: { l: 52, r: 10, t: 8, b: 40 },
    paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "#fff",
    font: { size: 11, family: "system-ui, sans-serif", color: "#3b4656" },
    xaxis: { title: { text: t("common.step_lc") }, gridcolor: "#eef2f6", rangemode: "tozero" },
    yaxis: { title: { text: t("lr.loss_axis") }, type: "log", gridcolor: "#eef2f6", exponentformat: "power" },
    legend: { orientation: "h", y: -0.25, x: 0, font: { size: 11 } },
  };
  return { traces, layout };
}

function draw() {
  frameRequested = false;
  frames += 1;
  for (const id of dirty) {
    const run = RUNS.find((r) => r.id === id);
    const { traces, layout } = panelFigure(run);
    Plotly.react(panels[id].plot, traces, layout, PLOT_CONFIG);
    updateReadout(run);
  }
  dirty.clear();
  if (lossDirty && (frames % 3 === 0 || session.done || session.paused)) {
    const { traces, layout } = lossFigure();
    Plotly.react($("loss-plot"), traces, layout, { displayModeBar: false, responsive: true });
    lossDirty = false;
  }
  if (lossDirty) requestDraw();
}

function requestDraw() {
  if (frameRequested) return;
  frameRequested = true;
  requestAnimationFrame(draw);
}

// ---- controls -------------------------------------------------------------------------------------------
function setStatus(text) {
  $("status").textContent = text;
}

function refreshControls() {
  const play = $("play");
  play.textContent = session.done ? t("common.play_again") : session.paused ? t("common.play") : t("common.pause");
  play.setAttribute("aria-pressed", String(!session.paused && !session.done));
  $("step").disabled = !session.connected || session.done;
  document.body.dataset.playing = String(!session.paused && !session.done);
}

function config() {
  return {
    surface: "parabola",
    steps: state.steps,
    runs: RUNS.map((run) => ({ id: run.id, optimizer: "sgd", hyperparameters: { lr: state[run.key] } })),
  };
}

const speedValue = () => (state.speed === "max" ? "max" : Number(state.speed));

let client = null;

function restart(paused) {
  if (!session.connected) return;
  clearData();
  session = { ...session, started: false, done: false, paused };
  client.start(config(), { speed: speedValue(), paused });
  refreshControls();
  requestDraw();
}

function togglePlay() {
  if (!session.connected) return;
  if (session.done || !session.started) restart(false);
  else if (session.paused) client.resume();
  else client.pause();
}

function ownLrFromSlider() {
  return Number((10 ** Number($("own-lr").value)).toPrecision(3));
}

function showOwnValue() {
  $("own-value").textContent = fmtLr(state.own);
}

function wireControls() {
  $("play").addEventListener("click", togglePlay);
  $("step").addEventListener("click", () => {
    if (session.connected && !session.done) client.step(1);
  });
  $("reset").addEventListener("click", () => restart(true));
  const speed = $("speed");
  speed.value = state.speed;
  speed.addEventListener("change", () => {
    state.speed = speed.value;
    writeState(SCHEMA, state);
    if (session.connected) client.speed(speedValue());
  });
  const own = $("own-lr");
  own.value = String(Math.log10(state.own));
  showOwnValue();
  own.addEventListener("input", () => {
    state.own = ownLrFromSlider();
    showOwnValue();
    writeState(SCHEMA, state);
    if (session.connected && session.started && !ended.own) client.set("own", { lr: state.own });
    else if (ended.own) setStatus(t("lr.status.own_ended"));
  });
  $("copy-link").addEventListener("click", async () => {
    const url = shareUrl(SCHEMA, state);
    $("copy-link").dataset.url = url;
    try {
      await navigator.clipboard.writeText(url);
      setStatus(t("common.link_copied_status"));
    } catch {
      setStatus(t("common.link_is", { url }));
    }
  });
  document.addEventListener("keydown", (event) => {
    if (event.code !== "Space" && event.key !== " ") return;
    if (event.target.closest?.("input, select, textarea, button, a, [contenteditable]")) return;
    event.preventDefault();
    togglePlay();
  });
}

// ---- stream ---------------------------------------------------------------------------------------------
function connect() {
  client = new StreamClient();
  client.on("open", () => {
    session.connected = true;
    setStatus(t("lr.status.ready"));
    restart(true);
    embed.ready();
  });
  client.on("started", (msg) => {
    session = { ...session, started: true, seq: msg.seq, paused: msg.paused, done: false, budget: msg.steps };
    refreshControls();
  });
  client.on("steps", (msg) => {
    for (const [id, cols] of Object.entries(msg.runs)) {
      const d = data[id];
      if (!d) continue;
      for (const c of COLUMNS) if (cols[c]) d[c].push(...cols[c]);
      dirty.add(id);
      if (d.step.length) embed.step(id, d.step[d.step.length - 1]);
    }
    lossDirty = true;
    requestDraw();
  });
  client.on("event", (msg) => {
    ended[msg.run] = msg;
    endOrder.push(msg.run);
    embed.event(msg.run, msg.reason);
    dirty.add(msg.run);
    requestDraw();
  });
  client.on("done", () => {
    session.done = true;
    setStatus(t("lr.status.done"));
    embed.done();
    lossDirty = true;
    refreshControls();
    requestDraw();
  });
  client.on("state", (msg) => {
    stateMessages += 1;
    session.paused = msg.paused;
    setStatus(msg.paused ? t("common.paused") : t("common.playing"));
    refreshControls();
    lossDirty = true;
    requestDraw();
  });
  client.on("updated", (msg) => {
    if (msg.run === "own") {
      ownUpdatedFrom = msg.from_step;
      setStatus(t("lr.status.own_updated", { lr: fmtLr(msg.hyperparameters.lr), step: msg.from_step }));
    }
  });
  client.on("error", (msg) => setStatus(t("error.server_refused", { message: msg.message })));
  client.on("close", (info) => {
    session.connected = false;
    refreshControls();
    setStatus(t("error.closed_reload", { reason: info.reason || info.code }));
  });
}

function copyOf(run) {
  const d = data[run];
  return d ? Object.fromEntries(COLUMNS.map((c) => [c, [...d[c]]])) : null;
}

// Read-only hook for the end-to-end tests: they wait on these conditions instead of sleeping.
window.__lr = Object.freeze({
  runs: () => RUNS.map((r) => r.id),
  points: (run) => data[run]?.x.length ?? 0,
  data: copyOf,
  ended: (run) => ended[run]?.reason ?? null,
  endStep: (run) => ended[run]?.summary?.steps_taken ?? null,
  endOrder: () => [...endOrder],
  state: () => ({ ...session, frames, stateMessages, ownLr: state.own, ownUpdatedFrom, speed: state.speed, settings: { ...state } }),
});

// The controller a host page drives through embed.js: set() changes the own run live, a preset restarts.
function setFromHost(run, hyperparameters) {
  const lr = hyperparameters.lr;
  if (!(lr > 0 && lr <= 1000)) throw new Error("lr must be in (0, 1000]");
  const target = RUNS.find((r) => r.id === (run ?? "own"));
  if (!target) throw new Error(`no run ${run}`);
  state[target.key] = lr;
  writeState(SCHEMA, state);
  if (target.id === "own") {
    $("own-lr").value = String(Math.log10(lr));
    showOwnValue();
    if (session.connected && session.started && !ended.own) client.set("own", { lr });
  } else {
    const input = document.querySelector(`input[data-key=${target.key}]`);
    if (input) input.value = String(lr);
    restart(session.paused);
  }
}

const embed = registerView(
  "learning-rate",
  {
    play: () => {
      if (session.done || !session.started || session.paused) togglePlay();
    },
    pause: () => {
      if (session.connected && session.started && !session.paused && !session.done) client.pause();
    },
    step: () => session.connected && !session.done && client.step(1),
    reset: () => restart(true),
    set: setFromHost,
  },
  { query: () => encodeState(SCHEMA, state), height: 900 },
);

buildPanels();
wireControls();
clearData();
refreshControls();
requestDraw();
connect();
