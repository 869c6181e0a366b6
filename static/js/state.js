// @ts-check
// URL state: each view declares a table of properties; the whole view serialises to the query string
// and back, so any URL reproduces a view (TensorFlow Playground's state.ts idea, one table per view).
//
//   const SCHEMA = {
//     surface: { type: "string", default: "rosenbrock" },
//     start:   { type: "numbers", default: null },      // "x,y" in the URL
//     speed:   { type: "number", default: 60 },
//     paused:  { type: "bool", default: false },
//     runs:    { type: "json", default: [] },           // compact JSON, URL-encoded
//   };
//     expression: { type: "string", default: "", aliases: ["expr"] },  // older links' keys still read
//   const state = readState(SCHEMA);                   // from location.search, defaults filled in
//   writeState(SCHEMA, state);                         // history.replaceState, defaults left out
//   shareUrl(SCHEMA, state)                            // absolute URL of this state

const PARSERS = {
  string: (raw) => raw,
  number: (raw) => {
    const value = Number(raw);
    return Number.isFinite(value) ? value : undefined;
  },
  int: (raw) => {
    const value = Number.parseInt(raw, 10);
    return Number.isFinite(value) ? value : undefined;
  },
  bool: (raw) => (raw === "1" || raw === "true" ? true : raw === "0" || raw === "false" ? false : undefined),
  numbers: (raw) => {
    const values = raw.split(",").map(Number);
    return values.length && values.every(Number.isFinite) ? values : undefined;
  },
  json: (raw) => {
    try {
      return JSON.parse(raw);
    } catch {
      return undefined;
    }
  },
};

const FORMATTERS = {
  string: String,
  number: (v) => String(v),
  int: (v) => String(Math.trunc(v)),
  bool: (v) => (v ? "1" : "0"),
  numbers: (v) => v.join(","),
  json: (v) => JSON.stringify(v),
};

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

/** Read every property of `schema` from a query string; missing or unreadable values take the default. */
export function readState(schema, search = typeof location === "undefined" ? "" : location.search) {
  const params = new URLSearchParams(search);
  const state = {};
  for (const [name, spec] of Object.entries(schema)) {
    const key = [name, ...(spec.aliases ?? [])].find((k) => params.has(k));
    const raw = key === undefined ? null : params.get(key);
    const parsed = raw === null ? undefined : PARSERS[spec.type](raw);
    const valid = parsed !== undefined && (!spec.validate || spec.validate(parsed));
    state[name] = valid ? parsed : structuredClone(spec.default);
  }
  return state;
}

/** The query string of a state (properties equal to their default are left out, to keep URLs short). */
export function encodeState(schema, state) {
  const params = new URLSearchParams();
  for (const [name, spec] of Object.entries(schema)) {
    const value = state[name];
    if (value === undefined || value === null || same(value, spec.default)) continue;
    params.set(name, FORMATTERS[spec.type](value));
  }
  return params.toString();
}

/** Every key of a schema the URL may use for its properties: the names and their older aliases. */
export function stateKeys(schema) {
  return Object.entries(schema).flatMap(([name, spec]) => [name, ...(spec.aliases ?? [])]);
}

/**
 * Parameters of the page that are not a view's state and survive every writeState: the language and the
 * embed options (docs/i18n.md, docs/embedding.md). Only `lang` goes into share links.
 */
export const PAGE_PARAMS = ["lang", "controls", "autoplay", "caption", "origin"];
const SHARED_PAGE_PARAMS = ["lang"];

function withPageParams(query, names) {
  const params = new URLSearchParams(query);
  const current = new URLSearchParams(location.search);
  for (const name of names) if (current.has(name) && !params.has(name)) params.set(name, current.get(name));
  return params.toString();
}

/** Put the state in the address bar without adding a history entry (page parameters such as lang kept). */
export function writeState(schema, state) {
  const query = withPageParams(encodeState(schema, state), PAGE_PARAMS);
  const url = `${location.pathname}${query ? `?${query}` : ""}${location.hash}`;
  history.replaceState(null, "", url);
}

/** An absolute URL that reproduces this state (and the page's language) on `path` (default: this page). */
export function shareUrl(schema, state, path = location.pathname) {
  const query = withPageParams(encodeState(schema, state), SHARED_PAGE_PARAMS);
  return `${location.origin}${path}${query ? `?${query}` : ""}`;
}
