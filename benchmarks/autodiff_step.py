"""One SGD training step of a 784-256-256-10 ReLU MLP with cross-entropy at batch 128: autodiff
against the hand-written layers (``chainrule.nn.mlp``), side by side in one process.

Variants, all starting from the same weights and doing the same work (no dL/dX, since X is data):
  layers     nn.mlp forward/backward_params + CrossEntropyLoss + SGD, as ``fit`` runs it (the reference)
  autodiff   autodiff.MLP's graph + the fused ``cross_entropy`` op, ``backward()``, SGD
  protocol   autodiff.MLP through the Layer protocol (forward/backward_params, as ``fit`` drives it)

Steps are interleaved (one of each per round) so that machine noise hits all variants alike; the
median over rounds is reported with the ratio to the reference. Target: autodiff <= 1.5x.

    python benchmarks/autodiff_step.py [--rounds 60] [--dtype float64|float32|both]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np

import chainrule as cr
from chainrule import autodiff as ad

SIZES = [784, 256, 256, 10]
BATCH = 128


def make_steps(dtype: type) -> tuple[dict[str, Callable[[], None]], dict[str, dict[str, np.ndarray]]]:
    """The three step functions, and each variant's parameter arrays (updated in place by its steps)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((BATCH, SIZES[0])).astype(dtype)
    y = rng.integers(0, SIZES[-1], BATCH)

    layers = cr.mlp(SIZES, "relu", rng=0, dtype=dtype)
    loss = cr.CrossEntropyLoss()
    opt_layers = cr.SGD(0.01)

    def layers_step() -> None:
        loss.forward(layers.forward(X), y)
        layers.backward_params(loss.backward())
        opt_layers.step(layers.params, layers.grads)

    graph_mlp = ad.MLP(SIZES, "relu", rng=0, dtype=dtype)
    leaves = {k: ad.Tensor(v, requires_grad=True) for k, v in graph_mlp.params.items()}
    opt_graph = cr.SGD(0.01)

    def autodiff_step() -> None:
        for t in leaves.values():
            t.zero_grad()
        ad.cross_entropy(graph_mlp.graph(ad.Tensor(X), leaves), y).backward()
        opt_graph.step(graph_mlp.params, {k: t.grad for k, t in leaves.items()})

    proto = ad.MLP(SIZES, "relu", rng=0, dtype=dtype)
    proto_loss = cr.CrossEntropyLoss()
    opt_proto = cr.SGD(0.01)

    def protocol_step() -> None:
        proto_loss.forward(proto.forward(X), y)
        proto.backward_params(proto_loss.backward())
        opt_proto.step(proto.params, proto.grads)

    steps = {"layers": layers_step, "autodiff": autodiff_step, "protocol": protocol_step}
    return steps, {"layers": layers.params, "autodiff": graph_mlp.params, "protocol": proto.params}


def measure(steps: dict[str, Callable[[], None]], rounds: int, warmup: int = 5) -> dict[str, float]:
    times: dict[str, list[float]] = {name: [] for name in steps}
    for r in range(warmup + rounds):
        for name, step in steps.items():
            t0 = time.perf_counter()
            step()
            elapsed = time.perf_counter() - t0
            if r >= warmup:
                times[name].append(elapsed)
    return {name: statistics.median(ts) for name, ts in times.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=60, help="timed rounds per variant (default 60)")
    parser.add_argument("--dtype", choices=["float64", "float32", "both"], default="both")
    args = parser.parse_args(argv)
    dtypes = ["float64", "float32"] if args.dtype == "both" else [args.dtype]
    print(f"MLP {'-'.join(map(str, SIZES))}, ReLU, cross-entropy, batch {BATCH}; "
          f"median of {args.rounds} interleaved steps")
    for dtype in dtypes:
        med = measure(make_steps(np.dtype(dtype).type)[0], args.rounds)
        ref = med["layers"]
        print(f"{dtype}:")
        for name, t in med.items():
            print(f"  {name:<9} {t * 1e3:8.3f} ms/step   {1 / t:8.1f} steps/s   ratio {t / ref:5.2f}x")


if __name__ == "__main__":
    main()
