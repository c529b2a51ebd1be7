"""Shared pieces of the external-agent tests: small Dojo settings, a keyed fake provider, a leak scanner."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

from ftagent.dojo.env import DojoSettings
from ftagent.llm.backbones import BackboneSpec
from ftagent.llm.scripted_shell import shell_chat_policy
from ftagent.llm.server import make_handler

#: The provider key planted in the harness's environment by the parity tests.
PLANTED = "sk-planted-external-agent-5f1e0c9a7b"

#: One short session: a 4-step training, 5 validation items per subset, 3 iterations allowed.
SETTINGS = DojoSettings(scale="mini", prompt_style="compact", max_iterations=3, threads=2, sample_cap=200,
                        max_eval_items=5, train_overrides={"max_steps": 4, "logging_steps": 2},
                        data_debug_timeout_s=60, data_full_timeout_s=60, wall_clock_h=0.5)


def all_text(folder: Path) -> str:
    """Every readable file under ``folder`` concatenated (for leak checks)."""
    parts = []
    for p in Path(folder).rglob("*"):
        if p.is_file() and not p.is_symlink():
            try:
                parts.append(p.read_bytes().decode("utf-8", "replace"))
            except OSError:
                continue
    return "\n".join(parts)


@contextmanager
def keyed_upstream(log: list, first_command: str | None = None) -> Iterator[str]:
    """The scripted shell policy behind a fake provider that refuses any request without :data:`PLANTED`.

    ``first_command`` (e.g. ``env | sort > env_seen.txt``) is answered before the scripted session starts.
    """

    def policy(messages, request):
        if first_command and not any(first_command in json.dumps(m) for m in messages):
            return {"content": "look around", "tool_calls": [{"id": "call_first", "type": "function", "function": {
                "name": "bash", "arguments": json.dumps({"command": first_command})}}]}
        return shell_chat_policy(messages, request)

    class Checked(make_handler(policy, "fake-model", log)):
        def do_POST(self) -> None:
            if self.headers.get("authorization") != f"Bearer {PLANTED}":
                self._send(401, {"error": {"message": "wrong key"}})
                return
            super().do_POST()

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Checked)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}/v1"
    finally:
        srv.shutdown()
        srv.server_close()


@pytest.fixture
def planted_provider(monkeypatch):
    """Plant :data:`PLANTED` as ``$OPENAI_API_KEY`` and make every run's backbone a keyed fake provider.

    Yields:
        ``start(first_command=None)``, a context manager giving the request log of the fake provider.
    """
    import ftagent.agents.runner as runner

    monkeypatch.setenv("OPENAI_API_KEY", PLANTED)

    @contextmanager
    def start(first_command: str | None = None) -> Iterator[list]:
        log: list = []
        with keyed_upstream(log, first_command) as url:
            spec = BackboneSpec(id="fake-provider", kind="openai", label="Fake provider", model="fake-model",
                                base_url=url, api_key_env="OPENAI_API_KEY", price_per_mtok_prompt=2.0,
                                price_per_mtok_completion=8.0, temperature=0.0)
            monkeypatch.setattr(runner, "get_backbone", lambda _id: spec)
            yield log

    return start
