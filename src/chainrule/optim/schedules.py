"""Learning-rate schedules: ``sched.step()`` once per epoch sets ``optimizer.lr`` (PyTorch's
convention; ``fit(..., lr_scheduler=sched)`` does it for you).

Each schedule computes the rate of epoch e from the initial rate in closed form (no product
accumulated step by step), so ``state_dict()`` is two numbers and a resumed schedule gives the
very same rates. The course's inverse-time decay, ``lr0 / (1 + decay_rate * floor(epoch /
time_interval))``, is ``InverseTimeDecay``.
"""

from __future__ import annotations

import math

import numpy as np

from .._validate import check_positive_int, check_real


class LRScheduler:
    """Base class: ``base_lr`` is the optimizer's ``lr`` when the schedule is made; ``last_epoch``
    counts ``step()`` calls; ``lr_at(epoch)`` is the schedule."""

    _hyper: tuple[str, ...] = ()

    def __init__(self, optimizer) -> None:
        lr = getattr(optimizer, "lr", None)
        if isinstance(lr, bool) or not isinstance(lr, (int, float)):
            raise TypeError(f"optimizer must have a numeric lr attribute (a chainrule.optim optimizer), got "
                            f"{type(optimizer).__name__}")
        self.optimizer, self.base_lr, self.last_epoch = optimizer, float(lr), 0

    def lr_at(self, epoch: int) -> float:
        raise NotImplementedError

    def step(self) -> float:
        """Advance one epoch and set the optimizer's lr; return it."""
        self.last_epoch += 1
        self.optimizer.lr = self.lr_at(self.last_epoch)
        return self.optimizer.lr

    def get_last_lr(self) -> float:
        return self.lr_at(self.last_epoch)

    def state_dict(self) -> dict:
        return {"type": type(self).__name__, "base_lr": self.base_lr, "last_epoch": self.last_epoch,
                **{k: getattr(self, k) for k in self._hyper}}

    def load_state_dict(self, state: dict) -> None:
        """Restore from ``state_dict()`` of the same schedule type and set the optimizer's lr."""
        expected = {"type", "base_lr", "last_epoch", *self._hyper}
        if isinstance(state, dict) and state.get("type", type(self).__name__) != type(self).__name__:
            raise ValueError(f"state is of a {state['type']} schedule; this is a {type(self).__name__}")
        if not isinstance(state, dict) or set(state) != expected:
            got = sorted(state, key=repr) if isinstance(state, dict) else type(state).__name__
            raise ValueError(f"state must be a dict with keys {sorted(expected)} (from state_dict()), "
                             f"got {got}")
        last = state["last_epoch"]
        if isinstance(last, bool) or not isinstance(last, (int, np.integer)) or last < 0:
            raise ValueError(f"state['last_epoch'] must be an integer >= 0, got {last!r}")
        base = check_real(state["base_lr"], "state['base_lr']", 0.0, low_open=True)
        probe = type(self).__new__(type(self))
        try:
            type(self).__init__(probe, self.optimizer, **{k: state[k] for k in self._hyper})
        except (TypeError, ValueError) as exc:
            raise ValueError(f"state has invalid values: {exc}") from None
        for k in self._hyper:
            setattr(self, k, getattr(probe, k))
        self.base_lr, self.last_epoch = base, int(last)
        self.optimizer.lr = self.lr_at(self.last_epoch)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={getattr(self, k)!r}" for k in self._hyper)
        return f"{type(self).__name__}({args}; base_lr={self.base_lr:g}, epoch {self.last_epoch})"


class StepLR(LRScheduler):
    """lr = base_lr * gamma ** floor(epoch / step_size), as ``torch.optim.lr_scheduler.StepLR``."""

    _hyper = ("step_size", "gamma")

    def __init__(self, optimizer, step_size: int, gamma: float = 0.1) -> None:
        super().__init__(optimizer)
        self.step_size = check_positive_int(step_size, "step_size")
        self.gamma = check_real(gamma, "gamma", 0.0, low_open=True)

    def lr_at(self, epoch: int) -> float:
        return self.base_lr * self.gamma ** (epoch // self.step_size)


class ExponentialLR(LRScheduler):
    """lr = base_lr * gamma ** epoch, as ``torch.optim.lr_scheduler.ExponentialLR``."""

    _hyper = ("gamma",)

    def __init__(self, optimizer, gamma: float) -> None:
        super().__init__(optimizer)
        self.gamma = check_real(gamma, "gamma", 0.0, low_open=True)

    def lr_at(self, epoch: int) -> float:
        return self.base_lr * self.gamma ** epoch


class CosineAnnealingLR(LRScheduler):
    """lr = eta_min + (base_lr - eta_min) (1 + cos(pi epoch / T_max)) / 2, as
    ``torch.optim.lr_scheduler.CosineAnnealingLR`` (which keeps following the cosine past T_max)."""

    _hyper = ("T_max", "eta_min")

    def __init__(self, optimizer, T_max: int, eta_min: float = 0.0) -> None:
        super().__init__(optimizer)
        self.T_max = check_positive_int(T_max, "T_max")
        self.eta_min = check_real(eta_min, "eta_min", 0.0)

    def lr_at(self, epoch: int) -> float:
        return self.eta_min + (self.base_lr - self.eta_min) * (1 + math.cos(math.pi * epoch / self.T_max)) / 2


class InverseTimeDecay(LRScheduler):
    """The course's decay: lr = base_lr / (1 + decay_rate * floor(epoch / time_interval))
    (``time_interval=1``: ``update_lr``; larger: ``schedule_lr_decay``)."""

    _hyper = ("decay_rate", "time_interval")

    def __init__(self, optimizer, decay_rate: float, time_interval: int = 1) -> None:
        super().__init__(optimizer)
        self.decay_rate = check_real(decay_rate, "decay_rate", 0.0)
        self.time_interval = check_positive_int(time_interval, "time_interval")

    def lr_at(self, epoch: int) -> float:
        return self.base_lr / (1 + self.decay_rate * (epoch // self.time_interval))


SCHEDULES: dict[str, type[LRScheduler]] = {
    cls.__name__: cls for cls in (StepLR, ExponentialLR, CosineAnnealingLR, InverseTimeDecay)}
