// @ts-check
// "Explain this update": the rows of a `ledger` message (docs/protocol.md) as a learner reads them —
// the point, the gradient, every stage of the optimizer with the state it keeps and the numbers it
// noted, the learning rate, and the update Δθ the next step makes. Pure: the view renders the rows.

/**
 * @typedef {{name: string, input: number[], output: number[],
 *   state: Record<string, number | boolean | number[] | null>, notes: Record<string, number | number[] | null>}} Stage
 * @typedef {{run: string, optimizer: string, update_rule: string, step: number, point: number[], loss: number,
 *   gradient: number[], lr: number, stages: Stage[], update: number[], effective_lr: (number | null)[],
 *   step_size: number[] | null}} Ledger
 * @typedef {{kind: "point" | "stage" | "state" | "note" | "lr" | "update", label: string,
 *   values: (number | boolean | null)[]}} LedgerRow
 */

/** Stage and field names the view has words for; others are shown under their own (torch) names. */
const SKIP_STATE = new Set(["started"]); // bookkeeping flags, not numbers a learner needs

/**
 * @param {Ledger} ledger
 * @param {(key: string, fallback: string) => string} words  the page's words for `ledger.*` keys
 * @returns {LedgerRow[]}
 */
export function ledgerRows(ledger, words) {
  const dim = ledger.point.length;
  const spread = (v) => (Array.isArray(v) ? v : Array(dim).fill(v));
  /** @type {LedgerRow[]} */
  const rows = [
    { kind: "point", label: words("ledger.point", "θ_t"), values: ledger.point },
    { kind: "point", label: words("ledger.gradient", "g"), values: ledger.gradient },
  ];
  for (const stage of ledger.stages) {
    rows.push({ kind: "stage", label: words(`ledger.stage.${stage.name}`, stage.name), values: stage.output });
    for (const [name, value] of Object.entries(stage.state)) {
      if (SKIP_STATE.has(name) || value === null) continue;
      rows.push({ kind: "state", label: words(`ledger.state.${name}`, name), values: spread(value) });
    }
    for (const [name, value] of Object.entries(stage.notes)) {
      if (name === "scale" || value === null) continue;
      rows.push({ kind: "note", label: words(`ledger.note.${name}`, name), values: spread(value) });
    }
  }
  rows.push({ kind: "lr", label: words("ledger.lr", "η"), values: spread(ledger.lr) });
  if (ledger.step_size) rows.push({ kind: "lr", label: words("ledger.step_size", "η·scale"), values: ledger.step_size });
  rows.push({ kind: "lr", label: words("ledger.effective_lr", "−Δθ/g"), values: ledger.effective_lr });
  rows.push({ kind: "update", label: words("ledger.update", "Δθ"), values: ledger.update });
  return rows;
}

/**
 * The closed outline of the per-coordinate step-size box around the point (half-widths η·scale), as
 * Plotly x/y arrays, or null for optimizers without per-coordinate step sizes.
 * @param {Ledger} ledger
 * @returns {{x: number[], y: number[]} | null}
 */
export function stepSizeBox(ledger) {
  if (!ledger.step_size || ledger.point.length !== 2) return null;
  const [px, py] = ledger.point;
  const [hx, hy] = ledger.step_size;
  if (!Number.isFinite(hx) || !Number.isFinite(hy)) return null;
  return { x: [px - hx, px + hx, px + hx, px - hx, px - hx], y: [py - hy, py - hy, py + hy, py + hy, py - hy] };
}

const SYMBOLS = {
  theta: "θ", eta: "η", lambda: "λ", mu: "μ", tau: "τ", beta: "β", epsilon: "ε", rho: "ρ", alpha: "α",
  delta: "δ", Delta: "Δ", psi: "ψ", nabla: "∇", infty: "∞", prod: "∏", le: "≤", leftarrow: "←", cdot: "·",
  max: "max", min: "min", left: "", right: "", times: "×", odot: "⊙", sum: "Σ", langle: "⟨", rangle: "⟩",
  lVert: "‖", rVert: "‖", top: "ᵀ", quad: " ",
};
const OPERATORS = new Set(["cdot", "le", "leftarrow", "times", "odot"]);
const SUB = { "0": "₀", "1": "₁", "2": "₂", "3": "₃", "4": "₄", "5": "₅", "6": "₆", "7": "₇", "8": "₈", "9": "₉",
  t: "ₜ", "+": "₊", "-": "₋", i: "ᵢ", s: "ₛ" };
const SUP = { "0": "⁰", "1": "¹", "2": "²", "3": "³", "4": "⁴", "5": "⁵", "6": "⁶", "7": "⁷", "8": "⁸", "9": "⁹",
  t: "ᵗ", "-": "⁻", "*": "*", "ᵀ": "ᵀ" };

/** The argument of a command at `text[at]`: a `{…}` group, or else one character (`\tfrac12`). */
function group(text, at) {
  while (text[at] === " ") at++;
  if (text[at] === "\\") {
    const word = /^\\[A-Za-z]+/.exec(text.slice(at))?.[0] ?? text.slice(at, at + 2);
    return [word, at + word.length];
  }
  if (text[at] !== "{") return [text[at] ?? "", at + 1];
  let depth = 0;
  for (let i = at; i < text.length; i++) {
    if (text[i] === "{") depth++;
    else if (text[i] === "}" && --depth === 0) return [text.slice(at + 1, i), i + 1];
  }
  return [text.slice(at + 1), text.length];
}

/** `x_{t-1}` → `xₜ₋₁` when every character has a subscript form, else `x_(t-1)`. */
function script(body, table, mark) {
  const plain = [...body].every((c) => c in table);
  return plain ? [...body].map((c) => table[c]).join("") : `${mark}(${body})`;
}

/**
 * A registry update rule (LaTeX, as `GET /api/v1/optimizers` gives it) as plain Unicode text a page can show
 * without a maths renderer: \frac{a}{b} → (a)/(b), \sqrt{x} → √(x), \mathrm{sign} → sign, Greek letters,
 * norms and brackets (‖s‖, ⟨g, θ⟩), sub- and superscripts.
 * @param {string} tex
 * @returns {string}
 */
export function plainRule(tex) {
  let out = "";
  let i = 0;
  while (i < tex.length) {
    const c = tex[i];
    if (c === "\\") {
      const name = /^[A-Za-z]+/.exec(tex.slice(i + 1))?.[0] ?? "";
      i += 1 + name.length;
      if (!name) { // \, \; \  and \{ are spacing or literal characters
        const next = tex[i++] ?? "";
        out += ",; ".includes(next) ? " " : next;
        continue;
      }
      if (name === "frac" || name === "tfrac") {
        const [top, afterTop] = group(tex, i);
        const [bottom, afterBottom] = group(tex, afterTop);
        out += `(${plainRule(top)})/(${plainRule(bottom)})`;
        i = afterBottom;
      } else if (name === "sqrt") {
        const [body, after] = group(tex, i);
        out += `√(${plainRule(body)})`;
        i = after;
      } else if (name === "text") {
        const [body, after] = group(tex, i);
        out += body.replace(/\\_/g, "_");
        i = after;
      } else if (name === "mathrm" || name === "operatorname") {
        const [body, after] = group(tex, i);
        out += plainRule(body);
        i = after;
      } else if (name === "hat" || name === "tilde" || name === "bar") {
        const [body, after] = group(tex, i);
        const mark = { hat: "\u0302", tilde: "\u0303", bar: "\u0304" }[name];
        out += plainRule(body.trim()) + mark;
        i = after;
      } else {
        out += OPERATORS.has(name) ? ` ${SYMBOLS[name]} ` : (SYMBOLS[name] ?? name);
        if (tex[i] === " ") i++; // TeX ends a control word at the space after it
      }
    } else if (c === "_" || c === "^") {
      const [body, after] = group(tex, i + 1);
      const text = plainRule(body);
      out += c === "_" ? script(text, SUB, "_") : script(text, SUP, "^");
      i = after;
    } else if (c === "{" || c === "}") {
      i++;
    } else {
      out += c;
      i++;
    }
  }
  return out.replace(/ {2,}/g, " ").replace(/\( /g, "(").replace(/ \)/g, ")");
}
