// @ts-check
// The notebook widget's front end (app/widget): the web app's own figures (plot.js) in a notebook cell,
// fed by custom messages from the kernel, which runs app.ml and owns the runs. app/widget/bundle.py inlines
// this module's imports into one string for anywidget; `Plotly` is declared by that bundle's preamble and
// filled with the plotly package's plotly.min.js, sent by the kernel on request (no CDN, works offline).
import { ContourWithOverlay, LossPlot, thin } from "./plot.js";
import { colorOf } from "./theme.js";
import { formatNumber, t, useCatalog } from "./i18n.js";

/** @typedef {{ id: string, color: string, cols: Record<string, any[]>, end: any, lr: number }} WidgetRun */

/** Steps (wire columns per run, as the web stream sends them) appended to each run's columns. */
export function appendColumns(/** @type {Map<string, WidgetRun>} */ runs, /** @type {Record<string, Record<string, any[]>>} */ columns) {
  for (const [id, cols] of Object.entries(columns)) {
    const run = runs.get(id);
    if (!run) continue;
    for (const [name, values] of Object.entries(cols)) {
      const target = run.cols[name] ?? (run.cols[name] = []);
      for (const v of values) target.push(v);
    }
  }
}

/** @type {Promise<void> | null} */
let plotlyReady = null;

/** Plotly from the kernel, evaluated once per page as a CommonJS module (window.Plotly is left as it was). */
function loadPlotly(model) {
  if (plotlyReady) return plotlyReady;
  plotlyReady = new Promise((resolve) => {
    const onMessage = (message) => {
      if (message?.type !== "plotly") return;
      model.off("msg:custom", onMessage);
      const previous = /** @type {any} */ (window).Plotly;
      const module = { exports: {} };
      new Function("module", "exports", message.source)(module, module.exports);
      // `Plotly` is the bundle's own binding here (app/widget/live.py PREAMBLE), a page global elsewhere
      // @ts-ignore
      Plotly = module.exports; // eslint-disable-line no-global-assign
      /** @type {any} */ (window).Plotly = previous;
      resolve();
    };
    model.on("msg:custom", onMessage);
    model.send({ type: "plotly" });
  });
  return plotlyReady;
}

/** An element with attributes and children. */
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  node.append(...children);
  return node;
}

/** The surface view: transport and learning rates above, contour with live paths and loss plot below. */
async function renderSurface(model, root) {
  const setup = model.get("setup");
  /** @type {Map<string, WidgetRun>} */
  const runs = new Map(setup.runs.map((r, i) => [r.id, { id: r.id, color: colorOf(i), cols: {}, end: null, lr: r.hyperparameters.lr }]));
  const play = el("button", { type: "button", class: "gdp-play" }, t("common.play"));
  const step = el("button", { type: "button", class: "gdp-step" }, t("common.step"));
  const status = el("span", { class: "gdp-status", role: "status" });
  const lrs = el("div", { class: "gdp-runs" });
  for (const run of runs.values()) {
    const input = el("input", { type: "number", step: "any", min: "0", value: run.lr, "data-run": run.id, "aria-label": `${run.id} ${t("common.learning_rate")}` });
    input.addEventListener("change", () => model.send({ type: "lr", run: run.id, value: Number(input.value) }));
    lrs.append(el("label", { class: "gdp-run" }, el("span", { class: "gdp-swatch", style: `background:${run.color}` }), `${run.id} · ${t("common.learning_rate")}`, input));
  }
  const contourBox = el("div", { class: "contour" }, el("div", { class: "plot-base" }), el("div", { class: "plot-overlay", "aria-hidden": "true" }));
  const lossBox = el("div", { class: "loss" });
  root.append(el("div", { class: "gdp-controls" }, play, step, status), lrs, el("div", { class: "gdp-figures" }, contourBox, lossBox));
  play.addEventListener("click", () => model.send({ type: model.get("playing") ? "pause" : "play" }));
  step.addEventListener("click", () => model.send({ type: "step" }));

  await loadPlotly(model);
  const contour = new ContourWithOverlay(contourBox);
  const loss = new LossPlot(lossBox);
  await contour.drawSurface(setup.surface);
  const [sx, sy] = setup.surface.start;

  let dirty = true;
  let frame = 0;
  const draw = () => {
    frame = 0;
    if (!dirty) return;
    dirty = false;
    /** @type {any[]} */
    const traces = [{ type: "scatter", mode: "markers", x: [sx], y: [sy], meta: "start", marker: { symbol: "x-thin", size: 14, line: { width: 3, color: "#1d2430" } } }];
    const series = [];
    for (const run of runs.values()) {
      const c = run.cols;
      if (!c.x?.length) continue;
      const path = thin(c.x, c.y);
      traces.push({ type: "scatter", mode: "lines", x: path.x, y: path.y, meta: "path", line: { color: run.color, width: 2.5 } });
      const n = c.x.length;
      traces.push({ type: "scatter", mode: "markers", x: [c.x[n - 1]], y: [c.y[n - 1]], meta: "current", marker: { size: 12, color: run.color, line: { color: "#fff", width: 2 }, symbol: run.end?.reason === "diverged" ? "x" : "circle" } });
      const curve = thin(c.step, c.loss, 600, 150);
      series.push({ name: run.id, color: run.color, x: curve.x, y: curve.y });
    }
    contour.drawOverlay(traces);
    loss.draw(series);
    const last = [...runs.values()].map((r) => {
      const n = r.cols.step?.length ?? 0;
      const tail = r.end ? t(`end.${r.end.reason}`) : `${t("common.loss")} ${formatNumber(r.cols.loss?.[n - 1])}`;
      return `${r.id}: ${t("common.step_lc")} ${n ? r.cols.step[n - 1] : 0}, ${tail}`;
    });
    status.textContent = last.join(" · ");
    root.dataset.points = String(contour.drawnPoints);
  };
  const schedule = () => {
    dirty = true;
    if (!frame) frame = requestAnimationFrame(draw);
  };

  const onMessage = (message) => {
    if (message?.type === "steps") {
      if (message.replay) for (const run of runs.values()) run.cols = {};
      appendColumns(runs, message.runs);
      for (const [id, end] of Object.entries(message.ends ?? {})) {
        const run = runs.get(id);
        if (run) run.end = end;
      }
      schedule();
    } else if (message?.type === "lr") {
      const input = /** @type {HTMLInputElement | null} */ (lrs.querySelector(`input[data-run="${CSS.escape(message.run)}"]`));
      if (input) input.value = String(message.value);
    } else if (message?.type === "error") {
      status.textContent = `${message.field}: ${message.message}`;
    }
  };
  model.on("msg:custom", onMessage);
  const onPlaying = () => {
    play.textContent = model.get("playing") ? t("common.pause") : t("common.play");
    root.dataset.playing = String(model.get("playing"));
  };
  model.on("change:playing", onPlaying);
  onPlaying();
  model.send({ type: "sync" });
  return () => {
    model.off("msg:custom", onMessage);
    model.off("change:playing", onPlaying);
    if (frame) cancelAnimationFrame(frame);
  };
}

export default {
  /** anywidget's entry: one view per output of the widget. */
  async render({ model, el: host }) {
    useCatalog(model.get("messages"), model.get("lang"));
    const root = el("div", { class: "gdp-widget", lang: model.get("lang"), "data-view": model.get("view") });
    host.append(root);
    return renderSurface(model, root);
  },
};
