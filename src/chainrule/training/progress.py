"""``fit(progress=True)``: a rich bar in a terminal; in Jupyter a rich bar when ipywidgets is
installed (rich draws live displays with it), otherwise plain printed lines, which every notebook
front end shows. Nothing when the output is neither (captured logs stay clean)."""

from __future__ import annotations

import importlib.util
import sys
import time

_SHOWN = {"loss": "loss", "accuracy": "acc", "val_loss": "val_loss", "val_accuracy": "val_acc", "lr": "lr"}


def _format(logs: dict[str, float]) -> str:
    return "  ".join(f"{_SHOWN[k]} {v:.4g}" if k == "lr" else f"{_SHOWN[k]} {v:.4f}"
                     for k, v in logs.items() if k in _SHOWN)


class _Progress:
    """Progress over epochs ``initial + 1 .. epochs``; ``mode`` is "rich", "lines" or None."""

    def __init__(self, epochs: int, initial: int = 0, *, enabled: bool, min_interval: float = 0.5) -> None:
        self.epochs, self.initial, self.enabled = epochs, initial, enabled
        self.progress = self.task = self.mode = None
        self.min_interval, self.last = min_interval, -float("inf")

    def __enter__(self) -> _Progress:
        if not self.enabled:
            return self
        from rich.console import Console

        console = Console(stderr=True)
        if console.is_jupyter and importlib.util.find_spec("ipywidgets") is None:
            self.mode = "lines"
        elif console.is_terminal or console.is_jupyter:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.mode = "rich"
            self.progress = Progress(TextColumn("[bold]epoch"), MofNCompleteColumn(), BarColumn(bar_width=24),
                                     TextColumn("{task.fields[metrics]}"), TimeElapsedColumn(),
                                     console=console, transient=False)
            self.progress.start()
            self.task = self.progress.add_task("train", total=self.epochs, completed=self.initial, metrics="")
        return self

    def advance(self, epoch: int, logs: dict[str, float]) -> None:
        if self.mode == "rich":
            self.progress.update(self.task, completed=epoch, metrics=_format(logs))
        elif self.mode == "lines":
            now = time.monotonic()
            # At most two lines a second, but always the first and the last epoch.
            if now - self.last >= self.min_interval or epoch in (self.initial + 1, self.epochs):
                width = len(str(self.epochs))
                print(f"epoch {epoch:>{width}}/{self.epochs}  {_format(logs)}", file=sys.stdout, flush=True)
                self.last = now

    def __exit__(self, *exc) -> None:
        if self.progress is not None:
            self.progress.stop()
