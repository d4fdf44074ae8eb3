"""Save and load ``Sequential`` models as ``.npz`` files, and write any file atomically.

Format (version 1): a zip archive that ``numpy.load(path, allow_pickle=False)`` also reads. The
entry ``__architecture__.npy`` holds UTF-8 JSON as a uint8 array::

    {"format": "chainrule.model", "version": 1, "metadata": {...},
     "layers": [{"type": "Linear", "in_features": 2, "out_features": 64, "dtype": "float64"},
                {"type": "ReLU"}, {"type": "LeakyReLU", "negative_slope": 0.01}, ...]}

and each parameter is an entry ``"<name>.npy"`` named as in ``model.params`` ("0.W", "0.b").
Saved with ``optimizer=``, the document also holds ``"optimizer": {"type", "hyperparameters",
"state": {param: {"step": 3, "exp_avg": "array", ...}}}`` whose arrays are the entries
``"__optimizer__/<param>/<key>.npy"``; with ``lr_scheduler=``, ``"lr_scheduler"``: its state_dict.
Entries carry a fixed timestamp and a fixed order, so the same model saved twice gives the same
bytes. Nothing is ever pickled.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from .nn.activations import Identity, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from .nn.init import zeros
from .nn.linear import Linear
from .nn.module import Layer
from .nn.sequential import Sequential

FORMAT, VERSION = "chainrule.model", 1
ARCHITECTURE = "__architecture__"
OPTIMIZER = "__optimizer__"
_DATE = (1980, 1, 1, 0, 0, 0)
_MAX_ARCHITECTURE_BYTES = 1 << 24
_ACTIVATIONS: dict[str, type[Layer]] = {
    cls.__name__: cls for cls in (ReLU, Sigmoid, Tanh, Softmax, Identity)
}


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


def _describe(layer: Layer, where: str) -> dict:
    kind = type(layer)
    if kind is Sequential:
        return {"type": "Sequential",
                "layers": [_describe(sub, f"{where}.{i}") for i, sub in enumerate(layer)]}
    if kind is Linear:
        return {"type": "Linear", "in_features": layer.in_features, "out_features": layer.out_features,
                "dtype": str(layer.params["W"].dtype)}
    if kind is LeakyReLU:
        return {"type": "LeakyReLU", "negative_slope": layer.negative_slope}
    if kind.__name__ in _ACTIVATIONS and _ACTIVATIONS[kind.__name__] is kind:
        return {"type": kind.__name__}
    raise TypeError(f"cannot save layer {where} of type {kind.__name__}: only chainrule's built-in layers "
                    f"(Sequential, Linear, LeakyReLU, {', '.join(_ACTIVATIONS)}) can be saved")


def save(model: Sequential, path: str | os.PathLike, *, metadata: dict | None = None, optimizer=None,
         lr_scheduler=None) -> Path:
    """Write ``model`` (a ``Sequential`` of built-in layers) to ``path`` atomically; return the path.

    ``metadata``: an optional JSON-serialisable dict (e.g. the training config, the epoch) stored
    with the architecture; read it back with ``load_metadata``. ``optimizer``/``lr_scheduler``: a
    ``chainrule.optim`` optimizer and schedule whose state is saved too, a checkpoint to resume
    from with ``load(path, optimizer=..., lr_scheduler=...)``. The path is used exactly as given.
    """
    if not isinstance(model, Sequential):
        hint = ("convert it with model.to_sequential()" if callable(getattr(model, "to_sequential", None))
                else "wrap a single layer as Sequential(layer)")
        raise TypeError(f"model must be a Sequential, got {type(model).__name__}; {hint}")
    if metadata is not None and not isinstance(metadata, dict):
        raise TypeError(f"metadata must be a dict or None, got {type(metadata).__name__}")
    doc = {"format": FORMAT, "version": VERSION, "metadata": metadata or {},
           "layers": [_describe(layer, str(i)) for i, layer in enumerate(model)]}
    arrays: dict[str, np.ndarray] = {}
    if optimizer is not None:
        doc["optimizer"], arrays = _optimizer_doc(optimizer, model.params)
    if lr_scheduler is not None:
        if not callable(getattr(lr_scheduler, "state_dict", None)):
            raise TypeError(f"lr_scheduler must be a chainrule.optim schedule, got "
                            f"{type(lr_scheduler).__name__}")
        doc["lr_scheduler"] = lr_scheduler.state_dict()
    try:
        text = json.dumps(doc, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"metadata must be JSON-serialisable (str/int/float/bool/None, lists, dicts; "
                        f"finite floats): {exc}") from None
    entries = {ARCHITECTURE: np.frombuffer(text.encode("utf-8"), dtype=np.uint8), **model.params, **arrays}
    path = Path(path)
    with atomic_write(path) as f, zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, arr in entries.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_DATE)
            info.external_attr = 0o644 << 16
            with zf.open(info, "w", force_zip64=True) as entry:
                np.lib.format.write_array(entry, np.ascontiguousarray(arr), allow_pickle=False)
    return path


def _optimizer_doc(optimizer, params) -> tuple[dict, dict[str, np.ndarray]]:
    """The optimizer's state_dict as JSON plus its arrays as entries; each state must belong to a
    parameter of the model, with its shape and dtype."""
    if not callable(getattr(optimizer, "state_dict", None)):
        raise TypeError(f"optimizer must be a chainrule.optim optimizer (with state_dict()), got "
                        f"{type(optimizer).__name__}")
    sd = optimizer.state_dict()
    arrays, state = {}, {}
    for name, entries in sd["state"].items():
        if name not in params:
            raise ValueError(f"optimizer has state for {name!r}, which is not a parameter of the model "
                             f"({sorted(params)}); save the optimizer that trains this model")
        state[name] = {}
        for key, value in entries.items():
            if isinstance(value, np.ndarray):
                if value.shape != params[name].shape or value.dtype != params[name].dtype:
                    raise ValueError(f"optimizer state {name}/{key} has shape {value.shape} dtype "
                                     f"{value.dtype}; "
                                     f"the parameter has {params[name].shape} {params[name].dtype}")
                arrays[f"{OPTIMIZER}/{name}/{key}"] = value
                state[name][key] = "array"
            else:
                state[name][key] = int(value)
    return {"type": sd["type"], "hyperparameters": sd["hyperparameters"], "state": state}, arrays


def _restore_optimizer(zf: zipfile.ZipFile, path: Path, doc: dict, model: Sequential, optimizer,
                       lr_scheduler) -> None:
    """Load the saved optimizer (then schedule) state into ``optimizer`` (``lr_scheduler``)."""
    if optimizer is not None:
        saved = doc.get("optimizer")
        if not isinstance(saved, dict) or not isinstance(saved.get("state"), dict):
            raise _bad(path, "it holds no optimizer state (save it with save(model, path, optimizer=opt))")
        params, state = model.params, {}
        for name, entries in saved["state"].items():
            if name not in params or not isinstance(entries, dict):
                raise _bad(path, f"its optimizer state names {name!r}, not a parameter of the model")
            state[name] = {}
            for key, value in entries.items():
                if value == "array" and isinstance(key, str):
                    ref = params[name]
                    entry = f"{OPTIMIZER}/{name}/{key}"
                    state[name][key] = _read_entry(zf, path, entry, ref.shape, ref.dtype)
                elif type(value) is int:
                    state[name][key] = value
                else:
                    raise _bad(path, f"its optimizer state {name}/{key} is {value!r}")
        try:
            optimizer.load_state_dict({"type": saved.get("type"),
                                       "hyperparameters": saved.get("hyperparameters"),
                                       "state": state})
        except (TypeError, ValueError) as exc:
            raise _bad(path, f"its optimizer state does not fit: {exc}") from None
    if lr_scheduler is not None:
        if "lr_scheduler" not in doc:
            raise _bad(path, "it holds no lr_scheduler state (save it with save(..., lr_scheduler=sched))")
        try:
            lr_scheduler.load_state_dict(doc["lr_scheduler"])
        except (TypeError, ValueError) as exc:
            raise _bad(path, f"its lr_scheduler state does not fit: {exc}") from None


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
                what = "optimizer state" if name.startswith(OPTIMIZER) else "parameter"
                raise ValueError(f"{what} {name!r} has shape {got_shape} and dtype {got_dtype}; the "
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
    if not isinstance(doc.get("layers"), list) or not isinstance(doc.get("metadata"), dict):
        raise _bad(path, "its architecture lacks a 'layers' list or a 'metadata' dict")
    return doc


def _build(spec: object, path: Path, where: str, stored: dict[str, int]) -> Layer:
    """A layer from its description, with parameters zero-filled (to be overwritten). ``stored``
    maps entry names to their sizes, so a tampered description cannot make us allocate arrays
    larger than the file holds."""
    if not isinstance(spec, dict) or not isinstance(spec.get("type"), str):
        raise _bad(path, f"layer {where}: expected an object with a 'type', got {spec!r}")
    kind = spec["type"]
    keys = {"Sequential": {"type", "layers"}, "Linear": {"type", "in_features", "out_features", "dtype"},
            "LeakyReLU": {"type", "negative_slope"}}.get(kind, {"type"})
    if kind not in ("Sequential", "Linear", "LeakyReLU", *_ACTIVATIONS):
        raise _bad(path, f"layer {where}: unknown layer type {kind!r}")
    if set(spec) != keys:
        raise _bad(path, f"layer {where} ({kind}): expected fields {sorted(keys)}, got {sorted(spec)}")
    if kind == "Sequential":
        if not isinstance(spec["layers"], list):
            raise _bad(path, f"layer {where}: 'layers' must be a list")
        return Sequential(*[_build(s, path, f"{where}.{i}", stored) for i, s in enumerate(spec["layers"])])
    if kind == "Linear":
        sizes = (spec["in_features"], spec["out_features"])
        if not all(type(s) is int and s > 0 for s in sizes) or spec["dtype"] not in ("float32", "float64"):
            raise _bad(path, f"layer {where}: invalid Linear description {spec}")
        entry, nbytes = f"{where}.W.npy", sizes[0] * sizes[1] * np.dtype(spec["dtype"]).itemsize
        if entry not in stored:
            raise _bad(path, f"layer {where} is a Linear but the file has no entry {entry!r}")
        if nbytes > stored[entry]:
            raise _bad(path, f"layer {where}: the architecture says Linear{sizes} ({nbytes} bytes of "
                             f"weights), but entry {entry!r} holds only {stored[entry]} bytes")
        return Linear(*sizes, init=zeros, rng=0,
                      dtype=np.dtype(spec["dtype"]))
    if kind == "LeakyReLU":
        slope = spec["negative_slope"]
        if type(slope) not in (int, float) or not np.isfinite(slope):
            raise _bad(path, f"layer {where}: negative_slope must be a finite number, got {slope!r}")
        return LeakyReLU(slope)
    return _ACTIVATIONS[kind]()


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


def load(path: str | os.PathLike, *, optimizer=None, lr_scheduler=None) -> Sequential:
    """Read a model written by ``save``. Every parameter's name, shape and dtype is checked against
    the stored architecture, and the values must be finite; anything else is a ``ValueError``
    naming the file and the problem.

    ``optimizer``/``lr_scheduler``: restore the state saved with ``save(..., optimizer=,
    lr_scheduler=)`` into these (of the same types; hyperparameters included), to resume training::

        model = cr.load("ckpt.npz", optimizer=(opt := cr.Adam()))
        cr.fit(model, loss, X, y, optimizer=opt, epochs=10, initial_epoch=5)   # same seed as before
    """
    with _open_archive(path) as (zf, p):
        doc = _read_architecture(zf, p)
        stored = {info.filename: info.file_size for info in zf.infolist()}
        model = Sequential(*[_build(s, p, str(i), stored) for i, s in enumerate(doc["layers"])])
        expected = model.params
        found = {n[: -len(".npy")] for n in zf.namelist()
                 if n.endswith(".npy") and not n.startswith(f"{OPTIMIZER}/")} - {ARCHITECTURE}
        others = {n for n in zf.namelist() if not n.endswith(".npy")}
        missing, extra = sorted(set(expected) - found), sorted((found - set(expected)) | others)
        if missing or extra:
            raise _bad(p, f"its parameters do not match its architecture: missing {missing}, "
                          f"unexpected {extra}")
        state = {}
        for name, ref in expected.items():
            arr = _read_entry(zf, p, name, ref.shape, ref.dtype)
            if not np.all(np.isfinite(arr)):
                raise _bad(p, f"parameter {name!r} contains non-finite values (NaN or inf)")
            state[name] = arr
        model.load_state_dict(state)
        _restore_optimizer(zf, p, doc, model, optimizer, lr_scheduler)
    return model


__all__ = ["atomic_write", "load", "load_metadata", "save"]
