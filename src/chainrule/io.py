"""Save and load models (any chainrule Layer) as ``.npz`` files, and write any file atomically.

Format (version 1): a zip archive that ``numpy.load(path, allow_pickle=False)`` also reads. The
entry ``__architecture__.npy`` holds UTF-8 JSON as a uint8 array::

    {"format": "chainrule.model", "version": 1, "metadata": {...},
     "layers": [{"type": "Linear", "in_features": 2, "out_features": 64, "dtype": "float64"},
                {"type": "ReLU"}, {"type": "LeakyReLU", "negative_slope": 0.01}, ...]}

and each parameter and buffer is an entry ``"<name>.npy"`` named as in ``model.state_dict()``
("0.W", "0.b", "1.running_mean"). A model that is not a ``Sequential`` is stored under "model"
instead of "layers"; layers other than the built-in ones are recorded by class path and
constructor arguments (``chainrule._architecture`` documents the rule and what ``load`` needs).
Entries carry a fixed timestamp and a fixed order, so the same model saved twice gives the same
bytes. Nothing is ever pickled.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import numpy as np

from ._architecture import build, custom_classes, describe
from .nn.module import Layer, buffers_of
from .nn.sequential import Sequential

FORMAT, VERSION = "chainrule.model", 1
ARCHITECTURE = "__architecture__"
_DATE = (1980, 1, 1, 0, 0, 0)
_MAX_ARCHITECTURE_BYTES = 1 << 24


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb") -> Iterator:
    """Open a temporary file beside ``path`` for writing; on success flush it to disk and rename
    it over ``path`` (``os.replace``), so readers never see a half-written file. On error the
    temporary file is removed and ``path`` is left as it was."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"cannot write {str(path)!r}: it is a directory; give a file name inside it")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"cannot write {str(path)!r}: directory {str(path.parent)!r} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        # Name the file the user asked for, not our temporary (e.g. a read-only directory).
        raise type(exc)(exc.errno, f"cannot write {str(path)!r}: {exc.strerror}") from exc
    try:
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def save(model: Layer, path: str | os.PathLike, *, metadata: dict | None = None) -> Path:
    """Write ``model`` (any chainrule Layer: a ``Sequential``, one layer, your own layer or composite)
    to ``path`` atomically; return the path.

    The architecture is recorded as JSON (built-in layers by type and fields, other layers by class
    path and constructor arguments: see ``chainrule._architecture``), the state as one entry per
    parameter and buffer (BatchNorm1d's running statistics), named as in ``state_dict()``.
    ``metadata``: an optional JSON-serialisable dict (e.g. the training config) stored with the
    architecture; read it back with ``load_metadata``. The path is used exactly as given.
    """
    if not isinstance(model, Layer):
        raise TypeError(f"model must be a chainrule Layer (a Sequential, a layer), "
                        f"got {type(model).__name__}")
    if metadata is not None and not isinstance(metadata, dict):
        raise TypeError(f"metadata must be a dict or None, got {type(metadata).__name__}")
    if type(model) is Sequential:  # version 1's layout, so older readers still read plain chains
        described = {"layers": [describe(layer, str(i)) for i, layer in enumerate(model)]}
    else:
        described = {"model": describe(model, "model")}
    doc = {"format": FORMAT, "version": VERSION, "metadata": metadata or {}, **described}
    try:
        text = json.dumps(doc, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"metadata must be JSON-serialisable (str/int/float/bool/None, lists, dicts; "
                        f"finite floats): {exc}") from None
    state = dict(model.params.items())
    clash = sorted(set(state) & set(buffers_of(model)))
    if clash:
        raise ValueError(f"cannot save: {clash} name both a parameter and a buffer")
    state.update(buffers_of(model).items())
    entries = {ARCHITECTURE: np.frombuffer(text.encode("utf-8"), dtype=np.uint8), **state}
    path = Path(path)
    with atomic_write(path) as f, zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, arr in entries.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_DATE)
            info.external_attr = 0o644 << 16
            with zf.open(info, "w", force_zip64=True) as entry:
                # asarray, not ascontiguousarray: a 0-d buffer (a counter) stays 0-d
                np.lib.format.write_array(entry, np.asarray(arr, order="C"), allow_pickle=False)
    return path


def _bad(path: Path, problem: str) -> ValueError:
    return ValueError(f"cannot load model from {str(path)!r}: {problem}")


def _read_entry(zf: zipfile.ZipFile, path: Path, name: str, shape: tuple | None = None,
                dtype: np.dtype | None = None) -> np.ndarray:
    """Read ``name.npy``, checking its header (shape, dtype) before reading any data."""
    member = f"{name}.npy"
    try:
        with zf.open(member) as f:
            version = np.lib.format.read_magic(f)
            header = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
                np.lib.format.read_array_header_2_0
            got_shape, fortran, got_dtype = header(f)
            if got_dtype.hasobject:
                raise ValueError("it holds Python objects (a pickle); chainrule never unpickles")
            stored = zf.getinfo(member).file_size - f.tell()
            if stored != int(np.prod(got_shape)) * got_dtype.itemsize:
                raise ValueError(f"its header announces shape {got_shape} and dtype {got_dtype} but "
                                 f"{stored} bytes of data follow")
            if name == ARCHITECTURE:
                if got_dtype != np.uint8 or len(got_shape) != 1 or got_shape[0] > _MAX_ARCHITECTURE_BYTES:
                    raise ValueError(f"architecture entry has dtype {got_dtype}, shape {got_shape}; "
                                     "expected a 1-D uint8 array")
            elif got_shape != shape or got_dtype != dtype:
                raise ValueError(f"parameter {name!r} has shape {got_shape} and dtype {got_dtype}; the "
                                 f"architecture says shape {shape} and dtype {dtype}")
        with zf.open(member) as f:
            return np.lib.format.read_array(f, allow_pickle=False)
    except ValueError as exc:
        raise _bad(path, f"entry {member!r}: {exc}") from None
    except (zipfile.BadZipFile, EOFError, OSError, KeyError) as exc:
        raise _bad(path, f"entry {member!r} is damaged ({type(exc).__name__}: {exc}); the file was "
                         "truncated or modified") from None


def _read_architecture(zf: zipfile.ZipFile, path: Path) -> dict:
    if f"{ARCHITECTURE}.npy" not in zf.namelist():
        raise _bad(path, "it has no architecture entry, so it is not a chainrule model (a plain NumPy "
                         ".npz, perhaps?)")
    raw = _read_entry(zf, path, ARCHITECTURE)
    try:
        doc = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _bad(path, f"its architecture is not valid JSON ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise _bad(path, f"its architecture is not a {FORMAT!r} document")
    if doc.get("version") != VERSION:
        raise _bad(path, f"it has format version {doc.get('version')!r}; this chainrule reads "
                         f"version {VERSION}")
    if not (isinstance(doc.get("layers"), list) or isinstance(doc.get("model"), dict)) \
            or not isinstance(doc.get("metadata"), dict):
        raise _bad(path, "its architecture lacks a 'layers' list (or a 'model') or a 'metadata' dict")
    return doc


def _build(spec: object, path: Path, where: str, stored: dict[str, int],
           custom: dict[str, type]) -> Layer:
    """A layer from its description, with parameters to be overwritten. ``stored`` maps entry names
    to their sizes, so a tampered description cannot make us allocate arrays larger than the file holds."""

    def check_linear(at: str, description: tuple) -> None:
        n_in, n_out, dtype = description
        # entries are named like state_dict(): "<index>.W" in a Sequential, "W" for a lone Linear
        entry, nbytes = ("W.npy" if at == "model" else f"{at}.W.npy"), n_in * n_out * dtype.itemsize
        if entry not in stored:
            raise _bad(path, f"layer {at} is a Linear but the file has no entry {entry!r}")
        if nbytes > stored[entry]:
            raise _bad(path, f"layer {at}: the architecture says Linear{(n_in, n_out)} ({nbytes} bytes of "
                             f"weights), but entry {entry!r} holds only {stored[entry]} bytes")

    return build(spec, where, custom, check_linear, lambda problem: _bad(path, problem))


@contextlib.contextmanager
def _open_archive(path: str | os.PathLike) -> Iterator[tuple[zipfile.ZipFile, Path]]:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no model file at {str(path)!r}")
    if not zipfile.is_zipfile(path):
        raise _bad(path, "it is not a zip/.npz archive (not a chainrule model, or a truncated one)")
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise _bad(path, f"the archive is damaged ({exc})") from None
    with zf:
        yield zf, path


def load_metadata(path: str | os.PathLike) -> dict:
    """The ``metadata`` dict stored by ``save`` (without loading the parameters)."""
    with _open_archive(path) as (zf, p):
        return _read_architecture(zf, p)["metadata"]


def load(path: str | os.PathLike, *,
         custom_layers: Iterable[type] | Mapping[str, type] | None = None) -> Layer:
    """Read a model written by ``save``: a ``Sequential``, or the layer that was saved.

    Every parameter's and buffer's name, shape and dtype is checked against the stored
    architecture, and floating values must be finite; anything else is a ``ValueError`` naming the
    file and the problem. Nothing is unpickled and no module named in the file is imported: a model
    with your own layer classes needs them passed, ``load(path, custom_layers=[Swish, Residual])``
    (matched by module and class name, then by class name alone). The model is returned in
    training mode, as built; call ``eval()`` for inference (``predict``/``evaluate`` do).
    """
    custom = custom_classes(custom_layers)
    with _open_archive(path) as (zf, p):
        doc = _read_architecture(zf, p)
        stored = {info.filename: info.file_size for info in zf.infolist()}
        if "model" in doc:
            model = _build(doc["model"], p, "model", stored, custom)
        else:
            model = Sequential(*[_build(s, p, str(i), stored, custom) for i, s in enumerate(doc["layers"])])
        expected = {**model.params, **buffers_of(model)}
        found = {n[: -len(".npy")] for n in zf.namelist() if n.endswith(".npy")} - {ARCHITECTURE}
        others = {n for n in zf.namelist() if not n.endswith(".npy")}
        missing, extra = sorted(set(expected) - found), sorted((found - set(expected)) | others)
        if missing or extra:
            raise _bad(p, f"its parameters do not match its architecture: missing {missing}, "
                          f"unexpected {extra}")
        state = {}
        for name, ref in expected.items():
            arr = _read_entry(zf, p, name, ref.shape, ref.dtype)
            if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
                raise _bad(p, f"parameter {name!r} contains non-finite values (NaN or inf)")
            state[name] = arr
    model.load_state_dict(state)
    return model


__all__ = ["atomic_write", "load", "load_metadata", "save"]
