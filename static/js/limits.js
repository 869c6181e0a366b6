// @ts-check
// What a network config from the URL may ask for (pure, no DOM): the server says its limits in `hello.limits`
// (docs/protocol.md); before the hello, or when it does not say, the defaults it ships with.

/** @typedef {{activations?: string[], max_layers?: number, max_units?: number}} LayerLimits */

/** The server's defaults (app/ml/nets.py ACTIVATIONS and MAX_UNITS, NetworkRequest.hidden's max_length). */
export const DEFAULT_LIMITS = Object.freeze({
  activations: Object.freeze(["relu", "leaky_relu", "tanh", "sigmoid", "linear"]),
  max_layers: 6,
  max_units: 32,
});

/**
 * Hidden layers `[{units, act}]`: at most `max_layers` of 1 … `max_units` units, each with an activation the
 * server knows (`known` = hello.limits; DEFAULT_LIMITS for what it leaves out).
 * @param {unknown} v
 * @param {LayerLimits | null} [known]
 */
export function validLayers(v, known = null) {
  const acts = known?.activations ?? DEFAULT_LIMITS.activations;
  const maxLayers = known?.max_layers ?? DEFAULT_LIMITS.max_layers;
  const maxUnits = known?.max_units ?? DEFAULT_LIMITS.max_units;
  return (
    Array.isArray(v) &&
    v.length <= maxLayers &&
    v.every(
      (l) => l && Number.isInteger(l.units) && l.units >= 1 && l.units <= maxUnits && typeof l.act === "string" && acts.includes(l.act),
    )
  );
}
