"""The separate process that runs a learner's code: ``python -m chainrule.grading.worker JOB OUT``.

JOB is the JSON of a ``LearnerSource`` plus the assignment, the seed, the per-function time limit
and the memory limit; OUT receives one JSON line per event, written and flushed as it happens, so
the parent knows how far grading got if this process is stopped (an infinite loop at C level, the
memory limit reached outside Python). The memory limit is ``resource.setrlimit(RLIMIT_AS)``; each
function's time limit is a real-time timer whose signal raises ``TimeLimit``, a BaseException the
learner's ``except Exception`` cannot swallow. The learner's prints go nowhere.

Before the learner's code runs, the modules the course's notebooks import and that only the
course's servers have (``dnn_utils_v2``, ``testCases_v2``, ``gc_utils``, ``public_tests``, ...)
are made from chainrule's: a notebook's own imports then work unchanged.
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import linecache
import signal
import sys
import traceback
import types
import zlib
from collections.abc import Callable

_MB = 1024 * 1024


class TimeLimit(BaseException):
    """The per-function time limit ran out (BaseException: the learner's ``except Exception`` lets it by)."""


def _limit_memory(megabytes: int) -> str | None:
    """Cap the address space; why not, where the platform refuses (macOS may)."""
    import resource

    limit = megabytes * _MB
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ValueError, OSError) as e:
        return f"the memory limit could not be set on this platform ({e}): only the time limits apply"
    return None


def _course_modules() -> None:
    """The course's helper modules, made from chainrule's, in ``sys.modules``."""
    import numpy as np

    from .. import dlai
    from ..dlai import testcases

    def module(name: str, **attrs: object) -> None:
        mod = types.ModuleType(name, f"chainrule's stand-in for the course's {name}")
        mod.__dict__.update(attrs)
        if attrs:
            mod.__all__ = list(attrs)
        sys.modules.setdefault(name, mod)

    helpers = {n: getattr(dlai, n) for n in ("sigmoid", "sigmoid_backward", "relu", "relu_backward")}
    for name in ("dnn_utils", "dnn_utils_v2", "dnn_app_utils_v2", "dnn_app_utils_v3"):
        module(name, **helpers)
    cases = {n: getattr(testcases, n) for n in testcases.__all__}
    for name in ("testCases", "testCases_v2", "testCases_v3", "testCases_v4", "testCases_v4a"):
        module(name, **cases)
    module("gc_utils", sigmoid=lambda x: 1 / (1 + np.exp(-x)), relu=lambda x: np.maximum(0, x),
           dictionary_to_vector=dlai.dictionary_to_vector, vector_to_dictionary=dlai.vector_to_dictionary,
           gradients_to_vector=dlai.gradients_to_vector)
    for name in ("public_tests", "test_utils", "outputs"):  # graders' test helpers: never called here
        module(name)


def learner_trace(error: BaseException, files: set[str]) -> str:
    """``error`` with the traceback lines of the learner's own cells only."""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename in files]
    lines = [f"{f.filename}, line {f.lineno}, in {f.name}: {(f.line or '').strip()}" for f in frames[-3:]]
    text = f"{type(error).__name__}: {error}".strip().removesuffix(":")
    case = getattr(error, "grading_case", None)
    return text + (f" on {case}" if case else "") + (f" (at {'; '.join(lines)})" if lines else "")


def _load(source: dict, ns: dict) -> tuple[list[str], set[str]]:
    """Run the kept statements of every cell in ``ns``; what failed, and the cells' file names."""
    problems, files = [], set()
    for cell in source["cells"]:
        name, text = cell["name"], cell["source"]
        files.add(name)
        linecache.cache[name] = (len(text), None, text.splitlines(True), name)
        tree = ast.parse(text, filename=name)
        for i in cell["keep"]:
            node = tree.body[i]
            code = compile(ast.Module(body=[node], type_ignores=[]), name, "exec")
            try:
                exec(code, ns)
            except (Exception, SystemExit) as e:  # the learner's import of a module we lack, and such
                problems.append(f"{name}, line {node.lineno}: {type(e).__name__}: {e}")
    return problems, files


def _grade_one(check: Callable, fn: Callable, ctx, seconds: float, files: set[str], memory_mb: int) -> dict:
    from .compare import Call

    ctx.call, ctx.details = Call(), []
    timeout = f"did not finish within {seconds:g} s (an infinite loop?)"
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        problems = check(fn, ctx)
    except TimeLimit:
        return {"status": "timeout", "problems": [timeout]}
    except MemoryError:
        return {"status": "error", "problems": [f"ran out of memory (the grader's limit is {memory_mb} MB)"]}
    except RecursionError as e:
        return {"status": "error", "problems": [f"raised {learner_trace(e, files)} (unbounded recursion?)"]}
    except (Exception, SystemExit, KeyboardInterrupt) as e:  # sys.exit() in a learner's function too
        if isinstance(e.__context__, TimeLimit):  # re-raised as another error (e.g. by __set_name__)
            return {"status": "timeout", "problems": [timeout]}
        return {"status": "error", "problems": [f"raised {learner_trace(e, files)}"]}
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    problems = problems + [p for p in ctx.call.problems if p not in problems]
    return {"status": "wrong" if problems else "correct", "problems": problems, "details": ctx.details}


def main(job_path: str, out_path: str) -> None:
    with open(job_path, encoding="utf-8") as f:
        job = json.load(f)
    unlimited = _limit_memory(int(job["memory_mb"]))
    import numpy as np

    from .assignments import ASSIGNMENTS, Context, references

    def alarm(signum: int, frame: object) -> None:
        raise TimeLimit

    signal.signal(signal.SIGALRM, alarm)
    out = open(out_path, "a", encoding="utf-8")  # noqa: SIM115 (open for the whole run, flushed per line)

    def emit(event: dict) -> None:
        out.write(json.dumps(event) + "\n")
        out.flush()

    _course_modules()
    source, assignment = job["source"], job["assignment"]
    ns: dict = {"__name__": "__learner__", "__builtins__": __builtins__}
    sink = io.StringIO()
    seconds = float(job["seconds_per_function"])
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        # no per-function timer here: importing matplotlib alone can take seconds on a loaded
        # machine, and only imports, definitions and constants run (the parent's limit still holds)
        problems, files = _load(source, ns)
        emit({"event": "loaded", "problems": problems, "notes": [unlimited] if unlimited else []})
        refs = references(assignment)
        for function in ASSIGNMENTS[assignment]:
            name = function.name
            fn = ns.get(name)
            if name not in source["defined"] or not callable(fn):
                continue  # the parent says why it is missing (never defined, or its cell is broken)
            if getattr(fn, "__code__", None) is not None and fn.__code__.co_filename not in files:
                continue  # the name is bound to something the learner imported, not their own function
            emit({"event": "start", "function": name})
            ctx = Context(np.random.default_rng([int(job["seed"]), zlib.crc32(name.encode())]), ns, refs)
            with ctx.isolated(name):
                result = _grade_one(function.check, fn, ctx, seconds, files, int(job["memory_mb"]))
            sink.seek(0)
            sink.truncate()
            emit({"event": "graded", "function": name, **result})
    emit({"event": "done"})
    out.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
