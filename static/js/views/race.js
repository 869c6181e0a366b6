// @ts-check
// The optimizer race (/race): several optimizers from one start, with a results table that fills in live.
import { mountDescentView } from "./descent.js";

/**
 * Learning rates chosen so each optimizer does something instructive on Rosenbrock within 3,000 steps, and so
 * no two paths coincide (Nesterov at momentum's 0.0005 draws on top of it; its look-ahead takes 0.001).
 */
const RACE = [
  { id: "sgd", optimizer: "sgd", hyperparameters: { lr: 0.001 } },
  { id: "momentum", optimizer: "momentum", hyperparameters: { lr: 0.0005 } },
  { id: "nesterov", optimizer: "nesterov", hyperparameters: { lr: 0.001 } },
  { id: "rmsprop", optimizer: "rmsprop", hyperparameters: { lr: 0.01 } },
  { id: "adam", optimizer: "adam", hyperparameters: { lr: 0.05 } },
];

mountDescentView(document.querySelector("main"), {
  mode: "race",
  defaults: { surface: "rosenbrock", runs: RACE, steps: 3000, speed: 200, arrows: false },
});
