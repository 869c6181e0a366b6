// @ts-check
// Shared control widgets built from the registry: hyperparameter inputs with bounds and defaults, the
// speed slider, the surface picker with its formula and parameters, and the Space / → keyboard shortcuts.
import { errorText, t } from "./i18n.js";
import { SPEEDS } from "./theme.js";

/** Create an element with attributes and children in one call (keeps the builders short). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

/** The option value of a choice (null, the "none" choice, as an empty string). */
const choiceKey = (/** @type {string | null} */ choice) => (choice === null ? "" : choice);

let uid = 0;
const nextId = (prefix) => `${prefix}-${++uid}`;

/** Parse and bound-check one number input; returns the number, or null (and marks the input) if refused. */
function readNumber(input, spec) {
  const value = Number(input.value);
  const ok =
    input.value.trim() !== "" &&
    Number.isFinite(value) &&
    (spec.minimum === null || value >= spec.minimum) &&
    (spec.maximum === null || value <= spec.maximum) &&
    !(spec.name === "lr" && value <= 0);
  input.setAttribute("aria-invalid", ok ? "false" : "true");
  return ok ? value : null;
}

/** A value as an input shows it: tiny numbers to 6 significant digits (2.22045e-16, not 2.2204460492503…). */
export function inputText(value) {
  if (typeof value === "number" && value !== 0 && Math.abs(value) < 1e-4) return String(Number(value.toPrecision(6)));
  return String(value);
}

function numberInput(spec, value, label) {
  return el("input", {
    type: "number",
    step: "any",
    min: spec.minimum ?? undefined,
    max: spec.maximum ?? undefined,
    value: value === null ? "" : inputText(value),
    placeholder: value === null ? t("controls.default_value") : undefined,
    "aria-label": label,
    inputmode: "decimal",
    dataset: { hp: spec.name },
  });
}

/**
 * Inputs for an optimizer's hyperparameters. `values` are the current ones (defaults filled in);
 * `onChange(name, value)` fires with a valid value only (floats within bounds, pairs as [a, b], bools).
 * The learning rate comes first and always shows; the rest fold into "more".
 */
export function hyperparameterFields(optimizer, values, onChange, runLabel) {
  const main = el("div", { class: "hp-main" });
  const more = el("div", { class: "hp-more" });
  for (const spec of optimizer.hyperparameters) {
    const id = nextId(`hp-${spec.name}`);
    const value = values[spec.name] ?? spec.default;
    const field = el("div", { class: `field hp-${spec.kind}`, title: spec.description });
    const label = el("label", { for: id, text: spec.name === "lr" ? t("common.learning_rate") : spec.name });
    if (spec.kind === "bool") {
      const box = el("input", { type: "checkbox", id, dataset: { hp: spec.name } });
      box.checked = Boolean(value);
      box.addEventListener("change", () => onChange(spec.name, box.checked));
      field.append(box, label);
    } else if (spec.kind === "pair") {
      const a = numberInput(spec, value[0], t("controls.pair_first", { run: runLabel, name: spec.name }));
      const b = numberInput(spec, value[1], t("controls.pair_second", { run: runLabel, name: spec.name }));
      a.id = id;
      const fire = () => {
        const va = readNumber(a, spec);
        const vb = readNumber(b, spec);
        if (va !== null && vb !== null) onChange(spec.name, [va, vb]);
      };
      a.addEventListener("change", fire);
      b.addEventListener("change", fire);
      field.append(label, el("span", { class: "pair" }, a, b));
    } else if (spec.kind === "choice") {
      const select = el("select", { id, dataset: { hp: spec.name } });
      for (const choice of spec.choices ?? []) {
        const option = el("option", { value: choiceKey(choice), text: choice === null ? t("controls.choice_none") : choice });
        option.selected = choice === value;
        select.append(option);
      }
      select.addEventListener("change", () => onChange(spec.name, (spec.choices ?? []).find((c) => choiceKey(c) === select.value) ?? null));
      field.append(label, select);
    } else {
      // a nullable value (max_eval, Prodigy's beta3) shows null as an empty field; emptying it sends null
      const input = numberInput(spec, value, undefined);
      input.id = id;
      input.addEventListener("change", () => {
        if (spec.nullable && input.value.trim() === "") {
          input.setAttribute("aria-invalid", "false");
          onChange(spec.name, null); // an optional value left empty: the default rule (e.g. max_eval)
          return;
        }
        const v = readNumber(input, spec);
        if (v !== null) onChange(spec.name, v);
      });
      field.append(label, input);
    }
    (spec.name === "lr" ? main : more).append(field);
  }
  const details = el("details", { class: "hp-details" }, el("summary", { text: t("controls.more_hyperparameters") }), more);
  return el("div", { class: "hp-fields" }, main, details);
}

/** Index of a speed value on the slider (unknown values snap to the nearest stop). */
export function speedIndex(speed) {
  if (speed === "max") return SPEEDS.length - 1;
  let best = 0;
  SPEEDS.forEach((s, i) => {
    if (s !== "max" && Math.abs(Math.log(s / Number(speed))) < Math.abs(Math.log(Number(SPEEDS[best]) / Number(speed)))) best = i;
  });
  return best;
}

/**
 * Space = play/pause and → = one step, unless the focus is in something that uses those keys itself
 * (text and number fields, sliders, selects; a focused button already turns Space into a click).
 */
export function bindShortcuts({ toggle, step }) {
  document.addEventListener("keydown", (e) => {
    if (e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey) return;
    const t = /** @type {Element} */ (e.target);
    if (t.closest?.("input, select, textarea, [contenteditable]")) return;
    if (e.key === " " && !t.closest?.("button, summary, a")) {
      e.preventDefault();
      toggle();
    } else if (e.key === "ArrowRight") {
      e.preventDefault();
      step();
    }
  });
}

/**
 * Show where a custom expression went wrong: the message, and the expression with the culprit
 * (columns [start, end) from the server's 422) marked.
 */
export function showExpressionError(box, expression, detail) {
  box.replaceChildren();
  if (!detail) {
    box.hidden = true;
    return;
  }
  const firstLine = errorText(detail);
  const start = detail.ctx?.start;
  const end = detail.ctx?.end;
  box.append(el("p", { class: "error-msg", text: firstLine }));
  if (Number.isInteger(start) && Number.isInteger(end)) {
    const stop = Math.max(end, start + 1);
    const code = el(
      "code",
      { class: "error-where" },
      expression.slice(0, start),
      el("mark", { text: expression.slice(start, stop) || " " }),
      expression.slice(stop),
    );
    box.append(code);
  }
  box.hidden = false;
}
