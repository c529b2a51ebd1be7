"""Red-team tests of the sandbox backends.

Every attack runs twice: under ``subprocess`` (no isolation), where it must *succeed* — proof that the
attack is real and the test not vacuous — and under ``bubblewrap``, where it must fail. The sandbox is
driven from a separate "harness" process started with planted secrets in its environment (an API key,
an HF token, a HOME holding a ``.netrc``), as a real run would be.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import pytest

from ftagent.dojo.sandbox import ApptainerSandbox, BubblewrapSandbox, SubprocessSandbox, get_sandbox
from ftagent.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
SECRET = "sk-planted-0123456789abcdef"
CANARY = "TEST-HALF-CANARY-7f3a"
OTHER = "OTHER-EXPERIMENT-CANARY"
NETRC = "NETRC-CANARY"


def _bwrap_or_skip() -> BubblewrapSandbox:
    try:
        return BubblewrapSandbox()
    except ConfigError as e:
        pytest.skip(str(e))


@pytest.fixture(scope="module")
def bwrap() -> BubblewrapSandbox:
    """A working bubblewrap sandbox, or a skip with bwrap's own reason."""
    return _bwrap_or_skip()


@pytest.fixture
def layout(tmp_path: Path) -> dict[str, Path]:
    """A run folder, a data folder with a test half, a raw-data repository and a home with secrets."""
    run = tmp_path / "results" / "run"
    ws = run / "experiments" / "e1"
    ws.mkdir(parents=True)
    (run / "experiments" / "e0").mkdir()
    (run / "experiments" / "e0" / "process_data.py").write_text(f"# {OTHER}\n")
    test = tmp_path / "data" / "aime2025" / "test.jsonl"
    test.parent.mkdir(parents=True)
    test.write_text(json.dumps({"question": "q", "answer": CANARY}) + "\n")
    raw = tmp_path / "repository"
    (raw / "deepscaler").mkdir(parents=True)
    (raw / "deepscaler" / "train.jsonl").write_text('{"problem": "1+1", "answer": "2"}\n')
    home = tmp_path / "home"
    home.mkdir()
    (home / ".netrc").write_text(f"machine huggingface.co password {NETRC}\n")
    return {"run": run, "ws": ws, "test": test, "raw": raw, "home": home,
            "other": run / "experiments" / "e0" / "process_data.py"}


class _Listener:
    """A TCP server on the host's loopback that answers every connection with one line."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            c.sendall(b"hello from the host\n")
            c.close()

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept() so the thread ends
        except OSError:
            pass
        self.sock.close()


ATTACK = r'''
import glob, json, os, socket, sys
C = json.loads(sys.argv[1])
out = {}
def attempt(name, fn):
    try:
        out[name] = bool(fn())
    except Exception as e:
        out[name] = False
        out[name + "_error"] = type(e).__name__
def read(p):
    with open(p) as f:
        return f.read()
attempt("abs_path", lambda: C["canary"] in read(C["test"]))
attempt("dotdot", lambda: C["canary"] in read(os.path.relpath(C["test"], C["ws"])))
def via_link():
    os.symlink(C["test"], "data.json")
    return C["canary"] in read("data.json")
attempt("symlink", via_link)
attempt("other_experiment", lambda: C["other"] in read(C["other_file"]))
attempt("env_vars", lambda: any(C["secret"] in v for v in os.environ.values()))
attempt("proc_self_environ", lambda: C["secret"] in read("/proc/self/environ"))
def any_environ():
    for p in glob.glob("/proc/[0-9]*/environ"):
        try:
            if C["secret"] in open(p, "rb").read().decode("latin-1"):
                return True
        except OSError:
            pass
    return False
attempt("proc_any_environ", any_environ)
def grader():
    sys.path.insert(0, C["repo"])
    import ftagent.dojo.heldout as h
    return "def heldout" in read(h.__file__)
attempt("import_grader", grader)
attempt("home_netrc", lambda: C["netrc"] in read(os.path.join(C["home"], ".netrc")))
attempt("home_netrc_env", lambda: C["netrc"] in read(os.path.expanduser("~/.netrc")))
attempt("network", lambda: socket.create_connection(("127.0.0.1", C["port"]), timeout=3).recv(64))
def write_raw():
    open(os.path.join(os.environ["FTDOJO_RAW_DIR"], "planted.txt"), "w").write("x")
    return True
attempt("write_raw", write_raw)
def write_run():
    open(os.path.join(C["run"], "run.json"), "w").write("{}")
    return True
attempt("write_run_folder", write_run)
RAW = os.environ["FTDOJO_RAW_DIR"]
attempt("raw_readable", lambda: "answer" in read(os.path.join(RAW, "deepscaler/train.jsonl")))
attempt("libs", lambda: __import__("pandas") and __import__("csv") and __import__("random"))
open("ok.txt", "w").write("workspace is writable")
print(json.dumps(out))
'''

HARNESS = r'''
import json, sys, warnings
from pathlib import Path
warnings.simplefilter("ignore")
from ftagent.dojo.sandbox import get_sandbox
a = json.loads(sys.argv[1])
r = get_sandbox(a["backend"]).run(a["argv"], Path(a["ws"]), Path(a["raw"]), timeout_s=a["timeout"],
                                  memory_mb=a["mem"])
print(json.dumps(r.__dict__))
'''

ATTACKS = ["abs_path", "dotdot", "symlink", "other_experiment", "proc_any_environ", "import_grader",
           "home_netrc", "home_netrc_env", "network", "write_raw", "write_run_folder"]


def _harness(backend: str, layout: dict[str, Path], argv: list[str], timeout: float = 120,
             mem: int = 4096) -> dict:
    """Run the sandbox from a harness process whose environment holds planted secrets."""
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT), "HOME": str(layout["home"]),
           "OPENAI_API_KEY": SECRET, "HF_TOKEN": SECRET, "LANG": "C.UTF-8"}
    arg = json.dumps({"backend": backend, "argv": argv, "ws": str(layout["ws"]), "raw": str(layout["raw"]),
                      "timeout": timeout, "mem": mem})
    p = subprocess.run([sys.executable, "-c", HARNESS, arg], env=env, capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    return json.loads(p.stdout)


def _attack(backend: str, layout: dict[str, Path]) -> tuple[dict, dict]:
    listener = _Listener()
    try:
        conf = {"test": str(layout["test"]), "ws": str(layout["ws"]), "canary": CANARY, "other": OTHER,
                "other_file": str(layout["other"]), "secret": SECRET, "repo": str(ROOT), "netrc": NETRC,
                "home": str(layout["home"]), "port": listener.port, "run": str(layout["run"])}
        (layout["ws"] / "attack.py").write_text(ATTACK)
        res = _harness(backend, layout, ["python", "attack.py", json.dumps(conf)])
    finally:
        listener.close()
    assert res["returncode"] == 0, res["stderr_tail"]
    return json.loads(res["stdout_tail"].strip().splitlines()[-1]), res


def test_attacks_succeed_without_isolation(layout):
    """The baseline: with plain subprocess every attack works (only direct env vars are scrubbed)."""
    found, res = _attack("subprocess", layout)
    assert {a: found[a] for a in ATTACKS} == dict.fromkeys(ATTACKS, True), found
    assert found["env_vars"] is False and found["proc_self_environ"] is False  # SAFE_ENV scrubbing works
    assert found["raw_readable"] and found["libs"]
    assert res["removed_links"] == ["data.json"]  # the harness never follows the planted link
    assert not (layout["ws"] / "data.json").exists()


def test_attacks_fail_in_bubblewrap(bwrap, layout):
    """Every attack fails under bubblewrap, while raw data, the libraries and the workspace still work."""
    found, res = _attack("bubblewrap", layout)
    leaked = [a for a in [*ATTACKS, "env_vars", "proc_self_environ"] if found[a]]
    assert leaked == [], found
    assert found["raw_readable"] and found["libs"], found
    assert (layout["ws"] / "ok.txt").read_text() == "workspace is writable"
    assert not (layout["raw"] / "planted.txt").exists() and not (layout["run"] / "run.json").exists()
    assert res["removed_links"] == ["data.json"]
    assert found["import_grader_error"] in ("ModuleNotFoundError", "ImportError")


SPAWN_AND_HANG = r'''
import subprocess, sys, time
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(4); open('late.txt', 'w').write('alive')"])
open("spawned.txt", "w").write("grandchild started")
time.sleep(60)
'''


@pytest.mark.parametrize("backend", ["subprocess", "bubblewrap"])
def test_timeout_kills_the_process_tree(backend, layout, request):
    if backend == "bubblewrap":
        request.getfixturevalue("bwrap")
    (layout["ws"] / "hang.py").write_text(SPAWN_AND_HANG)
    sb = get_sandbox(backend) if backend == "bubblewrap" else SubprocessSandbox(warn=False)
    t0 = time.time()
    res = sb.run(["python", "hang.py"], layout["ws"], layout["raw"], timeout_s=3, memory_mb=0)
    assert res.timed_out and not res.ok and time.time() - t0 < 10
    assert (layout["ws"] / "spawned.txt").exists(), "inconclusive: the script was killed before it forked"
    time.sleep(5)
    assert not (layout["ws"] / "late.txt").exists(), "a grandchild survived the timeout"


@pytest.mark.parametrize("backend", ["subprocess", "bubblewrap"])
def test_memory_cap_stops_allocation(backend, layout, request):
    if backend == "bubblewrap":
        request.getfixturevalue("bwrap")
    sb = get_sandbox(backend) if backend == "bubblewrap" else SubprocessSandbox(warn=False)
    (layout["ws"] / "alloc.py").write_text("x = bytearray(1536 * 2**20)\nprint('allocated', len(x))\n")
    capped = sb.run(["python", "alloc.py"], layout["ws"], layout["raw"], timeout_s=60, memory_mb=768)
    assert not capped.ok and "MemoryError" in capped.stderr_tail, capped
    roomy = sb.run(["python", "alloc.py"], layout["ws"], layout["raw"], timeout_s=60, memory_mb=4096)
    assert roomy.ok and "allocated" in roomy.stdout_tail, roomy


@pytest.mark.parametrize("backend", ["subprocess", "bubblewrap"])
def test_crash_returns_traceback_tail(backend, layout, request):
    if backend == "bubblewrap":
        request.getfixturevalue("bwrap")
    sb = get_sandbox(backend) if backend == "bubblewrap" else SubprocessSandbox(warn=False)
    (layout["ws"] / "crash.py").write_text("print('starting')\n"
                                           "def f():\n    raise ValueError('boom-123')\nf()\n")
    res = sb.run(["python", "crash.py"], layout["ws"], layout["raw"], timeout_s=60, memory_mb=2048)
    assert res.returncode == 1 and not res.timed_out
    assert "Traceback" in res.stderr_tail and "ValueError: boom-123" in res.stderr_tail
    assert "starting" in res.stdout_tail


LLM_CALL = r'''
import json, os, socket, sys, urllib.request
url = os.environ["FTDOJO_LLM_BASE_URL"] + "/chat/completions"
body = json.dumps({"model": "m", "messages": [{"role": "user", "content": "ping"}]}).encode()
req = urllib.request.Request(url, body, {"Content-Type": "application/json"})
answer = json.load(urllib.request.urlopen(req, timeout=10))["choices"][0]["message"]["content"]
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=3).recv(64)
    other = "reachable"
except OSError as e:
    other = type(e).__name__
print(json.dumps({"url": os.environ["FTDOJO_LLM_BASE_URL"], "answer": answer, "other": other}))
'''


def test_allowed_llm_endpoint_only(bwrap, layout):
    """With an allowed endpoint the code reaches it (through the relay) and still nothing else."""
    from ftagent.llm.server import serve_policy

    listener = _Listener()
    (layout["ws"] / "llm.py").write_text(LLM_CALL)
    try:
        with serve_policy(lambda msgs, body: "pong:" + msgs[-1]["content"]) as url:
            res = bwrap.run(["python", "llm.py", str(listener.port)], layout["ws"], layout["raw"],
                            timeout_s=60, memory_mb=2048, llm_endpoint=url)
            port = url.split(":")[2].split("/")[0]
    finally:
        listener.close()
    assert res.ok, res.stderr_tail
    out = json.loads(res.stdout_tail.strip().splitlines()[-1])
    assert out == {"url": f"http://127.0.0.1:{port}/v1", "answer": "pong:ping",
                   "other": "ConnectionRefusedError"}


PRIVILEGES = r'''
import ctypes, os
caps = [l.split()[1] for l in open("/proc/self/status") if l.startswith("CapEff")][0]
nested = ctypes.CDLL(None, use_errno=True).unshare(0x10000000)  # CLONE_NEWUSER
print(os.getuid(), caps, nested)
'''


def test_bwrap_code_has_no_privileges(bwrap, layout):
    """Even when the harness is root, the code runs as uid 1000 with no capabilities."""
    (layout["ws"] / "priv.py").write_text(PRIVILEGES)
    res = bwrap.run(["python", "priv.py"], layout["ws"], layout["raw"], timeout_s=60, memory_mb=2048)
    uid, caps, nested = res.stdout_tail.split()
    assert (uid, caps) == ("1000", "0000000000000000"), res
    if bwrap.disable_userns:
        assert nested == "-1"  # no nested user namespace


def test_bwrap_unavailable_is_a_one_line_error(tmp_path):
    with pytest.raises(ConfigError, match="'bubblewrap' unavailable: '/nonexistent/bwrap' not found"):
        get_sandbox("bubblewrap", bwrap="/nonexistent/bwrap")
    fake = tmp_path / "bwrap"
    fake.write_text("#!/bin/sh\necho 'bwrap: setting up uid map: Permission denied' >&2\nexit 1\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    with pytest.raises(ConfigError) as e:
        BubblewrapSandbox(bwrap=str(fake))
    msg = str(e.value)
    assert "\n" not in msg and "setting up uid map: Permission denied" in msg


def test_bwrap_masks_an_installed_grader(bwrap, layout, tmp_path):
    """A non-editable ``ftagent`` in a mounted environment is hidden by an empty tmpfs."""
    site = tmp_path / "env" / "lib" / "python3.11" / "site-packages"
    (site / "ftagent").mkdir(parents=True)
    (site / "ftagent" / "grader.py").write_text(f"ANSWERS = '{CANARY}'\n")
    sb = BubblewrapSandbox(ro_paths=[str(tmp_path / "env")])
    assert str(site / "ftagent") in sb.masks
    (layout["ws"] / "peek.py").write_text(f"import os\nprint(sorted(os.listdir({str(site)!r})), "
                                          f"sorted(os.listdir({str(site / 'ftagent')!r})))\n")
    res = sb.run(["python", "peek.py"], layout["ws"], layout["raw"], timeout_s=60, memory_mb=2048)
    assert res.ok and res.stdout_tail.strip() == "['ftagent'] []", res


def test_bwrap_refuses_a_root_holding_the_workspace(bwrap, layout):
    sb = BubblewrapSandbox(ro_paths=[str(layout["run"].parent)])
    with pytest.raises(ConfigError, match="contains the workspace"):
        sb.command(["python", "x.py"], layout["ws"], layout["raw"], memory_mb=0)


def test_get_sandbox_errors_and_warning():
    with pytest.raises(ConfigError, match="unknown sandbox backend 'docker'"):
        get_sandbox("docker")
    with pytest.raises(ConfigError, match="bad option"):
        get_sandbox("subprocess", image="x.sif")
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        get_sandbox("subprocess")
    assert any("no filesystem or network isolation" in str(x.message) for x in w)


def test_apptainer_command_line(tmp_path, layout):
    """The apptainer command line (checked with a stand-in executable, so it runs everywhere)."""
    fake = tmp_path / "apptainer"
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(0o755)
    image = tmp_path / "py.sif"
    image.write_text("")
    sb = ApptainerSandbox(image=str(image), apptainer=str(fake))
    cmd = sb.command(["python", "process_data.py", "--debug"], layout["ws"], layout["raw"], memory_mb=1024)
    joined = " ".join(cmd)
    for part in ("exec --containall", "--no-mount home,cwd,bind-paths", "--net --network none",
                 f"{layout['raw']}:/dojo/raw:ro", f"{layout['ws']}:/dojo/work", "--pwd /dojo/work",
                 "--env FTDOJO_RAW_DIR=/dojo/raw", str(image)):
        assert part in joined
    assert cmd[-3:] == ["python3", "process_data.py", "--debug"] and str(1024 * 2**20) in cmd
    assert SECRET not in joined
    with pytest.raises(ConfigError, match="needs a container image"):
        ApptainerSandbox(image=str(tmp_path / "missing.sif"), apptainer=str(fake))


@pytest.mark.skipif(not (os.environ.get("FTDOJO_APPTAINER_IMAGE") and shutil.which("apptainer")),
                    reason="needs apptainer on PATH and $FTDOJO_APPTAINER_IMAGE (an image with python3)")
def test_apptainer_isolation(layout):
    found, _ = _attack("apptainer", layout)
    assert [a for a in ATTACKS if found[a]] == [], found
    assert found["raw_readable"]


def test_dojo_runs_the_scripted_data_script_in_bubblewrap(bwrap, tmp_path, all_tasks, mini_data,
                                                          mini_repository):
    """The whole path: Dojo.run_data_script with sandbox 'bubblewrap' on the mini raw-data repository."""
    from ftagent.dojo.env import Dojo, DojoSettings
    from ftagent.llm.scripted import RECIPES, _data_script
    from ftagent.models.registry import get_base_model

    task = all_tasks["aime2025"]
    dojo = Dojo(task, mini_data, mini_repository, get_base_model("tiny-qwen2"), tmp_path / "model",
                tmp_path / "run", DojoSettings(sandbox="bubblewrap", sample_cap=50))
    ws = dojo.new_experiment("e1")
    script = _data_script({"datasets": dojo.dataset_info(), "iteration": 0, "sample_cap": 50,
                           "eval_prompt_template": "{question}"}, RECIPES[0])
    res = dojo.run_data_script(ws, script, debug=False)
    assert res.ok, (res.error, res.log_tail)
    assert res.stats["samples"] == 50 and "deepscaler" in res.log_tail
