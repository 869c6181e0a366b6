// @ts-check
// The loss landscape of a network: POST /api/v1/networks/landscape trains the config to its end, slices the
// loss through the final weights along two filter-normalised random directions and projects the epoch
// snapshots onto the slice. Drawn with the surface view's components (plot.js): the contour with its overlay,
// or the 3-D surface.
//
// Embedding (/embed/landscape): the slice is computed over REST, so play = (re)compute; reset = the default
// settings, recomputed; pause and step answer gdp:error (nothing runs in between). set(run, {lr, epochs,
// batch_size (batch still read), span, seed, n}) changes those settings and recomputes. When a slice is drawn:
// gdp:event {run: "landscape", event: "done"} and gdp:done.
import { embeddedRegistry, postJson } from "../client.js";
import { registerView } from "../embed.js";
import { formatNumber, plotlyLocale, t } from "../i18n.js";
import { encodeState, readState, shareUrl, writeState } from "../state.js";
import { ContourWithOverlay, Surface3D, hasWebGL } from "../plot.js";
import { FONT, PALETTE } from "../theme.js";
import { el } from "../controls.js";
import { copyLink } from "../share.js";
import { landscapeSchema } from "./landscape-schema.js";

const PATH = PALETTE[0];
const CAP = 1e6; // a diverged corner of the slice is capped so the colour scale stays readable

const registry = embeddedRegistry();
const DATASETS = registry.datasets ?? [];
const datasetNames = DATASETS.length ? DATASETS.map((d) => d.name) : ["circle"];
const optimizers = new Map(registry.optimizers.map((o) => [o.name, o]));

const SCHEMA = landscapeSchema(datasetNames, optimizers.keys());
const state = readState(SCHEMA);
const save = () => writeState(SCHEMA, state);
const $ = (/** @type {string} */ id) => /** @type {any} */ (document.getElementById(id));
const ui = {
  form: $("form"), dataset: $("dataset"), hidden: $("hidden"), optimizer: $("optimizer"), lr: $("lr"),
  epochs: $("epochs"), batch: $("batch"), span: $("span"), resolution: $("resolution"), seed: $("dir-seed"),
  status: $("status"), d3: $("toggle-3d"), copy: $("copy-link"), link: $("share-url"), plot2d: $("contour"),
  plot3d: $("surface3d"), webgl: $("webgl-missing"), summary: $("summary"), pathLoss: $("path-loss"),
};

const contour = new ContourWithOverlay(ui.plot2d);
contour.onRangeChange = () => drawOverlay();
const surface3d = new Surface3D(ui.plot3d);
const webgl = hasWebGL();
let result = null; // the landscape response
let token = 0;
let drawn3d = false;

function config() {
  const ds = DATASETS.find((d) => d.name === state.dataset);
  return {
    dataset: { name: state.dataset, n: ds && ds.default_n < 100 ? ds.default_n : 200, noise: 0.1, seed: 0, val_fraction: 0.2 },
    hidden: state.hidden,
    activations: "relu",
    optimizer: state.optimizer,
    hyperparameters: { lr: state.lr },
    batch_size: state.batch_size,
    epochs: state.epochs,
    seed: 0,
    every: 100000,
    grid_size: 5,
  };
}

async function compute() {
  const mine = ++token;
  ui.status.textContent = t("landscape.computing", { epochs: state.epochs, n: state.n });
  try {
    const response = await postJson("/api/v1/networks/landscape", { config: config(), n: state.n, span: state.span, seed: state.seed });
    if (mine !== token) return;
    result = response;
    await draw();
    const epochs = response.path.epoch.length;
    ui.status.textContent = epochs === 1 ? t("landscape.done_one") : t("landscape.done", { n: epochs });
    embed.event("landscape", "done");
    embed.done();
  } catch (error) {
    if (mine === token) ui.status.textContent = t("landscape.error", { message: error.message });
  }
}

/** The response as a surface for plot.js: the slice's grid in (α, β), θ* marked as the minimum star. */
function asSurface(r) {
  const z = r.loss.map((row) => row.map((v) => (Number.isFinite(v) ? Math.min(v, CAP) : null)));
  return {
    view: [r.alphas[0], r.alphas[r.alphas.length - 1], r.betas[0], r.betas[r.betas.length - 1]],
    grid: { x: r.alphas, y: r.betas, z },
    minima: [[0, 0]],
  };
}

async function draw() {
  const surface = asSurface(result);
  await contour.drawSurface(surface);
  // colour-bar ticks as loss values spread over the whole range (a slice's loss rarely starts near 0)
  const sc = contour.scale;
  // nearer the plot and without Plotly's 10 px pad: ticks like 0.0559 fit the figure's fixed right margin
  const bar = { "colorbar.x": 1.01, "colorbar.xpad": 2, "colorbar.tickfont.size": 11 };
  if (sc.log && sc.hi > sc.lo) {
    const label = (v) => formatNumber(Number(v.toPrecision(3)));
    const values = [sc.lo];
    const labels = new Set([label(sc.lo)]);
    for (let k = 5; k >= 0; k--) {
      const v = sc.lo + (sc.hi - sc.lo) * 10 ** -k;
      if (labels.has(label(v))) continue; // ticks that would read the same as one already there
      labels.add(label(v));
      values.push(v);
    }
    bar["colorbar.tickvals"] = [values.map(sc.f)];
    bar["colorbar.ticktext"] = [values.map(label)];
  }
  await Plotly.update(contour.base, bar, { "xaxis.title.text": t("landscape.alpha"), "yaxis.title.text": t("landscape.beta") }, [0]);
  surface3d.setSurface(surface, contour.scale);
  drawn3d = false;
  drawOverlay();
  drawPathLoss();
  const p = result.path;
  const residual = p.residual?.length ? p.residual[0] : null;
  const start = t("common.point", { x: formatNumber(p.alpha[0]), y: formatNumber(p.beta[0]) });
  ui.summary.textContent =
    residual !== null
      ? t("landscape.summary_residual", { loss: formatNumber(result.final_loss), start, residual: formatNumber(residual) })
      : t("landscape.summary", { loss: formatNumber(result.final_loss), start });
  show3d(state.d3);
}

function drawOverlay() {
  if (!result) return;
  const p = result.path;
  const n = p.alpha.length;
  /** @type {any[]} */
  const traces = [
    {
      type: "scatter", mode: "lines+markers", meta: "path", x: p.alpha, y: p.beta,
      line: { color: PATH, width: 2.5 }, marker: { size: 5, color: PATH },
    },
  ];
  if (n) {
    traces.push({
      type: "scatter", mode: "markers", x: [p.alpha[0]], y: [p.beta[0]],
      marker: { size: 11, color: "#ffffff", line: { color: PATH, width: 2.5 } },
    });
    traces.push({
      type: "scatter", mode: "markers", x: [p.alpha[n - 1]], y: [p.beta[n - 1]],
      marker: { size: 11, color: PATH, line: { color: "#ffffff", width: 2 } },
    });
  }
  contour.drawOverlay(traces);
}

function drawPathLoss() {
  const p = result.path;
  const positive = p.loss.filter((v) => v > 0);
  const decades = positive.length === p.loss.length && positive.length ? Math.log10(Math.max(...positive) / Math.min(...positive)) : 0;
  Plotly.react(
    ui.pathLoss,
    [{ type: "scatter", mode: "lines+markers", x: p.epoch, y: p.loss, line: { color: PATH, width: 2 }, marker: { size: 4 }, hovertemplate: `${t("netplot.epoch")} %{x}<br>${t("netplot.loss")} %{y:.4f}<extra></extra>` }],
    {
      ...plotlyLocale(),
      margin: { l: 50, r: 10, t: 8, b: 40 },
      font: FONT,
      xaxis: { title: { text: t("netplot.epoch"), standoff: 2 }, zeroline: false },
      // automargin widens the left margin for the tick labels, so the title stands beside them, not over them;
      // on a log axis only 2 and 5 of each decade are labelled (D2), not every digit
      yaxis: decades > 1
        ? { title: { text: t("landscape.training_loss_log"), standoff: 6 }, type: "log", exponentformat: "power", dtick: "D2", automargin: true }
        : { title: { text: t("landscape.training_loss"), standoff: 6 }, zeroline: false, automargin: true },
      paper_bgcolor: "rgba(0,0,0,0)",
    },
    { responsive: true, displaylogo: false, displayModeBar: false },
  );
}

async function draw3d() {
  if (!result || drawn3d) return;
  drawn3d = true;
  const p = result.path;
  await surface3d.draw([{ x: p.alpha, y: p.beta, loss: p.loss, color: PATH, name: t("landscape.training_path") }]);
  await Plotly.relayout(ui.plot3d, { "scene.xaxis.title.text": "α", "scene.yaxis.title.text": "β" });
}

function show3d(on) {
  ui.webgl.hidden = !on || webgl;
  ui.plot3d.hidden = !on || !webgl;
  ui.plot2d.hidden = on && webgl;
  if (on && webgl) {
    draw3d().then(() => Plotly.Plots.resize(ui.plot3d));
  } else if (!on && contour.base.data) {
    Plotly.Plots.resize(contour.base);
  }
}

// ------------------------------------------------------------------------------------------ controls
function fillControls() {
  ui.dataset.replaceChildren(...DATASETS.map((d) => el("option", { value: d.name, text: d.title })));
  ui.optimizer.replaceChildren(...[...optimizers.values()].map((o) => el("option", { value: o.name, text: o.title })));
  ui.dataset.value = state.dataset;
  ui.optimizer.value = state.optimizer;
  ui.hidden.value = state.hidden.join(",");
  ui.lr.value = String(state.lr);
  ui.epochs.value = String(state.epochs);
  ui.batch.value = String(state.batch_size);
  ui.span.value = String(state.span);
  ui.resolution.value = String(state.n);
  ui.seed.value = String(state.seed);
  ui.d3.checked = state.d3;
}

/** Read every field; mark the refused ones. Returns true when all are valid (state updated). */
function readForm() {
  const int = (s) => (/^\s*\d+\s*$/.test(s) ? Number.parseInt(s, 10) : undefined);
  /** @type {Array<[any, string, (s: string) => any]>} */
  const fields = [
    [ui.dataset, "dataset", (s) => s],
    [ui.optimizer, "optimizer", (s) => s],
    [ui.hidden, "hidden", (s) => (s.trim() === "" ? [] : s.split(",").map((t) => Number(t.trim())))],
    [ui.lr, "lr", Number],
    [ui.epochs, "epochs", int],
    [ui.batch, "batch_size", int],
    [ui.span, "span", Number],
    [ui.resolution, "n", int],
    [ui.seed, "seed", int],
  ];
  let ok = true;
  const next = {};
  for (const [input, key, parse] of fields) {
    const v = parse(input.value);
    const good = v !== undefined && (typeof v !== "number" || Number.isFinite(v)) && SCHEMA[key].validate(v);
    input.setAttribute("aria-invalid", String(!good));
    if (good) next[key] = v;
    ok = ok && good;
  }
  if (ok) Object.assign(state, next);
  return ok;
}

function bindControls() {
  ui.form.addEventListener("submit", (e) => {
    e.preventDefault();
    if (!readForm()) {
      ui.status.textContent = t("landscape.invalid");
      return;
    }
    save();
    compute();
  });
  // selects redraw at once; typed fields wait for Draw or Enter
  for (const select of [ui.dataset, ui.optimizer, ui.resolution]) select.addEventListener("change", () => ui.form.requestSubmit());
  ui.d3.addEventListener("change", () => {
    state.d3 = ui.d3.checked;
    save();
    show3d(state.d3);
  });
  ui.copy.addEventListener("click", () => copyLink(shareUrl(SCHEMA, state), ui.copy, ui.link));
}


// Read-only hooks for the browser tests.
window.__landscape = {
  ready: () => Boolean(result) && Boolean(contour.base.data),
  grid: () => (result ? { n: result.alphas.length, span: result.alphas[result.alphas.length - 1] } : null),
  epochs: () => result?.path.epoch.length ?? 0,
  drawnPathPoints: () => contour.drawnPoints,
  contourDrawn: () => contour.base.data?.[0]?.type === "contour" && contour.base.data[0].z.length,
  surface3dDrawn: () => ui.plot3d.data?.[0]?.type === "surface" && !ui.plot3d.hidden,
  webgl: () => webgl,
  state: () => structuredClone(state),
};

// ------------------------------------------------------------------------------------------ embedding
const SETTABLE = { lr: "lr", epochs: "epochs", batch_size: "batch_size", batch: "batch_size", span: "span", seed: "seed", n: "n" };

async function setFromHost(_run, hyperparameters) {
  const next = { ...state };
  for (const [name, value] of Object.entries(hyperparameters)) {
    const key = SETTABLE[name];
    if (!key || !SCHEMA[key].validate(value)) throw new Error(`cannot set ${name} = ${value} (${Object.keys(SETTABLE).join(", ")})`);
    next[key] = value;
  }
  Object.assign(state, next);
  fillControls();
  save();
  return compute();
}

const refuse = (what) => async () => {
  throw new Error(`${what}: this view computes the slice over REST; use gdp:play to recompute`);
};
const embed = registerView(
  "landscape",
  {
    play: compute,
    pause: refuse("pause"),
    step: refuse("step"),
    reset: () => setFromHost(null, Object.fromEntries(Object.keys(SETTABLE).filter((k) => k !== "batch").map((k) => [k, SCHEMA[SETTABLE[k]].default]))),
    set: setFromHost,
  },
  { query: () => encodeState(SCHEMA, state), height: 1050 },
);

fillControls();
bindControls();
save();
embed.ready();
compute();
