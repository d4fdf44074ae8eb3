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
Saved with ``optimizer=``, the document also holds ``"optimizer": {"type", "hyperparameters",
"state": {param: {"step": 3, "exp_avg": "array", ...}}}`` whose arrays are the entries
``"__optimizer__/<param>/<key>.npy"``; with ``lr_scheduler=``, ``"lr_scheduler"``: its state_dict.
Entries carry a fixed timestamp and a fixed order, so the same model saved twice gives the same
bytes. Nothing is ever pickled.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import secrets
import stat
import time
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import numpy as np

from ._architecture import build, custom_classes, describe
from ._validate import MAX_NESTING, check_json_tree, check_path, json_depth
from .nn.module import Layer, buffers_of
from .nn.sequential import Sequential

FORMAT, VERSION = "chainrule.model", 1
ARCHITECTURE = "__architecture__"
OPTIMIZER = "__optimizer__"
_DATE = (1980, 1, 1, 0, 0, 0)
_MAX_ARCHITECTURE_BYTES = 1 << 24
# The document wraps metadata in one level and each nested Sequential adds two.
_MAX_DOCUMENT_DEPTH = 2 * MAX_NESTING


# Temporary files are named ".<target name>.<writer pid>-<8 hex>.tmp", so a later write to the same
# target can tell its own leftovers (from a killed writer) from anything else in the directory.
_TEMP_SUFFIX = ".tmp"
STALE_TEMP_AGE = 24 * 3600.0  # seconds; a temp file this old is an orphan even if its PID is alive again


def _temp_pattern(name: str) -> re.Pattern:
    return re.compile(rf"\.{re.escape(name)}\.(\d+)-[0-9a-f]{{8}}{re.escape(_TEMP_SUFFIX)}\Z")


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True  # exists but is someone else's, or cannot tell: keep the file
    return True


def sweep_stale_temps(path: str | os.PathLike, *, max_age: float = STALE_TEMP_AGE) -> list[Path]:
    """Remove the temporary files that interrupted ``atomic_write`` calls for ``path`` left behind;
    return the paths removed.

    Only names of ``atomic_write``'s exact pattern for this target (``.NAME.<pid>-<8 hex>.tmp``) are
    considered, only regular files (never a link, FIFO or directory), and only when the writer's
    process is gone (or the file is older than ``max_age`` seconds, in case its PID was reused).
    A save in progress in another live process is left alone.
    """
    path = check_path(path)
    pattern, removed, now = _temp_pattern(path.name), [], time.time()
    try:
        names = os.listdir(path.parent)
    except OSError:
        return removed
    for entry in names:
        match = pattern.match(entry)
        if match is None:
            continue
        candidate = path.parent / entry
        try:
            st = os.lstat(candidate)
        except OSError:
            continue
        if not stat.S_ISREG(st.st_mode):
            continue
        if _pid_alive(int(match.group(1))) and now - st.st_mtime < max_age:
            continue
        with contextlib.suppress(OSError):
            os.unlink(candidate)
            removed.append(candidate)
    return removed


def _kind(mode: int) -> str:
    for test, what in ((stat.S_ISDIR, "a directory"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return what
    return "not a regular file"


def resolve_target(path: str | os.PathLike, name: str = "path") -> Path:
    """Where ``atomic_write(path)`` writes: ``path`` with symlinks resolved, checked to be a regular
    file or absent, in a directory that exists.

    The symlink rule: a symlink at ``path`` is followed (every level), and the file it finally
    names is replaced; the link itself stays a link. So saving to a link to ``model.npz`` updates
    ``model.npz``, while a link to ``/dev/null``, a FIFO or a directory is refused like the thing it
    points to. A dangling link is refused too: the file it would create is not visibly the one the
    user named.
    """
    given = check_path(path, name)
    target = Path(os.path.realpath(given))
    if os.path.lexists(given) and not os.path.lexists(target):
        raise FileNotFoundError(f"cannot write {str(given)!r}: it is a symbolic link to "
                                f"{str(target)!r}, which does not exist; remove the link or create the file")
    try:
        st = os.stat(target)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise type(exc)(exc.errno, f"cannot write {str(given)!r}: {exc.strerror}") from None
    via = "" if target == Path(os.path.abspath(given)) else f" (a symbolic link to {str(target)!r})"
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(f"cannot write {str(given)!r}{via}: it is a directory; give a file name "
                                "inside it")
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise ValueError(f"{name} must name a regular file (or a new one), got {str(given)!r}{via}, which "
                         f"is {_kind(st.st_mode)}; chainrule writes regular files only")
    if not target.parent.is_dir():
        raise FileNotFoundError(f"cannot write {str(given)!r}: directory {str(target.parent)!r} does not "
                                "exist")
    return target


def _create_temp(target: Path) -> tuple[int, Path]:
    """A new, exclusive temporary file beside ``target`` (same filesystem, so the rename is atomic)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = target.parent / f".{target.name}.{os.getpid()}-{secrets.token_hex(4)}{_TEMP_SUFFIX}"
        try:
            return os.open(tmp, flags, 0o600), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"cannot create a temporary file beside {str(target)!r}")


def _fsync_dir(directory: Path) -> None:
    """Make the rename itself durable: without this a power cut can bring back the old name."""
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return  # e.g. Windows, where directories cannot be opened; the rename is still atomic
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems refuse fsync on a directory; nothing more we can do
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb") -> Iterator:
    """Open a temporary file beside ``path`` for writing; on success fsync it, rename it over
    ``path`` (``os.replace``) and fsync the directory, so readers see the old file or the new one,
    never a half-written one, even after a crash or ``kill -9``.

    ``path`` must be a regular file or not exist: directories, devices, FIFOs and sockets are
    refused, and a symlink is followed to the file it names (see ``resolve_target``). On any error
    (including ``KeyboardInterrupt``) the temporary file is removed and ``path`` is left as it was;
    temporary files left by killed writers for the same ``path`` are swept first
    (``sweep_stale_temps``). The file gets the old file's permissions, or 0o644 for a new one.
    """
    given = check_path(path)
    target = resolve_target(given)
    sweep_stale_temps(target)
    try:
        fd, tmp = _create_temp(target)
    except OSError as exc:
        # Name the file the user asked for, not our temporary (e.g. a read-only directory).
        raise type(exc)(exc.errno, f"cannot write {str(given)!r}: {exc.strerror}") from exc
    try:
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        try:
            old_mode = stat.S_IMODE(os.stat(target).st_mode)
        except FileNotFoundError:
            old_mode = 0o644
        os.chmod(tmp, old_mode)
        # Re-check just before the rename: something other than a regular file may have appeared.
        resolve_target(target)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(target.parent)


def save(model: Layer, path: str | os.PathLike, *, metadata: dict | None = None, optimizer=None,
         lr_scheduler=None) -> Path:
    """Write ``model`` (any chainrule Layer: a ``Sequential``, one layer, your own layer or composite)
    to ``path`` atomically; return the path.

    The architecture is recorded as JSON (built-in layers by type and fields, other layers by class
    path and constructor arguments: see ``chainrule._architecture``), the state as one entry per
    parameter and buffer (BatchNorm1d's running statistics), named as in ``state_dict()``.
    ``metadata``: an optional JSON-serialisable dict (e.g. the training config, the epoch) stored
    with the architecture; read it back with ``load_metadata``. ``optimizer``/``lr_scheduler``: a
    ``chainrule.optim`` optimizer and schedule whose state is saved too, a checkpoint to resume
    from with ``load(path, optimizer=..., lr_scheduler=...)``. The path is used exactly as given.
    """
    if not isinstance(model, Layer):
        raise TypeError(f"model must be a chainrule Layer (a Sequential, a layer), "
                        f"got {type(model).__name__}")
    path = check_path(path)
    _check_optimizer_args(optimizer, lr_scheduler)
    if metadata is not None and not isinstance(metadata, dict):
        raise TypeError(f"metadata must be a dict or None, got {type(metadata).__name__}")
    try:
        check_json_tree(metadata or {}, "metadata", MAX_NESTING)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"metadata must be JSON-serialisable (str/int/float/bool/None, lists, dicts "
                        f"with str keys; finite floats): {exc}") from None
    if type(model) is Sequential:  # version 1's layout, so older readers still read plain chains
        described = {"layers": [describe(layer, str(i)) for i, layer in enumerate(model)]}
    else:
        described = {"model": describe(model, "model")}
    doc = {"format": FORMAT, "version": VERSION, "metadata": metadata or {}, **described}
    arrays: dict[str, np.ndarray] = {}
    if optimizer is not None:
        doc["optimizer"], arrays = _optimizer_doc(optimizer, model.params)
    if lr_scheduler is not None:
        if not callable(getattr(lr_scheduler, "state_dict", None)):
            raise TypeError(f"lr_scheduler must be a chainrule.optim schedule, got "
                            f"{type(lr_scheduler).__name__}")
        doc["lr_scheduler"] = lr_scheduler.state_dict()
    if json_depth(doc) > _MAX_DOCUMENT_DEPTH:
        raise ValueError(f"model is nested too deeply to save: its architecture is {json_depth(doc)} "
                         f"levels deep, expected at most {_MAX_DOCUMENT_DEPTH}")
    try:
        text = json.dumps(doc, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"the architecture of {type(model).__name__} is not JSON-serialisable: "
                        f"{exc}") from None
    if len(text.encode("utf-8")) > _MAX_ARCHITECTURE_BYTES:
        raise ValueError(f"metadata and architecture take {len(text.encode('utf-8'))} bytes as JSON; "
                         f"expected at most {_MAX_ARCHITECTURE_BYTES} (16 MiB): keep large data out of "
                         "metadata")
    state = dict(model.params.items())
    clash = sorted(set(state) & set(buffers_of(model)))
    if clash:
        raise ValueError(f"cannot save: {clash} name both a parameter and a buffer")
    state.update(buffers_of(model).items())
    entries = {ARCHITECTURE: np.frombuffer(text.encode("utf-8"), dtype=np.uint8), **state, **arrays}
    with atomic_write(path) as f, zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, arr in entries.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_DATE)
            info.external_attr = 0o644 << 16
            with zf.open(info, "w", force_zip64=True) as entry:
                # asarray, not ascontiguousarray: a 0-d buffer (a counter) stays 0-d
                np.lib.format.write_array(entry, np.asarray(arr, order="C"), allow_pickle=False)
    return path


def _check_optimizer_args(optimizer: object, lr_scheduler: object) -> None:
    """``optimizer``/``lr_scheduler`` must be None or chainrule.optim objects (not any object that
    happens to have a ``state_dict``, such as a layer)."""
    from .optim import LRScheduler, Optimizer  # optim imports nothing from io; lazily, to keep io light

    if optimizer is not None and not isinstance(optimizer, Optimizer):
        raise TypeError(f"optimizer must be a chainrule.optim optimizer (SGD, Adam, ...) or None, got "
                        f"{type(optimizer).__name__} {optimizer!r:.60}")
    if lr_scheduler is not None and not isinstance(lr_scheduler, LRScheduler):
        raise TypeError(f"lr_scheduler must be a chainrule.optim schedule (StepLR, ...) or None, got "
                        f"{type(lr_scheduler).__name__} {lr_scheduler!r:.60}")


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


_CHUNK = 1 << 20  # read parameters in 1 MiB pieces straight into their arrays: memory stays ~1x the model


def _read_header(f, member: str) -> tuple[tuple, bool, np.dtype]:
    version = np.lib.format.read_magic(f)
    if version not in ((1, 0), (2, 0), (3, 0)):
        raise ValueError(f"unsupported .npy format version {version}")
    read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    # max_header_size bounds the header text NumPy will literal_eval (the default is 10,000 bytes).
    shape, fortran, dtype = read(f)
    if dtype.hasobject:
        raise ValueError("it holds Python objects (a pickle); chainrule never unpickles")
    return shape, fortran, dtype


def _read_entry(zf: zipfile.ZipFile, path: Path, name: str, shape: tuple | None = None,
                dtype: np.dtype | None = None, into: np.ndarray | None = None) -> np.ndarray:
    """Read ``name.npy``, checking its header (shape, dtype, size) before reading any data. With
    ``into`` (an array of ``shape`` and ``dtype``) the data is read straight into it, in chunks."""
    member = f"{name}.npy"
    try:
        with zf.open(member) as f:
            got_shape, fortran, got_dtype = _read_header(f, member)
            stored = zf.getinfo(member).file_size - f.tell()
            if name == ARCHITECTURE:
                if got_dtype != np.uint8 or len(got_shape) != 1:
                    raise ValueError(f"architecture entry has dtype {got_dtype} and shape {got_shape}; "
                                     "expected a 1-D uint8 array (UTF-8 JSON)")
                if got_shape[0] > _MAX_ARCHITECTURE_BYTES:
                    raise ValueError(f"architecture entry is {got_shape[0]} bytes long; expected at most "
                                     f"{_MAX_ARCHITECTURE_BYTES} (16 MiB)")
            elif got_shape != shape or got_dtype != dtype:
                what = "optimizer state" if name.startswith(OPTIMIZER) else "parameter"
                raise ValueError(f"{what} {name!r} has shape {got_shape} and dtype {got_dtype}; the "
                                 f"architecture says shape {shape} and dtype {dtype}")
            if any(d < 0 for d in got_shape) or stored != math.prod(got_shape) * got_dtype.itemsize:
                raise ValueError(f"its header announces shape {got_shape} and dtype {got_dtype} but "
                                 f"{stored} bytes of data follow")
            if fortran and len(got_shape) > 1:
                raise ValueError("it is stored in Fortran order; chainrule writes C order only")
            out = np.empty(got_shape, got_dtype) if into is None else into
            view = memoryview(out.reshape(-1).view(np.uint8))
            for start in range(0, stored, _CHUNK):
                data = f.read(min(_CHUNK, stored - start))
                if len(data) != min(_CHUNK, stored - start):
                    raise EOFError(f"{member} ends early")
                view[start:start + len(data)] = data
            return out
    except ValueError as exc:
        raise _bad(path, f"entry {member!r}: {exc}") from None
    except (zipfile.BadZipFile, EOFError, OSError, KeyError) as exc:
        raise _bad(path, f"entry {member!r} is damaged ({type(exc).__name__}: {exc}); the file was "
                         "truncated or modified") from None


_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')


def _text_depth(raw: bytes) -> int:
    """How deeply the JSON text ``raw`` nests brackets, strings blanked out; linear and non-recursive."""
    text, deepest, level = np.frombuffer(_JSON_STRING.sub(b'""', raw), np.uint8), 0, 0
    for start in range(0, text.size, 1 << 16):  # in pieces, so the temporaries stay small
        piece = text[start:start + (1 << 16)]
        steps = ((piece == ord("[")) | (piece == ord("{"))).astype(np.int32)
        steps -= (piece == ord("]")) | (piece == ord("}"))
        running = np.cumsum(steps) + level
        deepest, level = max(deepest, int(running.max())), int(running[-1])
    return deepest


def _read_architecture(zf: zipfile.ZipFile, path: Path) -> dict:
    if f"{ARCHITECTURE}.npy" not in zf.namelist():
        raise _bad(path, "it has no architecture entry, so it is not a chainrule model (a plain NumPy "
                         ".npz, perhaps?)")
    raw = _read_entry(zf, path, ARCHITECTURE).tobytes()
    depth = _text_depth(raw)  # before parsing: json.loads would recurse once per level
    if depth > _MAX_DOCUMENT_DEPTH:
        raise _bad(path, f"its architecture is nested {depth} levels deep; expected at most "
                         f"{_MAX_DOCUMENT_DEPTH}")
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise _bad(path, f"its architecture is not valid JSON ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise _bad(path, f"its architecture is not a {FORMAT!r} document")
    if doc.get("version") != VERSION:
        raise _bad(path, f"it has format version {doc.get('version')!r:.40}; this chainrule reads "
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


_MAX_ENTRIES = 1 << 16


@contextlib.contextmanager
def _open_archive(path: str | os.PathLike) -> Iterator[tuple[zipfile.ZipFile, Path]]:
    """Open the zip and check its directory before any entry is read: every entry stored
    uncompressed (``save`` never compresses, so a compressed entry can only be a zip bomb or
    another tool's file), unencrypted, and the announced sizes adding up to no more than the file."""
    path = check_path(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise FileNotFoundError(f"no model file at {str(path)!r} (path does not exist)") from None
    except OSError as exc:
        raise type(exc)(exc.errno, f"cannot read {str(path)!r}: {exc.strerror}") from None
    if not stat.S_ISREG(st.st_mode):
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(f"cannot load {str(path)!r}: it is a directory; give the model file "
                                    "inside it")
        raise ValueError(f"path must name a regular model file, got {str(path)!r}, which is "
                         f"{_kind(st.st_mode)}")
    if not zipfile.is_zipfile(path):
        raise _bad(path, "it is not a zip/.npz archive (not a chainrule model, or a truncated one)")
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError) as exc:
        raise _bad(path, f"the archive is damaged ({exc})") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > _MAX_ENTRIES:
            raise _bad(path, f"it has {len(infos)} entries; expected at most {_MAX_ENTRIES}")
        for info in infos:
            if info.compress_type != zipfile.ZIP_STORED:
                raise _bad(path, f"entry {info.filename!r:.80} is compressed (method {info.compress_type}); "
                                 "chainrule writes uncompressed entries only and refuses compressed ones, "
                                 "which could expand without bound")
            if info.flag_bits & 0x1:
                raise _bad(path, f"entry {info.filename!r:.80} is encrypted")
            if info.file_size != info.compress_size or info.file_size > st.st_size:
                raise _bad(path, f"entry {info.filename!r:.80} announces {info.file_size} bytes but the "
                                 f"file holds {min(info.compress_size, st.st_size)}")
        total = sum(info.file_size for info in infos)
        if total > st.st_size:
            raise _bad(path, f"its entries announce {total} bytes in all, more than the file's "
                             f"{st.st_size} bytes")
        if len({info.filename for info in infos}) != len(infos):
            raise _bad(path, "it has two entries with the same name")
        yield zf, path


def load_metadata(path: str | os.PathLike) -> dict:
    """The ``metadata`` dict stored by ``save`` (without loading the parameters)."""
    with _open_archive(path) as (zf, p):
        return _read_architecture(zf, p)["metadata"]


def load(path: str | os.PathLike, *,
         custom_layers: Iterable[type] | Mapping[str, type] | None = None, optimizer=None,
         lr_scheduler=None) -> Layer:
    """Read a model written by ``save``: a ``Sequential``, or the layer that was saved.

    Every parameter's and buffer's name, shape and dtype is checked against the stored
    architecture, and floating values must be finite; anything else is a ``ValueError`` naming the
    file and the problem. Nothing is unpickled and no module named in the file is imported: a model
    with your own layer classes needs them passed, ``load(path, custom_layers=[Swish, Residual])``
    (matched by module and class name, then by class name alone). The model is returned in
    training mode, as built; call ``eval()`` for inference (``predict``/``evaluate`` do).

    ``optimizer``/``lr_scheduler``: restore the state saved with ``save(..., optimizer=,
    lr_scheduler=)`` into these (of the same types; hyperparameters included), to resume training::

        model = cr.load("ckpt.npz", optimizer=(opt := cr.Adam()))
        cr.fit(model, loss, X, y, optimizer=opt, epochs=10, initial_epoch=5)   # same seed as before

    Safe on untrusted files: the zip directory and every ``.npy`` header are checked before any
    data is read (compressed entries, sizes larger than the file and nesting deeper than 128 levels
    are refused), and parameters are read in chunks straight into the new model's arrays, so memory
    stays about 1x the model.
    """
    custom = custom_classes(custom_layers)
    _check_optimizer_args(optimizer, lr_scheduler)
    with _open_archive(path) as (zf, p):
        doc = _read_architecture(zf, p)
        stored = {info.filename: info.file_size for info in zf.infolist()}
        if "model" in doc:
            model = _build(doc["model"], p, "model", stored, custom)
        else:
            model = Sequential(*[_build(s, p, str(i), stored, custom) for i, s in enumerate(doc["layers"])])
        expected = {**model.params, **buffers_of(model)}
        found = {n[: -len(".npy")] for n in zf.namelist()
                 if n.endswith(".npy") and not n.startswith(f"{OPTIMIZER}/")} - {ARCHITECTURE}
        others = {n for n in zf.namelist() if not n.endswith(".npy")}
        missing, extra = sorted(set(expected) - found), sorted((found - set(expected)) | others)
        if missing or extra:
            raise _bad(p, f"its parameters do not match its architecture: missing {missing}, "
                          f"unexpected {extra[:10]}{' ...' if len(extra) > 10 else ''}")
        for name, ref in expected.items():
            _read_entry(zf, p, name, ref.shape, ref.dtype, into=ref)
            if ref.dtype.kind == "f" and not np.all(np.isfinite(ref)):
                raise _bad(p, f"parameter {name!r} contains non-finite values (NaN or inf)")
        _restore_optimizer(zf, p, doc, model, optimizer, lr_scheduler)
    return model


__all__ = ["atomic_write", "load", "load_metadata", "resolve_target", "save", "sweep_stale_temps"]
