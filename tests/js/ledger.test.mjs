import assert from "node:assert/strict";
import test from "node:test";

import { ledgerRows, stepSizeBox } from "../../static/js/ledger.js";

const ADAM = {
  run: "adam", optimizer: "adam", update_rule: "…", step: 2, point: [1, 2], loss: 3, gradient: [0.5, -2], lr: 0.05,
  stages: [
    { name: "scale_by_adam", input: [0.5, -2], output: [1, -1],
      state: { count: 3, exp_avg: [0.1, -0.3], exp_avg_sq: [0.01, 0.2], max_exp_avg_sq: [0, 0] },
      notes: { bias_correction1: 0.271, m_hat: [0.37, -1.1], denominator: [0.3, 0.9], scale: [3.3, 1.1] } },
    { name: "scale_by_learning_rate", input: [1, -1], output: [-0.05, 0.05], state: {}, notes: {} },
  ],
  update: [-0.05, 0.05], effective_lr: [0.1, 0.025], step_size: [0.165, 0.055],
};

test("ledger rows go point, gradient, stages with their state and notes, rates, update", () => {
  const rows = ledgerRows(ADAM, (key, fallback) => (key === "ledger.stage.scale_by_adam" ? "Adam" : fallback));
  assert.deepEqual(rows.map((r) => r.label), [
    "θ_t", "g", "Adam", "count", "exp_avg", "exp_avg_sq", "max_exp_avg_sq",
    "bias_correction1", "m_hat", "denominator", "scale_by_learning_rate", "η", "η·scale", "−Δθ/g", "Δθ",
  ]);
  assert.deepEqual(rows.find((r) => r.label === "count").values, [3, 3]); // one number for every coordinate
  assert.deepEqual(rows.at(-1), { kind: "update", label: "Δθ", values: [-0.05, 0.05] });
  assert.deepEqual(rows.find((r) => r.label === "η").values, [0.05, 0.05]);
});

test("plain SGD has no step-size row and no box", () => {
  const sgd = { ...ADAM, optimizer: "sgd", step_size: null,
    stages: [{ name: "trace", input: [0.5, -2], output: [0.5, -2], state: { momentum_buffer: [0, 0], started: false }, notes: {} }] };
  const labels = ledgerRows(sgd, (_, f) => f).map((r) => r.label);
  assert.ok(!labels.includes("η·scale") && !labels.includes("started"));
  assert.equal(stepSizeBox(sgd), null);
});

test("the step-size box is centred on the point with half-widths η·scale", () => {
  const box = stepSizeBox(ADAM);
  const [lo, hi, bottom, top] = [1 - 0.165, 1 + 0.165, 2 - 0.055, 2 + 0.055];
  assert.deepEqual(box.x, [lo, hi, hi, lo, lo]);
  assert.deepEqual(box.y, [bottom, bottom, top, top, bottom]);
});

test("registry update rules read as plain text", async () => {
  const { plainRule } = await import("../../static/js/ledger.js");
  assert.equal(
    plainRule(String.raw`m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t;\ \theta_t = \theta_{t-1} - \frac{\eta}{1-\beta_1^t}\,\frac{m_t}{\sqrt{v_t}/\sqrt{1-\beta_2^t} + \epsilon}`),
    "mₜ = β₁ mₜ₋₁ + (1-β₁) gₜ; θₜ = θₜ₋₁ - (η)/(1-β₁ᵗ) (mₜ)/(√(vₜ)/√(1-β₂ᵗ) + ε)",
  );
  assert.equal(plainRule(String.raw`\hat m_t \cdot \text{centered}`), "m̂ₜ · centered");
  assert.equal(plainRule(String.raw`\sqrt{\max_{s\le t} v_s}`), "√(max_(s ≤ t) vₛ)");
});

test("update rules with names, norms, brackets and powers read as plain text (Rprop, Prodigy, SAM, L-BFGS)", async () => {
  const { plainRule } = await import("../../static/js/ledger.js");
  assert.equal(plainRule(String.raw`\theta_t = \theta_{t-1} - s_t\,\mathrm{sign}(g_t)`), "θₜ = θₜ₋₁ - sₜ sign(gₜ)");
  assert.equal(plainRule(String.raw`\frac{\langle g_i, \theta_0\rangle}{\lVert s_t\rVert_1}`), "(⟨gᵢ, θ₀⟩)/(‖sₜ‖₁)");
  assert.equal(plainRule(String.raw`w \odot g + 10^{-12};\ (H + \lambda I)^{-1};\ s^\top y`), "w ⊙ g + 10⁻¹²; (H + λI)⁻¹; sᵀ y");
  assert.equal(plainRule(String.raw`\text{row} \times \text{column};\ \text{max\_iter}`), "row × column; max_iter");
  assert.equal(plainRule(String.raw`f^*`), "f*");
});
