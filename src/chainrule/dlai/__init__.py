"""The Deep Learning Specialization's functional API (course 1, weeks 3-4, and the gradient-checking
assignment), with the course's names, signatures, caches and printed outputs.

Column layout: X is (features, examples), W{l} is (n_l, n_{l-1}), b{l} is (n_l, 1), and the 1/m of
the mean cost lives in dW and db. This module is a thin face over chainrule's core: the affine
steps run ``chainrule.nn.Linear`` on transposed views, the activations are the core's layers,
updates use ``chainrule.optim.SGD`` and gradient checks ``chainrule.gradcheck``. Compare your
own functions with these, check them with ``gradient_check_n`` or ``check_backward`` (in tests
and graders: ``assert_backward``, an AssertionError whose first line is the verdict), and move
trained parameters to chainrule's layers with ``to_sequential``/``from_sequential``.

Random draws are the course's (``np.random.seed(s)`` reproduced by a local ``RandomState``), and
NumPy's global random state is never touched.
"""

from ..grading import BackwardCheck, assert_backward, check_backward
from . import testcases
from .activations import relu, relu_backward, sigmoid, sigmoid_backward, tanh, tanh_backward
from .backward import L_model_backward, linear_activation_backward, linear_backward, update_parameters
from .convert import from_sequential, to_sequential
from .data import load_data, print_mislabeled_images
from .forward import L_model_forward, compute_cost, linear_activation_forward, linear_forward
from .gradcheck import (
    Difference,
    backward_propagation,
    backward_propagation_n,
    dictionary_to_vector,
    forward_propagation,
    forward_propagation_n,
    gradient_check,
    gradient_check_n,
    gradients_to_vector,
    vector_to_dictionary,
)
from .init import initialize_parameters, initialize_parameters_deep
from .model import L_layer_model, accuracy, plot_costs, predict, two_layer_model
from .regularization import backward_propagation_with_regularization, compute_cost_with_regularization

__all__ = [
    "BackwardCheck", "Difference", "L_layer_model", "L_model_backward", "L_model_forward", "accuracy",
    "assert_backward", "backward_propagation",
    "backward_propagation_n", "check_backward", "compute_cost", "dictionary_to_vector",
    "forward_propagation", "forward_propagation_n", "from_sequential", "gradient_check",
    "gradient_check_n", "gradients_to_vector", "initialize_parameters", "initialize_parameters_deep",
    "linear_activation_backward", "linear_activation_forward", "linear_backward", "linear_forward",
    "load_data", "plot_costs", "predict", "print_mislabeled_images", "relu", "relu_backward", "sigmoid",
    "sigmoid_backward", "tanh", "tanh_backward", "testcases", "to_sequential", "two_layer_model",
    "update_parameters", "vector_to_dictionary",
    # course 2, week 1: L2 regularization
    "backward_propagation_with_regularization", "compute_cost_with_regularization",
]
