"""save writes regular files only, cleans up on every failure path, sweeps its own stale temps and
fsyncs; special files (FIFO, device, socket, symlinks to them) at the target are left untouched."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import time

import numpy as np
import pytest

import chainrule
from chainrule import nn
from chainrule.io import atomic_write, load, resolve_target, save, sweep_stale_temps


def _model(seed=0):
    return nn.Sequential(nn.Linear(3, 4, rng=seed), nn.ReLU(), nn.Linear(4, 2, rng=seed + 1))


def _same(a, b):
    return a.params.keys() == b.params.keys() and all(
        np.array_equal(a.params[k], b.params[k]) for k in a.params)


def _dead_pid():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _char_device(path):
    try:  # a /dev/null-like node (major 1, minor 3) made inside tmp, never the real /dev/null
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("creating a character device needs CAP_MKNOD")
    return path


def _special(kind, path):
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "chardev":
        _char_device(path)
    elif kind == "socket":
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(path))
        sock.close()
    return stat.S_IFMT(os.lstat(path).st_mode)


@pytest.mark.parametrize("kind,what", [("fifo", "a FIFO"), ("chardev", "a character device"),
                                       ("socket", "a socket")])
def test_special_files_at_the_target_are_refused_and_untouched(tmp_path, kind, what):
    path = tmp_path / "m.npz"
    fmt = _special(kind, path)
    with pytest.raises(ValueError, match=rf"path must name a regular file .*m\.npz'.* which is {what}"):
        save(_model(), path)
    assert stat.S_IFMT(os.lstat(path).st_mode) == fmt
    assert sorted(os.listdir(tmp_path)) == ["m.npz"]  # no temp file left either
    with pytest.raises(ValueError, match=f"which is {what}"):
        load(path)  # and load never opens it (opening a FIFO would block)


@pytest.mark.parametrize("kind", ["fifo", "chardev"])
def test_symlink_to_a_special_file_is_refused_and_both_untouched(tmp_path, kind):
    node = tmp_path / "node"
    fmt = _special(kind, node)
    link = tmp_path / "m.npz"
    link.symlink_to(node)
    with pytest.raises(ValueError, match=r"a symbolic link to '.*node'.*chainrule writes regular files only"):
        save(_model(), link)
    assert link.is_symlink() and os.readlink(link) == str(node)
    assert stat.S_IFMT(os.lstat(node).st_mode) == fmt
    assert sorted(os.listdir(tmp_path)) == ["m.npz", "node"]


def test_symlink_to_a_regular_file_updates_that_file_and_stays_a_link(tmp_path):
    real = tmp_path / "real" / "model.npz"
    real.parent.mkdir()
    save(_model(0), real)
    os.chmod(real, 0o600)
    link = tmp_path / "m.npz"
    link.symlink_to(real)
    chained = tmp_path / "again.npz"
    chained.symlink_to(link)  # a link to a link: every level is followed
    assert save(_model(5), chained) == chained
    assert link.is_symlink() and chained.is_symlink()
    assert _same(load(real), _model(5))
    assert stat.S_IMODE(os.stat(real).st_mode) == 0o600  # the replaced file keeps its permissions
    assert sorted(os.listdir(real.parent)) == ["model.npz"]  # the temp file was made beside the real file
    assert resolve_target(chained) == real.resolve()


def test_dangling_symlink_and_directories_are_refused(tmp_path):
    link = tmp_path / "m.npz"
    link.symlink_to(tmp_path / "nowhere" / "x.npz")
    with pytest.raises(FileNotFoundError, match=r"symbolic link to '.*x\.npz', which does not exist"):
        save(_model(), link)
    assert link.is_symlink() and not (tmp_path / "nowhere").exists()
    (tmp_path / "d").mkdir()
    (tmp_path / "dl").symlink_to(tmp_path / "d")
    with pytest.raises(IsADirectoryError, match=r"'.*dl' \(a symbolic link to '.*d'\): it is a directory"):
        save(_model(), tmp_path / "dl")
    with pytest.raises(IsADirectoryError, match="is a directory"):
        load(tmp_path / "d")


@pytest.mark.parametrize("bad,error,match", [
    (None, TypeError, "path must be a str or os.PathLike file path, got NoneType"),
    (3, TypeError, "path must be a str or os.PathLike file path, got int 3"),
    (b"m.npz", TypeError, "path must be a str or os.PathLike file path, got bytes"),
    ("", ValueError, "path must be a non-empty path, got ''"),
    ("a\0b", ValueError, "path must not contain a NUL character"),
])
def test_bad_paths_are_named(tmp_path, bad, error, match):
    with pytest.raises(error, match=match):
        save(_model(), bad)
    with pytest.raises(error, match=match):
        load(bad)
    with pytest.raises(error, match=match):
        chainrule.io.load_metadata(bad)


@pytest.mark.parametrize("failure", ["write", "interrupt", "replace", "fsync"])
def test_temp_file_is_removed_on_every_failure_path(tmp_path, monkeypatch, failure):
    path = tmp_path / "m.npz"
    save(_model(0), path)
    before = path.read_bytes()
    exc = KeyboardInterrupt if failure == "interrupt" else OSError

    def boom(*args, **kwargs):
        raise exc("boom")

    target = {"write": (np.lib.format, "write_array"), "interrupt": (np.lib.format, "write_array"),
              "replace": (os, "replace"), "fsync": (os, "fsync")}[failure]
    monkeypatch.setattr(*target, boom)
    with pytest.raises(exc, match="boom"):
        save(_model(1), path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["m.npz"]


def test_file_and_directory_are_fsynced(tmp_path, monkeypatch):
    synced, real_fsync = [], os.fsync

    def record(fd):
        synced.append(stat.S_IFMT(os.fstat(fd).st_mode))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", record)
    save(_model(), tmp_path / "m.npz")
    assert synced == [stat.S_IFREG, stat.S_IFDIR]  # the data first, then the rename


def test_sweep_removes_only_its_own_stale_temps(tmp_path):
    path = tmp_path / "m.npz"
    dead, live = _dead_pid(), os.getpid()
    orphan = tmp_path / f".m.npz.{dead}-0123abcd.tmp"            # writer gone: swept
    old_live = tmp_path / f".m.npz.{live}-00000001.tmp"          # live PID but a day old: swept
    in_progress = tmp_path / f".m.npz.{os.getppid()}-89abcdef.tmp"  # another live writer: kept
    keep = [tmp_path / name for name in (
        f".m.npz.{dead}-0123ABCD.tmp",       # not our pattern (upper-case hex)
        f".m.npz.{dead}-0123abc.tmp",        # 7 hex digits
        f".other.npz.{dead}-0123abcd.tmp",   # another target's temp
        f"m.npz.{dead}-0123abcd.tmp",        # no leading dot
        f".m.npz.{dead}-0123abcd.tmp.bak",   # suffix differs
        "notes.txt",
    )]
    for p in [orphan, old_live, in_progress, *keep]:
        p.write_bytes(b"x")
    day_ago = time.time() - 2 * 86400
    os.utime(old_live, (day_ago, day_ago))
    lookalike_dir = tmp_path / f".m.npz.{dead}-fedcba98.tmp"
    lookalike_dir.mkdir()
    lookalike_link = tmp_path / f".m.npz.{dead}-fedcba99.tmp"
    lookalike_link.symlink_to(tmp_path / "notes.txt")
    save(_model(), path)
    left = set(os.listdir(tmp_path))
    assert orphan.name not in left and old_live.name not in left
    kept = {in_progress.name, lookalike_dir.name, lookalike_link.name, "m.npz"}
    assert kept | {p.name for p in keep} == left
    assert sweep_stale_temps(path) == []  # nothing more to do


def test_atomic_write_text_mode_and_new_file_permissions(tmp_path):
    with atomic_write(tmp_path / "a.json", "w") as f:
        f.write("{}")
    assert (tmp_path / "a.json").read_text() == "{}"
    assert stat.S_IMODE(os.stat(tmp_path / "a.json").st_mode) == 0o644


def test_metadata_nested_too_deep_or_with_odd_keys_is_refused(tmp_path):
    deep: list = []
    for _ in range(5000):
        deep = [deep]
    with pytest.raises(ValueError, match="metadata is nested more than 64 levels deep"):
        save(_model(), tmp_path / "m.npz", metadata={"x": deep})
    with pytest.raises(TypeError, match=r"metadata has a key of type int \(1\); expected str keys"):
        save(_model(), tmp_path / "m.npz", metadata={1: "a"})
    with pytest.raises(ValueError, match=r"metadata\['lr'\] is nan; expected a finite number"):
        save(_model(), tmp_path / "m.npz", metadata={"lr": float("nan")})
    ok: list = []
    for _ in range(60):
        ok = [ok]
    save(_model(), tmp_path / "m.npz", metadata={"x": ok})
    assert chainrule.io.load_metadata(tmp_path / "m.npz") == {"x": ok}
    assert sorted(os.listdir(tmp_path)) == ["m.npz"]
