"""What every check of ``chainrule grade`` shares: the context it runs in, its cases, its networks.

Each course function is checked on its own: while it runs, every other course function in the
learner's namespace is chainrule's reference (``Context.isolated``), so a wrong ``linear_backward``
fails ``linear_backward`` and not also the ``linear_activation_backward`` that calls it. A check
runs its cases in order (``first``: the course's test case, then fresh random ones seeded by
``--seed``) and returns the problems of the first case that has any (empty: correct); what the
learner's code raises propagates to the worker, which reports it with the case and the learner's
own traceback lines. ``backward_diagnosis`` runs ``check_backward`` on a random network, which
names the layer step and the kind of bug (a swapped derivative, a missing 1/m, an in-place write).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from .. import dlai as R
from .compare import Call


@dataclass
class Context:
    """What a check needs: the random source for fresh cases, the learner's namespace, the
    reference of every course function of the assignment, and ``details`` (lines printed under
    the verdict, e.g. ``check_backward``'s report)."""

    rng: np.random.Generator
    ns: dict
    references: dict[str, Callable]
    call: Call = field(default_factory=Call)
    details: list[str] = field(default_factory=list)

    @contextmanager
    def isolated(self, name: str) -> Iterator[None]:
        """The learner's ``name`` alone: the other course functions are chainrule's meanwhile."""
        saved = {k: self.ns[k] for k in self.references if k != name and k in self.ns}
        self.ns.update({k: v for k, v in self.references.items() if k != name})
        try:
            yield
        finally:
            for k in self.references:
                if k != name:
                    self.ns.pop(k, None)
            self.ns.update(saved)


def first(cases: list[tuple[str | None, Callable[[], list[str]]]]) -> list[str]:
    """The problems of the first case that has any, each prefixed with the case (if it has a name
    the problems do not already give)."""
    for label, run in cases:
        try:
            problems = run()
        except (Exception, SystemExit) as e:  # the learner's code raised: reported with this case
            if not hasattr(e, "grading_case"):
                e.grading_case = label
            raise
        if problems:
            return [p if label is None else f"{label}: {p}" for p in problems]
    return []


def network(rng: np.random.Generator, dims: list[int] | None = None, m: int | None = None):
    """A random course network (relu hidden layers, sigmoid output) where every pre-activation has
    both signs: W scaled as He, b ~ 0.1 N(0, 1); X (n_x, m); Y with both labels."""
    dims = dims or [int(rng.integers(3, 6)), int(rng.integers(3, 6)), int(rng.integers(2, 5)), 1]
    m = m or int(rng.integers(4, 9))
    params = {}
    for layer in range(1, len(dims)):
        n, n_prev = dims[layer], dims[layer - 1]
        params[f"W{layer}"] = rng.standard_normal((n, n_prev)) * np.sqrt(2 / n_prev)
        params[f"b{layer}"] = rng.standard_normal((dims[layer], 1)) * 0.1
    X = rng.standard_normal((dims[0], m))
    Y = np.zeros((1, m))
    Y[0, rng.permutation(m)[: m // 2]] = 1
    return params, X, Y


def backward_diagnosis(ctx: Context, **given: Callable) -> list[str]:
    """``check_backward`` of the learner's function on a random network: its verdict, if wrong."""
    params, X, Y = network(ctx.rng)
    shape = "-".join(str(params[f"W{k}"].shape[1]) for k in (1, 2, 3)) + "-1"
    try:
        result = R.check_backward(params, X, Y, **given)
    except (TypeError, ValueError) as e:  # what the learner returned cannot be checked: say why
        return [f"check_backward on a random {shape} network (m = {X.shape[1]}): {e}"]
    if result.outcome != "wrong":
        return []  # passed, or the numbers could not decide: the exact comparisons decide then
    ctx.details += str(result).splitlines()
    where = f"check_backward on a random {shape} network (m = {X.shape[1]})"
    problems = [f"{where}: {result.verdict.removeprefix('backward check FAILED: ')}"]
    seen = set()
    for s in [result.blame] if result.blame else []:
        seen.add((s.step, s.pattern, s.derivative))
    for s in result.steps:  # the other kinds of wrong step, once each (layers 1 and 2 alike: once)
        if not s.passed and (s.step, s.pattern, s.derivative) not in seen:
            seen.add((s.step, s.pattern, s.derivative))
            problems.append(f"{where}: {s.headline()}")
    return problems


ACTIVATIONS = ("sigmoid", "relu")


def runs(ctx: Context, fn: Callable, function: str, names: tuple[str, ...], *args: object
          ) -> Callable[[], list[str]]:
    """A case that only runs ``fn``, so that what it raises is reported with the learner's own
    traceback (inside ``check_backward`` it would become one step's error); its values are
    compared later."""
    def run() -> list[str]:
        ctx.call(fn, function, names, *args)
        return []
    return run


def randn(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.standard_normal(shape)


@dataclass(frozen=True)
class Function:
    """A course function to grade: ``check(fn, ctx)`` returns its problems; ``points`` its weight in
    the score (0: graded and reported when the learner defines it, the course provides it)."""

    name: str
    check: Callable[[Callable, Context], list[str]]
    points: float = 1.0
