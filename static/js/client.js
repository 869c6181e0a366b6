// @ts-check
// The only module that touches the WebSocket: speaks protocol v1 (docs/protocol.md) for the views.
//
//   const client = new StreamClient();            // connects to /api/v1/stream on this host
//   client.on("steps", (msg) => ...);             // any server message type: hello, started, steps, event,
//   client.on("error", (msg) => ...);             //   done, state, updated, run_added, run_removed, map_rows, error
//   client.on("close", (info) => ...);            // {code, reason}; "open" fires after hello
//   await client.ready;                           // resolves with the hello message
//   client.start(config, {speed: 60, paused: false});
//   client.pause(); client.resume(); client.step(1); client.stop(); client.speed("max");
//   client.set("adam", {lr: 0.01}); client.addRun({...}); client.removeRun("adam");
//
// Messages of an older descent (a `seq` below the latest `started`) are dropped here, so views never
// draw stale steps after a restart.
import { errorText } from "./i18n.js";

export class StreamClient {
  constructor(url = StreamClient.defaultUrl()) {
    this.url = url;
    this.handlers = new Map();
    this.seq = 0;
    this.hello = null;
    this.closed = false;
    this.nextRef = 1;
    this.socket = new WebSocket(url);
    this.ready = new Promise((resolve, reject) => {
      this.socket.addEventListener("message", (event) => this.#receive(event, resolve));
      this.socket.addEventListener("close", (event) => {
        this.closed = true;
        reject(new Error(`stream closed before hello (${event.code})`));
        this.#emit("close", { code: event.code, reason: event.reason });
      });
      this.socket.addEventListener("error", () => this.#emit("socket-error", {}));
    });
    this.ready.catch(() => {}); // a failed connection is reported through "close"
  }

  static defaultUrl() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    return `${scheme}//${location.host}/api/v1/stream`;
  }

  on(type, handler) {
    if (!this.handlers.has(type)) this.handlers.set(type, new Set());
    this.handlers.get(type).add(handler);
    return () => this.handlers.get(type).delete(handler);
  }

  #emit(type, message) {
    for (const handler of this.handlers.get(type) ?? []) handler(message);
  }

  #receive(event, resolveHello) {
    let message;
    try {
      message = JSON.parse(event.data);
    } catch {
      return;
    }
    if (message.type === "hello") {
      this.hello = message;
      resolveHello(message);
      this.#emit("open", message);
    }
    if (message.type === "started") this.seq = message.seq;
    if (message.seq !== undefined && message.seq < this.seq) return;
    this.#emit(message.type, message);
    this.#emit("message", message);
  }

  send(command) {
    if (this.closed || this.socket.readyState !== WebSocket.OPEN) return null;
    const ref = this.nextRef++;
    this.socket.send(JSON.stringify({ ...command, ref }));
    return ref;
  }

  /** @param {object} config @param {{speed?: number | "max", paused?: boolean}} [options] */
  start(config, { speed = 30, paused = false } = {}) {
    return this.send({ type: "start", config, speed, paused });
  }
  /** Start training a network (docs/networks.md): speed counts iterations per second. */
  /** @param {object} config @param {{speed?: number | "max", paused?: boolean}} [options] */
  startNetwork(config, { speed = 20, paused = false } = {}) {
    return this.send({ type: "start", kind: "network", config, speed, paused });
  }
  /** Start a convergence map (docs/protocol.md): it fills in bands of rows; a step is one band. */
  /** @param {object} config @param {{speed?: number | "max", paused?: boolean}} [options] */
  startMap(config, { speed = "max", paused = false } = {}) {
    return this.send({ type: "start", kind: "map", config, speed, paused });
  }
  pause() { return this.send({ type: "pause" }); }
  resume() { return this.send({ type: "resume" }); }
  step(n = 1) { return this.send({ type: "step", n }); }
  stop() { return this.send({ type: "stop" }); }
  speed(value) { return this.send({ type: "speed", value }); }
  set(run, hyperparameters) { return this.send({ type: "set", run, hyperparameters }); }
  addRun(run) { return this.send({ type: "add_run", run }); }
  removeRun(run) { return this.send({ type: "remove_run", run }); }
  explain(run) { return this.send({ type: "explain", run }); }

  close() {
    this.closed = true;
    this.socket.close(1000, "bye");
  }
}

// REST calls the views need (JSON in, JSON out); a 422 rejects with the server's first error detail.
async function request(path, options = {}) {
  const response = await fetch(path, options);
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    const detail = body?.detail?.[0] ?? { msg: `HTTP ${response.status}`, loc: [] };
    const error = /** @type {Error & {detail?: any, status?: number}} */ (new Error(errorText(detail)));
    error.detail = detail;
    error.status = response.status;
    throw error;
  }
  return body;
}

/** One surface with a grid; `params` are surface parameters, or {expression, view} for a custom one. */
export function surfaceGrid(name, { grid = 120, params = {}, expression = null, view = null } = {}) {
  const query = new URLSearchParams({ grid: String(grid), ...params });
  if (expression !== null) query.set("expression", expression);
  if (view) query.set("view", view.join(","));
  return request(`/api/v1/surfaces/${encodeURIComponent(name)}?${query}`);
}

/**
 * The exact Hessian of a surface at a point with its eigenpairs and 2/λmax (docs/api.md "Curvature");
 * `params` are surface parameters, `expression` a custom surface's formula. `y` is left out on 1-D surfaces.
 * @param {string} name @param {number[]} point
 * @param {{params?: Record<string, number>, expression?: string | null}} [options]
 */
export function curvature(name, point, { params = {}, expression = null } = {}) {
  const query = new URLSearchParams({ x: String(point[0]), ...params });
  if (point.length > 1) query.set("y", String(point[1]));
  if (expression !== null) query.set("expression", expression);
  return request(`/api/v1/surfaces/${encodeURIComponent(name)}/curvature?${query}`);
}

/** The insurance table at (w, b) of the insurance_bce surface with `params` (GET /api/v1/cross-entropy). */
export function crossEntropyTable(w, b, params = {}) {
  const query = new URLSearchParams({ w: String(w), b: String(b), ...params });
  return request(`/api/v1/cross-entropy?${query}`);
}

/** POST a JSON body to an API path (traces, network traces, code export, dataset preview, landscape). */
export function postJson(path, body) {
  return request(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
}

/** The registries the server embedded in the page (`<script type="application/json" id="registry">`). */
export function embeddedRegistry() {
  const element = document.getElementById("registry");
  return element ? JSON.parse(element.textContent) : null;
}
