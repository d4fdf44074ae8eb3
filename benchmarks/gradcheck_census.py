"""Issue 9's census at full size: >= 1,000 correct networks and >= 500 planted bugs through the
public gradient checks, with the issue's targets.

    PYTHONPATH=src python benchmarks/gradcheck_census.py            # 1,020 correct + 524 bugs
    PYTHONPATH=src python benchmarks/gradcheck_census.py --jobs 2   # two worker processes
    PYTHONPATH=src python benchmarks/gradcheck_census.py --start 0  # the test suite's seeds

Families (the generator is tests/gradcheck/census.py): course (correct course-style networks
through check_gradients and dlai.gradient_check_n), model (correct Sequential models through
check_model), scalar (seed-002-style scalar graphs through check_gradients), bug-course (planted
bugs in the course-style backward; activation bugs through dlai.check_backward) and bug-model
(subclassed layers with a wrong backward through check_model).

Prints per family the counts and rates of each outcome, false alarms, undecided, false passes,
bugs called wrong, bugs named with their specific pattern, untrue patterns; then every case that
misses a target, with its seed and what the checker said; then the wall time. Exits 1 when a
target is missed. Seeds start at --start (default 1000, past the test suite's, so the census
runs on networks the checker's tests have not seen).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "gradcheck"))

import census  # noqa: E402

DEFAULTS = {"course": 480, "model": 300, "scalar": 240, "bug-course": 420, "bug-model": 104}


def _pct(k: int, n: int) -> str:
    return f"{k:>4} ({k / n:6.1%})" if n else f"{k:>4}        "


def report(results: list[census.Result], wall: float, jobs: int, out=sys.stdout) -> list[str]:
    tallies = census.tally(results)
    print(f"{'family':<11}{'cases':>6}  {'correct':>13}  {'wrong':>13}  {'undecided':>13}  {'error':>5}"
          f"  {'named':>15}  {'untrue':>6}  {'collateral':>10}", file=out)
    for fam in census.FAMILIES:
        t = tallies.get(fam)
        if t is None:
            continue
        o = t.outcomes
        named = f"{t.named}/{t.nameable}" + (f" {t.named / t.nameable:5.1%}" if t.nameable else "")
        print(f"{fam:<11}{t.n:>6}  {_pct(o['correct'], t.n)}  {_pct(o['wrong'], t.n)}  "
              f"{_pct(o['undecided'], t.n)}  {o['error']:>5}  {named:>15}  {t.untrue:>6}  {t.collateral:>10}",
              file=out)
    good = [r for r in results if r.case.correct]
    bugs = [r for r in results if not r.case.correct]
    print(file=out)
    print(f"correct cases {len(good)}: false alarms {sum(r.outcome == 'wrong' for r in good)}, "
          f"undecided {sum(r.outcome == 'undecided' for r in good)}, "
          f"errors {sum(r.outcome == 'error' for r in good)}", file=out)
    nameable = [r for r in bugs if r.named is not None]
    print(f"planted bugs {len(bugs)}: false passes {sum(r.false_pass for r in bugs)} (outcome correct "
          f"{sum(r.outcome == 'correct' for r in bugs)}, passed while undecided "
          f"{sum(r.false_pass and r.outcome == 'undecided' for r in bugs)}), "
          f"wrong {sum(r.outcome == 'wrong' for r in bugs)}, undecided "
          f"{sum(r.outcome == 'undecided' for r in bugs)}, named {sum(bool(r.named) for r in nameable)}"
          f"/{len(nameable)}, errors {sum(r.outcome == 'error' for r in bugs)}", file=out)
    print(f"cases with untrue patterns: {sum(bool(r.untrue) for r in results)}; bug cases with correct "
          f"parts called wrong (collateral): {sum(bool(r.collateral) for r in bugs)}", file=out)
    by_kind: dict[tuple[str, str], list[int]] = {}
    for r in results:
        row = by_kind.setdefault((r.case.family, r.case.kind), [0, 0])
        row[0] += 1
        row[1] += bool(census.failure_reasons(r))
    misses = [f"{f}/{k} {bad}/{n}" for (f, k), (n, bad) in sorted(by_kind.items()) if bad]
    print("\nmisses by kind: " + (", ".join(misses) or "none"), file=out)
    failing = [(census.failure_reasons(r), r) for r in results if census.failure_reasons(r)]
    if failing:
        print(f"\n{len(failing)} cases miss a target:", file=out)
        for why, r in failing:
            print(f"  [{', '.join(why)}] {r.case.label}\n      said: {r.said[:400]}", file=out)
    missed = census.missed_targets(results)
    print(file=out)
    for name, text in census.TARGETS.items():
        print(f"  target {name}: {text}", file=out)
    print("\nMISSED:\n  " + "\n  ".join(missed) if missed else "\nall targets met", file=out)
    print(f"\n{len(results)} cases in {wall:.1f} s wall ({jobs} process{'es' if jobs > 1 else ''}; "
          f"{wall / max(len(results), 1) * 1e3:.0f} ms per case)", file=out)
    return missed


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for fam, n in DEFAULTS.items():
        p.add_argument(f"--{fam}", type=int, default=n, metavar="N", help=f"cases of {fam} (default {n})")
    p.add_argument("--start", type=int, default=1000, help="first seed (default 1000)")
    p.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    p.add_argument("--json", action="store_true", help="also print one line of JSON: the figures per family, "
                   "the missed targets and every miss with its seed")
    args = p.parse_args(argv)
    sizes = {fam: getattr(args, fam.replace("-", "_")) for fam in census.FAMILIES}
    specs = [(fam, i, args.start) for fam in census.FAMILIES for i in range(sizes[fam])]
    t0 = time.perf_counter()
    if args.jobs > 1:
        with multiprocessing.get_context("fork").Pool(args.jobs) as pool:
            results = pool.map(census.run_spec, specs, chunksize=8)
    else:
        results = [census.run_spec(s) for s in specs]
    wall = time.perf_counter() - t0
    missed = report(results, wall, args.jobs)
    if args.json:
        print(json.dumps(summary(results, missed, wall)))
    return 1 if missed else 0


def summary(results: list[census.Result], missed: list[str], wall: float) -> dict:
    families = {}
    for fam, t in census.tally(results).items():
        families[fam] = {"cases": t.n, **t.outcomes, "named": t.named, "nameable": t.nameable,
                         "untrue": t.untrue, "collateral": t.collateral,
                         "false_passes": sum(r.false_pass for r in results if r.case.family == fam)}
    misses = [{"family": r.case.family, "kind": r.case.kind, "seed": r.case.seed, "entry": r.case.entry,
               "info": r.case.info, "outcome": r.outcome, "why": census.failure_reasons(r), "said": r.said}
              for r in results if census.failure_reasons(r)]
    return {"families": families, "missed": missed, "misses": misses, "wall_s": round(wall, 1)}


if __name__ == "__main__":
    sys.exit(main())
