"""chainrule.torch.check_function against torch.autograd.gradcheck on the same custom Functions:
do the verdicts agree, and what does each cost?

The Functions are the test suite's (tests/torch/torch_functions.py): correct ones (kinks included)
and ones with planted bugs (a missing mask, a wrong mask, a transposed gradient, a missing factor, a
sign, gradients swapped or returned in the wrong order, two outputs' upstreams crossed), each at
``--seeds`` random inputs. torch is run in its default (slow, full Jacobian) and fast mode; a
gradient torch refuses (wrong shape) counts as its "fail". Timings are interleaved (chainrule,
torch slow, torch fast for one case, then the next) and reported as medians per case and the
median ratio; torch's one-time lazy imports are paid before timing starts. Both run on one thread.

    python benchmarks/torch_gradcheck.py [--seeds 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "torch"))
import torch_functions as F  # noqa: E402

from chainrule.torch import check_function  # noqa: E402

CORRECT = {
    "ReLU": (F.ReLU, [(6, 5)]),
    "LeakyReLU": (F.LeakyReLU, [(6, 5)]),
    "MatMul": (F.MatMul, [(4, 3), (3, 2)]),
    "Linear": (F.Linear, [(4, 3), (2, 3), (2,)]),
    "Mul": (F.Mul, [(3, 4), (3, 4)]),
    "Square": (F.Square, [(5,)]),
    "Exp": (F.Exp, [(5,)]),
    "Max": (F.Max, [(4, 4), (4, 4)]),
    "SinCos": (F.SinCos, [(5,)]),
    "SetupContextMul": (F.SetupContextMul, [(3, 4), (3, 4)]),
    "AddBiasUnreduced": (F.AddBiasUnreduced, [(4, 3), (3,)]),
}
PLANTED = {
    "ReLUNoMask": (F.ReLUNoMask, [(6, 5)]),
    "LeakyReLUWrongMask": (F.LeakyReLUWrongMask, [(6, 5)]),
    "MatMulTransposed (square)": (F.MatMulTransposed, [(4, 3), (3, 3)]),
    "MatMulTransposed (shape)": (F.MatMulTransposed, [(4, 3), (3, 2)]),
    "SquareMissingFactor": (F.SquareMissingFactor, [(5,)]),
    "ExpSign": (F.ExpSign, [(5,)]),
    "MulSwapped": (F.MulSwapped, [(3, 4), (3, 4)]),
    "LinearSwapped": (F.LinearSwapped, [(4, 3), (2, 3), (2,)]),
    "SinCosCrossed": (F.SinCosCrossed, [(5,)]),
}


def inputs(shapes: list[tuple[int, ...]], seed: int) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(*s, dtype=torch.float64, generator=g) for s in shapes]


def torch_check(fn, xs, fast: bool) -> bool:
    args = tuple(x.clone().requires_grad_() for x in xs)
    try:
        return torch.autograd.gradcheck(fn.apply, args, raise_exception=False, fast_mode=fast)
    except RuntimeError:  # a gradient of the wrong shape: torch refuses it, a fail
        return False


def timed(f):
    start = time.perf_counter()
    value = f()
    return value, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    torch_check(F.Exp, inputs([(3,)], 0), False)  # torch's lazy imports (sympy), not part of a check
    check_function(F.Exp, *inputs([(3,)], 0))
    rows, ratios, ratios_fast = [], [], []
    agree = {"slow": 0, "fast": 0}
    total = 0
    for expected, cases in ((True, CORRECT), (False, PLANTED)):
        for label, (fn, shapes) in cases.items():
            times = {"chainrule": [], "slow": [], "fast": []}
            verdicts = set()
            named = set()
            for seed in range(args.seeds):
                xs = inputs(shapes, seed)
                report, t = timed(lambda fn=fn, xs=xs: check_function(fn, *xs))
                slow, ts = timed(lambda fn=fn, xs=xs: torch_check(fn, xs, False))
                fast, tf = timed(lambda fn=fn, xs=xs: torch_check(fn, xs, True))
                times["chainrule"].append(t)
                times["slow"].append(ts)
                times["fast"].append(tf)
                verdicts.add((report.passed, slow, fast))
                agree["slow"] += report.passed == slow
                agree["fast"] += report.passed == fast
                total += 1
                named |= {f"{n}:{p.pattern}" for n, p in report.parameters.items() if not p.passed}
                if report.error:
                    named.add("error")
                assert report.passed == expected, (label, seed, report.summary())
            med = {k: statistics.median(v) for k, v in times.items()}
            ratios.append(med["chainrule"] / med["slow"])
            ratios_fast.append(med["chainrule"] / med["fast"])
            verdict = "/".join("pass" if v else "FAIL" for v in sorted(verdicts)[0])
            rows.append((label, verdict, ", ".join(sorted(named)) or "-", med["chainrule"] * 1e3,
                         med["slow"] * 1e3, med["fast"] * 1e3))
    print(f"{'Function':28} {'chainrule/slow/fast':20} {'chainrule names':44} "
          f"{'chainrule':>9} {'torch':>7} {'fast':>7}  (median ms)")
    for label, verdict, named, a, b, c in rows:
        print(f"{label:28} {verdict:20} {named[:44]:44} {a:9.2f} {b:7.2f} {c:7.2f}")
    print(f"\nverdicts agreeing with torch.autograd.gradcheck: {agree['slow']}/{total} (default mode), "
          f"{agree['fast']}/{total} (fast_mode)")
    print(f"time, chainrule / torch: median {statistics.median(ratios):.2f}x (default mode), "
          f"{statistics.median(ratios_fast):.2f}x (fast_mode), over {len(rows)} Functions x {args.seeds} "
          "seeds")


if __name__ == "__main__":
    main()
