"""Optimizers, learning-rate schedules and gradient clipping (PyTorch's rules and conventions).

``optimizers``: ``SGD`` (momentum, Nesterov, weight decay), ``RMSprop``, ``Adam``, ``AdamW``, one
contract ``step(params, grads)``; ``schedules``: ``StepLR``, ``ExponentialLR``,
``CosineAnnealingLR``, ``InverseTimeDecay`` (the course's); ``clip``: ``clip_grad_norm``,
``clip_grad_value``. Optimizers and schedules have ``state_dict()``/``load_state_dict()``.
"""

from .clip import clip_grad_norm, clip_grad_value
from .optimizers import OPTIMIZERS, SGD, Adam, AdamW, Optimizer, RMSprop
from .schedules import SCHEDULES, CosineAnnealingLR, ExponentialLR, InverseTimeDecay, LRScheduler, StepLR

__all__ = ["OPTIMIZERS", "SCHEDULES", "SGD", "Adam", "AdamW", "CosineAnnealingLR", "ExponentialLR",
           "InverseTimeDecay", "LRScheduler", "Optimizer", "RMSprop", "StepLR", "clip_grad_norm",
           "clip_grad_value"]
