"""The top-level command: usage errors exit 2 with argparse's message, and in JSON under --json."""

import json

import pytest

from chainrule.cli import main


@pytest.mark.parametrize(("argv", "message"), [
    (["train", "--lr", "-1", "--json"], "argument --lr: expected a finite positive number, got -1"),
    (["gradcheck", "--eps", "5", "--json"], "argument --eps: expected a number in (0, 1), got 5"),
])
def test_usage_error_under_json_ends_stdout_with_a_json_line(argv, message, capsys):
    assert main(argv) == 2
    captured = capsys.readouterr()
    last = json.loads(captured.out.splitlines()[-1])
    assert last == {"ok": False, "error": f"invalid command line: {message}"}
    assert f"error: {message}" in captured.err and captured.err.startswith("usage: chainrule")


def test_usage_error_without_json_prints_nothing_on_stdout(capsys):
    assert main(["train", "--epochs", "0"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "chainrule train: error: argument --epochs: expected a positive integer, got 0" in captured.err


def test_a_command_is_required(capsys):
    assert main([]) == 2
    assert "the following arguments are required: COMMAND" in capsys.readouterr().err
