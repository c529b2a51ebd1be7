"""The ``transformers-serve`` backbone: server lifecycle (stand-in server) and one real SmolLM2 run (slow)."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ftagent.agents.runner import backbone_client
from ftagent.errors import BackboneError
from ftagent.llm.serve_local import transformers_serve
from tests.llm.conftest import spec

#: Plays ``python -m transformers.cli.transformers serve DIR --host H --port P``: /health, /v1/models and an
#: echo of the requested model name, refusing any other model as transformers serve does.
FAKE_SERVER = r'''
import json, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
args = sys.argv[sys.argv.index("serve") + 1:]
model, port = args[0], int(args[args.index("--port") + 1])
class H(BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def reply(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code); self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data))); self.end_headers(); self.wfile.write(data)
    def do_GET(self):
        if self.path == "/health": self.reply(200, {"status": "ok"})
        else: self.reply(200, {"object": "list", "data": [{"id": model, "object": "model"}]})
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if body["model"] != model:
            return self.reply(400, {"error": {"message": "pinned to another model"}})
        self.reply(200, {"id": "x", "object": "chat.completion", "created": 0, "model": model,
                         "choices": [{"index": 0, "finish_reason": "stop",
                                      "message": {"role": "assistant", "content": "served " + model}}],
                         "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}})
print("starting", flush=True)
ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
'''


def _fake_python(tmp_path: Path, mode: str) -> str:
    """An executable standing in for the serving interpreter: ``ok``, ``no-extra`` or ``crash``."""
    server = tmp_path / "fake_server.py"
    server.write_text(FAKE_SERVER)
    check, serve = {  # answer to the `-c "import fastapi, ..."` probe; the serve command
        "ok": ("exit 0", f'exec {sys.executable} {server} "$@"'),
        "no-extra": ("echo \"ModuleNotFoundError: No module named 'fastapi'\" >&2; exit 1", "exit 1"),
        "crash": ("exit 0", 'echo "OSError: cannot load model weights"; exit 3'),
    }[mode]
    exe = tmp_path / f"python-{mode}"
    exe.write_text(f'#!/bin/sh\nif [ "$1" = "-c" ]; then {check}; fi\n{serve}\n')
    exe.chmod(0o755)
    return str(exe)


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    d = tmp_path / "model"
    d.mkdir()
    (d / "config.json").write_text("{}")
    return d


def _port_open(url: str) -> bool:
    port = int(url.split(":")[2].split("/")[0])
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_lifecycle_start_ready_stop(tmp_path, model_dir):
    with transformers_serve(model_dir, python=_fake_python(tmp_path, "ok"), startup_timeout_s=30) as url:
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v1") and _port_open(url)
    time.sleep(0.2)
    assert not _port_open(url)


def test_backbone_client_serves_the_model_folder(tmp_path, model_dir, monkeypatch):
    """backbone_client starts the server; the wire names the folder, the records the logical model."""
    monkeypatch.setenv("FTAGENT_SERVE_PYTHON", _fake_python(tmp_path, "ok"))
    bb = spec(kind="transformers-serve", model="smollm2-135m-instruct", model_dir=str(model_dir),
              structured_output=False)
    with backbone_client(bb, tmp_path / "cache", "record") as llm:
        res = llm.chat([{"role": "user", "content": "hi"}], stage="plan")
    assert res.text == f"served {model_dir}"
    assert llm.usage.model == "smollm2-135m-instruct"
    assert (llm.usage.prompt_tokens, llm.usage.completion_tokens) == (1, 2)
    with backbone_client(bb, tmp_path / "cache", "replay") as llm:  # no server needed to replay
        assert llm.chat([{"role": "user", "content": "hi"}], stage="plan").text == res.text


def test_missing_serving_extra_is_one_line(tmp_path, model_dir):
    expected = r"needs the serving extra .*No module named 'fastapi'.*transformers\[serving\]"
    with pytest.raises(BackboneError, match=expected):
        with transformers_serve(model_dir, python=_fake_python(tmp_path, "no-extra")):
            pass


def test_server_crash_reports_log_tail(tmp_path, model_dir):
    expected = "exited with status 3 before it was ready: OSError: cannot load model"
    with pytest.raises(BackboneError, match=expected):
        with transformers_serve(model_dir, python=_fake_python(tmp_path, "crash"), startup_timeout_s=30):
            pass


def test_missing_model_folder(tmp_path):
    with pytest.raises(BackboneError, match="no model folder"):
        with transformers_serve(tmp_path / "nothing"):
            pass


def _real_setup() -> tuple[str, Path] | None:
    python = os.environ.get("FTAGENT_SERVE_PYTHON", sys.executable)
    model = Path(os.environ.get("FTAGENT_SMOLLM2_DIR",
                                Path(os.environ.get("FTAGENT_CACHE", Path.home() / ".cache" / "ftagent"))
                                / "models" / "smollm2-135m-instruct"))
    if python == sys.executable and importlib.util.find_spec("fastapi") is None:
        return None
    if python != sys.executable and subprocess.run([python, "-c", "import fastapi, uvicorn"]).returncode != 0:
        return None
    return (python, model) if (model / "config.json").exists() else None


@pytest.mark.slow
@pytest.mark.skipif(_real_setup() is None,
                    reason="needs transformers[serving] (this python or $FTAGENT_SERVE_PYTHON) and a prepared "
                           "SmolLM2 folder ($FTAGENT_SMOLLM2_DIR or $FTAGENT_CACHE/models/...)")
def test_smollm2_answers_through_the_client(monkeypatch, tmp_path):
    python, model = _real_setup()
    monkeypatch.setenv("FTAGENT_SERVE_PYTHON", python)
    bb = spec(kind="transformers-serve", model="smollm2-135m-instruct", model_dir=str(model), max_tokens=24,
              structured_output=False, timeout_s=600, max_retries=0)
    t0 = time.time()
    with backbone_client(bb, tmp_path / "cache", "record") as llm:
        t_ready = time.time() - t0
        res = llm.chat([{"role": "user", "content": "What is the capital of France?"}], stage="probe")
        t_answer = time.time() - t0 - t_ready
    print(f"\nsmollm2 via transformers serve: ready {t_ready:.1f} s, answer {t_answer:.1f} s, "
          f"tokens {llm.usage.prompt_tokens}+{llm.usage.completion_tokens}: {res.text!r}")
    assert "Paris" in res.text
    assert llm.usage.completion_tokens > 0 and llm.endpoint_calls == 1
