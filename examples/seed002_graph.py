"""Seed 002's computational graph, three ways: autodiff, the hand-derived backward pass, numbers.

    y' = tanh(exp((w1 x1 + w2 x2)^2 + w6) + w7) + sigmoid(sin(w3 x3) (w4 x4 + w5 x5) + w8) w9
    L  = (y - y')^2

The learner's notes derive dL/dw1 .. dL/dw9 by hand and check them numerically; their checker
overwrote the weights it was given (``w = np.ones(9) * 0.1``) and returned a tuple where the
grader expected numbers. Here the hand-derived formulas are the seed's, on the weights passed in,
returning plain arrays; autodiff needs only the forward pass.

Run: ``python examples/seed002_graph.py [--graph seed002.svg]`` (``--graph`` also draws the graph:
``.dot`` writes Graphviz text, ``.png``/``.svg`` render it with Graphviz's ``dot`` program).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from chainrule import autodiff as ad
from chainrule.nn.functional import sigmoid

# The weights from the seed's grader; one data point (x1..x5, y).
W = np.array([0.00271756, 0.01260512, 0.00167639, -0.00207756, 0.00720768,
              0.00114524, 0.00684168, 0.02242521, 0.01296444])
X = np.array([-0.57, -0.56, 1.25, -0.44, 0.12])
Y = 0.82


def loss(w, x, y):
    """The graph written with chainrule.autodiff: w is a Tensor of 9 weights (w[0] is w1)."""
    y_pred = (ad.tanh(ad.exp((w[0] * x[0] + w[1] * x[1]) ** 2 + w[5]) + w[6])
              + ad.sigmoid(ad.sin(w[2] * x[2]) * (w[3] * x[3] + w[4] * x[4]) + w[7]) * w[8])
    return (y - y_pred) ** 2


def forward_propagation(x: np.ndarray, y: float, w: np.ndarray) -> dict[str, float]:
    """The seed's forward pass, keeping what its backward pass needs."""
    val_1 = (w[0] * x[0] + w[1] * x[1]) ** 2 + w[5]
    exp = math.exp(val_1)
    tanh = math.tanh(exp + w[6])
    sig = float(sigmoid(np.array(math.sin(w[2] * x[2]) * (w[3] * x[3] + w[4] * x[4]) + w[7])))
    y_pred = tanh + sig * w[8]
    return {"exp": exp, "tanh": tanh, "sigmoid": sig, "loss": (y - y_pred) ** 2,
            "dy_pred": -2 * (y - y_pred)}


def backward_propagation(x: np.ndarray, y: float, w: np.ndarray, fwd: dict[str, float]) -> np.ndarray:
    """The seed's hand-derived chain rule: dL/dw1 .. dL/dw9 as one array of numbers."""
    d_tanh = fwd["dy_pred"] * (1 - fwd["tanh"] ** 2)           # through y' = tanh(.) + ...
    d_square = d_tanh * fwd["exp"] * 2 * (w[0] * x[0] + w[1] * x[1])
    d_sig = fwd["dy_pred"] * fwd["sigmoid"] * (1 - fwd["sigmoid"]) * w[8]
    return np.array([
        d_square * x[0],
        d_square * x[1],
        d_sig * (w[3] * x[3] + w[4] * x[4]) * math.cos(w[2] * x[2]) * x[2],
        d_sig * math.sin(w[2] * x[2]) * x[3],
        d_sig * math.sin(w[2] * x[2]) * x[4],
        d_tanh * fwd["exp"],
        d_tanh,
        d_sig,
        fwd["dy_pred"] * fwd["sigmoid"],
    ])


def numerical_gradient(x: np.ndarray, y: float, w: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences, one weight at a time, on a copy of the weights given."""
    grads = np.empty_like(w)
    for i in range(w.size):
        plus, minus = w.copy(), w.copy()
        plus[i] += eps
        minus[i] -= eps
        grads[i] = (forward_propagation(x, y, plus)["loss"]
                    - forward_propagation(x, y, minus)["loss"]) / (2 * eps)
    return grads


def gradients(x: np.ndarray = X, y: float = Y, w: np.ndarray = W) -> dict[str, np.ndarray]:
    """The nine gradients by autodiff, by the hand-derived backward pass and numerically."""
    return {
        "autodiff": ad.grad(loss)(w, x, y),
        "hand": backward_propagation(x, y, w, forward_propagation(x, y, w)),
        "numerical": numerical_gradient(x, y, w),
    }


def draw(path: Path) -> None:
    """Save the graph of the loss, weights labelled w1..w9, as DOT text or a rendered picture."""
    w = ad.Tensor(W, requires_grad=True, name="w (w1..w9)")
    out = loss(w, X, Y)
    out.backward()
    if path.suffix == ".dot":
        path.write_text(ad.to_dot(out))
    else:
        ad.render(out, path)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Seed 002's graph: autodiff, hand-derived and "
                                     "numerical gradients.")
    parser.add_argument("--graph", type=Path, help="also draw the graph into this .dot, .png or .svg file")
    args = parser.parse_args(argv)
    g = gradients()
    table = Table(title=f"seed 002: dL/dw at loss {forward_propagation(X, Y, W)['loss']:.10f}")
    for col in ("w", "autodiff", "hand-derived", "numerical", "|ad-hand|", "|ad-num|"):
        table.add_column(col, justify="right")
    for i in range(9):
        a, h, n = g["autodiff"][i], g["hand"][i], g["numerical"][i]
        table.add_row(f"w{i + 1}", f"{a:.6e}", f"{h:.6e}", f"{n:.6e}",
                      f"{abs(a - h):.1e}", f"{abs(a - n):.1e}")
    console = Console()
    console.print(table)
    for other in ("hand", "numerical"):
        a, b = g["autodiff"], g[other]
        diff = np.linalg.norm(a - b) / (np.linalg.norm(a) + np.linalg.norm(b))
        console.print(f"relative difference autodiff vs {other}: {diff:.3e}")
    if args.graph is not None:
        try:
            draw(args.graph)
        except ad.GraphvizNotFoundError as err:
            console.print(f"[red]{err}[/red]")
            raise SystemExit(1) from err
        console.print(f"graph written to {args.graph}")


if __name__ == "__main__":
    main()
