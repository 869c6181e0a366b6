// @ts-check
// Convergence maps (/convergence-map): a run from every cell of an n × n grid, coloured by the minimum it
// reaches (basins of attraction), the steps it took or its final loss; up to three optimizers side by side.
// Or a trainability map: two hyperparameters (lr × momentum, β₁ × lr, …) from one start. The map streams in
// bands of rows (stream kind "map", docs/protocol.md): Play computes it, Step one band, Reset clears it. All
// maths is the server's (app/ml/maps.py); this module only paints the cells it is sent.
import { embeddedRegistry } from "../client.js";
import { LiveSession, exposeHook } from "../live.js";
import { el } from "../controls.js";
import { formatNumber, plotlyLocale, t } from "../i18n.js";
import { colorbar, transformGrid, zScale } from "../plot.js";
import { copyLink } from "../share.js";
import { encodeState, readState, shareUrl, writeState } from "../state.js";
import { FONT, PALETTE } from "../theme.js";
import { MAX_PANELS, OUTCOME_COLORS, RESOLUTIONS, axisNames, basinScale, cellValues, fitAxes, mapRequest, mapSchema } from "./convergence-map-schema.js";

const registry = embeddedRegistry();
const surfaces = new Map(registry.surfaces.filter((/** @type {any} */ s) => s.dim === 2).map((/** @type {any} */ s) => [s.name, s]));
// maps take the first-order optimizers (one gradient a step); L-BFGS, SAM, Newton … are refused by the server
const optimizers = new Map(registry.optimizers.filter((/** @type {any} */ o) => !o.evaluating).map((/** @type {any} */ o) => [o.name, o]));
const SCHEMA = mapSchema([...surfaces.keys(), "custom"], optimizers.keys());
const state = readState(SCHEMA);
const save = () => writeState(SCHEMA, state);
const $ = (/** @type {string} */ id) => /** @type {any} */ (document.getElementById(id));
const ui = {
  form: $("form"), kind: $("kind"), surface: $("surface"), expression: $("expression"), expressionField: $("expression-field"),
  n: $("n"), steps: $("steps"), tolerance: $("tolerance"), show: $("show"), runs: $("runs"), addRun: $("add-run"),
  axes: $("axes"), startX: $("start-x"), startY: $("start-y"), panels: $("panels"), legend: $("legend"), title: $("map-title"),
  copy: $("copy-link"), link: $("share-url"),
};
const AXIS_FIELDS = ["name", "scale", "min", "max"];

/**
 * What the server said the map is (`started.map`) and the cells that have arrived, per panel.
 * @type {{header: any, panels: Array<{id: string, div: HTMLElement, summary: HTMLElement, rows: any}>, filled: number, summaries: any} | null}
 */
let map = null;
let pending = false;

// ------------------------------------------------------------------------------------------ drawing
function optimizerTitle(/** @type {string} */ name) {
  return optimizers.get(name)?.title ?? name;
}

function axisTitle(/** @type {any} */ axis) {
  if (axis.name === "x" || axis.name === "y") return axis.name;
  const [hp, part] = axis.name.split(".");
  const words = { lr: t("common.learning_rate"), "betas.0": "β₁", "betas.1": "β₂" };
  return words[axis.name] ?? (part === undefined ? hp : `${hp}[${part}]`);
}

/** Empty rows (null cells) for a map of n × n, filled as bands arrive. */
function emptyRows(/** @type {number} */ n) {
  const grid = () => Array.from({ length: n }, () => new Array(n).fill(null));
  return { basin: Array.from({ length: n }, () => new Array(n).fill(-4)), steps_taken: grid(), final_loss: grid() };
}

function layoutOf(/** @type {any} */ header, /** @type {number} */ index) {
  const axis = (/** @type {any} */ a, /** @type {boolean} */ first) => ({
    title: { text: first ? axisTitle(a) : "", standoff: 2 },
    type: a.scale === "log" ? "log" : "linear",
    exponentformat: "power",
    zeroline: false,
    showgrid: false,
    ticks: "outside",
    ticklen: 3,
    constrain: "domain",
  });
  return {
    ...plotlyLocale(),
    font: { ...FONT, size: 11 },
    margin: { l: 46, r: 8, t: 4, b: 38 },
    xaxis: axis(header.x, true),
    yaxis: { ...axis(header.y, index === 0), ...(header.kind === "basins" ? { scaleanchor: "x" } : {}) },
    plot_bgcolor: OUTCOME_COLORS.diverged,
    paper_bgcolor: "rgba(0,0,0,0)",
    showlegend: false,
  };
}

/** The heatmap trace of one panel for what `show` colours (steps and loss share one scale across panels). */
function heatmapOf(/** @type {any} */ panel, /** @type {any} */ scale) {
  const header = /** @type {any} */ (map).header;
  const values = cellValues(panel.rows, state.show);
  /** @type {any} */
  const trace = {
    type: "heatmap", x: header.x.values, y: header.y.values, hoverongaps: false, showscale: false,
    xgap: 0, ygap: 0, zsmooth: false,
  };
  if (state.show === "basin") {
    return { ...trace, z: values.map((row) => row.map((v) => (v < 0 ? null : v))), ...basinScale(header.surface.minima.length, PALETTE), hoverinfo: "x+y" };
  }
  const z = state.show === "final_loss" ? transformGrid({ z: values }, scale) : values;
  const zrange = state.show === "steps_taken" ? { zmin: 0, zmax: header.steps } : {};
  return { ...trace, z, colorscale: "Viridis", ...zrange, hovertemplate: "%{x}, %{y}: %{z}<extra></extra>" };
}

/** The known minima as markers in their basin's colour (basin maps over the view box only). */
function minimaTrace(/** @type {any} */ header) {
  const minima = header.surface.minima;
  return {
    type: "scatter", mode: "markers", x: minima.map((/** @type {number[]} */ m) => m[0]), y: minima.map((/** @type {number[]} */ m) => m[1]),
    marker: { symbol: "star", size: 14, color: "#ffffff", line: { color: "#1d2430", width: 1.5 } },
    hoverinfo: "skip", cliponaxis: false,
  };
}

function lossScale() {
  const panels = /** @type {any} */ (map).panels;
  return zScale({ z: panels.flatMap((/** @type {any} */ p) => cellValues(p.rows, "final_loss")) });
}

/** Redraw every panel once per animation frame, however many bands came in meanwhile. */
function schedule() {
  if (pending) return;
  pending = true;
  requestAnimationFrame(() => {
    pending = false;
    draw();
  });
}

function draw() {
  if (!map) return;
  const scale = state.show === "final_loss" ? lossScale() : null;
  map.panels.forEach((panel, i) => {
    const heatmap = heatmapOf(panel, scale);
    const last = i === map.panels.length - 1;
    if (state.show !== "basin" && last) {
      heatmap.showscale = true;
      heatmap.colorbar = state.show === "final_loss" && scale ? colorbar(scale) : { thickness: 10, title: { text: t("map.show.steps_taken"), side: "top" } };
    }
    const traces = map?.header.kind === "basins" ? [heatmap, minimaTrace(map.header)] : [heatmap];
    Plotly.react(panel.div, traces, layoutOf(map?.header, i), { responsive: true, displaylogo: false, displayModeBar: false });
  });
  drawLegend();
}

function swatch(/** @type {string} */ color, /** @type {string} */ text) {
  return el("li", {}, el("span", { class: "swatch", style: `background:${color}` }), text);
}

function drawLegend() {
  if (!map) return;
  const header = map.header;
  const items = [];
  if (state.show === "basin") {
    header.surface.minima.forEach((/** @type {number[]} */ m, /** @type {number} */ i) => {
      items.push(swatch(PALETTE[i % PALETTE.length], t("map.legend.minimum", { k: i + 1, point: t("common.point", { x: formatNumber(m[0], { digits: 3 }), y: formatNumber(m[1], { digits: 3 }) }) })));
    });
    items.push(swatch(OUTCOME_COLORS.other, t("map.legend.other")), swatch(OUTCOME_COLORS.not_converged, t("map.legend.not_converged")));
  }
  items.push(swatch(OUTCOME_COLORS.diverged, t("map.legend.diverged")));
  ui.legend.replaceChildren(...items);
}

/** A panel's counts in words, once the map is complete (or stopped). */
function summaryText(/** @type {any} */ s) {
  const parts = s.minima.map((/** @type {number} */ c, /** @type {number} */ i) => `★${i + 1}: ${formatNumber(c, { big: 1e9 })}`);
  const median = s.median_steps_to_converge === null ? "–" : formatNumber(s.median_steps_to_converge, { big: 1e9 });
  return t("map.summary", {
    minima: parts.join(" · ") || "–", other: s.other, not_converged: s.not_converged, diverged: s.diverged, converged: s.converged, median,
  });
}

function panelsFor(/** @type {any} */ header) {
  ui.panels.replaceChildren();
  ui.panels.dataset.count = String(header.runs.length);
  return header.runs.map((/** @type {any} */ run) => {
    const lr = run.hyperparameters.lr;
    const heading = header.kind === "basins" ? `${optimizerTitle(run.optimizer)}, ${t("map.lr_short")} = ${formatNumber(lr)}` : optimizerTitle(run.optimizer);
    const div = el("div", { class: "map-plot", role: "img", "aria-label": t("map.panel_label", { optimizer: optimizerTitle(run.optimizer) }) });
    const summary = el("p", { class: "small map-summary" });
    ui.panels.append(el("figure", { class: "map-panel", dataset: { run: run.id } }, el("figcaption", { text: heading }), div, summary));
    return { id: run.id, div, summary, rows: emptyRows(header.n) };
  });
}

// ------------------------------------------------------------------------------------------ the stream
const session = new LiveSession({
  name: "convergence-map",
  kind: "map",
  config: () => mapRequest(state),
  canStart: () => formValid,
  speed: { get: () => "max", set: () => {} },
  words: (status) => t(`map.status.${status}`),
  playAgain: t("map.compute_again"),
  on: {
    started: (msg) => {
      const header = msg.map;
      ui.title.textContent = t(`map.title.${header.kind}`);
      map = { header, panels: [], filled: 0, summaries: null };
      map.panels = panelsFor(header);
      draw();
    },
    map_rows: (msg) => {
      if (!map) return;
      for (const panel of map.panels) {
        const band = msg.maps[panel.id];
        for (const field of ["basin", "steps_taken", "final_loss"]) {
          band[field].forEach((/** @type {any[]} */ row, /** @type {number} */ i) => {
            panel.rows[field][msg.start + i] = row;
          });
        }
      }
      map.filled = msg.stop;
      session.say(t("map.status.filling", { rows: msg.stop, n: map.header.n }));
      schedule();
    },
    done: (msg) => {
      if (!map) return;
      map.summaries = msg.summaries;
      for (const panel of map.panels) panel.summary.textContent = summaryText(msg.summaries[panel.id]);
      schedule();
      if (!msg.stopped) session.embed.event("convergence-map", "done"); // before LiveSession's gdp:done
    },
    error: (msg) => session.say(t("map.error", { message: msg.message })),
  },
  onReset: () => {
    map = null;
    ui.panels.replaceChildren();
    ui.legend.replaceChildren();
  },
  embed: { query: () => encodeState(SCHEMA, state), height: 1000 },
});

// ------------------------------------------------------------------------------------------ controls
let formValid = true;

function fillSelect(/** @type {HTMLSelectElement} */ select, /** @type {Array<[string, string]>} */ options, /** @type {string} */ value) {
  select.replaceChildren(...options.map(([v, text]) => el("option", { value: v, text })));
  select.value = value;
}

function runRow(/** @type {any} */ run, /** @type {number} */ index) {
  const select = el("select", { "aria-label": t("map.optimizer_n", { n: index + 1 }) });
  fillSelect(select, [...optimizers.values()].map((o) => [o.name, o.title]), run.optimizer);
  const lr = el("input", { type: "number", step: "any", min: "0", value: String(run.hyperparameters.lr), "aria-label": t("map.lr_n", { n: index + 1 }), inputmode: "decimal" });
  const remove = el("button", { type: "button", class: "remove", "aria-label": t("descent.remove_run"), text: "×" });
  remove.disabled = state.runs.length <= 1;
  // a trainability axis over the learning rate sets it per cell: the panel's own lr does not apply
  const lrByAxis = state.kind === "trainability" && (state["x.name"] === "lr" || state["y.name"] === "lr");
  select.addEventListener("change", () => {
    const name = select.value;
    const taken = new Set(state.runs.map((/** @type {any} */ r) => r.id));
    taken.delete(run.id);
    let id = name;
    for (let k = 2; taken.has(id); k++) id = `${name}${k}`;
    const defaultLr = optimizers.get(name)?.hyperparameters.find((/** @type {any} */ h) => h.name === "lr")?.default ?? 0.01;
    state.runs[index] = { id, optimizer: name, hyperparameters: { lr: defaultLr } };
    changed();
  });
  lr.addEventListener("change", () => {
    const value = Number(lr.value);
    const ok = lr.value.trim() !== "" && Number.isFinite(value) && value > 0;
    lr.setAttribute("aria-invalid", String(!ok));
    if (ok) {
      state.runs[index] = { ...run, hyperparameters: { ...run.hyperparameters, lr: value } };
      changed();
    }
  });
  remove.addEventListener("click", () => {
    state.runs.splice(index, 1);
    changed();
  });
  const lrField = lrByAxis ? null : el("label", { class: "lr" }, el("span", { text: t("map.lr_short") }), lr);
  return el("div", { class: lrByAxis ? "map-run no-lr" : "map-run" }, select, lrField, remove);
}

/** The hyperparameters every panel's optimizer has, which a trainability axis may set. */
const allowedAxes = () => axisNames(state.runs.map((/** @type {any} */ r) => optimizers.get(r.optimizer)));

function fillControls() {
  ui.kind.value = state.kind;
  fillSelect(ui.surface, [...[...surfaces.values()].map((s) => /** @type {[string, string]} */ ([s.name, s.title])), ["custom", t("map.custom")]], state.surface);
  ui.expression.value = state.expression;
  ui.expressionField.hidden = state.surface !== "custom";
  fillSelect(ui.n, RESOLUTIONS.map((n) => [String(n), `${n} × ${n}`]), String(state.n));
  ui.steps.value = String(state.steps);
  ui.tolerance.value = String(state.tolerance);
  ui.show.value = state.show;
  ui.runs.replaceChildren(...state.runs.map(runRow));
  ui.addRun.hidden = state.runs.length >= MAX_PANELS;
  ui.axes.hidden = state.kind !== "trainability";
  const names = allowedAxes();
  for (const axis of ["x", "y"]) {
    fillSelect($(`${axis}-name`), names.map((n) => [n, axisTitle({ name: n })]), state[`${axis}.name`]);
    $(`${axis}-scale`).value = state[`${axis}.scale`];
    $(`${axis}-min`).value = String(state[`${axis}.min`]);
    $(`${axis}-max`).value = String(state[`${axis}.max`]);
  }
  ui.startX.value = String(state.start[0]);
  ui.startY.value = String(state.start[1]);
}

/** Read the typed fields; mark what is refused. True when every field can be sent. */
function readForm() {
  const number = (/** @type {HTMLInputElement} */ input, /** @type {(v: number) => boolean} */ ok) => {
    const v = Number(input.value);
    const good = input.value.trim() !== "" && Number.isFinite(v) && ok(v);
    input.setAttribute("aria-invalid", String(!good));
    return good ? v : null;
  };
  const steps = number(ui.steps, (v) => Number.isInteger(v) && v >= 1 && v <= 5000);
  const tolerance = number(ui.tolerance, (v) => v >= 0 && v <= 1);
  const sx = number(ui.startX, () => true);
  const sy = number(ui.startY, () => true);
  const bounds = ["x", "y"].flatMap((axis) => ["min", "max"].map((b) => [`${axis}.${b}`, number($(`${axis}-${b}`), () => true)]));
  const valid = steps !== null && tolerance !== null && sx !== null && sy !== null && bounds.every(([, v]) => v !== null);
  if (valid) {
    Object.assign(state, { steps, tolerance, start: [sx, sy], ...Object.fromEntries(bounds) });
  }
  Object.assign(state, { kind: ui.kind.value, surface: ui.surface.value, expression: ui.expression.value, n: Number(ui.n.value), show: ui.show.value });
  for (const axis of ["x", "y"]) {
    state[`${axis}.name`] = $(`${axis}-name`).value || state[`${axis}.name`];
    state[`${axis}.scale`] = $(`${axis}-scale`).value;
  }
  Object.assign(state, fitAxes(state, allowedAxes()));
  return valid;
}

/** After any change of what the map is: keep the state and the URL, show the controls anew, clear the map. */
function changed() {
  formValid = readForm();
  save();
  fillControls();
  session.reset();
  if (!formValid) session.say(t("map.invalid"));
}

function bindControls() {
  ui.form.addEventListener("submit", (/** @type {Event} */ e) => e.preventDefault());
  for (const input of [ui.kind, ui.surface, ui.n, ui.steps, ui.tolerance, ui.expression, ui.startX, ui.startY]) input.addEventListener("change", changed);
  for (const axis of ["x", "y"]) for (const field of AXIS_FIELDS) $(`${axis}-${field}`).addEventListener("change", changed);
  ui.show.addEventListener("change", () => {
    state.show = ui.show.value;
    save();
    draw();
  });
  ui.addRun.addEventListener("click", () => {
    const next = ["sgd", "momentum", "adam", "rmsprop"].find((name) => !state.runs.some((/** @type {any} */ r) => r.id === name)) ?? "adam";
    const lr = optimizers.get(next)?.hyperparameters.find((/** @type {any} */ h) => h.name === "lr")?.default ?? 0.01;
    state.runs.push({ id: next, optimizer: next, hyperparameters: { lr } });
    changed();
  });
  ui.copy.addEventListener("click", () => copyLink(shareUrl(SCHEMA, state), ui.copy, ui.link));
}

// Read-only hooks for the browser tests.
exposeHook("map", {
  status: () => session.status,
  filled: () => map?.filled ?? 0,
  n: () => map?.header.n ?? 0,
  /** The z values the heatmap of panel `i` holds right now, and its size. */
  heatmap: (/** @type {number} */ i) => {
    const div = /** @type {any} */ (map?.panels[i]?.div);
    const trace = div?.data?.[0];
    return trace ? { type: trace.type, rows: trace.z.length, columns: trace.z[0]?.length ?? 0, z: trace.z } : null;
  },
  summaries: () => map?.summaries ?? null,
  state: () => structuredClone(state),
});

Object.assign(state, fitAxes(state, allowedAxes())); // a URL's axes the panels cannot take
fillControls();
bindControls();
save();
session.open().then(() => session.play());
