"""``chainrule evaluate MODEL.npz DATA``: the accuracy and loss of a saved model on labelled data.

A thin face over ``chainrule.load`` and ``chainrule.evaluate``. The labels come with the data (an
.npz key ``y``, the last column of a .csv) or from ``--labels FILE``; the loss is the one the model
was trained with when its file says so (``--loss`` to choose), else cross-entropy (logistic for a
one-output model). Exit code 0 done, 2 for a usage error.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..nn import LOSSES
from ..training import evaluate
from ._files import check_width, finite, load_model, model_loss, read_data
from .predict import fail


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``evaluate`` subcommand to ``subparsers``."""
    p = subparsers.add_parser(
        "evaluate", help="accuracy and loss of a saved model on labelled data",
        description="Load a model saved by chainrule train (or chainrule.save) and report its accuracy "
                    "and loss on DATA: an .npz with the inputs under 'X' and the labels under 'y', a "
                    ".csv whose last column is the label, or a .npy of inputs with --labels.")
    p.add_argument("model", type=Path, metavar="MODEL.npz", help="the saved model")
    p.add_argument("data", type=Path, metavar="DATA", help="inputs and labels: .npz (X, y), .csv, or .npy")
    p.add_argument("--labels", type=Path, default=None, metavar="FILE",
                   help="the labels in their own .npy or .csv file (then every column of DATA is an input)")
    p.add_argument("--loss", choices=list(LOSSES), default=None,
                   help="loss to report (default: the model's training loss if its file records it, else "
                        "cross_entropy; bce_with_logits for a one-output model)")
    p.add_argument("--json", action="store_true", help="print the figures as one JSON line")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``chainrule evaluate``; the exit code: 0 done, 2 usage error."""
    try:
        model, meta = load_model(args.model)
        X, y = read_data(args.data, labels=True, labels_path=args.labels)
        check_width(model, X, args.data, labels_in_file=args.labels is None)
        loss = model_loss(model, meta, args.loss)
        metrics = evaluate(model, loss, X, y)
    except (ValueError, TypeError, FileNotFoundError) as e:
        return fail("evaluate", args, str(e))
    loss_name = next(k for k, v in LOSSES.items() if isinstance(loss, v))
    if args.json:
        print(json.dumps({"ok": True, "n": int(len(X)), "loss_name": loss_name,
                          **{k: finite(v) for k, v in metrics.items()}}))
        return 0
    accuracy = f"accuracy {metrics['accuracy']:.2%}  " if "accuracy" in metrics else ""
    print(f"{accuracy}(loss {metrics['loss']:.4f}, {loss_name}) on {len(X)} examples of {args.data.name}")
    return 0
