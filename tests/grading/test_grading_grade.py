"""``chainrule grade`` on learners' notebooks generated here (nbformat.v4) as the course writes them.

Each notebook is graded once (module fixtures; every grade is a separate worker process) and the
tests read its report: the right functions wrong with the right diagnosis, the rest correct, a
correct notebook full marks, a broken one graded function by function without a crash.
"""

import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import learners as L
import pytest

from chainrule.grading.grader import grade

LIGHT = """import numpy as np
from dnn_utils_v2 import sigmoid, sigmoid_backward, relu, relu_backward
"""


def light(cells):
    """The step-by-step notebook without its heavy imports (h5py, matplotlib): faster workers."""
    return [LIGHT if c == L.IMPORTS else c for c in cells]


NOTEBOOKS = {
    "correct": ("step-by-step", L.STEP_BY_STEP),
    "swap": ("step-by-step", light(L.replaced(L.STEP_BY_STEP, L.LAB, L.SWAPPED_LAB))),
    "inplace": ("step-by-step", light(L.replaced(L.STEP_BY_STEP, L.LAB, L.INPLACE_LAB))),
    "no_mean": ("step-by-step",
                light(L.replaced(L.STEP_BY_STEP, L.LINEAR_BACKWARD, L.NO_MEAN_LINEAR_BACKWARD))),
    "gc_correct": ("gradient-checking", L.GRADIENT_CHECKING),
    "gc_planted": ("gradient-checking", L.replaced(L.GRADIENT_CHECKING, L.GC_N, L.PLANTED_GC_N)),
}


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    folder = tmp_path_factory.mktemp("notebooks")
    paths = {name: L.write(folder / f"{name}.ipynb", cells) for name, (_, cells) in NOTEBOOKS.items()}
    with ThreadPoolExecutor(max_workers=3) as pool:  # each grade waits on its own worker process
        futures = {name: pool.submit(grade, paths[name], NOTEBOOKS[name][0]) for name in NOTEBOOKS}
        return {name: f.result() for name, f in futures.items()}


def by_name(report):
    return {f.name: f for f in report.functions}


def wrong(report):
    return sorted(f.name for f in report.functions if not f.passed)


def test_correct_notebooks_get_full_marks(reports):
    for name, functions in (("correct", 10), ("gc_correct", 6)):
        report = reports[name]
        assert report.passed and report.outcome == "correct", str(report)
        assert report.score == report.max_score == functions
        assert all(f.status == "correct" and f.score == 1 for f in report.functions)
    # the helpers the course provides are not graded when the learner does not write them
    assert "relu_backward" not in by_name(reports["correct"])
    # what a notebook does at the top level (training loops, tests, plots) never ran
    assert reports["correct"].seconds < 60


def test_seed_001_swap_names_both_branches(reports):
    report = reports["swap"]
    assert wrong(report) == ["linear_activation_backward"] and report.score == 9
    f = by_name(report)["linear_activation_backward"]
    assert f.status == "wrong" and f.score == 0 and f.max_score == 1
    text = "\n".join(f.problems)
    assert "layer 1 relu step, your linear_activation_backward: dZ uses the derivative of sigmoid" \
        in f.problems[0]
    assert "sigmoid step, your linear_activation_backward: dZ uses the derivative of relu where layer 3 is " \
           "sigmoid" in text
    assert any("pattern 'activation'" in line for line in f.details)  # check_backward's report travels along
    # each function is graded on its own: L_model_backward calls chainrule's linear_activation_backward
    assert by_name(report)["L_model_backward"].passed


def test_inplace_dZ_is_named(reports):
    report = reports["inplace"]
    assert wrong(report) == ["linear_activation_backward"]
    f = by_name(report)["linear_activation_backward"]
    assert "relu step, your linear_activation_backward: modified dA in place" in f.problems[0]
    assert any("np.array(dA, copy=True)" in line for line in f.details)


def test_missing_mean_is_named(reports):
    report = reports["no_mean"]
    assert wrong(report) == ["linear_backward"]
    f = by_name(report)["linear_backward"]
    assert f.problems[0] == "the course's test case: dW is m = 2 times too large: the 1/m average is missing"


def test_seed_000_planted_bugs(reports):
    report = reports["gc_planted"]
    assert wrong(report) == ["backward_propagation_n"] and report.score == 5
    problems = by_name(report)["backward_propagation_n"].problems
    assert problems == [
        "the course's test case: gradients['db1'] is 4 times the expected value (a stray factor)",
        "the course's test case: gradients['dW2'] is 2 times the expected value (a stray factor)"]
    # gradient_check_n itself is right: it computes the course's 0.2850931568 for these gradients
    assert by_name(report)["gradient_check_n"].passed


def test_a_broken_notebook_gets_a_verdict_per_function(tmp_path):
    cells = light(L.STEP_BY_STEP)

    def swap(old, new):
        cells[cells.index(old)] = new
    swap(L.INIT, L.INIT.replace("(n_x, n_h, n_y):", "(n_x, n_h, n_y)"))  # a syntax error
    swap(L.INIT_DEEP, L.INIT_DEEP.replace("    parameters = {}\n", "    parameters = {}\n    while True:\n"
                                                                  "        pass\n"))
    swap(L.FORWARD, L.FORWARD.replace("Z = np.dot(W, A) + b", "Z = np.dot(W, A.T) + b"))
    swap(L.COST, "# compute_cost: to do\n")
    swap(L.LINEAR_BACKWARD, L.LINEAR_BACKWARD.replace("return dA_prev, dW, db", "return dW, db"))
    swap(L.LAB, L.LAB.replace("    linear_cache, activation_cache = cache\n",
                              "    linear_cache, activation_cache = cache\n    big = np.ones(1 << 40)\n"))
    swap(L.L_BACKWARD, "import os\ndef L_model_backward(AL, Y, caches):\n"
                       f"    os.kill(os.getpid(), {int(signal.SIGKILL)})\n")
    report = grade(L.write(tmp_path / "broken.ipynb", cells), "step-by-step", seconds_per_function=1.0,
                   memory_mb=1024)
    f = by_name(report)
    assert {k: v.status for k, v in f.items()} == {
        "initialize_parameters": "missing", "initialize_parameters_deep": "timeout",
        "linear_forward": "error",
        "linear_activation_forward": "correct", "L_model_forward": "correct", "compute_cost": "missing",
        "linear_backward": "wrong", "linear_activation_backward": "error", "L_model_backward": "error",
        "update_parameters": "not graded"}
    assert report.score == 2 and report.max_score == 10 and report.outcome == "wrong"
    assert f["initialize_parameters"].problems == [
        "it is defined in cell 2, which has a syntax error (line 1: expected ':'), so it could not be run"]
    assert f["initialize_parameters_deep"].problems == ["did not finish within 1 s (an infinite loop?)"]
    assert f["linear_forward"].problems[0].startswith("raised ValueError: shapes (1,3) and (2,3) not aligned")
    assert "on the course's test case (at cell 5, line 2, in linear_forward: Z = np.dot(W, A.T) + b)" \
        in f["linear_forward"].problems[0]
    assert f["compute_cost"].problems == ["no function named compute_cost in broken.ipynb"]
    assert f["linear_backward"].problems == [
        "the course's test case: must return (dA_prev, dW, db); it returned a tuple of 2 value(s)"]
    assert f["linear_activation_backward"].problems == ["ran out of memory (the grader's limit is 1024 MB)"]
    assert f["L_model_backward"].problems[0].startswith("the grading process was killed (SIGKILL)")
    assert f["L_model_backward"].problems[0].endswith("while grading it")
    assert f["update_parameters"].problems[0].endswith("before it was graded")
    assert "cell 2 has a syntax error (line 1: expected ':'): not run" in report.notes
    assert str(report).splitlines()[0].endswith("(step-by-step): 2/10")
    text = report.format(80)
    assert max(map(len, text.splitlines()[1:])) <= 80  # the first line: the path, never cut
    assert " ".join(text.split()).count("ran out of memory (the grader's limit is 1024 MB)") == 1


def test_a_module_and_the_course_helpers_a_learner_writes(tmp_path):
    """A .py module is graded too; relu_backward written by the learner (in place) is graded, worth 0."""
    relu_inplace = ("def relu_backward(dA, cache):\n    dZ = dA\n    dZ[cache <= 0] = 0\n    return dZ\n")
    path = tmp_path / "learner.py"
    path.write_text("\n\n".join(light(L.STEP_BY_STEP)[:-1] + [relu_inplace]))
    report = grade(path, "step-by-step")
    f = by_name(report)
    assert wrong(report) == ["relu_backward"] and report.score == report.max_score == 10
    assert f["relu_backward"].max_score == 0
    assert "modified dA in place" in f["relu_backward"].problems[0]
    assert "sigmoid_backward" not in f


def test_timeout_of_the_whole_run_is_a_verdict_not_a_crash(tmp_path):
    path = tmp_path / "slow.py"
    path.write_text("import time\n\ndef forward_propagation(x, theta):\n    time.sleep(30)\n")
    report = grade(path, "gradient-checking", seconds_per_function=20, timeout=3)
    f = by_name(report)
    assert f["forward_propagation"].status == "timeout"
    assert "ran past its 3 s limit" in f["forward_propagation"].problems[0]
    assert [g.status for g in report.functions[1:]] == ["missing"] * 5
    assert os.listdir(tmp_path) == ["slow.py"]  # the worker ran elsewhere and left nothing here


def test_what_the_learners_code_starts_is_stopped_with_it(tmp_path):
    pid_file = tmp_path / "pid"
    path = tmp_path / "spawner.py"
    path.write_text("import subprocess\n\n"
                    "def forward_propagation(x, theta):\n"
                    "    child = subprocess.Popen(['sleep', '60'])\n"
                    f"    open({str(pid_file)!r}, 'w').write(str(child.pid))\n"
                    "    return theta * x\n")
    report = grade(path, "gradient-checking")
    assert by_name(report)["forward_propagation"].passed
    pid = int(pid_file.read_text())
    for _ in range(50):  # the kill is immediate; reaping by init may take a moment
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        pytest.fail(f"the learner's background process {pid} outlived the grading")
