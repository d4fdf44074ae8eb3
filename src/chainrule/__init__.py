"""chainrule: neural networks from first principles on NumPy, with every gradient verified."""

from . import nn
from .nn import (
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    Identity,
    Layer,
    LeakyReLU,
    Linear,
    Loss,
    MSELoss,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Tanh,
    mlp,
)

__version__ = "0.1.0"

__all__ = [
    "BCEWithLogitsLoss", "CrossEntropyLoss", "Identity", "Layer", "LeakyReLU", "Linear", "Loss",
    "MSELoss", "ReLU", "Sequential", "Sigmoid", "Softmax", "Tanh", "__version__", "mlp", "nn",
]
