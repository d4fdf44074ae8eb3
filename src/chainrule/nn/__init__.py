"""Layers with hand-written forward and backward passes (row layout: x is examples x features)."""

from . import functional, init
from .activations import ACTIVATIONS, Identity, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh, get_activation
from .dropout import Dropout, freeze_masks
from .linear import Linear
from .losses import LOSSES, BCEWithLogitsLoss, CrossEntropyLoss, MSELoss
from .module import Layer, Loss
from .normalization import BatchNorm1d, LayerNorm
from .regularization import L2Regularized, l2_penalty, l2_penalty_grads
from .sequential import Sequential, mlp
from .summary import ModelSummary, summary

__all__ = [
    "ACTIVATIONS", "LOSSES", "BCEWithLogitsLoss", "BatchNorm1d", "CrossEntropyLoss", "Dropout", "Identity",
    "L2Regularized", "Layer", "LayerNorm", "LeakyReLU", "Linear", "Loss", "MSELoss", "ModelSummary", "ReLU",
    "Sequential", "Sigmoid", "Softmax", "Tanh", "freeze_masks", "functional", "get_activation", "init",
    "l2_penalty", "l2_penalty_grads", "mlp", "summary",
]
