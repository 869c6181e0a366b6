// @ts-check
// Learning-rate ladders of the sweep view (pure).

/**
 * `n` learning rates spaced evenly on a log scale from `lo` to `hi`, each to 3 significant digits.
 * @param {number} n
 * @param {number} lo
 * @param {number} hi
 * @returns {number[]}
 */
export function learningRates(n, lo, hi) {
  const a = Math.log10(lo);
  const b = Math.log10(hi);
  return Array.from({ length: n }, (_, i) => Number((10 ** (a + ((b - a) * i) / Math.max(n - 1, 1))).toPrecision(3)));
}
