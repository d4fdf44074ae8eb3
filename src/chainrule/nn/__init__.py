"""Layers with hand-written forward and backward passes (row layout: x is examples x features)."""

from . import functional, init
from .activations import ACTIVATIONS, Identity, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh, get_activation
from .linear import Linear
from .losses import LOSSES, BCEWithLogitsLoss, CrossEntropyLoss, MSELoss
from .module import Layer, Loss
from .sequential import Sequential, mlp

__all__ = [
    "ACTIVATIONS", "LOSSES", "BCEWithLogitsLoss", "CrossEntropyLoss", "Identity", "Layer",
    "LeakyReLU", "Linear", "Loss", "MSELoss", "ReLU", "Sequential", "Sigmoid", "Softmax", "Tanh",
    "functional", "get_activation", "init", "mlp",
]
