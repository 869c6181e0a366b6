// @ts-check
// The constants every figure and control shares, in one place: the Okabe–Ito palette (colour-blind safe),
// the figures' font, and the speeds the transport offers (steps per second per run; "max" = as fast as the
// server goes).

/** Okabe–Ito colours, blue first; runs and series take them in order (colorOf). */
export const PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"];
export const colorOf = (/** @type {number} */ index) => PALETTE[index % PALETTE.length];

/** Line dashes and marker symbols that runs take in order, so runs whose paths or losses coincide (momentum
 * and Nesterov from one start) still read as two: neighbours differ in colour, dash and symbol alike. */
export const DASHES = ["solid", "dash", "dot", "dashdot"];
export const SYMBOLS = ["circle", "square", "diamond", "triangle-up"];

/**
 * The look of run number `index`: Plotly's `line.dash` and `marker.symbol` names with its colour.
 * @param {number} index
 * @returns {{color: string, dash: string, symbol: string}}
 */
export const styleOf = (index) => ({
  color: colorOf(index), dash: DASHES[index % DASHES.length], symbol: SYMBOLS[index % SYMBOLS.length],
});

/** The font of every Plotly figure (layout.font); a small figure takes `{ ...FONT, size: 10 }`. */
export const FONT = Object.freeze({ family: "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", size: 12, color: "#1d2430" });
/** Axis text of the learning-rate figures (lighter than FONT's colour). */
export const MUTED_TEXT = "#3b4656";

/** The stops of the speed slider (a range input); the last stop is "max". */
/** @type {Array<number | "max">} */
export const SPEEDS = [1, 2, 5, 10, 20, 30, 60, 120, 200, 500, 1000, 2000, 5000, "max"];

/** The choices of a speed <select>, per view that offers a short list instead of the slider. */
/** @type {Record<string, string[]>} */
export const SPEED_CHOICES = {
  "learning-rate": ["1", "2", "4", "10", "30", "60", "max"],
  sweep: ["30", "60", "120", "300", "max"],
};
