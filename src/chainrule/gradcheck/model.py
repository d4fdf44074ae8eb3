"""``check_model``, ``check_layer``, ``check_loss``: gradient checks that say which layer is wrong.

``check_model`` runs two kinds of check on a private float64 copy of the model (the model given
is never touched):

1. the whole model: every parameter's gradient from ``model.backward`` against central differences
   of ``loss(model(X), y)``;
2. every layer alone: the layer's backward at the input it actually sees in the forward pass,
   with a random upstream gradient ``dout``, against central differences of
   ``sum(dout * layer(x))`` in its input ("x") and its parameters. Then the loss alone: its
   backward against central differences in the logits ("logits").

A bug in layer k's backward corrupts the whole-model gradients of layer k and of every layer
before it, so the whole-model check alone cannot say where the bug is; the isolated checks can.
``blame`` is the index of the first layer whose own check fails; a loss is not a layer, so when
only the loss fails ``blame == "loss"``.
"""

from __future__ import annotations

import copy
import warnings

import numpy as np

from .._validate import as_float_array, as_rng
from ..nn import Identity, LeakyReLU, ReLU, Sequential, Sigmoid, Softmax, Tanh
from ..nn.module import Layer, Loss
from .check import DEFAULT_THRESHOLD, run_checks
from .diagnose import Context
from .inputs import PrecisionWarning, as_cost_value, resolve_options
from .report import GradientReport, LayerResult, ParameterResult

INPUT, LOGITS = "x", "logits"
# The activations whose derivative a wrong backward most often borrows (seed 001 swapped ReLU's
# and sigmoid's): the analytic gradient is compared with what each of these backwards would give.
_CANDIDATES = {"sigmoid": Sigmoid, "tanh": Tanh, "relu": ReLU, "leaky_relu": LeakyReLU, "identity": Identity}
# What the built-in activations' backward must use, named in the "activation" hints (LeakyReLU
# before ReLU: it is the more specific type when a user subclasses either).
_OWN_DERIVATIVE = {Sigmoid: "sigmoid needs y(1 - y)", Tanh: "tanh needs 1 - y²",
                   LeakyReLU: "LeakyReLU needs 1 where x > 0, else its negative_slope",
                   ReLU: "ReLU needs 1 where x > 0, else 0", Identity: "Identity needs 1"}


def _real_method(method: str) -> None:
    if method == "complex":
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


def _private_copy(layer: Layer, what: str, notes: list[str]) -> Layer:
    work = copy.deepcopy(layer)
    if _to_float64(work):
        msg = f"{what} has float32 parameters: checking a float64 copy, where finite differences keep " \
              "about twice the digits"
        warnings.warn(msg, PrecisionWarning, stacklevel=3)
        notes.append(msg)
    return work


def _context(layer: Layer, x: np.ndarray, dout: np.ndarray,
             eps: float) -> tuple[Context | None, np.ndarray | None]:
    """Masks and activation candidates for an elementwise layer's input gradient; ReLU kinks."""
    if layer.params or dout.shape != x.shape:
        return None, None
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
                 "dx = dout * (1 - y), y this layer's output: a factor is missing")):
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
    # x ± eps crosses 0 for |x| <= eps; twice that leaves room for the rounding of x + eps
    kinks = np.abs(x) <= 2 * eps if isinstance(layer, (ReLU, LeakyReLU)) else None
    return Context(masks, candidates, hints), kinks


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


def _parameters_elsewhere(model: Layer) -> list[str]:
    """Array attributes that look like parameters ("0.W") of layers that keep no params dict."""
    found = []
    for i, layer in enumerate(_chain(model)):
        if layer.params:
            continue
        found += [f"{i}.{k}" for k, v in vars(layer).items()
                  if isinstance(v, np.ndarray) and v.dtype.kind == "f" and not k.startswith("_")
                  and k not in ("x", "y", "out", "mask", "cache") and v.size]
    return found


def check_layer(layer: Layer, x: np.ndarray, dout: np.ndarray | None = None, *,
                index: int | str | None = None,
                eps: float | None = None, method: str = "central", threshold: float = DEFAULT_THRESHOLD,
                sample: int | None = None, rng: np.random.Generator | int | None = 0) -> LayerResult:
    """Check one layer's backward in isolation at input ``x`` (N, ...).

    The scalar checked is ``sum(dout * layer.forward(x))``, whose gradients are exactly what
    ``layer.backward(dout)`` returns (dx) and stores (``grads``). ``dout`` defaults to a standard
    normal array of the output's shape drawn from ``rng``. The layer is copied, never modified.
    Results are keyed "x" (the input gradient) and the layer's parameter names. ``index`` is the
    layer's place in a model (None: checked on its own). A backward that writes into its ``dout``
    argument fails with pattern "inplace": in a real graph that corrupts the upstream gradients.
    """
    _real_method(method)
    eps = resolve_options(method, eps, threshold, sample, 4)
    gen = as_rng(rng)
    notes: list[str] = []
    work = _private_copy(layer, type(layer).__name__, notes)
    x64 = np.array(as_float_array(x, "x"), dtype=np.float64)
    _nothing_to_check(x64, "x")
    name = type(layer).__name__
    # Bad input (x, dout) is the caller's error and raises; only the backward's failures are findings.
    y = np.asarray(work.forward(x64.copy()), dtype=np.float64)
    d = gen.standard_normal(y.shape) if dout is None else np.asarray(dout, dtype=np.float64)
    if d.shape != y.shape:
        raise ValueError(f"dout must have the layer output's shape {y.shape}, got {d.shape}")
    try:
        work.zero_grad()  # a gradient the backward never writes must show up as zero, not as stale
        given = d.copy()
        dx = np.array(work.backward(given), dtype=np.float64)
        grads = {INPUT: dx, **_layer_grads(work)}
    except Exception as e:  # a user's backward may fail in any way; the report says how
        return LayerResult(index, name, False, float("nan"), error=f"{type(e).__name__}: {e}")
    if INPUT in work.params:
        raise ValueError(f"{name} has a parameter named {INPUT!r}, which clashes with the input gradient")
    values = {INPUT: x64, **work.params}

    def evaluate(vals: dict[str, np.ndarray]) -> float:
        return float(np.sum(d * work.forward(vals[INPUT])))

    context, kinks = _context(work, x64, d, eps)
    results, diff = run_checks(
        evaluate, values, grads, method=method, eps=eps, threshold=threshold, sample=sample, rng=gen,
        batch_size=x64.shape[0] if x64.ndim else None,
        contexts={INPUT: context} if context else None,
        kink_masks={INPUT: kinks} if kinks is not None else None)
    if not np.array_equal(given, d):
        res = results[INPUT]
        res.passed, res.pattern, res.factor = False, "inplace", None
        res.hint = ("backward modified its dout argument in place (DLFS's `dout[mask] = 0; return dout`); "
                    "in a real graph that corrupts the gradient other layers receive: copy it first, "
                    "dx = dout.copy()" + (f"; the values: {res.hint}" if res.hint else ""))
    return LayerResult(index, name, all(r.passed for r in results.values()), diff, results)


def check_loss(loss: Loss, logits: np.ndarray, target: np.ndarray, *, eps: float | None = None,
               method: str = "central", threshold: float = DEFAULT_THRESHOLD, sample: int | None = None,
               rng: np.random.Generator | int | None = 0) -> LayerResult:
    """Check a loss's ``backward()`` against central differences in the logits (entry "logits")."""
    _real_method(method)
    eps = resolve_options(method, eps, threshold, sample, 4)
    work = copy.deepcopy(loss)
    z = np.array(as_float_array(logits, "logits"), dtype=np.float64)
    name = type(loss).__name__
    work.forward(z.copy(), target)  # bad logits or target: the caller's error, raised
    try:
        grads = {LOGITS: np.asarray(work.backward(), dtype=np.float64)}
    except Exception as e:  # a user's backward may fail in any way; the report says how
        return LayerResult("loss", name, False, float("nan"), error=f"{type(e).__name__}: {e}")

    def evaluate(vals: dict[str, np.ndarray]) -> float:
        return as_cost_value(work.forward(vals[LOGITS], target))

    results, diff = run_checks(evaluate, {LOGITS: z}, grads, method=method, eps=eps, threshold=threshold,
                               sample=sample, rng=as_rng(rng), batch_size=z.shape[0] if z.ndim else None)
    return LayerResult("loss", name, all(r.passed for r in results.values()), diff, results)


def check_model(model: Layer, loss: Loss, X: np.ndarray, y: np.ndarray, *, autodiff: bool = False,
                eps: float | None = None, method: str = "central", threshold: float = DEFAULT_THRESHOLD,
                sample: int | None = None, rng: np.random.Generator | int | None = 0,
                directions: int = 4, layers: bool = True) -> GradientReport:
    """Check a ``Sequential`` (or a single layer) with its loss on data ``X`` (N, ...), ``y``.

    Returns a ``GradientReport`` whose ``parameters`` are keyed like ``model.params`` ("0.W"),
    whose ``layers`` hold each layer's isolated check (indexed like the model; a single layer is
    layer 0), ``loss`` the loss's, and ``blame`` the first failing layer (or "loss"). With
    ``autodiff=True`` every result also carries the gradient computed by ``chainrule.autodiff``
    from the layers' forward passes, a third witness beside the hand-written and numerical ones.
    ``method`` is "central" or "directional" (layers always use central differences);
    ``layers=False`` skips the isolated checks. A forward pass that refuses ``X`` or ``y`` raises
    (bad input); a backward that raises is a finding, recorded in ``error``. Central differences
    cost two forward passes per parameter element: for large models pass ``sample=k`` (k elements
    per parameter) or use ``method="directional"``.
    """
    if not isinstance(model, Layer):
        raise TypeError(f"model must be a chainrule Layer or Sequential, got {type(model).__name__}")
    if not isinstance(loss, Loss):
        raise TypeError(f"loss must be a chainrule Loss, got {type(loss).__name__}")
    _real_method(method)
    eps = resolve_options(method, eps, threshold, sample, directions)
    gen = as_rng(rng)
    X = as_float_array(X, "X")
    notes: list[str] = []
    if X.dtype != np.float64:
        notes.append(f"X is {X.dtype}: checking with a float64 copy")
        warnings.warn(notes[-1], PrecisionWarning, stacklevel=2)
    X64 = np.array(X, dtype=np.float64)
    _nothing_to_check(X64, "X")
    if not model.params:
        elsewhere = _parameters_elsewhere(model)
        raise ValueError("nothing to check: no parameters found in model.params"
                         + (f" (but the layers hold arrays {elsewhere} as attributes)" if elsewhere else "")
                         + " — a layer must store its parameters in self.params and their gradients in "
                         "self.grads, keyed alike ({'W': ...}); to check a layer without parameters use "
                         "check_layer(layer, x)")
    work = _private_copy(model, "model", notes)
    wloss = copy.deepcopy(loss)
    grads, error = _backprop(work, wloss, X64, y)
    values = work.params
    evaluate, probe = _probed_cost(work, wloss, X64, y)
    results: dict[str, ParameterResult] = {}
    difference = float("nan")
    if not error and values:
        results, difference = run_checks(evaluate, values, grads, method=method, eps=eps, threshold=threshold,
                                         sample=sample, rng=gen, directions=directions, batch_size=len(X64),
                                         probe=probe)
    layer_results, loss_result, blame, seen = None, None, None, None
    if layers:
        layer_results, loss_result, seen = _isolated(work, wloss, X64, y, eps=eps, threshold=threshold,
                                                     sample=sample, rng=gen)
        blame = next((lr.index for lr in layer_results if not lr.passed), None)
        if blame is None and not loss_result.passed:
            blame = "loss"
        _point_upstream(results, layer_results, blame)
    notes += _model_notes(results, layer_results, loss_result)
    passed = (error is None and bool(np.isfinite(difference)) and all(r.passed for r in results.values())
              and all(lr.passed for lr in layer_results or [])
              and (loss_result is None or loss_result.passed))
    report = GradientReport(passed, difference, results, method, eps, threshold, layer_results, loss_result,
                            blame, notes, error)
    if autodiff:
        from .witness import add_autodiff

        add_autodiff(report, work, wloss, X64, y, seen)
    return report


def _backprop(work: Layer, wloss: Loss, X64: np.ndarray, y: np.ndarray
              ) -> tuple[dict[str, np.ndarray], str | None]:
    """The model's own gradients (float64 copies) at X64, or the error its backward made.

    A forward that refuses X or y is the caller's error and raises (ValueError naming the argument);
    what the check hunts is a backward that fails, which the report records."""
    wloss.forward(np.asarray(work.forward(X64)), y)
    try:
        work.zero_grad()
        work.backward(np.asarray(wloss.backward(), dtype=np.float64))
        grads = {k: np.asarray(v, dtype=np.float64).copy() for k, v in work.grads.items()}
    except Exception as e:  # a user's backward may fail in any way; the report says how
        return {}, f"the model's backward raised {type(e).__name__}: {e}"
    missing = [k for k in work.params if k not in grads]
    return grads, (f"backward did not fill the gradients of {missing}{_key_hint(grads, missing)}"
                   if missing else None)


def _model_notes(results: dict[str, ParameterResult], layer_results: list[LayerResult] | None,
                 loss_result: LayerResult | None) -> list[str]:
    """What the whole-model results say together that no single result says alone."""
    notes = []
    scaled = {round(r.factor, 6) for r in results.values() if r.pattern == "scaled" and r.factor}
    if len(results) > 1 and len(scaled) == 1 and all(r.pattern == "scaled" for r in results.values()):
        notes.append(f"every parameter is scaled by the same factor {scaled.pop():g}: the bug is upstream "
                     "of all of them (the loss's backward or the gradient fed into the model)")
    unresolved = [k for k, r in results.items() if r.status == "unresolved"]  # not "unchecked": kinks
    if unresolved and layer_results and all(lr.passed for lr in layer_results) and loss_result.passed:
        notes.append(f"the gradients of {unresolved} are too small next to the cost for central differences "
                     "to resolve (vanishing gradients), but every layer's backward and the loss's passed "
                     "their own checks, so by the chain rule they are right too")
    return notes


def _point_upstream(results: dict[str, ParameterResult], layer_results: list[LayerResult],
                    blame: int | str | None) -> None:
    """A wrong backward corrupts the gradients of every parameter before it: say so in their hints,
    so that nobody hunts for a bug in a layer whose own backward is right."""
    if blame is None:
        return
    where = "the loss" if blame == "loss" else f"layer {blame} ({layer_results[blame].name})"
    for name, res in results.items():
        index, dot, _ = name.partition(".")
        if res.passed or not (dot and index.isdigit() and int(index) < len(layer_results)):
            continue
        if layer_results[int(index)].passed and (blame == "loss" or int(index) < blame):
            res.hint += (f" [this layer's own backward is right: the error comes from {where}, which the "
                         "gradient passes through on its way here]")


def _chain(layer: Layer) -> list[Layer]:
    """The layers a forward pass runs through, nested Sequentials flattened; a Sequential subclass
    with its own forward stays one opaque layer."""
    if isinstance(layer, Sequential) and type(layer).forward is Sequential.forward:
        return [leaf for sub in layer.layers for leaf in _chain(sub)]
    return [layer]


def _probed_cost(work: Layer, wloss: Loss, X64: np.ndarray, y: np.ndarray):
    """The whole-model cost, and a probe returning the sign pattern of every ReLU-family input
    seen by its last evaluation (None when the model has no such layer)."""
    chain = _chain(work)
    kinked = {i for i, layer in enumerate(chain) if isinstance(layer, (ReLU, LeakyReLU))}
    state: dict[str, bytes] = {}

    def evaluate(vals: dict[str, np.ndarray]) -> float:
        x, signs = X64, []
        for i, layer in enumerate(chain):
            if i in kinked:
                signs.append(np.asarray(x > 0).ravel())
            x = layer.forward(x)
        if signs:
            state["signs"] = np.packbits(np.concatenate(signs)).tobytes()
        return as_cost_value(wloss.forward(x, y))

    return evaluate, ((lambda: state["signs"]) if kinked else None)


def _isolated(work: Layer, wloss: Loss, X64: np.ndarray, y: np.ndarray, **options
              ) -> tuple[list[LayerResult], LayerResult, list[tuple[Layer, np.ndarray, np.ndarray]]]:
    """Each layer's check at the input it sees in the forward pass with a random upstream gradient,
    then the loss's at the logits. Also returns (layer, x, dout) per layer, then (loss, logits, y)."""
    rng = options.pop("rng")
    chain = work.layers if isinstance(work, Sequential) else [work]
    results, seen, x = [], [], X64
    for i, layer in enumerate(chain):
        out = np.asarray(layer.forward(x.copy()), dtype=np.float64)
        dout = rng.standard_normal(out.shape)
        results.append(check_layer(layer, x, dout, index=i, rng=rng, **options))
        seen.append((layer, x, dout))
        x = out
    seen.append((wloss, x, y))
    return results, check_loss(wloss, x, y, rng=rng, **options), seen
