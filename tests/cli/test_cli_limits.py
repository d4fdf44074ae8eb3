"""`chainrule train` checks sizes and memory before allocating, finds a workable sample count by
arithmetic (checked here against the real generator + split), and refuses an empty --out; each
answer is one line on stderr, and one JSON line under --json, with exit code 2."""

from __future__ import annotations

import json

import pytest

import chainrule.cli.train as train_cli
from chainrule.cli import main


def _run(capsys, *args):
    code = main(["train", *args, "--json", "--quiet", "--epochs", "1"])
    out = capsys.readouterr()
    return code, out.out.strip().splitlines(), out.err.strip().splitlines()


@pytest.fixture
def generated(monkeypatch):
    """Sample counts the datasets were generated with (the CLI probes 100 points for class counts)."""
    counts = []
    real = train_cli.load_dataset

    def spy(name, **kw):
        counts.append(kw.get("n_samples"))
        return real(name, **kw)

    monkeypatch.setattr(train_cli, "load_dataset", spy)
    return counts


@pytest.mark.parametrize("args,expected", [
    (["--test-size", "0.99999", "--n-samples", "90"], "use --n-samples at least 300000"),
    (["--test-size", "1e-9"], "use --n-samples at least 2000000001"),
    (["--test-size", "0.5", "--n-samples", "3"], "use --n-samples at least 6"),
])
def test_sample_count_is_found_without_generating_data(capsys, tmp_path, generated, args, expected):
    code, out, err = _run(capsys, *args, "--out", str(tmp_path / "r"))
    assert code == 2
    assert len(out) == 1 and len(err) == 1
    summary = json.loads(out[0])
    assert summary["ok"] is False and expected in summary["error"] and expected in err[0]
    assert "every class needs a point in both the training and the test part" in summary["error"]
    assert set(generated) == {100}  # only the probe: no data of the requested (or larger) size
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("dataset,test_size,n", [
    ("spiral", 0.5, 3), ("spiral", 0.9, 10), ("spiral", 0.97, 30), ("spiral", 0.05, 12),
    ("spiral", 0.02, 40), ("moons", 0.7, 2), ("moons", 0.99, 5), ("circles", 0.01, 100),
    ("flower", 0.33, 2), ("spiral", 0.25, 4),
])
def test_arithmetic_answer_is_the_real_minimum(dataset, test_size, n):
    """Independent reference: generate the data and split it for every count up to the answer."""
    cfg = {"dataset": dataset, "n_samples": n, "noise": None, "test_size": test_size, "seed": 0,
           "dtype": "float64", "n_classes": train_cli._n_classes(dataset)}
    answer = train_cli.smallest_workable_n_samples(cfg)
    assert answer is not None and answer > n
    assert train_cli._split(cfg, answer) is not None
    for m in range(n + 1, answer):
        assert train_cli._split(cfg, m) is None, f"{m} already works, below the answer {answer}"
    for m in range(n, answer + 5):  # and the arithmetic predicate agrees with the real split
        assert train_cli._workable(cfg, m) == (train_cli._split(cfg, m) is not None), m


@pytest.mark.parametrize("args,option", [
    (["--hidden", "100000", "100000"], "--hidden 100000 100000 needs about"),
    (["--n-samples", "1000000000000"], "--n-samples 1000000000000 needs about"),
])
def test_memory_is_checked_before_allocating(capsys, tmp_path, monkeypatch, generated, args, option):
    monkeypatch.setattr(train_cli, "available_memory", lambda: 8 * 10**9)
    code, out, err = _run(capsys, *args, "--out", str(tmp_path / "r"))
    assert code == 2 and len(out) == 1 and len(err) == 1
    message = json.loads(out[0])["error"]
    assert message.startswith(option) and "more than the 8 GB available; lower it" in message
    assert set(generated) == {100}


def test_memory_estimate_matches_the_model_size():
    cfg = {"n_samples": 900, "hidden": [100000, 100000], "n_classes": 3, "dtype": "float64",
           "batch_size": 32}
    need = train_cli.memory_estimate(cfg, 2)
    n_params = 3 * 100000 + 100001 * 100000 + 100001 * 3
    assert need["model"] == n_params * 8 * 4  # parameters, gradients, Adam's two moments
    train_cli.check_memory(cfg, 2, available=sum(need.values()))  # exactly enough: accepted
    with pytest.raises(ValueError, match=r"--hidden 100000 100000 needs about 322 GB"):
        train_cli.check_memory(cfg, 2, available=sum(need.values()) - 1)


def test_out_of_memory_still_answers_in_one_json_line(capsys, tmp_path, monkeypatch):
    def boom(cfg, quiet):
        raise MemoryError

    monkeypatch.setattr(train_cli, "_train", boom)
    code, out, err = _run(capsys, "--out", str(tmp_path / "r"))
    assert code == 1 and len(out) == 1
    assert json.loads(out[0]) == {"ok": False, "status": "error",
                                  "error": "ran out of memory; lower --n-samples, --hidden or --batch-size"}


def test_empty_out_is_refused(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, _ = _run(capsys, "--out", "")
    assert code == 2
    assert "argument --out: expected a folder path, got ''" in json.loads(out[-1])["error"]
    assert list(tmp_path.iterdir()) == []  # nothing written into the current directory
