"""``chainrule grade`` from the command line: formats, Gradescope's results.json, exit codes."""

import ast
import json

import learners as L
import pytest

from chainrule.cli import main
from chainrule.grading.source import extract

# Gradescope's documented results.json fields (gradescope-autograders.readthedocs.io, "Autograder
# Specifications"): the top level, and each entry of "tests".
TOP_LEVEL = {"score": (int, float), "execution_time": (int, float), "output": str, "output_format": str,
             "test_output_format": str, "test_name_format": str, "visibility": str,
             "stdout_visibility": str, "extra_data": dict, "tests": list, "leaderboard": list}
TEST = {"score": (int, float), "max_score": (int, float), "status": str, "name": str, "name_format": str,
        "number": str, "output": str, "output_format": str, "tags": list, "visibility": str,
        "extra_data": dict}
VISIBILITY = {"hidden", "after_due_date", "after_published", "visible"}


def validate_gradescope(results: dict) -> None:
    assert set(results) <= set(TOP_LEVEL), set(results) - set(TOP_LEVEL)
    for key, kind in TOP_LEVEL.items():
        if key in results:
            assert isinstance(results[key], kind) and not isinstance(results[key], bool), key
    for key in ("visibility", "stdout_visibility"):
        assert results.get(key, "visible") in VISIBILITY
    assert results["tests"]
    for test in results["tests"]:
        assert set(test) <= set(TEST), set(test) - set(TEST)
        for key, kind in TEST.items():
            if key in test:
                assert isinstance(test[key], kind) and not isinstance(test[key], bool), key
        assert {"name", "score", "max_score", "output"} <= set(test)
        assert test.get("status", "passed") in {"passed", "failed"}
        assert test.get("visibility", "visible") in VISIBILITY
        assert 0 <= test["score"] <= test["max_score"]
    # "score" at the top level overrides the tests' sum on Gradescope: they must agree
    assert results["score"] == pytest.approx(sum(t["score"] for t in results["tests"]))


def test_gradescope_results_json_for_the_seed_000_notebook(tmp_path, capsys):
    path = L.write(tmp_path / "submission.ipynb", L.replaced(L.GRADIENT_CHECKING, L.GC_N, L.PLANTED_GC_N))
    out = tmp_path / "results" / "results.json"
    out.parent.mkdir()
    code = main(["grade", path, "--assignment", "gradient-checking", "--format", "gradescope",
                 "--out", str(out)])
    assert code == 1  # a function is wrong
    assert capsys.readouterr().out.strip() == f"5/6: wrote {out}"
    results = json.loads(out.read_text())
    validate_gradescope(results)
    assert results["score"] == 5
    tests = {t["name"]: t for t in results["tests"]}
    assert list(tests) == ["forward_propagation", "backward_propagation", "gradient_check",
                           "forward_propagation_n", "backward_propagation_n", "gradient_check_n"]
    bad = tests["backward_propagation_n"]
    assert (bad["status"], bad["score"], bad["max_score"]) == ("failed", 0, 1)
    assert "gradients['db1'] is 4 times" in bad["output"] and "gradients['dW2'] is 2 times" in bad["output"]
    assert all(t["status"] == "passed" and t["score"] == 1 and t["output"] == "correct"
               for name, t in tests.items() if name != "backward_propagation_n")


def test_json_format_of_a_correct_module_exits_0(tmp_path, capsys):
    path = tmp_path / "gc.py"
    path.write_text("\n\n".join(L.GRADIENT_CHECKING))
    assert main(["grade", str(path), "--assignment", "gradient-checking", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["outcome"] == "correct" and report["score"] == report["max_score"] == 6
    assert [f["status"] for f in report["functions"]] == ["correct"] * 6
    assert report["path"] == str(path) and report["assignment"] == "gradient-checking"


@pytest.mark.parametrize("argv, message", [
    (["grade", "missing.ipynb", "--assignment", "step-by-step"], "no such file: missing.ipynb"),
    (["grade", "x.ipynb", "--assignment", "week-5"], "invalid choice: 'week-5'"),
    (["grade", "x.ipynb", "--assignment", "step-by-step", "--time-limit", "0"], "expected a finite positive"),
])
def test_usage_errors_exit_2(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_out_in_a_missing_folder_is_refused_before_grading(tmp_path, capsys):
    path = tmp_path / "gc.py"
    path.write_text("raise SystemExit  # never run\n")
    argv = ["grade", str(path), "--assignment", "gradient-checking", "--format", "gradescope",
            "--out", str(tmp_path / "nowhere" / "results.json")]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert "--out" in captured.err and "missing directory" in captured.err
    assert json.loads(captured.out)["ok"] is False


def test_a_file_that_is_no_notebook_is_a_usage_error(tmp_path, capsys):
    bad = tmp_path / "bad.ipynb"
    bad.write_text("{not json")
    assert main(["grade", str(bad), "--assignment", "step-by-step"]) == 2
    assert "is not a readable Jupyter notebook" in capsys.readouterr().err
    notes = tmp_path / "notes.md"
    notes.write_text("# notes\n")
    assert main(["grade", str(notes), "--assignment", "step-by-step", "--format", "json"]) == 2
    captured = capsys.readouterr()
    assert "expected a notebook (.ipynb) or a Python module (.py), got '.md'" in captured.err
    assert json.loads(captured.out)["ok"] is False


def test_extraction_keeps_definitions_and_what_they_need_and_nothing_that_runs(tmp_path):
    cells = ["import numpy as np\n%matplotlib inline\n!pip install foo\nEPS = 1e-7\nlayers = [5, 4, 1]\n"
             "data = np.load('x.npy')\nnp.random.seed(1)\nI = np.eye(2) * EPS\nX = load_data()\n",
             "%%time\ndef never(): pass\n",
             "def f(x):\n    return x * EPS\nprint(f(2))\nfor i in range(10**9):\n    pass\n",
             "def g(x)\n    return x\ndef h(y):\n    return y\n",
             "def h(y):\n    return 2 * y\n"]
    source = extract(L.write(tmp_path / "n.ipynb", cells))
    assert source.defined == {"f": "cell 3", "h": "cell 5"}  # h redefined in a cell that parses
    assert source.broken == {"g": "it is defined in cell 4, which has a syntax error (line 1: expected ':'), "
                                  "so it could not be run"}
    assert "cell 2 is a cell magic (%%time) cell: not run" in source.notes
    first = source.cells[0]
    body = ast.parse(first.source).body
    kept = [ast.unparse(body[i]) for i in first.keep]
    assert kept == ["import numpy as np", "EPS = 1e-07", "layers = [5, 4, 1]", "I = np.eye(2) * EPS"]
    third = source.cells[1]
    assert [type(ast.parse(third.source).body[i]).__name__ for i in third.keep] == ["FunctionDef"]
