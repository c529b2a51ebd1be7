"""The Dojo survives hostile data-script outputs (issue 14), with the bubblewrap backend.

Every case is a data script an agent could write; each must end as a one-line DATA (or OOM) failure,
quickly, with the harness unharmed, and the recorded ``process_data.py`` must be the script that ran.
"""

from __future__ import annotations

import hashlib
import json
import time
import warnings
from pathlib import Path

import pytest

from ftagent.dojo.sandbox import SandboxLimits, get_sandbox
from ftagent.errors import ConfigError

VALID = ('import json\n'
         'json.dump([{"instruction": "What is 2+2?", "output": "4"}] * 5, open("data.json", "w"))\n')
HOSTILE = {
    "fifo": ("import os\nos.mkfifo('data.json')\n", "is a FIFO"),
    "directory": ("import os\nos.mkdir('data.json')\nopen('data.json/x', 'w').write('[]')\n",
                  "is a directory"),
    "invalid_utf8": ("open('data.json', 'wb').write(b'[{\"instruction\": \"\\xff\", \"output\": \"x\"}]')\n",
                     "not valid UTF-8"),
    "deep_json": ("open('data.json', 'w').write('[' * 100000 + ']' * 100000)\n", "nests deeper"),
    "oversized": ("import json\njson.dump([{'instruction': 'q' * 1000, 'output': 'a'}] * 3000, "
                  "open('data.json', 'w'))\n", "MiB cap"),
    "link_out": ("import os\nos.symlink('/etc/hostname', 'data.json')\n", "not found"),
}


def _dojo(tmp_path, all_tasks, mini_data, mini_repository, sandbox="bubblewrap", **limits):
    from ftagent.dojo.env import Dojo, DojoSettings
    from ftagent.models.registry import get_base_model

    settings = DojoSettings(sandbox=sandbox, sample_cap=50, data_memory_mb=1024,
                            sandbox_limits=SandboxLimits(**limits))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Dojo(all_tasks["aime2025"], mini_data, mini_repository, get_base_model("tiny-qwen2"),
                    tmp_path / "model", tmp_path / "run", settings)


@pytest.fixture(scope="module")
def _bwrap():
    try:
        get_sandbox("bubblewrap")
    except ConfigError as e:
        pytest.skip(str(e))


def test_hostile_outputs_are_data_failures(_bwrap, tmp_path, all_tasks, mini_data, mini_repository):
    dojo = _dojo(tmp_path, all_tasks, mini_data, mini_repository, debug_output_mb=2)
    ws = dojo.new_experiment("e1")
    for name, (script, expect) in HOSTILE.items():
        t0 = time.time()
        res = dojo.run_data_script(ws, script, debug=True)
        assert not res.ok and res.failure_class == "DATA", (name, res.error, res.log_tail)
        assert expect in res.error and "\n" not in res.error, (name, res.error)
        assert time.time() - t0 < 30, name
    ok = dojo.run_data_script(ws, VALID, debug=True)  # the workspace is usable again (data.json/ cleared)
    assert ok.ok and ok.stats["samples"] == 5, ok.error
    assert ok.stats["sandbox"]["backend"] == "bubblewrap" and ok.stats["sandbox"]["isolated"]
    step = dojo.run_dir / ok.stats["sandbox"]["log_dir"]
    assert (step / "stdout.log").exists()
    assert json.loads((step / "step.json").read_text())["result"]["breach"] is None
    assert json.loads((dojo.run_dir / "sandbox.json").read_text())["backend"] == "bubblewrap"


def test_breach_is_a_classified_one_line_failure(_bwrap, tmp_path, all_tasks, mini_data, mini_repository):
    dojo = _dojo(tmp_path, all_tasks, mini_data, mini_repository)
    ws = dojo.new_experiment("e1")
    hog = "import subprocess, sys\n[p.wait() for p in [subprocess.Popen([sys.executable, '-c', " \
          "'x = bytearray(400 * 2**20); import time; time.sleep(5)']) for _ in range(4)]]\n"
    res = dojo.run_data_script(ws, hog, debug=True)
    assert not res.ok and res.failure_class == "OOM", (res.error, res.log_tail)
    assert res.error.startswith("data script stopped: memory cap of 1024 MiB for the whole process tree")
    assert "\n" not in res.error and res.stats["sandbox"]["backend"] == "bubblewrap"


REWRITE = ('try:\n    open(__file__, "w").write("print(\'not what ran\')\\n")\nexcept OSError as e:\n'
           '    print("rewrite refused:", type(e).__name__)\n') + VALID


@pytest.mark.parametrize("backend", ["bubblewrap", "subprocess"])
def test_the_recorded_script_is_the_script_that_ran(backend, tmp_path, all_tasks, mini_data, mini_repository,
                                                    request):
    if backend == "bubblewrap":
        request.getfixturevalue("_bwrap")
    dojo = _dojo(tmp_path, all_tasks, mini_data, mini_repository, sandbox=backend)
    ws = dojo.new_experiment("e1")
    res = dojo.run_data_script(ws, REWRITE, debug=True)
    assert res.ok, res.error
    sha = hashlib.sha256(REWRITE.encode()).hexdigest()
    assert res.stats["script_sha256"] == sha
    assert (ws / "process_data.py").read_text() == REWRITE  # the record holds what ran
    ran = dojo.run_dir / res.stats["sandbox"]["log_dir"] / "process_data.py"
    assert hashlib.sha256(ran.read_bytes()).hexdigest() == sha
    if backend == "bubblewrap":  # the copy that runs is read-only inside the sandbox
        assert "rewrite refused" in res.log_tail and "script_rewritten" not in res.stats
    else:  # no isolation: the code could rewrite it, the harness restored the record and says so
        assert res.stats["script_rewritten"] is True
        assert res.stats["sandbox"]["isolated"] is False and "no isolation" in res.stats["sandbox"]["note"]


def test_training_data_path_must_stay_in_the_workspace(tmp_path, all_tasks, mini_data, mini_repository):
    dojo = _dojo(tmp_path, all_tasks, mini_data, mini_repository, sandbox="subprocess")
    ws = dojo.new_experiment("e1")
    res = dojo.train(ws, {"method": "lora", "data_path": "../../../data.json"}, micro=True)
    assert not res.ok and res.failure_class == "DATA" and "outside the workspace" in res.error
