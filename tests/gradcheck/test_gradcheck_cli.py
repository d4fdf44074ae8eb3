"""``chainrule gradcheck``: the demo, JSON output and exit codes."""

import json

import pytest

from chainrule.cli import main


def test_demo_diagnoses_the_course_bugs(capsys):
    assert main(["gradcheck", "--demo"]) == 1
    out = capsys.readouterr().out
    assert "0.28509315" in out and "planted bugs" in out
    assert "W2" in out and "b1" in out and "scaled" in out


def test_demo_json_and_fixed(capsys):
    assert main(["gradcheck", "--demo", "--json"]) == 1
    d = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert d["difference"] == pytest.approx(0.2850931568, abs=1e-6)
    assert sorted(d["failed"]) == ["W2", "b1"]
    assert d["parameters"]["W2"]["factor"] == pytest.approx(2, rel=0.01)
    assert d["parameters"]["b1"]["factor"] == pytest.approx(4, rel=0.01)
    assert main(["gradcheck", "--demo", "--fixed", "--json"]) == 0
    fixed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert fixed["passed"] and fixed["difference"] == pytest.approx(1.189e-7, rel=1e-3)


@pytest.mark.parametrize("args", [
    [],
    ["--dataset", "moons", "--hidden", "4", "--activation", "tanh", "--loss", "mse"],
    ["--dataset", "random", "--activation", "leaky_relu", "--method", "directional", "--seed", "3"],
    ["--loss", "bce_with_logits", "--sample", "3", "--autodiff"],
    ["--dtype", "float32", "--hidden", "3"],
])
def test_built_in_models_pass(args, capsys):
    assert main(["gradcheck", "--json", *args]) == 0
    captured = capsys.readouterr()
    d = json.loads(captured.out.strip().splitlines()[-1])
    assert d["ok"] and d["passed"] and d["blame"] is None and len(d["layers"]) >= 3
    if "float32" in args:  # checked on a float64 copy, said once in the report, not as a stderr warning
        assert any("float32" in note for note in d["notes"]) and "Warning" not in captured.err


def test_table_output_and_bad_options(capsys):
    assert main(["gradcheck", "--hidden", "3"]) == 0
    out = capsys.readouterr().out
    assert "gradient check PASSED" in out and "layers, each backward checked alone" in out
    assert main(["gradcheck", "--fixed"]) == 2
    assert "--fixed applies to --demo only" in capsys.readouterr().err
    assert main(["gradcheck", "--fixed", "--json"]) == 2
    assert json.loads(capsys.readouterr().out) == {"ok": False, "passed": False,
                                                   "error": "--fixed applies to --demo only"}
    assert main(["gradcheck", "--eps", "2"]) == 2
    assert "argument --eps: expected a number in (0, 1), got 2" in capsys.readouterr().err
