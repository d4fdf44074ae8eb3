"""Optimizers with one contract: ``opt.step(params, grads)`` updates the arrays of ``params`` in place.

``params`` and ``grads`` are dicts name -> array with the same keys, shapes and dtypes (a model's
``params`` and ``grads``). Per-parameter state (momentum, Adam moments, step counts) is keyed by
name. There is no ``zero_grad``: every layer's ``backward`` overwrites its ``grads``. Updates are
computed in the parameter's dtype (float32 training stays float32) with a scratch buffer per
parameter, so a step allocates nothing. The rules are PyTorch's, argument for argument
(``torch.optim.SGD``, ``RMSprop``, ``Adam``, ``AdamW``), tested against it to 1e-12 in float64.

Every optimizer also takes ``clip_grad_norm=`` (rescale all gradients together so their global L2
norm is at most that, as ``torch.nn.utils.clip_grad_norm_``) and ``clip_grad_value=`` (clamp each
element to [-v, v], as ``clip_grad_value_``), applied to the gradient arrays in place before the
update. ``state_dict()``/``load_state_dict()`` capture and restore the hyperparameters and the
state (``chainrule.save(model, path, optimizer=opt)`` stores them with the model).
"""

from __future__ import annotations

import math
from collections.abc import Collection

import numpy as np

from .._validate import check_mapping, check_real
from .clip import clip_grad_norm, clip_grad_value


def _optional_positive(value: float | None, name: str) -> float | None:
    return None if value is None else check_real(value, name, 0.0, low_open=True)


class Optimizer:
    """Base class: checks the ``params``/``grads`` pair, clips, then calls ``_update`` per parameter.

    Subclasses list their hyperparameters in ``_hyper`` (attribute names); ``lr`` is one of them
    and schedules change it between steps.
    """

    _hyper: tuple[str, ...] = ("lr",)

    def __init__(self, *, clip_grad_norm: float | None = None, clip_grad_value: float | None = None) -> None:
        self.state: dict[str, dict[str, np.ndarray | int]] = {}
        self.clip_grad_norm = _optional_positive(clip_grad_norm, "clip_grad_norm")
        self.clip_grad_value = _optional_positive(clip_grad_value, "clip_grad_value")
        self._scratch: dict[str, np.ndarray] = {}
        self._plan: list | None = None

    def step(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray], *,
             scratch_grads: Collection[str] = ()) -> None:
        """Update every array of ``params`` in place from the matching entry of ``grads``.

        ``scratch_grads``: names of gradients the caller no longer needs after this step. An
        optimizer whose update allows it (plain SGD: no momentum, no weight decay) then forms the step
        in those gradient arrays (they end up holding lr * g) instead of in a
        scratch array of the parameter's size: a third parameter-sized array per step costs about a
        tenth of a small-batch step in memory traffic. ``fit`` passes the gradients its layers own
        under ``reuse_buffers``, except at the last step of each epoch, so ``model.grads`` holds true
        gradients whenever a callback or the caller can look. The default: ``grads`` stay intact
        (except for clipping, which works in place).
        """
        if grads.__class__ is not dict:
            check_mapping(grads, "grads", keys="the parameters' names")
        plan = self._plan
        # A training loop passes the same parameter arrays every step: check them fully once, then
        # only that they are still the same objects (and the gradients' shapes and dtypes).
        if plan is None or len(params) != len(plan) or not all([params.get(n) is p for n, p, _, _ in plan]):
            plan = self._make_plan(params)
        if len(grads) != len(plan):
            self._check_keys(params, grads)
        gs = [grads.get(name) for name, _, _, _ in plan]
        for (name, p, _, _), g in zip(plan, gs, strict=True):
            if g.__class__ is not np.ndarray or g.shape != p.shape or g.dtype != p.dtype:
                if name not in grads:
                    self._check_keys(params, grads)
                raise ValueError(f"grads[{name!r}] must match params[{name!r}]: expected shape {p.shape} "
                                 f"dtype {p.dtype}, got shape {getattr(g, 'shape', None)} dtype "
                                 f"{getattr(g, 'dtype', type(g).__name__)}")
        if self.clip_grad_value is not None:
            clip_grad_value(grads, self.clip_grad_value)
        if self.clip_grad_norm is not None:
            clip_grad_norm(grads, self.clip_grad_norm)
        update = self._update
        if scratch_grads and self._update_in_grads():
            for (name, p, state, buf), g in zip(plan, gs, strict=True):
                update(p, g, state, g if name in scratch_grads and g.flags.writeable else buf)
        else:
            for (_, p, state, buf), g in zip(plan, gs, strict=True):
                update(p, g, state, buf)

    def _update_in_grads(self) -> bool:
        """Whether ``_update(p, g, state, buf)`` is right with ``buf`` being ``g`` itself (it reads
        g before it writes buf): see ``step``'s ``scratch_grads``."""
        return False

    @staticmethod
    def _check_keys(params, grads) -> None:
        if params.keys() != grads.keys():
            missing = sorted(set(params) - set(grads), key=repr)
            extra = sorted(set(grads) - set(params), key=repr)
            raise ValueError(f"grads must have the keys of params; missing {missing}, unexpected {extra}")

    def _make_plan(self, params) -> list:
        """(name, param, state, scratch buffer) per parameter, after checking every parameter."""
        check_mapping(params, "params")
        plan = []
        for name, p in params.items():
            if not isinstance(p, np.ndarray) or p.dtype.kind != "f":
                raise TypeError(f"params[{name!r}] must be a floating NumPy array, got "
                                f"{getattr(p, 'dtype', type(p).__name__)}")
            if not p.flags.writeable:
                raise ValueError(f"params[{name!r}] is read-only; the optimizer updates parameters in place")
            state = self.state.get(name)
            if state is None:
                state = self.state[name] = self._init_state(p)
            for v in state.values():
                if isinstance(v, np.ndarray) and (v.shape != p.shape or v.dtype != p.dtype):
                    raise ValueError(f"params[{name!r}] changed from shape {v.shape} dtype {v.dtype} to "
                                     f"{p.shape} {p.dtype} since the last step; use a new "
                                     f"{type(self).__name__}")
            buf = self._scratch.get(name)
            if buf is None or buf.shape != p.shape or buf.dtype != p.dtype:
                buf = self._scratch[name] = np.empty_like(p)
            plan.append((name, p, state, buf))
        self._plan = plan
        return plan

    def _init_state(self, p: np.ndarray) -> dict:
        return {}

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict, buf: np.ndarray) -> None:
        raise NotImplementedError

    def _l2(self, p: np.ndarray, g: np.ndarray, buf: np.ndarray) -> np.ndarray:
        """g + weight_decay * p (coupled L2, as PyTorch's ``weight_decay``) in ``buf``."""
        np.multiply(p, self.weight_decay, out=buf)
        buf += g
        return buf

    # -- state -------------------------------------------------------------------------------------
    def hyperparameters(self) -> dict:
        """The hyperparameters as JSON-ready values (``betas`` as a list)."""
        out = {k: getattr(self, k) for k in self._hyper}
        out.update(clip_grad_norm=self.clip_grad_norm, clip_grad_value=self.clip_grad_value)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}

    def state_dict(self) -> dict:
        """``{"type": "Adam", "hyperparameters": {...}, "state": {name: {"step": 3, "exp_avg":
        array, ...}}}``: copies, so later steps do not change it."""
        return {"type": type(self).__name__, "hyperparameters": self.hyperparameters(),
                "state": {name: {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in s.items()}
                          for name, s in self.state.items()}}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore hyperparameters and state from ``state_dict()`` of the same optimizer type (the
        arrays are copied). Everything is checked before anything changes."""
        if not isinstance(state_dict, dict) or set(state_dict) != {"type", "hyperparameters", "state"}:
            raise ValueError("state_dict must be a dict with keys 'type', 'hyperparameters', 'state' "
                             f"(from Optimizer.state_dict()), got {type(state_dict).__name__}"
                             + (f" with keys {sorted(state_dict, key=repr)}"  # keys of any type
                                if isinstance(state_dict, dict) else ""))
        if state_dict["type"] != type(self).__name__:
            raise ValueError(f"state_dict is of a {state_dict['type']} optimizer; this is a "
                             f"{type(self).__name__}")
        hyper = state_dict["hyperparameters"]
        if not isinstance(hyper, dict) or set(hyper) != set(self.hyperparameters()):
            raise ValueError("state_dict hyperparameters must have the keys "
                             f"{sorted(self.hyperparameters())}, "
                             "got " + (str(sorted(hyper, key=repr)) if isinstance(hyper, dict)
                                       else type(hyper).__name__))
        probe = type(self).__new__(type(self))
        try:
            type(self).__init__(probe, **hyper)  # validates every value as the constructor does
        except (TypeError, ValueError) as exc:
            raise ValueError(f"state_dict hyperparameters are invalid: {exc}") from None
        expected = set(probe._init_state(np.zeros(1)))
        state: dict[str, dict] = {}
        if not isinstance(state_dict["state"], dict):
            raise ValueError(f"state_dict['state'] must be a dict, got {type(state_dict['state']).__name__}")
        for name, s in state_dict["state"].items():
            if not isinstance(name, str) or not isinstance(s, dict) or set(s) != expected:
                raise ValueError(f"state_dict['state'][{name!r}] must be a dict with keys "
                                 f"{sorted(expected)}, "
                                 f"got {sorted(s, key=repr) if isinstance(s, dict) else type(s).__name__}")
            arrays = [np.asarray(v) for v in s.values() if not isinstance(v, (int, np.integer))]
            if any(a.dtype.kind != "f" or not np.all(np.isfinite(a)) for a in arrays) or \
                    len({a.shape for a in arrays}) > 1 or len({a.dtype for a in arrays}) > 1:
                raise ValueError(f"state_dict['state'][{name!r}] must hold finite floating arrays of one "
                                 "shape and dtype")
            state[name] = {k: (np.array(v, copy=True) if not isinstance(v, (int, np.integer)) else int(v))
                           for k, v in s.items()}
        for k in self._hyper + ("clip_grad_norm", "clip_grad_value"):
            setattr(self, k, getattr(probe, k))
        self.state = state
        self._scratch, self._plan = {}, None

    def __repr__(self) -> str:
        names = self._hyper + ("clip_grad_norm", "clip_grad_value")
        shown = {k: getattr(self, k) for k in names if getattr(self, k) is not None}
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in shown.items())})"


class SGD(Optimizer):
    """Stochastic gradient descent, as ``torch.optim.SGD``:

    g = g + weight_decay * p;  v = momentum * v + (1 - dampening) * g  (v = g on the first step);
    g = g + momentum * v if nesterov else v;  p = p - lr * g.
    """

    _hyper = ("lr", "momentum", "dampening", "nesterov", "weight_decay")

    def __init__(self, lr: float, momentum: float = 0.0, *, dampening: float = 0.0, nesterov: bool = False,
                 weight_decay: float = 0.0, clip_grad_norm: float | None = None,
                 clip_grad_value: float | None = None) -> None:
        super().__init__(clip_grad_norm=clip_grad_norm, clip_grad_value=clip_grad_value)
        self.lr = check_real(lr, "lr", 0.0, low_open=True)
        self.momentum = check_real(momentum, "momentum", 0.0, 1.0)
        self.dampening = check_real(dampening, "dampening", 0.0, 1.0, high_open=False)
        if not isinstance(nesterov, (bool, np.bool_)):
            raise TypeError(f"nesterov must be True or False, got {type(nesterov).__name__}")
        if nesterov and (self.momentum == 0 or self.dampening != 0):
            raise ValueError(f"nesterov=True needs momentum > 0 and dampening = 0, got momentum={momentum}, "
                             f"dampening={dampening}")
        self.nesterov = bool(nesterov)
        self.weight_decay = check_real(weight_decay, "weight_decay", 0.0)

    def _init_state(self, p: np.ndarray) -> dict:
        return {"momentum_buffer": np.zeros_like(p), "step": 0} if self.momentum else {}

    def _update_in_grads(self) -> bool:
        # Plain SGD only: weight decay writes weight_decay * p into buf before it reads g, and with
        # momentum the array would hold lr * v, whose overflow fit's diagnosis would blame on g.
        return not self.weight_decay and not self.momentum

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict, buf: np.ndarray) -> None:
        if self.weight_decay:
            g = self._l2(p, g, buf)
        if self.momentum:
            v = state["momentum_buffer"]
            if state["step"] == 0:
                np.copyto(v, g)
            else:
                v *= self.momentum
                v += (1 - self.dampening) * g if self.dampening else g
            state["step"] += 1
            if self.nesterov:  # g + momentum * v
                if g is buf:
                    buf += self.momentum * v
                else:
                    np.multiply(v, self.momentum, out=buf)
                    buf += g
                g = buf
            else:
                g = v
        np.multiply(g, self.lr, out=buf)
        p -= buf


class RMSprop(Optimizer):
    """RMSprop, as ``torch.optim.RMSprop``: g = g + weight_decay * p;
    s = alpha s + (1 - alpha) g²;  avg = sqrt(s - a²) + eps with a = alpha a + (1 - alpha) g when
    ``centered``, else sqrt(s) + eps;  with momentum: b = momentum b + g / avg, p -= lr b; else
    p -= lr g / avg.
    """

    _hyper = ("lr", "alpha", "eps", "weight_decay", "momentum", "centered")

    def __init__(self, lr: float = 0.01, alpha: float = 0.99, eps: float = 1e-8, *, weight_decay: float = 0.0,
                 momentum: float = 0.0, centered: bool = False, clip_grad_norm: float | None = None,
                 clip_grad_value: float | None = None) -> None:
        super().__init__(clip_grad_norm=clip_grad_norm, clip_grad_value=clip_grad_value)
        self.lr = check_real(lr, "lr", 0.0, low_open=True)
        self.alpha = check_real(alpha, "alpha", 0.0, 1.0)
        self.eps = check_real(eps, "eps", 0.0, low_open=True)
        self.weight_decay = check_real(weight_decay, "weight_decay", 0.0)
        self.momentum = check_real(momentum, "momentum", 0.0, 1.0)
        if not isinstance(centered, (bool, np.bool_)):
            raise TypeError(f"centered must be True or False, got {type(centered).__name__}")
        self.centered = bool(centered)

    def _init_state(self, p: np.ndarray) -> dict:
        state = {"step": 0, "square_avg": np.zeros_like(p)}
        if self.momentum:
            state["momentum_buffer"] = np.zeros_like(p)
        if self.centered:
            state["grad_avg"] = np.zeros_like(p)
        return state

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict, buf: np.ndarray) -> None:
        if self.weight_decay:
            g = g + self.weight_decay * p
        state["step"] += 1
        s = state["square_avg"]
        s *= self.alpha
        s += (1 - self.alpha) * (g * g)
        if self.centered:
            a = state["grad_avg"]
            a *= self.alpha
            a += (1 - self.alpha) * g
            np.subtract(s, a * a, out=buf)
            np.sqrt(buf, out=buf)
        else:
            np.sqrt(s, out=buf)
        buf += self.eps
        np.divide(g, buf, out=buf)
        if self.momentum:
            b = state["momentum_buffer"]
            b *= self.momentum
            b += buf
            np.multiply(b, self.lr, out=buf)
        else:
            buf *= self.lr
        p -= buf


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015), as ``torch.optim.Adam``: g = g + weight_decay * p (coupled L2);
    m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g²  (v_max = max(v_max, v) with ``amsgrad``);
    p = p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps), t the parameter's step count.
    """

    _hyper = ("lr", "betas", "eps", "weight_decay", "amsgrad")
    _decoupled = False

    def __init__(self, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, *,
                 weight_decay: float = 0.0, amsgrad: bool = False, clip_grad_norm: float | None = None,
                 clip_grad_value: float | None = None) -> None:
        super().__init__(clip_grad_norm=clip_grad_norm, clip_grad_value=clip_grad_value)
        self.lr = check_real(lr, "lr", 0.0, low_open=True)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        self.betas = (check_real(betas[0], "betas[0]", 0.0, 1.0),
                      check_real(betas[1], "betas[1]", 0.0, 1.0))
        self.eps = check_real(eps, "eps", 0.0, low_open=True)
        self.weight_decay = check_real(weight_decay, "weight_decay", 0.0)
        if not isinstance(amsgrad, (bool, np.bool_)):
            raise TypeError(f"amsgrad must be True or False, got {type(amsgrad).__name__}")
        self.amsgrad = bool(amsgrad)

    def _init_state(self, p: np.ndarray) -> dict:
        state = {"step": 0, "exp_avg": np.zeros_like(p), "exp_avg_sq": np.zeros_like(p)}
        if self.amsgrad:
            state["max_exp_avg_sq"] = np.zeros_like(p)
        return state

    def _update(self, p: np.ndarray, g: np.ndarray, state: dict, buf: np.ndarray) -> None:
        b1, b2 = self.betas
        if self._decoupled:
            p *= 1 - self.lr * self.weight_decay
        elif self.weight_decay:
            g = g + self.weight_decay * p
        state["step"] += 1
        t, m, v = state["step"], state["exp_avg"], state["exp_avg_sq"]
        m *= b1
        np.multiply(g, 1 - b1, out=buf)
        m += buf
        v *= b2
        np.multiply(g, g, out=buf)
        buf *= 1 - b2
        v += buf
        if self.amsgrad:
            np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
            v = state["max_exp_avg_sq"]
        np.sqrt(v, out=buf)
        buf /= math.sqrt(1 - b2**t)
        buf += self.eps
        np.divide(m, buf, out=buf)
        buf *= self.lr / (1 - b1**t)
        p -= buf


class AdamW(Adam):
    """AdamW (Loshchilov & Hutter, 2019), as ``torch.optim.AdamW``: Adam with decoupled weight
    decay, p = p (1 - lr weight_decay) before the Adam update (which then sees the plain g)."""

    _decoupled = True

    def __init__(self, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, *,
                 weight_decay: float = 0.01, amsgrad: bool = False, clip_grad_norm: float | None = None,
                 clip_grad_value: float | None = None) -> None:
        super().__init__(lr, betas, eps, weight_decay=weight_decay, amsgrad=amsgrad,
                         clip_grad_norm=clip_grad_norm, clip_grad_value=clip_grad_value)


OPTIMIZERS: dict[str, type[Optimizer]] = {cls.__name__: cls for cls in (SGD, RMSprop, Adam, AdamW)}
