"""``chainrule train``: train an MLP on a built-in dataset and write the model, metrics and plots.

A thin face over ``chainrule.data``, ``chainrule.nn.mlp``, ``chainrule.training.fit``,
``chainrule.io.save`` and ``chainrule.plotting``. Everything written is deterministic for a given
seed (metrics.json holds no timestamps or durations), so two runs give identical files.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

from .. import __version__
from ..data import DATASETS, load_dataset, train_test_split
from ..io import atomic_write, save
from ..nn import CrossEntropyLoss, mlp
from ..optim import SGD, Adam, AdamW, RMSprop
from ..training import TrainingDiverged, evaluate, fit
from ._args import (
    add_mlp_arguments,
    half_open_unit,
    nonneg_float,
    open_unit,
    positive_float,
    positive_int,
    seed,
)

DEFAULT_LR = {"adam": 0.01, "adamw": 0.01, "rmsprop": 0.001, "sgd": 0.1}


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``train`` subcommand to ``subparsers``."""
    p = subparsers.add_parser(
        "train", help="train an MLP on a built-in dataset (default: the 3-class spiral)",
        description="Train an MLP on a built-in 2-D dataset with mini-batch gradient descent. Shows a "
                    "progress bar on stderr, prints the final train/test accuracy and writes model.npz, "
                    "metrics.json, learning_curve.png and decision_boundary.png to the output folder. "
                    "Same seed, identical files.")
    data = p.add_argument_group("data")
    data.add_argument("--dataset", choices=list(DATASETS), default="spiral",
                      help="built-in dataset (default: %(default)s)")
    data.add_argument("--n-samples", type=positive_int, default=900, metavar="N",
                      help="points generated, split evenly between the classes (default: %(default)s)")
    data.add_argument("--noise", type=nonneg_float, default=None, metavar="SIGMA",
                      help="dataset noise (default: the dataset's own: spiral 0.2, moons 0.1, "
                           "circles 0.05, flower 0.2)")
    data.add_argument("--test-size", type=open_unit, default=0.25,
                      metavar="FRACTION",
                      help="fraction held out as the stratified test set (default: %(default)s)")
    model = p.add_argument_group("model")
    add_mlp_arguments(model, hidden=[64, 64])
    model.add_argument("--dtype", choices=("float32", "float64"), default="float64",
                       help="dtype of the data, the parameters and training (default: %(default)s)")
    train = p.add_argument_group("training")
    train.add_argument("--optimizer", choices=("adam", "adamw", "rmsprop", "sgd"), default="adam",
                       help="update rule (default: %(default)s)")
    train.add_argument("--lr", type=positive_float, default=None,
                       help="learning rate (default: 0.01 for adam and adamw, 0.001 for rmsprop, "
                            "0.1 for sgd)")
    train.add_argument("--momentum", type=half_open_unit, default=0.0,
                       help="momentum in [0, 1) for --optimizer sgd or rmsprop (default: %(default)s)")
    train.add_argument("--nesterov", action="store_true", help="Nesterov momentum for --optimizer sgd")
    train.add_argument("--weight-decay", type=nonneg_float, default=None, metavar="WD",
                       help="weight decay: L2 added to the gradient for sgd, adam, rmsprop; decoupled for "
                            "adamw (default: 0, and 0.01 for adamw)")
    train.add_argument("--epochs", type=positive_int, default=100,
                       help="passes over the training set (default: %(default)s)")
    train.add_argument("--batch-size", type=positive_int, default=32, metavar="B",
                       help="mini-batch size; an epoch's last, smaller batch is kept (default: %(default)s)")
    train.add_argument("--seed", type=seed, default=0,
                       help="seed of the data, the split, the initial weights and the shuffling "
                            "(default: %(default)s)")
    out = p.add_argument_group("output")
    out.add_argument("--out", type=Path, default=Path("runs/train"), metavar="DIR",
                     help="output folder, created if missing; its files are overwritten "
                          "(default: %(default)s)")
    out.add_argument("--no-plots", action="store_true",
                     help="skip learning_curve.png and decision_boundary.png")
    out.add_argument("--json", action="store_true",
                     help="print a one-line JSON summary as the last line of stdout")
    out.add_argument("--quiet", action="store_true", help="no progress bar and no human-readable summary")
    p.set_defaults(func=run)


def _config(args: argparse.Namespace) -> dict:
    if args.momentum and args.optimizer not in ("sgd", "rmsprop"):
        raise ValueError(f"--momentum applies to --optimizer sgd or rmsprop, got --optimizer "
                         f"{args.optimizer}")
    if args.nesterov and not (args.optimizer == "sgd" and args.momentum):
        raise ValueError("--nesterov needs --optimizer sgd and a --momentum above 0")
    weight_decay = args.weight_decay if args.weight_decay is not None else (
        0.01 if args.optimizer == "adamw" else 0.0)
    return {"dataset": args.dataset, "n_samples": args.n_samples, "noise": args.noise,
            "test_size": args.test_size, "hidden": list(args.hidden), "activation": args.activation,
            "dtype": args.dtype, "optimizer": args.optimizer,
            "lr": args.lr if args.lr is not None else DEFAULT_LR[args.optimizer],
            "momentum": args.momentum, "nesterov": args.nesterov, "weight_decay": weight_decay,
            "epochs": args.epochs, "batch_size": args.batch_size,
            "seed": args.seed, "n_classes": _n_classes(args.dataset)}


def _n_classes(dataset: str) -> int:
    """How many classes ``dataset`` has (every class gets a point from 100 samples on)."""
    return int(load_dataset(dataset, n_samples=100, rng=0)[1].max()) + 1


def _split(cfg: dict, n_samples: int) -> tuple[np.ndarray, ...] | None:
    """The dataset's stratified train/test split with ``n_samples`` points, or None when a class has
    no point in one of the parts (or the dataset/split refuses that many points)."""
    kw = {} if cfg["noise"] is None else {"noise": cfg["noise"]}
    try:
        X, y = load_dataset(cfg["dataset"], n_samples=n_samples, rng=cfg["seed"], **kw)
        parts = train_test_split(X.astype(cfg["dtype"]), y, test_size=cfg["test_size"], rng=cfg["seed"],
                                 stratify=True)
    except ValueError:
        return None
    classes = np.unique(y)
    if len(classes) != cfg["n_classes"] or any(len(np.unique(part)) != len(classes) for part in parts[2:]):
        return None
    return parts


def _data(cfg: dict) -> tuple[np.ndarray, ...]:
    """The split for ``cfg``; a ValueError naming --n-samples and the smallest that works when a
    class would be missing from the training or the test part."""
    parts = _split(cfg, cfg["n_samples"])
    if parts is not None:
        return parts
    minimum = next((n for n in range(cfg["n_samples"] + 1, 100_000) if _split(cfg, n) is not None), None)
    need = f"at least {minimum}" if minimum is not None else "more"
    raise ValueError(f"--n-samples {cfg['n_samples']} is too small for the {cfg['n_classes']} classes of "
                     f"{cfg['dataset']} with --test-size {cfg['test_size']}: every class needs a point in "
                     f"both the training and the test part; use --n-samples {need}")


def _optimizer(cfg: dict):
    name, lr, wd = cfg["optimizer"], cfg["lr"], cfg["weight_decay"]
    if name == "sgd":
        return SGD(lr, cfg["momentum"], nesterov=cfg["nesterov"], weight_decay=wd)
    if name == "rmsprop":
        return RMSprop(lr, momentum=cfg["momentum"], weight_decay=wd)
    return (AdamW if name == "adamw" else Adam)(lr, weight_decay=wd)


def _strict(value):
    """``value`` with every NaN/inf float replaced by None, so json.dumps(allow_nan=False) holds."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _strict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_strict(v) for v in value]
    return value


def _train(cfg: dict, quiet: bool):
    X_train, X_test, y_train, y_test = _data(cfg)
    n_classes = cfg["n_classes"]
    sizes = [X_train.shape[1], *cfg["hidden"], n_classes]
    model = mlp(sizes, cfg["activation"], rng=cfg["seed"], dtype=np.dtype(cfg["dtype"]))
    optimizer = _optimizer(cfg)
    loss = CrossEntropyLoss()
    history = fit(model, loss, X_train, y_train, optimizer=optimizer, epochs=cfg["epochs"],
                  batch_size=cfg["batch_size"], validation_data=(X_test, y_test), rng=cfg["seed"],
                  progress=not quiet)
    final = {f"train_{k}": v for k, v in evaluate(model, loss, X_train, y_train).items()}
    final.update({f"test_{k}": v for k, v in evaluate(model, loss, X_test, y_test).items()})
    return model, history, final, (X_train, y_train, X_test, y_test), sizes


def _plots(out: Path, history, model, data: tuple) -> tuple[list[str], str | None]:
    X_tr, y_tr, X_te, y_te = data
    try:
        from ..plotting import plot_decision_boundary, plot_learning_curve

        # fit's validation data is the test split, so its curves are labelled "test" as printed.
        plot_learning_curve(history, out / "learning_curve.png", validation_label="test")
        written = ["learning_curve.png"]
        if X_tr.shape[1] == 2:
            plot_decision_boundary(model, X_tr, y_tr, out / "decision_boundary.png", test=(X_te, y_te))
            written.append("decision_boundary.png")
    except ImportError as exc:
        return [], f"plots skipped: {exc}"
    return written, None


def _write_outputs(out: Path, model, history, final: dict, data: tuple, cfg: dict, sizes: list[int],
                   plots: bool) -> tuple[list[str], str | None]:
    """Write model.npz, the PNGs (when asked and possible) and metrics.json; return the file names
    and a note when the plots were skipped."""
    X_tr, y_tr, X_te, y_te = data
    out.mkdir(parents=True, exist_ok=True)
    save(model, out / "model.npz", metadata={"chainrule_version": __version__, "config": cfg, "sizes": sizes})
    files, note = ["model.npz", "metrics.json"], None
    if plots:
        pngs, note = _plots(out, history, model, data)
        files += pngs
    metrics = {"status": "ok", "chainrule_version": __version__, "config": cfg, "seed": cfg["seed"],
               "sizes": sizes,
               "n_train": len(y_tr), "n_test": len(y_te), "history": history.to_dict(), "final": final,
               "files": files, "note": "val_* in history is measured on the test split after each epoch; "
                                       "it is never used to choose or stop anything"}
    with atomic_write(out / "metrics.json", "w") as f:
        f.write(json.dumps(_strict(metrics), indent=2, sort_keys=True, allow_nan=False) + "\n")
    return files, note


def _fail(args: argparse.Namespace, message: str, code: int, **fields) -> int:
    print(f"chainrule train: error: {message}", file=sys.stderr)
    if args.json:
        print(json.dumps(_strict({"ok": False, "status": fields.pop("status", "error"), "error": message,
                                  **fields}), allow_nan=False))
    return code


def run(args: argparse.Namespace) -> int:
    """Run ``chainrule train``; the exit code: 0 done, 1 diverged or not written, 2 bad options."""
    started = time.perf_counter()
    if args.out.exists() and not args.out.is_dir():
        return _fail(args, f"--out {args.out} is a file, not a folder; give a folder to write the results "
                           "into", 2)
    try:
        cfg = _config(args)
        model, history, final, data, sizes = _train(cfg, args.quiet)
    except TrainingDiverged as exc:
        return _fail(args, str(exc), 1, status="diverged", epoch=exc.epoch, step=exc.step, loss=exc.loss)
    except (ValueError, TypeError) as exc:
        return _fail(args, str(exc), 2)
    try:
        files, note = _write_outputs(args.out, model, history, final, data, cfg, sizes, not args.no_plots)
    except OSError as exc:
        return _fail(args, f"cannot write the results to {str(args.out)!r}: {exc}", 1)
    seconds = time.perf_counter() - started
    n_train, n_test = len(data[1]), len(data[3])
    if not args.quiet:
        if note is not None:
            print(f"chainrule train: {note}", file=sys.stderr)
        print(f"{cfg['dataset']}: {n_train} train / {n_test} test points; MLP {'-'.join(map(str, sizes))} "
              f"({cfg['activation']}), {cfg['optimizer']} lr={cfg['lr']}, {cfg['epochs']} epochs, "
              f"batch {cfg['batch_size']}, {cfg['dtype']}, seed {cfg['seed']}")
        print(f"train accuracy {final['train_accuracy']:.2%}  (loss {final['train_loss']:.4f})")
        print(f"test accuracy  {final['test_accuracy']:.2%}  (loss {final['test_loss']:.4f})")
        print(f"wrote {', '.join(files)} to {args.out}/ in {seconds:.1f} s")
    if args.json:
        print(json.dumps(_strict({"ok": True, "status": "ok", "dataset": cfg["dataset"], "sizes": sizes,
                                  "epochs": cfg["epochs"],
                          "seed": cfg["seed"], "dtype": cfg["dtype"], "optimizer": cfg["optimizer"],
                          "lr": cfg["lr"], "momentum": cfg["momentum"], "batch_size": cfg["batch_size"],
                          "activation": cfg["activation"], **final, "out": str(args.out), "files": files,
                          "seconds": round(seconds, 3)}), allow_nan=False))
    return 0
