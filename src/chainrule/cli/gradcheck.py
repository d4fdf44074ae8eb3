"""``chainrule gradcheck``: check a built-in model's gradients, the user's own code
(``chainrule gradcheck PATH.py:NAME``, see ``gradcheck_target``), or run the course's
gradient-checking exercise (study note 000) as a diagnosis demo.

A thin face over ``chainrule.gradcheck.check_model``: builds the MLP that ``chainrule train``
would, takes a few examples of a built-in dataset, and prints the report (``--json``: the report
as one JSON line, with its "outcome"). Exit code 0 when every gradient is decided correct, 1 when one
is wrong, 2 on bad options, 3 when the check is undecided (the numbers cannot tell).
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

import numpy as np

from ..data import DATASETS, load_dataset
from ..gradcheck import DEFAULT_THRESHOLD, PrecisionWarning, StepWarning, check_model
from ..gradcheck.demo import course_demo
from ..nn import LOSSES, LeakyReLU, ReLU, mlp
from ._args import add_mlp_arguments, open_unit, positive_int, seed
from .gradcheck_target import _error as target_error
from .gradcheck_target import parse_shape, run_target


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``gradcheck`` subcommand to ``subparsers``."""
    p = subparsers.add_parser(
        "gradcheck", help="check a built-in model's gradients and diagnose any bug (--demo: the course's "
                          "gradient-checking exercise)",
        description="Check every gradient of an MLP (hand-written backward) against numerical "
                    "gradients, layer by layer, and name the kind of bug when one is wrong. "
                    "--demo runs the course's gradient-checking case with its two planted bugs. "
                    "Exit codes: 0 correct, 1 wrong, 2 usage error, 3 undecided (the numbers cannot "
                    "tell; the report says why and what would decide it).")
    p.add_argument("--demo", action="store_true",
                   help="run the course's gradient-checking exercise (study note 000): its network "
                        "with dW2 doubled and db1 times 4; takes --fixed, --eps, --threshold, --json")
    p.add_argument("--fixed", action="store_true", help="with --demo: without the planted bugs")
    p.add_argument("target", nargs="?", metavar="PATH.py:NAME",
                   help="check your own code: NAME in the file PATH.py is a chainrule Layer subclass "
                        "(checked alone on a random input of --shape, built from --args), a function "
                        "returning (model, loss, X, y), or, with --params, a cost function. Exit code 0 "
                        "correct, 1 wrong, 2 usage error (or your file failed), 3 undecided")
    mine = p.add_argument_group("your code (with PATH.py:NAME)")
    mine.add_argument("--args", default=None, metavar="JSON",
                      help='arguments of the Layer class, a JSON object or list, e.g. \'{"n_features": 4}\'')
    mine.add_argument("--shape", type=parse_shape, default=None, metavar="N,D", action="append",
                      help="shape of the random input a Layer is checked on; once per input of a torch "
                           "Function or Module (default: 8,5; 8,D for a layer whose first 2-D parameter is "
                           "(D, ...))")
    mine.add_argument("--params", type=Path, default=None, metavar="FILE.npz",
                      help="parameters to check a cost function NAME(params) -> (cost, grads) at")
    mine.add_argument("--grads", type=Path, default=None, metavar="FILE.npz",
                      help="with --params: the analytic gradients, for a NAME(params) returning the cost "
                           "alone")
    data = p.add_argument_group("data")
    data.add_argument("--dataset", choices=[*DATASETS, "random"], default="spiral",
                      help="built-in dataset, or 'random' Gaussian inputs (default: %(default)s)")
    data.add_argument("--n-samples", type=positive_int, default=16, metavar="N",
                      help="examples in the checked batch (default: %(default)s)")
    model = p.add_argument_group("model")
    add_mlp_arguments(model, hidden=[8, 8])
    model.add_argument("--loss", choices=list(LOSSES), default="cross_entropy",
                       help="loss on the logits (default: %(default)s)")
    model.add_argument("--dtype", choices=("float32", "float64"), default="float64",
                       help="dtype of the model and data; float32 is checked on a float64 copy, as the "
                            "report notes (default: %(default)s)")
    model.add_argument("--seed", type=seed, default=0,
                       help="seed of the data, the weights and the random upstream gradients (default: 0)")
    check = p.add_argument_group("check")
    check.add_argument("--method", choices=("central", "directional"), default="central",
                       help="numerical estimate (default: %(default)s)")
    check.add_argument("--eps", type=open_unit, default=None,
                       help="finite-difference step (default: 1e-6; the course uses 1e-7)")
    check.add_argument("--threshold", type=open_unit, default=DEFAULT_THRESHOLD,
                       help="largest relative difference that passes (default: %(default)s)")
    check.add_argument("--sample", type=positive_int, default=None, metavar="K",
                       help="check only K random elements per parameter (default: all)")
    check.add_argument("--autodiff", action="store_true",
                       help="also show the gradients of chainrule.autodiff, a third witness")
    check.add_argument("--no-progress", action="store_true",
                       help="no progress bar (shown on stderr for checks taking over 2 s in a terminal)")
    p.add_argument("--json", action="store_true", help="print the report as one line of JSON")
    # what --demo ignores (the course's network and data are fixed): given with --demo, an error
    p.set_defaults(func=run, model_only={opt: p.get_default(_dest(opt)) for opt in _MODEL_ONLY})


# what PATH.py:NAME accepts of the model options
_TARGET_OPTIONS = ("--seed", "--method", "--sample", "--autodiff")
#: The exit code of each outcome (2 is a usage error).
EXIT_CODES = {"correct": 0, "wrong": 1, "undecided": 3}

_MODEL_ONLY = ("--dataset", "--n-samples", "--hidden", "--activation", "--loss", "--dtype", "--seed",
               "--method", "--sample", "--autodiff", "--no-progress")
# A point whose ReLU input lies this close to 0 sits on the kink for central differences (and
# would leave gradients unchecked, e.g. a spiral's points at the origin with zero biases).
_KINK_MARGIN = 1e-3


def _dest(option: str) -> str:
    return option.lstrip("-").replace("-", "_")


def _pool(args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray]:
    """Candidate examples in random order (generators lay points out in order)."""
    size = max(8 * args.n_samples, 200)
    if args.dataset == "random":
        rng = np.random.default_rng(args.seed)
        return rng.standard_normal((size, 2)), rng.integers(0, 2, size)
    X, y = load_dataset(args.dataset, n_samples=size, rng=args.seed)
    pick = np.random.default_rng(args.seed).permutation(len(X))
    return X[pick], y[pick]


def _off_kinks(model, X: np.ndarray, dtype: str) -> np.ndarray:
    """Which rows of X keep every ReLU input of ``model`` at least ``_KINK_MARGIN`` from 0. A spiral
    puts a point of every class exactly at the origin; with zero biases every ReLU input there is
    exactly 0, and the gradients of the biases behind it could not be checked at all."""
    keep = np.ones(len(X), bool)
    x = X.astype(dtype)
    for layer in model.layers:
        if isinstance(layer, (ReLU, LeakyReLU)):
            keep &= np.abs(x).reshape(len(X), -1).min(axis=1) > _KINK_MARGIN
        x = layer.forward(x)
    return keep


def _model_report(args: argparse.Namespace):
    X, y = _pool(args)
    n_classes = max(int(y.max()) + 1, 2)
    loss = LOSSES[args.loss]()
    out = n_classes if args.loss == "cross_entropy" else 1
    model = mlp([X.shape[1], *args.hidden, out], args.activation, rng=args.seed, dtype=args.dtype)
    keep = _off_kinks(model, X, args.dtype)
    if keep.sum() >= args.n_samples:  # else the check reports the kinks it meets
        X, y = X[keep], y[keep]
    X, y = X[: args.n_samples], y[: args.n_samples]
    target = y if args.loss == "cross_entropy" else (y % 2).astype(np.float64).reshape(-1, 1)
    with warnings.catch_warnings():
        # the report carries the precision note; a warning on stderr would only repeat it
        warnings.simplefilter("ignore", PrecisionWarning)
        return check_model(model, loss, X.astype(args.dtype), target, eps=args.eps, method=args.method,
                           threshold=args.threshold, sample=args.sample, rng=args.seed,
                           autodiff=args.autodiff, progress=False if args.no_progress else None)


def run(args: argparse.Namespace) -> int:
    """Run ``chainrule gradcheck``; the exit code: 0 correct, 1 wrong, 2 bad options, 3 undecided."""
    if args.target is not None:
        given = [opt for opt, default in args.model_only.items()
                 if opt not in _TARGET_OPTIONS and getattr(args, _dest(opt)) != default]
        if args.demo or args.fixed or given:
            option = "--demo" if args.demo else "--fixed" if args.fixed else given[0]
            return target_error(args, f"{option} does not apply to PATH.py:NAME, which checks your own code")
        return run_target(args)
    mine = [opt for opt in ("--args", "--shape", "--params", "--grads")
            if getattr(args, _dest(opt)) is not None]
    try:
        if mine:
            raise ValueError(f"{mine[0]} applies to PATH.py:NAME only (your own code)")
        if args.fixed and not args.demo:
            raise ValueError("--fixed applies to --demo only")
        given = [opt for opt, default in args.model_only.items() if getattr(args, _dest(opt)) != default]
        if args.demo and given:
            raise ValueError(f"{given[0]} does not apply to --demo, which runs the course's own network and "
                             "data (--demo takes --fixed, --eps, --threshold, --json)")
        eps = args.eps or 1e-7
        with warnings.catch_warnings():
            # a replaced eps is in the report's notes; a warning on stderr would only repeat it
            warnings.simplefilter("ignore", StepWarning)
            report = (course_demo(bugs=not args.fixed, eps=eps, threshold=args.threshold) if args.demo
                      else _model_report(args))
    except (ValueError, TypeError, ImportError) as exc:
        print(f"chainrule gradcheck: error: {exc}", file=sys.stderr)
        if args.json:
            print(json.dumps({"ok": False, "passed": False, "error": str(exc)}))
        return 2
    if args.json:
        # "ok": the command ran (as every subcommand's JSON says); "passed": the check's verdict
        print(json.dumps({"ok": True, **report.to_dict()}))
    else:
        from rich.console import Console

        if args.demo:
            print(f"The course's gradient-checking exercise (study note 000), eps = {eps:g}, on "
                  "backward_propagation_n"
                  + (" with its two planted bugs (dW2 * 2, db1 * 4)" if not args.fixed else ", bugs fixed"))
        Console(width=None if sys.stdout.isatty() else 130).print(report)
    return EXIT_CODES[report.outcome]
