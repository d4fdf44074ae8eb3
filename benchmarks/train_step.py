"""One training step of an MLP 784-256-256-10 (ReLU), chainrule vs PyTorch eager CPU, same process.

A step is forward + CrossEntropyLoss + backward + SGD update (``chainrule.optim.SGD``, in place;
``torch.optim.SGD``). Both frameworks get the same weights, data and thread count. Repetitions are
interleaved (every repetition times each framework and dtype once, in a rotating order) so that
load from other processes on a shared machine hits all contenders alike; the table shows the
median steps/s over the repetitions and the ratio chainrule / torch per dtype.

"chainrule" skips dL/dX for the data (``model.backward(..., input_grad=False)``), like torch whose
input does not require grad; "chainrule+dx" is the plain ``model.backward(g)``, which also computes
the first layer's dx = dout @ W.T.

    python benchmarks/train_step.py                      # threads = all cores
    python benchmarks/train_step.py --threads 1 --steps 100 --repeats 9

BLAS threads are fixed through OPENBLAS_NUM_THREADS/OMP_NUM_THREADS/MKL_NUM_THREADS before NumPy is
imported, and ``torch.set_num_threads`` for PyTorch, so the two use the same number of threads.
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
    parser.add_argument("--steps", type=int, default=50, help="training steps per timed repetition "
                                                              "(default: %(default)s)")
    parser.add_argument("--repeats", type=int, default=7, help="interleaved repetitions; the median is "
                                                               "reported (default: %(default)s)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                        help="threads for NumPy's BLAS and for torch (default: all cores, %(default)s)")
    parser.add_argument("--batch-size", type=int, default=128,
                        help="examples per step (default: %(default)s)")
    parser.add_argument("--pause", type=float, default=0.5,
                        help="seconds of rest before each timed block, so the other library's "
                             "spinning worker threads go idle (default: %(default)s)")
    parser.add_argument("--lr", type=float, default=0.01, help="SGD learning rate (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed for weights and data (default: %(default)s)")
    args = parser.parse_args(argv)
    for name in ("steps", "repeats", "threads", "batch_size"):
        if getattr(args, name) <= 0:
            parser.error(f"--{name.replace('_', '-')} must be a positive integer, got {getattr(args, name)}")
    if args.pause < 0:
        parser.error(f"--pause must be >= 0, got {args.pause}")
    return args


def set_blas_threads(n: int) -> None:
    """Fix BLAS/OpenMP threads; only effective before NumPy (and torch) are first imported."""
    if "numpy" in sys.modules:
        raise RuntimeError("set_blas_threads must run before numpy is imported")
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n)


def make_contenders(dtype_name: str, args: argparse.Namespace) -> dict[str, Callable[[], None]]:
    """Return {name: step} for one dtype, all contenders starting from the same weights."""
    import numpy as np
    import torch

    import chainrule as cr
    from chainrule.optim import SGD

    dtype = np.dtype(dtype_name)
    rng = np.random.default_rng(args.seed)
    model = cr.mlp(SIZES, "relu", rng=rng, dtype=dtype)
    X = rng.standard_normal((args.batch_size, SIZES[0])).astype(dtype)
    y = rng.integers(0, SIZES[-1], size=args.batch_size)
    loss = cr.CrossEntropyLoss()
    opt = SGD(args.lr)

    def chainrule_step() -> None:
        loss.forward(model.forward(X), y)
        model.backward(loss.backward(), input_grad=False)  # X is data: no dL/dX, as in torch
        opt.step(model.params, model.grads)

    def chainrule_step_with_dx() -> None:
        loss.forward(model.forward(X), y)
        model.backward(loss.backward())
        opt.step(model.params, model.grads)

    torch_dtype = {np.dtype(np.float32): torch.float32, np.dtype(np.float64): torch.float64}[dtype]
    layers: list[torch.nn.Module] = []
    for layer in model:
        if isinstance(layer, cr.Linear):
            lin = torch.nn.Linear(layer.in_features, layer.out_features, dtype=torch_dtype)
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(layer.params["W"].T))
                lin.bias.copy_(torch.from_numpy(layer.params["b"]))
            layers.append(lin)
        else:
            layers.append(torch.nn.ReLU())
    tmodel = torch.nn.Sequential(*layers)
    tX, ty = torch.from_numpy(X), torch.from_numpy(y)
    tloss = torch.nn.CrossEntropyLoss()
    topt = torch.optim.SGD(tmodel.parameters(), lr=args.lr)

    def torch_step() -> None:
        topt.zero_grad(set_to_none=True)
        tloss(tmodel(tX), ty).backward()
        topt.step()

    # Same weights and data: the first losses must agree, or we would be timing different work.
    first = loss.forward(model.forward(X), y)
    with torch.no_grad():
        first_torch = tloss(tmodel(tX), ty).item()
    if not np.isclose(first, first_torch, rtol=1e-4 if dtype == np.float32 else 1e-10):
        raise RuntimeError(f"chainrule and torch disagree on the initial loss: {first} vs {first_torch}")
    return {"chainrule": chainrule_step, "chainrule+dx": chainrule_step_with_dx, "torch": torch_step}


def time_steps(step: Callable[[], None], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        step()
    return n / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    set_blas_threads(args.threads)
    import numpy as np
    import torch
    from rich.console import Console
    from rich.table import Table

    torch.set_num_threads(args.threads)
    contenders = {(dtype, name): step for dtype in ("float32", "float64")
                  for name, step in make_contenders(dtype, args).items()}
    for step in contenders.values():
        for _ in range(3):  # warm caches, allocator and torch's kernels
            step()

    keys = list(contenders)
    rates: dict[tuple[str, str], list[float]] = {k: [] for k in keys}
    for r in range(args.repeats):
        for k in keys[r % len(keys):] + keys[:r % len(keys)]:
            # OpenBLAS and OpenMP workers spin for a while after their last call; without a pause
            # the previous contender's idle-spinning threads would steal cores from the next one.
            time.sleep(args.pause)
            rates[k].append(time_steps(contenders[k], args.steps))

    table = Table(title=f"training steps/s, MLP {'-'.join(map(str, SIZES))} ReLU, batch {args.batch_size}, "
                        f"median of {args.repeats} x {args.steps} steps")
    for col in ("dtype", "chainrule", "torch", "chainrule/torch", "chainrule+dx", "+dx/torch"):
        table.add_column(col, justify="right")
    for dtype in ("float32", "float64"):
        ours, with_dx, theirs = (statistics.median(rates[(dtype, name)])
                                 for name in ("chainrule", "chainrule+dx", "torch"))
        table.add_row(dtype, f"{ours:.1f}", f"{theirs:.1f}", f"{ours / theirs:.2f}",
                      f"{with_dx:.1f}", f"{with_dx / theirs:.2f}")
    console = Console()
    console.print(table)
    console.print(f"threads: NumPy BLAS {os.environ['OPENBLAS_NUM_THREADS']}, "
                  f"torch {torch.get_num_threads()}; numpy {np.__version__}, torch {torch.__version__}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
