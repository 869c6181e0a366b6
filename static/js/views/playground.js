// @ts-check
// The surface playground (/playground): one surface, a few runs, every step drawn live.
import { mountDescentView } from "./descent.js";

mountDescentView(document.querySelector("main"), {
  mode: "playground",
  defaults: {
    surface: "rosenbrock",
    runs: [
      { id: "sgd", optimizer: "sgd", hyperparameters: { lr: 0.001 } },
      { id: "momentum", optimizer: "momentum", hyperparameters: { lr: 0.0005 } },
    ],
    steps: 5000,
    speed: 60,
    arrows: true,
  },
});
