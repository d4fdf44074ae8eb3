"""How ``chainrule.MLPClassifier``'s defaults were chosen: cross-validation on the digits' TRAINING parts.

For each seed 0, 1, 2 the split is the one ``benchmarks/digits.py`` tests on
(``train_test_split(X, y, test_size=0.25, random_state=seed, stratify=y)``), but only its training
part (1,347 images) is used here: a stratified 5-fold split of it (``StratifiedKFold(5, shuffle=True,
random_state=seed)``), standardized inside each fold with the fold's training mean and standard
deviation (a ``StandardScaler`` in a ``Pipeline``), and every candidate fitted on the same 15 folds
with initialization seeds ``100 + 10*seed + fold`` (not the seeds the benchmark tests with). The test
parts are never read.

Every candidate is ``MLPClassifier((64,), activation="relu")`` (He initialization, cosine learning-rate
decay to 0 over ``max_iter`` epochs) from a modest grid (42 candidates, see ``grid``): Adam with
learning rate 0.005, 0.01 or 0.02, ``alpha`` (L2, the course's lambd/(2m)·ΣW²) 0.03, 0.1, 0.3 or 1,
``max_iter`` 30, 60 or 100 epochs, batch 64 (and two at batch 32); SGD with momentum 0.9 at
learning rate 0.05 or 0.1, alpha 0.3 or 1, 60 epochs. The grid stays small because two cores are
shared: 1 BLAS thread (threadpoolctl), one process.

The defaults must also fit no slower than scikit-learn's sgd solver (issue 11). Fold timings taken
minutes apart on a loaded machine are too noisy to compare, so the script first calibrates in one
interleaved block (median of ``--repeats``): chainrule's time per epoch for each solver and batch size
on a whole training part (1,347 images, as the benchmark fits) against scikit-learn's
``MLPClassifier((64,), solver="sgd")`` fit there. A candidate's predicted fit time is its epochs
times that per-epoch time; it is eligible when the prediction is at most ``--budget`` (default 0.8,
a 20 % margin for load) of sgd's. The choice is the eligible candidate with the highest mean
accuracy over the 15 folds; ``benchmarks/digits.py`` then measures its fit time against sgd's.

    python benchmarks/digits_cv.py             # the whole grid, about 10 minutes on a loaded 2-core machine
    python benchmarks/digits_cv.py --top 10    # print only the 10 best rows
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import time
from pathlib import Path


def grid() -> list[dict]:
    """The candidates: for each solver, the learning rates it trains well with on standardized digits."""
    candidates = []
    for lr, alpha, epochs in itertools.product((0.005, 0.01, 0.02), (0.03, 0.1, 0.3, 1.0), (30, 60, 100)):
        candidates.append(dict(solver="adam", learning_rate_init=lr, alpha=alpha, max_iter=epochs,
                               batch_size=64))
    for alpha in (0.3, 1.0):
        candidates.append(dict(solver="adam", learning_rate_init=0.01, alpha=alpha, max_iter=60,
                               batch_size=32))
    for lr, alpha in itertools.product((0.05, 0.1), (0.3, 1.0)):
        candidates.append(dict(solver="sgd", momentum=0.9, learning_rate_init=lr, alpha=alpha,
                               max_iter=60, batch_size=64))
    return candidates


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folds", type=int, default=5, help="folds per training part (default: %(default)s)")
    parser.add_argument("--top", type=int, default=0, help="print only the best N rows (default: all)")
    parser.add_argument("--budget", type=float, default=0.8,
                        help="largest predicted fit time, a fraction of sklearn sgd's (default: %(default)s)")
    parser.add_argument("--repeats", type=int, default=5,
                        help="interleaved repetitions of the timing calibration (default: %(default)s)")
    parser.add_argument("--threads", type=int, default=1,
                        help="BLAS/OpenMP threads (default: %(default)s; 0: no limit)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    import numpy as np
    from sklearn.model_selection import StratifiedKFold, train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    import chainrule as cr

    limit = threadpool_limits(args.threads) if args.threads > 0 else None
    X, y = cr.data.load_digits()
    folds = []  # (seed, fold, X_fit, y_fit, X_val, y_val): training parts only
    for seed in range(3):
        X_train, _, y_train, _ = train_test_split(X, y, test_size=0.25, random_state=seed, stratify=y)
        splitter = StratifiedKFold(args.folds, shuffle=True, random_state=seed)
        for fold, (fit_idx, val_idx) in enumerate(splitter.split(X_train, y_train)):
            folds.append((seed, fold, X_train[fit_idx], y_train[fit_idx], X_train[val_idx], y_train[val_idx]))

    candidates = grid()
    per_epoch, sgd_time = calibrate(X, y, {(c["solver"], c["batch_size"]) for c in candidates}, args.repeats)
    print(f"calibration: sklearn sgd {sgd_time:.3f} s; chainrule per epoch "
          + ", ".join(f"{solver}/batch {batch} {t * 1000:.1f} ms ({t / sgd_time:.4f}x sgd)"
                      for (solver, batch), t in sorted(per_epoch.items())), file=sys.stderr, flush=True)
    rows = []
    start_all = time.perf_counter()
    for i, params in enumerate(candidates):
        scores, times = [], []
        for seed, fold, X_fit, y_fit, X_val, y_val in folds:
            clf = make_pipeline(StandardScaler(), cr.MLPClassifier(
                (64,), random_state=100 + 10 * seed + fold, **params))
            start = time.perf_counter()
            clf.fit(X_fit, y_fit)
            times.append(time.perf_counter() - start)
            scores.append(clf.score(X_val, y_val))
        scores = np.array(scores)
        predicted = params["max_iter"] * per_epoch[params["solver"], params["batch_size"]] / sgd_time
        rows.append((float(scores.mean()), float(scores.std(ddof=1) / np.sqrt(len(scores))),
                     statistics.median(times), predicted, params))
        print(f"[{i + 1}/{len(candidates)}, {time.perf_counter() - start_all:.0f} s] {scores.mean():.4f} "
              f"{_describe(params)}", file=sys.stderr, flush=True)
    if limit is not None:
        limit.restore_original_limits()

    rows.sort(key=lambda r: (-r[0], r[3]))
    shown = rows[: args.top] if args.top > 0 else rows
    print(f"digits, {args.folds}-fold stratified CV on the training parts of seeds 0-2 "
          f"({len(folds)} folds, standardized per fold); MLP 64-64-10 ReLU, cosine decay; "
          f"{len(candidates)} candidates, best first; sklearn sgd fits a training part in {sgd_time:.3f} s "
          f"(median of {args.repeats}); eligible: predicted fit time <= {args.budget:g}x sgd's")
    print(f"{'mean CV acc':>11} {'± s.e.':>7} {'fit (fold)':>10} {'pred. vs sgd':>12}  candidate")
    for mean, se, t, predicted, params in shown:
        mark = "" if predicted <= args.budget else "  (too slow)"
        print(f"{mean:>11.4f} {se:>7.4f} {t:>9.3f}s {predicted:>11.2f}x  {_describe(params)}{mark}")
    eligible = [r for r in rows if r[3] <= args.budget]
    print(f"chosen: {_describe(eligible[0][4])}" if eligible else "chosen: none fits the time budget")
    return 0


def calibrate(X, y, kinds: set, repeats: int) -> tuple[dict, float]:
    """Seconds per epoch of chainrule for each (solver, batch size) in ``kinds``, and scikit-learn's sgd
    fit time, on the standardized training part of seed 0; medians of interleaved repetitions."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier as SkMLP
    from sklearn.preprocessing import StandardScaler

    import chainrule as cr

    X_train, _, y_train, _ = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
    X_train = StandardScaler().fit_transform(X_train)
    epochs = 20  # with tol=0 the stopping rule does not cut these timed runs short
    fits = {kind: (lambda kind=kind: cr.MLPClassifier((64,), solver=kind[0], batch_size=kind[1],
                                                      max_iter=epochs, tol=0.0, random_state=0))
            for kind in sorted(kinds)}
    fits["sklearn sgd"] = lambda: SkMLP((64,), solver="sgd", random_state=0)
    times: dict = {name: [] for name in fits}
    names = list(fits)
    for rep in range(repeats):
        for name in names[rep % len(names):] + names[: rep % len(names)]:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                start = time.perf_counter()
                fits[name]().fit(X_train, y_train)
                times[name].append(time.perf_counter() - start)
    sgd = statistics.median(times.pop("sklearn sgd"))
    return {kind: statistics.median(t) / epochs for kind, t in times.items()}, sgd


def _describe(params: dict) -> str:
    solver = params["solver"] + (f"(momentum {params['momentum']})" if params["solver"] == "sgd" else "")
    return (f"{solver} lr {params['learning_rate_init']:g}, alpha {params['alpha']:g}, "
            f"{params['max_iter']} epochs, batch {params['batch_size']}")


if __name__ == "__main__":
    raise SystemExit(main())
