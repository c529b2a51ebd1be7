"""A loopback OpenAI-compatible endpoint serving an offline policy (the ``scripted`` backbone).

The agent's real client code (:class:`~ftagent.llm.client.ChatClient`, the openai SDK, HTTP) talks to
this server exactly as it would talk to OpenAI or ``vllm serve``; only the answers come from a local
Python policy. It implements ``POST /v1/chat/completions`` and ``GET /v1/models``, and, for the frontier
CLI agents, the OpenAI Responses API (``POST /v1/responses``) and Anthropic Messages (``POST
/v1/messages``, ``/v1/messages/count_tokens``), each streaming (SSE) or not, translated to and from the
same chat policy by :mod:`ftagent.llm.wire` (streamed chat completions go through it as well). Token counts of a
served policy are whitespace-separated word counts (no tokenizer is involved).

For fault tests a policy may raise :class:`ServerFault` to answer with an HTTP error (429, 500...) and
headers such as ``retry-after-ms``, or sleep to play a slow endpoint; ``serve_policy(log=[...])`` records
every request (path, headers, body) so a test can count the attempts the client made.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

#: ``policy(messages, request) -> answer``; ``request`` is the whole JSON body of the call. The answer is
#: the assistant's text, or a dict ``{"content": str | None, "tool_calls": [...]}`` (OpenAI tool calls,
#: answered with ``finish_reason: tool_calls``) for policies that drive tool-calling agents.
Policy = Callable[[list[dict[str, Any]], dict[str, Any]], "str | dict[str, Any]"]


class ServerFault(Exception):
    """Raised by a policy to answer with an HTTP error instead of a completion.

    Args:
        status: HTTP status (e.g. 429, 500, 503).
        message: Error message in the OpenAI error body.
        headers: Extra response headers (e.g. ``{"retry-after-ms": "10"}``).
    """

    def __init__(self, status: int, message: str = "injected fault", headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


def _words(messages: list[dict[str, Any]]) -> int:
    return sum(len(str(m.get("content") or "").split()) for m in messages)


def send_json(handler: BaseHTTPRequestHandler, code: int, body: Any, headers: dict[str, str] | None = None) -> None:
    """Answer with a JSON body and close the connection (one request per connection: no stale keep-alive
    reuse). Shared by the scripted endpoint and the LLM proxy."""
    data = json.dumps(body).encode()
    handler.send_response(code)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    for k, v in (headers or {}).items():
        handler.send_header(k, v)
    handler.send_header("Connection", "close")
    handler.close_connection = True
    handler.end_headers()
    handler.wfile.write(data)


def make_handler(policy: Policy, model_name: str,
                 log: list[dict[str, Any]] | None = None) -> type[BaseHTTPRequestHandler]:
    """An HTTP handler class answering chat completions with ``policy`` (requests appended to ``log``)."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep the agent's output clean
            return

        def _send(self, code: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
            send_json(self, code, body, headers)

        def do_GET(self) -> None:
            if self.path.rstrip("/").endswith("/models"):
                self._send(200, {"object": "list", "data": [{"id": model_name, "object": "model", "owned_by": "ftagent"}]})
            else:
                self._send(404, {"error": {"message": f"no route {self.path}"}})

        def _wire(self, fmt: str, body: dict[str, Any] | None = None) -> None:
            from ftagent.llm import wire

            try:
                logged = body is not None  # already logged by the chat route
                if body is None:
                    body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                if log is not None and not logged:
                    log.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                                "body": body})
                if fmt == "count_tokens":
                    self._send(200, {"input_tokens": wire.prompt_words(wire.chat_view("messages", body)[0])})
                    return
                data, events = wire.serve(fmt, body, policy, model_name)
            except ServerFault as f:
                self._send(f.status, {"error": {"message": f.message, "type": "injected", "code": f.status}},
                           f.headers)
                return
            except Exception as e:  # a policy bug must reach the client as a server error, not hang it
                self._send(500, {"error": {"message": f"{type(e).__name__}: {e}", "type": "server_error"}})
                return
            if data is not None:
                self._send(200, data)
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Connection", "close")
            self.close_connection = True
            self.end_headers()
            for ev in events:
                self.wfile.write(ev.encode())
                self.wfile.flush()

        def do_POST(self) -> None:
            path = self.path.split("?")[0].rstrip("/")
            if path.endswith("/messages/count_tokens"):
                self._wire("count_tokens")
                return
            if path.endswith("/responses") or path.endswith("/messages"):
                self._wire("responses" if path.endswith("/responses") else "messages")
                return
            if not self.path.rstrip("/").endswith("/chat/completions"):
                self._send(404, {"error": {"message": f"no route {self.path}"}})
                return
            try:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                if log is not None:
                    log.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                                "body": body})
                if body.get("stream"):  # streamed chat completions: SSE chunks (ftagent.llm.wire)
                    self._wire("chat", body)
                    return
                messages = body["messages"]
                text = policy(messages, body)
            except ServerFault as f:
                err = {"message": f.message, "type": "injected", "code": f.status}
                self._send(f.status, {"error": err}, f.headers)
                return
            except Exception as e:  # a policy bug must reach the client as a server error, not hang it
                self._send(500, {"error": {"message": f"{type(e).__name__}: {e}", "type": "server_error"}})
                return
            message: dict[str, Any] = {"role": "assistant", "content": text}
            finish = "stop"
            if isinstance(text, dict):  # a tool-calling answer
                message = {"role": "assistant", "content": text.get("content"), **(
                    {"tool_calls": text["tool_calls"]} if text.get("tool_calls") else {})}
                finish = "tool_calls" if text.get("tool_calls") else "stop"
                text = (text.get("content") or "") + "".join(
                    " " + c["function"]["arguments"] for c in text.get("tool_calls") or [])
            self._send(200, {
                "id": f"chatcmpl-{uuid.uuid4().hex[:12]}", "object": "chat.completion", "created": int(time.time()),
                "model": body.get("model", model_name),
                "choices": [{"index": 0, "finish_reason": finish, "message": message}],
                "usage": {"prompt_tokens": _words(messages), "completion_tokens": len(text.split()),
                          "total_tokens": _words(messages) + len(text.split())},
            })

    return Handler


@contextmanager
def serve_policy(policy: Policy, model_name: str = "scripted", port: int = 0,
                 log: list[dict[str, Any]] | None = None) -> Iterator[str]:
    """Serve ``policy`` on ``127.0.0.1`` in a background thread.

    Args:
        policy: The answering function.
        model_name: Model id the endpoint reports.
        port: TCP port (0 = any free port).
        log: When given, every POST is appended as ``{"path", "headers" (lower-case names), "body"}``
            (tests count the attempts a client made).

    Yields:
        The base URL (``http://127.0.0.1:<port>/v1``) to give the openai client.
    """
    server = ThreadingHTTPServer(("127.0.0.1", port), make_handler(policy, model_name, log))
    thread = threading.Thread(target=server.serve_forever, name="ftagent-policy-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()
