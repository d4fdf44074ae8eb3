"""A progress bar for long gradient checks, in the terminal and in Jupyter.

A check stays silent for its first half second; if by then the whole check is projected to take
longer than ``SHOW_AFTER`` seconds, a rich progress bar appears (on stderr in a terminal, as an
updating output in a notebook, without ipywidgets) and disappears when the check ends.
``progress=None`` shows it only where someone watches: an interactive terminal or a notebook,
never under pytest; ``True`` shows it anywhere (also when stderr is not a terminal), ``False`` never.
"""

from __future__ import annotations

import io
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

#: Checks projected to take longer than this many seconds show a bar.
SHOW_AFTER = 2.0
# Before this much time has passed the projection is too noisy to act on (and short checks end).
_GRACE = 0.5
_REFRESH = 0.25


def _in_notebook() -> bool:
    shell = sys.modules.get("IPython")
    try:
        ip = shell.get_ipython() if shell is not None else None
    except Exception:  # an IPython too broken to ask: no notebook
        return False
    return ip is not None and type(ip).__name__ == "ZMQInteractiveShell"


def wanted(progress: bool | None) -> bool:
    """Whether a check given ``progress=`` may show a bar at all."""
    if progress is not None:
        if not isinstance(progress, bool):
            raise TypeError(f"progress must be True, False or None, got {progress!r}")
        return progress
    if "PYTEST_CURRENT_TEST" in os.environ:
        return False
    return _in_notebook() or bool(getattr(sys.stderr, "isatty", lambda: False)())


class CheckProgress:
    """Counts checked elements out of ``total``; shows a bar once the check is projected to be long.

    Use as a context manager; ``advance(n)`` after every n elements. ``clock`` is for tests.
    """

    def __init__(self, total: int, enabled: bool, description: str = "gradient check",
                 clock: Callable[[], float] = time.perf_counter, show_after: float = SHOW_AFTER) -> None:
        self.total, self.enabled, self.description = max(int(total), 1), enabled, description
        self.clock, self.show_after = clock, show_after
        self.done = 0.0
        self.start = clock()
        self.shown = False
        self._bar = None
        self._task = None
        self._handle = None
        self._last = 0.0

    def __enter__(self) -> CheckProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def projected(self) -> float:
        """Seconds the whole check is projected to take, from the pace so far (inf before any work)."""
        elapsed = self.clock() - self.start
        return elapsed * self.total / self.done if self.done > 0 else float("inf")

    def advance(self, n: float = 1) -> None:
        self.done = min(self.done + n, self.total)
        if not self.enabled:
            return
        now = self.clock()
        if not self.shown:
            if now - self.start < _GRACE or self.projected() <= self.show_after:
                return
            self._show()
        if now - self._last >= _REFRESH or self.done >= self.total:
            self._last = now
            self._update()

    def _show(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.shown = True
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("elements"), TimeRemainingColumn())
        if _in_notebook():
            # rich's live display needs ipywidgets in a notebook; an updated output cell does not
            quiet = Console(file=io.StringIO(), force_jupyter=False, width=100)
            self._bar = Progress(*columns, console=quiet, auto_refresh=False)
            from IPython.display import HTML, display

            self._handle = display(HTML(""), display_id=True)
        else:
            self._bar = Progress(*columns, console=Console(stderr=True), transient=True)
            self._bar.start()
        self._task = self._bar.add_task(self.description, total=self.total, completed=int(self.done))

    def _update(self) -> None:
        self._bar.update(self._task, completed=int(self.done))
        if self._handle is not None:
            from IPython.display import HTML
            from rich.console import Console

            console = Console(file=io.StringIO(), record=True, force_jupyter=False, width=100)
            console.print(self._bar.make_tasks_table(self._bar.tasks))
            html = console.export_html(inline_styles=True, code_format="<pre>{code}</pre>")
            self._handle.update(HTML(html))
        else:
            self._bar.refresh()

    def close(self) -> None:
        if not self.shown or self._bar is None:
            return
        if self._handle is not None:
            from IPython.display import HTML

            self._handle.update(HTML(""))
        else:
            self._bar.stop()
        self._bar = None


_ACTIVE: ContextVar[CheckProgress | None] = ContextVar("chainrule_check_progress", default=None)


def current() -> CheckProgress | None:
    """The progress of the check running now (None outside a check)."""
    return _ACTIVE.get()


@contextmanager
def session(total: int, progress: bool | None,
            description: str = "gradient check") -> Iterator[CheckProgress]:
    """The progress of a check of ``total`` elements. Inside another check's session (check_model
    running its layers' checks) the outer one keeps counting and this one is that one."""
    outer = _ACTIVE.get()
    if outer is not None:
        yield outer
        return
    bar = CheckProgress(total, wanted(progress), description)
    token = _ACTIVE.set(bar)
    try:
        yield bar
    finally:
        _ACTIVE.reset(token)
        bar.close()
