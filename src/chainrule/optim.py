"""Optimizers: ``opt.step(params, grads)`` updates the arrays of ``params`` in place.

``params`` and ``grads`` are dicts name -> array with the same keys, shapes and dtypes (a model's
``params`` and ``grads``). Per-parameter state (momentum, Adam moments) is keyed by name. There is
no ``zero_grad``: every layer's ``backward`` overwrites its ``grads``, so nothing accumulates.
Updates are computed in the parameter's dtype, so float32 training stays float32. The update
rules are PyTorch's (``torch.optim.SGD`` without dampening/nesterov, ``torch.optim.Adam``).
"""

from __future__ import annotations

import numpy as np

from ._validate import check_mapping, check_real


class Optimizer:
    """Base class: checks the ``params``/``grads`` pair, then calls ``_update`` per parameter."""

    def __init__(self) -> None:
        self.state: dict[str, dict[str, np.ndarray | int]] = {}

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        """Update every array of ``params`` in place from the matching entry of ``grads``."""
        check_mapping(params, "params")
        check_mapping(grads, "grads", keys="the parameters' names")
        if set(params) != set(grads):
            missing, extra = sorted(set(params) - set(grads)), sorted(set(grads) - set(params))
            raise ValueError(f"grads must have the keys of params; missing {missing}, unexpected {extra}")
        for name, p in params.items():
            g = grads[name]
            if not isinstance(p, np.ndarray) or p.dtype.kind != "f":
                raise TypeError(f"params[{name!r}] must be a floating NumPy array, got "
                                f"{getattr(p, 'dtype', type(p).__name__)}")
            if not p.flags.writeable:
                raise ValueError(f"params[{name!r}] is read-only; the optimizer updates parameters in place "
                                 "(pass a writable copy, np.array(p))")
            if not isinstance(g, np.ndarray) or g.shape != p.shape or g.dtype != p.dtype:
                raise ValueError(f"grads[{name!r}] must match params[{name!r}]: expected shape {p.shape} "
                                 f"dtype {p.dtype}, got shape {getattr(g, 'shape', None)} dtype "
                                 f"{getattr(g, 'dtype', type(g).__name__)}")
            state = self.state.setdefault(name, {})
            for buf in state.values():
                if isinstance(buf, np.ndarray) and buf.shape != p.shape:
                    raise ValueError(f"params[{name!r}] changed shape from {buf.shape} to {p.shape} "
                                     f"since the last step; use a new {type(self).__name__}")
            self._update(p, g, state)

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict) -> None:
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with (heavy-ball) momentum.

    v = momentum * v + g  (v = g on the first step);  p = p - lr * v.
    """

    def __init__(self, lr: float, momentum: float = 0.0) -> None:
        super().__init__()
        self.lr = check_real(lr, "lr", 0.0, low_open=True)
        self.momentum = check_real(momentum, "momentum", 0.0, 1.0)

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict) -> None:
        if self.momentum:
            if "velocity" not in state:
                state["velocity"] = g.copy()
            else:
                v = state["velocity"]
                v *= self.momentum
                v += g
            g = state["velocity"]
        p -= self.lr * g

    def __repr__(self) -> str:
        return f"SGD(lr={self.lr}, momentum={self.momentum})"


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015) with bias correction, per parameter step counts:

    m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g²;
    p = p - lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps).
    """

    def __init__(self, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8) -> None:
        super().__init__()
        self.lr = check_real(lr, "lr", 0.0, low_open=True)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        self.betas = (check_real(betas[0], "betas[0]", 0.0, 1.0),
                      check_real(betas[1], "betas[1]", 0.0, 1.0))
        self.eps = check_real(eps, "eps", 0.0, low_open=True)

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict) -> None:
        b1, b2 = self.betas
        if "m" not in state:
            state.update(t=0, m=np.zeros_like(p), v=np.zeros_like(p))
        state["t"] += 1
        t, m, v = state["t"], state["m"], state["v"]
        m *= b1
        m += (1 - b1) * g
        v *= b2
        v += (1 - b2) * (g * g)
        denom = np.sqrt(v / (1 - b2**t))
        denom += self.eps
        p -= (self.lr / (1 - b1**t)) * m / denom

    def __repr__(self) -> str:
        return f"Adam(lr={self.lr}, betas={self.betas}, eps={self.eps})"


__all__ = ["SGD", "Adam", "Optimizer"]
