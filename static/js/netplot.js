// @ts-check
// Shared drawing for the network views (/network, /epochs, /dropout, /regularization, /landscape).
// Messages and fields: docs/networks.md. Everything here only draws; no sockets, no fetches.
//
// Stable exports (other views import these; add, do not rename):
//
//   CLASS_COLORS, classColor(k)          Okabe–Ito colour of class k (0 vermillion, 1 blue, 2 green, …)
//   formatLoss(v)                        4 decimals as Keras prints them ("0.4132"; "0,4132" in tr), "–" when missing
//   Texts come from the catalogs (app/i18n/{lang}.networks.json, keys netplot.*); the progress line stays
//   exactly as Keras prints it (English words, decimal point), as a learner sees it in a notebook.
//   progressLine({epoch, epochs, step, steps, seconds, logs, final, style})
//                                        Keras 3's "Epoch 11/100\n10/10 ━━━━━━━━━━━━━━━━━━━━ 0s 2ms/step -
//                                        accuracy: 0.9281 - loss: 0.2945 - val_accuracy: 1.0000 - val_loss:
//                                        0.2144", or tf.keras 2's "22/22 [=====…] - 0s 2ms/step - loss: …"
//   progressParts(same)                  the same line in parts (header, count, done, todo, info) to colour
//   (TrainingLog, the messages of one training gathered into arrays, lives in runs.js.)
//   class NetworkDiagram(container)      SVG network: draw({layers, weights, masks, activations});
//                                        neurons are <circle class="neuron" data-layer data-unit>, dropped
//                                        ones get class "dropped" (grey); edges coloured by sign (blue +,
//                                        vermillion −), width by |w|. droppedCount() counts grey circles.
//   class DecisionPlot(element)          Plotly: decision-boundary heatmap + data points (train filled,
//                                        validation hollow); 1-D regression draws the fitted curve.
//                                        draw({dataset, grid, task, classes, highlight}) — grid may be null.
//   class LossCurves(element)            Plotly: train and val loss per epoch with best-epoch and
//                                        early-stop markers. draw({epochs, train, val, bestEpoch, stopEpoch,
//                                        ytitle, extra: [{name, x, y, color, dash}]}).
//   confusionTable(matrix, classNames)   a <table class="confusion"> element (rows truth, columns predicted)
//   metricText(task, metrics)            "accuracy 95.0 %" or "RMSE 0.21 · R² 0.93"
import { FONT, PALETTE } from "./theme.js";
import { figureConfig } from "./plot.js";
import { formatNumber, localizeDecimal, plotlyLocale, t } from "./i18n.js";

export const CLASS_COLORS = ["#D55E00", "#0072B2", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"];
export const classColor = (k) => CLASS_COLORS[((k % CLASS_COLORS.length) + CLASS_COLORS.length) % CLASS_COLORS.length];
const POSITIVE = "#0072B2";
const NEGATIVE = "#D55E00";
const SVG_NS = "http://www.w3.org/2000/svg";

/** A loss with 4 decimals as Keras prints it, always with a decimal point (the progress line). */
function kerasLoss(v) {
  if (v === null || v === undefined || !Number.isFinite(v)) return "–";
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-4 || a >= 1e7)) return v.toExponential(4);
  return v.toFixed(4);
}

/** The same 4 decimals with the page's decimal separator (readouts). */
export function formatLoss(v) {
  return localizeDecimal(kerasLoss(v));
}

/** A number as Python's `%.4f`, or `%.4e` when |v| ≤ 1e-3 (Keras' metric format: "1.2340e-04"). */
export function kerasNumber(v) {
  if (v === null || v === undefined || !Number.isFinite(v)) return "nan";
  if (Math.abs(v) > 1e-3) return v.toFixed(4);
  return v.toExponential(4).replace(/e([+-])(\d)$/, "e$10$2");
}

/** Keras' `_format_time`: " 2ms/step", " 850us/step", " 1s/step" (0 prints as " 0s/step"). */
export function kerasStepTime(seconds) {
  if (seconds >= 1 || seconds === 0) return ` ${seconds.toFixed(0)}s/step`;
  if (seconds >= 1e-3) return ` ${(seconds * 1e3).toFixed(0)}ms/step`;
  return ` ${(seconds * 1e6).toFixed(0)}us/step`;
}

/** Keras' ETA: "5s", "2:05", "1:02:05" (whole seconds, truncated as `%d` does). */
function kerasEta(eta) {
  const s = Math.trunc(eta);
  const two = (n) => String(n).padStart(2, "0");
  if (eta > 3600) return `${Math.trunc(s / 3600)}:${two(Math.trunc((s % 3600) / 60))}:${two(s % 60)}`;
  if (eta > 60) return `${Math.trunc(s / 60)}:${two(s % 60)}`;
  return `${s}s`;
}

/** Keras 2 prints the loss, then the compiled metrics in compile order, then the same with val_. */
const KERAS2_ORDER = ["loss", "accuracy", "rmse", "r2"];

/**
 * The parts of the progress line `model.fit(verbose=1)` prints at `step` of `steps` in an epoch, exactly
 * as Keras 3's Progbar (keras/src/utils/progbar.py, width 20) or, with `style: "keras2"`, as tf.keras 2
 * (width 30, the course slide's form). `logs` are the server's (Keras' running logs, sorted by name as Keras
 * 3 sorts them); `seconds` the measured compute time of the epoch so far; `final` once the epoch ended
 * (elapsed time instead of the ETA, and the val_ logs). Keras 3's bar is one character ━, green where done.
 * @param {{epoch: number, epochs: number, step: number, steps: number, seconds?: number, logs?: Record<string, number> | null, final?: boolean, style?: string}} p
 */
export function progressParts({ epoch, epochs, step, steps, seconds = 0, logs = null, final = false, style = "keras3" }) {
  const keras2 = style === "keras2";
  const width = keras2 ? 30 : 20;
  const digits = steps > 0 ? String(steps).length : 1;
  const count = `${String(step).padStart(digits)}/${steps}`;
  const perStep = step > 0 ? seconds / step : 0;
  const doneWidth = steps > 0 ? Math.trunc((width * step) / steps) : 0;
  let done;
  let todo;
  if (keras2) {
    done = doneWidth > 0 ? "=".repeat(doneWidth - 1) + (step < steps ? ">" : "=") : "";
    todo = ".".repeat(width - doneWidth);
  } else {
    done = "━".repeat(doneWidth);
    todo = "━".repeat(width - doneWidth);
  }
  const eta = kerasEta(perStep * (steps - step));
  let info;
  if (keras2) info = final ? ` - ${seconds.toFixed(0)}s${kerasStepTime(perStep)}` : ` - ETA: ${eta}`;
  else info = ` ${final ? `${seconds.toFixed(0)}s` : eta}${kerasStepTime(perStep)}`;
  const entries = Object.entries(logs ?? {});
  if (keras2) {
    const rank = (/** @type {[string, number]} */ [k]) => {
      const val = k.startsWith("val_");
      const i = KERAS2_ORDER.indexOf(val ? k.slice(4) : k);
      return (val ? 100 : 0) + (i < 0 ? 50 : i);
    };
    entries.sort((a, b) => rank(a) - rank(b));
  }
  for (const [k, v] of entries) info += ` - ${k}: ${kerasNumber(v)}`;
  return {
    header: epochs > 1 ? `Epoch ${epoch}/${epochs}` : "",
    count: keras2 ? `${count} [` : `${count} `,
    done,
    todo: keras2 ? `${todo}]` : todo,
    info,
  };
}

/** The progress line as text: `Epoch 11/100` on the line before (as Keras prints it when epochs > 1). */
export function progressLine(/** @type {Parameters<typeof progressParts>[0]} */ p) {
  const parts = progressParts(p);
  const line = parts.count + parts.done + parts.todo + parts.info;
  return parts.header ? `${parts.header}\n${line}` : line;
}

export function metricText(task, metrics) {
  if (!metrics) return "–";
  if (task === "regression") return t("netplot.rmse_r2", { rmse: formatNumber(metrics.rmse), r2: formatNumber(metrics.r2) });
  return metrics.accuracy === undefined ? "–" : t("netplot.accuracy", { value: localizeDecimal((100 * metrics.accuracy).toFixed(1)) });
}

function svg(tag, attrs = {}) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}

/**
 * The network as neurons and edges in SVG. The structure is rebuilt only when the layer sizes change;
 * weights restyle the edges, masks restyle the neurons (cheap enough for every animation frame).
 */
export class NetworkDiagram {
  constructor(container, { height = 300 } = {}) {
    this.container = container;
    this.height = height;
    this.layers = null;
    this.root = null;
  }

  #build(layers, activations, featureNames) {
    this.layers = layers.slice();
    const W = 560;
    const maxUnits = Math.max(...layers);
    // taller for wide layers, so 32 neurons stay apart (13 units of height each) instead of touching
    const H = Math.max(this.height, 44 + 13 * maxUnits);
    const r = Math.max(3.5, Math.min(11, (H - 40) / maxUnits / 2.6));
    const xs = layers.map((_, l) => 50 + (l * (W - 100)) / Math.max(1, layers.length - 1));
    const ys = layers.map((n) => {
      const gap = Math.min((H - 50) / Math.max(1, n), 3.2 * r);
      const top = 22 + (H - 40 - gap * (n - 1)) / 2;
      return Array.from({ length: n }, (_, i) => top + i * gap);
    });
    const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "net-svg", role: "img", preserveAspectRatio: "xMidYMid meet", style: `max-height: ${H + 40}px` });
    const title = svg("title");
    title.textContent = t("netplot.diagram_title", { layers: layers.join("–") });
    root.append(title);
    const edges = svg("g", { class: "edges" });
    this.edges = [];
    for (let l = 0; l < layers.length - 1; l++) {
      const rows = [];
      for (let i = 0; i < layers[l]; i++) {
        const row = [];
        for (let j = 0; j < layers[l + 1]; j++) {
          const line = svg("line", { x1: xs[l], y1: ys[l][i], x2: xs[l + 1], y2: ys[l + 1][j], stroke: "#b8c2ce", "stroke-width": 0.6 });
          edges.append(line);
          row.push(line);
        }
        rows.push(row);
      }
      this.edges.push(rows);
    }
    root.append(edges);
    const nodes = svg("g", { class: "neurons" });
    this.neurons = layers.map((n, l) =>
      ys[l].map((y, i) => {
        const kind = l === 0 ? "input" : l === layers.length - 1 ? "output" : "hidden";
        const c = svg("circle", { cx: xs[l], cy: y, r, class: `neuron ${kind}`, "data-layer": l, "data-unit": i });
        nodes.append(c);
        return c;
      }),
    );
    root.append(nodes);
    const labels = svg("g", { class: "net-labels" });
    layers.forEach((n, l) => {
      const text = svg("text", { x: xs[l], y: H - 6, "text-anchor": "middle" });
      const name = l === 0 ? t("netplot.input") : l === layers.length - 1 ? t("netplot.output") : activations?.[l - 1] ?? t("netplot.hidden");
      text.textContent = `${name} (${n})`;
      labels.append(text);
    });
    if (featureNames && featureNames.length === layers[0]) {
      featureNames.forEach((f, i) => {
        const t = svg("text", { x: xs[0] - r - 4, y: ys[0][i] + 4, "text-anchor": "end", class: "feature" });
        t.textContent = f.length > 6 ? `${f.slice(0, 5)}…` : f;
        labels.append(t);
      });
    }
    root.append(labels);
    this.container.replaceChildren(root);
    this.root = root;
  }

  /** layers: sizes incl. input and output; weights: [{W, b}] or null; masks: per hidden layer 0/1 or null. */
  draw({ layers, weights = null, masks = null, activations = null, features = null }) {
    if (!layers?.length) return;
    if (!this.layers || this.layers.join() !== layers.join()) this.#build(layers, activations, features);
    if (weights && weights !== this.drawnWeights) {
      this.drawnWeights = weights;
      let max = 0;
      for (const { W } of weights) for (const row of W) for (const w of row) max = Math.max(max, Math.abs(w));
      weights.forEach(({ W }, l) => {
        const rows = this.edges[l];
        if (!rows) return;
        W.forEach((row, i) =>
          row.forEach((w, j) => {
            const line = rows[i]?.[j];
            if (!line) return;
            const s = max > 0 ? Math.abs(w) / max : 0;
            line.setAttribute("stroke", w >= 0 ? POSITIVE : NEGATIVE);
            line.setAttribute("stroke-width", (0.3 + 4.2 * s).toFixed(2));
            line.setAttribute("stroke-opacity", (0.15 + 0.75 * s).toFixed(2));
          }),
        );
      });
    }
    // masks[k] belongs to hidden layer k, i.e. diagram layer k + 1
    for (let l = 1; l < this.neurons.length - 1; l++) {
      const mask = masks?.[l - 1] ?? null;
      this.neurons[l].forEach((c, i) => c.classList.toggle("dropped", Boolean(mask) && mask[i] === 0));
    }
    // edges touching a dropped neuron fade too
    this.edges.forEach((rows, l) => {
      const from = masks?.[l - 1] ?? null;
      const to = masks?.[l] ?? null;
      rows.forEach((row, i) =>
        row.forEach((line, j) => {
          const off = (l >= 1 && from && from[i] === 0) || (l + 1 < this.neurons.length - 1 && to && to[j] === 0);
          line.classList.toggle("dropped", Boolean(off));
        }),
      );
    });
  }

  droppedCount() {
    return this.root ? this.root.querySelectorAll("circle.neuron.dropped").length : 0;
  }
}

/** A colour between white and `hex` (t = 0 white, 1 full). */
function tint(hex, t) {
  const n = Number.parseInt(hex.slice(1), 16);
  const mix = (c) => Math.round(255 + (c - 255) * t);
  return `rgb(${mix((n >> 16) & 255)},${mix((n >> 8) & 255)},${mix(n & 255)})`;
}

const LIGHT = 0.45; // strongest tint of the background, so the points stay readable on it

/**
 * Decision boundary and data. Binary: P(class 1) from vermillion (0) through white (0.5) to blue (1) with
 * the 0.5 contour; multiclass: the winning class tinted by its probability; 2-D regression: the prediction
 * as a grey-blue scale; 1-D (regression or not): the model's curve over the points.
 */
export class DecisionPlot {
  constructor(element) {
    this.element = element;
  }

  draw({ dataset, grid = null, task = dataset?.task, classes = dataset?.classes ?? 2, highlight = null, title = null }) {
    if (!dataset) return Promise.resolve();
    const oneD = dataset.features.length === 1;
    const traces = [];
    if (grid && !oneD) traces.push(...this.#background(grid, task, classes));
    if (oneD) traces.push(...this.#points1d(dataset, task));
    else traces.push(...this.#points2d(dataset, task, classes, highlight));
    if (grid && oneD) {
      const values = grid.values.map((v) => (Array.isArray(v) ? v[v.length - 1] : v));
      traces.push({ type: "scatter", mode: "lines", name: t("netplot.model"), x: grid.x, y: values, line: { color: "#000", width: 2.5 }, hovertemplate: `x %{x:.3g}<br>${t("netplot.model")} %{y:.3g}<extra></extra>` });
    }
    const [x0, x1, y0, y1] = dataset.box;
    const pad = (a, b) => {
      const p = 0.05 * (b - a || 1);
      return [a - p, b + p];
    };
    const layout = {
      ...plotlyLocale(),
      margin: { l: 50, r: 12, t: title ? 26 : 8, b: 42 },
      font: FONT,
      title: title ? { text: title, font: { size: 13 }, x: 0.02, y: 0.98 } : undefined,
      xaxis: { title: { text: dataset.features[0], standoff: 4 }, range: grid && !oneD ? [grid.x[0], grid.x[grid.x.length - 1]] : pad(x0, x1), zeroline: false },
      yaxis: oneD
        ? { title: { text: dataset.target ?? "y", standoff: 4 }, zeroline: false }
        : { title: { text: dataset.features[1], standoff: 4 }, range: grid ? [grid.y[0], grid.y[grid.y.length - 1]] : pad(y0, y1), zeroline: false },
      showlegend: true,
      // below the x-axis title whatever the plot's height (a 320 px embed is short): ~56 px under the plot area
      legend: { orientation: "h", y: -56 / Math.max(120, (this.element.clientHeight || 340) - 50), yanchor: "top", x: 0, font: { size: 11 } },
      paper_bgcolor: "rgba(0,0,0,0)",
      plot_bgcolor: "#fff",
      uirevision: "keep",
    };
    return Plotly.react(this.element, traces, layout, figureConfig({ modeBarButtonsToRemove: ["select2d", "lasso2d"] }));
  }

  #background(grid, task, classes) {
    const common = { type: "heatmap", x: grid.x, y: grid.y, showscale: false, hoverinfo: "skip", zsmooth: "best" };
    if (task === "binary") {
      const z = grid.values.map((row) => row.map((v) => (Array.isArray(v) ? v[v.length - 1] : v)));
      return [
        { ...common, z, zmin: 0, zmax: 1, colorscale: [[0, tint(classColor(0), LIGHT)], [0.5, "#ffffff"], [1, tint(classColor(1), LIGHT)]], name: t("netplot.p_class1"), showlegend: false },
        { type: "contour", x: grid.x, y: grid.y, z, showscale: false, hoverinfo: "skip", contours: { start: 0.5, end: 0.5, size: 1, coloring: "none" }, line: { color: "#1d2430", width: 1.5, dash: "dot" }, showlegend: false, name: t("netplot.boundary") },
      ];
    }
    if (task === "multiclass") {
      const C = classes;
      const z = grid.values.map((row) =>
        row.map((p) => {
          let k = 0;
          for (let c = 1; c < p.length; c++) if (p[c] > p[k]) k = c;
          const t = C > 1 ? Math.max(0, (p[k] - 1 / C) / (1 - 1 / C)) : 1;
          return k + 0.999 * Math.min(1, t);
        }),
      );
      const scale = [];
      for (let k = 0; k < C; k++) {
        scale.push([k / C, tint(classColor(k), 0.08)]);
        scale.push([(k + 0.999) / C, tint(classColor(k), LIGHT)]);
      }
      scale[scale.length - 1][0] = 1;
      return [{ ...common, z, zmin: 0, zmax: C, colorscale: scale, zsmooth: false, showlegend: false }];
    }
    return [{ ...common, z: grid.values, colorscale: [[0, "#f4f6f9"], [1, "#7aa6c8"]], showscale: true, colorbar: { thickness: 10, title: { text: t("netplot.model"), side: "top" } }, hoverinfo: "z", showlegend: false }];
  }

  #points2d(dataset, task, classes, highlight) {
    const traces = [];
    const split = (rows, hollow, label) => {
      if (!rows?.x?.length) return;
      if (task === "regression") {
        traces.push({ type: "scatter", mode: "markers", name: label, x: rows.x.map((p) => p[0]), y: rows.x.map((p) => p[1]), marker: { size: 7, color: rows.y, colorscale: "Viridis", symbol: hollow ? "circle-open" : "circle", line: { width: hollow ? 1.5 : 0.5, color: "#fff" } }, hovertemplate: `${label}<br>%{x:.3g}; %{y:.3g}<extra></extra>` });
        return;
      }
      const C = Math.max(2, classes);
      for (let k = 0; k < C; k++) {
        const xs = [];
        const ys = [];
        rows.x.forEach((p, i) => {
          if (Math.round(rows.y[i]) === k) {
            xs.push(p[0]);
            ys.push(p[1]);
          }
        });
        if (!xs.length) continue;
        traces.push({
          type: "scatter",
          mode: "markers",
          name: t("netplot.split_class", { split: label, k }),
          legendgroup: label,
          x: xs,
          y: ys,
          marker: hollow
            ? { size: 7, symbol: "circle-open", color: classColor(k), line: { width: 1.8, color: classColor(k) } }
            : { size: 7, symbol: "circle", color: classColor(k), line: { width: 0.8, color: "#fff" } },
          hovertemplate: `${t("netplot.split_class", { split: label, k })}<br>%{x:.3g}; %{y:.3g}<extra></extra>`,
        });
      }
    };
    split(dataset.train, false, t("netplot.train"));
    split(dataset.val, true, t("netplot.validation"));
    if (highlight?.length) {
      const rows = dataset.train.x;
      traces.push({ type: "scatter", mode: "markers", name: t("netplot.current_batch"), x: highlight.map((i) => rows[i][0]), y: highlight.map((i) => rows[i][1]), marker: { size: 13, symbol: "circle-open", color: "#000", line: { width: 2, color: "#000" } }, hoverinfo: "skip" });
    }
    return traces;
  }

  #points1d(dataset, task) {
    const traces = [];
    const add = (rows, hollow, label) => {
      if (!rows?.x?.length) return;
      traces.push({
        type: "scatter",
        mode: "markers",
        name: label,
        x: rows.x.map((p) => p[0]),
        y: rows.y,
        marker: hollow ? { size: 7, symbol: "circle-open", color: PALETTE[1], line: { width: 1.8, color: PALETTE[1] } } : { size: 6, color: PALETTE[0], opacity: 0.75 },
        hovertemplate: `${label}<br>x %{x:.3g}<br>y %{y:.3g}<extra></extra>`,
      });
    };
    add(dataset.train, false, t("netplot.train"));
    add(dataset.val, true, t("netplot.validation"));
    void task;
    return traces;
  }
}

/** Train and validation loss per epoch; a dashed line at the best epoch and a solid one where training stopped. */
export class LossCurves {
  constructor(element) {
    this.element = element;
  }

  draw({ epochs, train, val = null, bestEpoch = null, stopEpoch = null, ytitle = t("netplot.loss"), extra = [], xmax = null }) {
    const trainName = t("netplot.train_loss");
    const valName = t("netplot.val_loss");
    const epochWord = t("netplot.epoch");
    /** @type {any[]} */
    const traces = [
      { type: "scatter", mode: "lines", name: trainName, x: epochs, y: train, line: { color: PALETTE[0], width: 2 }, hovertemplate: `${epochWord} %{x}<br>${trainName} %{y:.4f}<extra></extra>` },
    ];
    if (val && val.some((v) => v !== null)) {
      traces.push({ type: "scatter", mode: "lines", name: valName, x: epochs, y: val, line: { color: PALETTE[1], width: 2, dash: "dash" }, hovertemplate: `${epochWord} %{x}<br>${valName} %{y:.4f}<extra></extra>` });
    }
    for (const e of extra) traces.push({ type: "scatter", mode: "lines", name: e.name, x: e.x, y: e.y, line: { color: e.color ?? PALETTE[2], width: 2, dash: e.dash ?? "solid" } });
    const shapes = [];
    const annotations = [];
    if (bestEpoch) {
      shapes.push({ type: "line", xref: "x", yref: "paper", x0: bestEpoch, x1: bestEpoch, y0: 0, y1: 1, line: { color: PALETTE[2], width: 2, dash: "dot" } });
      annotations.push({ xref: "x", yref: "paper", x: bestEpoch, y: 1, text: t("netplot.best_epoch", { n: bestEpoch }), showarrow: false, xanchor: "right", yanchor: "top", font: { size: 11, color: "#00734f" }, bgcolor: "rgba(255,255,255,0.8)" });
    }
    if (stopEpoch) {
      shapes.push({ type: "line", xref: "x", yref: "paper", x0: stopEpoch, x1: stopEpoch, y0: 0, y1: 1, line: { color: "#1d2430", width: 2 } });
      annotations.push({ xref: "x", yref: "paper", x: stopEpoch, y: 0.86, text: t("netplot.early_stop", { n: stopEpoch }), showarrow: false, xanchor: "left", yanchor: "top", font: { size: 11 }, bgcolor: "rgba(255,255,255,0.8)" });
    }
    if (!epochs.length) {
      annotations.push({ xref: "paper", yref: "paper", x: 0.5, y: 0.5, text: t("netplot.curves_empty"), showarrow: false, font: { size: 13, color: "#5b6675" } });
    }
    const layout = {
      ...plotlyLocale(),
      margin: { l: 56, r: 12, t: 8, b: 40 },
      font: FONT,
      xaxis: { title: { text: epochWord, standoff: 4 }, zeroline: false, range: xmax ? [0, xmax] : epochs.length ? undefined : [0, 10], autorange: Boolean(epochs.length) && !xmax, rangemode: "tozero" },
      yaxis: { title: { text: ytitle }, zeroline: false, rangemode: "tozero", range: epochs.length ? undefined : [0, 1], autorange: Boolean(epochs.length) },
      showlegend: true,
      legend: { orientation: "h", y: 1.02, yanchor: "bottom", x: 0 },
      shapes,
      annotations,
      paper_bgcolor: "rgba(0,0,0,0)",
    };
    return Plotly.react(this.element, traces, layout, figureConfig());
  }
}

/** Confusion matrix as a table: rows are the true class, columns the predicted one; the diagonal is shaded. */
export function confusionTable(matrix, classNames = null) {
  const table = document.createElement("table");
  table.className = "confusion";
  const names = classNames ?? matrix.map((_, k) => String(k));
  const head = table.createTHead().insertRow();
  const corner = document.createElement("th");
  corner.textContent = t("netplot.confusion_corner");
  corner.scope = "col";
  head.append(corner);
  for (const n of names) {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = n;
    head.append(th);
  }
  const body = table.createTBody();
  matrix.forEach((row, i) => {
    const tr = body.insertRow();
    const th = document.createElement("th");
    th.scope = "row";
    th.textContent = names[i];
    tr.append(th);
    row.forEach((v, j) => {
      const td = tr.insertCell();
      td.textContent = String(v);
      if (i === j) td.className = "diag";
    });
  });
  return table;
}
