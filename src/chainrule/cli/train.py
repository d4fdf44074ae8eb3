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
import tempfile
import time
from pathlib import Path

import numpy as np

from .. import __version__
from .._validate import available_memory
from ..data import DATASETS, load_dataset, load_digits, train_test_split
from ..data.split import n_test_samples, stratified_test_counts
from ..io import atomic_write, save
from ..nn import CrossEntropyLoss, mlp
from ..optim import SGD, Adam, AdamW, RMSprop
from ..training import TrainingDiverged, evaluate, fit
from ._args import (
    add_mlp_arguments,
    half_open_unit,
    nonneg_float,
    open_unit,
    output_dir,
    positive_float,
    positive_int,
    seed,
)

DEFAULT_LR = {"adam": 0.01, "adamw": 0.01, "rmsprop": 0.001, "sgd": 0.1}
# Image data sets (not generated in code): their own default network and epochs, and image plots.
IMAGES = {"digits": {"hidden": [64], "epochs": 30, "shape": (8, 8)}}


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``train`` subcommand to ``subparsers``."""
    p = subparsers.add_parser(
        "train", help="train an MLP on a built-in dataset (default: the 3-class spiral)",
        description="Train an MLP on a built-in 2-D dataset with mini-batch gradient descent. Shows a "
                    "progress bar on stderr, prints the final train/test accuracy and writes model.npz, "
                    "metrics.json, learning_curve.png and decision_boundary.png to the output folder. "
                    "Same seed, identical files.")
    data = p.add_argument_group("data")
    data.add_argument("--dataset", choices=[*DATASETS, *IMAGES], default="spiral",
                      help="built-in dataset (default: %(default)s); digits: the 1,797 8x8 UCI digits "
                           "shipped with chainrule (CC BY 4.0), pixels scaled to [0, 1]")
    data.add_argument("--n-samples", type=positive_int, default=None, metavar="N",
                      help="points generated, split evenly between the classes (default: 900; not for "
                           "digits)")
    data.add_argument("--noise", type=nonneg_float, default=None, metavar="SIGMA",
                      help="dataset noise (default: the dataset's own: spiral 0.2, moons 0.1, "
                           "circles 0.05, flower 0.2)")
    data.add_argument("--test-size", type=open_unit, default=0.25,
                      metavar="FRACTION",
                      help="fraction held out as the stratified test set (default: %(default)s)")
    model = p.add_argument_group("model")
    add_mlp_arguments(model, hidden=[64, 64])
    for action in model._group_actions:  # the default depends on the dataset: resolved in _config
        if action.dest == "hidden":
            action.default = None
            action.help = "hidden layer sizes, e.g. --hidden 128 64 (default: 64 64; 64 for digits)"
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
    train.add_argument("--epochs", type=positive_int, default=None,
                       help="passes over the training set (default: 100); for digits 30")
    train.add_argument("--batch-size", type=positive_int, default=32, metavar="B",
                       help="mini-batch size; an epoch's last, smaller batch is kept (default: %(default)s)")
    train.add_argument("--seed", type=seed, default=0,
                       help="seed of the data, the split, the initial weights and the shuffling "
                            "(default: %(default)s)")
    out = p.add_argument_group("output")
    out.add_argument("--out", type=output_dir, default=Path("runs/train"), metavar="DIR",
                     help="output folder, created if missing; its files are overwritten "
                          "(default: %(default)s)")
    out.add_argument("--no-plots", action="store_true",
                     help="skip the PNGs (learning_curve.png, and decision_boundary.png or, for image "
                          "data, confusion_matrix.png and sample_predictions.png)")
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
    images = IMAGES.get(args.dataset)
    if images is not None and (args.n_samples is not None or args.noise is not None):
        raise ValueError(f"--n-samples and --noise apply to the generated datasets, not to {args.dataset}")
    n_samples = args.n_samples if args.n_samples is not None else 900
    return {"dataset": args.dataset, "n_samples": None if images else n_samples, "noise": args.noise,
            "test_size": args.test_size,
            "hidden": list(args.hidden) if args.hidden is not None
            else (images or {"hidden": [64, 64]})["hidden"],
            "activation": args.activation, "dtype": args.dtype, "optimizer": args.optimizer,
            "lr": args.lr if args.lr is not None else DEFAULT_LR[args.optimizer],
            "momentum": args.momentum, "nesterov": args.nesterov, "weight_decay": weight_decay,
            "epochs": args.epochs if args.epochs is not None else (images or {"epochs": 100})["epochs"],
            "batch_size": args.batch_size, "seed": args.seed, "n_classes": _n_classes(args.dataset)}


def _n_classes(dataset: str) -> int:
    """How many classes ``dataset`` has (every class gets a point from 100 samples on)."""
    if dataset in IMAGES:
        return int(_load(dataset, {"seed": 0})[1].max()) + 1
    return int(load_dataset(dataset, n_samples=100, rng=0)[1].max()) + 1


def _n_features(dataset: str) -> int:
    return int(_load(dataset, {"seed": 0}, 100)[0].shape[1])


def _load(dataset: str, cfg: dict, n_samples: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """X, y of a dataset: generated with ``n_samples`` points, or an image set (pixels in [0, 1])."""
    if dataset == "digits":
        X, y = load_digits()
        return X / 16.0, y  # pixel counts 0..16
    kw = {} if cfg.get("noise") is None else {"noise": cfg["noise"]}
    return load_dataset(dataset, n_samples=n_samples, rng=cfg["seed"], **kw)


def _split(cfg: dict, n_samples: int) -> tuple[np.ndarray, ...] | None:
    """The dataset's stratified train/test split with ``n_samples`` points, or None when a class has
    no point in one of the parts (or the dataset/split refuses that many points)."""
    try:
        X, y = _load(cfg["dataset"], cfg, n_samples)
        parts = train_test_split(X.astype(cfg["dtype"]), y, test_size=cfg["test_size"], rng=cfg["seed"],
                                 stratify=True)
    except ValueError:
        return None
    classes = np.unique(y)
    if len(classes) != cfg["n_classes"] or any(len(np.unique(part)) != len(classes) for part in parts[2:]):
        return None
    return parts


def _workable(cfg: dict, n: int) -> bool:
    """Whether ``n`` points of a built-in dataset (``n // k`` per class, the first ``n % k`` classes
    one more) split with every class in both parts: the split's own arithmetic, no data generated."""
    k = cfg["n_classes"]
    if n < max(k, 2):
        return False
    try:
        n_test = n_test_samples(cfg["test_size"], n)
    except ValueError:
        return False
    counts = np.array([n // k + (j < n % k) for j in range(k)], dtype=np.int64)
    take = stratified_test_counts(counts, n_test)
    return bool(np.all(take >= 1) and np.all(counts - take >= 1))


def smallest_workable_n_samples(cfg: dict) -> int | None:
    """The smallest sample count above ``cfg["n_samples"]`` whose stratified split keeps every class
    in both parts, by arithmetic: each part needs at least k points, so ``ceil(t n) >= k`` (t n > k - 1)
    and ``n - ceil(t n) >= k`` ((1 - t) n >= k); from that bound on, the split's rounding settles
    within a few multiples of k samples (each checked in O(k), without generating data)."""
    k, t = cfg["n_classes"], cfg["test_size"]
    lower = max(cfg["n_samples"] + 1, 2 * k, math.floor((k - 1) / t), math.floor(k / (1 - t)) - 1)
    return next((n for n in range(lower, lower + 4 * k + 64) if _workable(cfg, n)), None)


def _data(cfg: dict) -> tuple[np.ndarray, ...]:
    """The split for ``cfg``; a ValueError naming --n-samples and the smallest that works when a
    class would be missing from the training or the test part."""
    if cfg["dataset"] in IMAGES:
        parts = _split(cfg, None)
        if parts is None:
            raise ValueError(f"--test-size {cfg['test_size']} leaves a class of {cfg['dataset']} without a "
                             "training or test image")
        return parts
    parts = _split(cfg, cfg["n_samples"]) if _workable(cfg, cfg["n_samples"]) else None
    if parts is not None:
        return parts
    minimum = smallest_workable_n_samples(cfg)
    need = f"at least {minimum}" if minimum is not None else "more"
    raise ValueError(f"--n-samples {cfg['n_samples']} is too small for the {cfg['n_classes']} classes of "
                     f"{cfg['dataset']} with --test-size {cfg['test_size']}: every class needs a point in "
                     f"both the training and the test part; use --n-samples {need}")


def _gb(nbytes: float) -> str:
    return f"{nbytes / 1e9:.3g} GB" if nbytes >= 1e8 else f"{nbytes / 1e6:.3g} MB"


def memory_estimate(cfg: dict, n_features: int) -> dict[str, int]:
    """Rough peak bytes of a ``train`` run by cause: the data (float64 generation, labels, the split's
    copies and the cast, and the activations of every point at once in ``evaluate``), the model
    (parameters, gradients and two optimizer moments), and a training batch's activations."""
    item = np.dtype(cfg["dtype"]).itemsize
    n = cfg["n_samples"] if cfg["n_samples"] is not None else len(_load(cfg["dataset"], cfg)[1])
    sizes = [n_features, *cfg["hidden"], cfg["n_classes"]]
    return {"data": n * (n_features * 8 + 8) * 4 + n * max(sizes) * item * 3,
            "model": sum((a + 1) * b for a, b in zip(sizes, sizes[1:], strict=False)) * item * 4,
            "activations": cfg["batch_size"] * max(sizes) * item * 3}


def check_memory(cfg: dict, n_features: int, available: int | None = None) -> None:
    """A ValueError naming the option to lower when the run would need more memory than is
    available, raised before anything large is allocated."""
    available = available_memory() if available is None else available
    need = memory_estimate(cfg, n_features)
    total = sum(need.values())
    if available is None or total <= available:
        return
    blame = max(need, key=need.get)
    option = {"data": f"--n-samples {cfg['n_samples']}",
              "model": f"--hidden {' '.join(map(str, cfg['hidden']))}",
              "activations": f"--batch-size {cfg['batch_size']} with --hidden "
                             f"{' '.join(map(str, cfg['hidden']))}"}[blame]
    detail = ", ".join(f"{k} {_gb(v)}" for k, v in need.items())
    raise ValueError(f"{option} needs about {_gb(total)} of memory ({detail}), more than the "
                     f"{_gb(available)} available; lower it")


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


def _plot_title(cfg: dict, sizes: list[int]) -> str:
    """What was trained, for the plot titles: "spiral, MLP 2-64-64-3 (relu)"."""
    return f"{cfg['dataset']}, MLP {'-'.join(map(str, sizes))} ({cfg['activation']})"


def _plots(out: Path, history, model, data: tuple, title: str,
           cfg: dict | None = None) -> tuple[list[str], str | None]:
    X_tr, y_tr, X_te, y_te = data
    images = IMAGES.get((cfg or {}).get("dataset"))
    try:
        from ..plotting import plot_decision_boundary, plot_learning_curve

        # fit's validation data is the test split, so its curves are labelled "test" as printed.
        plot_learning_curve(history, out / "learning_curve.png", validation_label="test", title=title)
        written = ["learning_curve.png"]
        if images is not None:  # no plane to colour: how the test images were classified instead
            from ..plotting import plot_confusion_matrix, plot_sample_predictions
            from ..training import predict

            y_hat = predict(model, X_te)
            plot_confusion_matrix(y_te, y_hat, out / "confusion_matrix.png", n_classes=cfg["n_classes"],
                                  title=f"{title}: test set")
            plot_sample_predictions(X_te, y_te, y_hat, out / "sample_predictions.png",
                                    image_shape=images["shape"], title=f"{title}: test set")
            written += ["confusion_matrix.png", "sample_predictions.png"]
        elif X_tr.shape[1] == 2:
            plot_decision_boundary(model, X_tr, y_tr, out / "decision_boundary.png", test=(X_te, y_te),
                                   title=title)
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
        pngs, note = _plots(out, history, model, data, _plot_title(cfg, sizes), cfg)
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


def _unwritable(out: Path) -> str | None:
    """Why the results could not be written to the folder ``out``, found before any training: the
    nearest existing folder on its path must take a new file (probed with a temporary one, which
    also catches read-only file systems that permission bits do not show). Creates nothing."""
    existing = out
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if existing == out and not out.is_dir():
        return f"--out {out} is a file, not a folder; give a folder to write the results into"
    if not existing.is_dir():
        return f"--out {out} cannot be created: {existing} is a file, not a folder"
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:
        return f"--out {out} is not writable: cannot create a file in {existing} ({exc.strerror or exc})"
    return None


def run(args: argparse.Namespace) -> int:
    """Run ``chainrule train``; the exit code: 0 done, 1 diverged or not written, 2 bad options."""
    started = time.perf_counter()
    problem = _unwritable(args.out)
    if problem is not None:
        return _fail(args, problem, 2)
    try:
        cfg = _config(args)
        check_memory(cfg, _n_features(cfg["dataset"]))  # before generating data or building the model
        model, history, final, data, sizes = _train(cfg, args.quiet)
    except TrainingDiverged as exc:
        return _fail(args, str(exc), 1, status="diverged", epoch=exc.epoch, step=exc.step, loss=exc.loss)
    except (ValueError, TypeError) as exc:
        return _fail(args, str(exc), 2)
    except MemoryError:  # the estimate is rough: still answer in one line (and in JSON)
        return _fail(args, "ran out of memory; lower --n-samples, --hidden or --batch-size", 1)
    try:
        files, note = _write_outputs(args.out, model, history, final, data, cfg, sizes, not args.no_plots)
    except OSError as exc:
        return _fail(args, f"cannot write the results to {str(args.out)!r}: {exc}", 1)
    seconds = time.perf_counter() - started
    n_train, n_test = len(data[1]), len(data[3])
    if not args.quiet:
        if note is not None:
            print(f"chainrule train: {note}", file=sys.stderr)
        unit = "images" if cfg["dataset"] in IMAGES else "points"
        print(f"{cfg['dataset']}: {n_train} train / {n_test} test {unit}; MLP {'-'.join(map(str, sizes))} "
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
