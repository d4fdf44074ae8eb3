"""A picture of the graph: Graphviz DOT text, rendered to PNG/SVG by the ``dot`` program.

Each tensor is a box (its name or operation, shape, and for small tensors the value and, after
``backward()``, the gradient); each operation is an ellipse between its operands and its result,
as in the computational graphs drawn by hand in the seeds. Constants are drawn dashed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np

from .._validate import check_choice, check_positive_int
from ..io import atomic_write
from .tensor import Tensor

INSTALL_HINT = ("install Graphviz, e.g. 'sudo apt-get install graphviz' (Debian/Ubuntu), "
                "'brew install graphviz' (macOS) or 'conda install -c conda-forge graphviz'; "
                "or save to_dot(tensor) to a .dot file and render it elsewhere")


class GraphvizNotFoundError(RuntimeError):
    """The Graphviz ``dot`` program is not on PATH."""


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _show(arr: np.ndarray, max_elements: int) -> str:
    if arr.size > max_elements:
        return f"{arr.size} values"
    # Four significant digits rather than four decimals: the values in a hand-drawn graph are often
    # tiny (seed 002's products are ~1e-4), and "0." would hide them.
    return np.array2string(np.asarray(arr), separator=", ", formatter={"float_kind": lambda v: f"{v:.4g}"})


def _nodes(root: Tensor) -> list[Tensor]:
    """Every tensor reachable from ``root`` through ``parents`` (explicit stack, no recursion)."""
    seen: dict[int, Tensor] = {}
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) not in seen:
            seen[id(node)] = node
            stack.extend(node.parents)
    return list(seen.values())


def to_dot(root: Tensor, *, max_elements: int = 4, rankdir: str = "LR") -> str:
    """The graph that computed ``root`` as Graphviz DOT text.

    Tensors with at most ``max_elements`` elements show their value (and gradient when one has
    been computed); larger ones show their size. ``rankdir`` is Graphviz's layout direction.
    """
    if not isinstance(root, Tensor):
        raise TypeError(f"to_dot: root must be a Tensor, got {type(root).__name__}")
    max_elements = check_positive_int(max_elements, "to_dot: max_elements")
    check_choice(rankdir, ("LR", "TB", "RL", "BT"), "to_dot: rankdir")
    lines = ["digraph chainrule {", f"  rankdir={rankdir};", '  node [fontname="Helvetica"];']
    nodes = _nodes(root)
    ids = {id(n): f"t{i}" for i, n in enumerate(nodes)}
    for node in nodes:
        tid = ids[id(node)]
        title = node.name or (node.op if node.parents else ("param" if node.requires_grad else "const"))
        label = [f"{title}  {node.shape} {node.dtype}", f"data {_show(node.data, max_elements)}"]
        if node.grad is not None:
            label.append(f"grad {_show(node.grad, max_elements)}")
        style = "" if node.requires_grad else ", style=dashed"
        lines.append(f"  {tid} [shape=box, label={_quote(chr(10).join(label))}{style}];")
        if node.parents:
            lines.append(f"  {tid}_op [shape=ellipse, label={_quote(node.op)}];")
            lines.append(f"  {tid}_op -> {tid};")
            lines.extend(f"  {ids[id(p)]} -> {tid}_op;" for p in node.parents)
    lines.append("}")
    return "\n".join(lines) + "\n"


def render(root: Tensor, path: str | os.PathLike, format: str | None = None) -> Path:  # noqa: A002
    """Draw the graph of ``root`` into ``path`` (PNG or SVG) with Graphviz's ``dot`` program.

    ``format`` is "png" or "svg"; by default it is taken from ``path``'s suffix. The file is
    written atomically. Raises ``GraphvizNotFoundError`` (with install instructions) when ``dot``
    is not on PATH.
    """
    path = Path(path)
    fmt = (format or path.suffix.lstrip(".")).lower()
    if fmt not in ("png", "svg"):
        raise ValueError(f"render: format must be 'png' or 'svg', got {fmt!r} (from "
                         f"{'format' if format else 'the suffix of path ' + repr(str(path))})")
    dot = shutil.which("dot")
    if dot is None:
        raise GraphvizNotFoundError(f"render needs the Graphviz 'dot' program, which is not on PATH: "
                                    f"{INSTALL_HINT}")
    result = subprocess.run([dot, f"-T{fmt}"], input=to_dot(root).encode(), capture_output=True,
                            check=False)
    if result.returncode != 0:
        raise RuntimeError(f"render: dot exited with status {result.returncode}: "
                           f"{result.stderr.decode(errors='replace').strip()}")
    with atomic_write(path) as fh:
        fh.write(result.stdout)
    return path
