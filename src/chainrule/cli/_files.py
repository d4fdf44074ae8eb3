"""Files the prediction commands read and write: a saved model, a data file, the predictions.

A data file is one of:

* ``.npy``: the inputs X (N, D);
* ``.npz``: the inputs under ``X`` (or ``x``, ``inputs``, ``data``; a lone array is X) and the
  labels under ``y`` (or ``labels``, ``targets``);
* ``.csv``: comma-separated numbers, one example per row, an optional header row; with labels
  (``chainrule evaluate``) the last column is the label.

Nothing is unpickled (``allow_pickle=False``), and every refusal names the file and what was
expected next to what was found.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..io import atomic_write, load, load_metadata
from ..nn import LOSSES, Loss, Sequential

X_KEYS = ("X", "x", "inputs", "data")
Y_KEYS = ("y", "labels", "targets")
FORMATS = (".npy", ".npz", ".csv")


def load_model(path: Path) -> tuple[Sequential, dict]:
    """The model saved at ``path`` and its metadata (``{}`` when none was stored)."""
    model = load(path)
    return model, load_metadata(path) or {}


def _csv(path: Path) -> np.ndarray:
    lines = [ln for ln in path.read_text().splitlines() if ln.strip()]
    if not lines:
        raise ValueError(f"{path} is empty: expected comma-separated numbers, one example per row")
    try:
        [float(v) for v in lines[0].split(",")]
    except ValueError:
        lines = lines[1:]  # a header row
    rows = []
    for i, line in enumerate(lines):
        try:
            rows.append([float(v) for v in line.split(",")])
        except ValueError:
            raise ValueError(f"{path}, data row {i + 1}: expected comma-separated numbers, got {line[:60]!r}"
                             ) from None
    widths = sorted({len(r) for r in rows})
    if len(widths) > 1:
        raise ValueError(f"{path}: every row must have the same number of columns, found {widths}")
    if not rows:
        raise ValueError(f"{path} has a header row but no data")
    return np.array(rows, dtype=np.float64)


def _npz_entry(data: np.lib.npyio.NpzFile, path: Path, keys: tuple[str, ...], what: str) -> np.ndarray | None:
    found = [k for k in keys if k in data.files]
    if len(found) > 1:
        raise ValueError(f"{path} has several arrays that could be the {what}: {found}; keep one")
    return data[found[0]] if found else None


def _read_labels(path: Path) -> np.ndarray:
    """Labels (N,) from their own .npy or .csv file (a single column)."""
    if not path.is_file():
        raise ValueError(f"--labels: no such file: {str(path)!r}")
    if path.suffix.lower() not in (".npy", ".csv"):
        raise ValueError(f"--labels must be a .npy or .csv file, got {path.name!r}")
    try:
        y = np.load(path, allow_pickle=False) if path.suffix.lower() == ".npy" else _csv(path)
    except (OSError, EOFError, ValueError) as e:
        raise ValueError(f"--labels: cannot read {path} as numbers: {e}") from None
    y = y.reshape(-1) if y.ndim == 2 and y.shape[1] == 1 else y
    if y.ndim != 1:
        raise ValueError(f"--labels must hold one label per example, shape (N,), got {y.shape} in {path}")
    return y


def read_data(path: Path, *, labels: bool,
              labels_path: Path | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """(X, y) from ``path``; y is None unless ``labels``. ``labels_path`` (.npy or .csv) gives the
    labels in their own file instead."""
    if not path.is_file():
        raise ValueError(f"no data file at {str(path)!r}")
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"DATA must be a {', '.join(FORMATS)} file, got {path.name!r}")
    y = None
    try:
        if suffix == ".npy":
            X = np.load(path, allow_pickle=False)
        elif suffix == ".npz":
            with np.load(path, allow_pickle=False) as data:
                X = _npz_entry(data, path, X_KEYS, "inputs")
                if X is None:
                    if len(data.files) != 1:
                        raise ValueError(f"{path} holds {sorted(data.files)}: name the inputs one of "
                                         f"{list(X_KEYS)} and the labels one of {list(Y_KEYS)}")
                    X = data[data.files[0]]
                y = _npz_entry(data, path, Y_KEYS, "labels") if labels else None
        else:
            table = _csv(path)
            if labels and labels_path is None:
                if table.shape[1] < 2:
                    raise ValueError(f"{path} has one column: with labels, the last column is the label and "
                                     "the others are the inputs")
                X, y = table[:, :-1], table[:, -1]
            else:
                X = table
    except (OSError, EOFError) as e:
        raise ValueError(f"cannot read {path}: {e}") from None
    except ValueError as e:
        if "pickle" in str(e).lower():
            raise ValueError(f"{path} holds Python objects, which are never unpickled: save plain numeric "
                             "arrays") from None
        raise
    if labels:
        if labels_path is not None:
            y = _read_labels(labels_path)
        if y is None:
            raise ValueError(f"{path} has no labels: store them in the .npz as one of {list(Y_KEYS)}, as the "
                             "last column of a .csv, or give them with --labels FILE")
    X = np.asarray(X)
    if X.dtype.kind not in "biuf" or X.dtype == bool:
        raise ValueError(f"the inputs in {path} must be numbers, got dtype {X.dtype}")
    if X.ndim == 1:
        raise ValueError(f"the inputs in {path} must be 2-D (examples x features), got shape {X.shape}")
    if y is not None:
        y = np.asarray(y)
        if y.dtype.kind == "f" and np.all(np.isfinite(y)) and np.all(y == np.round(y)):
            y = y.astype(np.int64)  # class labels read from a CSV arrive as floats
        if len(y) != len(X):
            raise ValueError(f"{len(X)} examples but {len(y)} labels in {labels_path or path}")
    return X, y


def check_width(model: Sequential, X: np.ndarray, path: Path, labels_in_file: bool) -> None:
    """A clear error when DATA's column count is not the model's input width."""
    first = next((v for v in model.params.values() if np.ndim(v) == 2), None)
    if first is None or X.shape[1] == np.shape(first)[0]:
        return
    width = int(np.shape(first)[0])
    hint = ("; the last column of a .csv is the label only for chainrule evaluate"
            if path.suffix.lower() == ".csv" and not labels_in_file and X.shape[1] == width + 1 else "")
    raise ValueError(f"the model takes {width} input features, but the inputs in {path} have {X.shape[1]} "
                     f"columns{hint}")


def model_loss(model: Sequential, meta: dict, name: str | None) -> Loss:
    """The loss to evaluate with: ``name`` if given, else the one the model was trained with (its
    metadata's ``config["loss"]``), else cross-entropy for several outputs, logistic for one."""
    config = meta.get("config") if isinstance(meta.get("config"), dict) else {}
    if name is None:
        name = config.get("loss") if config.get("loss") in LOSSES else None
    if name is None:
        widths = [int(np.shape(v)[1]) for k, v in model.params.items() if k.endswith("W") and np.ndim(v) == 2]
        name = "bce_with_logits" if widths and widths[-1] == 1 else "cross_entropy"
    return LOSSES[name]()


def write_predictions(values: np.ndarray, out: Path | None) -> str | None:
    """Predictions (N,) or probabilities (N, C) as text lines (CSV rows) on stdout, or to ``out``:
    ``.npy`` exact, anything else text, written atomically. Returns the text when printed."""
    if values.ndim == 1:
        lines = [str(int(v)) if values.dtype.kind in "iu" else repr(float(v)) for v in values]
    else:
        lines = [",".join(f"{float(v):.8g}" for v in row) for row in values]
    text = "\n".join(lines) + "\n"
    if out is None:
        return text
    if out.suffix.lower() == ".npy":
        with atomic_write(out) as f:
            np.save(f, values, allow_pickle=False)
    else:
        with atomic_write(out, "w") as f:
            f.write(text)
    return None


def finite(value: float) -> float | None:
    return value if math.isfinite(value) else None
