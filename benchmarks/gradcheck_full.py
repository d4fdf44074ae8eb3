"""A full element-wise gradient check: chainrule vs torch.autograd.gradcheck vs a plain NumPy loop.

Contenders, side by side in one process, on the same weights and data (float64):

* chainrule: ``check_model(model, loss, X, y)`` — every parameter element by central differences
  (batched, ``gradcheck.batched``), plus every layer's isolated check and the loss's, and the
  diagnosis; the full report.
* NumPy loop: the plain central-difference loop a user would write,
  ``(loss.forward(model.forward(X), y)`` at θ ± eps, one element at a time.
* torch slow: ``torch.autograd.gradcheck`` (numerical Jacobian element by element) of the same
  function written in torch; torch fast: ``fast_mode=True`` (one random projection per input,
  blind to which element is wrong).

Nets: MLP 784-64-10 tanh, 16 examples, CrossEntropyLoss (50,890 parameters) and 784-256-256-10
tanh (269,322). Then a table of chainrule's time per parameter as the model grows.

Times are CPU seconds of this process (``time.process_time``) with BLAS and torch fixed to
``--threads`` threads (default 1), and wall seconds beside them: on a shared machine the wall
clock mostly measures the other processes. Contenders too slow to run in full on the large net
(the loop, torch slow mode) are timed on a random sample of elements and extrapolated per element;
the output says where.

    python benchmarks/gradcheck_full.py
    python benchmarks/gradcheck_full.py --repeats 5 --loop-sample 0     # 0: the whole loop everywhere
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=1, help="BLAS and torch threads (default: %(default)s)")
    p.add_argument("--repeats", type=int, default=3,
                   help="repetitions of the fast contenders; the median is reported (default: %(default)s)")
    p.add_argument("--loop-sample", type=int, default=3000,
                   help="elements timed for the slow contenders on nets where they would take minutes "
                        "(784-256-256-10 and the table); 0 runs them in full (default: %(default)s)")
    p.add_argument("--no-torch", action="store_true", help="skip torch")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if args.threads <= 0 or args.repeats <= 0 or args.loop_sample < 0:
        p.error("--threads and --repeats must be positive, --loop-sample >= 0")
    return args


def set_threads(n: int) -> None:
    if "numpy" in sys.modules:
        raise RuntimeError("set the thread count before importing NumPy")
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n)


class Timer:
    def __enter__(self):
        self.cpu, self.wall = time.process_time(), time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.cpu, self.wall = time.process_time() - self.cpu, time.perf_counter() - self.wall


def build(sizes, n, seed, activation="tanh"):
    import numpy as np

    from chainrule.nn import CrossEntropyLoss, mlp

    rng = np.random.default_rng(seed)
    model = mlp(sizes, activation, rng=seed)
    X = rng.standard_normal((n, sizes[0]))
    y = rng.integers(0, sizes[-1], n)
    return model, CrossEntropyLoss(), X, y


def loop_gradient(model, loss, X, y, picks, eps=1e-6):
    """The plain loop over the (name, flat index) pairs ``picks``: its gradient entries."""
    import numpy as np

    out = np.empty(len(picks))
    for k, (name, flat) in enumerate(picks):
        arr = model.params[name]
        idx = np.unravel_index(flat, arr.shape)
        old = arr[idx]
        arr[idx] = old + eps
        fp = loss.forward(model.forward(X), y)
        arr[idx] = old - eps
        fm = loss.forward(model.forward(X), y)
        arr[idx] = old
        out[k] = (fp - fm) / (2 * eps)
    return out


def all_picks(model):
    return [(name, i) for name, arr in model.params.items() for i in range(arr.size)]


def sample_picks(model, k, rng):
    picks = all_picks(model)
    if not k or k >= len(picks):
        return picks, False
    chosen = rng.choice(len(picks), size=k, replace=False)
    return [picks[i] for i in sorted(chosen)], True


def analytic(model, loss, X, y):
    import numpy as np

    loss.forward(model.forward(X), y)
    model.zero_grad()
    model.backward(loss.backward())
    return {k: np.array(v) for k, v in model.grads.items()}


def torch_setup(model, X, y, threads):
    import torch

    torch.set_num_threads(threads)
    params = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in model.params.values()]
    Xt, yt = torch.tensor(X), torch.tensor(y)

    def f(*ps):
        h = Xt
        for i in range(0, len(ps), 2):
            h = h @ ps[i] + ps[i + 1]
            if i + 2 < len(ps):
                h = torch.tanh(h)
        return torch.nn.functional.cross_entropy(h, yt)

    return f, params


def torch_gradcheck(f, params, fast):
    import torch

    return bool(torch.autograd.gradcheck(f, tuple(params), eps=1e-6, atol=1e-5, rtol=1e-3, fast_mode=fast))


def relative(a, b):
    import numpy as np

    return float(np.linalg.norm(a - b) / (np.linalg.norm(a) + np.linalg.norm(b)))


def fmt(t):
    return f"{t:8.3f} s" if t < 100 else f"{t:8.1f} s"


def head_to_head(label, sizes, n, args, full_loop):
    import numpy as np

    from chainrule.gradcheck import check_model

    model, loss, X, y = build(sizes, n, args.seed)
    total = sum(v.size for v in model.params.values())
    print(f"\n## MLP {'-'.join(map(str, sizes))} tanh, {n} examples, CrossEntropyLoss, float64: "
          f"{total:,} parameters\n")
    check_model(model, loss, X[:2], y[:2], layers=False, sample=2)  # imports and first-call costs
    runs, report = [], None
    for _ in range(args.repeats):
        with Timer() as t:
            report = check_model(model, loss, X, y, progress=False)
        runs.append(t)
    cr_cpu, cr_wall = statistics.median(r.cpu for r in runs), statistics.median(r.wall for r in runs)
    rows = [("chainrule check_model (every element + layer checks)", cr_cpu, cr_wall, "", report.passed)]

    grads = analytic(model, loss, X, y)
    rng = np.random.default_rng(args.seed)
    picks, sampled = (all_picks(model), False) if full_loop else sample_picks(model, args.loop_sample, rng)
    with Timer() as t:
        g = loop_gradient(model, loss, X, y, picks)
    scale = total / len(picks)
    a = np.array([grads[name].flat[i] for name, i in picks])
    loop_ok = relative(a, g) <= 2e-7
    rows.append(("plain NumPy central-difference loop", t.cpu * scale, t.wall * scale,
                 f"extrapolated from {len(picks):,} elements" if sampled else "", loop_ok))
    numerical = np.array([report.parameters[name].numerical.flat[i] for name, i in picks])
    agreement, loop_noise, own_noise = relative(numerical, g), relative(g, a), relative(numerical, a)

    if not args.no_torch:
        f, params = torch_setup(model, X, y, args.threads)
        if full_loop:
            with Timer() as t:
                ok = torch_gradcheck(f, params, fast=False)
            rows.append(("torch.autograd.gradcheck, slow mode", t.cpu, t.wall, "", ok))
        else:
            # the biases and the last weight matrix only, then per element for all of them
            few = [p.detach().clone().requires_grad_(i % 2 == 1 or i == len(params) - 2)
                   for i, p in enumerate(params)]
            counted = sum(p.numel() for p in few if p.requires_grad)
            with Timer() as t:
                ok = torch_gradcheck(f, few, fast=False)
            rows.append(("torch.autograd.gradcheck, slow mode", t.cpu * total / counted,
                         t.wall * total / counted, f"extrapolated from {counted:,} elements", ok))
        fast_runs = []
        for _ in range(args.repeats):
            with Timer() as t:
                ok = torch_gradcheck(f, params, fast=True)
            fast_runs.append(t)
        rows.append(("torch.autograd.gradcheck, fast mode (1 random projection)",
                     statistics.median(r.cpu for r in fast_runs),
                     statistics.median(r.wall for r in fast_runs), "", ok))
    width = max(len(r[0]) for r in rows)
    print(f"{'contender':<{width}}  {'CPU':>10}  {'wall':>10}  {'CPU / chainrule':>15}  verdict")
    for name, cpu, wall, note, ok in rows:
        ratio = "" if name.startswith("chainrule") else f"{cpu / cr_cpu:.3g}x"
        print(f"{name:<{width}}  {fmt(cpu)}  {fmt(wall)}  {ratio:>15}  {'correct' if ok else 'WRONG'}"
              + (f"  ({note})" if note else ""))
    verdicts = {r[4] for r in rows}
    print(f"\nverdicts agree: {'yes' if len(verdicts) == 1 else 'NO'} (all say "
          f"{'correct' if verdicts == {True} else 'mixed'}); chainrule's numerical gradient vs the loop's "
          f"on the {len(picks):,} elements: relative difference {agreement:.1e} (each from the analytic "
          f"gradient: loop {loop_noise:.1e}, chainrule {own_noise:.1e}: the finite differences' rounding "
          "noise)")
    print(f"chainrule: {cr_cpu / total * 1e6:.2f} µs CPU per parameter; plain loop / chainrule = "
          f"{rows[1][1] / cr_cpu:.1f}x CPU, {rows[1][2] / cr_wall:.1f}x wall")
    return cr_cpu


def growth_table(args):
    import numpy as np

    from chainrule.gradcheck import check_model

    nets = [([2, 64, 64, 3], 32, "relu"), ([2, 128, 128, 3], 32, "relu"), ([784, 16, 10], 16, "tanh"),
            ([784, 64, 10], 16, "tanh"), ([784, 128, 10], 16, "tanh"), ([784, 128, 64, 10], 16, "tanh"),
            ([784, 256, 256, 10], 16, "tanh")]
    print("\n## Time per parameter as the model grows (chainrule check_model, every element, layer checks "
          "included)\n")
    print(f"{'network':<28} {'params':>9} {'chainrule CPU':>14} {'µs/param':>9} {'loop µs/param':>14} "
          f"{'loop / chainrule':>17}")
    rng = np.random.default_rng(args.seed)
    for sizes, n, act in nets:
        model, loss, X, y = build(sizes, n, args.seed, act)
        total = sum(v.size for v in model.params.values())
        times = []
        for _ in range(args.repeats):
            with Timer() as t:
                check_model(model, loss, X, y, progress=False)
            times.append(t.cpu)
        cpu = statistics.median(times)
        picks, _ = sample_picks(model, min(args.loop_sample or 10**9, 2000), rng)
        with Timer() as t:
            loop_gradient(model, loss, X, y, picks)
        loop = t.cpu / len(picks)
        name = f"{'-'.join(map(str, sizes))} {act}, N={n}"
        print(f"{name:<28} {total:>9,} {cpu:>12.3f} s {cpu / total * 1e6:>9.2f} {loop * 1e6:>14.1f} "
              f"{loop * total / cpu:>16.1f}x")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    set_threads(args.threads)
    import numpy as np

    print(f"gradcheck_full: NumPy {np.__version__}, {args.threads} BLAS thread(s), "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start"
          if hasattr(os, "getloadavg") else "")
    head_to_head("small", [784, 64, 10], 16, args, full_loop=True)
    head_to_head("large", [784, 256, 256, 10], 16, args, full_loop=args.loop_sample == 0)
    growth_table(args)
    if hasattr(os, "getloadavg"):
        print(f"\nload average at the end: {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
