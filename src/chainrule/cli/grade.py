"""``chainrule grade``: grade a learner's notebook or module, one verdict per course function.

A thin face over ``chainrule.grading.grade``. ``--format text`` (default) prints the verdicts,
``json`` the report as one JSON document, ``gradescope`` Gradescope's autograder results.json;
``--out PATH`` writes it to a file (atomically) instead of stdout. Exit code 0 when every function
is correct, 1 when any is not, 2 on a usage error (unknown assignment, unreadable file). Every
function is decided by exact comparisons with the reference, so the checks' "undecided" exit code
3 does not occur here.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ._args import positive_float, positive_int, seed


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``grade`` subcommand to ``subparsers``."""
    from ..grading.assignments import ASSIGNMENTS

    p = subparsers.add_parser(
        "grade", help="grade a learner's notebook or module: a verdict per course function",
        description="Extract the learner's function definitions from NOTEBOOK.ipynb (code cells, read "
                    "with nbformat) or MODULE.py, run them in a separate process with a time and a "
                    "memory limit, and check each course function of the assignment against "
                    "chainrule's reference on the course's test cases and on random ones: values "
                    "returned, arguments modified in place, and the backward functions' diagnosis "
                    "(which layer step, what kind of bug). Exit code 0 when every function is "
                    "correct, 1 otherwise, 2 on a usage error.")
    p.add_argument("path", metavar="NOTEBOOK.ipynb|MODULE.py", help="the learner's notebook or module")
    p.add_argument("--assignment", required=True, choices=list(ASSIGNMENTS),
                   help="which course assignment's functions to grade")
    p.add_argument("--format", choices=("text", "json", "gradescope"), default="text",
                   help="text verdicts, the JSON report, or Gradescope's results.json (default: text)")
    p.add_argument("--out", metavar="PATH", default=None,
                   help="write the report to PATH (atomically) instead of printing it; e.g. "
                        "/autograder/results/results.json on Gradescope")
    p.add_argument("--seed", type=seed, default=0, help="seed of the random test cases (default: 0)")
    p.add_argument("--time-limit", type=positive_float, default=10.0, metavar="SECONDS",
                   help="longest a learner's function may run on one check (default: %(default)s)")
    p.add_argument("--total-time-limit", type=positive_float, default=120.0, metavar="SECONDS",
                   help="longest the whole grading may run (default: %(default)s)")
    p.add_argument("--memory-limit", type=positive_int, default=2048, metavar="MB",
                   help="address space of the process running the learner's code (default: %(default)s)")
    p.set_defaults(func=run)


def _usage(message: str, form: str) -> int:
    print(f"chainrule grade: error: {message}", file=sys.stderr)
    if form != "text":
        print(json.dumps({"ok": False, "error": message}))
    return 2


def run(args: argparse.Namespace) -> int:
    from ..grading.grader import SourceError, grade
    from ..io import atomic_write

    if args.out is not None:  # before the learner's code runs for a minute
        out = Path(args.out)
        if out.is_dir() or not out.parent.is_dir():
            why = "is a directory" if out.is_dir() else f"is in a missing directory ({out.parent})"
            return _usage(f"--out {args.out} {why}", args.format)
    try:
        report = grade(args.path, args.assignment, seed=args.seed, seconds_per_function=args.time_limit,
                       timeout=args.total_time_limit, memory_mb=args.memory_limit)
    except SourceError as e:
        return _usage(str(e), args.format)
    if args.format == "text":
        text = str(report)
    else:
        data = report.to_gradescope() if args.format == "gradescope" else report.to_dict()
        text = json.dumps(data, indent=2)
    if args.out is None:
        print(text)
    else:
        with atomic_write(args.out, "w") as f:
            f.write(text + "\n")
        print(f"{report.score:g}/{report.max_score:g}: wrote {args.out}")
    return 0 if report.passed else 1
