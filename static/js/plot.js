// @ts-check
// Shared Plotly drawing for descent views: a contour drawn once, a transparent overlay for the live paths,
// a 3-D surface alternative and a loss-vs-step plot. Why this shape: see the project's design notes, "Drawing live paths
// with Plotly" (shared/DESIGN.md) (never restyle the plot that holds the contour for a step; it redraws the whole contour).
import { formatNumber, plotlyLocale, t } from "./i18n.js";
import { FONT } from "./theme.js";

/** Light cool greys, dark = high: the Okabe–Ito paths stay readable on every level of the surface. */
const SURFACE_SCALE = [[0, "#fbfcfd"], [0.35, "#dfe4ea"], [0.7, "#aab3bf"], [1, "#5f6a78"]];

/** Same margins on the contour and its overlay, fixed (no autoexpand), so their plot areas coincide. */
const MARGIN = { l: 48, r: 78, t: 10, b: 40, autoexpand: false };
/** The same on a phone-wide figure (under 480 px): the margins would otherwise take a third of its width. */
const NARROW_MARGIN = { l: 36, r: 66, t: 8, b: 34, autoexpand: false };

/**
 * A thinned copy of a path for drawing: at most `max` points, the newest `tail` in full, the older part
 * taken every `stride`-th point with `stride` a power of two. Power-of-two strides keep the same points from
 * one frame to the next (a path does not shimmer as it grows) and change only when the path doubles.
 * Full data stays in the caller's arrays; only this copy reaches Plotly.
 */
export function thin(xs, ys, max = 2000, tail = 500) {
  const n = xs.length;
  if (n <= max) return { x: xs.slice(), y: ys.slice() };
  const head = n - tail;
  let stride = 1;
  while (Math.ceil(head / stride) > max - tail) stride *= 2;
  const x = [];
  const y = [];
  for (let i = 0; i < head; i += stride) {
    x.push(xs[i]);
    y.push(ys[i]);
  }
  for (let i = head; i < n; i++) {
    x.push(xs[i]);
    y.push(ys[i]);
  }
  return { x, y };
}

/**
 * The points an optimizer evaluated inside its steps (L-BFGS's line search, SAM's look uphill) as one
 * scatter's x and y: the newest `max` points, oldest first, so a long run stays cheap to draw.
 * @param {ReadonlyArray<ReadonlyArray<ReadonlyArray<number>>> | undefined} evaluated  per step, its points
 */
export function evaluatedDots(evaluated, max = 600) {
  const x = [];
  const y = [];
  if (!evaluated) return { x, y };
  for (let step = evaluated.length - 1; step >= 0 && x.length < max; step--) {
    const points = evaluated[step];
    for (let i = points.length - 1; i >= 0 && x.length < max; i--) {
      x.push(points[i][0]);
      y.push(points[i][1] ?? 0);
    }
  }
  return { x: x.reverse(), y: y.reverse() };
}

/**
 * Replace the x/y (and z) of some traces without Plotly's full replot: `animate` with a zero-length
 * transition and `redraw: false` recomputes and redraws only those traces, never the axes, legend or
 * layout (a `react`/`restyle` of new data redraws all of them). Only for traces whose look is unchanged.
 */
function patchTraces(element, data, indices) {
  return Plotly.animate(element, { data, traces: indices }, {
    transition: { duration: 0 },
    frame: { duration: 0, redraw: false },
    mode: "immediate",
  });
}

/**
 * The part of the segment (x0, y0) → (x1, y1) inside the box `range` {x: [lo, hi], y: [lo, hi]}
 * (Liang–Barsky), or null when none of it is. Plotly clips a trace's lines to the plot area but not an
 * annotation's arrow: an arrow from a run far outside the view would cross the axes and the colour bar.
 * `head` says whether the end point (where an arrowhead goes) is still the segment's own.
 * @returns {{x0: number, y0: number, x1: number, y1: number, head: boolean} | null}
 */
export function clipSegment(x0, y0, x1, y1, range) {
  const dx = x1 - x0;
  const dy = y1 - y0;
  let a = 0;
  let b = 1;
  const [xl, xh] = [Math.min(...range.x), Math.max(...range.x)];
  const [yl, yh] = [Math.min(...range.y), Math.max(...range.y)];
  for (const [p, q] of [[-dx, x0 - xl], [dx, xh - x0], [-dy, y0 - yl], [dy, yh - y0]]) {
    if (p === 0) {
      if (q < 0) return null;
      continue;
    }
    const r = q / p;
    if (p < 0) a = Math.max(a, r);
    else b = Math.min(b, r);
    if (a > b) return null;
  }
  return { x0: x0 + a * dx, y0: y0 + a * dy, x1: x0 + b * dx, y1: y0 + b * dy, head: b === 1 };
}

/** What a trace looks like apart from its data: when this changes the plot needs a full `react`. */
function traceLook(trace) {
  const { x, y, z, ...rest } = trace;
  return JSON.stringify(rest);
}

/** True when two data arrays hold the same values (cheap first: length and ends). */
function sameArray(a, b) {
  if (a === b) return true;
  if (!a || !b || a.length !== b.length) return false;
  const n = a.length;
  if (n && (a[0] !== b[0] || a[n - 1] !== b[n - 1])) return false;
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * How to map loss to contour height. When the range is wide and most of the surface sits near the bottom
 * (Rosenbrock: 0 … 2,500), evenly spaced levels would show one blob; log-spaced levels show the valley.
 */
export function zScale(grid) {
  const values = grid.z.flat().filter((v) => v !== null && Number.isFinite(v)).sort((a, b) => a - b);
  if (!values.length) return { log: false, f: (v) => v, label: t("common.loss") };
  const lo = values[0];
  const hi = values[values.length - 1];
  const median = values[Math.floor(values.length / 2)];
  const span = hi - lo;
  const wide = span > 0 && span / Math.max(median - lo, span * 1e-12) > 5;
  if (!wide) return { log: false, f: (v) => v, label: t("common.loss"), lo, hi };
  const eps = span * 1e-6;
  return { log: true, f: (v) => Math.log10(Math.max(v - lo, 0) + eps), label: t("plot.loss_log_scale"), lo, hi, eps };
}

/** A grid's heights on `scale` (zScale); null where a height is missing or not finite. */
export function transformGrid(grid, scale) {
  return grid.z.map((row) => row.map((v) => (v === null || !Number.isFinite(v) ? null : scale.f(v))));
}

/**
 * Colour-bar ticks that read as loss values even when the contour is drawn on a log scale. A tick that is a
 * power of ten far from 1 (exp(100·x) spans 10⁻¹³⁰ … 10¹³⁰) is written 10<sup>k</sup>: "1.00e+124" would not
 * fit beside the bar and would be cut to "1.00e+" on every tick.
 */
export function colorbar(scale) {
  const bar = { thickness: 12, x: 1.02, xanchor: "left", len: 0.9, y: 0.45, yanchor: "middle", title: { text: scale.log ? t("plot.colorbar_log") : t("common.loss"), side: "top" } };
  if (!scale.log) return bar;
  const kLo = Math.ceil(Math.log10(scale.eps));
  const kHi = Math.floor(Math.log10(scale.hi - scale.lo + scale.eps));
  const tickvals = [];
  const ticktext = [];
  for (let k = Math.max(kLo, kHi - 6); k <= kHi; k++) {
    // lo + 10^k: when the lowest loss dwarfs 10^k, two digits would print lo every time; keep enough
    // significant digits to show the 10^k part, and drop a tick that would still read like the last one.
    const digits = Math.min(8, 2 + Math.max(0, Math.ceil(Math.log10(Math.abs(scale.lo) / 10 ** k + 1))));
    const power = Math.abs(scale.lo) < 10 ** k * 1e-3 && (k >= 5 || k <= -4);
    const text = power ? `10<sup>${k}</sup>` : formatNumber(scale.lo + 10 ** k, { digits });
    if (text === ticktext[ticktext.length - 1]) continue;
    tickvals.push(k);
    ticktext.push(text);
  }
  return { ...bar, tickvals, ticktext };
}

/** True when the browser can give a WebGL context (Plotly's 3-D `surface` needs one). */
export function hasWebGL() {
  try {
    const canvas = document.createElement("canvas");
    return Boolean(canvas.getContext("webgl") || canvas.getContext("experimental-webgl"));
  } catch {
    return false;
  }
}

/**
 * x and y of a surface are the same kind of quantity, so one unit is as long across as up (the bowl's
 * contours are circles and a gradient is drawn perpendicular to them): y is tied to x's scale and the plot
 * area shrinks to fit ("domain"), rather than the range growing past the surface. Given to the contour and
 * to its overlay alike, so both compute the same box.
 */
const EQUAL_X = { constrain: "domain" };
const EQUAL_Y = { scaleanchor: "x", scaleratio: 1, constrain: "domain" };

/**
 * The size (px) of a figure with `margin` that shows the view box at equal scales with no room left over:
 * as wide as `width` allows and as tall as that needs, within [min, max] height; when `max` caps it (a
 * square box in a wide card) the figure narrows instead, so its colour bar stays beside the plot.
 * @returns {{width: number, height: number}}
 */
export function equalScaleSize(width, margin, view, min, max) {
  const [x0, x1, y0, y1] = view;
  const ratio = (y1 - y0) / (x1 - x0);
  const height = Math.min(max, Math.max(min, (width - margin.l - margin.r) * ratio + margin.t + margin.b));
  const plotWidth = Math.min(width - margin.l - margin.r, (height - margin.t - margin.b) / ratio);
  return { width: Math.round(plotWidth + margin.l + margin.r), height: Math.round(height) };
}

/**
 * The Plotly config of an interactive figure. On a phone the mode bar would sit on top of the legend (and
 * of the paths) for good once a finger touched the plot, and its tools are mouse tools: it is left out there;
 * a drag still zooms and a double tap resets.
 */
export function figureConfig(extra = {}) {
  const phone = typeof window !== "undefined" && window.matchMedia?.("(max-width: 600px)").matches;
  return { responsive: true, displaylogo: false, ...(phone ? { displayModeBar: false } : {}), ...extra };
}

/** Margins of a small panel (`small: true`): no axes, no colour bar, just a hair of room for the markers. */
const SMALL_MARGIN = { l: 4, r: 4, t: 4, b: 4, autoexpand: false };

/**
 * The 2-D surface: a contour plot drawn once per surface and a transparent overlay plot stacked on top
 * for the paths. `onPick(x, y)` is called with data coordinates when the contour is clicked (not dragged).
 * `small: true` makes a static small multiple: no axes, colour bar, hover, zoom or mode bar, a smaller
 * minimum star; its size is the container's (set it in CSS). `axes` names the two axes (default x and y). A
 * `.plot-layer` between the base and the overlay (kit.html `contour_frame(layer=True)`) takes slow-changing
 * extras through `drawLayer` (the /cross-entropy view's current mini-batch surface), so the overlay stays cheap.
 */
export class ContourWithOverlay {
  /** @param {any} container (Plotly adds its own properties to the divs) @param {{onPick?: (x: number, y: number) => void, small?: boolean, axes?: string[]}} [options] */
  constructor(container, { onPick, small = false, axes = ["x", "y"] } = {}) {
    /** @type {(() => void) | null} */
    this.onRangeChange = null;
    this.container = container;
    this.base = container.querySelector(".plot-base");
    this.overlay = container.querySelector(".plot-overlay");
    this.layer = container.querySelector(".plot-layer");
    this.axes = axes;
    this.onPick = onPick;
    this.small = small;
    this.margin = small ? SMALL_MARGIN : MARGIN;
    this.range = null;
    this.scale = null;
    this.drawnPoints = 0;
    if (!small) this.#listenForPicks();
  }

  /** Draw the contour (the only time it is drawn for this surface) and reset the overlay's ranges. */
  async drawSurface(surface) {
    const [x0, x1, y0, y1] = surface.view;
    this.range = { x: [x0, x1], y: [y0, y1] };
    if (!this.small) this.#fitSize(surface.view);
    this.scale = zScale(surface.grid);
    const contour = {
      type: "contour",
      x: surface.grid.x,
      y: surface.grid.y,
      z: transformGrid(surface.grid, this.scale),
      customdata: surface.grid.z,
      hovertemplate: `${this.axes[0]} %{x:.3f}<br>${this.axes[1]} %{y:.3f}<br>${t("common.loss")} %{customdata:.4g}<extra></extra>`,
      colorscale: SURFACE_SCALE,
      ncontours: this.scale.log ? 28 : 22,
      contours: { coloring: "fill", showlines: true },
      line: { width: 0.6, color: "rgba(40,50,65,0.35)" },
      colorbar: colorbar(this.scale),
      connectgaps: false,
    };
    if (this.small) Object.assign(contour, { showscale: false, hoverinfo: "skip" });
    const minima = {
      type: "scatter",
      mode: "markers",
      x: surface.minima.map((m) => m[0]),
      y: surface.minima.map((m) => m[1]),
      marker: { symbol: "star", size: this.small ? 10 : 15, color: "#F0E442", line: { color: "#000", width: this.small ? 1 : 1.2 } },
      hovertemplate: `${t("plot.minimum")} (%{x:.3f}; %{y:.3f})<extra></extra>`,
      showlegend: false,
    };
    const axis = (range, title) => (this.small
      ? { range, autorange: false, visible: false, fixedrange: true }
      : { range, autorange: false, title: { text: title, standoff: 4 }, zeroline: false });
    const layout = {
      ...plotlyLocale(),
      margin: this.margin,
      font: FONT,
      xaxis: { ...axis(this.range.x, this.axes[0]), ...EQUAL_X },
      yaxis: { ...axis(this.range.y, this.axes[1]), ...EQUAL_Y },
      showlegend: false,
      dragmode: this.small ? false : "zoom",
      paper_bgcolor: "rgba(0,0,0,0)",
    };
    const config = this.small
      ? { responsive: true, staticPlot: true, displayModeBar: false }
      : figureConfig({ scrollZoom: false });
    await Plotly.react(this.base, [contour, minima], layout, config);
    if (!this.small && !this.relayoutBound) {
      this.base.on("plotly_relayout", () => this.#syncRanges());
      this.relayoutBound = true;
    }
  }

  /** Size the figure to the view box's shape (equalScaleSize) within the card's width and the window's height. */
  #fitSize(view) {
    const style = this.container.style;
    style.maxWidth = "";
    const width = this.container.clientWidth;
    if (!width) return;
    this.margin = width < 480 ? NARROW_MARGIN : MARGIN;
    const max = Math.max(300, Math.min(640, window.innerHeight * 0.72));
    const size = equalScaleSize(width, this.margin, view, 240, max);
    style.height = `${size.height}px`;
    style.maxWidth = size.width < width ? `${size.width}px` : "";
  }

  /** Copy the contour's current axis ranges (after zoom, pan, reset) for the overlay's next draw. */
  #syncRanges() {
    const full = this.base._fullLayout;
    if (!full) return;
    this.range = { x: full.xaxis.range.slice(), y: full.yaxis.range.slice() };
    this.onRangeChange?.();
  }

  /**
   * Redraw the overlay (paths, markers, arrows) with the contour's ranges; cheap: SVG scatter only. When only
   * the traces' data changed (the usual case while runs stream), only the traces whose data changed are
   * redrawn, without a layout pass; anything else (ranges, arrows, runs added or removed) gets a `react`.
   */
  drawOverlay(traces, annotations = []) {
    if (!this.range) return Promise.resolve();
    this.drawnPoints = traces.reduce((sum, t) => sum + (t.meta === "path" ? t.x.length : 0), 0);
    const look = JSON.stringify([this.range, annotations, traces.map(traceLook)]);
    const previous = this.overlay.data;
    if (look === this.overlayLook && previous && previous.length === traces.length) {
      const changed = [];
      traces.forEach((t, i) => {
        if (!sameArray(t.x, previous[i].x) || !sameArray(t.y, previous[i].y)) changed.push(i);
      });
      if (!changed.length) return Promise.resolve();
      return patchTraces(this.overlay, changed.map((i) => ({ x: traces[i].x, y: traces[i].y })), changed);
    }
    this.overlayLook = look;
    return Plotly.react(this.overlay, traces, this.#stackedLayout(annotations), { staticPlot: true, responsive: true });
  }

  /** Draw `traces` (e.g. a faint contour) in the `.plot-layer` between contour and overlay; its own react. */
  drawLayer(traces) {
    if (!this.range || !this.layer) return Promise.resolve();
    return Plotly.react(this.layer, traces, this.#stackedLayout([]), { staticPlot: true, responsive: true });
  }

  /** The layout of a transparent plot stacked on the contour: same margins and ranges, no axes. */
  #stackedLayout(annotations) {
    const axis = (range) => ({ range, autorange: false, visible: false, fixedrange: true });
    return {
      margin: this.margin,
      xaxis: { ...axis(this.range.x), ...EQUAL_X },
      yaxis: { ...axis(this.range.y), ...EQUAL_Y },
      showlegend: false,
      paper_bgcolor: "rgba(0,0,0,0)",
      plot_bgcolor: "rgba(0,0,0,0)",
      annotations,
    };
  }

  /** Clicks that were not drags become start points, in data coordinates of the contour's axes. */
  #listenForPicks() {
    let down = null;
    this.base.addEventListener("pointerdown", (e) => (down = { x: e.clientX, y: e.clientY }));
    this.base.addEventListener("click", (e) => {
      if (!down || Math.hypot(e.clientX - down.x, e.clientY - down.y) > 4) return;
      const full = this.base._fullLayout;
      if (!full || !this.onPick) return;
      const rect = this.base.getBoundingClientRect();
      const xa = full.xaxis;
      const ya = full.yaxis;
      const px = e.clientX - rect.left - xa._offset;
      const py = e.clientY - rect.top - ya._offset;
      if (px < 0 || py < 0 || px > xa._length || py > ya._length) return;
      this.onPick(xa.p2l(px), ya.p2l(py));
    });
  }
}

/**
 * Loss against step for every run, log y when every loss is positive (unless `log: false`). The axes are fixed ranges computed
 * here and grown by factors of two when the data leaves them, so the usual redraw only replaces the lines'
 * data (no autorange, axes, legend or layout pass); a full `react` happens when a range grows or a run is
 * added, removed or recoloured.
 */
export class LossPlot {
  /** @param {any} element @param {{log?: boolean}} [options] `log: false` keeps a linear y axis (losses within a decade) */
  constructor(element, { log = true } = {}) {
    this.element = element;
    this.log = log;
    this.look = null;
    this.xMax = 0;
    this.yRange = null;
  }

  /**
   * `series`: one loss line per run. `secondary`: values of another unit over the same steps (Prodigy's
   * step-size estimate d), dotted on a log axis at the right; null values leave gaps.
   */
  draw(series, secondary = []) {
    const positive = this.log && series.length > 0 && series.every((s) => s.y.every((v) => v > 0));
    let lastStep = 0;
    let lo = Infinity;
    let hi = -Infinity;
    for (const s of series) {
      if (s.x.length) lastStep = Math.max(lastStep, s.x[s.x.length - 1]);
      for (const v of s.y) {
        if (!Number.isFinite(v)) continue;
        const w = positive ? Math.log10(v) : v;
        if (w < lo) lo = w;
        if (w > hi) hi = w;
      }
    }
    const traces = series.map((s) => ({
      type: "scatter",
      mode: "lines",
      name: s.name,
      x: s.x,
      y: s.y,
      line: { color: s.color, width: 2, dash: s.dash ?? "solid" },
      hovertemplate: `${s.name}<br>${t("common.step_lc")} %{x}<br>${t("common.loss")} %{y:.4g}<extra></extra>`,
    }));
    for (const s of secondary) {
      if (s.x.length) lastStep = Math.max(lastStep, s.x[s.x.length - 1]);
      traces.push({
        type: "scatter",
        mode: "lines",
        name: s.name,
        x: s.x,
        y: s.y,
        yaxis: "y2",
        line: { color: s.color, width: 1.5, dash: "dot" },
        hovertemplate: `${s.name}<br>${t("common.step_lc")} %{x}<br>%{y:.4g}<extra></extra>`,
      });
    }
    const look = JSON.stringify([positive, traces.map(traceLook)]);
    let grow = look !== this.look || lastStep > this.xMax;
    if (lo <= hi && (!this.yRange || lo < this.yRange[0] || hi > this.yRange[1])) grow = true;
    if (!grow && this.element.data?.length === traces.length) {
      return patchTraces(this.element, traces.map((t) => ({ x: t.x, y: t.y })), traces.map((_, i) => i));
    }
    if (look !== this.look) {
      this.xMax = 0;
      this.yRange = null;
    }
    this.look = look;
    while (this.xMax < Math.max(lastStep, 32)) this.xMax = this.xMax ? this.xMax * 2 : 64;
    this.yRange = lo <= hi ? growRange(this.yRange, lo, hi, positive) : null;
    if (this.yRange && !positive && lo >= 0) this.yRange[0] = Math.max(this.yRange[0], 0); // a loss is never below 0
    const yaxis = { type: positive ? "log" : "linear", title: { text: positive ? t("plot.loss_log") : t("common.loss") }, exponentformat: "power" };
    if (this.yRange) Object.assign(yaxis, { range: this.yRange, autorange: false });
    const layout = {
      ...plotlyLocale(),
      margin: { l: 56, r: secondary.length ? 64 : 10, t: 8, b: 40 },
      font: FONT,
      xaxis: { title: { text: t("common.step_lc"), standoff: 4 }, range: [0, this.xMax], autorange: false, zeroline: false },
      yaxis,
      ...(secondary.length
        ? { yaxis2: { type: "log", overlaying: "y", side: "right", showgrid: false, exponentformat: "power", tickfont: { size: 10 } } }
        : {}),
      showlegend: series.length + secondary.length > 1,
      legend: { orientation: "h", y: 1.02, yanchor: "bottom", x: 0 },
      paper_bgcolor: "rgba(0,0,0,0)",
    };
    return Plotly.react(this.element, traces, layout, figureConfig());
  }
}

/**
 * A y range (log10 units when `log`) that holds [lo, hi]: whole decades on a log axis, 5 % padding on a
 * linear one; a side that must move moves by at least the current span, so regrowing stays rare.
 */
export function growRange(range, lo, hi, log) {
  const pad = log ? 0.05 : Math.max((hi - lo) * 0.05, Math.abs(hi) * 1e-3, 1e-12);
  let [a, b] = range ?? [lo - pad, hi + pad];
  const span = Math.max(b - a, log ? 1 : pad);
  if (lo < a) a = Math.min(lo - pad, a - span);
  if (hi > b) b = Math.max(hi + pad, b + span);
  if (log) {
    a = Math.floor(a);
    b = Math.ceil(b);
  }
  return [a, b];
}

/** The 3-D view: the surface with the paths lying on it (heights on the same scale as the contour). */
export class Surface3D {
  constructor(element) {
    this.element = element;
    this.surfaceTrace = null;
  }

  setSurface(surface, scale) {
    // On a log scale the exact minimum would be a deep spike; a floor 1e-3 of the range up keeps it a basin.
    const floor = scale.log ? scale.f(scale.lo + (scale.hi - scale.lo) * 1e-3) : -Infinity;
    const height = scale.f;
    this.scale = { ...scale, f: (v) => Math.max(height(v), floor) };
    const heights = surface.grid.z.flat().filter((v) => v !== null && Number.isFinite(v)).map(this.scale.f);
    const top = heights.reduce((a, b) => Math.max(a, b), -Infinity);
    const bottom = heights.reduce((a, b) => Math.min(a, b), Infinity);
    this.lift = heights.length && top > bottom ? 0.015 * (top - bottom) : 0;
    this.surfaceTrace = {
      type: "surface",
      x: surface.grid.x,
      y: surface.grid.y,
      z: transformGrid(surface.grid, this.scale),
      colorscale: SURFACE_SCALE,
      showscale: false,
      opacity: 0.92,
      hoverinfo: "skip",
      contours: { z: { show: true, usecolormap: true, project: { z: true }, width: 1 } },
    };
  }

  /**
   * The paths lie on the surface: z is each step's loss through the surface's own height mapping (log with
   * a floor), lifted 1.5 % of the height range so the surface does not swallow the line; a ringed marker
   * shows where each run is now.
   */
  draw(paths) {
    if (!this.surfaceTrace) return Promise.resolve();
    const height = (v) => (v === null || !Number.isFinite(v) ? null : this.scale.f(v) + this.lift);
    /** @type {any[]} */
    const traces = [this.surfaceTrace];
    for (const p of paths) {
      traces.push({
        type: "scatter3d",
        mode: "lines",
        meta: "path",
        x: p.x,
        y: p.y,
        z: p.loss.map(height),
        line: { color: p.color, width: 9 },
        name: p.name,
        hoverinfo: "name",
      });
    }
    for (const p of paths) {
      const n = p.x.length;
      if (!n) continue;
      traces.push({
        type: "scatter3d",
        mode: "markers",
        meta: "current",
        x: [p.x[n - 1]],
        y: [p.y[n - 1]],
        z: [height(p.loss[n - 1])],
        marker: { size: 7, color: p.color, line: { color: "#ffffff", width: 2 } },
        name: p.name,
        hovertemplate: `${p.name}<br>x %{x:.3f}<br>y %{y:.3f}<extra></extra>`,
      });
    }
    const layout = {
      ...plotlyLocale(),
      margin: { l: 0, r: 0, t: 0, b: 0 },
      font: FONT,
      showlegend: false,
      scene: {
        xaxis: { title: { text: "x" } },
        yaxis: { title: { text: "y" } },
        zaxis: { title: { text: this.scale.label }, showticklabels: !this.scale.log },
        camera: { eye: { x: 0.55, y: -1.25, z: 1.55 } },
        aspectmode: "manual",
        aspectratio: { x: 1, y: 1, z: 0.6 },
      },
      uirevision: "keep-camera",
    };
    return Plotly.react(this.element, traces, layout, figureConfig());
  }
}
