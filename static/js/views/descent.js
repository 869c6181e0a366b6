// @ts-check
// The live descent view shared by /playground and /race: URL state, controls, the stream session, and a
// requestAnimationFrame loop that draws whatever steps arrived since the last frame.
import { curvature, embeddedRegistry, surfaceGrid } from "../client.js";
import { LiveSession, exposeHook } from "../live.js";
import { RunStore, auxKinds, column, followRuns } from "../runs.js";
import { formatNumber, t } from "../i18n.js";
import { encodeState, readState, shareUrl, writeState } from "../state.js";
import { ContourWithOverlay, LossPlot, Surface3D, clipSegment, evaluatedDots, hasWebGL, thin } from "../plot.js";
import { styleOf } from "../theme.js";
import { el, hyperparameterFields, showExpressionError } from "../controls.js";
import { copyLink } from "../share.js";
import { ledgerRows, plainRule, stepSizeBox } from "../ledger.js";
import { TUNE_COUNTS, TUNE_HIGH, TUNE_LOW, clipFields, clipState, fairConfig, tuningFacts } from "../fair.js";
import { curvatureCross, curvatureErrorText, debounce } from "../curvature.js";

/** Runs the URL may carry before the server's hello says its own limit (hello.limits.max_runs). */
const URL_MAX_RUNS = 64;
const GRID = 150;
const CURVATURE_INK = "#6a1b9a"; // the eigen-direction cross: a purple no run colour takes

/**
 * The race's fairness keys (docs/api.md "A fair race"): `tune` = candidates of the learning-rate search (0 =
 * none), `budget` = what `steps` counts, `clip` = the gradient norm every run that can take it is clipped to
 * (0 = off).
 */
const FAIR_KEYS = {
  tune: { type: "int", default: 0, validate: (v) => v === 0 || (v >= TUNE_COUNTS.min && v <= TUNE_COUNTS.max) },
  budget: { type: "string", default: "steps", validate: (v) => v === "steps" || v === "evaluations" },
  clip: { type: "number", default: 0, validate: (v) => v >= 0 && v <= 1e6 },
};

/** The URL-state table of a descent view; `defaults` differ between the playground and the race (`fair`). */
export function makeSchema(defaults, fair = false) {
  return {
    ...(fair ? FAIR_KEYS : {}),
    surface: { type: "string", default: defaults.surface },
    params: { type: "json", default: {}, validate: (v) => v && typeof v === "object" && !Array.isArray(v) },
    expression: { type: "string", default: "", aliases: ["expr"] },
    start: { type: "numbers", default: null, validate: (v) => v.length === 2 },
    runs: { type: "json", default: defaults.runs, validate: validRuns },
    steps: { type: "int", default: defaults.steps, validate: (v) => v >= 1 && v <= 100000 },
    speed: { type: "string", default: String(defaults.speed), validate: (v) => v === "max" || Number(v) > 0 },
    d3: { type: "bool", default: false },
    arrows: { type: "bool", default: defaults.arrows },
    curv: { type: "bool", default: false },
  };
}

function validRuns(runs) {
  return (
    Array.isArray(runs) &&
    runs.length <= URL_MAX_RUNS &&
    runs.every((r) => r && typeof r.optimizer === "string" && typeof r.id === "string")
  );
}


/** A run's key: its colour in the shape of its marker on the contour (circle, square, diamond, triangle). */
function swatch(/** @type {{color: string, symbol: string}} */ look) {
  return el("span", { class: `swatch swatch-${look.symbol}`, style: `background:${look.color}` });
}

/**
 * Build the view inside `root` (the page's <main>). `options.mode` is "playground" or "race"; the race adds
 * a results table and starts every optimizer from one shared start.
 */
export function mountDescentView(root, options) {
  const registry = embeddedRegistry();
  // optimizers whose rule degenerates on a 2-vector are not offered on surfaces (the registry says why)
  const optimizers = new Map(registry.optimizers.filter((o) => o.surfaces?.offered !== false).map((o) => [o.name, o]));
  const notOffered = registry.optimizers.filter((o) => o.surfaces?.offered === false);
  const surfaces = new Map(registry.surfaces.filter((s) => s.dim === 2).map((s) => [s.name, s]));
  const race = options.mode === "race";
  const schema = makeSchema(options.defaults, race);
  const state = readState(schema);
  state.runs = state.runs.filter((r) => optimizers.has(r.optimizer));
  if (!surfaces.has(state.surface) && state.surface !== "custom") state.surface = options.defaults.surface;

  const $ = (sel) => root.querySelector(sel);
  const ui = {
    surface: $("#surface"), formula: $("#formula"), note: $("#surface-note"), params: $("#surface-params"),
    exprForm: $("#expr-form"), expr: $("#expr"), exprError: $("#expr-error"),
    runs: $("#runs"), addSelect: $("#add-optimizer"), addButton: $("#add-run"),
    d3: $("#toggle-3d"), arrows: $("#toggle-arrows"), copy: $("#copy-link"), link: $("#share-url"),
    status: $("#status"), readouts: $("#readouts"), results: $("#results tbody"),
    plot2d: $("#contour"), plot3d: $("#surface3d"), webgl: $("#webgl-missing"), loss: $("#loss"),
    startOut: $("#start-out"), arrowsKey: $("#arrows-key"), auxKey: $("#aux-key"),
    budgetN: $("#budget-n"), budget: $("#budget"), tune: $("#tune"), tuneCount: $("#tune-count"),
    clip: $("#clip"), clipNorm: $("#clip-norm"), notOffered: $("#not-offered"), fairSays: $("#fair-says"), tuneNote: $("#tune-note"),
    ledger: $("#ledger"), ledgerHint: $("#ledger-hint"), ledgerBody: $("#ledger-body"), ledgerRun: $("#ledger-run"),
    curv: $("#toggle-curv"), curvReadout: $("#curv-readout"),
    ledgerStep: $("#ledger-step"), ledgerRule: $("#ledger-rule"), ledgerRows: $("#ledger-rows"),
  };

  const contour = new ContourWithOverlay(ui.plot2d, { onPick: (x, y) => setStart([x, y]) });
  contour.onRangeChange = () => (dirty.overlay = true);
  const lossPlot = new LossPlot(ui.loss);
  const surface3d = new Surface3D(ui.plot3d);
  const webgl = hasWebGL();

  let surface = null; // the loaded surface with its grid
  let expressionOk = true;
  const data = new RunStore(); // run id -> every column in full (drawing thins a copy), plus how it ended
  const dirty = { overlay: true, loss: true, readout: true, d3: true };
  const perf = {
    frames: 0, maxPoints: 2000, last: 0,
    cost: { overlay: 0, loss: 0, readout: 0 }, draws: { overlay: 0, loss: 0, readout: 0 },
  };

  // ---------- state helpers ----------
  const save = () => writeState(schema, state);
  const runIndex = (id) => state.runs.findIndex((r) => r.id === id);
  const styleFor = (id) => styleOf(Math.max(0, runIndex(id)));
  const startPoint = () => state.start ?? surface?.start ?? [0, 0];
  const maxRuns = () => session.limits?.max_runs ?? URL_MAX_RUNS;
  const evaluating = (name) => Boolean(optimizers.get(name)?.evaluating);
  const formatRate = (lr) => formatNumber(lr, { small: 1e-5 }); // a learning rate: 0.0001, not 1.00e-4
  /** What a run's data keeps of its `started` entry beyond its steps: colour, learning-rate search, clipping. */
  const runExtra = (run) => ({
    ...styleFor(run.id), tuning: run.tuning ?? null, clip_norm: run.clip_norm ?? null, clip_value: run.clip_value ?? null,
  });

  function config() {
    const cfg = {
      surface: state.surface,
      params: state.surface === "custom" ? {} : state.params,
      start: startPoint(),
      steps: state.steps,
      runs: state.runs.map((r) => ({ id: r.id, optimizer: r.optimizer, hyperparameters: r.hyperparameters ?? {} })),
    };
    if (state.surface === "custom") cfg.expression = state.expression;
    if (!race) return cfg;
    const fair = fairConfig(/** @type {any} */ (state), cfg.runs, evaluating);
    return { ...cfg, ...fair.cfg, runs: fair.runs };
  }

  // ---------- stream ----------
  const session = new LiveSession({
    name: options.mode,
    config,
    canStart: () => expressionOk && Boolean(surface),
    stepRestarts: true,
    speed: { get: () => state.speed, set: (speed) => { state.speed = speed; save(); } },
    words: (status) => t(`descent.status.${status}`),
    starting: () => (tune() ? t("race.status.tuning", { count: state.tune }) : null), // the search comes first
    on: {
      ...followRuns(data, () => session, markDirty, runExtra),
      steps: (msg) => {
        for (const [id, step] of data.append(msg)) session.embed.step(id, step);
        markDirty();
        if (session.status === "paused") askLedger();
      },
      updated: (msg) => {
        const run = data.get(msg.run);
        if (run) run.hyperparameters = msg.hyperparameters;
      },
      run_added: (msg) => data.add(msg.run, runExtra(msg.run)),
      run_removed: (msg) => {
        data.delete(msg.run);
        markDirty();
      },
      ledger: (msg) => showLedger(msg),
      open: () => renderRuns(),
    },
    onReset: () => {
      data.clear();
      hideLedger();
      markDirty();
    },
    onStatus: (status) => (status === "paused" ? askLedger() : hideLedger()),
    embed: { set: setFromHost, query: () => encodeState(schema, state), height: options.mode === "race" ? 2050 : 1300 },
  });
  const reset = () => session.reset();
  const restartIfRunning = () => session.restartIfRunning();

  function markDirty() {
    dirty.overlay = dirty.loss = dirty.readout = dirty.d3 = true;
  }

  // ---------- surface ----------
  async function loadSurface() {
    const name = state.surface;
    ui.surface.value = name;
    ui.exprForm.hidden = name !== "custom";
    renderSurfaceParams();
    try {
      const loaded =
        name === "custom"
          ? await surfaceGrid("custom", { grid: GRID, expression: state.expression || "x**2 + 10*y**2" })
          : await surfaceGrid(name, { grid: GRID, params: state.params });
      showExpressionError(ui.exprError, "", null);
      ui.expr.setAttribute("aria-invalid", "false");
      expressionOk = true;
      surface = loaded;
      ui.formula.textContent = `f(x, y) = ${loaded.formula}`;
      // the page's registry carries the note in the page's language; the REST answer is English
      ui.note.textContent = surfaces.get(name)?.note ?? loaded.note ?? "";
      const title = surfaces.get(name)?.title ?? `f(x, y) = ${loaded.formula}`;
      for (const named of root.querySelectorAll("[data-explain=surface]")) named.textContent = title;
      await contour.drawSurface(loaded);
      surface3d.setSurface(loaded, contour.scale);
      markDirty();
    } catch (error) {
      if (name === "custom" && error.status === 422) {
        expressionOk = false;
        ui.expr.setAttribute("aria-invalid", "true");
        showExpressionError(ui.exprError, state.expression, error.detail);
      } else {
        session.say(t("error.surface", { message: error.message }));
      }
    }
    updateStartOut();
    session.setStatus(session.status === "finished" ? "idle" : session.status);
  }

  function renderSurfaceParams() {
    ui.params.replaceChildren();
    const spec = surfaces.get(state.surface);
    for (const p of spec?.parameters ?? []) {
      const id = `param-${p.name}`;
      const input = el("input", {
        id, type: "number", step: "any", min: p.minimum, max: p.maximum,
        value: String(state.params[p.name] ?? p.default), title: p.description,
      });
      input.addEventListener("change", () => {
        const v = Number(input.value);
        const ok = input.value !== "" && Number.isFinite(v) && v >= p.minimum && v <= p.maximum;
        input.setAttribute("aria-invalid", String(!ok));
        if (!ok) return;
        state.params = { ...state.params, [p.name]: v };
        save();
        reset();
        loadSurface();
      });
      ui.params.append(el("div", { class: "field" }, el("label", { for: id, text: p.name.replace("_", " ") }), input));
    }
  }

  function chooseSurface(name) {
    state.surface = name;
    state.params = {};
    state.start = null;
    if (name === "custom" && !state.expression) state.expression = "x**2 + 10*y**2";
    ui.expr.value = state.expression;
    save();
    reset();
    loadSurface();
  }

  function setStart(point) {
    state.start = point.map((v) => Number(v.toFixed(3)));
    save();
    updateStartOut();
    restartIfRunning();
    dirty.overlay = true;
  }

  function updateStartOut() {
    const [x, y] = startPoint();
    ui.startOut.textContent = t("common.point", { x: formatNumber(x), y: formatNumber(y) });
  }

  // ---------- runs ----------
  function newRunId(optimizer) {
    let id = optimizer;
    for (let k = 2; state.runs.some((r) => r.id === id); k++) id = `${optimizer}-${k}`;
    return id;
  }

  function renderRuns() {
    ui.runs.replaceChildren();
    state.runs.forEach((run, index) => {
      const opt = optimizers.get(run.optimizer);
      const values = { ...Object.fromEntries(opt.hyperparameters.map((h) => [h.name, h.default])), ...run.hyperparameters };
      const remove = el("button", { type: "button", class: "icon", "aria-label": t("descent.remove_run", { run: run.id }), text: "✕" });
      remove.addEventListener("click", () => removeRun(run.id));
      remove.disabled = state.runs.length <= 1;
      const fields = hyperparameterFields(opt, values, (name, value) => setHyperparameter(run.id, name, value), run.id);
      const head = el(
        "div",
        { class: "run-head" },
        swatch(styleOf(index)),
        el("strong", { text: run.id }),
        el("span", { class: "muted", text: opt.title }),
        remove,
      );
      ui.runs.append(el("li", { class: "run-card", dataset: { run: run.id } }, head, fields));
    });
    ui.addButton.disabled = state.runs.length >= maxRuns();
  }

  function setHyperparameter(id, name, value) {
    const run = state.runs[runIndex(id)];
    if (!run) return;
    run.hyperparameters = { ...(run.hyperparameters ?? {}), [name]: value };
    save();
    const live = data.get(id);
    if (live && !live.end) session.send((client) => client.set(id, { [name]: value }));
  }

  function addRun() {
    if (state.runs.length >= maxRuns()) return;
    const optimizer = ui.addSelect.value;
    const opt = optimizers.get(optimizer);
    const run = { id: newRunId(optimizer), optimizer, hyperparameters: { lr: opt.hyperparameters.find((h) => h.name === "lr").default } };
    state.runs.push(run);
    save();
    renderRuns();
    session.send((client) => client.addRun({ ...run, start: null, ...(race ? clipFields(state.clip, optimizer, evaluating) : {}) }));
    markDirty();
  }

  function removeRun(id) {
    if (state.runs.length <= 1) return;
    state.runs.splice(runIndex(id), 1);
    save();
    session.send((client) => client.removeRun(id));
    data.delete(id);
    for (const run of data.values()) Object.assign(run, styleFor(run.id));
    renderRuns();
    markDirty();
  }

  // ---------- explain this update (the ledger) ----------
  let ledger = null; // the last `ledger` message while paused, drawn as the next update and its box
  let ledgerAsked = false;

  function askLedger() {
    if (!ui.ledger || ledgerAsked) return;
    const ids = [...data.values()].filter((run) => !run.end).map((run) => run.id);
    if (!ids.length) return hideLedger();
    const chosen = ids.includes(ui.ledgerRun.value) ? ui.ledgerRun.value : ids[0];
    ui.ledgerRun.replaceChildren(...ids.map((id) => el("option", { value: id, text: id })));
    ui.ledgerRun.value = chosen;
    ledgerAsked = session.send((client) => client.explain(chosen));
  }

  ui.ledgerRun?.addEventListener("change", () => {
    ledgerAsked = false;
    askLedger();
    dirty.overlay = true; // the curvature cross follows the chosen run
  });

  function hideLedger() {
    ledgerAsked = false;
    if (!ui.ledger) return;
    ledger = null;
    ui.ledgerBody.hidden = true;
    ui.ledgerHint.hidden = false;
    dirty.overlay = true;
  }

  function showLedger(msg) {
    ledgerAsked = false;
    if (session.status !== "paused") return;
    ledger = msg;
    const words = (key, fallback) => {
      const text = t(key);
      return text === key ? fallback : text;
    };
    ui.ledgerStep.textContent = t("ledger.step", { run: msg.run, step: msg.step, next: msg.step + 1 });
    ui.ledgerRule.textContent = plainRule(msg.update_rule);
    ui.ledgerRows.replaceChildren(
      ...ledgerRows(msg, words).map((row) =>
        el("tr", { class: row.kind },
          el("td", { text: row.label }),
          ...row.values.map((v) => el("td", { text: v === null ? "—" : typeof v === "boolean" ? String(v) : formatNumber(v, { digits: 4, expDigits: 3 }) })),
        ),
      ),
    );
    ui.ledgerHint.hidden = true;
    ui.ledgerBody.hidden = false;
    dirty.overlay = true;
  }

  /** The explained next update (dashed, to x_{t+1}) and the per-coordinate step-size box, while paused. */
  function ledgerTraces() {
    if (!ledger) return [];
    const color = data.get(ledger.run)?.color ?? "#111";
    const [px, py] = ledger.point;
    /** @type {object[]} */
    const traces = [{
      type: "scatter", mode: "lines+markers", x: [px, px + ledger.update[0]], y: [py, py + ledger.update[1]], meta: "ledger",
      line: { color, width: 2, dash: "dot" }, marker: { size: [0, 9], color, symbol: "circle-open" },
    }];
    const box = stepSizeBox(ledger);
    if (box) traces.push({ type: "scatter", mode: "lines", ...box, meta: "ledger-box", line: { color, width: 1.5, dash: "dash" } });
    return traces;
  }

  // ---------- curvature at the current point (the Hessian's eigen-directions as a cross) ----------
  // The point: the start before a run, the chosen (ledger) or first run's current point when paused or
  // finished; nothing while running. One request per point that settles for 150 ms, never per frame.
  let curv = null; // {key, point, answer} of the point drawn
  let curvKey = ""; // the point asked for last

  function curvaturePoint() {
    if (session.status === "running") return null;
    const runs = [...data.values()].filter((run) => run.cols.x.length);
    if (!runs.length) return startPoint();
    const run = (ui.ledgerRun && data.get(ui.ledgerRun.value)?.cols.x.length ? data.get(ui.ledgerRun.value) : null) ?? runs[0];
    const n = run.cols.x.length;
    return [run.cols.x[n - 1], run.cols.y[n - 1]];
  }

  const askCurvature = debounce(async (key, point) => {
    try {
      const answer = await curvature(state.surface === "custom" ? "custom" : state.surface, point,
        state.surface === "custom" ? { expression: state.expression || "x**2 + 10*y**2" } : { params: state.params });
      if (key === curvKey) showCurvature({ key, point, answer });
    } catch (error) {
      // a diverged point or a kink (Ackley's tip): no Hessian there
      if (key === curvKey) showCurvature({ key, point, answer: null, error });
    }
  }, 150);

  function refreshCurvature() {
    if (!ui.curv || !state.curv || !surface) return curvKey && showCurvature(null);
    const point = curvaturePoint();
    if (!point || !point.every(Number.isFinite)) return curvKey && showCurvature(null);
    const key = JSON.stringify([state.surface, state.params, state.expression, point]);
    if (key === curvKey) return;
    curvKey = key;
    askCurvature(key, point);
  }

  function showCurvature(value) {
    if (!value) curvKey = "";
    curv = value;
    dirty.overlay = true;
    if (!ui.curvReadout) return;
    ui.curvReadout.hidden = !state.curv;
    const a = value?.answer;
    const number = (v) => formatNumber(v, { digits: 4, expDigits: 3, plus: false });
    const field = (name, text) => el("b", { dataset: { field: name }, text });
    if (!value) {
      ui.curvReadout.replaceChildren(t("curv.waiting"));
    } else if (!a) {
      ui.curvReadout.replaceChildren(curvatureErrorText(value.error, t));
    } else {
      const lambdas = a.eigenvalues;
      ui.curvReadout.replaceChildren(
        el("span", { text: `${t("curv.at", { x: number(value.point[0]), y: number(value.point[1]) })} ` }),
        "λmax = ", field("lambda_max", number(a.lambda_max)), " · λmin = ", field("lambda_min", number(lambdas[0])),
        " · 2/λmax = ", field("edge", a.two_over_lambda_max === null ? t("curv.no_edge") : number(a.two_over_lambda_max)),
        el("br"), el("small", { class: "muted", text: t("curv.key") }),
      );
    }
  }

  /** The cross: one arm per eigenvector, half-length ∝ |λ_i|/max|λ| (curvature.js); dashed where λ < 0. */
  function curvatureTraces() {
    if (!state.curv || !curv?.answer || !contour.range) return [];
    const number = (v) => formatNumber(v, { digits: 3, expDigits: 2, plus: false });
    // each arm's value at its far end (the short arm of a flat direction stays identifiable)
    return curvatureCross(curv.answer, curv.point, contour.range).map((arm, i) => ({
      type: "scatter", mode: "lines+text", x: arm.x, y: arm.y, meta: "curvature", name: `λ${i + 1}`,
      text: ["", `λ${i + 1} = ${number(arm.lambda)}`], textposition: "middle right", cliponaxis: false,
      textfont: { color: CURVATURE_INK, size: 12 }, hoverinfo: "skip",
      line: { color: CURVATURE_INK, width: 3.5, dash: arm.negative ? "dash" : "solid" },
    }));
  }

  // ---------- drawing ----------
  function overlayTraces() {
    const traces = [];
    const [sx, sy] = startPoint();
    traces.push({
      type: "scatter", mode: "markers", x: [sx], y: [sy], meta: "start",
      marker: { symbol: "x-thin", size: 14, line: { width: 3, color: "#1d2430" } },
    });
    for (const run of data.values()) {
      const { x, y } = thin(run.cols.x, run.cols.y, perf.maxPoints, Math.min(500, perf.maxPoints / 4));
      traces.push({ type: "scatter", mode: "lines", x, y, meta: "path", line: { color: run.color, width: 2.5, dash: run.dash } });
    }
    // an optimizer's second point (schedule-free's eval point, ASGD's average): dotted, hollow marker
    for (const run of data.values()) {
      for (const name of auxKinds(run.auxColumns).points) {
        const xs = column(run, `${name}_x`);
        const ys = column(run, `${name}_y`);
        const { x, y } = thin(xs, ys, perf.maxPoints, Math.min(500, perf.maxPoints / 4));
        traces.push({ type: "scatter", mode: "lines", x, y, meta: `aux-${name}`, line: { color: run.color, width: 2, dash: "dot" } });
        const n = xs.length;
        if (n && xs[n - 1] !== null) {
          traces.push({
            type: "scatter", mode: "markers", x: [xs[n - 1]], y: [ys[n - 1]], meta: `aux-${name}-current`,
            marker: { size: 11, symbol: "diamond-open", color: run.color, line: { color: run.color, width: 2.5 } },
          });
        }
      }
    }
    for (const run of data.values()) {
      if (!run.cols.evaluated) continue; // only optimizers that evaluate inside a step (L-BFGS, SAM)
      const dots = evaluatedDots(run.cols.evaluated);
      traces.push({
        type: "scatter", mode: "markers", x: dots.x, y: dots.y, meta: "evaluated",
        marker: { size: 5, color: run.color, opacity: 0.75, line: { color: "#fff", width: 0.5 } },
      });
    }
    for (const run of data.values()) {
      const n = run.cols.x.length;
      if (!n) continue;
      traces.push({
        type: "scatter", mode: "markers", x: [run.cols.x[n - 1]], y: [run.cols.y[n - 1]], meta: "current",
        marker: { size: 12, color: run.color, line: { color: "#fff", width: 2 }, symbol: run.end?.reason === "diverged" ? "x" : run.symbol },
      });
    }
    traces.push(...ledgerTraces(), ...curvatureTraces());
    return traces;
  }

  /** Which second points are drawn, for the key under the contour (none: the key hides). */
  function auxPointNames() {
    const names = new Set();
    for (const run of data.values()) for (const name of auxKinds(run.auxColumns).points) names.add(name);
    return [...names];
  }

  /**
   * Arrows at the latest step of each run, both from the previous point: −lr·∇f (the plain gradient step,
   * step size = slope × learning rate) in black and the update actually made in the run's colour. With
   * momentum or Adam the two differ; that gap is the optimizer's memory at work. Tiny steps are lengthened
   * by a common factor per run so they stay visible.
   */
  function arrowAnnotations() {
    if (!state.arrows || !contour.range) return [];
    const width = Math.abs(contour.range.x[1] - contour.range.x[0]);
    const notes = [];
    for (const run of data.values()) {
      const c = run.cols;
      const t = c.x.length - 1;
      if (t < 1 || c.update_x[t] === null) continue;
      const px = c.x[t - 1];
      const py = c.y[t - 1];
      const gx = -c.lr[t - 1] * c.grad_x[t - 1];
      const gy = -c.lr[t - 1] * c.grad_y[t - 1];
      const ux = c.update_x[t];
      const uy = c.update_y[t];
      const longest = Math.max(Math.hypot(gx, gy), Math.hypot(ux, uy));
      if (!(longest > 0) || !Number.isFinite(longest)) continue;
      const k = longest < 0.08 * width ? Math.min((0.08 * width) / longest, 1e6) : Math.min(1, (0.3 * width) / longest);
      // only the part inside the plot area is drawn; an arrow cut at the edge loses its head
      const arrow = (dx, dy, color) => {
        const s = clipSegment(px, py, px + k * dx, py + k * dy, contour.range);
        return s && {
          x: s.x1, y: s.y1, ax: s.x0, ay: s.y0, xref: "x", yref: "y", axref: "x", ayref: "y",
          showarrow: true, arrowhead: s.head ? 2 : 0, arrowsize: 1.1, arrowwidth: 2.2, arrowcolor: color, text: "",
        };
      };
      for (const note of [arrow(gx, gy, "#111"), arrow(ux, uy, run.color)]) if (note) notes.push(note);
    }
    return notes;
  }

  function lossSeries() {
    return [...data.values()].map((run) => {
      // a 260 px tall plot cannot show more than a few hundred points a line; fewer points, cheaper redraws
      const { x, y } = thin(run.cols.step, run.cols.loss, 600, 150);
      return { name: run.id, color: run.color, dash: run.dash, x, y };
    });
  }

  /** Scalar aux columns (Prodigy's step-size estimate d) over the steps, for the loss plot's right axis. */
  function auxSeries() {
    const out = [];
    for (const run of data.values()) {
      for (const name of auxKinds(run.auxColumns).scalars) {
        const { x, y } = thin(run.cols.step, column(run, name), 600, 150);
        out.push({ name: t(`descent.aux_series.${name}`, { run: run.id }), color: run.color, x, y });
      }
    }
    return out;
  }

  function readoutRow(run) {
    const n = column(run, "step").length;
    const last = (c) => (n ? column(run, c)[n - 1] : null);
    return {
      step: n ? String(last("step")) : "–",
      loss: formatNumber(last("loss")),
      grad: formatNumber(last("grad_norm")),
      lr: formatNumber(last("lr") ?? run.hyperparameters.lr),
      end: run.end ? t(`end.${run.end.reason}`) : n ? t("common.running") : t("common.waiting"),
    };
  }

  function renderReadouts() {
    const rows = state.runs.map((r) => data.get(r.id) ?? data.blank(r, styleFor(r.id)));
    ui.readouts.replaceChildren(
      ...rows.map((run) => {
        const v = readoutRow(run);
        const item = (label, field, value) => el("div", {}, el("dt", { text: label }), el("dd", { dataset: { field }, text: value }));
        return el(
          "div",
          { class: "readout", dataset: { run: run.id }, style: `--run:${run.color}` },
          el("h3", {}, swatch(run), run.id),
          el("dl", {}, item(t("common.step_lc"), "step", v.step), item(t("common.loss"), "loss", v.loss), item("|∇f|", "grad", v.grad), item(t("common.learning_rate"), "lr", v.lr)),
          el("p", { class: `end end-${run.end?.reason ?? "none"}`, dataset: { field: "end" }, text: v.end, title: run.end?.detail ?? "" }),
        );
      }),
    );
    if (ui.results) renderResults(rows);
    sayFairness();
  }

  // each cell carries its column's header as data-label: on a phone the rows stack as cards that print it
  const resultLabels = [...root.querySelectorAll("#results thead th")].map((th) => th.textContent ?? "");

  /** The results row of each run, kept between frames so a click on its details is never lost. */
  const resultRows = new Map(); // run id -> {run, color, tr, cells}

  function renderResults(rows) {
    const trs = rows.map((run) => {
      let row = resultRows.get(run.id);
      if (!row || row.run !== run || row.color !== run.color) {
        row = resultRow(run);
        resultRows.set(run.id, row);
      }
      fillResultRow(row, run);
      return row.tr;
    });
    for (const id of [...resultRows.keys()]) if (!rows.some((run) => run.id === id)) resultRows.delete(id);
    const shown = ui.results.children;
    if (trs.length !== shown.length || trs.some((tr, i) => shown[i] !== tr)) ui.results.replaceChildren(...trs);
  }

  function resultRow(run) {
    const fields = ["lr", "clip", "step", "evaluations", "converge", "loss", "distance", "end"];
    const cells = Object.fromEntries(fields.map((field, i) => [field, el("td", { dataset: { label: resultLabels[i + 1], field } })]));
    const facts = tuningFacts(run.tuning);
    if (facts) cells.lr.append(tuningDetails(run, facts));
    const clip = clipState(run, evaluating(run.optimizer));
    cells.clip.textContent = t(`race.clip.${clip}`, { norm: formatNumber(run.clip_norm ?? 0), value: formatNumber(run.clip_value ?? 0) });
    cells.clip.className = `clip clip-${clip}`;
    const tr = el("tr", { dataset: { run: run.id } }, el("th", { scope: "row" }, swatch(run), run.id), ...Object.values(cells));
    return { run, color: run.color, tr, cells, tuned: Boolean(facts) };
  }

  /** The tuned learning rate, unfolding into every candidate and the final loss it reached. */
  function tuningDetails(run, facts) {
    const chosen = facts.chosen >= 0 ? formatRate(facts.rows[facts.chosen].lr) : t("race.lr.all_diverged", { lr: formatNumber(run.hyperparameters.lr) });
    const summary = el("summary", {}, el("span", { dataset: { field: "tuned-lr" }, text: chosen }), " ", el("span", { class: "muted", text: t("race.lr.tuned") }));
    const rows = facts.rows.map((row, i) =>
      el("tr", { class: i === facts.chosen ? "chosen" : "" },
        el("td", { text: formatRate(row.lr) }),
        el("td", { text: row.loss === null ? t("end.diverged") : formatNumber(row.loss) }),
      ),
    );
    const head = el("tr", {}, el("th", { scope: "col", text: t("common.learning_rate") }), el("th", { scope: "col", text: t("race.col.final_loss") }));
    const details = el("details", { class: "tuning" }, summary, el("table", { class: "candidates" }, el("thead", {}, head), el("tbody", {}, ...rows)));
    if (openTunings.has(run.id)) details.open = true;
    details.addEventListener("toggle", () => (details.open ? openTunings.add(run.id) : openTunings.delete(run.id)));
    return details;
  }
  const openTunings = new Set(); // runs whose candidates the learner unfolded (kept across descents)

  function fillResultRow(row, run) {
    const n = column(run, "step").length;
    const s = run.summary;
    const loss = s ? s.final_loss : n ? column(run, "loss")[n - 1] : null;
    const set = (field, text) => {
      if (row.cells[field].textContent !== text) row.cells[field].textContent = text;
    };
    if (!row.tuned) set("lr", tune() && n ? t("race.lr.not_tuned", { lr: formatNumber(run.hyperparameters.lr) }) : formatNumber(run.hyperparameters.lr));
    set("step", n ? String(run.cols.step[n - 1]) : "–");
    set("evaluations", s ? String(s.evaluations) : "…");
    set("converge", s ? String(s.steps_to_converge ?? t("race.not_converged")) : "…");
    set("loss", formatNumber(loss));
    set("distance", s ? formatNumber(s.distance_to_nearest_minimum) : "…");
    set("end", run.end ? t(`end.${run.end.reason}`) : n ? t("common.running") : "–");
    row.cells.end.className = `end end-${run.end?.reason ?? "none"}`;
    if (run.end?.detail) row.cells.end.title = run.end.detail;
  }

  // ---------- a fair race: budget, learning-rate search, clipping ----------
  const tune = () => race && state.tune > 0;

  /** The race's settings in words, under the results' title: what each run may spend, tuning, clipping. */
  function sayFairness() {
    if (!ui.fairSays) return;
    const amount = t(`race.says.n_${state.budget}`, { n: state.steps });
    const words = [];
    const searched = [...data.values()].map((run) => tuningFacts(run.tuning)).find(Boolean);
    if (searched) {
      const n = t(`race.says.n_${searched.kind}`, { n: searched.amount });
      words.push(t("race.says.tuned", { count: searched.count, low: formatRate(searched.low), high: formatRate(searched.high), amount: n }));
    } else if (tune()) {
      words.push(t("race.says.tune", { count: state.tune, low: formatRate(TUNE_LOW), high: formatRate(TUNE_HIGH), amount }));
    } else {
      words.push(t("race.says.budget", { amount }));
    }
    if (state.clip > 0) {
      const own = [...new Set(state.runs.filter((r) => evaluating(r.optimizer)).map((r) => optimizers.get(r.optimizer).title))];
      const norm = formatNumber(state.clip);
      words.push(own.length ? t("race.says.clip_some", { norm, own: own.join(", ") }) : t("race.says.clip_all", { norm }));
    }
    const text = words.join(" ");
    if (ui.fairSays.textContent !== text) ui.fairSays.textContent = text;
    ui.tuneNote.hidden = !tune();
  }

  function bindFairness() {
    if (!ui.budget) return;
    const changed = () => {
      save();
      sayFairness();
      restartIfRunning();
    };
    ui.budgetN.value = String(state.steps);
    ui.budgetN.addEventListener("change", () => {
      const v = Number(ui.budgetN.value);
      const ok = Number.isInteger(v) && v >= 1 && v <= 100000;
      ui.budgetN.setAttribute("aria-invalid", String(!ok));
      if (!ok) return;
      state.steps = v;
      changed();
    });
    ui.budget.value = state.budget;
    ui.budget.addEventListener("change", () => {
      state.budget = ui.budget.value;
      changed();
    });
    /** A checkbox that turns on a number (0 in the state = off); the number is kept only while valid. */
    const bindToggled = (box, input, value, fallback, valid, set) => {
      box.checked = value > 0;
      input.value = String(value || fallback);
      input.disabled = !box.checked;
      const apply = () => {
        const v = Number(input.value);
        const ok = valid(v, input.value);
        input.setAttribute("aria-invalid", String(!ok));
        input.disabled = !box.checked;
        if (!ok && box.checked) return;
        set(box.checked ? v : 0);
        changed();
      };
      box.addEventListener("change", apply);
      input.addEventListener("change", apply);
    };
    bindToggled(ui.tune, ui.tuneCount, state.tune, TUNE_COUNTS.default,
      (v) => Number.isInteger(v) && v >= TUNE_COUNTS.min && v <= TUNE_COUNTS.max,
      (v) => (state.tune = v));
    bindToggled(ui.clip, ui.clipNorm, state.clip, 1,
      (v, text) => text.trim() !== "" && Number.isFinite(v) && v > 0 && v <= 1e6,
      (v) => (state.clip = v));
    sayFairness();
  }

  function show3d(on) {
    ui.webgl.hidden = !on || webgl;
    ui.plot3d.hidden = !on || !webgl;
    ui.plot2d.hidden = on && webgl;
    ui.arrowsKey.hidden = !state.arrows || (on && webgl);
    if (on && webgl) {
      dirty.d3 = true;
      requestAnimationFrame(() => Plotly.Plots.resize(ui.plot3d));
    } else if (!on) {
      Plotly.Plots.resize(contour.base);
    }
  }

  /** One animation frame: draw what changed; loss plot every 3rd frame, 3-D at most ~4 times a second. */
  function frame(now) {
    perf.frames++;
    const interval = now - perf.last;
    perf.last = now;
    // thin harder when frames fall behind, relax when they keep up
    if (interval > 30) perf.maxPoints = Math.max(800, Math.round(perf.maxPoints * 0.95));
    else if (interval < 20 && perf.maxPoints < 2000) perf.maxPoints = Math.min(2000, perf.maxPoints + 20);
    const in3d = state.d3 && webgl;
    if (dirty.overlay && !in3d) {
      dirty.overlay = false;
      refreshCurvature();
      const t0 = performance.now();
      contour.drawOverlay(overlayTraces(), arrowAnnotations());
      const key = auxPointNames().map((name) => t(`descent.aux_key.${name}`)).join(" · ");
      if (ui.auxKey && ui.auxKey.textContent !== key) {
        ui.auxKey.textContent = key;
        ui.auxKey.hidden = !key;
      }
      perf.cost.overlay += performance.now() - t0;
      perf.draws.overlay++;
    }
    if (dirty.loss && perf.frames % 3 === 0) {
      dirty.loss = false;
      const t0 = performance.now();
      lossPlot.draw(lossSeries(), auxSeries());
      perf.cost.loss += performance.now() - t0;
      perf.draws.loss++;
    }
    if (dirty.readout && perf.frames % 3 === 1) {
      dirty.readout = false;
      const t0 = performance.now();
      renderReadouts();
      perf.cost.readout += performance.now() - t0;
      perf.draws.readout++;
    }
    if (dirty.d3 && in3d && perf.frames % 15 === 0) {
      dirty.d3 = false;
      surface3d.draw([...data.values()].map((run) => {
        const t = thin(run.cols.x, run.cols.y, 600, 200);
        const l = thin(run.cols.loss, run.cols.loss, 600, 200).x;
        return { ...t, loss: l, color: run.color, name: run.id };
      }));
    }
    requestAnimationFrame(frame);
  }

  // ---------- wiring ----------
  function bindControls() {
    for (const s of surfaces.values()) ui.surface.append(el("option", { value: s.name, text: s.title }));
    ui.surface.append(el("option", { value: "custom", text: t("descent.custom_expression") }));
    ui.surface.addEventListener("change", () => chooseSurface(ui.surface.value));
    ui.expr.value = state.expression;
    ui.exprForm.addEventListener("submit", (e) => {
      e.preventDefault();
      state.expression = ui.expr.value.trim();
      state.start = null;
      save();
      reset();
      loadSurface();
    });
    for (const o of optimizers.values()) ui.addSelect.append(el("option", { value: o.name, text: o.title }));
    ui.addButton.addEventListener("click", addRun);
    if (ui.notOffered && notOffered.length) {
      ui.notOffered.hidden = false;
      ui.notOffered.append(
        t("descent.not_offered"),
        ...notOffered.map((o) => el("span", { class: "not-offered", title: o.surfaces.reason ?? "", dataset: { optimizer: o.name } }, " ", el("strong", { text: o.title }), o.surfaces.reason ? ` (${o.surfaces.reason})` : "")),
      );
    }
    ui.d3.checked = state.d3;
    ui.d3.addEventListener("change", () => {
      state.d3 = ui.d3.checked;
      save();
      show3d(state.d3);
    });
    ui.arrows.checked = state.arrows;
    ui.arrows.addEventListener("change", () => {
      state.arrows = ui.arrows.checked;
      save();
      ui.arrowsKey.hidden = !state.arrows;
      dirty.overlay = true;
    });
    if (ui.curv) {
      ui.curv.checked = state.curv;
      ui.curv.addEventListener("change", () => {
        state.curv = ui.curv.checked;
        save();
        showCurvature(null);
      });
      showCurvature(null);
    }
    ui.copy.addEventListener("click", () => copyLink(shareUrl(schema, state), ui.copy, ui.link));
  }

  // ---------- the controller the host page drives through embed.js (postMessage) ----------
  async function setFromHost(runId, hyperparameters) {
    const ids = runId ? [runId] : state.runs.map((r) => r.id);
    if (runId && runIndex(runId) < 0) throw new Error(`no run ${runId}`);
    for (const id of ids) {
      const opt = optimizers.get(state.runs[runIndex(id)].optimizer);
      for (const [name, value] of Object.entries(hyperparameters)) {
        if (opt.hyperparameters.some((h) => h.name === name)) setHyperparameter(id, name, value);
      }
    }
    renderRuns();
  }
  // Read-only hook for the browser tests and the benchmark: they wait on these, never on sleeps.
  exposeHook("playground", {
    ledger: () => structuredClone(ledger),
    // {point, answer} of the cross drawn ({point, answer: null, error: {status, message}} without one), or null
    curvature: () => (curv ? { point: [...curv.point], answer: structuredClone(curv.answer), error: curv.error ? { status: curv.error.status, message: curv.error.message } : null } : null),
    updateAt: (id, step) => {
      const c = data.get(id)?.cols;
      const i = c ? c.step.indexOf(step) : -1;
      return i < 0 ? null : [c.update_x[i], c.update_y[i]];
    },
    pathLength: (id) => data.get(id)?.cols.x.length ?? 0,
    lastStep: (id) => {
      const s = data.get(id)?.cols.step;
      return s && s.length ? s[s.length - 1] : null;
    },
    drawnPoints: () => contour.drawnPoints,
    frames: () => perf.frames,
    cost: () => ({ ms: { ...perf.cost }, draws: { ...perf.draws }, maxPoints: perf.maxPoints }), // drawing time per part (benchmark)
    acks: () => session.acks, // `state` messages received: the server has applied a pause/resume/step/speed
    tail: (id, column, n = 1) => data.get(id)?.cols[column]?.slice(-n) ?? [],
    runIds: () => [...data.keys()],
    status: () => session.status,
    ended: (id) => data.get(id)?.end?.reason ?? null,
    state: () => structuredClone(state),
    range: () => structuredClone(contour.range),
    ready: () => Boolean(surface) && Boolean(session.hello),
  });

  bindControls();
  bindFairness();
  save();
  renderRuns();
  session.open(loadSurface().then(() => show3d(state.d3)));
  requestAnimationFrame(frame);
}
