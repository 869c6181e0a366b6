// Globals of the pages: Plotly.js is loaded by a classic <script> (/static/vendor/plotly.min.js).
declare const Plotly: any;
interface Window {
  Plotly: any;
}
