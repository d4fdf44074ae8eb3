"""Training speed of an MLP 784-256-256-10 (ReLU), SGD: ``chainrule.fit`` against a raw hand-written
NumPy loop, with chainrule's bare layer step and PyTorch eager CPU as secondary columns, same process.

Every contender runs the same work: epochs over N = steps x batch samples in a fresh random order
(one ``fit`` call per repetition, so its per-call checks of X are included),
each step gathering its mini-batch from the data (data gather included), forward, cross-entropy
loss, backward, SGD update in place.

- "raw": the yardstick, a hand-written NumPy loop (buffers preallocated and reused, ``np.take`` into
  a buffer, ``matmul(out=)``, in-place ReLU and update), the fastest plain NumPy we know how to write.
- "fit": ``chainrule.fit(model, CrossEntropyLoss(), X, y, optimizer=SGD(lr), epochs=E,
  batch_size=B)``, everything included (input checks, loss/accuracy bookkeeping, divergence
  detection, its snapshots); its steps run inside ``nn.module.reuse_buffers``.
- "layers": chainrule's public layer API stepped by hand (``model.forward``, ``loss``,
  ``model.backward(..., input_grad=False)``, ``SGD.step``) with ``X[idx]`` gathers: every call
  returns new arrays and Linear copies its input, the contract outside ``fit``.
- "torch": ``torch.nn.Sequential`` + ``torch.optim.SGD`` with ``index_select`` gathers.

Repetitions are interleaved (each repetition times every contender once: raw and fit back to back,
in turn first, then the others in a rotating order) so that load from other processes on a shared
machine hits all alike; the table shows the median
steps per second and, for the ratios to "raw", the median of each repetition's own ratio with its
interquartile range (the spread tells how far to trust the median on this machine today). All
contenders use the same thread count (BLAS threads fixed through the environment before NumPy is
imported, ``torch.set_num_threads``).

    python benchmarks/train_step.py                           # batches 32 128 1024, both dtypes
    python benchmarks/train_step.py --threads 1 --repeats 9 --batch-sizes 128
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable

SIZES = (784, 256, 256, 10)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 128, 1024], metavar="B",
                        help="mini-batch sizes (default: %(default)s)")
    parser.add_argument("--dtypes", nargs="+", choices=("float32", "float64"),
                        default=["float32", "float64"])
    parser.add_argument("--work", type=float, default=16384,
                        help="examples per timed repetition (default: %(default)g), split in --epochs "
                             "epochs of at least 8 steps")
    parser.add_argument("--epochs", type=int, default=4,
                        help="epochs per repetition, i.e. per fit call (default: %(default)s)")
    parser.add_argument("--repeats", type=int, default=15, help="interleaved repetitions; the median is "
                                                               "reported (default: %(default)s)")
    parser.add_argument("--threads", type=int, default=1,
                        help="threads for NumPy's BLAS and for torch (default: %(default)s)")
    parser.add_argument("--clock", choices=("cpu", "wall"), default=None,
                        help="what is timed: this process's CPU time, which other processes' load barely "
                             "changes (default with 1 thread), or wall-clock time (default with more, whose "
                             "CPU time would count idle-spinning BLAS workers)")
    parser.add_argument("--pause", type=float, default=0.2,
                        help="seconds of rest before each timed block, so the previous contender's "
                             "spinning worker threads go idle (default: %(default)s)")
    parser.add_argument("--no-torch", action="store_true", help="skip the PyTorch column")
    parser.add_argument("--json", action="store_true",
                        help="also print one line of JSON: every repetition's steps per second per contender")
    parser.add_argument("--lr", type=float, default=0.01, help="SGD learning rate (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed for weights and data (default: %(default)s)")
    args = parser.parse_args(argv)
    for name in ("repeats", "threads", "epochs"):
        if getattr(args, name) <= 0:
            parser.error(f"--{name} must be a positive integer, got {getattr(args, name)}")
    if any(b <= 0 for b in args.batch_sizes):
        parser.error(f"--batch-sizes must be positive integers, got {args.batch_sizes}")
    if args.clock is None:
        args.clock = "cpu" if args.threads == 1 else "wall"
    if args.pause < 0 or not args.work > 0:
        parser.error("--pause must be >= 0 and --work > 0")
    return args


def set_blas_threads(n: int) -> None:
    """Fix BLAS/OpenMP threads; only effective before NumPy (and torch) are first imported."""
    if "numpy" in sys.modules:
        raise RuntimeError("set_blas_threads must run before numpy is imported")
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n)


class RawNumPy:
    """The yardstick: SGD on the MLP written by hand in NumPy, every buffer allocated once."""

    def __init__(self, weights: list, X, y, batch: int, lr: float) -> None:
        import numpy as np

        self.np, self.X, self.y, self.lr = np, X, y, lr
        self.W = [w.copy() for w, _ in weights]
        self.b = [b.copy() for _, b in weights]
        dt, widths = X.dtype, [X.shape[1]] + [w.shape[1] for w in self.W]
        self.xb = np.empty((batch, widths[0]), dt)
        self.h = [np.empty((batch, w), dt) for w in widths[1:]]  # post-ReLU activations, then logits
        self.d = [np.empty((batch, w), dt) for w in widths[1:]]  # dL/d(pre-activation) per layer
        self.dW = [np.empty_like(w) for w in self.W]
        self.db = [np.empty_like(b) for b in self.b]
        self.mask = [np.empty((batch, w), bool) for w in widths[1:-1]]
        self.yb = np.empty(batch, np.intp)

    def step(self, idx) -> float:
        np = self.np
        n, last = len(idx), len(self.W) - 1
        x = np.take(self.X, idx, axis=0, out=self.xb[:n], mode="clip")  # "raise" buffers the output
        yb = np.take(self.y, idx, out=self.yb[:n], mode="clip")
        inputs = [x]
        for i, (W, b) in enumerate(zip(self.W, self.b, strict=True)):
            h = np.matmul(inputs[-1], W, out=self.h[i][:n])
            h += b
            if i < last:
                np.maximum(h, 0, out=h)
            inputs.append(h)
        z, rows = inputs[-1], np.arange(n)
        z -= z.max(axis=1, keepdims=True)
        picked = z[rows, yb]
        np.exp(z, out=z)
        s = z.sum(axis=1, keepdims=True)
        loss = float(np.sum(np.log(s[:, 0]) - picked)) / n
        s *= n
        d = np.divide(z, s, out=self.d[last][:n])  # softmax / n
        d[rows, yb] -= d.dtype.type(1) / n
        for i in range(last, -1, -1):
            np.matmul(inputs[i].T, d, out=self.dW[i])
            np.sum(d, axis=0, out=self.db[i])
            if i:
                prev = np.matmul(d, self.W[i].T, out=self.d[i - 1][:n])
                mask = np.greater(inputs[i], 0, out=self.mask[i - 1][:n])
                np.multiply(prev, mask, out=prev)
                d = prev
            self.dW[i] *= self.lr
            self.W[i] -= self.dW[i]
            self.db[i] *= self.lr
            self.b[i] -= self.db[i]
        return loss

    def train(self, epochs: int, batch: int, rng) -> None:
        n = len(self.y)
        for _ in range(epochs):
            order = rng.permutation(n)
            for start in range(0, n, batch):
                self.step(order[start:start + batch])


def make_contenders(dtype_name: str, batch: int, args: argparse.Namespace) -> dict[str, Callable[[], None]]:
    """{name: run one repetition} for one dtype and batch size, all starting from the same weights."""
    import numpy as np

    import chainrule as cr
    from chainrule.optim import SGD

    dtype = np.dtype(dtype_name)
    steps = max(8, round(args.work / args.epochs / batch))
    n, epochs = steps * batch, args.epochs
    rng = np.random.default_rng(args.seed)
    model = cr.mlp(SIZES, "relu", rng=rng, dtype=dtype)
    X = rng.standard_normal((n, SIZES[0])).astype(dtype)
    y = rng.integers(0, SIZES[-1], size=n)
    weights = [(layer.params["W"].copy(), layer.params["b"].copy()) for layer in model if layer.params]
    loss = cr.CrossEntropyLoss()
    raw = RawNumPy(weights, X, y, batch, args.lr)

    # The raw loop and chainrule compute the same thing: check it once (first step, same batch).
    first = np.arange(batch)
    expected = loss.forward(model.forward(X[first]), y[first])
    got = RawNumPy(weights, X, y, batch, args.lr).step(first)
    if not np.isclose(got, expected, rtol=1e-4 if dtype == np.float32 else 1e-10):
        raise RuntimeError(f"raw NumPy and chainrule disagree on the loss: {got} vs {expected}")

    def run_raw() -> None:
        raw.train(epochs, batch, np.random.default_rng(1))

    fit_opt = SGD(args.lr)

    def run_fit() -> None:
        cr.fit(model, loss, X, y, optimizer=fit_opt, epochs=epochs, batch_size=batch, rng=1)

    layer_opt = SGD(args.lr)

    def run_layers() -> None:
        gen = np.random.default_rng(1)
        for _ in range(epochs):
            order = gen.permutation(n)
            for start in range(0, n, batch):
                idx = order[start:start + batch]
                loss.forward(model.forward(X[idx]), y[idx])
                model.backward(loss.backward(), input_grad=False)
                layer_opt.step(model.params, model.grads)

    contenders = {"raw": run_raw, "fit": run_fit, "layers": run_layers}
    if not args.no_torch:
        import torch

        torch_dtype = {np.dtype(np.float32): torch.float32, np.dtype(np.float64): torch.float64}[dtype]
        layers: list = []
        for W, b in weights:
            lin = torch.nn.Linear(W.shape[0], W.shape[1], dtype=torch_dtype)
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(W.T))
                lin.bias.copy_(torch.from_numpy(b))
            layers += [lin, torch.nn.ReLU()]
        tmodel = torch.nn.Sequential(*layers[:-1])
        tX, ty = torch.from_numpy(X), torch.from_numpy(y)
        tloss, topt = torch.nn.CrossEntropyLoss(), torch.optim.SGD(tmodel.parameters(), lr=args.lr)

        def run_torch() -> None:
            gen = torch.Generator().manual_seed(1)
            for _ in range(epochs):
                order = torch.randperm(n, generator=gen)
                for start in range(0, n, batch):
                    idx = order[start:start + batch]
                    topt.zero_grad(set_to_none=True)
                    tloss(tmodel(tX.index_select(0, idx)), ty.index_select(0, idx)).backward()
                    topt.step()

        contenders["torch"] = run_torch
    return {name: (run, epochs * steps) for name, run in contenders.items()}


def paired_ratios(rates: list[float], reference: list[float]) -> tuple[float, float, float]:
    """Quartiles (25 %, median, 75 %) of ``rates[r] / reference[r]`` over the repetitions r.

    Each repetition times every contender within a few seconds, so a slow spell of the machine
    (another tenant, a frequency change) hits both sides of a repetition's ratio alike; the median of
    the per-repetition ratios is steadier than the ratio of the two medians, which such a spell moves
    when it falls on one contender's run of one repetition and the other's of another.
    """
    ratios = [a / b for a, b in zip(rates, reference, strict=True)]
    if len(ratios) == 1:
        return ratios[0], ratios[0], ratios[0]
    low, mid, high = statistics.quantiles(ratios, n=4, method="inclusive")
    return low, mid, high


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    set_blas_threads(args.threads)
    import numpy as np
    from rich.console import Console
    from rich.table import Table

    torch_version = "not run"
    if not args.no_torch:
        import torch

        torch.set_num_threads(args.threads)
        torch_version = f"{torch.__version__} ({torch.get_num_threads()} threads)"
    cases = [(b, d) for b in args.batch_sizes for d in args.dtypes]
    contenders = {(case, name): pair for case in cases
                  for name, pair in make_contenders(case[1], case[0], args).items()}
    for run, _ in contenders.values():
        run()  # warm caches, the allocator and torch's kernels
    names = sorted({name for _, name in contenders}, key=["raw", "fit", "layers", "torch"].index)

    rates: dict = {k: [] for k in contenders}
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    for r in range(args.repeats):
        for case in cases:
            # raw and fit back to back, in turn first (ABBA: a drift of the machine's speed hits
            # both sides of their ratio alike), the secondary columns after them in a rotating order
            others = [n for n in names if n not in ("raw", "fit")]
            turn = r % len(others) if others else 0
            order = (["raw", "fit"] if r % 2 == 0 else ["fit", "raw"]) + others[turn:] + others[:turn]
            for name in order:
                run, steps = contenders[(case, name)]
                time.sleep(args.pause)
                start = clock()
                run()
                rates[(case, name)].append(steps / (clock() - start))

    table = Table(title=f"training steps per {args.clock} second (median of {args.repeats}), MLP "
                        f"{'-'.join(map(str, SIZES))} ReLU, SGD, data gather included; ratios to raw NumPy: "
                        "median of each repetition's ratio [interquartile range]")
    for col in ("batch", "dtype", *names, *(f"{n}/raw" for n in names if n != "raw")):
        table.add_column(col, justify="right", no_wrap=True)
    for batch, dtype in cases:
        med = {n: statistics.median(rates[((batch, dtype), n)]) for n in names}
        cells = []
        for n in names[1:]:
            low, mid, high = paired_ratios(rates[((batch, dtype), n)], rates[((batch, dtype), "raw")])
            cells.append(f"{mid:.2f} [{low:.2f}–{high:.2f}]")
        table.add_row(str(batch), dtype, *(f"{med[n]:.1f}" for n in names), *cells)
    console = Console(width=120) if not sys.stdout.isatty() else Console()
    console.print(table)
    if args.json:
        import json

        print(json.dumps({f"{b} {d} {n}": [round(v, 2) for v in rates[((b, d), n)]]
                          for b, d in cases for n in names}))
    console.print(f"threads: NumPy BLAS {os.environ['OPENBLAS_NUM_THREADS']}; torch {torch_version}; "
                  f"numpy {np.__version__}; clock: {args.clock}; load average {os.getloadavg()[0]:.2f} "
                  f"on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
