"""``chainrule predict MODEL.npz DATA``: class labels (or probabilities) of a saved model.

A thin face over ``chainrule.load`` and ``chainrule.predict`` / ``predict_proba``; the data formats
are in ``_files``. Predictions go to stdout, one per line (``--proba``: one CSV row of class
probabilities per example), or to ``--out`` (``.npy`` exact, anything else text), written
atomically. Exit code 0 done, 2 for a usage error (a missing or unreadable file, data that does
not fit the model).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..training import predict, predict_proba
from ._files import check_width, load_model, read_data, write_predictions


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``predict`` subcommand to ``subparsers``."""
    p = subparsers.add_parser(
        "predict", help="predict with a saved model (model.npz of chainrule train) on a data file",
        description="Load a model saved by chainrule train (or chainrule.save) and print its predicted "
                    "class for every example of DATA: a .npy of inputs (N, D), an .npz with the inputs "
                    "under 'X', or a .csv of numbers (one example per row, optional header).")
    p.add_argument("model", type=Path, metavar="MODEL.npz", help="the saved model")
    p.add_argument("data", type=Path, metavar="DATA", help="inputs: .npy, .npz (key 'X') or .csv")
    p.add_argument("--proba", action="store_true",
                   help="class probabilities (one row of C numbers per example) instead of labels")
    p.add_argument("--out", type=Path, default=None, metavar="FILE",
                   help="write the predictions to FILE (.npy: a NumPy array; else text) instead of stdout")
    p.add_argument("--json", action="store_true",
                   help="print one JSON line: the predictions, or with --out a summary")
    p.set_defaults(func=run)


def fail(command: str, args: argparse.Namespace, message: str) -> int:
    print(f"chainrule {command}: error: {message}", file=sys.stderr)
    if args.json:
        print(json.dumps({"ok": False, "error": message}))
    return 2


def run(args: argparse.Namespace) -> int:
    """Run ``chainrule predict``; the exit code: 0 done, 2 usage error."""
    try:
        model, _ = load_model(args.model)
        X, _ = read_data(args.data, labels=False)
        check_width(model, X, args.data, labels_in_file=False)
        values = predict_proba(model, X) if args.proba else predict(model, X)
        text = write_predictions(values, None if args.json and args.out is None else args.out)
    except (ValueError, TypeError, FileNotFoundError) as e:
        return fail("predict", args, str(e))
    except OSError as e:
        return fail("predict", args, f"cannot write {str(args.out)!r}: {e.strerror or e}")
    key = "probabilities" if args.proba else "predictions"
    if args.json:
        summary = {"ok": True, "n": int(len(values))}
        summary.update({"out": str(args.out)} if args.out is not None else {key: values.tolist()})
        print(json.dumps(summary))
    elif text is not None:
        sys.stdout.write(text)
    return 0
