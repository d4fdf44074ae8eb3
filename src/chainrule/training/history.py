"""``History``: what ``fit`` records per epoch, as lists, a concise repr and strict JSON."""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass(repr=False)
class History:
    """Per-epoch metrics: ``history["loss"][i]`` is epoch ``epoch[i]``'s value. Keys: "loss" and,
    for classification losses, "accuracy"; with validation data also "val_loss"/"val_accuracy";
    with a learning-rate schedule "lr" (the rate the epoch trained with). Training loss/accuracy
    average the epoch's mini-batches (weighted by size) as they were trained; validation metrics
    are measured on the whole validation set after the epoch.

    ``stopped_epoch`` is the epoch after which a callback (e.g. ``EarlyStopping``) stopped training
    (None: ran every epoch); ``best_epoch`` the epoch whose weights ``EarlyStopping`` restored.
    """

    history: dict[str, list[float]] = field(default_factory=dict)
    epoch: list[int] = field(default_factory=list)
    stopped_epoch: int | None = None
    best_epoch: int | None = None

    def _append(self, epoch: int, logs: dict[str, float]) -> None:
        self.epoch.append(epoch)
        for k, v in logs.items():
            self.history.setdefault(k, []).append(v)

    def __getitem__(self, key: str) -> list[float]:
        return self.history[key]

    def __len__(self) -> int:
        return len(self.epoch)

    def to_dict(self) -> dict[str, list]:
        """JSON-ready copy, strict JSON: ``{"epoch": [...], "loss": [...], ...}`` with ``None`` in
        place of NaN/inf (``json.dumps(..., allow_nan=False)`` accepts it), plus "stopped_epoch" and
        "best_epoch" when set."""
        out: dict = {"epoch": list(self.epoch),
                     **{k: [_finite_or_none(v) for v in vs] for k, vs in self.history.items()}}
        if self.stopped_epoch is not None:
            out["stopped_epoch"] = self.stopped_epoch
        if self.best_epoch is not None:
            out["best_epoch"] = self.best_epoch
        return out

    def __repr__(self) -> str:
        if not self.epoch:
            return "History(no epochs)"
        first, last = self.epoch[0], self.epoch[-1]
        span = f"epoch {first}" if len(self.epoch) == 1 else f"epochs {first}-{last}"
        parts = [f"{k} {_short(v[0])}" + ("" if len(v) == 1 else f" -> {_short(v[-1])}")
                 for k, v in self.history.items() if k != "lr"]
        if "lr" in self.history:
            parts.append(f"lr {self.history['lr'][-1]:.3g}")
        if self.stopped_epoch is not None:
            parts.append(f"stopped after epoch {self.stopped_epoch}")
        if self.best_epoch is not None:
            parts.append(f"best epoch {self.best_epoch}")
        return f"History({span}: {', '.join(parts)})"


def _short(v: float) -> str:
    return f"{v:.4f}" if math.isfinite(v) and abs(v) < 1e4 else f"{v:.4g}"


def _finite_or_none(v: float) -> float | None:
    return v if isinstance(v, (int, float)) and math.isfinite(v) else None
