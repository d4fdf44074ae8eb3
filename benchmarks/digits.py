"""Digits, one hidden layer of 64: chainrule's MLPClassifier vs scikit-learn's (adam and sgd), same run.

For each seed 0, 1, 2: a stratified 25 % test split of the 1,797 UCI digits
(``sklearn.model_selection.train_test_split(..., random_state=seed, stratify=y)``), standardized with
the training part's mean and standard deviation; then three classifiers with 64 ReLU hidden units,
each seeded with ``random_state=seed``:

- chainrule: ``chainrule.MLPClassifier((64,))`` with its defaults (Adam, cosine schedule from 0.01,
  batch 64, alpha 0.1, 60 epochs; chosen by ``benchmarks/digits_cv.py``: 5-fold stratified
  cross-validation on the training parts with other initialization seeds, never on the test parts);
- sklearn adam / sklearn sgd: ``sklearn.neural_network.MLPClassifier((64,), solver=...)`` with
  scikit-learn's defaults (200 iterations at most; its ConvergenceWarning is silenced).

Accuracy is deterministic per seed. Fit times are the median over ``--repeats`` interleaved
repetitions (each repetition fits every contender once, in a rotating order, so load from other
processes hits all alike); both libraries use the same NumPy/BLAS in this process, limited to
``--threads`` threads (default 1, through threadpoolctl: on a loaded 2-core machine BLAS threads
spinning against other processes made both libraries' fits up to 10x slower and erratic). The table shows
the mean test accuracy over the seeds and the median fit time, with its ratio to sklearn sgd's.

    python benchmarks/digits.py                 # needs scikit-learn
    python benchmarks/digits.py --repeats 5 --threads 1
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3,
                        help="interleaved timing repetitions per seed (default: %(default)s)")
    parser.add_argument("--threads", type=int, default=1,
                        help="BLAS/OpenMP threads for both libraries (default: %(default)s; 0: no limit)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    import numpy as np
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier as SkMLP
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    import chainrule as cr

    limit = threadpool_limits(args.threads) if args.threads > 0 else None

    X, y = cr.data.load_digits()
    contenders = {
        "chainrule": lambda seed: cr.MLPClassifier((64,), random_state=seed),
        "sklearn adam": lambda seed: SkMLP((64,), solver="adam", random_state=seed),
        "sklearn sgd": lambda seed: SkMLP((64,), solver="sgd", random_state=seed),
    }
    accuracy = {name: [] for name in contenders}
    times = {name: [] for name in contenders}
    epochs = {name: [] for name in contenders}
    names = list(contenders)
    for seed in range(3):
        X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, random_state=seed, stratify=y)
        scaler = StandardScaler().fit(X_tr)
        X_tr, X_te = scaler.transform(X_tr), scaler.transform(X_te)
        per_seed: dict[str, list[float]] = {name: [] for name in names}
        for rep in range(args.repeats):
            for name in names[rep % len(names):] + names[: rep % len(names)]:
                est = contenders[name](seed)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    start = time.perf_counter()
                    est.fit(X_tr, y_tr)
                    per_seed[name].append(time.perf_counter() - start)
                if rep == 0:
                    accuracy[name].append(float(est.score(X_te, y_te)))
                    epochs[name].append(int(est.n_iter_))
        for name in names:
            times[name].append(statistics.median(per_seed[name]))

    if limit is not None:
        limit.restore_original_limits()
    reference = statistics.median(times["sklearn sgd"])
    threads = f"{args.threads} BLAS thread(s)" if args.threads > 0 else "BLAS threads unlimited"
    print(f"digits: {len(X)} images, 25 % stratified test split, standardized; MLP 64-64-10 ReLU; "
          f"seeds 0-2; median of {args.repeats} interleaved fits per seed; {threads}")
    print(f"{'classifier':<14} {'mean test acc':>13}  {'per seed':<22} {'epochs':<12} {'fit time':>9} "
          f"{'vs sgd':>7}")
    for name in names:
        t = statistics.median(times[name])
        seeds = " ".join(f"{a:.4f}" for a in accuracy[name])
        its = " ".join(map(str, epochs[name]))
        print(f"{name:<14} {np.mean(accuracy[name]):>13.4f}  {seeds:<22} {its:<12} {t:>8.3f}s "
              f"{t / reference:>6.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
