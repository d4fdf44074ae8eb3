"""kill -9 during save: the old file intact or the new one complete, no orphan after the next save.
The harness is benchmarks/save_kill.py (100 kills there; 20 here, seeded)."""

from __future__ import annotations

import os
import runpy
from pathlib import Path

import pytest

BENCH = runpy.run_path(str(Path(__file__).resolve().parents[2] / "benchmarks" / "save_kill.py"))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="the harness forks the saving process")
def test_sigkill_during_save_never_corrupts_and_leaves_no_orphan(tmp_path):
    stats = BENCH["run"](kills=20, seed=0, size=300, workdir=tmp_path)
    assert stats["kills"] == 20
    assert stats["corrupt"] == 0
    assert stats["intact_old"] + stats["intact_new"] == 20
    # The kills did land mid-write (temp files were left), and the next save swept every one.
    assert stats["orphans_seen"] > 0
    assert stats["orphans_after_next_save"] == 0
