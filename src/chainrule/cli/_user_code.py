"""Running a user's Python file from the command line without it becoming chainrule's problem.

``import_file`` imports a file by path under a private module name: its folder is on ``sys.path``
only while it runs (so it can import its siblings), and neither the module nor the siblings it
imported stay in ``sys.modules`` afterwards. ``call`` runs any of its objects. Whatever the user's
code raises (a syntax error, an exception at import or later, ``sys.exit``) becomes a
``UserCodeError`` whose text is the traceback through the user's own frames only, as if their file
had been run directly: chainrule's and importlib's frames are not theirs to read.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # .../chainrule


class UserCodeError(Exception):
    """The user's code failed; ``str()`` is its traceback through the user's frames."""


def _inside(filename: str, folder: str) -> bool:
    try:
        return os.path.commonpath([os.path.abspath(filename), folder]) == folder
    except ValueError:  # another drive on Windows
        return False


def _is_users(filename: str, folder: str) -> bool:
    return (not filename.startswith("<") and _inside(filename, folder) and not _inside(filename, _PACKAGE))


def user_traceback(exc: BaseException, folder: str) -> str | None:
    """The traceback of ``exc`` through the frames of files under ``folder`` (chainrule's own files
    excluded), or None when no frame of the user's is involved (the error is not theirs)."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if _is_users(f.filename, folder)]
    if isinstance(exc, SyntaxError) and exc.filename and _is_users(exc.filename, folder):
        return "".join(traceback.format_exception_only(type(exc), exc)).rstrip()
    if not frames:
        return None
    text = ["Traceback (most recent call last):\n", *traceback.format_list(frames),
            *traceback.format_exception_only(type(exc), exc)]
    return "".join(text).rstrip()


def import_file(path: Path) -> ModuleType:
    """Import the Python file ``path``; its failures raise ``UserCodeError`` (see the module doc)."""
    path = path.resolve()
    folder = str(path.parent)
    name = f"_chainrule_user_{path.stem}_{abs(hash(str(path))):x}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ValueError(f"cannot import {path}: not a Python source file")
    module = importlib.util.module_from_spec(spec)
    saved_path, before = list(sys.path), set(sys.modules)
    sys.path.insert(0, folder)
    sys.modules[name] = module  # dataclasses and pickle look a module up while it runs
    try:
        spec.loader.exec_module(module)
    except (Exception, SystemExit) as exc:
        shown = user_traceback(exc, folder) or "".join(traceback.format_exception_only(type(exc), exc))
        shown = shown.rstrip()
        raise UserCodeError(f"{path.name} raised while it was imported:\n{shown}") from None
    finally:
        sys.path[:] = saved_path
        for key in set(sys.modules) - before:
            file = getattr(sys.modules.get(key), "__file__", None)
            if key == name or (file and _inside(file, folder) and not _inside(file, _PACKAGE)):
                sys.modules.pop(key, None)
    return module


def call(fn: Callable, *args, what: str, folder: str, **kwargs):
    """``fn(*args, **kwargs)``; an exception raised in the user's code (under ``folder``) becomes a
    ``UserCodeError`` naming ``what`` was being done, with the user's frames. An exception from
    chainrule's own checks (bad input: no user frame involved) propagates unchanged."""
    try:
        return fn(*args, **kwargs)
    except (Exception, SystemExit) as exc:
        shown = user_traceback(exc, folder)
        if shown is None:
            raise
        raise UserCodeError(f"{what} raised:\n{shown}") from None
