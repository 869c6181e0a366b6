// Globals of the pages: Plotly.js is loaded by a classic <script> (/static/vendor/plotly.min.js).
declare const Plotly: any;
interface Window {
  Plotly: any;
}
// The read-only test hooks (live.js exposeHook, and views that set them directly): window.__<name>.
interface Window {
  [hook: `__${string}`]: any;
}
