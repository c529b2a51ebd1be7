"""A fake OpenAI-compatible endpoint for client tests: a scripted list of answers and faults, and a log."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from ftagent.llm.backbones import BackboneSpec
from ftagent.llm.server import ServerFault, serve_policy

#: A fault as a step of the fake endpoint's script (``retry-after-ms`` keeps the SDK's backoff short).
TOO_MANY = ServerFault(429, "rate limited", {"retry-after-ms": "20"})
BROKEN = ServerFault(500, "internal error", {"retry-after-ms": "20"})


class FakeEndpoint:
    """Answers each request with the next step: a string, a :class:`ServerFault`, or a callable.

    Attributes:
        url: Base URL.
        log: Every request (path, headers, body), in order — the attempts the client made.
    """

    def __init__(self, steps: list[Any], default: str | Callable[[list[dict], dict], str] = "ok"):
        self.steps = list(steps)
        self.default = default
        self.log: list[dict[str, Any]] = []
        self.url = ""

    def __call__(self, messages: list[dict[str, Any]], body: dict[str, Any]) -> str:
        step = self.steps.pop(0) if self.steps else self.default
        if isinstance(step, BaseException):
            raise step
        return step(messages, body) if callable(step) else step

    @property
    def retry_counts(self) -> list[str]:
        """The SDK's ``x-stainless-retry-count`` header of each attempt."""
        return [r["headers"].get("x-stainless-retry-count", "?") for r in self.log]


@pytest.fixture
def fake_endpoint() -> Iterator[Callable[..., FakeEndpoint]]:
    """Start fake endpoints: ``fake_endpoint(steps, default=...)``; all are stopped after the test."""
    with contextlib.ExitStack() as stack:
        def start(steps: list[Any] | None = None, default: Any = "ok") -> FakeEndpoint:
            ep = FakeEndpoint(steps or [], default)
            ep.url = stack.enter_context(serve_policy(ep, "fake-model", log=ep.log))
            return ep

        yield start


def spec(**kw: Any) -> BackboneSpec:
    """A backbone for the fake endpoint (no key, short timeouts)."""
    base = {"id": "fake", "kind": "openai", "label": "Fake", "model": "fake-model", "temperature": 0.0,
            "max_retries": 3, "timeout_s": 10.0}
    return BackboneSpec(**{**base, **kw})
