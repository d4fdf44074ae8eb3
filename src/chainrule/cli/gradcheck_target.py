"""``chainrule gradcheck PATH.py:NAME``: check the user's own code, named in their own file.

What NAME is decides the check:

* a ``Layer`` subclass (or instance): ``check_layer`` on a seeded standard normal input of
  ``--shape`` (default ``8,5``, or ``8,D`` for a layer whose first 2-D parameter is ``(D, ...)``),
  the class built from ``--args`` (a JSON object of keyword arguments or a list of positional ones);
* with ``--params FILE.npz``, a cost function ``NAME(params) -> (cost, grads)``: ``check_gradients``
  at the parameters of the .npz (one array per key), on the gradients it returns there; or, with
  ``--grads FILE.npz``, a cost ``NAME(params) -> cost`` checked against the gradients of that file
  (keys ``W1`` or the course's ``dW1``);
* otherwise a function ``NAME() -> (model, loss, X, y)``: ``check_model``, with blame;
* a ``torch.autograd.Function`` subclass or a ``torch.nn.Module`` (class, built from ``--args``, or
  instance), when the file uses PyTorch: ``chainrule.torch.check_function`` / ``check_module`` on
  seeded standard normal float64 inputs, one per ``--shape`` (given once per input; one shape
  given is used for every input of a Function; default ``8,5``, or ``8,D`` for a module whose
  first parameter is a ``(out, D)`` weight).

Exit codes (every check command): 0 correct, 1 wrong, 2 usage error (including the user's code
failing to import or to run), 3 undecided (the check could not tell).
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import json
import math
import sys
import warnings
from pathlib import Path

import numpy as np

from ..gradcheck import PrecisionWarning, check_gradients, check_layer, check_model
from ..nn.module import Layer, Loss
from ._user_code import UserCodeError, call, import_file

DEFAULT_BATCH = 8
DEFAULT_FEATURES = 5
EXIT = {"correct": 0, "wrong": 1, "undecided": 3}


def outcome(report: object) -> str:
    """"correct", "wrong" or "undecided": the report's own ``outcome`` where it has one, else from
    ``passed`` and the parameters that passed without the check being able to see a bug."""
    found = getattr(report, "outcome", None)
    if found in EXIT:
        return found
    if not report.passed:  # type: ignore[attr-defined]
        return "wrong"
    params = report.parameters.values()  # type: ignore[attr-defined]
    return "undecided" if any(not p.resolved or p.status == "unchecked" for p in params) else "correct"


def parse_target(text: str) -> tuple[Path, str]:
    """``PATH.py:NAME`` -> (path, name), with errors that show the expected form."""
    path_text, sep, name = text.rpartition(":")
    if not sep or not path_text or not name:
        raise ValueError(f"expected PATH.py:NAME (e.g. mylayer.py:MyReLU), got {text!r}")
    if not name.isidentifier():
        raise ValueError(f"NAME must be a Python name defined in the file, got {name!r}")
    path = Path(path_text)
    if path.suffix != ".py":
        raise ValueError(f"PATH must be a Python file ending in .py, got {path_text!r}")
    if not path.is_file():
        raise ValueError(f"no such file: {path_text!r}")
    return path, name


def parse_shape(text: str) -> tuple[int, ...]:
    """"8,5" or "8x5" -> (8, 5): at least one dimension, every one a positive integer."""
    parts = text.replace("x", ",").split(",")
    try:
        shape = tuple(int(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected positive integers like 8,5, got {text!r}") from None
    if not shape or any(d <= 0 for d in shape):
        raise argparse.ArgumentTypeError(f"expected positive integers like 8,5, got {text!r}")
    return shape


def _json_args(text: str | None) -> tuple[list, dict]:
    if text is None:
        return [], {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"--args must be JSON (an object of keyword arguments or a list), got {text!r}: {e}"
                         ) from None
    if isinstance(value, dict):
        return [], value
    if isinstance(value, list):
        return value, {}
    raise ValueError(f"--args must be a JSON object or list, got {type(value).__name__}: {text!r}")


def _npz(path: Path, option: str) -> dict[str, np.ndarray]:
    if not path.is_file():
        raise ValueError(f"{option}: no such file: {str(path)!r}")
    try:
        with np.load(path, allow_pickle=False) as data:
            if not isinstance(data, np.lib.npyio.NpzFile):
                raise ValueError(f"{option} must be an .npz archive of named arrays, got a single array")
            return {k: data[k] for k in data.files}
    except (OSError, ValueError, EOFError) as e:
        raise ValueError(f"{option}: cannot read {str(path)!r} as an .npz archive: {e}") from None


def _given(args: argparse.Namespace, *options: str) -> list[str]:
    return [o for o in options if getattr(args, o.lstrip("-").replace("-", "_")) not in (None, False)]


def _default_shape(layer: Layer) -> tuple[int, ...]:
    first = next((v for v in layer.params.values() if np.ndim(v) == 2), None)
    return (DEFAULT_BATCH, int(np.shape(first)[0]) if first is not None else DEFAULT_FEATURES)


def _torch_kind(obj: object) -> str | None:
    """"function" or "module" for PyTorch code (only when the user's file imported torch)."""
    torch = sys.modules.get("torch")
    if torch is None:
        return None
    if isinstance(obj, type) and issubclass(obj, torch.autograd.Function):
        return "function"
    if isinstance(obj, torch.nn.Module) or (isinstance(obj, type) and issubclass(obj, torch.nn.Module)):
        return "module"
    return None


def _torch_inputs(args: argparse.Namespace, count: int, default: tuple[int, ...]) -> list:
    import torch

    shapes = args.shape or [default]
    if len(shapes) == 1:
        shapes = shapes * count
    if len(shapes) != count:
        raise ValueError(f"{args.name} takes {count} input(s): give --shape once per input (or once for "
                         f"all), got {len(shapes)}")
    gen = np.random.default_rng(args.seed)
    return [torch.from_numpy(gen.standard_normal(shape)) for shape in shapes]


def _check_torch(obj: object, kind: str, args: argparse.Namespace, folder: str, opts: dict):
    from .. import torch as cr_torch  # imports torch: the user's file already did

    if kind == "function":
        import torch

        own_context = obj.setup_context is not torch.autograd.Function.setup_context
        count = len(inspect.signature(obj.forward).parameters) - (0 if own_context else 1)
        inputs = _torch_inputs(args, max(count, 1), (DEFAULT_BATCH, DEFAULT_FEATURES))
        return call(cr_torch.check_function, obj, *inputs, what=f"checking {args.name}", folder=folder,
                    **opts)
    if isinstance(obj, type):
        positional, keywords = _json_args(args.args)
        obj = call(obj, *positional, **keywords, what=f"{args.name}(*--args)", folder=folder)
    elif args.args is not None:
        raise ValueError(f"--args builds a Module class, but {args.name} is already a {type(obj).__name__} "
                         "instance")
    first = next(iter(obj.parameters()), None)
    width = int(first.shape[1]) if first is not None and first.ndim == 2 else DEFAULT_FEATURES
    count = max(len(args.shape or [()]), 1)
    inputs = _torch_inputs(args, count, (DEFAULT_BATCH, width))
    return call(cr_torch.check_module, obj, *inputs, what=f"checking {args.name}", folder=folder, **opts)


def _check_layer(obj: object, args: argparse.Namespace, folder: str, opts: dict):
    if isinstance(obj, Layer):
        if args.args is not None:
            raise ValueError(f"--args builds a Layer class, but {args.name} is already a "
                             f"{type(obj).__name__} instance")
        layer = obj
    else:
        positional, keywords = _json_args(args.args)
        layer = call(obj, *positional, **keywords, what=f"{args.name}(*--args)", folder=folder)
    if args.shape and len(args.shape) > 1:
        raise ValueError(f"{args.name} is a Layer, which takes one input: give --shape once")
    shape = args.shape[0] if args.shape else _default_shape(layer)
    x = np.random.default_rng(args.seed).standard_normal(shape)
    try:
        return call(check_layer, layer, x, what=f"checking {args.name} on a random input of shape {shape}",
                    folder=folder, **opts)
    except UserCodeError as e:
        raise UserCodeError(f"{e}\n(the input was a random array of shape {shape}: pass --shape to choose "
                            "another)") from None
    except (ValueError, TypeError) as e:
        raise ValueError(f"{e} (the input was a random array of shape {shape}: pass --shape to choose "
                         "another)") from None


def _check_cost(fn, args: argparse.Namespace, folder: str, opts: dict):
    params = _npz(args.params, "--params")
    if args.grads is not None:
        grads = _npz(args.grads, "--grads")
    else:
        out = call(fn, {k: v.copy() for k, v in params.items()}, what=f"{args.name}(params)", folder=folder)
        if not (isinstance(out, tuple) and len(out) == 2 and isinstance(out[1], dict)):
            raise ValueError(f"{args.name}(params) must return (cost, grads) with grads a dict of arrays, "
                             f"got {type(out).__name__}; or pass the gradients with --grads FILE.npz")
        grads = out[1]
    return call(check_gradients, fn, params, grads, what=f"{args.name}(params)", folder=folder, **opts)


def _check_model(fn, args: argparse.Namespace, folder: str, opts: dict):
    out = call(fn, what=f"{args.name}()", folder=folder)
    if not (isinstance(out, tuple) and len(out) == 4):
        raise ValueError(f"{args.name}() must return (model, loss, X, y), got {type(out).__name__}"
                         + (f" of length {len(out)}" if isinstance(out, tuple) else "")
                         + "; a cost function needs --params FILE.npz, a layer must subclass chainrule.Layer")
    model, loss, X, y = out
    if not isinstance(model, Layer) or not isinstance(loss, Loss):
        raise ValueError(f"{args.name}() must return (model, loss, X, y) with a chainrule Layer/Sequential "
                         f"and a chainrule Loss, got ({type(model).__name__}, {type(loss).__name__}, ...)")
    return call(check_model, model, loss, X, y, what=f"checking {args.name}()'s model", folder=folder,
                autodiff=args.autodiff, **opts)


def check_target(args: argparse.Namespace):
    """Import the file of ``args.target`` and run the check its NAME calls for (module doc)."""
    path, args.name = parse_target(args.target)
    is_cost = args.params is not None
    if args.grads is not None and not is_cost:
        raise ValueError("--grads needs --params: the gradients are checked at the parameters of --params")
    folder = str(path.resolve().parent)
    module = import_file(path)
    if not hasattr(module, args.name):
        defined = sorted(k for k, v in vars(module).items() if not k.startswith("_") and callable(v)
                         and getattr(v, "__module__", None) == module.__name__)
        listed = f"; it defines {', '.join(defined)}" if defined else ""
        raise ValueError(f"{path.name} defines no {args.name!r}{listed}")
    obj = getattr(module, args.name)
    opts = {"eps": args.eps, "method": args.method, "threshold": args.threshold, "sample": args.sample,
            "rng": args.seed}
    torch_kind = _torch_kind(obj)
    is_layer = (torch_kind is not None or isinstance(obj, Layer)
                or (isinstance(obj, type) and issubclass(obj, Layer)))
    not_for = (("--params", "--grads", "--autodiff") if is_layer else ("--args", "--shape", "--autodiff")
               if is_cost else ("--args", "--shape"))
    wrong = _given(args, *not_for)
    if wrong:
        kind = ("a torch Function" if torch_kind == "function" else "a torch Module" if torch_kind
                else "a Layer" if is_layer else "a cost function with --params" if is_cost
                else "a (model, loss, X, y) function")
        raise ValueError(f"{wrong[0]} does not apply to {args.name}, {kind}")
    if isinstance(obj, type) and issubclass(obj, Loss):
        raise ValueError(f"{args.name} is a Loss: check it inside a model, with a function returning "
                         "(model, loss, X, y)")
    if not is_layer and not callable(obj):
        raise ValueError(f"{args.name} must be a Layer subclass, a function returning (model, loss, X, y), "
                         f"or a cost function (with --params); got {type(obj).__name__}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PrecisionWarning)  # the report carries the note
        if torch_kind is not None:
            if torch_kind == "function" and args.args is not None:
                raise ValueError(f"--args builds a Layer or Module class; {args.name} is a torch Function")
            return _check_torch(obj, torch_kind, args, folder, opts)
        if is_layer:
            return _check_layer(obj, args, folder, opts)
        if is_cost:
            return _check_cost(obj, args, folder, opts)
        return _check_model(obj, args, folder, opts)


def run_target(args: argparse.Namespace) -> int:
    """The ``gradcheck PATH.py:NAME`` command: report on stdout, exit code by outcome."""
    try:
        # --json promises one JSON line on stdout: whatever the user's code prints goes to stderr
        with contextlib.redirect_stdout(sys.stderr) if args.json else contextlib.nullcontext():
            report = check_target(args)
    except UserCodeError as e:
        return _error(args, f"your code failed: {e}")
    except (ValueError, TypeError, ImportError, RuntimeError) as e:
        return _error(args, str(e))
    verdict = outcome(report)
    if args.json:
        d = report.to_dict()
        print(json.dumps({"ok": True, "target": args.target, **d, "outcome": verdict},
                         default=lambda v: None if isinstance(v, float) and not math.isfinite(v) else str(v)))
    else:
        from rich.console import Console

        Console(width=None if sys.stdout.isatty() else 130).print(report)
        print(f"outcome: {verdict}")
    return EXIT[verdict]


def _error(args: argparse.Namespace, message: str) -> int:
    print(f"chainrule gradcheck: error: {message}", file=sys.stderr)
    if args.json:
        print(json.dumps({"ok": False, "passed": False, "outcome": None, "error": message}))
    return 2
