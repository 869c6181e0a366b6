// @ts-check
// The postMessage API of every view (docs/embedding.md) and the Embed dialog of the full pages.
//
//   import { registerView } from "../embed.js";
//   const embed = registerView("race", { play, pause, step, reset, set: (run, hyperparameters) => ... },
//                              { query: () => encodeState(SCHEMA, state), height: 900 });
//   embed.ready();                 // the view can take commands: posts gdp:ready (and autoplays if asked)
//   embed.step(run, step);         // throttled: gdp:step at most 10 times a second
//   embed.event(run, "converged"); // gdp:event; embed.done() posts gdp:done
//
// Host -> view: {type: "gdp:play" | "gdp:pause" | "gdp:step" | "gdp:reset" | "gdp:ping"},
//               {type: "gdp:set", run?: "adam", hyperparameters: {lr: 0.01}}.
// View -> host: gdp:ready {view}, gdp:step {steps: {run: step}}, gdp:event {run, event}, gdp:done,
//               gdp:error {message} when a command was refused, gdp:resize {view, height} whenever the
//               content's height (CSS px) changes, so the host can size the iframe without scrollbars.
// `origin=https://course.example` in the URL restricts both directions to that parent origin.

import { t } from "./i18n.js";

const inBrowser = typeof window !== "undefined";
const params = new URLSearchParams(inBrowser ? location.search : "");
const requiredOrigin = params.get("origin") || null;
const framed = inBrowser && window.parent !== window;
const EVENTS = new Set(["converged", "diverged", "left_view", "max_steps", "max_evaluations", "stopped", "early_stop", "done"]);
const STEP_INTERVAL_MS = 100; // ≤ 10 gdp:step messages a second

function post(message) {
  if (!framed) return;
  try {
    window.parent.postMessage(message, requiredOrigin ?? "*");
  } catch {
    // an origin= that is not a valid origin: nothing can be posted
  }
}

/** Hyperparameters from a host: plain names, finite numbers, booleans or pairs of numbers; else null. */
export function cleanHyperparameters(raw) {
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) return null;
  const out = {};
  for (const [name, value] of Object.entries(raw)) {
    if (!/^[a-z_][a-z0-9_]{0,31}$/.test(name)) return null;
    const ok =
      (typeof value === "number" && Number.isFinite(value)) ||
      typeof value === "boolean" ||
      (Array.isArray(value) && value.length === 2 && value.every((v) => typeof v === "number" && Number.isFinite(v)));
    if (!ok) return null;
    out[name] = value;
  }
  return Object.keys(out).length ? out : null;
}

/** The content's height in whole CSS px: the body's box (not the viewport, which is the iframe's own height). */
export function contentHeight(body) {
  return Math.ceil(Math.max(body.scrollHeight, body.getBoundingClientRect().height));
}

/** Post gdp:resize {view, height} now and whenever the content's height changes (once per change). */
function watchHeight(view) {
  if (!framed || typeof ResizeObserver === "undefined") return;
  let last = -1;
  const report = () => {
    const height = contentHeight(document.body);
    if (height === last) return;
    last = height;
    post({ type: "gdp:resize", view, height });
  };
  new ResizeObserver(report).observe(document.body);
}

/**
 * Register the page's view: `controller` has play, pause, step, reset and set(run, hyperparameters) (run may
 * be null: the view's default run, or every run). `options.query()` gives the view's URL state (for the
 * Embed dialog); `options.height` the iframe height the snippet suggests.
 */
export function registerView(view, controller, options = {}) {
  let isReady = false;
  let pendingSteps = {};
  let stepTimer = null;
  const queued = [];

  function flushSteps() {
    stepTimer = null;
    if (!Object.keys(pendingSteps).length) return;
    post({ type: "gdp:step", steps: pendingSteps });
    pendingSteps = {};
  }

  function handle(message) {
    switch (message.type) {
      case "gdp:play":
        return controller.play();
      case "gdp:pause":
        return controller.pause();
      case "gdp:step":
        return controller.step();
      case "gdp:reset":
        return controller.reset();
      case "gdp:ping":
        return isReady && post({ type: "gdp:ready", view });
      case "gdp:set": {
        const hyperparameters = cleanHyperparameters(message.hyperparameters);
        const run = typeof message.run === "string" ? message.run : null;
        if (!hyperparameters) return post({ type: "gdp:error", message: "gdp:set needs hyperparameters: {name: number}" });
        return controller.set(run, hyperparameters);
      }
      default:
        return post({ type: "gdp:error", message: `unknown command ${String(message.type).slice(0, 40)}` });
    }
  }

  window.addEventListener("message", (event) => {
    if (event.source !== window.parent || !framed) return; // only the page that frames this view
    if (requiredOrigin && event.origin !== requiredOrigin) return;
    const message = event.data;
    if (!message || typeof message !== "object" || typeof message.type !== "string" || !message.type.startsWith("gdp:")) return;
    if (!isReady) queued.push(message);
    else Promise.resolve(handle(message)).catch((error) => post({ type: "gdp:error", message: String(error?.message ?? error) }));
  });

  const api = {
    /** The view can act on commands now: tell the host, run queued commands, autoplay when asked. */
    ready() {
      if (isReady) return;
      isReady = true;
      post({ type: "gdp:ready", view });
      if (document.body.dataset.autoplay === "1") controller.play();
      for (const message of queued.splice(0)) handle(message);
    },
    step(run, step) {
      pendingSteps[run] = step;
      if (!stepTimer) stepTimer = setTimeout(flushSteps, STEP_INTERVAL_MS);
    },
    event(run, event) {
      if (!EVENTS.has(event)) return;
      flushSteps();
      post({ type: "gdp:event", run, event });
    },
    done() {
      flushSteps();
      post({ type: "gdp:done" });
    },
  };
  bindEmbedDialog(view, options);
  watchHeight(view);
  return api;
}

/**
 * The Embed button of a full page: an <iframe> snippet and a permalink of the current state; `note()` is
 * what the link cannot carry (an uploaded CSV), said in the dialog ("" says nothing).
 */
function bindEmbedDialog(view, { query = () => "", height = 800, note = () => "" } = {}) {
  const open = document.getElementById("embed-open");
  const dialog = /** @type {HTMLDialogElement | null} */ (document.getElementById("embed-dialog"));
  if (!open || !dialog) return;
  const $ = (/** @type {string} */ id) => /** @type {any} */ (document.getElementById(id));
  const lang = document.documentElement.lang;
  const embedName = document.body.dataset.view ?? view;
  const title = document.querySelector("h1")?.textContent?.trim() ?? view;
  const escapeAttr = (s) => s.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;");

  function refresh() {
    const state = new URLSearchParams(query());
    if (lang && lang !== "en") state.set("lang", lang);
    const permalink = `${location.origin}${location.pathname}${state.size ? `?${state}` : ""}`;
    const controls = $("embed-controls").value;
    if (controls !== "full") state.set("controls", controls);
    if ($("embed-autoplay").checked) state.set("autoplay", "1");
    const src = `${location.origin}/embed/${embedName}${state.size ? `?${state}` : ""}`;
    $("embed-snippet").value =
      `<iframe src="${escapeAttr(src)}" width="100%" height="${height}" style="border:0" loading="lazy" ` +
      `title="${escapeAttr(title)}"></iframe>`;
    $("embed-permalink").value = permalink;
    $("embed-copied").textContent = "";
    const said = note();
    $("embed-note").textContent = said;
    $("embed-note").hidden = !said;
  }

  async function copy(text) {
    try {
      await navigator.clipboard.writeText(text);
      $("embed-copied").textContent = t("embed.dialog.copied");
    } catch {
      $("embed-copied").textContent = t("embed.dialog.select_to_copy");
    }
  }

  open.addEventListener("click", () => {
    refresh();
    dialog.showModal();
    $("embed-snippet").select();
  });
  $("embed-controls").addEventListener("change", refresh);
  $("embed-autoplay").addEventListener("change", refresh);
  $("embed-copy").addEventListener("click", () => copy($("embed-snippet").value));
  $("embed-copy-link").addEventListener("click", () => copy($("embed-permalink").value));
}
