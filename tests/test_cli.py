"""The command line: bad input gives one line naming the problem and exit status 2; listings work."""

from __future__ import annotations

import subprocess
import sys

import pytest


def ftagent(*args, env=None, cwd=None):
    return subprocess.run([sys.executable, "-m", "ftagent", *args], capture_output=True, text=True, env=env, cwd=cwd)


def test_tasks_list_shows_all_13_and_runnable():
    out = ftagent("tasks", "list")
    assert out.returncode == 0
    assert "aime2025" in out.stdout and "panorama_noc4pc" in out.stdout
    assert out.stdout.count("│ yes") >= 3


@pytest.mark.parametrize(("args", "message"), [
    (["tasks", "show", "no_such_task"], "unknown task 'no_such_task'"),
    (["data", "info", "--data-dir", "/nonexistent/dir"], "data directory not found: /nonexistent/dir"),
    (["run", "--task", "aime2025", "--agent", "nobody", "--base-model", "tiny-qwen2", "--model-dir", "/x",
      "--data-dir", "/x", "--repository", "/x", "--out", "/tmp/ftagent-cli-x"], "unknown agent 'nobody'"),
    (["run", "--task", "nope", "--agent", "base-model", "--base-model", "tiny-qwen2", "--model-dir", "/x",
      "--data-dir", "/x", "--repository", "/x", "--out", "/tmp/ftagent-cli-x"], "unknown task 'nope'"),
    (["run", "--task", "aime2025", "--agent", "base-model", "--base-model", "gpt-17", "--model-dir", "/x",
      "--data-dir", "/x", "--repository", "/x", "--out", "/tmp/ftagent-cli-x"], "unknown base model 'gpt-17'"),
    (["eval", "--run", "/nonexistent/run"], "no run.json in /nonexistent/run"),
])
def test_bad_input_one_line_error(args, message):
    out = ftagent(*args)
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], out.stderr


def test_malformed_task_yaml_via_cli(tmp_path):
    import os

    (tmp_path / "aime2025.yaml").write_text("id: aime2025\ntitle: [oops\n")
    out = ftagent("tasks", "list", env={**os.environ, "FTAGENT_TASKS_DIR": str(tmp_path)})
    assert out.returncode == 2
    assert out.stderr.startswith("error: ") and "aime2025.yaml" in out.stderr and "not valid YAML" in out.stderr
