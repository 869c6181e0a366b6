// @ts-check
// The page's message catalog and locale formatting (docs/i18n.md). The server puts the catalog of the page's
// language in <script type="application/json" id="messages">; <html lang> names the language.
//
//   import { t, lang, formatNumber } from "../i18n.js";
//   t("descent.status.paused")                 // "Paused." / "Duraklatıldı."
//   t("lr.end.converged", { n: 12 })           // placeholders are {name}
//   formatNumber(0.1234)                       // "0.1234" / "0,1234" (Intl.NumberFormat(lang))
//   plotlyLocale()                             // {separators} for Plotly layouts (decimal comma in tr)

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
  const message = messages[key] ?? key;
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
