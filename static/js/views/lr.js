// The learning-rate view: four SGD runs on f(x) = x² (too low, just right, too high, much too high) plus the
// learner's own rate, streamed live over one WebSocket; each step drawn as "step size = slope × learning rate".

import { StreamClient } from "../client.js";
import { readState, shareUrl, writeState } from "../state.js";

const Plotly = window.Plotly;

// Okabe–Ito colours (colour-blind safe).
const PRESETS = [
  {
    id: "too_low", title: "Too low", color: "#0072B2", key: "low",
    caption: "A small learning rate requires many updates before reaching the minimum point.",
  },
  {
    id: "just_right", title: "Just right", color: "#009E73", key: "right",
    caption: "The optimal learning rate swiftly reaches the minimum point.",
  },
  {
    id: "too_high", title: "Too high", color: "#E69F00", key: "high",
    caption: "Too large of a learning rate causes drastic updates: every step jumps across the minimum.",
  },
  {
    id: "much_too_high", title: "Much too high", color: "#D55E00", key: "diverge",
    caption: "Drastic updates which lead to divergent behaviors: each jump lands higher than the last.",
  },
];
const OWN = { id: "own", title: "Your own learning rate", color: "#CC79A7", key: "own", caption: "" };
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
const fmt = (v, digits = 4) => {
  if (v === null || v === undefined || !Number.isFinite(v)) return "–";
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(2).replace("e+", "e");
  return Number(v.toPrecision(digits)).toString();
};
const fmtLr = (v) => Number(v.toPrecision(3)).toString();

function endText(run) {
  const e = ended[run];
  if (!e) return "";
  const n = e.summary?.steps_taken ?? e.step;
  if (e.event === "converged") return `Converged in ${n} steps`;
  if (e.event === "diverged") return `Diverged after ${n} steps`;
  if (e.event === "max_steps") return `Still far after ${n} steps (loss ${fmt(e.summary?.final_loss, 3)})`;
  return `Stopped after ${n} steps`;
}

// ---- DOM ------------------------------------------------------------------------------------------------
const $ = (id) => document.getElementById(id);
const panels = {};

function panelMarkup(run) {
  const lrField =
    run.id === "own"
      ? ""
      : `<label class="lr-field">learning rate
           <input type="number" inputmode="decimal" min="0.0001" max="1000" step="any" value="${state[run.key]}"
                  data-key="${run.key}" aria-label="${run.title}: learning rate"></label>`;
  return `
    <header class="panel-head">
      <h2 class="panel-title"><span class="swatch" aria-hidden="true"></span>${run.title}</h2>
      ${lrField}
    </header>
    ${run.caption ? `<p class="caption">${run.caption}</p>` : ""}
    <div class="plot panel-plot" role="img" aria-label="${run.title}: the parabola, the tangent and the last step"></div>
    <div class="lr-readout">
      <p class="where"><span>step <b data-field="t">0</b></span> <span>x <b data-field="x">–</b></span></p>
      <p class="formula-line" aria-label="step size = slope × learning rate">
        <span class="term"><small>slope</small><b data-field="slope">–</b></span><span class="op">×</span>
        <span class="term"><small>lr</small><b data-field="lr">–</b></span><span class="op">=</span>
        <span class="term result"><small>step size</small><b data-field="size">–</b></span>
      </p>
    </div>
    <p class="end-reason" data-field="end" role="status"></p>`;
}

function buildPanels() {
  const container = $("panels");
  for (const run of RUNS) {
    const element = document.createElement(run.id === "own" ? "div" : "article");
    element.className = `lr-panel card run-${run.id}`;
    element.dataset.run = run.id;
    element.style.setProperty("--c", run.color);
    element.innerHTML = panelMarkup(run);
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
    p.fields.t.textContent = t >= 1 ? `${t - 1} → ${t}` : "0 (next)";
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
  p.element.dataset.end = end ? end.event : "";
}

function lossFigure() {
  const traces = RUNS.map((run) => ({
    x: data[run.id].step,
    y: data[run.id].loss.map((v) => (v > 0 ? v : null)),
    name: run.title, mode: "lines", line: { color: run.color, width: 2, dash: run.id === "own" ? "dot" : "solid" },
  }));
  const layout = {
    margin: { l: 52, r: 10, t: 8, b: 40 },
    paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "#fff",
    font: { size: 11, family: "system-ui, sans-serif", color: "#3b4656" },
    xaxis: { title: { text: "step" }, gridcolor: "#eef2f6", rangemode: "tozero" },
    yaxis: { title: { text: "loss f(x)" }, type: "log", gridcolor: "#eef2f6", exponentformat: "power" },
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
  play.textContent = session.done ? "Play again" : session.paused ? "Play" : "Pause";
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
    else if (ended.own) setStatus("Your run has ended: press Reset to run it again with this rate.");
  });
  $("copy-link").addEventListener("click", async () => {
    const url = shareUrl(SCHEMA, state);
    $("copy-link").dataset.url = url;
    try {
      await navigator.clipboard.writeText(url);
      setStatus("Link copied.");
    } catch {
      setStatus(`Link: ${url}`);
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
    setStatus("Ready: press Play, or Step through it.");
    restart(true);
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
    }
    lossDirty = true;
    requestDraw();
  });
  client.on("event", (msg) => {
    ended[msg.run] = msg;
    endOrder.push(msg.run);
    dirty.add(msg.run);
    requestDraw();
  });
  client.on("done", () => {
    session.done = true;
    setStatus("Every run has ended. Reset to start again, or change a learning rate.");
    lossDirty = true;
    refreshControls();
    requestDraw();
  });
  client.on("state", (msg) => {
    stateMessages += 1;
    session.paused = msg.paused;
    setStatus(msg.paused ? "Paused." : "Playing.");
    refreshControls();
    lossDirty = true;
    requestDraw();
  });
  client.on("updated", (msg) => {
    if (msg.run === "own") {
      ownUpdatedFrom = msg.from_step;
      setStatus(`Your learning rate is now ${fmtLr(msg.hyperparameters.lr)} from step ${msg.from_step}.`);
    }
  });
  client.on("error", (msg) => setStatus(`The server refused that: ${msg.message}`));
  client.on("close", (info) => {
    session.connected = false;
    refreshControls();
    setStatus(`Connection closed (${info.reason || info.code}). Reload the page to reconnect.`);
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
  ended: (run) => ended[run]?.event ?? null,
  endStep: (run) => ended[run]?.summary?.steps_taken ?? null,
  endOrder: () => [...endOrder],
  state: () => ({ ...session, frames, stateMessages, ownLr: state.own, ownUpdatedFrom, speed: state.speed, settings: { ...state } }),
});

buildPanels();
wireControls();
clearData();
refreshControls();
requestDraw();
connect();
