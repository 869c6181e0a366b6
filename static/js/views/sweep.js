// @ts-check
// The learning-rate sweep view (/sweep): one optimizer at N log-spaced learning rates on one surface, streamed
// live as one race by a LiveSession with the Run / Pause / Stop transport; small multiples (contour drawn once +
// a path overlay), final loss vs learning rate, and a results table.
//
// URL keys: optimizer, hyperparameters (alias hp: the optimizer's other hyperparameters), surface, steps, start
// and speed are the `start` config's names; n, lo and hi (how many learning rates, the lowest and the highest)
// are the sweep's own: the config has one run per rate, `runs[i].hyperparameters.lr`.

import { curvature, embeddedRegistry, surfaceGrid } from "../client.js";
import { curvatureErrorText, stabilityEdge } from "../curvature.js";
import { LiveSession, exposeHook } from "../live.js";
import { learningRates } from "../rates.js";
import { el } from "../controls.js";
import { ContourWithOverlay, thin } from "../plot.js";
import { FONT, MUTED_TEXT, PALETTE, SPEED_CHOICES, colorOf } from "../theme.js";
import { errorText, formatNumber, plotlyLocale, t } from "../i18n.js";
import { encodeState, readState, shareUrl, writeState } from "../state.js";
import { copyLink } from "../share.js";

const registry = embeddedRegistry();
const surfaces = registry.surfaces.filter((s) => s.dim === 2);
const optimizers = registry.optimizers;
const SPEEDS = SPEED_CHOICES.sweep;

const SCHEMA = {
  optimizer: { type: "string", default: "momentum", validate: (v) => optimizers.some((o) => o.name === v) },
  hyperparameters: { aliases: ["hp"], type: "json", default: {}, validate: (v) => v && typeof v === "object" && !Array.isArray(v) },
  surface: { type: "string", default: "rosenbrock", validate: (v) => surfaces.some((s) => s.name === v) },
  n: { type: "int", default: 8, validate: (v) => v >= 2 && v <= 24 },
  lo: { type: "number", default: 0.0001, validate: (v) => v > 0 && v <= 1000 },
  hi: { type: "number", default: 0.1, validate: (v) => v > 0 && v <= 1000 },
  steps: { type: "int", default: 500, validate: (v) => v >= 10 && v <= 5000 },
  start: { type: "numbers", default: null, validate: (v) => v.length === 2 },
  speed: { type: "string", default: "120", validate: (v) => SPEEDS.includes(v) },
};
/** @type {Record<string, any>} */
const state = readState(SCHEMA);

// Okabe–Ito (theme.js), cycled over the learning rates (low → high); the end reasons take fixed ones.
const CONVERGED = PALETTE[2];
const MAX_STEPS = PALETTE[0];
const DIVERGED = PALETTE[1];
const INK = FONT.color;
const REASON_TEXT = {
  converged: t("end.converged"), max_steps: t("sweep.end.max_steps"), diverged: t("end.diverged"),
  left_view: t("end.left_view"), stopped: t("end.stopped"),
};

const $ = (/** @type {string} */ id) => /** @type {any} */ (document.getElementById(id));
const fmt = (v, digits = 3) => formatNumber(v, { digits, big: 1e4, expDigits: digits - 1, plus: false });
const lrListText = (lrs) => t("sweep.lr_list", { n: lrs.length, list: lrs.map((v) => fmt(v)).join(t("common.list_sep")) });

// ---- the sweep in progress --------------------------------------------------------------------------------
/** @type {any} */
let sweep = null; // {runs: [{id, lr, color}], data: {id: {x, y, loss, step}}, ended: {id: event}, surface, done}
let frameRequested = false;
let lastOverlay = 0;
let lastTable = 0;
const dirtyPaths = new Set();
let finalDirty = false;

// ---- form ---------------------------------------------------------------------------------------------------
function optimizerSpec(name = state.optimizer) {
  return optimizers.find((o) => o.name === name);
}

function buildForm() {
  $("optimizer").replaceChildren(...optimizers.map((o) => el("option", { value: o.name, text: `${o.title} (${o.name})` })));
  $("surface").replaceChildren(...surfaces.map((s) => el("option", { value: s.name, text: s.title })));
  $("optimizer").value = state.optimizer;
  $("surface").value = state.surface;
  $("n").value = state.n;
  $("lo").value = state.lo;
  $("hi").value = state.hi;
  $("steps").value = state.steps;
  $("start-x").value = state.start ? state.start[0] : "";
  $("start-y").value = state.start ? state.start[1] : "";
  buildHyperparameters();
  showStartPlaceholder();
  showLearningRates();
}

function buildHyperparameters() {
  const fieldset = $("hyperparameters");
  for (const node of [...fieldset.querySelectorAll(".stack")]) node.remove();
  for (const spec of optimizerSpec().hyperparameters) {
    if (spec.name === "lr") continue;
    const value = state.hyperparameters[spec.name] ?? spec.default;
    const label = document.createElement("label");
    label.className = spec.kind === "bool" ? "stack check" : "stack";
    label.title = spec.description ?? "";
    const input = document.createElement(spec.kind === "choice" ? "select" : "input");
    input.name = `hp-${spec.name}`;
    input.dataset.hp = spec.name;
    input.dataset.kind = spec.kind;
    if (input instanceof HTMLSelectElement) {
      for (const choice of spec.choices ?? []) {
        input.append(new Option(choice === null ? t("controls.choice_none") : choice, choice ?? "", false, choice === value));
      }
      label.append(document.createTextNode(spec.name), input);
    } else if (spec.kind === "bool") {
      input.type = "checkbox";
      input.checked = Boolean(value);
      label.append(input, document.createTextNode(` ${spec.name}`));
    } else {
      input.type = spec.kind === "pair" ? "text" : "number";
      if (spec.kind === "float") {
        input.step = "any";
        if (spec.minimum !== null) input.min = spec.minimum;
        if (spec.maximum !== null) input.max = spec.maximum;
      }
      input.value = spec.kind === "pair" ? value.join(", ") : (value ?? "");
      if (value === null) input.placeholder = t("controls.default_value");
      label.append(document.createTextNode(spec.name), input);
    }
    fieldset.appendChild(label);
  }
}

function showStartPlaceholder() {
  const surface = surfaces.find((s) => s.name === state.surface);
  $("start-x").placeholder = t("sweep.default_value", { value: fmt(surface.start[0], 4) });
  $("start-y").placeholder = t("sweep.default_value", { value: fmt(surface.start[1], 4) });
}

function showLearningRates() {
  const lrs = learningRates(state.n, Math.min(state.lo, state.hi), Math.max(state.lo, state.hi));
  $("lr-list").textContent = lrListText(lrs);
}

/** Read the form into `state`; returns an error sentence, or null. */
function readForm() {
  const num = (id) => ($(id).value.trim() === "" ? null : Number($(id).value));
  state.optimizer = $("optimizer").value;
  state.surface = $("surface").value;
  const n = num("n");
  const lo = num("lo");
  const hi = num("hi");
  const steps = num("steps");
  if (!Number.isInteger(n) || n < 2 || n > 24) return t("sweep.error.n");
  if (!(lo > 0) || !(hi > 0) || lo > 1000 || hi > 1000) return t("sweep.error.lr");
  if (!Number.isInteger(steps) || steps < 10 || steps > 5000) return t("sweep.error.steps");
  Object.assign(state, { n, lo: Math.min(lo, hi), hi: Math.max(lo, hi), steps });
  const sx = num("start-x");
  const sy = num("start-y");
  if ((sx === null) !== (sy === null)) return t("sweep.error.start_both");
  if (sx !== null && (!Number.isFinite(sx) || !Number.isFinite(sy))) return t("sweep.error.start_numbers");
  state.start = sx === null ? null : [sx, sy];
  const hp = {};
  for (const input of $("hyperparameters").querySelectorAll("input[data-hp], select[data-hp]")) {
    const spec = optimizerSpec().hyperparameters.find((h) => h.name === input.dataset.hp);
    let value;
    if (input instanceof HTMLSelectElement) value = input.value === "" ? null : input.value;
    else if (spec.kind === "bool") value = input.checked;
    else if (spec.default === null && input.value.trim() === "") value = null;
    else if (spec.kind === "pair") {
      value = input.value.split(",").map((s) => Number(s.trim()));
      if (value.length !== 2 || !value.every(Number.isFinite)) return t("sweep.error.pair", { name: spec.name });
    } else {
      value = Number(input.value);
      if (input.value.trim() === "" || !Number.isFinite(value)) return t("sweep.error.number", { name: spec.name });
    }
    if (JSON.stringify(value) !== JSON.stringify(spec.default)) hp[spec.name] = value;
  }
  state.hyperparameters = hp;
  return null;
}

function showFormError(text) {
  const el = $("form-error");
  el.hidden = !text;
  el.textContent = text ?? "";
}

function config() {
  const lrs = learningRates(state.n, state.lo, state.hi);
  const body = {
    surface: state.surface,
    steps: state.steps,
    runs: lrs.map((lr, i) => ({ id: `lr${i}`, optimizer: state.optimizer, hyperparameters: { ...state.hyperparameters, lr } })),
  };
  if (state.start) body.start = state.start;
  return { body, lrs };
}

// ---- small multiples --------------------------------------------------------------------------------------
// One plot.js ContourWithOverlay per learning rate (`small`: static, no axes or colour bar; its height is
// .stacked's in learning_rate.css), all on the same surface grid, fetched once.
async function buildMultiples(lrs) {
  const container = $("multiples");
  container.replaceChildren();
  const surfaceInfo = await surfaceGrid(state.surface, { grid: 70 });
  sweep.surface = surfaceInfo;
  await askEdge(state.start ?? surfaceInfo.start);
  const drawn = sweep.runs.map((run, i) => {
    const panel = el(
      "article",
      { class: "multiple card", dataset: { run: run.id } },
      el("h3", {}, el("span", { class: "lr", text: `lr = ${fmt(lrs[i])}` }), el("span", { class: "badge", dataset: { field: "badge" }, text: t("common.running") })),
      el(
        "div",
        { class: "stacked", role: "img", "aria-label": t("sweep.path_label", { lr: fmt(lrs[i]) }) },
        el("div", { class: "plot-base" }),
        el("div", { class: "plot-overlay", "aria-hidden": "true" }),
      ),
    );
    panel.style.setProperty("--c", run.color);
    container.appendChild(panel);
    run.panel = panel;
    run.figure = new ContourWithOverlay(panel.querySelector(".stacked"), { small: true });
    return run.figure.drawSurface(surfaceInfo).then(() => run.figure.drawOverlay(overlayTraces(run)));
  });
  await Promise.all(drawn);
}

function overlayTraces(run) {
  const d = sweep.data[run.id];
  const { x, y } = thin(d.x, d.y, 1500, 400);
  const n = d.x.length;
  const end = sweep.ended[run.id];
  const diverged = end?.reason === "diverged";
  return [
    { type: "scatter", meta: "path", x, y, mode: "lines", line: { color: run.color, width: 2 }, hoverinfo: "skip" },
    {
      type: "scatter", meta: "start", x: n ? [d.x[0]] : [], y: n ? [d.y[0]] : [], mode: "markers", hoverinfo: "skip",
      marker: { color: "#fff", size: 7, line: { color: INK, width: 1.5 } },
    },
    {
      type: "scatter", meta: "current", x: n ? [d.x[n - 1]] : [], y: n ? [d.y[n - 1]] : [], mode: "markers", hoverinfo: "skip",
      marker: diverged
        ? { symbol: "x", size: 11, color: DIVERGED, line: { width: 1 } }
        : { size: 8, color: run.color, line: { color: INK, width: 1 } },
    },
  ];
}

// ---- the edge 2/λmax at the start (the server's exact Hessian there), drawn on the learning-rate axis ----
async function askEdge(start) {
  const note = $("edge-note");
  try {
    const answer = await curvature(state.surface, start);
    sweep.edge = { start, lambdaMax: answer.lambda_max, edge: stabilityEdge(answer.lambda_max) };
    note.textContent = sweep.edge.edge === null
      ? t("sweep.edge.none", { lambda: fmt(answer.lambda_max) })
      : t("sweep.edge.note", { lambda: fmt(answer.lambda_max) });
  } catch (error) {
    sweep.edge = null;
    note.textContent = curvatureErrorText(error, t);
  }
  note.hidden = false;
}

// ---- final loss vs learning rate --------------------------------------------------------------------------
function finalPoints() {
  const points = { converged: [], max_steps: [], diverged: [], left_view: [], stopped: [] };
  for (const run of sweep?.runs ?? []) {
    const e = sweep.ended[run.id];
    if (e) points[e.reason]?.push({ lr: run.lr, loss: e.summary?.final_loss ?? null, run });
  }
  return points;
}

function bestRun() {
  let best = null;
  for (const run of sweep?.runs ?? []) {
    const e = sweep.ended[run.id];
    if (!e || e.reason === "diverged" || e.reason === "left_view" || e.reason === "stopped") continue;
    const loss = e.summary.final_loss;
    const steps = e.summary.steps_taken;
    if (!best || loss < best.loss - 1e-15 || (Math.abs(loss - best.loss) <= 1e-15 && steps < best.steps)) {
      best = { id: run.id, lr: run.lr, loss, steps, event: e.reason };
    }
  }
  return best;
}

// Not a plot.js LossPlot: that is loss against step as growing lines; this is one end point per run, log-log
// over learning rate, with diverged runs pinned to a row above the rest and runs that left the view downhill
// (their loss may be negative, off a log axis) to a row below it.
function finalFigure() {
  const p = finalPoints();
  const finite = [...p.converged, ...p.max_steps, ...p.stopped].map((q) => Math.max(q.loss, 1e-30));
  const startLoss = sweep?.data.lr0?.loss[0] ?? 1;
  const top = Math.max(startLoss, ...finite, 1e-12) * 30;
  const low = Math.min(top / 1e3, ...finite) / 5;
  const lrs = sweep?.runs.map((r) => r.lr) ?? [1e-4, 1];
  const edge = sweep?.edge?.edge ?? null;
  const axisLrs = edge === null ? lrs : [...lrs, edge]; // the line stays on the axis
  const marker = (color, symbol) => ({ color, symbol, size: 10, line: { color: INK, width: 1 } });
  const trace = (name, pts, color, symbol, y) => ({
    name, type: "scatter", mode: "markers", x: pts.map((q) => q.lr), y: y ?? pts.map((q) => Math.max(q.loss, 1e-30)),
    marker: marker(color, symbol), hovertemplate: `lr %{x:.3g}<br>${name}<br>${t("common.final_loss")} %{y:.3g}<extra></extra>`,
  });
  /** @type {any[]} */
  const traces = [
    trace(REASON_TEXT.converged, p.converged, CONVERGED, "circle"),
    trace(REASON_TEXT.max_steps, p.max_steps, MAX_STEPS, "circle-open"),
    trace(REASON_TEXT.stopped, p.stopped, "#999999", "square-open"),
    {
      name: REASON_TEXT.diverged, meta: "diverged", type: "scatter", mode: "markers", x: p.diverged.map((q) => q.lr),
      y: p.diverged.map(() => top),
      marker: { symbol: "x-thin", size: 14, color: DIVERGED, line: { color: DIVERGED, width: 3 } },
      hovertemplate: `lr %{x:.3g}<br>${REASON_TEXT.diverged}<extra></extra>`,
    },
    {
      name: REASON_TEXT.left_view, meta: "left_view", type: "scatter", mode: "markers", x: p.left_view.map((q) => q.lr),
      y: p.left_view.map(() => low), marker: marker(MAX_STEPS, "triangle-down"),
      hovertemplate: `lr %{x:.3g}<br>${REASON_TEXT.left_view}<extra></extra>`,
    },
  ];
  if (edge !== null) {
    traces.push({
      name: t("sweep.edge.label", { edge: fmt(edge) }), meta: "edge", type: "scatter", mode: "lines", x: [edge, edge],
      y: [low, top * 3], line: { color: "#b3261e", width: 2, dash: "dash" }, hoverinfo: "skip", showlegend: false,
    });
  }
  const best = bestRun();
  /** @type {any[]} */
  const annotations = [
    {
      xref: "paper", yref: "y", x: 1, y: Math.log10(top), yshift: 12, showarrow: false, xanchor: "right",
      text: `${REASON_TEXT.diverged} ✕`, font: { color: DIVERGED, size: 11 },
    },
  ];
  if (edge !== null) {
    annotations.push({
      x: Math.log10(edge), y: Math.log10(low), yanchor: "bottom", xanchor: "left", xshift: 3, showarrow: false,
      text: t("sweep.edge.label", { edge: fmt(edge) }), font: { color: "#b3261e", size: 11 }, bgcolor: "rgba(255,255,255,0.8)",
    });
  }
  if (best && sweep.done) {
    annotations.push({
      x: Math.log10(best.lr), y: Math.log10(Math.max(best.loss, 1e-30)), text: t("sweep.best"), showarrow: true,
      arrowhead: 2, ax: 0, ay: -30, font: { color: "#00765a", size: 12 }, arrowcolor: "#00765a",
    });
  }
  const layout = {
    ...plotlyLocale(),
    margin: { l: 56, r: 14, t: 22, b: 44 },
    paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "#fff",
    font: { ...FONT, size: 11, color: MUTED_TEXT },
    xaxis: {
      type: "log", title: { text: t("common.learning_rate") }, gridcolor: "#eef2f6", exponentformat: "power",
      range: [Math.log10(Math.min(...axisLrs)) - 0.2, Math.log10(Math.max(...axisLrs)) + 0.2],
    },
    yaxis: {
      type: "log", title: { text: t("common.final_loss") }, gridcolor: "#eef2f6", exponentformat: "power",
      range: [Math.log10(low) - (p.left_view.length ? 0.5 : 0), Math.log10(top) + 0.5],
    },
    legend: { orientation: "h", y: -0.3, x: 0, font: { size: 11 } },
    annotations,
  };
  return { traces, layout };
}

// ---- table ------------------------------------------------------------------------------------------------
function renderTable() {
  const best = sweep.done ? bestRun() : null;
  const rows = sweep.runs.map((run) => {
    const e = sweep.ended[run.id];
    const d = sweep.data[run.id];
    const isBest = best && best.id === run.id;
    const reason = e ? REASON_TEXT[e.reason] ?? e.reason : t("common.running_ellipsis");
    const steps = e ? e.summary?.steps_taken ?? e.step : Math.max(d.x.length - 1, 0);
    const loss = e ? e.summary?.final_loss : d.loss[d.loss.length - 1];
    return el(
      "tr",
      { dataset: { run: run.id }, class: isBest ? "best" : "" },
      el("td", { text: `${fmt(run.lr)}${isBest ? ` ★ ${t("sweep.best")}` : ""}` }),
      el("td", { class: e?.reason ?? "", text: reason }),
      el("td", { text: String(steps) }),
      el("td", { text: e?.reason === "diverged" ? `∞ (${REASON_TEXT.diverged})` : fmt(loss) }),
    );
  });
  $("results").querySelector("tbody").replaceChildren(...rows);
  for (const run of sweep.runs) run.panel?.classList.toggle("best", Boolean(best && best.id === run.id));
  if (best) {
    const how = best.event === "converged" ? t("sweep.how.converged", { n: best.steps }) : t("sweep.how.loss", { loss: fmt(best.loss) });
    $("best").textContent = t("sweep.best_line", { lr: fmt(best.lr), how });
    $("best").dataset.lr = String(best.lr);
  } else if (sweep.done) {
    $("best").textContent = t("sweep.best_none");
  } else {
    $("best").textContent = t("sweep.best_running");
  }
}

// ---- drawing ----------------------------------------------------------------------------------------------
function draw(now) {
  frameRequested = false;
  if (!sweep) return;
  if (dirtyPaths.size && (now - lastOverlay > 110 || sweep.done || session.status === "paused")) {
    lastOverlay = now;
    for (const id of dirtyPaths) {
      const run = sweep.runs.find((r) => r.id === id);
      if (run?.figure) run.figure.drawOverlay(overlayTraces(run));
    }
    dirtyPaths.clear();
    if (now - lastTable > 300) {
      lastTable = now;
      renderTable(); // steps and loss of the runs still going, a few times a second
    }
  }
  if (finalDirty) {
    const { traces, layout } = finalFigure();
    Plotly.react($("final-plot"), traces, layout, { displayModeBar: false, responsive: true });
    renderTable();
    finalDirty = false;
  }
  if (dirtyPaths.size) requestDraw();
}

function requestDraw() {
  if (frameRequested) return;
  frameRequested = true;
  requestAnimationFrame(draw);
}

// ---- the session ------------------------------------------------------------------------------------------
/** Read the form and draw the empty multiples of a new sweep; false when the form says no. */
async function prepareSweep() {
  const error = readForm();
  showFormError(error);
  if (error) return false;
  save();
  showLearningRates();
  const lrs = learningRates(state.n, state.lo, state.hi);
  sweep = {
    runs: lrs.map((lr, i) => ({ id: `lr${i}`, lr, color: colorOf(i) })),
    data: Object.fromEntries(lrs.map((_, i) => [`lr${i}`, { x: [], y: [], loss: [], step: [] }])),
    ended: {},
    done: false,
  };
  session.say(t("sweep.status.drawing"));
  try {
    await buildMultiples(lrs);
  } catch (err) {
    showFormError(err.message);
    return false;
  }
  finalDirty = true;
  requestDraw();
  return true;
}

const save = () => writeState(SCHEMA, state);

const session = new LiveSession({
  name: "sweep",
  config: () => config().body,
  prepare: prepareSweep,
  stopOnReset: true,
  speed: { get: () => state.speed, set: (speed) => { state.speed = speed; save(); }, choices: SPEEDS },
  words: (status) => {
    if (status === "running") return sweep ? t("sweep.status.sweeping_n", { n: sweep.runs.length }) : t("sweep.status.sweeping");
    if (status === "paused") return t("common.paused");
    if (status === "finished") {
      const best = bestRun();
      return best ? t("sweep.status.done_best", { lr: fmt(best.lr) }) : t("sweep.status.done");
    }
    return t("sweep.status.ready");
  },
  on: {
    steps: (msg) => {
      if (!sweep) return;
      for (const [id, cols] of Object.entries(msg.runs)) {
        const d = sweep.data[id];
        if (!d) continue;
        for (const c of ["x", "y", "loss", "step"]) d[c].push(...cols[c]);
        dirtyPaths.add(id);
        if (d.step.length) session.embed.step(id, d.step[d.step.length - 1]);
      }
      requestDraw();
    },
    event: (msg) => {
      if (!sweep) return;
      sweep.ended[msg.run] = msg;
      const run = sweep.runs.find((r) => r.id === msg.run);
      if (run?.panel) {
        run.panel.dataset.end = msg.reason;
        const badge = run.panel.querySelector("[data-field=badge]");
        badge.textContent = badge.title = REASON_TEXT[msg.reason] ?? msg.reason;
      }
      dirtyPaths.add(msg.run);
      finalDirty = true;
      requestDraw();
    },
    done: () => {
      if (!sweep) return;
      sweep.done = true;
      finalDirty = true;
      for (const run of sweep.runs) dirtyPaths.add(run.id);
      requestDraw();
    },
    error: (msg) => {
      showFormError(t("sweep.error.server", { message: `${errorText(msg)}${msg.field ? ` (${msg.field})` : ""}` }));
      if (msg.code === "invalid_config" && session.active) session.setStatus("idle", t("sweep.status.fix"));
    },
  },
  embed: { set: setFromHost, query: () => encodeState(SCHEMA, state), height: 1600 },
});

function wireControls() {
  $("optimizer").addEventListener("change", () => {
    state.optimizer = $("optimizer").value;
    state.hyperparameters = {};
    buildHyperparameters();
  });
  $("surface").addEventListener("change", () => {
    state.surface = $("surface").value;
    state.start = null;
    $("start-x").value = "";
    $("start-y").value = "";
    showStartPlaceholder();
  });
  for (const id of ["n", "lo", "hi"]) {
    $(id).addEventListener("input", () => {
      const n = Number($("n").value);
      const lo = Number($("lo").value);
      const hi = Number($("hi").value);
      if (Number.isInteger(n) && n >= 2 && n <= 24 && lo > 0 && hi > 0) {
        $("lr-list").textContent = lrListText(learningRates(n, Math.min(lo, hi), Math.max(lo, hi)));
      }
    });
  }
  $("copy-link").addEventListener("click", () => {
    const error = readForm();
    showFormError(error);
    if (error) return;
    save();
    copyLink(shareUrl(SCHEMA, state), $("copy-link"), $("share-url"));
  });
}

// Read-only hook for the end-to-end tests.
exposeHook("sweep", {
  runs: () => sweep?.runs.map((/** @type {any} */ r) => ({ id: r.id, lr: r.lr })) ?? [],
  points: (/** @type {string} */ id) => sweep?.data[id]?.x.length ?? 0,
  ended: (/** @type {string} */ id) => sweep?.ended[id]?.reason ?? null,
  endedCount: () => Object.keys(sweep?.ended ?? {}).length,
  finalPlotPoints: () => {
    const data = $("final-plot").data ?? [];
    const runs = data.filter((/** @type {any} */ trace) => trace.meta !== "edge"); // one point per ended run
    return runs.reduce((/** @type {number} */ sum, /** @type {any} */ trace) => sum + (trace.x?.length ?? 0), 0);
  },
  edge: () => (sweep?.edge ? { ...sweep.edge } : null), // {start, lambdaMax, edge = 2/λmax}
  edgeLine: () => ($("final-plot").data ?? []).find((/** @type {any} */ trace) => trace.meta === "edge")?.x ?? null,
  finalPlotDiverged: () => ($("final-plot").data ?? []).find((/** @type {any} */ trace) => trace.meta === "diverged")?.x.length ?? 0,
  best: () => (sweep?.done ? bestRun() : null),
  state: () => ({
    connected: session.connected,
    running: session.active,
    paused: session.status === "paused",
    status: session.status,
    done: sweep?.done ?? false,
    settings: structuredClone(state),
  }),
});

// The controller a host page drives through embed.js (play, pause, step and reset are the session's: reset
// stops the sweep); set() changes the optimizer's other hyperparameters for the next run (the learning rate is
// what the sweep varies: lo/hi).
function setFromHost(/** @type {string | null} */ _run, /** @type {Record<string, unknown>} */ hyperparameters) {
  const { lr: _swept, ...rest } = hyperparameters;
  state.hyperparameters = { ...state.hyperparameters, ...rest };
  buildForm();
  save();
}

buildForm();
wireControls();
session.open();
