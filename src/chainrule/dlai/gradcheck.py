"""Gradient checking in the course's form (``gc_utils`` and the gradient-checking assignment).

``gradient_check`` (1-D, J(theta) = theta x) and ``gradient_check_n`` (a parameter dict) return the
course's number, ||grad - gradapprox||_2 / (||grad||_2 + ||gradapprox||_2) over all parameters, as
a float, and print the course's verdict. The numbers come from ``chainrule.gradcheck``, which also
diagnoses a failure: which parameters are wrong, which elements, and what kind of bug it looks like
(e.g. "scaled" by 2). The diagnosis is printed when the check fails and travels beside the number:
the float returned is a ``Difference`` whose ``.report`` is the full ``GradientReport``
(``return_report=True`` returns that report instead).

The vector helpers work for any number of layers (the course's only handle its 4-5-3-1 network).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

import numpy as np

from .._validate import as_float_array, check_mapping, check_real
from ..gradcheck.report import GradientReport
from ._arrays import as_course_array, check_examples, labels, layer_keys, num_layers
from .activations import relu_backward
from .backward import linear_backward
from .forward import L_model_forward, compute_cost

#: The shapes of the course's gradient-checking network (4 inputs, 5 and 3 hidden units, 1 output),
#: used by ``vector_to_dictionary`` when no shapes are given, as the course's version does.
COURSE_SHAPES: dict[str, tuple[int, int]] = {
    "W1": (5, 4), "b1": (5, 1), "W2": (3, 5), "b2": (3, 1), "W3": (1, 3), "b3": (1, 1),
}

_GRAD = re.compile(r"^d([Wb])([1-9][0-9]*)$")


def dictionary_to_vector(parameters: Mapping[str, np.ndarray]) -> tuple[np.ndarray, list[str]]:
    """Stack W1, b1, W2, b2, ... (each flattened row by row) into theta (n, 1).

    Returns theta and ``keys``, the parameter name of each of theta's n entries, as the course does.
    """
    keys = layer_keys(num_layers(parameters))
    arrays = [as_course_array(parameters[k], f"parameters['{k}']").reshape(-1, 1) for k in keys]
    names = [k for k, a in zip(keys, arrays, strict=True) for _ in range(a.shape[0])]
    return np.concatenate(arrays, axis=0), names


def vector_to_dictionary(theta: np.ndarray, shapes: Mapping[str, tuple[int, ...] | np.ndarray] | None = None
                         ) -> dict[str, np.ndarray]:
    """Undo ``dictionary_to_vector``: split theta (n, 1) into arrays of the given shapes.

    ``shapes``: name -> shape (or an array of that shape, e.g. the original ``parameters``), in the
    order W1, b1, W2, ...; by default the course's 4-5-3-1 network (``COURSE_SHAPES``).
    """
    shapes = COURSE_SHAPES if shapes is None else check_mapping(shapes, "shapes", keys="parameter names")
    try:
        sizes = {k: tuple(np.shape(v)) if isinstance(v, np.ndarray) else tuple(v) for k, v in shapes.items()}
    except TypeError:
        raise TypeError(f"shapes must map names to shape tuples or arrays, got "
                        f"{dict(shapes)!r:.80}") from None
    keys = layer_keys(num_layers(sizes, "shapes"))
    theta = as_course_array(theta, "theta", ndim=(1, 2))
    total = sum(int(np.prod(sizes[k])) for k in keys)
    if theta.size != total or (theta.ndim == 2 and theta.shape[1] != 1):
        raise ValueError(f"theta must have shape ({total}, 1) for shapes {sizes}, got {theta.shape}")
    flat, out, start = theta.reshape(-1), {}, 0
    for k in keys:
        n = int(np.prod(sizes[k]))
        out[k] = flat[start:start + n].reshape(sizes[k]).copy()
        start += n
    return out


def gradients_to_vector(gradients: Mapping[str, np.ndarray]) -> np.ndarray:
    """Stack dW1, db1, dW2, db2, ... into a (n, 1) vector in ``dictionary_to_vector``'s order.

    Other entries (dZ{l}, dA{l}) are ignored, as in the course.
    """
    check_mapping(gradients, "gradients", keys="gradient names such as 'dW1'")
    layers = {int(m.group(2)) for k in gradients if isinstance(k, str) and (m := _GRAD.match(k))}
    L = max(layers, default=0)
    keys = layer_keys(L, "d")
    missing = [k for k in keys if k not in gradients]
    if L == 0 or missing:
        raise ValueError(f"gradients must hold dW1, db1, ..., dWL, dbL; missing {missing or ['dW1', 'db1']}")
    return np.concatenate([as_course_array(gradients[k], f"gradients['{k}']").reshape(-1, 1) for k in keys])


def forward_propagation(x: float, theta: float) -> float:
    """The 1-D model J(theta) = theta * x."""
    return check_real(theta, "theta") * check_real(x, "x")


def backward_propagation(x: float, theta: float) -> float:
    """dJ/dtheta of J(theta) = theta * x, which is x."""
    check_real(theta, "theta")
    return check_real(x, "x")


def forward_propagation_n(X: np.ndarray, Y: np.ndarray,
                          parameters: Mapping[str, np.ndarray]) -> tuple[float, tuple]:
    """[LINEAR -> RELU] x (L-1) -> LINEAR -> SIGMOID and its cost, for any L (the course's has L = 3).

    X (n_x, m), Y (1, m) or (m,). Returns ``(cost, cache)`` with
    ``cache = (Z1, A1, W1, b1, ..., ZL, AL, WL, bL)``.
    """
    X = as_course_array(X, "forward_propagation_n: X")
    labels(Y, X.shape[1], "forward_propagation_n: Y")
    AL, caches = L_model_forward(X, parameters)
    outputs = [linear_cache[0] for linear_cache, _ in caches[1:]] + [AL]  # A_l is layer l+1's A_prev
    cache = tuple(v for ((_, W, b), Z), A in zip(caches, outputs, strict=True) for v in (Z, A, W, b))
    return compute_cost(AL, Y), cache


def backward_propagation_n(X: np.ndarray, Y: np.ndarray, cache: tuple) -> dict[str, np.ndarray]:
    """Gradients of ``forward_propagation_n``'s cost: dZ{l}, dW{l}, db{l} and dA{l} (l < L)."""
    X = as_course_array(X, "backward_propagation_n: X")
    if not isinstance(cache, tuple) or not cache or len(cache) % 4:
        shown = f" of length {len(cache)}" if isinstance(cache, tuple) else ""
        raise TypeError("backward_propagation_n: cache must be the (Z1, A1, W1, b1, ...) tuple from "
                        f"forward_propagation_n (4 entries per layer), got {type(cache).__name__}{shown}")
    L = len(cache) // 4
    AL, W1 = cache[4 * L - 3], cache[2]
    if np.ndim(AL) != 2 or np.ndim(W1) != 2:
        raise ValueError(f"backward_propagation_n: cache must hold a 2-D AL (1, m) and W1 (n_1, n_x), got "
                         f"AL of shape {np.shape(AL)} and W1 of shape {np.shape(W1)}")
    if X.shape[0] != np.shape(W1)[1] or X.shape[1] != np.shape(AL)[1]:
        raise ValueError(f"backward_propagation_n: X must have shape ({np.shape(W1)[1]}, "
                         f"{np.shape(AL)[1]}) to match W1 {np.shape(W1)} and AL {np.shape(AL)} from the "
                         f"cache, got {X.shape}")
    Y = labels(Y, np.shape(AL)[1], "backward_propagation_n: Y")
    gradients: dict[str, np.ndarray] = {}
    # Sigmoid output with the cross-entropy cost: the two derivatives fuse into AL - Y.
    dZ = AL - Y
    for layer in range(L, 0, -1):
        Z, _, W, b = cache[4 * (layer - 1): 4 * layer]
        if layer < L:
            dZ = relu_backward(gradients[f"dA{layer}"], Z)
        A_prev = X if layer == 1 else cache[4 * (layer - 2) + 1]
        dA_prev, gradients[f"dW{layer}"], gradients[f"db{layer}"] = linear_backward(dZ, (A_prev, W, b))
        gradients[f"dZ{layer}"] = dZ
        if layer > 1:
            gradients[f"dA{layer - 1}"] = dA_prev
    return gradients


class Difference(float):
    """The course's difference: a plain float to compare, print and store, as the course returns,
    with chainrule's diagnosis beside it in ``.report`` (a ``GradientReport``: which parameters are
    wrong, which elements, what kind of bug)."""

    report: GradientReport

    def __new__(cls, value: float, report: GradientReport) -> Difference:
        obj = super().__new__(cls, value)
        obj.report = report
        return obj

    def __reduce__(self):  # copies and pickles keep the number, a plain float, and drop the report
        return float, (float(self),)


def _say(message: str, ok: bool) -> None:
    from rich.console import Console

    Console(highlight=False, soft_wrap=True).print(message, style="green" if ok else "yellow", markup=False)


def _diagnosis(report: GradientReport, course_ok: bool) -> None:
    """Print chainrule's report when it finds something or cannot decide, and say so when the course's
    number did not."""
    if report.passed:
        return
    if report.outcome == "undecided":
        print("chainrule cannot decide every gradient at this point (the report says why and what "
              "would decide it):")
    elif course_ok:
        print("chainrule's per-parameter check finds what the single number hides:")
    print(report)


def _saturation_note(forward: Callable, X: np.ndarray, Y: np.ndarray,
                     parameters: Mapping[str, np.ndarray]) -> str | None:
    """When the course's forward leaves AL within 1e-8 of 0 or 1, its cost ``log(AL)``/``log(1 - AL)``
    is a staircase of rounding steps: say so, and point at the stable form from the logits."""
    try:
        out = forward(X, Y, {k: np.array(v, dtype=np.float64) for k, v in parameters.items()})
    except Exception:  # the check itself reports a forward that fails
        return None
    cache = out[1] if isinstance(out, tuple) and len(out) == 2 else None
    if not isinstance(cache, tuple) or len(cache) < 4 or len(cache) % 4:
        return None
    AL = np.asarray(cache[-3], dtype=np.float64)
    if AL.size == 0 or not np.all((AL >= 0) & (AL <= 1)):
        return None
    closest = float(np.min(np.minimum(AL, 1 - AL)))
    if closest >= 1e-8:
        return None
    return (f"AL is within {closest:.2g} of 0 or 1 (a saturated sigmoid): the course's cost "
            "-(1/m) sum(Y log(AL) + (1 - Y) log(1 - AL)) then rounds 1 - AL to a few ulps, and its finite "
            "differences measure rounding, not the gradient. Compute the cost from the logits ZL instead: "
            "cost = np.mean(np.maximum(ZL, 0) - ZL * Y + np.log1p(np.exp(-np.abs(ZL)))), or check at "
            "smaller weights")


def _course_difference(report: GradientReport, gradients: Mapping[str, object]) -> float:
    """Formula 2 over the flattened vectors, as the course computes it: every element, kinks
    included, each gradient flattened row by row whatever its shape. NaN when a gradient has the
    wrong number of elements (the course's own check would fail with a broadcasting error)."""
    from ..gradcheck import relative_difference

    # the central differences (the learner's gradapprox), also where the complex step decided
    approx = [p.numerical if p.central is None else p.central
              for p in (report.parameters[name] for name in gradients)]  # in the course's order
    grads = [np.asarray(g, dtype=np.float64) for g in gradients.values()]
    if any(a is None or a.size != g.size for a, g in zip(approx, grads, strict=True)):
        return float("nan")
    return relative_difference(np.concatenate([g.ravel() for g in grads]),
                               np.concatenate([a.ravel() for a in approx]))


def _course_verdict(report: GradientReport, difference: float) -> None:
    """The course's message of ``gradient_check_n`` (and of today's ``gradient_check``), then
    chainrule's diagnosis when it finds something."""
    if difference <= 2e-7:
        _say(f"Your backward propagation works perfectly fine! difference = {difference}", True)
    else:  # NaN too: a gradient with the wrong number of elements
        _say(f"There is a mistake in the backward propagation! difference = {difference}", False)
    _diagnosis(report, difference <= 2e-7)


def gradient_check(x: float, theta: float, epsilon: float = 1e-7, print_msg: bool | None = None, *,
                   forward: Callable[[float, float], float] = forward_propagation,
                   backward: Callable[[float, float], float] = backward_propagation,
                   return_report: bool = False) -> Difference | GradientReport:
    """Check ``backward(x, theta)`` against central differences of ``forward(x, theta)``.

    Both of the course's signatures: the notebook's of 2018 (``gradient_check(x, theta,
    epsilon=1e-7)``, which always prints "The gradient is correct!" below 1e-7, or "wrong") and
    today's (``gradient_check(x, theta, epsilon=1e-7, print_msg=False)``, which prints "Your
    backward propagation works perfectly fine! difference = ..." at most 2e-7, or "There is a
    mistake ...", only with ``print_msg=True``). Leaving ``print_msg`` out prints as the 2018
    version did; ``print_msg=False`` prints nothing. When chainrule's check fails, its diagnosis
    is printed after the verdict. Returns the difference as a ``Difference``, a float carrying the
    full ``GradientReport`` in ``.report`` (``return_report=True`` returns the report itself). Pass
    your own ``forward``/``backward`` to check them.
    """
    from ..gradcheck import check_gradients

    check_real(epsilon, "epsilon", 0.0, 1.0, low_open=True, expected="be a number in (0, 1)")
    as_float_array(x, "x")
    as_float_array(theta, "theta")
    grad = backward(x, theta)
    report = check_gradients(lambda t: forward(x, t), theta, grad, eps=epsilon)
    result = report.parameters["theta"]
    if isinstance(grad, (tuple, list)) and result.pattern == "shape":
        # the check sees an array of shape (n,); only here is it known to be seed 002's tuple return
        result.hint = (f"backward returned a {type(grad).__name__} of {len(grad)} value(s), {grad!r}, where "
                       "dJ/dtheta is one number: return the derivative itself, not a tuple or list")
    difference = _course_difference(report, {"theta": grad})
    if print_msg is None:  # the 2018 notebook's messages and threshold
        ok = difference < 1e-7  # NaN, a gradient of the wrong size, is not correct
        _say("The gradient is correct!" if ok else "The gradient is wrong!", ok)
        _diagnosis(report, ok)
    elif print_msg:
        _course_verdict(report, difference)
    return report if return_report else Difference(difference, report)


def gradient_check_n(parameters: Mapping[str, np.ndarray], gradients: Mapping[str, np.ndarray],
                     X: np.ndarray, Y: np.ndarray, epsilon: float = 1e-7, print_msg: bool | None = None, *,
                     forward: Callable = forward_propagation_n, return_report: bool = False
                     ) -> Difference | GradientReport:
    """Check ``gradients`` (dW1, db1, ...) against central differences of ``forward(X, Y, parameters)``.

    ``forward`` returns the cost or ``(cost, cache)`` (default: ``forward_propagation_n``; pass
    your own). Prints the course's verdict (a mistake when the difference exceeds 2e-7) and, when
    chainrule's per-parameter check fails, its diagnosis naming the wrong parameters and the kind
    of bug (this includes wrong shapes, which the course's flattening hides), or why it cannot decide
    (e.g. a saturated sigmoid, whose cost is a staircase of rounding steps). Returns the course's
    difference as a ``Difference``, a float carrying that diagnosis in ``.report`` (the
    ``GradientReport`` itself with ``return_report=True``). Neither ``parameters`` nor
    ``gradients`` is modified. Both of the course's signatures: 2018's ``(parameters, gradients, X,
    Y, epsilon=1e-7)``, which always prints, and today's ``(..., epsilon=1e-7, print_msg=False)``,
    which prints only with ``print_msg=True`` (``print_msg=False`` prints nothing at all).
    """
    from ..gradcheck import check_gradients

    check_real(epsilon, "epsilon", 0.0, 1.0, low_open=True, expected="be a number in (0, 1)")
    check_mapping(gradients, "gradients", keys="gradient names such as 'dW1'")
    check_examples(as_course_array(X, "gradient_check_n: X"), "gradient_check_n: X")
    L = num_layers(parameters)
    keys = layer_keys(L, "d")
    missing = [k for k in keys if k not in gradients]
    if missing:
        raise ValueError(f"gradient_check_n: gradients has no {missing}; expected {keys} "
                         "(the output of your backward)")
    for k in keys:  # NaN/inf and non-numbers named by the learner's key; the check below says W1, b1, ...
        as_course_array(gradients[k], f"gradient_check_n: gradients['{k}']", ndim=None)
    ordered = {k[1:]: gradients[k] for k in keys}  # W1, b1, W2, ...: dictionary_to_vector's order
    m = int(np.shape(X)[1]) if np.ndim(X) == 2 else None
    report = check_gradients(lambda p: forward(X, Y, p), dict(parameters), ordered, eps=epsilon, batch_size=m)
    saturated = _saturation_note(forward, X, Y, parameters)
    if saturated and not report.passed:
        report.notes.append(saturated)
    difference = _course_difference(report, ordered)
    if print_msg is None or print_msg:
        _course_verdict(report, difference)
    return report if return_report else Difference(difference, report)
