"""Inverted dropout: zero each input element with probability p in training mode, scale the rest
by 1/(1 - p), so evaluation mode is the identity and needs no rescaling."""

from __future__ import annotations

import numpy as np

from .._validate import as_rng, check_bool, check_real
from .module import Layer, sublayers

_BIT_GENERATORS = ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")


def _as_json(value: object) -> object:
    """A bit generator's state with its arrays as lists of ints (JSON data)."""
    if isinstance(value, dict):
        return {k: _as_json(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return [int(v) for v in value.ravel()]
    return value


class Dropout(Layer):
    """Inverted dropout (PyTorch's ``nn.Dropout``). x: any shape (N, ...) -> y of x's shape and dtype.

    Training mode: a fresh mask ``keep = rng.random(x.shape) >= p`` per forward, y = x * keep / (1 - p),
    backward dx = dout * keep / (1 - p) (the same mask). Evaluation mode (``eval()``): y = x, dx = dout.
    ``p`` in [0, 1] (p = 1 drops everything: y = 0). ``rng``: a ``numpy.random.Generator`` or an int
    seed; masks are drawn from it, so the same seed gives the same masks (``None``: unseeded).

    Gradient checks need the same mask in every perturbed evaluation: with ``freeze_mask()`` the
    layer draws one mask and reuses it while the input shape stays the same. ``check_model`` and
    ``check_layer`` freeze the masks of their private copy (``freeze_masks``), so the mask of the
    check's first forward is the one every perturbed forward and the backward use.
    """

    def __init__(self, p: float = 0.5, *, rng: np.random.Generator | int | None = None) -> None:
        super().__init__()
        self.p = check_real(p, "p", 0.0, 1.0, high_open=False)
        self.rng = as_rng(rng)
        self.mask: np.ndarray | None = None  # keep / (1 - p) in x's dtype; None in eval mode
        self.shape: tuple[int, ...] | None = None
        self.frozen = False

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = self._check_input(x)
        self.shape = x.shape
        if not self.training:
            self.mask = None
            return x.copy()
        if not (self.frozen and self.mask is not None and self.mask.shape == x.shape
                and self.mask.dtype == x.dtype):
            keep = self.rng.random(x.shape) >= self.p
            scale = 0.0 if self.p == 1 else 1.0 / (1.0 - self.p)
            self.mask = keep.astype(x.dtype) * x.dtype.type(scale)
        return x * self.mask

    def backward(self, dout: np.ndarray) -> np.ndarray:
        self._require(self.shape)
        if self.mask is None:  # evaluation mode: the identity
            return self._check_dout(dout, self.shape).copy()
        return self._check_dout(dout, self.mask.shape, self.mask.dtype) * self.mask

    def diagnostic_context(self, x: np.ndarray, dout: np.ndarray) -> dict:
        """Element sets and wrong backwards a gradient check should name: the dropped and the kept
        elements of the current mask, and evaluation mode's backward used in training mode."""
        if self.mask is None or self.mask.shape != x.shape:
            return {}
        keep = self.mask != 0
        scale = 0.0 if self.p == 1 else 1.0 / (1.0 - self.p)
        return {"masks": {"elements the dropout mask drops": ~keep, "elements the dropout mask keeps": keep},
                "candidates": {"eval-backward": np.array(dout, copy=True),
                               "inverted-mask": dout * ~keep * scale},
                "hints": {"eval-backward": "dx = dout: evaluation mode's backward (the identity) in training "
                                           "mode; dx = dout * mask / (1 - p) with the forward's mask",
                          "inverted-mask": "the mask is inverted: the gradient flows through the dropped "
                                           "elements instead of the kept ones (keep = rand >= p)"},
                "patterns": {"eval-backward": "mode", "inverted-mask": "masked"}}

    def freeze_mask(self, frozen: bool = True) -> Dropout:
        """Reuse one mask for every forward (``frozen=True``) or draw a fresh one each time."""
        self.frozen = check_bool(frozen, "frozen")
        return self

    def get_config(self) -> dict:
        return {"p": self.p}

    def get_extra_state(self) -> dict:
        """The mask generator's state as JSON (NumPy's ``bit_generator.state``, arrays as lists):
        ``chainrule.save`` stores it, so a loaded model draws the masks this one would draw next."""
        return _as_json(self.rng.bit_generator.state)

    def set_extra_state(self, state: dict) -> None:
        """Continue from a state ``get_extra_state`` returned: a new generator of the recorded kind
        (one of NumPy's bit generators, by name; nothing else is looked up) set to that state."""
        kind = state.get("bit_generator") if isinstance(state, dict) else None
        if kind not in _BIT_GENERATORS:
            raise ValueError(f"Dropout state must name one of NumPy's bit generators {_BIT_GENERATORS}, "
                             f"got {kind!r:.60}")
        rng = np.random.Generator(getattr(np.random, kind)())
        try:
            rng.bit_generator.state = state
        except (TypeError, ValueError, KeyError, OverflowError) as exc:
            raise ValueError(f"invalid {kind} state: {exc}") from None
        self.rng = rng

    def extra_repr(self) -> str:
        return f"p={self.p}"


def freeze_masks(model: Layer, frozen: bool = True) -> Layer:
    """Freeze (or unfreeze) the mask of every ``Dropout`` in ``model``; return ``model``.

    A frozen Dropout keeps the mask its next forward draws, so a loss evaluated many times (a
    gradient check) is one deterministic function of the parameters."""
    frozen = check_bool(frozen, "frozen")
    for layer in sublayers(model):
        if callable(getattr(layer, "freeze_mask", None)):
            layer.freeze_mask(frozen)
    return model
