"""The course's gradient-checking exercise (study note 000) with its two planted bugs, diagnosed.

The course's network (4 inputs, LINEAR->RELU->LINEAR->RELU->LINEAR->SIGMOID, 5-3-1 units) on its
seeded test case; its ``backward_propagation_n`` has ``dW2 = ... * 2`` and ``db1 = 4. / m * ...``.
The course's check only prints "difference = 0.285093156781"; chainrule names W2 and b1 and the
factors 2 and 4. The course's functions come from ``chainrule.dlai`` (column layout).
"""

from __future__ import annotations

from .check import DEFAULT_THRESHOLD, check_gradients
from .report import GradientReport

#: The two lines the course planted, as (gradient key, factor).
PLANTED_BUGS = (("dW2", 2.0), ("db1", 4.0))


def course_case(*, bugs: bool = True) -> tuple:
    """(cost, parameters, gradients, m) for the course's test case; ``bugs`` plants the two bugs."""
    from ..dlai.gradcheck import backward_propagation_n, forward_propagation_n
    from ..dlai.testcases import gradient_check_n_test_case

    X, Y, parameters = gradient_check_n_test_case()
    _, cache = forward_propagation_n(X, Y, parameters)
    gradients = backward_propagation_n(X, Y, cache)
    if bugs:
        for key, factor in PLANTED_BUGS:
            gradients[key] = gradients[key] * factor
    return (lambda p: forward_propagation_n(X, Y, p)), parameters, gradients, X.shape[1]


def course_demo(*, bugs: bool = True, eps: float = 1e-7,
                threshold: float = DEFAULT_THRESHOLD) -> GradientReport:
    """Run the course's check (eps = 1e-7, central differences) on its test case.

    Only the parameters' gradients are passed: the course's dict also holds the intermediate
    dZ1, dA1, ..., which need no check of their own."""
    cost, parameters, gradients, m = course_case(bugs=bugs)
    grads = {k: v for k, v in gradients.items() if k[1:] in parameters}
    return check_gradients(cost, parameters, grads, eps=eps, threshold=threshold, batch_size=m)
