"""``check_model``: a gradient check of a whole model that says which layer is wrong.

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
only the loss fails ``blame == "loss"``. The isolated checks are ``check_layer`` and ``check_loss``
(``gradcheck.layer``).
"""

from __future__ import annotations

import copy
import warnings

import numpy as np

from .._validate import as_float_array, as_rng, refused_as, to_array
from ..nn import LeakyReLU, ReLU, Sequential
from ..nn.module import Layer, Loss
from .batched import model_costs
from .check import DEFAULT_THRESHOLD, combine, run_checks
from .inputs import PrecisionWarning, as_cost_value, resolve_options
from .layer import (
    _key_hint,
    _nothing_to_check,
    _private_copy,
    _real_method,
    check_layer,
    check_loss,
    upstream,
)
from .noise import noise_scale
from .progress import session as check_progress
from .report import GradientReport, LayerResult, ParameterResult


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


def check_model(model: Layer, loss: Loss, X: np.ndarray, y: np.ndarray, *, autodiff: bool = False,
                eps: float | None = None, method: str = "central", threshold: float = DEFAULT_THRESHOLD,
                sample: int | None = None, rng: np.random.Generator | int | None = 0,
                directions: int = 4, layers: bool = True, batched: bool = True,
                progress: bool | None = None) -> GradientReport:
    """Check a ``Sequential`` (or a single layer) with its loss on data ``X`` (N, ...), ``y``.

    Returns a ``GradientReport`` whose ``parameters`` are keyed like ``model.params`` ("0.W"),
    whose ``layers`` hold each layer's isolated check (indexed like the model; a single layer is
    layer 0), ``loss`` the loss's, and ``blame`` the first failing layer (or "loss"). With
    ``autodiff=True`` every result also carries the gradient computed by ``chainrule.autodiff``
    from the layers' forward passes, a third witness beside the hand-written and numerical ones.
    ``method`` is "central" or "directional" (layers always use central differences);
    ``layers=False`` skips the isolated checks. A forward pass that refuses ``X`` or ``y`` raises
    (bad input); a backward that raises is a finding, recorded in ``error``. Central differences
    cost two forward passes per parameter element; a model built of layers that support it (Linear,
    the activations, the built-in losses: see ``gradcheck.batched``) gets them in batches, which
    ``batched=False`` turns off (the reference loop). ``progress``: a progress bar for checks
    projected to take over 2 s (None: in a terminal or notebook, not under pytest; True/False).

    The report's ``outcome`` is "wrong" when a whole-model gradient, a layer or the loss is wrong,
    "undecided" when something could not be decided, else "correct". A whole-model gradient too
    small next to the cost's noise to decide is decided by the chain rule when its layer's backward,
    every later layer's and the loss's are decided correct on their own (``witness`` says so).
    """
    if not isinstance(model, Layer):
        raise TypeError(f"model must be a chainrule Layer or Sequential, got {type(model).__name__}")
    if not isinstance(loss, Loss):
        raise TypeError(f"loss must be a chainrule Loss, got {type(loss).__name__}")
    _real_method(method)
    eps_given, given_eps = eps is not None, eps
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
    memo: dict = {}
    work = _private_copy(model, "model", notes, memo)
    # One memo: a loss that refers to the model (L2Regularized's penalty) refers to the private copy.
    wloss = copy.deepcopy(loss, memo)
    grads, error = _backprop(work, wloss, X64, y)
    values = work.params
    evaluate, probe = _probed_cost(work, wloss, X64, y)
    results: dict[str, ParameterResult] = {}
    difference = float("nan")
    layer_results, loss_result, blame, seen = None, None, None, None
    with check_progress(_workload(work, X64, sample, layers, method), progress, "check_model"):
        if not error and values:
            costs = model_costs(work, wloss, X64, y) if batched and method == "central" else None
            checked = run_checks(evaluate, values, grads, method=method, eps=eps, threshold=threshold,
                                 sample=sample, rng=gen, directions=directions, batch_size=len(X64),
                                 probe=probe, scale=noise_scale(work.forward(X64)), complex_ok=False,
                                 eps_given=eps_given, notes=notes, kinks_known=True, element_costs=costs)
            results, difference, eps = checked.results, checked.difference, checked.eps
        if layers:
            layer_results, loss_result, seen = _isolated(work, wloss, X64, y, eps=given_eps,
                                                         threshold=threshold, sample=sample, rng=gen,
                                                         batched=batched)
    if layers:
        blame = next((lr.index for lr in layer_results if lr.outcome == "wrong"), None)
        if blame is None and loss_result.outcome == "wrong":
            blame = "loss"
        _point_upstream(results, layer_results, blame)
        _by_chain_rule(results, layer_results, loss_result)
    notes += _model_notes(results, layer_results, loss_result)
    outcome = combine([r.outcome for r in results.values()] + [lr.outcome for lr in layer_results or []]
                      + ([loss_result.outcome] if loss_result is not None else []))
    if error is not None:
        outcome = "wrong"
    elif outcome == "correct" and not np.isfinite(difference):
        outcome = "undecided"
    report = GradientReport(outcome, difference, results, method, eps, threshold, layer_results, loss_result,
                            blame, notes, error, sample)
    if autodiff:
        from .witness import add_autodiff

        add_autodiff(report, work, wloss, X64, y, seen)
    return report


def _backprop(work: Layer, wloss: Loss, X64: np.ndarray, y: np.ndarray
              ) -> tuple[dict[str, np.ndarray], str | None]:
    """The model's own gradients (float64 copies) at X64, or the error its backward made.

    A forward that refuses X or y is the caller's error and raises (ValueError naming the argument);
    what the check hunts is a backward that fails, which the report records."""
    with refused_as(f"X of shape {X64.shape} does not fit the model"):
        out = np.asarray(work.forward(X64))
    with refused_as(f"y does not fit the loss for the model's output of shape {out.shape} (X has "
                    f"{X64.shape[0] if X64.ndim else 0} rows)", rename=("target", "y")):
        wloss.forward(out, to_array(y, "y"))
    try:
        work.zero_grad()
        work.backward(np.asarray(wloss.backward(), dtype=np.float64))
        if hasattr(wloss, "add_penalty_grads"):  # a penalty on the weights adds its gradient, as in fit
            wloss.add_penalty_grads()
        grads = {k: np.asarray(v, dtype=np.float64).copy() for k, v in work.grads.items()}
    except Exception as e:  # a user's backward may fail in any way; the report says how
        return {}, f"the model's backward raised {type(e).__name__}: {e}"
    missing = [k for k in work.params if k not in grads]
    return grads, (f"backward did not fill the gradients of {missing}{_key_hint(grads, missing)}"
                   if missing else None)


def _workload(work: Layer, X64: np.ndarray, sample: int | None, layers: bool, method: str) -> int:
    """Elements a check_model run perturbs (for its progress bar): every parameter, then every
    layer's input and parameters and the logits."""
    def count(size: int) -> int:
        return size if sample is None else min(size, sample)

    if method != "central":
        return 0
    total = sum(count(v.size) for v in work.params.values())
    if layers:
        x = X64
        try:
            for layer in (work.layers if isinstance(work, Sequential) else [work]):
                total += count(x.size) + sum(count(v.size) for v in layer.params.values())
                x = np.asarray(layer.forward(x))
            total += count(x.size)
        except Exception:  # a forward that fails is the checks' to report; the bar only estimates
            pass
    return total


def _model_notes(results: dict[str, ParameterResult], layer_results: list[LayerResult] | None,
                 loss_result: LayerResult | None) -> list[str]:
    """What the whole-model results say together that no single result says alone."""
    notes = []
    scaled = {round(r.factor, 6) for r in results.values() if r.pattern == "scaled" and r.factor}
    if len(results) > 1 and len(scaled) == 1 and all(r.pattern == "scaled" for r in results.values()):
        notes.append(f"every parameter is scaled by the same factor {scaled.pop():g}: the bug is upstream "
                     "of all of them (the loss's backward or the gradient fed into the model)")
    failed = [k for k, r in results.items() if r.outcome == "wrong"]
    if failed and layer_results and all(lr.passed for lr in layer_results) and loss_result.passed:
        notes.append(f"{', '.join(failed)} fail in the whole model although every layer's backward and the "
                     "loss's pass their own checks, so no layer is blamed. Either the whole-model difference "
                     "is numerical noise the error bars underestimate (look at the magnitudes: a saturated "
                     "softmax, gradients many orders below the cost), or the bug sits between layers, where "
                     "no isolated check looks: parameters shared by two layers, a layer whose forward "
                     "depends on state (training mode, a cache) that differs between calls, a Sequential "
                     "subclass with its own forward or backward")
    chain = [k for k, r in results.items() if r.witness.startswith("chain rule")]
    if chain:
        notes.append(f"the gradients of {chain} are too small next to the cost for finite differences to "
                     "resolve (vanishing gradients), but their layers' backwards, every later one's and the "
                     "loss's are decided correct on their own, so by the chain rule they are right too")
    return notes


def _by_chain_rule(results: dict[str, ParameterResult], layer_results: list[LayerResult],
                   loss_result: LayerResult) -> None:
    """Decide an undecided whole-model gradient "k.name" correct when layer k's own check and every
    later layer's and the loss's are correct: the whole-model gradient is their composition."""
    if not loss_result.passed:
        return
    for name, res in results.items():
        index, dot, _ = name.partition(".")
        if res.outcome != "undecided" or not (dot and index.isdigit()) or res.checked == 0:
            continue
        k = int(index)
        if k < len(layer_results) and all(lr.passed for lr in layer_results[k:]):
            res.outcome = "correct"
            res.witness = ("chain rule: this gradient is below what finite differences resolve in the whole "
                           "model, but its layer's backward, every later one's and the loss's are decided "
                           "correct on their own")
            res.hint = res.witness


def _point_upstream(results: dict[str, ParameterResult], layer_results: list[LayerResult],
                    blame: int | str | None) -> None:
    """A wrong backward corrupts the gradients of every parameter before it: say so in their hints,
    so that nobody hunts for a bug in a layer whose own backward is right."""
    if blame is None:
        return
    where = "the loss" if blame == "loss" else f"layer {blame} ({layer_results[blame].name})"
    for name, res in results.items():
        index, dot, _ = name.partition(".")
        if res.outcome != "wrong" or not (dot and index.isdigit() and int(index) < len(layer_results)):
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
        dout = upstream(rng, out.shape, x)
        results.append(check_layer(layer, x, dout, index=i, rng=rng, **options))
        seen.append((layer, x, dout))
        x = out
    seen.append((wloss, x, y))
    return results, check_loss(wloss, x, y, rng=rng, **options), seen
