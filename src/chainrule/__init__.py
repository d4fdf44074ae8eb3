"""chainrule: neural networks from first principles on NumPy, with every gradient verified."""

from . import autodiff, data, dlai, nn, optim
from .estimators import MLPClassifier
from .gradcheck import GradientReport, assert_gradients, check_gradients, check_layer, check_model
from .io import load, save
from .nn import (
    BatchNorm1d,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    Dropout,
    Identity,
    L2Regularized,
    Layer,
    LayerNorm,
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
from .optim import SGD, Adam, AdamW, RMSprop
from .training import EarlyStopping, History, TrainingDiverged, evaluate, fit, predict, predict_proba

__version__ = "0.1.0"

__all__ = [
    # modules: a folder is a concept
    "autodiff", "data", "dlai", "nn", "optim",
    # layers and losses (chainrule.nn)
    "BCEWithLogitsLoss", "BatchNorm1d", "CrossEntropyLoss", "Dropout", "Identity", "L2Regularized", "Layer",
    "LayerNorm", "LeakyReLU", "Linear", "Loss", "MSELoss", "ReLU", "Sequential", "Sigmoid", "Softmax", "Tanh",
    "mlp",
    # scikit-learn-style estimator
    "MLPClassifier",
    # training, optimizers, persistence
    "Adam", "AdamW", "EarlyStopping", "History", "RMSprop", "SGD", "TrainingDiverged", "evaluate", "fit",
    "load", "predict", "predict_proba", "save",
    # gradient checking (chainrule.gradcheck)
    "GradientReport", "assert_gradients", "check_gradients", "check_layer", "check_model",
    "__version__",
]
