"""Surface export: a standalone PyTorch script that reproduces a surface trace with ``torch.optim``.

The script writes the surface as a torch function of ``x`` and ``y`` (a built-in surface from the
formula its NumPy code computes; a custom expression translated node by node from its checked tree,
so nothing the user typed is ever evaluated by us: the translation emits only the tree's operators,
function names from the whitelist and its numbers), lets autograd take the gradient, and steps each
run with the torch optimizer of the same name and hyperparameters, from the same start, under the same
schedule and clipping, and with the run's ends (converged below the tolerance, diverged when
non-finite or ten view-box widths out, the step budget) as :class:`app.ml.run.Descent` decides them. Its
per-step losses and points are the trace's to rounding (the playground's gradients are hand-derived,
torch's come from autograd: they differ in the last bits). Optimizers torch.optim has not (SAM, Polyak,
Newton) come as short classes in the script. Gradient noise is not exported: its draws are shared by
the runs the playground advances together, so a request with ``noise`` > 0 is refused.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from app.ml import expressions as ex
from app.ml.errors import ConfigError
from app.ml.export import POLYAK_CLASS, SAM_CLASS, SCRIPT_IMPORTS, torch_kwargs
from app.ml.optimizers import get_optimizer
from app.ml.run import VIEW_MARGIN, Descent, divergence_bounds
from app.ml.schedules import SCHEDULES
from app.ml.surfaces import MATYAS_HESSIAN, Surface, elongated_hessian

BUILT_IN = {
    "bowl": "x * x + y * y",
    "parabola": "x * x",
    "rosenbrock": "(1.0 - x) ** 2 + 100.0 * (y - x * x) ** 2",
    "beale": "(1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2",
    "himmelblau": "(x * x + y - 11.0) ** 2 + (x + y * y - 7.0) ** 2",
    "booth": "(x + 2.0 * y - 7.0) ** 2 + (2.0 * x + y - 5.0) ** 2",
    "saddle": "x * x - y * y",
    "monkey_saddle": "x * (x * x - 3.0 * y * y)",
    "rastrigin": "(p * p - 10.0 * torch.cos(2 * math.pi * p)).sum() + 20.0",
    "ackley": "-20.0 * torch.exp(-0.2 * torch.sqrt(0.5 * (x * x + y * y)))"
    " - torch.exp(0.5 * torch.cos(2 * math.pi * p).sum()) + (math.e + 20.0)",
    "six_hump_camel": "(4.0 - 2.1 * x**2 + x**4 / 3.0) * x**2 + x * y + (4.0 * y**2 - 4.0) * y**2",
    "goldstein_price": "(1.0 + (x + y + 1.0) ** 2 * (19.0 - 14.0 * x + 3.0 * x**2 - 14.0 * y + 6.0 * x * y"
    " + 3.0 * y**2)) * (30.0 + (2.0 * x - 3.0 * y) ** 2 * (18.0 - 32.0 * x + 12.0 * x**2 + 48.0 * y"
    " - 36.0 * x * y + 27.0 * y**2))",
    "styblinski_tang": "0.5 * (p**4 - 16.0 * p**2 + 5.0 * p).sum()",
}
"""Each built-in surface as torch code in ``p`` (the point) and ``x, y = p[0], p[1]`` (the quadratic
ones, elongated and matyas, are ``0.5 p·Hp`` with their Hessian)."""

TORCH_FUNCTIONS = {
    "sin": "torch.sin",
    "cos": "torch.cos",
    "tan": "torch.tan",
    "exp": "torch.exp",
    "log": "torch.log",
    "log10": "torch.log10",
    "log2": "torch.log2",
    "sqrt": "torch.sqrt",
    "abs": "torch.abs",
    "square": "torch.square",
    "tanh": "torch.tanh",
    "sinh": "torch.sinh",
    "cosh": "torch.cosh",
    "arctan": "torch.atan",
    "arcsin": "torch.asin",
    "arccos": "torch.acos",
    "sigmoid": "torch.sigmoid",
    "softplus": "softplus",  # log(1 + e^z) without torch's linear threshold at z > 20
    "min": "torch.minimum",
    "max": "torch.maximum",
}
"""The expression whitelist's functions (app.ml.expressions) as torch calls."""


def torch_expression(node: ex.Node, tensor: bool = False) -> str:
    """A checked expression tree as torch source, from its node kinds, whitelisted names and numbers only.

    A number is a Python float where it meets a tensor (``x ** 2.0``) and a tensor, ``K(2.0)``, where a
    torch function or a constant subexpression needs one (``torch.sin(K(2.0))``), as NumPy hands the
    playground arrays everywhere.
    """
    constant = not ex._variables(node)
    if isinstance(node, ex.Num):
        return f"K({float(node.value)!r})" if tensor else repr(float(node.value))
    if isinstance(node, ex.Var):
        return node.name
    if isinstance(node, ex.Unary):
        return f"({node.op}{torch_expression(node.operand, constant)})"
    if isinstance(node, ex.Binary):
        op = "**" if node.op == "^" else node.op
        return f"({torch_expression(node.left, constant)} {op} {torch_expression(node.right, constant)})"
    name = ex.ALIASES.get(node.func, node.func)
    args = ", ".join(torch_expression(a, not ex._variables(a)) for a in node.args)
    return f"{TORCH_FUNCTIONS[name]}({args})"


def _surface_lines(surface: Surface) -> list[str]:
    """``def f(p)`` for this surface, plus the constants it needs."""
    if surface.name == "custom":
        tree = ex.parse_expression(surface.formula, max_length=10_000, max_depth=200, max_nodes=100_000).tree
        body = torch_expression(tree, tensor=not ex._variables(tree))
        if not ex._variables(tree):
            body += " + 0.0 * p.sum()  # a constant: still a function of p, with gradient 0"
        return [
            "K = torch.tensor  # a number as a tensor (constant parts of the expression)",
            "",
            "",
            "def softplus(z):",
            "    return torch.logaddexp(torch.zeros_like(z), z)",
            "",
            "",
            f"# f(x, y) = {surface.formula}",
            "def f(p):",
            "    x, y = p[0], p[1]",
            f"    return {body}",
        ]
    if surface.name in ("elongated", "matyas"):
        hessian = (
            elongated_hessian(surface.params["condition_number"], surface.params["angle"])
            if surface.name == "elongated"
            else MATYAS_HESSIAN
        )
        return [
            f"H = torch.tensor({np.asarray(hessian).tolist()!r})  # the Hessian: f = p·Hp / 2",
            "",
            "",
            "def f(p):",
            f'    """{surface.formula}"""',
            "    return 0.5 * (p * (p @ H)).sum()",
        ]
    if surface.name not in BUILT_IN:
        raise ConfigError(
            f"the surface {surface.name!r} is not exported: it is not a formula in x and y"
            " (a data set's loss, trained in seeded mini-batches)",
            "surface",
        )
    lines = ["def f(p):", f'    """{surface.formula}"""']
    if surface.dim == 2:
        lines.append("    x, y = p[0], p[1]")
    else:
        lines.append("    x = p[0]")
    return [*lines, f"    return {BUILT_IN[surface.name]}"]


NEWTON_CLASS = '''

class Newton(torch.optim.Optimizer):
    """Damped Newton with the exact Hessian: p -= lr * pinv(H + damping I) g (the playground's rule)."""

    def __init__(self, params, lr=1.0, damping=0.0):
        super().__init__(params, dict(lr=lr, damping=damping))

    @torch.no_grad()
    def step(self, hessian):
        group = self.param_groups[0]
        (p,) = group["params"]
        system = hessian + group["damping"] * torch.eye(len(p))
        inverse = torch.linalg.pinv(system, rtol=1e-12, hermitian=True)
        p.sub_(group["lr"] * (inverse @ p.grad))
'''.splitlines()

STEP = {
    "default": ["        optimizer.step()"],
    "lbfgs": [
        "",
        "        def closure():",
        "            optimizer.zero_grad()",
        "            value = f(p)",
        "            value.backward()",
        "            return value",
        "",
        "        optimizer.step(closure)",
    ],
    "sam": [
        "        optimizer.first_step()",
        "        f(p).backward()",
        "        optimizer.second_step()",
    ],
    "polyak": ["        optimizer.step(loss.item())"],
    "newton": ["        optimizer.step(torch.autograd.functional.hessian(f, p.detach()))"],
}
"""What one step does after ``loss = f(p); loss.backward()`` (and clipping), per optimizer."""
EVALUATIONS = {
    "lbfgs": "optimizer.state[p]['func_evals'] - spent  # the closure's calls, torch's own count",
    "sam": "2",
}
"""Function-and-gradient evaluations of one step (1 unless listed), as the playground counts them."""


def _optimizer_line(name: str, h: dict[str, Any], surface: Surface) -> str:
    spec = get_optimizer(name)
    if name == "sam":
        base = torch_kwargs({k: v for k, v in h.items() if k not in ("rho", "adaptive")}, spec)
        return f"SAM([p], torch.optim.SGD, rho={h['rho']!r}, adaptive={h['adaptive']!r}, {base})"
    if name == "polyak":
        f_star = surface.f_star if h["f_star"] is None else h["f_star"]
        return f"Polyak([p], {torch_kwargs({**h, 'f_star': f_star}, spec)})"
    if name == "newton":
        return f"Newton([p], {torch_kwargs(h, spec)})"
    return f"{spec.module}.{spec.torch_class}([p], {torch_kwargs(h, spec)})"


def _float_list(values: np.ndarray) -> str:
    return repr([float(v) for v in values])


def surface_code(descent: Descent) -> str:
    """The PyTorch script for every run of ``descent`` (before it has stepped)."""
    surface = descent.surface
    names = {group.specs[0].optimizer for group in descent.groups}
    starts = dict(zip(descent.ids, descent.params, strict=True))
    lo, hi = divergence_bounds(surface)
    lines = [
        f'"""Reproduces a trace of the gradient-descent playground on {surface.title} with torch.optim.',
        "",
        "Same function, start, optimizer, hyperparameters, schedule and clipping per run; the gradient comes",
        "from autograd (the playground's is derived by hand), so the losses agree to about 9 significant",
        "digits. Run: python this_script.py [trace.json]",
        *SCRIPT_IMPORTS,
        "import torch",
        *sorted(
            {
                f"import {spec.module}  # pip install {spec.package}=={spec.version} (the reference)"
                for spec in map(get_optimizer, names)
                if spec.package != "torch" and spec.module
            }
        ),
        "",
        "torch.set_default_dtype(torch.float64)",
        f"STEPS, BUDGET, TOLERANCE = {descent.max_steps}, {descent.budget!r}, {descent.tolerance!r}"
        "  # BUDGET: what STEPS counts, steps or function-and-gradient evaluations",
        f"LOW, HIGH = {_float_list(lo)}, {_float_list(hi)}"
        f"  # {VIEW_MARGIN:g} view-box width beyond the view: a run further out has ended",
        "",
        "",
        *_surface_lines(surface),
    ]
    for name, block in (("sam", SAM_CLASS), ("polyak", POLYAK_CLASS), ("newton", NEWTON_CLASS)):
        if name in names:
            lines += block
    lines += ["", "", "RUNS = {}", ""]
    for group in descent.groups:
        for spec, h in zip(group.specs, group.resolved, strict=True):
            lines += _run_lines(spec, h, starts[spec.id], surface)
    lines += [
        "",
        "if __name__ == '__main__':",
        "    traces = {run_id: run() for run_id, run in RUNS.items()}",
        "    for run_id, trace in traces.items():",
        "        print(f\"{run_id}: {trace['end']} after {len(trace['loss']) - 1} steps,"
        " loss {trace['loss'][-1]:.6g}\")",
        "    if len(sys.argv) > 1:",
        "        with open(sys.argv[1], 'w') as out:",
        "            json.dump(traces, out, indent=1)",
        "",
    ]
    return "\n".join(lines)


def _run_lines(spec: Any, h: dict[str, Any], start: np.ndarray, surface: Surface) -> list[str]:
    """``def run_<id>()``: one run to its end, returning its losses, points and end reason."""
    ident = "".join(c if c.isalnum() else "_" for c in spec.id)
    schedule = []
    if spec.schedule.name != "constant":
        expr = SCHEDULES[spec.schedule.name].code(float(h["lr"]), spec.schedule.resolved())
        schedule = [
            "        for group in optimizer.param_groups:  # the schedule, t = step (from 0)",
            f"            group['lr'] = (lambda t: {expr})(step)",
        ]
    clip = []
    if spec.clip_norm is not None:
        clip.append(f"        torch.nn.utils.clip_grad_norm_([p], {spec.clip_norm!r})")
    if spec.clip_value is not None:
        clip.append(f"        torch.nn.utils.clip_grad_value_([p], {spec.clip_value!r})")
    first_grad = [] if spec.optimizer == "sam" else ["        optimizer.zero_grad()"]
    evaluations = EVALUATIONS.get(spec.optimizer, "1")
    return [
        "",
        f"def run_{ident}():",
        f'    """Run {spec.id!r}: {spec.optimizer} from {_float_list(start)}."""',
        f"    p = torch.tensor({_float_list(start)}, requires_grad=True)",
        f"    optimizer = {_optimizer_line(spec.optimizer, h, surface)}",
        *(
            ["    optimizer.train()  # schedule-free: steps in train mode"]
            if get_optimizer(spec.optimizer).package == "schedulefree"
            else []
        ),
        "    losses, points, end, spent = [], [], 'max_steps', 0",
        "    start_loss = f(p).item()",
        "    for step in range(10**9):",
        *first_grad,
        "        loss = f(p)",
        "        loss.backward()",
        "        norm = p.grad.norm().item()",
        "        inside = all(lo <= v <= hi for v, lo, hi in zip(p.tolist(), LOW, HIGH))",
        "        if not (math.isfinite(loss.item()) and math.isfinite(norm)):",
        "            end = 'diverged'",
        "            break",
        "        if not inside:  # downhill out of the view (the surface keeps falling), or blown up",
        "            end = 'left_view' if loss.item() < start_loss else 'diverged'",
        "            break",
        "        losses.append(loss.item())",
        "        points.append(p.tolist())",
        "        if norm < TOLERANCE:",
        "            end = 'converged'",
        "            break",
        "        if BUDGET == 'evaluations' and spent >= STEPS:",
        "            end = 'max_evaluations'",
        "            break",
        "        if step == STEPS:",
        "            break",
        *clip,
        *schedule,
        *STEP.get(spec.optimizer, STEP["default"]),
        f"        spent += {evaluations}",
        "    return {'loss': losses, 'position': points, 'end': end}",
        "",
        "",
        f"RUNS[{spec.id!r}] = run_{ident}",
    ]
