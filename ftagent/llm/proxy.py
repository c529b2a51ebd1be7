"""LLM access parity: a per-run loopback proxy that holds the provider key and keeps the run's LLM account.

Every backbone-using agent reaches its LLM through one :class:`LLMProxy` (FT-Dojo's rule that every
agent gets the same LLM access; issue 10 "LLM access parity"). The proxy

* listens on ``127.0.0.1`` and accepts only requests carrying the run's token, as
  ``Authorization: Bearer <token>`` or ``x-api-key: <token>`` (the two ways OpenAI-style and
  Anthropic-style clients send a key); anything else gets HTTP 401;
* forwards the request **path and body verbatim** to the backbone's upstream, with the token swapped for
  the provider key (read from ``$<backbone.api_key_env>`` when the proxy starts, held in memory only,
  put where the client put its token). A path under ``/v1`` goes to ``<upstream base>/<rest>`` (the
  upstream base ends in ``/v1``, e.g. ``https://api.openai.com/v1``), so OpenAI chat completions
  (``/v1/chat/completions``), the Responses API (``/v1/responses``) and Anthropic Messages
  (``/v1/messages``) all pass, streaming (SSE) and not;
* reads the token usage of every answer in the three formats (``usage.prompt_tokens`` /
  ``completion_tokens``; ``usage.input_tokens`` / ``output_tokens``, including Anthropic's cache
  counters; the usage events of SSE streams: the last chat-completions chunk, ``response.completed``,
  ``message_start`` + ``message_delta``), prices it with the backbone's prices and appends one line
  per call to the run's JSONL log (:data:`LOG_NAME`; no prompts, no keys);
* refuses further calls with HTTP 429 (``x-should-retry: false``, so the openai and anthropic SDKs
  do not retry) once the run's budget in USD or tokens is spent.

Local routes can be mounted under a path prefix (:meth:`LLMProxy.mount`): the Dojo tool service of
external agents (:mod:`ftagent.agents.external.tools`) lives under ``/ftdojo`` on the same port, so a
sandbox needs exactly one reachable endpoint and one token.

Usage::

    with LLMProxy(backbone, upstream="http://127.0.0.1:9000/v1", run_dir=run_dir, budget_usd=5) as proxy:
        client = OpenAI(base_url=proxy.base_url, api_key=proxy.token)
        ...
    proxy.usage  # ftagent.records.LLMUsage of the run

Only plain HTTP is served (loopback); the upstream may be HTTPS.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from ftagent.errors import BackboneError
from ftagent.llm.backbones import BackboneSpec
from ftagent.llm.server import send_json
from ftagent.records import LLMUsage

log = logging.getLogger("ftagent.proxy")

#: The proxy's per-call log in the run folder.
LOG_NAME = "llm_proxy.jsonl"
#: Request headers never forwarded (the token, hop-by-hop headers, what httpx sets itself).
_DROP_REQUEST = {"authorization", "x-api-key", "api-key", "host", "content-length", "connection",
                 "accept-encoding", "keep-alive", "transfer-encoding", "te", "upgrade", "proxy-authorization"}
#: Response headers never passed back (httpx decodes the body; lengths change when streaming).
_DROP_RESPONSE = {"content-length", "content-encoding", "transfer-encoding", "connection", "keep-alive"}

#: ``handler(method, subpath, body_bytes) -> (status, json_body)`` of a mounted local route.
Route = Callable[[str, str, bytes], tuple[int, Any]]


def _usage_of(obj: Any) -> tuple[int, int] | None:
    """(prompt, completion) tokens in one response body or SSE event, in any of the three formats."""
    if not isinstance(obj, dict):
        return None
    for holder in (obj, obj.get("response"), obj.get("message")):
        u = holder.get("usage") if isinstance(holder, dict) else None
        if isinstance(u, dict):
            if "prompt_tokens" in u or "completion_tokens" in u:  # chat completions
                return int(u.get("prompt_tokens") or 0), int(u.get("completion_tokens") or 0)
            if "input_tokens" in u or "output_tokens" in u:  # Responses API, Anthropic Messages
                prompt = sum(int(u.get(k) or 0) for k in
                             ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"))
                return prompt, int(u.get("output_tokens") or 0)
    return None


def parse_usage(body: bytes, stream: bool) -> tuple[int, int]:
    """Token usage of an upstream answer (0, 0 when it reports none).

    Args:
        body: The whole response body (JSON, or an SSE stream).
        stream: Whether ``body`` is an SSE stream (``data: {...}`` lines).

    Returns:
        (prompt tokens, completion tokens). In a stream each event's usage is merged by maximum, which is
        right for the three formats: chat completions report it once in the last chunk, the Responses
        API in ``response.completed``, Anthropic the prompt in ``message_start`` and the cumulative
        completion count in ``message_delta``.
    """
    if not stream:
        try:
            return _usage_of(json.loads(body)) or (0, 0)
        except (ValueError, UnicodeDecodeError):
            return 0, 0
    pt = ct = 0
    for line in body.decode("utf-8", "replace").splitlines():
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if not data or data == "[DONE]":
            continue
        try:
            u = _usage_of(json.loads(data))
        except ValueError:
            continue
        if u:
            pt, ct = max(pt, u[0]), max(ct, u[1])
    return pt, ct


class LLMProxy:
    """The run's loopback LLM endpoint (see the module docstring); a context manager.

    Args:
        backbone: The backbone whose upstream, key variable and prices apply.
        upstream: Upstream base URL (default ``backbone.base_url``; the loopback URL of a served policy).
        run_dir: Run folder for the JSONL log (None: no log file).
        budget_usd: Spend after which calls are refused (None: no limit).
        budget_tokens: Prompt + completion tokens after which calls are refused (None: no limit).
        timeout_s: Upstream timeout of one call (default ``backbone.timeout_s``).
        port: Local port (0: any free port).

    Attributes:
        base_url: ``http://127.0.0.1:<port>/v1`` (give it to OpenAI-style clients).
        root_url: ``http://127.0.0.1:<port>`` (Anthropic-style clients add ``/v1`` themselves).
        token: The per-run token clients must send.
        usage: Run totals (calls that reached the upstream, tokens, cost).
        refused: Calls refused because the budget was spent.

    Raises:
        BackboneError: the backbone names a key variable that is not set, or there is no upstream URL.
    """

    def __init__(self, backbone: BackboneSpec, upstream: str | None = None, run_dir: Path | None = None, *,
                 budget_usd: float | None = None, budget_tokens: int | None = None,
                 timeout_s: float | None = None, port: int = 0):
        self.backbone = backbone
        self.upstream = (upstream or backbone.base_url or "").rstrip("/")
        if not self.upstream:
            raise BackboneError(f"backbone '{backbone.id}' has no base_url for the LLM proxy")
        self._key = os.environ.get(backbone.api_key_env, "") if backbone.api_key_env else ""
        if backbone.api_key_env and not self._key:
            raise BackboneError(f"backbone '{backbone.id}' needs the API key in ${backbone.api_key_env}")
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.budget_usd, self.budget_tokens = budget_usd, budget_tokens
        self.timeout_s = timeout_s or backbone.timeout_s
        self.token = "ftdojo-run-" + secrets.token_urlsafe(24)
        self.usage = LLMUsage(backbone_label=backbone.label, model=backbone.model)
        self.refused = 0
        self._routes: dict[str, Route] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._server.daemon_threads = True
        p = self._server.server_address[1]
        self.root_url = f"http://127.0.0.1:{p}"
        self.base_url = f"{self.root_url}/v1"
        self._thread = threading.Thread(target=self._server.serve_forever, name="ftdojo-llm-proxy", daemon=True)
        self._client: Any = None

    # ------------------------------------------------------------------ public
    def mount(self, prefix: str, route: Route) -> None:
        """Serve ``prefix`` (e.g. ``/ftdojo``) locally with ``route`` (token-checked like every request)."""
        self._routes[prefix.rstrip("/")] = route

    def spent(self) -> str | None:
        """Why the budget is spent (one line), or None while calls are allowed."""
        u = self.usage
        if self.budget_usd is not None and u.cost_usd >= self.budget_usd:
            return f"per-run LLM budget spent: ${u.cost_usd:.4f} of ${self.budget_usd:.4f}"
        tokens = u.prompt_tokens + u.completion_tokens
        if self.budget_tokens is not None and tokens >= self.budget_tokens:
            return f"per-run LLM budget spent: {tokens} of {self.budget_tokens} tokens"
        return None

    def redact(self, text: str) -> str:
        """``text`` with the provider key replaced by ``***``."""
        return text.replace(self._key, "***") if self._key else text

    def __enter__(self) -> LLMProxy:
        import httpx

        self._client = httpx.Client(timeout=httpx.Timeout(self.timeout_s, connect=30.0), follow_redirects=False)
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._client is not None:
            self._client.close()

    # ------------------------------------------------------------------ internals
    def _authorized(self, headers: Any) -> str | None:
        """How the client sent the token (``bearer`` or ``x-api-key``), or None."""
        auth = headers.get("authorization") or ""
        if auth.lower().startswith("bearer ") and hmac.compare_digest(auth[7:].strip(), self.token):
            return "bearer"
        xk = headers.get("x-api-key") or headers.get("api-key") or ""
        if xk and hmac.compare_digest(xk.strip(), self.token):
            return "x-api-key"
        return None

    def _target(self, path: str) -> str:
        if path == "/v1" or path.startswith("/v1/") or path.startswith("/v1?"):
            return self.upstream + path[3:]
        parts = urlsplit(self.upstream)
        return f"{parts.scheme}://{parts.netloc}{path}"

    def _record(self, entry: dict[str, Any]) -> None:
        if self.run_dir is None:
            return
        self.run_dir.mkdir(parents=True, exist_ok=True)
        with open(self.run_dir / LOG_NAME, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")

    def _account(self, path: str, status: int, stream: bool, body: bytes, t0: float) -> None:
        pt, ct = parse_usage(body, stream)
        cost = self.backbone.cost(pt, ct)
        with self._lock:
            u = self.usage
            u.calls += 1
            u.prompt_tokens += pt
            u.completion_tokens += ct
            u.cost_usd = round(u.cost_usd + cost, 6)
            self._record({"time": round(t0, 3), "path": path, "status": status, "stream": stream,
                          "prompt_tokens": pt, "completion_tokens": ct, "cost_usd": round(cost, 6),
                          "latency_s": round(time.time() - t0, 3), "total_calls": u.calls,
                          "total_tokens": u.prompt_tokens + u.completion_tokens, "total_cost_usd": u.cost_usd})

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                return

            def _json(self, code: int, body: Any, headers: dict[str, str] | None = None) -> None:
                send_json(self, code, body, headers)

            def _error(self, code: int, message: str, kind: str) -> None:
                # both the OpenAI and the Anthropic error shapes read "error.message"
                self._json(code, {"type": "error", "error": {"message": message, "type": kind, "code": code}},
                           {"x-should-retry": "false"})

            def _body(self) -> bytes:
                n = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(n) if n else b""

            def _serve(self, method: str) -> None:
                body = self._body()
                how = proxy._authorized(self.headers)
                if how is None:
                    self._error(401, "ftdojo proxy: missing or wrong per-run token", "authentication_error")
                    return
                for prefix, route in proxy._routes.items():
                    if self.path == prefix or self.path.startswith(prefix + "/"):
                        try:
                            code, out = route(method, self.path[len(prefix):] or "/", body)
                        except Exception as e:  # a tool bug must reach the client, not hang it
                            log.exception("route %s failed", prefix)
                            code, out = 500, {"error": f"{type(e).__name__}: {e}"}
                        self._json(code, out)
                        return
                why = proxy.spent()
                if why is not None:
                    proxy.refused += 1
                    self._error(429, f"ftdojo proxy: {why}; no further LLM calls are allowed in this run",
                                "budget_exceeded")
                    return
                self._forward(method, body, how)

            def _forward(self, method: str, body: bytes, how: str) -> None:
                import httpx

                headers = {k: v for k, v in self.headers.items() if k.lower() not in _DROP_REQUEST}
                if proxy._key:
                    if how == "x-api-key":
                        headers["x-api-key"] = proxy._key
                    else:
                        headers["Authorization"] = f"Bearer {proxy._key}"
                stream = False
                if body:
                    try:
                        stream = bool(json.loads(body).get("stream"))
                    except (ValueError, AttributeError, UnicodeDecodeError):
                        stream = False
                t0 = time.time()
                req = proxy._client.build_request(method, proxy._target(self.path), headers=headers,
                                                  content=body or None)
                try:
                    resp = proxy._client.send(req, stream=True)
                except httpx.HTTPError as e:
                    self._error(502, proxy.redact(f"ftdojo proxy: upstream unreachable ({type(e).__name__}: {e})"),
                                "upstream_error")
                    return
                kept = bytearray()
                try:
                    is_sse = "text/event-stream" in resp.headers.get("content-type", "")
                    self.send_response(resp.status_code)
                    for k, v in resp.headers.items():
                        if k.lower() not in _DROP_RESPONSE:
                            self.send_header(k, v)
                    self.send_header("Connection", "close")
                    self.close_connection = True
                    if not is_sse:
                        data = resp.read()
                        if proxy._key:
                            data = data.replace(proxy._key.encode(), b"***")
                        kept += data
                        self.send_header("Content-Length", str(len(data)))
                        self.end_headers()
                        self.wfile.write(data)
                    else:
                        self.end_headers()  # no length: the body ends when the connection closes
                        for chunk in resp.iter_bytes():
                            kept += chunk
                            self.wfile.write(chunk)
                            self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass
                finally:
                    resp.close()
                    if method == "POST":
                        proxy._account(self.path.split("?")[0], resp.status_code, is_sse or stream, bytes(kept), t0)

            def do_POST(self) -> None:
                self._serve("POST")

            def do_GET(self) -> None:
                self._serve("GET")

        return Handler
