// @ts-check
// The page's message catalog and locale formatting (docs/i18n.md). The server puts the catalog of the page's
// language in <script type="application/json" id="messages">; <html lang> names the language.
//
//   import { t, lang, formatNumber } from "../i18n.js";
//   t("descent.status.paused")                 // "Paused." / "Duraklatıldı."
//   t("lr.end.converged", { n: 12 })           // placeholders are {name}
//   formatNumber(0.1234)                       // "0.1234" / "0,1234" (Intl.NumberFormat(lang))
//   plotlyLocale()                             // {separators} for Plotly layouts (decimal comma in tr)
//   errorText(detail)                          // a server refusal (422 detail item or socket error frame)
//                                              // in the page's language: error.<key> with its params
//
// On load, in a language other than English, it registers a Plotly locale of that language (the `plotly.*`
// catalog keys: mode-bar tool-tips and hints; decimal and thousands separators for every chart), and in a
// decimal-comma language every number input shows and takes the comma (see localizeNumberInput).

const node = typeof document !== "undefined" ? document.getElementById("messages") : null;
let parsed = {};
try {
  parsed = node ? JSON.parse(node.textContent) : {};
} catch {
  parsed = {};
}
/** key -> message of this page's language (let: useCatalog replaces it where no page gives one). */
export let messages = Object.freeze(parsed);
/** "en" or "tr": the page's language. */
export let lang = (typeof document !== "undefined" && document.documentElement.lang) || "en";

/** The message for `key` with `{name}` placeholders filled from `params`; the key itself when missing. */
export function t(key, params = {}) {
  return fill(messages[key] ?? key, params);
}

/** `message` with its `{name}` placeholders filled from `params` (unknown ones left as they are). */
function fill(message, params) {
  return message.replace(/\{([a-z_][a-z0-9_]*)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

const plainFormats = new Map();
function plain(digits) {
  if (!plainFormats.has(digits)) {
    plainFormats.set(digits, new Intl.NumberFormat(lang, { maximumSignificantDigits: digits, useGrouping: false }));
  }
  return plainFormats.get(digits);
}

/** The decimal separator of a language ("." in en, "," in tr). */
const separatorOf = (/** @type {string} */ language) => new Intl.NumberFormat(language).formatToParts(1.5).find((p) => p.type === "decimal")?.value ?? ".";
/** The decimal separator of the page's language. */
export let decimalSeparator = separatorOf(lang);

/**
 * Use `catalog` and `language` instead of the page's: for figures drawn in a page that is not ours and has no
 * <script id="messages"> (the notebook widget, app/widget). Every function here reads the new values.
 * @param {Record<string, string>} catalog @param {string} language
 */
export function useCatalog(catalog, language) {
  messages = Object.freeze({ ...catalog });
  lang = language;
  decimalSeparator = separatorOf(language);
  plainFormats.clear();
}

/**
 * A compact number for readouts: `digits` significant digits through Intl.NumberFormat(lang) (no grouping, so
 * English output stays machine-readable), exponent form when tiny (< `small`) or huge (≥ `big`) with
 * `expDigits` decimals; `plus: false` writes 1e5 rather than 1e+5. "–" for null and non-finite values.
 */
export function formatNumber(v, { digits = 4, small = 1e-3, big = 1e5, expDigits = 2, plus = true } = {}) {
  if (v === null || v === undefined || !Number.isFinite(v)) return "–";
  const a = Math.abs(v);
  if (a !== 0 && (a < small || a >= big)) {
    let text = v.toExponential(expDigits);
    if (!plus) text = text.replace("e+", "e");
    return localizeDecimal(text);
  }
  return plain(digits).format(v === 0 ? 0 : v);
}

/** A number already written with "." as decimal point, with the page's decimal separator instead. */
export function localizeDecimal(text) {
  return decimalSeparator === "." ? text : String(text).replace(/(\d)\.(\d)/g, `$1${decimalSeparator}$2`);
}

/** Plotly layout keys for the page's language: decimal and thousands separators of ticks and hovers. */
export function plotlyLocale() {
  return { separators: decimalSeparator === "," ? ",." : ".," };
}

/**
 * A server refusal in the page's language: `error.<key>` of the catalog filled with `params` (numbers with the
 * page's decimal separator, a `kind` such as "optimizer" by `error.kind.<kind>`, plus " (column n)" for an
 * expression), or the server's English `msg` / `message` when the refusal has no key this catalog knows.
 * @param {{key?: string, params?: Record<string, unknown>, msg?: string, message?: string} | null | undefined} detail
 * @param {Record<string, string>} [catalog] the messages to say it with (default: the page's)
 */
export function errorText(detail, catalog = messages) {
  const english = String(detail?.msg ?? detail?.message ?? "").split("\n")[0];
  const key = detail?.key ? `error.${detail.key}` : "";
  if (!key || !(key in catalog)) return english;
  /** @type {Record<string, string>} */
  const params = {};
  for (const [name, value] of Object.entries(detail?.params ?? {})) {
    if (typeof value === "number") params[name] = Number.isInteger(value) ? String(value) : formatNumber(value);
    else if (name === "kind" && `error.kind.${value}` in catalog) params[name] = catalog[`error.kind.${value}`];
    else params[name] = String(value);
  }
  const where = "column" in params && key.startsWith("error.expression.") && catalog["error.at_column"];
  return fill(catalog[key], params) + (where ? fill(where, params) : "");
}

/** A number typed with the page's decimal separator ("0,3") as JavaScript writes it ("0.3"); "0.3" stays. */
export function toDotDecimal(text) {
  const s = String(text).trim();
  return decimalSeparator !== "." && /^[+-]?\d*,\d+(e[+-]?\d+)?$/i.test(s) ? s.replace(",", ".") : s;
}

/** Plotly's locale module for the page's language: its words from the `plotly.*` keys, its separators. */
export function plotlyLocaleModule() {
  /** @type {Record<string, string>} */
  const dictionary = {};
  for (const [key, value] of Object.entries(messages)) if (key.startsWith("plotly.")) dictionary[key.slice(7)] = value;
  const thousands = decimalSeparator === "," ? "." : ",";
  return { moduleType: "locale", name: lang, dictionary, format: { decimal: decimalSeparator, thousands } };
}

const nativeValue = typeof HTMLInputElement !== "undefined" ? Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, "value") : undefined;

/**
 * A number input of a decimal-comma page becomes a text input (inputmode decimal) that shows the comma, while
 * its `value` stays in JavaScript's form for the view: reading gives "0.3" for a typed "0,3", writing "0.3"
 * shows "0,3". Chromium draws <input type=number> in the browser's locale, not the page's, so an English
 * browser would show "0.3" beside readouts that say "0,3".
 * @param {HTMLInputElement} input
 */
export function localizeNumberInput(input) {
  if (!nativeValue?.get || !nativeValue.set || input.dataset.decimal) return;
  const { get, set } = nativeValue;
  const current = get.call(input);
  input.dataset.decimal = decimalSeparator;
  input.type = "text";
  input.inputMode = "decimal";
  Object.defineProperty(input, "value", {
    configurable: true,
    get() {
      return toDotDecimal(get.call(this));
    },
    set(v) {
      set.call(this, localizeDecimal(String(v)));
    },
  });
  input.value = current;
}

function localizeNumberInputs(root) {
  for (const input of root.querySelectorAll?.("input[type=number]") ?? []) localizeNumberInput(input);
}

if (typeof document !== "undefined" && lang !== "en") {
  if (typeof Plotly !== "undefined") {
    Plotly.register(plotlyLocaleModule());
    Plotly.setPlotConfig({ locale: lang });
  }
  if (decimalSeparator !== ".") {
    localizeNumberInputs(document);
    new MutationObserver((records) => {
      for (const record of records) for (const node of record.addedNodes) {
        if (node instanceof HTMLInputElement && node.type === "number") localizeNumberInput(node);
        else if (node instanceof Element) localizeNumberInputs(node);
      }
    }).observe(document.documentElement, { childList: true, subtree: true });
  }
}

/** The language switch (EN | TR) keeps the whole current URL, including state written since the page loaded. */
function bindLanguageSwitch() {
  for (const link of /** @type {NodeListOf<HTMLAnchorElement>} */ (document.querySelectorAll("a[data-lang-switch]"))) {
    link.addEventListener("click", (event) => {
      const url = new URL(location.href);
      const code = link.dataset.langSwitch;
      if (code === "en") url.searchParams.delete("lang");
      else url.searchParams.set("lang", code);
      event.preventDefault();
      location.assign(url.toString());
    });
  }
}

if (typeof document !== "undefined") bindLanguageSwitch();
