// @ts-check
// Pure helpers that turn a curvature answer (GET /api/v1/surfaces/{name}/curvature, docs/api.md
// "Curvature") into things to draw: the eigen-direction cross at a point and the learning-rate edge
// 2/λmax. No maths of the surface here: the server gives the Hessian's eigenpairs, these only scale them.

/** Half an arm of the cross for the eigenvalue with the largest |λ|, as a fraction of the view's span. */
export const CROSS_FRACTION = 0.2;

/**
 * The cross at `point`: one arm per eigenvector, centred on the point, each half-arm
 * |λ_i| / max_j |λ_j| × CROSS_FRACTION × min(view width, view height) long (data units), so the arms'
 * ratio is the curvatures' ratio and the longer arm is the sharper direction. An arm of a negative
 * eigenvalue (the surface curves down that way) is marked `negative` (drawn dashed).
 * @param {{eigenvalues: number[], eigenvectors: number[][]}} curvature
 * @param {number[]} point
 * @param {{x: number[], y: number[]}} range the view's axis ranges
 * @returns {Array<{x: number[], y: number[], lambda: number, direction: number[], negative: boolean}>}
 */
export function curvatureCross(curvature, point, range) {
  const span = Math.min(Math.abs(range.x[1] - range.x[0]), Math.abs(range.y[1] - range.y[0]));
  const largest = Math.max(...curvature.eigenvalues.map(Math.abs));
  const [px, py] = point;
  return curvature.eigenvalues.map((lambda, i) => {
    const [vx, vy] = curvature.eigenvectors[i];
    const half = largest > 0 ? (Math.abs(lambda) / largest) * CROSS_FRACTION * span : 0;
    return {
      x: [px - half * vx, px + half * vx], y: [py - half * vy, py + half * vy],
      lambda, direction: [vx, vy], negative: lambda < 0,
    };
  });
}

/**
 * The edge of stability 2/v of gradient descent on a quadratic: for a curvature v = λmax, the largest
 * stable learning rate; for a learning rate v, the largest curvature it can descend (Cohen et al. 2021).
 * Null when v ≤ 0 or not finite (no direction curves upwards: no such limit).
 * @param {number | null | undefined} value
 */
export function stabilityEdge(value) {
  return typeof value === "number" && Number.isFinite(value) && value > 0 ? 2 / value : null;
}

/**
 * Calls `fn` once, `wait` ms after the last call (the latest arguments win): curvature is asked for
 * when the point settles, never on every frame.
 * @template {any[]} A
 * @param {(...args: A) => void} fn @param {number} wait
 */
export function debounce(fn, wait) {
  /** @type {ReturnType<typeof setTimeout> | null} */
  let timer = null;
  return (/** @type {A} */ ...args) => {
    if (timer !== null) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      fn(...args);
    }, wait);
  };
}

/**
 * Why there is no curvature to draw, in the page's words: a 422 means the point has no finite Hessian (a kink,
 * a diverged point), any other failure is the request's own message.
 * @param {{status?: number, message?: string}} error @param {(key: string, params?: object) => string} t
 */
export function curvatureErrorText(error, t) {
  return error.status === 422 ? t("curv.none") : t("curv.failed", { message: error.message ?? "" });
}
