"""Kill a process with SIGKILL while it saves a model, many times, and check the damage.

A forked child process saves two different models (A, B) to the same path in a loop, as fast as it can;
the parent kills it (SIGKILL, ``kill -9``) after a random delay, then checks that the file at the path is
intact (it loads, and equals A or B exactly), counts the temporary files the killed writer left
behind, and runs one more ``chainrule.save`` to check that it sweeps them (0 orphans after the
next save). The delays come from a seeded generator, so a run is reproducible in what it tries.

    python benchmarks/save_kill.py                 # 100 kills, seed 0
    python benchmarks/save_kill.py --kills 300 --seed 7 --size 800

The test suite runs the same ``run`` with 20 kills (tests/io/test_io_kill.py).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SRC = Path(__file__).resolve().parents[1] / "src"

def models(size: int) -> list:
    import chainrule as cr
    return [cr.Sequential(cr.Linear(size, size, rng=seed)) for seed in (1, 2)]


def _spawn_saver(path: Path, reference: list) -> int:
    """Fork a child that saves A, B, A, ... to ``path`` until killed; return its PID once it runs.
    Forking (rather than starting a new interpreter) keeps a trial to a few milliseconds."""
    import chainrule as cr
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        try:
            os.close(read_end)
            os.write(write_end, b"r")
            i = 0
            while True:
                cr.save(reference[i % 2], path)
                i += 1
        finally:
            os._exit(1)
    os.close(write_end)
    assert os.read(read_end, 1) == b"r"
    os.close(read_end)
    return pid


def run(kills: int = 100, seed: int = 0, size: int = 300, max_delay: float = 0.04,
        workdir: str | os.PathLike | None = None) -> dict:
    """Do ``kills`` kill-during-save trials; return counts (see the module docstring)."""
    import chainrule as cr
    rng = np.random.default_rng(seed)
    reference = models(size)
    stats = {"kills": 0, "intact_old": 0, "intact_new": 0, "corrupt": 0, "orphans_seen": 0,
             "orphans_after_next_save": 0, "seconds": 0.0}
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        path = Path(tmp) / "model.npz"
        cr.save(reference[0], path)  # the "old" file
        held = 0
        for _ in range(kills):
            pid = _spawn_saver(path, reference)
            time.sleep(float(rng.uniform(0, max_delay)))
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)  # reaped: its PID is now dead, as the sweep must see it
            stats["kills"] += 1
            try:
                back = cr.load(path)
                which = [all(np.array_equal(back.params[k], m.params[k]) for k in m.params)
                         for m in reference]
            except ValueError:
                which = [False, False]
            if not any(which):
                stats["corrupt"] += 1
            else:
                now = 0 if which[0] else 1
                stats["intact_old" if now == held else "intact_new"] += 1
                held = now
            stats["orphans_seen"] += len([p for p in os.listdir(tmp) if p != "model.npz"])
            # Re-save what the file holds: this next save must sweep the killed writer's temp file.
            cr.save(reference[held], path)
            stats["orphans_after_next_save"] += len([p for p in os.listdir(tmp) if p != "model.npz"])
    stats["seconds"] = time.perf_counter() - start
    return stats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", type=int, default=300, help="Linear(size, size): 8*size² bytes of weights")
    parser.add_argument("--max-delay", type=float, default=0.04, help="kill within this many seconds")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(SRC))
    stats = run(args.kills, args.seed, args.size, args.max_delay)
    for key, value in stats.items():
        print(f"{key:>24}: {value:.1f}" if isinstance(value, float) else f"{key:>24}: {value}")
    ok = stats["corrupt"] == 0 and stats["orphans_after_next_save"] == 0
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
