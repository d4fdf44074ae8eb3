"""The README is executable documentation: its Python blocks run, its claims hold, and its test
command is the one CI runs."""

import re
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README, flags=re.S)


def test_python_blocks_run_and_show_what_they_say(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for block in python_blocks():
        exec(compile(block, "README.md", "exec"), namespace)
    # Quick start: trained, evaluated, saved.
    assert (tmp_path / "spiral.npz").exists()
    assert namespace["history"].history["val_accuracy"][-1] >= 0.95
    # Training: early stopping restored the best epoch; the checkpoint restored optimizer and schedule.
    run = namespace["run"]
    assert (run.stopped_epoch, run.best_epoch) == (34, 24)
    assert namespace["opt2"].lr == namespace["opt"].lr and namespace["sched2"].last_epoch == 34
    assert "stopped after epoch 34, best epoch 24" in repr(run)
    # Gradient checking: the forgotten mask is found, blamed on layer 1 and named.
    report = namespace["report"]
    assert (report.passed, report.blame, report.layers[1].pattern) == (False, 1, "masked")
    assert "correct on 61 elements, wrong on the 67 elements where the input is <= 0" in report.layers[1].hint
    assert "'accuracy': 0.9955" in capsys.readouterr().out
    # Autodiff: the gradient of tanh(x . w)^2 matches its analytic derivative.
    x, w = np.array([1.0, 2.0]), np.array([0.5, -1.0])
    t = np.tanh(x @ w)
    np.testing.assert_allclose(namespace["w"].grad, 2 * t * (1 - t**2) * x, rtol=1e-12)
    # PyTorch: the gradients returned in the wrong order are named; a correct module passes.
    fn_report, module_report = namespace["fn_report"], namespace["module_report"]
    assert (fn_report.failed, fn_report.parameters["x"].pattern) == (["x", "w"], "swapped")
    assert (module_report.passed, list(module_report.parameters)[:2]) == (True, ["0.weight", "0.bias"])
    # New layers: the summary printed in the README is the real one; digits train and check.
    assert str(namespace["digits_net"].summary()) in README
    assert namespace["digits_scores"]["accuracy"] > 0.95 and namespace["digits_check"].passed
    assert namespace["clf_score"] > 0.96 and len(namespace["cv_scores"]) == 3
    # The course's API: the printed dW of the course's linear_backward test case.
    np.testing.assert_allclose(namespace["dW"], [[-0.10076895, 1.40685096, 1.64992505]], atol=1e-8)


def test_readme_test_command_is_what_ci_runs():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()[-1]
    assert f"```bash\n{ci}\n```" in README


def test_readme_main_job_command_installs_and_runs_chainrule_train():
    command = r"```bash\npython3 -m venv \S+ && \S+/pip install \"\.\[plot\]\" && \S+/chainrule train\n```"
    assert re.search(command, README)
