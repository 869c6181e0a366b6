// @ts-check
// The learning-rate view (/learning-rate): four SGD runs on f(x) = x² (too low, just right, too high, much too
// high) plus the learner's own rate, streamed live over one WebSocket; each step drawn as
// "step size = slope × learning rate". A LiveSession connects, then starts the five runs paused at step 0.
//
// URL keys: each run's learning rate under its run id (the `id` of the run in the `start` config, whose
// `hyperparameters.lr` it is): too_low, just_right, too_high, much_too_high, own. Older links' low, right,
// high and diverge are read as aliases.

import { curvature } from "../client.js";
import { curvatureErrorText, stabilityEdge } from "../curvature.js";
import { LiveSession, exposeHook } from "../live.js";
import { formatNumber, plotlyLocale, t } from "../i18n.js";
import { encodeState, readState, shareUrl, writeState } from "../state.js";
import { el } from "../controls.js";
import { copyLink } from "../share.js";
import { FONT, MUTED_TEXT, PALETTE, SPEED_CHOICES } from "../theme.js";
import { LR_SCHEMA as SCHEMA, RUN_IDS } from "./learning-rate-schema.js";

const tr = t; // `t` is also the step index in the drawing code below
const NAME = "learning-rate";

// Okabe–Ito colours (colour-blind safe).
// The shared palette (theme.js), each preset keeping the colour it always had.
const COLORS = { too_low: PALETTE[0], just_right: PALETTE[2], too_high: PALETTE[4], much_too_high: PALETTE[1], own: PALETTE[3] };
/** @type {Array<{id: string, title: string, color: string, caption: string}>} */
const RUNS = RUN_IDS.map((id) =>
  id === "own"
    ? { id, title: t("lr.own_label"), color: COLORS.own, caption: "" }
    : { id, title: t(`lr.${id}`), color: COLORS[id], caption: t(`lr.caption.${id}`) },
);

/** @type {Record<string, any>} */
const state = readState(SCHEMA);
const save = () => writeState(SCHEMA, state);
const COLUMNS = ["step", "x", "loss", "grad_x", "lr", "update_x"];
const f = (/** @type {number} */ x) => x * x; // the "parabola" surface

// ---- live data, filled by the stream, drawn once per animation frame -------------------------------------
/** @type {Record<string, Record<string, number[]>>} */
const data = {}; // run id -> {step: [], x: [], ...}
/** @type {Record<string, any>} */
const ended = {}; // run id -> event message
const dirty = new Set();
let lossDirty = false;
let frames = 0;
let frameRequested = false;
/** @type {number | null} */
let ownUpdatedFrom = null;
/** @type {string[]} */
let endOrder = [];

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
const fmt = (/** @type {number} */ v, digits = 4) => formatNumber(v, { digits, plus: false });
const fmtLr = (/** @type {number} */ v) => formatNumber(v, { digits: 3, small: 0, big: Infinity });

function endText(/** @type {string} */ run) {
  const e = ended[run];
  if (!e) return "";
  const n = e.summary?.steps_taken ?? e.step;
  if (e.reason === "max_steps") return t("lr.end.max_steps", { n, loss: fmt(e.summary?.final_loss, 3) });
  if (e.reason === "converged" && n === 1) return t("lr.end.converged_one");
  return t(`lr.end.${e.reason === "converged" || e.reason === "diverged" ? e.reason : "stopped"}`, { n });
}

// ---- DOM ------------------------------------------------------------------------------------------------
const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));
/** @type {Record<string, {element: HTMLElement, plot: HTMLElement, fields: Record<string, HTMLElement>}>} */
const panels = {};

/** A panel's contents: title (and learning-rate field), caption, plot, the step readout, how it ended. */
function panelContent(/** @type {typeof RUNS[number]} */ run) {
  const field = (/** @type {string} */ name, /** @type {string} */ text) => el("b", { dataset: { field: name }, text });
  const term = (/** @type {string} */ label, /** @type {string} */ name, cls = "term") => el("span", { class: cls }, el("small", { text: label }), field(name, "–"));
  const lrField =
    run.id === "own"
      ? null
      : el(
          "label",
          { class: "lr-field" },
          t("common.learning_rate"),
          el("input", {
            type: "number", inputmode: "decimal", min: "0.0001", max: "1000", step: "any", value: String(state[run.id]),
            dataset: { key: run.id }, "aria-label": `${run.title}: ${t("common.learning_rate")}`,
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
      plot: /** @type {HTMLElement} */ (element.querySelector(".panel-plot")),
      fields: Object.fromEntries([...element.querySelectorAll("[data-field]")].map((n) => [/** @type {HTMLElement} */ (n).dataset.field, n])),
    };
  }
  container.addEventListener("change", (event) => {
    const input = /** @type {HTMLInputElement | null} */ (/** @type {Element} */ (event.target).closest("input[data-key]"));
    if (!input) return;
    const value = Number(input.value);
    if (!(value > 0 && value <= 1000)) {
      input.value = String(state[input.dataset.key]);
      return;
    }
    state[input.dataset.key] = value;
    save();
    drawEdge();
    session.restartIfRunning();
  });
}

// ---- drawing --------------------------------------------------------------------------------------------
const PLOT_CONFIG = { displayModeBar: false, staticPlot: true, responsive: true };

function panelFigure(/** @type {typeof RUNS[number]} */ run) {
  const d = data[run.id];
  const n = d.x.length;
  const maxAbs = n ? Math.max(...d.x.map(Math.abs)) : 2.5;
  const R = Math.max(3, maxAbs * 1.08);
  const top = R * R * 1.05;
  const base = -0.14 * top; // the x-axis arrow lives below the curve
  const curveX = Array.from({ length: 161 }, (_, i) => -R + (2 * R * i) / 160);
  /** @type {any[]} */
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
    font: { ...FONT, size: 10, color: MUTED_TEXT },
    xaxis: { range: [-R, R], zeroline: true, zerolinecolor: "#c7d0da", gridcolor: "#eef2f6", fixedrange: true },
    yaxis: {
      range: [base * 1.6, top], zeroline: true, zerolinecolor: "#c7d0da", gridcolor: "#eef2f6", fixedrange: true,
      tickformat: top > 1e4 ? ".1e" : "",
    },
    annotations,
  };
  return { traces, layout };
}

function updateReadout(/** @type {typeof RUNS[number]} */ run) {
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
    // lr = 0.5 reaches loss 0 in one step, off a log axis: its one point needs a marker to be seen at all
    name: run.title, mode: data[run.id].step.length <= 3 ? "lines+markers" : "lines", marker: { size: 6 },
    line: { color: run.color, width: 2, dash: run.id === "own" ? "dot" : "solid" },
  }));
  const layout = {
    ...plotlyLocale(),
    margin: { l: 52, r: 10, t: 8, b: 40 },
    paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "#fff",
    font: { ...FONT, size: 11, color: MUTED_TEXT },
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
  if (lossDirty && (frames % 3 === 0 || session.status !== "running")) {
    const { traces, layout } = lossFigure();
    Plotly.react($("loss-plot"), traces, layout, { displayModeBar: false, responsive: true });
    lossDirty = false;
  }
  if (lossDirty) requestDraw();
}

// ---- the edge 2/λmax on the learning-rate axis ----------------------------------------------------------
// λmax is the server's exact Hessian of the parabola at the start (GET …/parabola/curvature): f″ = 2, so
// the line sits at 1, the rate at which x bounces between ±x₀ forever. Asked once per start point.
/** @type {{x: number, lambdaMax: number, edge: number | null} | null} */
let edge = null;
let edgeAskedFor = NaN;

async function askEdge(/** @type {number} */ x) {
  if (x === edgeAskedFor) return;
  edgeAskedFor = x;
  try {
    const answer = await curvature("parabola", [x]);
    edge = { x, lambdaMax: answer.lambda_max, edge: stabilityEdge(answer.lambda_max) };
    $("edge-note").textContent = t("lr.edge.note", { edge: fmtLr(edge.edge ?? NaN) });
  } catch (error) {
    edge = null;
    $("edge-note").textContent = curvatureErrorText(error, t);
  }
  drawEdge();
}

function edgeFigure() {
  const lrs = RUNS.map((run) => state[run.id]);
  const hi = Math.log10(Math.max(2, ...lrs, edge?.edge ?? 1) * 3); // room right of the line for "diverges"
  const lo = Math.log10(Math.min(0.001, ...lrs) / 1.6);
  /** @type {any[]} */
  const traces = [{
    // each run's rate, in its panel's colour, labelled with its value (the titles are the panels')
    type: "scatter", mode: "markers+text", meta: "lrs", x: lrs, y: lrs.map(() => 0),
    text: lrs.map((lr) => fmtLr(lr)), textposition: RUNS.map((_, i) => (i % 2 ? "bottom center" : "top center")),
    hovertext: RUNS.map((run) => run.title), hovertemplate: "%{hovertext}: lr %{text}<extra></extra>",
    textfont: { size: 10, color: FONT.color }, cliponaxis: false,
    marker: { size: 12, color: RUNS.map((run) => run.color), line: { color: "#1d2430", width: 1 } },
  }];
  /** @type {any[]} */
  const shapes = [];
  /** @type {any[]} */
  const annotations = [];
  if (edge?.edge) {
    traces.push({
      type: "scatter", mode: "lines", meta: "edge", x: [edge.edge, edge.edge], y: [-1, 1], hoverinfo: "skip",
      line: { color: "#b3261e", width: 2.5, dash: "dash" },
    });
    shapes.push({
      type: "rect", xref: "x", yref: "paper", x0: edge.edge, x1: 10 ** hi, y0: 0, y1: 1, layer: "below",
      fillcolor: "rgba(213, 94, 0, 0.10)", line: { width: 0 },
    });
    annotations.push(
      { x: Math.log10(edge.edge), y: 1, yref: "paper", yanchor: "bottom", xanchor: "right", showarrow: false, text: tr("lr.edge.label", { edge: fmtLr(edge.edge) }), font: { color: "#b3261e", size: 12 } },
      { x: hi, y: 1, yref: "paper", yanchor: "bottom", xanchor: "right", showarrow: false, text: `${tr("lr.edge.diverges")} →`, font: { color: "#b3261e", size: 11 } },
    );
  }
  const layout = {
    ...plotlyLocale(),
    margin: { l: 14, r: 14, t: 22, b: 34 },
    showlegend: false,
    paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "#fff",
    font: { ...FONT, size: 11, color: MUTED_TEXT },
    xaxis: { type: "log", range: [lo, hi], title: { text: t("common.learning_rate"), standoff: 2 }, gridcolor: "#eef2f6", fixedrange: true },
    yaxis: { range: [-1, 1], visible: false, fixedrange: true },
    shapes, annotations,
  };
  return { traces, layout };
}

function drawEdge() {
  const { traces, layout } = edgeFigure();
  Plotly.react($("edge-plot"), traces, layout, PLOT_CONFIG);
}

function requestDraw() {
  if (frameRequested) return;
  frameRequested = true;
  requestAnimationFrame(draw);
}

// ---- the session ------------------------------------------------------------------------------------------
function config() {
  return {
    surface: "parabola",
    steps: state.steps,
    runs: RUNS.map((run) => ({ id: run.id, optimizer: "sgd", hyperparameters: { lr: state[run.id] } })),
  };
}

const session = new LiveSession({
  name: NAME,
  config,
  autostart: true,
  playAgain: t("common.play_again"),
  speed: { get: () => state.speed, set: (speed) => { state.speed = speed; save(); }, choices: SPEED_CHOICES[NAME] },
  words: { idle: t("lr.status.ready"), running: t("common.playing"), paused: t("common.paused"), finished: t("lr.status.done") },
  on: {
    steps: (msg) => {
      for (const [id, cols] of Object.entries(msg.runs)) {
        const d = data[id];
        if (!d) continue;
        for (const c of COLUMNS) if (cols[c]) d[c].push(...cols[c]);
        dirty.add(id);
        if (d.step.length) session.embed.step(id, d.step[d.step.length - 1]);
        if (d.x.length) askEdge(d.x[0]);
      }
      lossDirty = true;
      requestDraw();
    },
    event: (msg) => {
      ended[msg.run] = msg;
      endOrder.push(msg.run);
      dirty.add(msg.run);
      requestDraw();
    },
    done: () => {
      lossDirty = true;
      requestDraw();
    },
    updated: (msg) => {
      if (msg.run !== "own") return;
      ownUpdatedFrom = msg.from_step;
      session.say(t("lr.status.own_updated", { lr: fmtLr(msg.hyperparameters.lr), step: msg.from_step }));
    },
  },
  onReset: () => {
    clearData();
    requestDraw();
  },
  onStatus: () => {
    lossDirty = true;
    requestDraw();
  },
  embed: { set: setFromHost, query: () => encodeState(SCHEMA, state), height: 1480 },
});

/**
 * Change the own run's rate: live (the stream's `set`) while it runs. Once it has ended, the rate is applied
 * by running the descent again from step 0 (every panel beside it replays the same way), when `apply` says
 * the choice is made (the slider let go, a host's set); while the slider is still moving the status says so.
 */
function setOwnLr(/** @type {number} */ lr, apply = true) {
  state.own = lr;
  showOwnValue();
  save();
  drawEdge();
  if (!ended.own) {
    session.send((client) => client.set("own", { lr }));
  } else if (!apply) {
    session.say(t("lr.status.own_release", { lr: fmtLr(lr) }));
  } else {
    session.reset();
    session.play();
    session.say(t("lr.status.own_rerun", { lr: fmtLr(lr) }));
  }
}

const ownSlider = /** @type {HTMLInputElement} */ ($("own-lr"));
const ownLrFromSlider = () => Number((10 ** Number(ownSlider.value)).toPrecision(3));
const showOwnValue = () => ($("own-value").textContent = fmtLr(state.own));

function wireControls() {
  ownSlider.value = String(Math.log10(state.own));
  showOwnValue();
  ownSlider.addEventListener("input", () => setOwnLr(ownLrFromSlider(), false));
  ownSlider.addEventListener("change", () => ended.own && setOwnLr(ownLrFromSlider()));
  const copy = $("copy-link");
  copy.addEventListener("click", () => copyLink(shareUrl(SCHEMA, state), copy, /** @type {HTMLInputElement} */ ($("share-url"))));
}

function copyOf(/** @type {string} */ run) {
  const d = data[run];
  return d ? Object.fromEntries(COLUMNS.map((c) => [c, [...d[c]]])) : null;
}

// Read-only hook for the end-to-end tests: they wait on these conditions instead of sleeping.
exposeHook("lr", {
  runs: () => RUNS.map((r) => r.id),
  points: (/** @type {string} */ run) => data[run]?.x.length ?? 0,
  data: copyOf,
  ended: (/** @type {string} */ run) => ended[run]?.reason ?? null,
  endStep: (/** @type {string} */ run) => ended[run]?.summary?.steps_taken ?? null,
  endOrder: () => [...endOrder],
  edge: () => (edge ? { ...edge } : null), // {x, lambdaMax, edge = 2/λmax} from the server's curvature
  state: () => ({
    connected: session.connected,
    started: session.started,
    paused: session.status !== "running",
    done: session.status === "finished",
    status: session.status,
    frames,
    stateMessages: session.acks,
    ownLr: state.own,
    ownUpdatedFrom,
    speed: state.speed,
    settings: { ...state },
  }),
});

// The controller a host page drives through embed.js: set() changes the own run live, a preset restarts.
function setFromHost(/** @type {string | null} */ run, /** @type {{lr?: number}} */ hyperparameters) {
  const lr = hyperparameters.lr;
  if (!(lr > 0 && lr <= 1000)) throw new Error("lr must be in (0, 1000]");
  const target = RUNS.find((r) => r.id === (run ?? "own"));
  if (!target) throw new Error(`no run ${run}`);
  if (target.id === "own") {
    ownSlider.value = String(Math.log10(lr));
    setOwnLr(lr);
    return;
  }
  state[target.id] = lr;
  save();
  drawEdge();
  const input = /** @type {HTMLInputElement | null} */ (document.querySelector(`input[data-key=${target.id}]`));
  if (input) input.value = String(lr);
  session.restartIfRunning();
}

buildPanels();
wireControls();
clearData();
requestDraw();
drawEdge();
session.open();
