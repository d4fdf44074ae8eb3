"""``check_layer`` and ``check_loss``: one layer's backward, or a loss's, checked alone.

A layer is checked on the scalar ``sum(dout * layer(x))`` with a given or random upstream gradient
``dout``: its gradients in the input ("x") and the parameters are exactly what ``backward(dout)``
returns and stores. For a parameter-free layer whose output has its input's shape, the input
gradient is also compared with what other activations' backwards would give (pattern "activation":
the derivative it borrowed), and inputs within 2 eps of a ReLU kink are left out. A loss is
checked in its logits ("logits"). Both run on a private float64 copy; the helpers here that make
it are shared with ``check_model``.
"""

from __future__ import annotations

import copy
import warnings

import numpy as np

from .._validate import as_float_array, as_rng, check_layer_like, check_loss_like
from ..nn import Identity, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh, freeze_masks
from ..nn.module import Layer, Loss
from .batched import layer_costs, loss_costs
from .check import DEFAULT_THRESHOLD, combine, run_checks
from .diagnose import Context
from .inputs import PrecisionWarning, as_cost_value, resolve_options
from .noise import noise_scale
from .progress import session as check_progress
from .report import LayerResult

INPUT, LOGITS = "x", "logits"
# The activations whose derivative a wrong backward most often borrows (seed 001 swapped ReLU's
# and sigmoid's): the analytic gradient is compared with what each of these backwards would give.
_CANDIDATES = {"sigmoid": Sigmoid, "tanh": Tanh, "relu": ReLU, "leaky_relu": LeakyReLU, "identity": Identity}
# What the built-in activations' backward must use, named in the "activation" hints (LeakyReLU
# before ReLU: it is the more specific type when a user subclasses either).
_OWN_DERIVATIVE = {Sigmoid: "sigmoid needs y(1 - y)", Tanh: "tanh needs 1 - y²",
                   LeakyReLU: "LeakyReLU needs 1 where x > 0, else its negative_slope",
                   ReLU: "ReLU needs 1 where x > 0, else 0", Identity: "Identity needs 1"}


def _count(size: int, sample: int | None) -> int:
    return size if sample is None else min(size, sample)


def _real_method(method: str) -> None:
    if isinstance(method, str) and method == "complex":
        raise ValueError("method 'complex' is for costs written to accept complex input; chainrule's "
                         "layers compare and clip, so layer and model checks support 'central' and "
                         "'directional'")


def _to_float64(layer: Layer) -> bool:
    """Cast a (copied) layer's float32 parameters to float64 in place; True if any was float32.

    Walks every layer reachable through attributes (a ``Sequential``'s list, a composite's
    sub-layers) and casts the parameter dicts each one owns, so composites whose ``params`` is
    a property over their children are converted too."""
    low = False
    for sub in _owned_layers(layer):
        own = vars(sub).get("params")
        if isinstance(own, dict):
            for k, v in own.items():
                if np.asarray(v).dtype != np.float64:
                    own[k], low = np.asarray(v, dtype=np.float64), True
    return low


def _owned_layers(layer: Layer, seen: set[int] | None = None):
    seen = set() if seen is None else seen
    if id(layer) in seen:
        return
    seen.add(id(layer))
    yield layer
    for value in vars(layer).values():
        for item in value if isinstance(value, (list, tuple)) else (value,):
            if isinstance(item, Layer):
                yield from _owned_layers(item, seen)


def _private_copy(layer: Layer, what: str, notes: list[str], memo: dict | None = None) -> Layer:
    work = copy.deepcopy(layer, memo)
    # Every perturbed evaluation must see the same dropout mask: the copy's Dropout layers keep the
    # mask their first forward draws (the model given is not touched).
    freeze_masks(work)
    if _to_float64(work):
        msg = f"{what} has float32 parameters: checking a float64 copy, where finite differences keep " \
              "about twice the digits"
        warnings.warn(msg, PrecisionWarning, stacklevel=3)
        notes.append(msg)
    return work


def _context(layer: Layer, x: np.ndarray, dout: np.ndarray,
             eps: float) -> tuple[Context | None, np.ndarray | None]:
    """Masks and activation candidates for an elementwise layer's input gradient; ReLU kinks. A layer
    may name its own element sets and likely wrong backwards with ``diagnostic_context(x, dout)``
    (a dict with "masks", "candidates", "hints", "patterns"; Dropout, BatchNorm1d, LayerNorm)."""
    declare = getattr(layer, "diagnostic_context", None)
    declared = declare(x, dout) if callable(declare) else None
    if layer.params or dout.shape != x.shape:
        if not declared:
            return None, None
        fields = ("masks", "candidates", "hints", "patterns")
        return Context(**{k: dict(declared.get(k, {})) for k in fields}), None
    masks = {"elements where the input is <= 0": x <= 0, "elements where the input is > 0": x > 0}
    slope = layer.negative_slope if isinstance(layer, LeakyReLU) else 0.01
    candidates = {}
    for name, cls in _CANDIDATES.items():
        act = cls(slope) if cls is LeakyReLU else cls()
        act.forward(x)
        candidates[name] = act.backward(dout)
    hints = {name: f"the backward uses the derivative of {name} (at the input x) instead of this layer's "
                   "own derivative" for name in candidates}
    # The same slips written at the output y = f(x), as backwards usually are: another activation's
    # formula applied to this layer's y, or a factor of it dropped.
    y = np.asarray(layer.forward(x), dtype=np.float64)
    if y.shape == x.shape and not isinstance(layer, Softmax):  # softmax is not elementwise: see below
        for label, value, hint in (
                ("sigmoid-formula-on-output", y * (1 - y),
                 "dx uses sigmoid's derivative formula y(1 - y) applied to this layer's output y"),
                ("tanh-formula-on-output", 1 - y ** 2,
                 "dx uses tanh's derivative formula 1 - y² applied to this layer's output y"),
                ("output-alone", y,
                 "dx = dout * y: the derivative is written as this layer's output y alone"),
                ("one-minus-output", 1 - y,
                 "dx = dout * (1 - y), y this layer's output: a factor is missing"),
                # and the formulas that need the output y written on the input x instead (a cached x
                # where y was meant: the course's dA * Z * (1 - Z))
                ("sigmoid-formula-on-input", x * (1 - x),
                 "dx = dout * x * (1 - x): sigmoid's derivative formula y(1 - y) evaluated on the input x "
                 "instead of the output y = sigmoid(x)"),
                ("tanh-formula-on-input", 1 - x ** 2,
                 "dx = dout * (1 - x²): tanh's derivative formula 1 - y² evaluated on the input x instead "
                 "of the output y = tanh(x)")):
            candidates[label] = dout * value
            hints[label] = hint
    own = _OWN_DERIVATIVE.get(type(layer)) or next(
        (f for cls, f in _OWN_DERIVATIVE.items() if isinstance(layer, cls)), None)
    if own:
        slope_text = f" ({layer.negative_slope:g})" if isinstance(layer, LeakyReLU) else ""
        hints = {k: f"{h}; {own}{slope_text}" for k, h in hints.items()}
    if isinstance(layer, Softmax):
        # the classic softmax slip: the Jacobian's diagonal y(1 - y) alone, as if it were elementwise
        y = Softmax().forward(x)
        candidates["softmax-diagonal"] = dout * y * (1 - y)
        hints["softmax-diagonal"] = ("the backward multiplies by y(1 - y) elementwise: only the diagonal of "
                                     "softmax's Jacobian; the off-diagonal terms -y_i y_j are missing "
                                     "(dx = y * (dout - sum(dout * y)))")
    # x ± eps crosses 0 for |x| <= eps: such elements are estimated with a step below |x|
    # (``_kink_distance``); x exactly 0 is checked one-sided by the judge's re-check.
    kinks = None
    if declared:  # the layer's own sets and candidates are the more specific: tried first
        masks = {**declared.get("masks", {}), **masks}
        candidates = {**declared.get("candidates", {}), **candidates}
        hints.update(declared.get("hints", {}))
    return Context(masks, candidates, hints, dict(declared.get("patterns", {})) if declared else {}), kinks


def _kink_distance(layer: Layer, x: np.ndarray) -> np.ndarray:
    """How far each input element of a ReLU-family layer is from the kink at 0 (inf for others)."""
    return np.abs(x) if isinstance(layer, (ReLU, LeakyReLU)) else np.full(x.shape, np.inf)


def _layer_grads(layer: Layer) -> dict[str, np.ndarray]:
    missing = [k for k in layer.params if k not in layer.grads]
    if missing:
        raise RuntimeError(f"backward did not fill grads {missing}{_key_hint(layer.grads, missing)}")
    return {k: np.asarray(layer.grads[k], dtype=np.float64) for k in layer.params}


def _key_hint(grads: dict, missing: list[str]) -> str:
    """": found 'dW', 'db' ..." when the backward keyed its gradients the course's way."""
    found = [k for k in grads if isinstance(k, str) and k.rpartition(".")[2][1:] in
             {m.rpartition(".")[2] for m in missing} and k.rpartition(".")[2].startswith("d")]
    if not found:
        return ""
    return (f"; found {', '.join(map(repr, found))}: a layer's grads are keyed like its params "
            "(grads['W'], not grads['dW'])")


def _nothing_to_check(x: np.ndarray, label: str) -> None:
    if x.ndim == 0 or x.shape[0] == 0 or x.size == 0:
        raise ValueError(f"nothing to check: {label} has {x.shape[0] if x.ndim else 0} rows "
                         f"(shape {x.shape}); pass at least one example")


def _proportional(d: np.ndarray, x: np.ndarray) -> bool:
    """True when ``d`` and ``x`` have one shape and |cos(d, x)| > 0.99 (equal, or a multiple)."""
    if d.shape != x.shape or d.size < 2:
        return False
    norms = float(np.linalg.norm(d) * np.linalg.norm(x))
    return norms > 0 and abs(float(np.vdot(d, x))) > 0.99 * norms


def upstream(gen: np.random.Generator, shape: tuple[int, ...], x: np.ndarray) -> np.ndarray:
    """A standard normal upstream gradient from a stream independent of ``gen``'s own.

    Users draw x from ``default_rng(0)`` as often as the check's default ``rng=0``: a dout from the
    same stream would equal x, and a backward that swaps them would pass. ``spawn`` gives a child
    stream without consuming ``gen``, so the same seed still gives the same check."""
    child = gen.spawn(1)[0]
    d = child.standard_normal(shape)
    while _proportional(d, x):  # astronomically rare for a fresh stream; redraw rather than trust it
        d = child.standard_normal(shape)
    return d


def check_layer(layer: Layer, x: np.ndarray, dout: np.ndarray | None = None, *,
                index: int | str | None = None,
                eps: float | None = None, method: str = "central", threshold: float = DEFAULT_THRESHOLD,
                sample: int | None = None, rng: np.random.Generator | int | None = 0, batched: bool = True,
                progress: bool | None = None) -> LayerResult:
    """Check one layer's backward in isolation at input ``x`` (N, ...).

    The scalar checked is ``sum(dout * layer.forward(x))``, whose gradients are exactly what
    ``layer.backward(dout)`` returns (dx) and stores (``grads``). ``dout`` defaults to a standard
    normal array of the output's shape drawn from a stream spawned from ``rng`` (independent of an
    ``x`` drawn with the same seed); a ``dout`` proportional to ``x`` is refused. The layer is
    copied, never modified.
    Results are keyed "x" (the input gradient) and the layer's parameter names. ``index`` is the
    layer's place in a model (None: checked on its own). A backward that writes into its ``dout``
    argument fails with pattern "inplace": in a real graph that corrupts the upstream gradients.
    ``batched`` and ``progress`` as in ``check_model``.
    """
    check_layer_like(layer, "layer")
    _real_method(method)
    eps_given = eps is not None
    eps = resolve_options(method, eps, threshold, sample, 4)
    gen = as_rng(rng)
    notes: list[str] = []
    if dout is not None:
        dout = as_float_array(dout, "dout", finite=False)
    work = _private_copy(layer, type(layer).__name__, notes)
    x64 = np.array(as_float_array(x, "x"), dtype=np.float64)
    _nothing_to_check(x64, "x")
    name = type(layer).__name__
    # Bad input (x, dout) is the caller's error and raises; only the backward's failures are findings.
    y = np.asarray(work.forward(x64.copy()), dtype=np.float64)
    d = upstream(gen, y.shape, x64) if dout is None else np.asarray(dout, dtype=np.float64)
    if d.shape != y.shape:
        raise ValueError(f"dout must have the layer output's shape {y.shape}, got {d.shape}")
    if _proportional(d, x64):
        raise ValueError("dout must not be proportional to the input x: backwards that mix them up "
                         "(dout.T @ x for x.T @ dout, x * mask for dout * mask) would then pass; got a dout "
                         f"{float(np.vdot(d, x64) / np.vdot(x64, x64)):.3g} x x")
    try:
        work.zero_grad()  # a gradient the backward never writes must show up as zero, not as stale
        given = d.copy()
        dx = np.array(work.backward(given), dtype=np.float64)
        grads = {INPUT: dx, **_layer_grads(work)}
    except Exception as e:  # a user's backward may fail in any way; the report says how
        return LayerResult(index, name, "wrong", float("nan"), error=f"{type(e).__name__}: {e}")
    if INPUT in work.params:
        raise ValueError(f"{name} has a parameter named {INPUT!r}, which clashes with the input gradient")
    values = {INPUT: x64, **work.params}

    kinked = isinstance(work, (ReLU, LeakyReLU))
    state: dict[str, bytes] = {}

    def evaluate(vals: dict[str, np.ndarray]) -> float:
        if kinked:  # the layer's kinks are its input's zeros: recorded at every step, larger ones too
            state["signs"] = np.packbits(vals[INPUT] > 0).tobytes()
        return float(np.sum(d * work.forward(vals[INPUT])))

    context, kinks = _context(work, x64, d, eps)

    def kink_masks(step: float) -> dict[str, np.ndarray]:
        found = _context(work, x64, d, step)[1]
        return {INPUT: found} if found is not None else {}

    costs = layer_costs(work, x64, d, INPUT) if batched and method == "central" else None
    with check_progress(sum(_count(v.size, sample) for v in values.values()), progress, name):
        checked = run_checks(
            evaluate, values, grads, method=method, eps=eps, threshold=threshold, sample=sample, rng=gen,
            batch_size=x64.shape[0] if x64.ndim else None,
            contexts={INPUT: context} if context else None,
            kink_masks={INPUT: kinks} if kinks is not None else None, kink_mask_for=kink_masks,
            kink_distances={INPUT: _kink_distance(work, x64)},
            scale=noise_scale(d * y) if d.shape == y.shape else 0.0, complex_ok=False, eps_given=eps_given,
            element_costs=costs, notes=notes, probe=(lambda: state["signs"]) if kinked else None)
    results, diff = checked.results, checked.difference
    if not np.array_equal(given, d):
        res = results[INPUT]
        res.outcome, res.pattern, res.factor = "wrong", "inplace", None
        res.hint = ("backward modified its dout argument in place (DLFS's `dout[mask] = 0; return dout`); "
                    "in a real graph that corrupts the gradient other layers receive: copy it first, "
                    "dx = dout.copy()" + (f"; the values: {res.hint}" if res.hint else ""))
    return LayerResult(index, name, combine([r.outcome for r in results.values()]), diff, results)


class _OutOfDomain(Exception):
    """A loss's forward raised at an input the check moved (not at the caller's own input)."""


def check_loss(loss: Loss, logits: np.ndarray, target: np.ndarray, *, eps: float | None = None,
               method: str = "central", threshold: float = DEFAULT_THRESHOLD, sample: int | None = None,
               rng: np.random.Generator | int | None = 0, batched: bool = True,
               progress: bool | None = None) -> LayerResult:
    """Check a loss's ``backward()`` against central differences in the logits (entry "logits");
    ``batched`` and ``progress`` as in ``check_model``."""
    check_loss_like(loss, "loss")
    _real_method(method)
    eps_given = eps is not None
    eps = resolve_options(method, eps, threshold, sample, 4)
    work = copy.deepcopy(loss)
    z = np.array(as_float_array(logits, "logits"), dtype=np.float64)
    name = type(loss).__name__
    work.forward(z.copy(), target)  # bad logits or target: the caller's error, raised
    try:
        grads = {LOGITS: np.asarray(work.backward(), dtype=np.float64)}
    except Exception as e:  # a user's backward may fail in any way; the report says how
        return LayerResult("loss", name, "wrong", float("nan"), error=f"{type(e).__name__}: {e}")

    def evaluate(vals: dict[str, np.ndarray]) -> float:
        try:
            return as_cost_value(work.forward(vals[LOGITS], target))
        except Exception as e:  # the loss refuses a perturbed input (outside its domain)
            raise _OutOfDomain(f"{type(e).__name__}: {e}") from e

    costs = loss_costs(work, z, target, LOGITS) if batched and method == "central" else None
    try:
        with check_progress(_count(z.size, sample), progress, name):
            checked = run_checks(evaluate, {LOGITS: z}, grads, method=method, eps=eps, threshold=threshold,
                                 sample=sample, rng=as_rng(rng), batch_size=z.shape[0] if z.ndim else None,
                                 scale=noise_scale(z), complex_ok=False, eps_given=eps_given,
                                 element_costs=costs)
    except _OutOfDomain as e:  # e.g. the course's cost on probabilities within eps of 1 (census 29010)
        return LayerResult("loss", name, "undecided", float("nan"),
                           error=f"its forward refused an input moved by the check's step ({e.args[0]}): "
                                 "inputs within a step of the edge of the loss's domain cannot be checked "
                                 "by differences; check at a point away from it")
    return LayerResult("loss", name, combine([r.outcome for r in checked.results.values()]),
                       checked.difference, checked.results)
