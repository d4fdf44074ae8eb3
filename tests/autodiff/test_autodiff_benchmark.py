"""The step benchmark compares equal work: after the same steps all three variants hold the same
weights. (Its timings are printed by the script, never asserted.)"""

from __future__ import annotations

import runpy
from pathlib import Path

import numpy as np
import pytest

BENCH = runpy.run_path(str(Path(__file__).resolve().parents[2] / "benchmarks" / "autodiff_step.py"))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_benchmark_variants_train_identically(dtype):
    steps, params = BENCH["make_steps"](dtype)
    for _ in range(3):
        for step in steps.values():
            step()
    ref = params["layers"]
    tol = {"rtol": 1e-10, "atol": 1e-12} if dtype is np.float64 else {"rtol": 1e-4, "atol": 1e-6}
    for variant in ("autodiff", "protocol"):
        assert list(params[variant]) == list(ref)
        for k, p in params[variant].items():
            assert p.dtype == dtype
            np.testing.assert_allclose(p, ref[k], **tol, err_msg=f"{variant} {k}")
    assert not np.allclose(ref["0.W"], BENCH["make_steps"](dtype)[1]["layers"]["0.W"])  # it did train


def test_benchmark_prints_every_variant_and_ratio(capsys):
    BENCH["main"](["--rounds", "2", "--dtype", "float32"])
    out = capsys.readouterr().out
    for variant in ("layers", "autodiff", "protocol"):
        assert f"  {variant}" in out
    assert out.count("ratio") == 3 and "1.00x" in out
