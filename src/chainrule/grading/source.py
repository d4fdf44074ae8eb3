"""What a learner's notebook or module defines: its functions, and the imports and constants they need.

A notebook is read with nbformat (``pip install "chainrule[grade]"``); a ``.py`` module is one cell.
Nothing here runs the learner's code: each code cell is parsed, and only its top-level imports,
function and class definitions, and assignments whose value calls nothing but NumPy or math
(``layers_dims = [12288, 20, 7, 5, 1]``, ``EPS = np.float64(1e-7)``) are kept, in order, with
their cell and line numbers. The rest (test calls, training loops, plots, ``np.random.seed(1)``,
``data = load_data()``) is left out, so a notebook that trains for an hour or loops forever at the
top level is graded in seconds. IPython syntax (``%matplotlib inline``, ``!pip``, ``%%time``
cells) is dropped. A cell that does not parse is recorded with the error and the functions it
would have defined, so each of those gets a verdict that says why it is missing.
"""

from __future__ import annotations

import ast
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Cell:
    """One code cell: ``name`` as verdicts and tracebacks call it ("cell 7", counting code cells
    from 1, or the module's file name), its source with IPython lines blanked (line numbers
    unchanged), and the indices of the top-level statements kept."""

    name: str
    source: str
    keep: tuple[int, ...]


@dataclass
class LearnerSource:
    """The learner's code to run: ``cells`` in order, ``defined`` function name -> its cell's name,
    ``broken`` function name -> why it cannot be run (its cell does not parse), ``notes`` what
    else was found (cells skipped, and why)."""

    path: str
    cells: list[Cell] = field(default_factory=list)
    defined: dict[str, str] = field(default_factory=dict)
    broken: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> LearnerSource:
        cells = [Cell(c["name"], c["source"], tuple(c["keep"])) for c in data["cells"]]
        return cls(data["path"], cells, dict(data["defined"]), dict(data["broken"]), list(data["notes"]))


class SourceError(ValueError):
    """The file cannot be read as a notebook or a Python module (a usage error, exit code 2)."""


_MAGIC = re.compile(r"^\s*[%!]")
_DEF = re.compile(r"^\s*(?:async\s+)?def\s+([A-Za-z_]\w*)\s*\(", re.MULTILINE)


def _without_ipython(source: str) -> str | None:
    """``source`` with IPython-only lines blanked (keeping line numbers); None for a cell magic cell."""
    if source.lstrip().startswith("%%"):
        return None
    return "\n".join("" if _MAGIC.match(line) else line for line in source.split("\n"))


# NumPy and math calls may build a constant (EPS = np.float64(1e-7), I = np.eye(3)); these read
# or write files and are not constants.
_IO = {"load", "loadtxt", "genfromtxt", "fromfile", "memmap", "save", "savez", "savez_compressed",
       "savetxt", "tofile", "fromregex", "open"}


def _harmless(call: ast.Call) -> bool:
    """``np.<f>(...)`` / ``numpy.<f>`` / ``math.<f>`` with no file access."""
    chain, f = [], call.func
    while isinstance(f, ast.Attribute):
        chain.append(f.attr)
        f = f.value
    return isinstance(f, ast.Name) and f.id in ("np", "numpy", "math") and bool(chain) \
        and not _IO.intersection(chain)


def _calls_nothing(node: ast.AST) -> bool:
    """No call but NumPy/math ones, nothing that awaits, yields or assigns within."""
    for n in ast.walk(node):
        if isinstance(n, (ast.Await, ast.Yield, ast.YieldFrom, ast.NamedExpr, ast.Lambda)):
            return False
        if isinstance(n, ast.Call) and not _harmless(n):
            return False
    return True


def _kept(node: ast.stmt) -> bool:
    """Definitions and what they need; never a statement that does work when run."""
    if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return True
    if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return all(isinstance(t, ast.Name) for t in targets) and _calls_nothing(node.value)
    return False


def _code_cells(path: Path) -> list[str]:
    if path.suffix == ".py":
        try:
            return [path.read_text(encoding="utf-8")]
        except (OSError, UnicodeDecodeError) as e:
            raise SourceError(f"cannot read {path}: {e}") from e
    if path.suffix != ".ipynb":
        raise SourceError(f"{path}: expected a notebook (.ipynb) or a Python module (.py), "
                          f"got {path.suffix or 'no suffix'!r}")
    try:
        import nbformat
    except ImportError as e:
        raise SourceError('grading a notebook needs nbformat: pip install "chainrule[grade]"') from e
    try:
        notebook = nbformat.read(os.fspath(path), as_version=4)
    except Exception as e:  # nbformat raises several kinds (JSON, validation, OS) for a bad file
        raise SourceError(f"{path} is not a readable Jupyter notebook: {type(e).__name__}: {e}") from e
    return [cell.source for cell in notebook.cells if cell.cell_type == "code"]


def extract(path: str | os.PathLike) -> LearnerSource:
    """The learner's definitions in ``path`` (.ipynb or .py), without running anything.

    Raises ``SourceError`` when the file is missing or is neither a notebook nor a module; a cell
    with a syntax error is not an error here (it is recorded in ``broken``/``notes``).
    """
    path = Path(path)
    if not path.is_file():
        raise SourceError(f"no such file: {path}")
    out = LearnerSource(str(path))
    single = path.suffix == ".py"
    for number, raw in enumerate(_code_cells(path), start=1):
        where = path.name if single else f"cell {number}"
        source = _without_ipython(raw)
        if source is None:
            out.notes.append(f"{where} is a cell magic ({raw.split()[0]}) cell: not run")
            continue
        try:
            tree = ast.parse(source, filename=where)
        except SyntaxError as e:
            error = f"a syntax error (line {e.lineno}: {e.msg})"
            out.notes.append(f"{where} has {error}: not run")
            for name in _DEF.findall(source):
                out.broken[name] = f"it is defined in {where}, which has {error}, so it could not be run"
                out.defined.pop(name, None)
            continue
        keep = tuple(i for i, node in enumerate(tree.body) if _kept(node))
        if not keep:
            continue
        out.cells.append(Cell(where, source, keep))
        for i in keep:
            node = tree.body[i]
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                out.defined[node.name] = where
                out.broken.pop(node.name, None)  # redefined later in a cell that parses
    return out

