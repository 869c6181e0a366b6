// @ts-check
// The notebook widget's front end (app/widget): the web app's own figures (plot.js) in a notebook cell,
// fed by custom messages from the kernel, which runs app.ml and owns the runs. app/widget/bundle.py inlines
// this module's imports into one string for anywidget; `Plotly` is declared by that bundle's preamble and
// filled with the plotly package's plotly.min.js, sent by the kernel on request (no CDN, works offline).
import { ContourWithOverlay, LossPlot, thin } from "./plot.js";
import { DecisionPlot, LossCurves, NetworkDiagram, formatLoss, metricText } from "./netplot.js";
import { TrainingLog, appendColumns } from "./runs.js";
import { colorOf } from "./theme.js";
import { formatNumber, t, useCatalog } from "./i18n.js";

/** @typedef {{ id: string, color: string, cols: Record<string, any[]>, end: any, lr: number }} WidgetRun */

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

/**
 * The transport every view shares: Play/Pause and Step (commands to the kernel), a status line, and a
 * learning-rate box per run; `model.playing` (a synced trait) names the button, and the kernel echoes a
 * learning-rate change (an `lr` message) or refuses it (an `error` message, shown in the status line).
 * @param {{id: string, color: string, lr: number}[]} runs
 */
function transport(model, root, runs) {
  const play = el("button", { type: "button", class: "gdp-play" }, t("common.play"));
  const step = el("button", { type: "button", class: "gdp-step" }, t("common.step"));
  const status = el("span", { class: "gdp-status", role: "status" });
  const lrs = el("div", { class: "gdp-runs" });
  for (const run of runs) {
    const input = el("input", { type: "number", step: "any", min: "0", value: run.lr, "data-run": run.id, "aria-label": `${run.id} ${t("common.learning_rate")}` });
    input.addEventListener("change", () => model.send({ type: "lr", run: run.id, value: Number(input.value) }));
    lrs.append(el("label", { class: "gdp-run" }, el("span", { class: "gdp-swatch", style: `background:${run.color}` }), `${run.id} · ${t("common.learning_rate")}`, input));
  }
  root.append(el("div", { class: "gdp-controls" }, play, step, status), lrs);
  play.addEventListener("click", () => model.send({ type: model.get("playing") ? "pause" : "play" }));
  step.addEventListener("click", () => model.send({ type: "step" }));
  const onPlaying = () => {
    play.textContent = model.get("playing") ? t("common.pause") : t("common.play");
    root.dataset.playing = String(model.get("playing"));
  };
  const onMessage = (message) => {
    if (message?.type === "lr") {
      const input = /** @type {HTMLInputElement | null} */ (lrs.querySelector(`input[data-run="${CSS.escape(message.run)}"]`));
      if (input) input.value = String(message.value);
    } else if (message?.type === "error") {
      status.textContent = `${message.field}: ${message.message}`;
    }
  };
  model.on("change:playing", onPlaying);
  model.on("msg:custom", onMessage);
  onPlaying();
  const stop = () => {
    model.off("change:playing", onPlaying);
    model.off("msg:custom", onMessage);
  };
  return { status, stop };
}

/** Redraw at most once per animation frame, however many messages arrive in between. */
function framed(draw) {
  let frame = 0;
  return {
    schedule() {
      if (!frame) frame = requestAnimationFrame(() => {
        frame = 0;
        draw();
      });
    },
    cancel() {
      if (frame) cancelAnimationFrame(frame);
    },
  };
}

/** The surface view: transport and learning rates above, contour with live paths and loss plot below. */
async function renderSurface(model, root) {
  const setup = model.get("setup");
  /** @type {Map<string, WidgetRun>} */
  const runs = new Map(setup.runs.map((r, i) => [r.id, { id: r.id, color: colorOf(i), cols: {}, end: null, lr: r.hyperparameters.lr }]));
  const { status, stop } = transport(model, root, [...runs.values()]);
  const contourBox = el("div", { class: "contour" }, el("div", { class: "plot-base" }), el("div", { class: "plot-overlay", "aria-hidden": "true" }));
  const lossBox = el("div", { class: "loss" });
  root.append(el("div", { class: "gdp-figures" }, contourBox, lossBox));

  await loadPlotly(model);
  const contour = new ContourWithOverlay(contourBox);
  const loss = new LossPlot(lossBox);
  await contour.drawSurface(setup.surface);
  const [sx, sy] = setup.surface.start;

  const frames = framed(() => {
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
  });

  const onMessage = (message) => {
    if (message?.type === "steps") {
      for (const run of runs.values()) {
        if (message.replay) run.cols = {};
        const frame = message.runs[run.id];
        if (frame) appendColumns(run.cols, frame, setup.columns);
      }
      for (const [id, end] of Object.entries(message.ends ?? {})) {
        const run = runs.get(id);
        if (run) run.end = end;
      }
      frames.schedule();
    }
  };
  model.on("msg:custom", onMessage);
  model.send({ type: "sync" });
  return () => {
    model.off("msg:custom", onMessage);
    stop();
    frames.cancel();
  };
}

/** The network view: transport above; the diagram (dropped neurons), decision boundary and loss curves. */
async function renderNetwork(model, root) {
  const setup = model.get("setup");
  const { network, dataset } = setup;
  const { status, stop } = transport(model, root, [{ id: "network", color: colorOf(0), lr: setup.hyperparameters.lr }]);
  const diagramBox = el("div", { class: "gdp-diagram" });
  const decisionBox = el("div", { class: "gdp-decision" });
  const curvesBox = el("div", { class: "gdp-curves" });
  root.append(el("div", { class: "gdp-figures gdp-network" }, diagramBox, decisionBox, curvesBox));
  await loadPlotly(model);
  const diagram = new NetworkDiagram(diagramBox, { height: 260 });
  const decision = new DecisionPlot(decisionBox);
  const curves = new LossCurves(curvesBox);
  const log = new TrainingLog();
  log.started(setup);
  const frames = framed(() => {
    const epochs = log.ep;
    diagram.draw({ layers: network.layers, weights: log.weights, masks: log.masks, activations: network.activations, features: dataset.features });
    decision.draw({ dataset, grid: log.grid, task: dataset.task, classes: dataset.classes });
    curves.draw({
      epochs: epochs.map((e) => e.epoch),
      train: epochs.map((e) => e.train_loss),
      val: epochs.map((e) => e.val_loss),
      bestEpoch: log.bestEpoch,
      stopEpoch: log.stopEpoch,
      xmax: setup.epochs,
    });
    const last = epochs[epochs.length - 1];
    const epochText = `${t("netplot.epoch")} ${last?.epoch ?? 0}/${setup.epochs}`;
    const metrics = last && last.val_loss !== null ? last.val_metrics : last?.train_metrics;
    status.textContent = last ? `${epochText} · ${t("netplot.loss")} ${formatLoss(last.train_loss)} · ${metricText(dataset.task, metrics)}` : epochText;
    root.dataset.epochs = String(epochs.length);
    root.dataset.iterations = String(log.count);
  });
  const onMessage = (message) => {
    if (message?.type !== "network") return;
    if (message.replay) log.started(setup);
    log.iterations(message.iterations);
    log.epochs(message.epochs);
    if (message.end) log.event(message.end);
    frames.schedule();
  };
  model.on("msg:custom", onMessage);
  frames.schedule();
  model.send({ type: "sync" });
  return () => {
    model.off("msg:custom", onMessage);
    stop();
    frames.cancel();
  };
}

export default {
  /** anywidget's entry: one view per output of the widget. */
  async render({ model, el: host }) {
    useCatalog(model.get("messages"), model.get("lang"));
    const root = el("div", { class: "gdp-widget", lang: model.get("lang"), "data-view": model.get("view") });
    host.append(root);
    return model.get("view") === "network" ? renderNetwork(model, root) : renderSurface(model, root);
  },
};
