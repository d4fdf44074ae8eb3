"""Check a learner's own backward functions and say which layer is wrong and how.

``check_backward`` runs two checks with ``chainrule.gradcheck``:

1. the whole network: the gradients of the learner's ``L_model_backward`` (or of the course's loop
   over the learner's ``linear_activation_backward``) against central differences of the cost,
   per parameter with course names (W1, b1, ...);
2. each layer in isolation: the network becomes a chainrule ``Sequential`` whose steps run the
   core's forward and the learner's backward (the linear step through ``linear_backward``, the
   activation step through ``relu_backward``/``sigmoid_backward`` when given, else through
   ``linear_activation_backward``), and ``check_model`` checks every step
   with a random upstream gradient. A step whose backward applies another activation's derivative
   (seed 001's swapped sigmoid/ReLU) is reported with pattern "activation" and the derivative used.

Every learner function is called on copies of its arguments (``learner.Watched``): one that writes
into an argument fails with pattern "inplace", naming the argument; one that returns NaN/inf from
finite arguments fails with pattern "non-finite", naming the value and how many of its elements are
not finite. The report's first line (``BackwardCheck.verdict``) names the first wrong step and what
is wrong with it. A learner's ``L_model_backward``
must also return the course's dA<l> (the course's grader compares them). Hints use the course's
names: dA_prev, dW, db (linear step) and dZ (activation step).

The learner's functions made into layers and course loops are in ``learner_layers``; the result
(``BackwardCheck``, one ``StepVerdict`` per step) and the hints in course names in ``verdict``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from ..dlai._arrays import as_course_array, course_parameters, labels, layer_keys
from ..dlai.backward import L_model_backward as _L_model_backward
from ..dlai.backward import linear_backward as _linear_backward
from ..dlai.forward import L_model_forward, compute_cost, cost_derivative
from ..nn import Layer, Sequential
from .learner import Mutation, NonFinite, Watched, bad_gradients, check_arguments, wrong_dA
from .learner_layers import (
    _STEPS,
    _activation_step,
    _course_activation_backward,
    _course_loop,
    _CourseCost,
    _LearnerLinear,
)
from .probe import derivative_used
from .verdict import BackwardCheck, StepVerdict, _course_hint, _explain_by_steps, _mark_inplace

# Failures the probe cannot explain better: the function's own error, NaN/inf, a wrong shape.
_NOT_PROBED = ("non-finite", "shape", "inplace", "masked")


def _step_outcome(result) -> str:
    """A layer step's "correct", "wrong" or "undecided": the check's own outcome where it has one;
    otherwise undecided when every failing gradient had nothing checkable (every element on a kink)
    or is lost in the noise."""
    outcome = getattr(result, "outcome", None)
    if isinstance(outcome, str):
        return outcome
    if result.passed:
        return "correct"
    bad = [p for p in result.parameters.values() if not p.passed]
    if result.error is None and bad and all(p.checked == 0 or not p.resolved for p in bad):
        return "undecided"
    return "wrong"


def _label(function: str, step: str, yours: Mapping[str, Callable | None]) -> str:
    """Who ran a step: "your relu_backward (my_relu)" with the learner's own name of the function,
    "chainrule's relu_backward" when the learner passed none that runs this step."""
    if function == "linear_activation_backward" and yours[function] is None:
        return f"chainrule's {step}_backward"
    fn = yours[function]
    if fn is None:
        return f"chainrule's {function}"
    name = getattr(fn, "__name__", None)
    return f"your {function}" + (f" ({name})" if isinstance(name, str) and name != function else "")


def assert_backward(parameters: Mapping[str, np.ndarray], X: np.ndarray, Y: np.ndarray,
                    **kwargs: object) -> BackwardCheck:
    """``check_backward`` for tests and graders: the ``BackwardCheck`` when it passes, else an
    AssertionError whose first line is the verdict (the first wrong step and what is wrong) followed
    by the whole report. Takes the same arguments as ``check_backward``."""
    result = check_backward(parameters, X, Y, **kwargs)
    if not result.passed:
        raise AssertionError(str(result))
    return result


def check_backward(parameters: Mapping[str, np.ndarray], X: np.ndarray, Y: np.ndarray, *,
                   linear_activation_backward: Callable | None = None,
                   linear_backward: Callable | None = None, L_model_backward: Callable | None = None,
                   relu_backward: Callable | None = None, sigmoid_backward: Callable | None = None,
                   eps: float | None = None, **options) -> BackwardCheck:
    """Check a learner's backward functions on the course's [LINEAR -> RELU] x (L-1) -> LINEAR -> SIGMOID.

    ``parameters`` (W1, b1, ...), X (n_x, m) and Y (1, m) give the point to check at. Pass your
    own ``relu_backward(dA, cache)`` and ``sigmoid_backward(dA, cache)`` (checked inside the course's
    ``linear_activation_backward``), ``linear_activation_backward(dA, cache, activation)``,
    ``linear_backward(dZ, cache)`` and/or ``L_model_backward(AL, Y, caches)``; the ones you leave
    out are chainrule's. Each is called on copies of its arguments, and one that modifies an
    argument in place fails. The forward pass is always chainrule's (the reference). ``eps`` and the
    options ``method``, ``threshold``, ``sample``, ``rng`` go to ``chainrule.gradcheck``; any other
    keyword is a TypeError. Returns a ``BackwardCheck``; ``print`` it for the verdict per step.
    """
    from ..gradcheck import check_gradients, check_model

    yours = {"linear_backward": linear_backward, "linear_activation_backward": linear_activation_backward,
             "L_model_backward": L_model_backward, "relu_backward": relu_backward,
             "sigmoid_backward": sigmoid_backward}
    check_arguments(yours, options)
    L, params = course_parameters(parameters)
    X = as_course_array(X, "check_backward: X")
    Y = labels(Y, X.shape[1], "check_backward: Y")
    found: list[Mutation] = []
    lb = Watched(linear_backward or _linear_backward, "linear_backward", found)
    own = {name[:-len("_backward")]: Watched(fn, name, found) for name, fn in yours.items()
           if name in ("relu_backward", "sigmoid_backward") and fn is not None}
    lab = None if linear_activation_backward is None else \
        Watched(linear_activation_backward, "linear_activation_backward", found)
    if L_model_backward is not None:
        watched = Watched(L_model_backward, "L_model_backward", found)

        def full(AL: np.ndarray, Y: np.ndarray, caches: list) -> dict:
            return watched(None, AL, Y, caches)
    else:
        full = _course_loop(lab or _course_activation_backward(lb, own))

    def cost(p: dict[str, np.ndarray]) -> float:
        return compute_cost(L_model_forward(X, p)[0], Y)

    AL, caches = L_model_forward(X, params)
    whole, error, dA = None, None, {}
    try:
        grads = full(AL, Y, caches)
    except NonFinite as e:
        error = str(e)
    except Exception as e:  # the learner's code may fail in any way; the steps below still say where
        error = f"the backward pass raised {type(e).__name__}: {e}"
    else:
        keys = layer_keys(L, "d")
        missing = [k for k in keys if k not in grads]
        if missing:
            raise ValueError(f"check_backward: L_model_backward returned no {missing}; "
                             f"got keys {sorted(grads)}")
        source = "your L_model_backward" if L_model_backward else "the backward pass"
        error = bad_gradients(grads, keys, source)
        if error is None:
            whole = check_gradients(cost, params, {k: grads[k] for k in keys}, eps=eps,
                                    **{"batch_size": X.shape[1], **options})
        if L_model_backward is not None:
            reference = dict(_L_model_backward(AL, Y, caches), **{f"dA{L}": cost_derivative(AL, Y)})
            dA = wrong_dA(grads, reference, caches)

    layers: list[Layer] = []
    dZ_of = {}
    for layer in range(1, L + 1):
        activation = "sigmoid" if layer == L else "relu"
        dZ_of[layer] = _activation_step(layer, activation, lab, own.get(activation))
        layers.append(_LearnerLinear(params[f"W{layer}"], params[f"b{layer}"], lb, layer))
        layers.append(_STEPS[activation](dZ_of[layer]))
    model = check_model(Sequential(*layers), _CourseCost(), X.T.copy(), Y.T.copy(), eps=eps, **options)
    steps = []
    for result in model.layers:
        layer, is_activation = result.index // 2 + 1, result.index % 2 == 1
        step = ("sigmoid" if layer == L else "relu") if is_activation else "linear"
        bad = next((p for p in result.parameters.values() if not p.passed), None)
        derivative = bad.detail if bad is not None and bad.pattern == "activation" else None
        function = (f"{step}_backward" if step in own else "linear_activation_backward") if is_activation \
            else "linear_backward"
        hint = _course_hint(result, "activation" if is_activation else "linear")
        pattern = "non-finite" if f"{NonFinite.__name__}: " in hint else result.pattern
        outcome = _step_outcome(result)
        if is_activation and outcome != "correct" and result.error is None and pattern not in _NOT_PROBED:
            # before "scaled", "zero", "mismatch" or "undecided", ask the step which derivative it applies
            used = derivative_used(dZ_of[layer], step, (params[f"W{layer}"].shape[0], X.shape[1]))
            if used is not None:
                outcome = "wrong"
                if used[0] == "masked":
                    pattern, hint = "masked", used[1]
                else:
                    pattern, (derivative, hint) = "activation", used
        steps.append(StepVerdict(layer, step, function, result.passed, pattern, derivative, hint,
                                 _label(function, step, yours), outcome))
    _mark_inplace(steps, found)
    blame = next((s for s in steps if s.outcome == "wrong"), None)
    if whole is None:
        return BackwardCheck(False, float("nan"), [], steps, None, model, blame, error, found, dA)
    _explain_by_steps(whole, steps)
    passed = whole.passed and all(s.passed for s in steps) and not found and not dA
    return BackwardCheck(passed, float(whole.difference), list(whole.failed), steps, whole, model, blame,
                         None, found, dA)
