"""``grade``: a learner's notebook or module, checked function by function, in a separate process.

The learner's definitions are extracted without running anything (``source.extract``), then run in
``python -m chainrule.grading.worker`` under a memory limit (``resource.setrlimit``, RLIMIT_AS), a
time limit per function (a timer inside the worker) and one for the whole run (the parent kills
the worker, and RLIMIT_CPU stops it if the parent cannot). The worker reports each function as it
finishes it, so whatever happens to it, every course function gets a verdict:

- ``correct`` (full points), ``wrong`` (what is wrong and where), ``error`` (the learner's code
  raised: the exception with the learner's own traceback lines), ``timeout``, ``missing`` (never
  defined, or defined in a cell that does not parse), ``not graded`` (the worker died first).

The report prints as text, as JSON (``to_dict``) or as Gradescope's ``results.json``
(``to_gradescope``).
"""

from __future__ import annotations

import difflib
import json
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .assignments import ASSIGNMENTS
from .source import LearnerSource, SourceError, extract

__all__ = ["FunctionGrade", "GradeReport", "SourceError", "grade"]

_RAN_PAST = "the grading process ran past"
STATUSES = ("correct", "wrong", "error", "timeout", "missing", "not graded")


@dataclass
class FunctionGrade:
    """The verdict on one course function: ``status`` (one of ``STATUSES``), ``problems`` (what is
    wrong, most telling first; empty when correct), ``details`` (e.g. ``check_backward``'s report),
    ``score`` out of ``max_score`` (0 for a helper the course provides: graded only when defined)."""

    name: str
    status: str
    score: float
    max_score: float
    problems: list[str] = field(default_factory=list)
    details: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.status == "correct"

    @property
    def summary(self) -> str:
        """One line: "correct", or the status and the first problem."""
        if self.passed:
            return "correct"
        return f"{self.status.upper()}: {self.problems[0]}" if self.problems else self.status.upper()

    def to_dict(self) -> dict:
        return asdict(self) | {"passed": self.passed}


@dataclass
class GradeReport:
    """Every course function's verdict for one file and assignment; ``notes`` what else was found
    while loading (cells that do not parse, imports that failed); ``seconds`` the wall time."""

    path: str
    assignment: str
    functions: list[FunctionGrade]
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def score(self) -> float:
        return sum(f.score for f in self.functions)

    @property
    def max_score(self) -> float:
        return sum(f.max_score for f in self.functions)

    @property
    def outcome(self) -> str:
        """"correct" when every function graded is correct, else "wrong" (exact comparisons with
        the reference decide every function, so there is no undecided grade)."""
        return "correct" if all(f.passed for f in self.functions) else "wrong"

    @property
    def passed(self) -> bool:
        return self.outcome == "correct"

    def __str__(self) -> str:
        from ..gradcheck.render_text import width

        return self.format(width())

    def format(self, columns: int = 100) -> str:
        """The verdicts as text, each wrapped to ``columns`` under itself (a hanging indent)."""
        name = max((len(f.name) for f in self.functions), default=0)
        lines = [f"{self.path} ({self.assignment}): {self.score:g}/{self.max_score:g}"]

        def wrapped(first: str, text: str, indent: int) -> list[str]:
            return textwrap.wrap(text, max(columns, indent + 30), initial_indent=first,
                                 subsequent_indent=" " * indent, break_on_hyphens=False) or [first]

        for f in self.functions:
            lines += wrapped(f"  {f.name:<{name}}  ", f.summary, name + 4)
            lines += [line for p in f.problems[1:]
                      for line in wrapped(f"  {'':<{name}}  also: ", p, name + 10)]
        lines += [line for n in self.notes for line in wrapped("note: ", n, 6)]
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {"path": self.path, "assignment": self.assignment, "outcome": self.outcome,
                "score": self.score, "max_score": self.max_score, "seconds": round(self.seconds, 3),
                "functions": [f.to_dict() for f in self.functions], "notes": list(self.notes)}

    def to_gradescope(self) -> dict:
        """Gradescope's autograder ``results.json``: a test per course function."""
        tests = []
        for number, f in enumerate(self.functions, start=1):
            output = "correct" if f.passed else "\n".join([f.summary, *(f"also: {p}" for p in f.problems[1:]),
                                                            *f.details])
            tests.append({"name": f.name, "number": str(number), "score": f.score, "max_score": f.max_score,
                          "status": "passed" if f.passed else "failed", "output": output,
                          "visibility": "visible"})
        output = f"chainrule grade --assignment {self.assignment}: {self.score:g}/{self.max_score:g}"
        if self.notes:
            output += "\n" + "\n".join(f"note: {n}" for n in self.notes)
        return {"score": self.score, "execution_time": max(1, round(self.seconds)), "output": output,
                "visibility": "visible", "stdout_visibility": "hidden", "tests": tests}


def _missing(name: str, source: LearnerSource) -> str:
    if name in source.broken:
        return source.broken[name]
    close = difflib.get_close_matches(name, list(source.defined), n=1, cutoff=0.75)
    maybe = f" (is {close[0]!r}, defined in {source.defined[close[0]]}, meant to be it?)" if close else ""
    return f"no function named {name} in {Path(source.path).name}{maybe}"


def _worker_env() -> dict[str, str]:
    import chainrule

    env = dict(os.environ)
    root = str(Path(chainrule.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join([root, env["PYTHONPATH"]]) if env.get("PYTHONPATH") else root
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = "1"  # small arrays; and each BLAS thread's reserve counts against the memory limit
    env["MPLBACKEND"] = "Agg"
    return env


def _stop(child: subprocess.Popen) -> None:
    """Kill the worker's whole process group (the worker and anything the learner started)."""
    try:
        os.killpg(child.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _stopped_early(code: int, stderr: bytes, memory_mb: int) -> str | None:
    """Why the worker ended without finishing, in words (None when it finished)."""
    if code == 0:
        return None
    if code < 0:
        name = signal.Signals(-code).name if -code in signal.valid_signals() else f"signal {-code}"
        why = {"SIGKILL": f"; out of memory? the limit is {memory_mb} MB",
               "SIGXCPU": ": it ran out of CPU time"}.get(name, "")
        return f"the grading process was killed ({name}){why}"
    tail = stderr.decode(errors="replace").strip().splitlines()[-1:] or [""]
    memory = f"; the memory limit is {memory_mb} MB" if "MemoryError" in tail[0] else ""
    said = f": {tail[0]}" if tail[0] else ""
    return f"the grading process stopped (exit code {code}{said}){memory}"


def _run_worker(source: LearnerSource, assignment: str, *, seed: int, seconds_per_function: float,
                timeout: float, memory_mb: int) -> tuple[list[dict], str | None]:
    """The worker's events, and why it stopped early (None when it finished)."""
    with tempfile.TemporaryDirectory(prefix="chainrule-grade-") as tmp:
        job, out = Path(tmp, "job.json"), Path(tmp, "events.jsonl")
        job.write_text(json.dumps({"source": source.to_dict(), "assignment": assignment, "seed": seed,
                                   "seconds_per_function": seconds_per_function, "memory_mb": memory_mb}))
        out.touch()

        def limits() -> None:  # in the child, before Python starts: a CPU-time backstop
            import resource

            cpu = int(timeout) + 5
            resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))

        command = [sys.executable, "-m", "chainrule.grading.worker", str(job), str(out)]
        # stderr to a file, not a pipe: a process the learner's code starts would hold a pipe open
        # after the worker is done; and its own session, so that such a process is stopped with it
        with open(Path(tmp, "stderr"), "w+b") as stderr:
            child = subprocess.Popen(command, cwd=tmp, env=_worker_env(), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=stderr, preexec_fn=limits,
                                     start_new_session=True)
            try:
                child.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                _stop(child)
                child.wait()
                why = f"{_RAN_PAST} its {timeout:g} s limit and was stopped"
            else:
                stderr.seek(0)
                why = _stopped_early(child.returncode, stderr.read()[-4000:], memory_mb)
            finally:
                _stop(child)
        events = _events(out.read_text(encoding="utf-8", errors="replace"))
    return events, why


def _events(text: str) -> list[dict]:
    """The worker's JSON lines; a last line cut short by a kill is left out."""
    events = []
    for line in text.splitlines():
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(event, dict):
            events.append(event)
    return events


def grade(path: str | os.PathLike, assignment: str, *, seed: int = 0, seconds_per_function: float = 10.0,
          timeout: float = 120.0, memory_mb: int = 2048) -> GradeReport:
    """Grade the course functions of ``assignment`` ("step-by-step" or "gradient-checking") that
    ``path`` (a notebook .ipynb or a module .py) defines.

    The learner's code runs in a separate process: at most ``seconds_per_function`` per function,
    ``timeout`` seconds in all, ``memory_mb`` of address space. ``seed`` draws the random test
    cases. Raises ``SourceError`` for a file that cannot be read and ValueError for an unknown
    assignment; anything the learner's code does becomes a verdict.
    """
    if os.name != "posix":
        raise RuntimeError("grading limits the learner's process with the resource module: it needs Linux "
                           "or macOS")
    if assignment not in ASSIGNMENTS:
        raise ValueError(f"assignment must be one of {', '.join(map(repr, ASSIGNMENTS))}, got {assignment!r}")
    for value, name in ((seconds_per_function, "seconds_per_function"), (timeout, "timeout"),
                        (memory_mb, "memory_mb")):
        if not value > 0:
            raise ValueError(f"{name} must be positive, got {value!r}")
    start = time.perf_counter()
    source = extract(path)
    events, stopped = _run_worker(source, assignment, seed=seed, seconds_per_function=seconds_per_function,
                                  timeout=timeout, memory_mb=memory_mb)
    graded = {e["function"]: e for e in events if e.get("event") == "graded"}
    started = [e["function"] for e in events if e.get("event") == "start"]
    loaded = next((e for e in events if e.get("event") == "loaded"), {"problems": []})
    notes = list(source.notes) + [f"{p} (while defining the functions)" for p in loaded["problems"]]
    notes += loaded.get("notes", [])
    functions = []
    for spec in ASSIGNMENTS[assignment]:
        name, points = spec.name, spec.points
        if name in graded:
            e = graded[name]
            score = points if e["status"] == "correct" else 0.0
            functions.append(FunctionGrade(name, e["status"], score, points, e["problems"],
                                           e.get("details", [])))
        elif name not in source.defined:
            if points:  # a helper the course provides is only graded when the learner wrote one
                functions.append(FunctionGrade(name, "missing", 0.0, points, [_missing(name, source)]))
        elif started and started[-1] == name and stopped:
            status = "timeout" if stopped.startswith(_RAN_PAST) else "error"
            functions.append(FunctionGrade(name, status, 0.0, points, [f"{stopped} while grading it"]))
        elif stopped:
            functions.append(FunctionGrade(name, "not graded", 0.0, points,
                                           [f"{stopped} before it was graded"]))
        else:  # defined in a cell that parses, but running the cell did not define it
            why = next((p for p in loaded["problems"] if name in p), None)
            functions.append(FunctionGrade(name, "missing", 0.0, points,
                                           [f"defining it failed: {why}" if why else
                                            f"{name} is not a function after its cell ran"]))
    return GradeReport(str(path), assignment, functions, notes, time.perf_counter() - start)
