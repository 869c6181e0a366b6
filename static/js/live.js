// @ts-check
// LiveSession: the one controller of every live view. It owns the stream (client.js), the idle / running /
// paused / finished state machine, the seq filter (messages of a descent the user reset are dropped), the
// transport buttons, the speed control, the Space / → shortcuts, the status line, the embed controller
// (embed.js, postMessage) and the read-only test hook. A view declares what it shows (docs/new-view.md):
//
//   const session = new LiveSession({
//     name: "network",                          // the embed name (gdp:ready {view})
//     kind: "network",                          // "surface" (default), "network" (docs/networks.md) or "map"
//     config: () => networkConfig(),            // the `start` config of a new descent / training
//     speed: { get: () => state.speed, set: (s) => { state.speed = s; save(); } },
//     words: { idle: "…", running: "…", paused: "…", finished: "…" },
//     on: { started(msg) {…}, iterations(msg) {…}, event(msg) {…} },   // only messages of the live seq
//     onReset: () => log.reset(),
//     embed: { set: (run, hyperparameters) => …, query: () => encodeState(SCHEMA, state), height: 1400 },
//   });
//   session.open();                             // connect; gdp:ready once the view is ready
//
// Two transports: play / pause-resume / step / reset (#play #step #reset, the default), or run / pause-resume /
// stop (#run #pause #stop: the sweep's form). The speed is a range input over SPEEDS or a <select> of
// `speed.choices` (theme.js SPEED_CHOICES).
import { StreamClient } from "./client.js";
import { bindShortcuts, speedIndex } from "./controls.js";
import { SPEEDS } from "./theme.js";
import { registerView } from "./embed.js";
import { errorText, t } from "./i18n.js";

/** @typedef {"idle" | "running" | "paused" | "finished"} Status */
/** @typedef {number | "max"} Speed */
/** @typedef {import("./protocol").ServerMessage} ServerMessage */
/** @typedef {import("./protocol").Hello} Hello */

/**
 * @typedef {object} LiveOptions
 * @property {string} name                       embed name of the view
 * @property {"surface" | "network" | "map"} [kind]
 * @property {() => object} config               the config of the next `start`
 * @property {() => boolean} [canStart]          false: play and step are disabled (an invalid form)
 * @property {{get: () => string, set: (speed: string) => void, label?: (n: number) => string, choices?: string[]}} speed
 * @property {Partial<Record<Status, string>> | ((status: Status) => string)} [words]  status line texts
 * @property {() => string | null} [starting]     the status line while a descent starts (null: "Starting…")
 * @property {Record<string, (msg: any) => void>} [on]   handlers of server messages of the live seq
 * @property {(info: {code: number, reason: string}) => string} [closedText]
 * @property {() => void} [onReset]              forget the drawn descent
 * @property {(status: Status) => void} [onStatus]
 * @property {boolean} [stepRestarts]            Step on a finished descent starts a new one (descent views)
 * @property {string} [run]                      the run name of gdp:event when a message has none
 * @property {{set?: (run: string | null, hyperparameters: object) => unknown, query?: () => string, height?: number, note?: () => string}} [embed]
 * @property {ParentNode} [root]                 where the transport lives (default: the document)
 * @property {boolean} [autostart]               connect, then start paused (and again after every reset): step 0 shows
 * @property {string} [playAgain]                the Play button's words on a finished descent
 * @property {() => boolean | Promise<boolean>} [prepare]  before a new descent starts; false: it does not
 * @property {boolean} [stopOnReset]             reset stops the descent but keeps its last messages (how it ended)
 */

/** A speed as the URL keeps it ("60", "max") to what the server takes (60, "max"). */
export const parseSpeed = (/** @type {string} */ s) => (s === "max" ? "max" : Number(s));

/** The status line of a state: a table of words or a function. */
export function statusWord(words, status) {
  if (typeof words === "function") return words(status);
  return words?.[status] ?? t(`common.status.${status}`);
}

export class LiveSession {
  /** @param {LiveOptions} options */
  constructor(options) {
    this.o = options;
    /** @type {Status} */
    this.status = "idle";
    /** @type {StreamClient | null} */
    this.client = null;
    /** @type {Hello | null} */
    this.hello = null;
    this.ignoreSeq = 0;
    this.acks = 0;
    /** @type {boolean | null} */
    this.serverPaused = null;
    const root = options.root ?? document;
    /** @param {string} id */
    const $ = (id) => /** @type {HTMLElement | null} */ (root.querySelector(`#${id}`));
    this.ui = {
      play: /** @type {HTMLButtonElement | null} */ ($("play")),
      step: /** @type {HTMLButtonElement | null} */ ($("step")),
      reset: /** @type {HTMLButtonElement | null} */ ($("reset")),
      speed: /** @type {HTMLInputElement | HTMLSelectElement | null} */ ($("speed")),
      speedOut: $("speed-out"),
      status: $("status"),
      run: /** @type {HTMLButtonElement | null} */ ($("run")),
      pause: /** @type {HTMLButtonElement | null} */ ($("pause")),
      stop: /** @type {HTMLButtonElement | null} */ ($("stop")),
    };
    /** The `started` of the descent on screen arrived (false again after a reset). */
    this.started = false;
    this.preparing = false;
    this.embed = registerView(
      options.name,
      {
        play: () => (this.status === "running" ? undefined : this.play()),
        pause: () => (this.status === "running" ? this.pause() : undefined),
        step: () => this.step(),
        reset: () => this.reset(),
        set: (run, hyperparameters) => {
          if (!options.embed?.set) throw new Error(`${options.name} takes no gdp:set`);
          return options.embed.set(run, hyperparameters);
        },
      },
      { query: options.embed?.query, height: options.embed?.height, note: options.embed?.note },
    );
    this.#bind();
  }

  /** The socket is open and the server said hello. */
  get connected() {
    return Boolean(this.client && !this.client.closed && this.client.hello);
  }

  get active() {
    return this.status === "running" || this.status === "paused";
  }

  /** The limits the server sent in `hello` (docs/protocol.md), or null before it. */
  get limits() {
    return this.hello?.limits ?? null;
  }

  /**
   * Set the state and what the transport and the status line say; `message` replaces the state's words.
   * @param {Status} next
   * @param {string} [message]
   */
  setStatus(next, message) {
    this.status = next;
    const { play, step, run, pause, stop } = this.ui;
    const can = this.o.canStart ? this.o.canStart() : true;
    if (play) {
      play.textContent = next === "running" ? t("common.pause") : next === "finished" && this.o.playAgain ? this.o.playAgain : t("common.play");
      play.setAttribute("aria-pressed", String(next === "running"));
      play.disabled = !can;
    }
    if (step) step.disabled = !can || (next === "finished" && !this.o.stepRestarts);
    if (run) run.disabled = !can || !this.connected || this.active;
    if (pause) {
      pause.disabled = !this.active;
      pause.textContent = next === "paused" ? t("common.resume") : t("common.pause");
    }
    if (stop) stop.disabled = !this.active;
    document.body.dataset.playing = String(next === "running");
    this.say(message ?? statusWord(this.o.words, next));
    this.o.onStatus?.(next);
  }

  /** Put a message on the status line without changing the state. */
  say(/** @type {string} */ text) {
    if (this.ui.status) this.ui.status.textContent = text;
  }

  /**
   * Connect now; `gdp:ready` is posted once connected and `until` (the view's own loading) resolved.
   * @param {Promise<unknown>} [until]
   */
  open(until = Promise.resolve()) {
    this.setStatus("idle");
    const ready = this.connect();
    return Promise.all([ready, until])
      .then(() => this.embed.ready())
      .catch(() => {});
  }

  /** A new socket with the view's handlers; resolves with `hello`. */
  connect() {
    const client = new StreamClient();
    this.client = client;
    const on = this.o.on ?? {};
    /** @param {{seq?: number}} msg */
    const live = (msg) => msg.seq === undefined || msg.seq > this.ignoreSeq;
    client.on("open", (hello) => {
      this.hello = hello;
      on.open?.(hello);
      if (this.o.autostart && !this.active) this.#autostart(client);
      else this.setStatus(this.status);
    });
    client.on("started", (msg) => {
      if (!live(msg) || (this.o.kind === "network" && msg.kind !== "network")) return;
      this.started = true;
      on.started?.(msg);
      this.setStatus(msg.paused ? "paused" : "running");
    });
    for (const type of ["steps", "iterations", "epoch", "updated", "run_added", "run_removed", "ledger", "map_rows"]) {
      client.on(type, (msg) => live(msg) && on[type]?.(msg));
    }
    client.on("event", (msg) => {
      if (!live(msg) || msg.reason === undefined) return;
      on.event?.(msg);
      this.embed.event(msg.run ?? this.o.run ?? this.o.name, msg.reason);
    });
    client.on("done", (msg) => {
      if (!live(msg)) return;
      on.done?.(msg);
      this.embed.done();
      if (this.active) this.setStatus("finished");
    });
    client.on("state", (msg) => {
      if (!live(msg)) return;
      this.acks++;
      this.serverPaused = msg.paused;
      if (this.active) this.setStatus(msg.paused ? "paused" : "running");
    });
    client.on("error", (msg) => {
      if (on.error) on.error(msg);
      else this.say(t("error.server_refused", { message: errorText(msg) }));
    });
    client.on("close", (info) => {
      if (this.client === client) this.client = null;
      const text = this.o.closedText ? this.o.closedText(info) : t("error.closed_reload", { reason: `${info.code}${info.reason ? `: ${info.reason}` : ""}` });
      this.setStatus(this.active ? "idle" : this.status, text);
    });
    return client.ready;
  }

  /** The open client (a new one when the last closed), once it has said hello. */
  async ensureClient() {
    if (!this.client || this.client.closed) this.connect();
    const client = /** @type {StreamClient} */ (this.client);
    await client.ready;
    return client;
  }

  /** A new descent, paused at its step 0 (the `autostart` option). */
  #autostart(/** @type {StreamClient} */ client) {
    this.#start(client, true);
    this.setStatus("paused");
  }

  /** A new descent on `client`, after the view's `prepare` (false: none starts). */
  async #begin(/** @type {StreamClient} */ client, /** @type {boolean} */ paused) {
    if (this.preparing) return false;
    this.preparing = true;
    try {
      if (this.o.prepare && !(await this.o.prepare())) return false;
    } finally {
      this.preparing = false;
    }
    this.#start(client, paused);
    return true;
  }

  #start(/** @type {StreamClient} */ client, /** @type {boolean} */ paused) {
    const speed = parseSpeed(this.o.speed.get());
    const config = this.o.config();
    if (this.o.kind === "network") client.startNetwork(config, { speed, paused });
    else if (this.o.kind === "map") client.startMap(config, { speed, paused });
    else client.start(config, { speed, paused });
  }

  /** Play/pause: start a new descent when idle or finished, else pause or resume the one in progress. */
  async play() {
    if (this.o.canStart && !this.o.canStart()) return;
    const client = await this.ensureClient();
    if (this.status === "running") {
      client.pause();
      this.setStatus("paused");
    } else if (this.status === "paused") {
      client.resume();
      this.setStatus("running");
    } else if (await this.#begin(client, false)) {
      this.setStatus("running", this.o.starting?.() ?? t("common.starting"));
    }
  }

  async pause() {
    if (this.status !== "running") return;
    const client = await this.ensureClient();
    client.pause();
    this.setStatus("paused");
  }

  /** One step (the server pauses first); when idle, a new descent starts paused at its step 0. */
  async step() {
    if (this.o.canStart && !this.o.canStart()) return;
    if (this.status === "finished" && !this.o.stepRestarts) return;
    const client = await this.ensureClient();
    if (!this.active && !(await this.#begin(client, true))) return;
    client.step(1);
    this.setStatus("paused");
  }

  /** Stop the descent in progress; its `event`s (reason "stopped") and `done` still arrive and are shown. */
  stop() {
    if (this.client && this.active) this.client.stop();
  }

  /**
   * Forget the descent (the server stops it; its last messages are dropped) and show the start again; with
   * `autostart`, a new one waits paused at its step 0. With `stopOnReset`, only stop().
   */
  reset() {
    if (this.o.stopOnReset) return this.stop();
    if (this.client && this.active) this.client.stop();
    if (this.client) this.ignoreSeq = this.client.seq;
    this.started = false;
    this.o.onReset?.();
    this.setStatus("idle");
    if (this.o.autostart && this.connected && this.client) this.#autostart(this.client);
  }

  /** After a change of the config: a running descent starts again with it, a paused one is reset. */
  restartIfRunning() {
    const wasRunning = this.status === "running";
    this.reset();
    if (wasRunning) this.play();
  }

  /** Send a command to the descent in progress (set, add_run, remove_run); false when there is none. */
  send(/** @type {(client: StreamClient) => unknown} */ command) {
    if (!this.client || !this.active) return false;
    command(this.client);
    return true;
  }

  #bind() {
    const { play, step, reset, speed, speedOut, run, pause, stop } = this.ui;
    play?.addEventListener("click", () => this.play());
    step?.addEventListener("click", () => this.step());
    reset?.addEventListener("click", () => this.reset());
    // Run submits its form (Enter in a field runs too); Pause pauses or resumes, Stop stops.
    if (run?.form) {
      run.form.addEventListener("submit", (e) => {
        e.preventDefault();
        if (!this.active) this.play();
      });
    } else run?.addEventListener("click", () => this.active || this.play());
    pause?.addEventListener("click", () => this.active && this.play());
    stop?.addEventListener("click", () => this.stop());
    bindShortcuts({ toggle: () => this.play(), step: () => this.step() });
    if (speed) this.#bindSpeed(speed, speedOut);
  }

  /** A range input steps through SPEEDS; a <select> offers `speed.choices`. */
  #bindSpeed(/** @type {HTMLInputElement | HTMLSelectElement} */ input, /** @type {HTMLElement | null} */ output) {
    const changed = (/** @type {string} */ value) => {
      this.o.speed.set(value);
      if (this.client && this.active) this.client.speed(parseSpeed(value));
    };
    if (input instanceof HTMLSelectElement) {
      for (const value of this.o.speed.choices ?? []) {
        const option = document.createElement("option");
        option.value = value;
        option.textContent = value === "max" ? t("common.speed_max") : t("common.steps_per_s", { n: Number(value) });
        input.append(option);
      }
      input.value = this.o.speed.get();
      input.addEventListener("change", () => changed(input.value));
      return;
    }
    input.min = "0";
    input.max = String(SPEEDS.length - 1);
    input.step = "1";
    input.value = String(speedIndex(parseSpeed(this.o.speed.get())));
    const label = this.o.speed.label ?? ((n) => t("common.steps_per_s", { n }));
    const show = () => {
      const s = SPEEDS[Number(input.value)];
      const text = s === "max" ? t("common.speed_max_short") : label(Number(s));
      if (output) output.textContent = text;
      input.setAttribute("aria-valuetext", text);
      return s;
    };
    show();
    input.addEventListener("input", () => changed(String(show())));
  }
}

/**
 * The read-only hook the browser tests and benchmarks read (`window.__<name>`): `value` is an object of
 * functions, or a getter that builds a fresh frozen snapshot on every read.
 */
export function exposeHook(/** @type {string} */ name, /** @type {object | (() => object)} */ value) {
  const descriptor = typeof value === "function" ? { get: value, configurable: true } : { value, configurable: true };
  Object.defineProperty(window, `__${name}`, descriptor);
}
