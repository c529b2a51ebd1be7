"""The per-run LLM proxy: token check, verbatim forwarding with the key swapped in, usage of the three wire
formats (plain and SSE), the per-run log and the budget stop."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from openai import OpenAI

from ftagent.errors import BackboneError
from ftagent.llm.backbones import BackboneSpec
from ftagent.llm.proxy import LOG_NAME, LLMProxy, parse_usage
from ftagent.utils.io import read_jsonl

KEY = "sk-planted-proxy-test-0123456789"

CHAT = {"id": "c1", "object": "chat.completion", "created": 0, "model": "m",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "hi"}}],
        "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}}
CHAT_SSE = ('data: {"id":"c1","object":"chat.completion.chunk","created":0,"model":"m","choices":[{"index":0,'
            '"delta":{"content":"hi"}}]}\n\n'
            'data: {"id":"c1","object":"chat.completion.chunk","created":0,"model":"m","choices":[],'
            '"usage":{"prompt_tokens":7,"completion_tokens":3,"total_tokens":10}}\n\ndata: [DONE]\n\n')
RESPONSES_SSE = ('event: response.created\ndata: {"type":"response.created","response":{"id":"r1"}}\n\n'
                 'event: response.completed\ndata: {"type":"response.completed","response":{"id":"r1",'
                 '"usage":{"input_tokens":50,"output_tokens":5,"total_tokens":55}}}\n\n')
MESSAGES = {"id": "m1", "type": "message", "role": "assistant", "content": [{"type": "text", "text": "hi"}],
            "usage": {"input_tokens": 30, "cache_read_input_tokens": 10, "output_tokens": 4}}
MESSAGES_SSE = ('event: message_start\ndata: {"type":"message_start","message":{"id":"m1","usage":'
                '{"input_tokens":11,"output_tokens":1}}}\n\n'
                'event: content_block_delta\ndata: {"type":"content_block_delta","delta":{"text":"hi"}}\n\n'
                'event: message_delta\ndata: {"type":"message_delta","usage":{"output_tokens":9}}\n\n')


@contextmanager
def fake_upstream(log: list[dict[str, Any]]) -> Iterator[str]:
    """An upstream that checks the planted key and answers per path (``stream: true`` gets SSE)."""

    class H(BaseHTTPRequestHandler):
        def log_message(self, *a: Any) -> None:
            return

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            log.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                        "body": body})
            auth = self.headers.get("authorization") == f"Bearer {KEY}" or self.headers.get("x-api-key") == KEY
            if not auth:
                data, ctype, code = json.dumps({"error": {"message": "bad key"}}).encode(), "application/json", 401
            else:
                sse = {"/v1/chat/completions": CHAT_SSE, "/v1/responses": RESPONSES_SSE,
                       "/v1/messages": MESSAGES_SSE}
                plain = {"/v1/chat/completions": CHAT, "/v1/messages": MESSAGES,
                         "/v1/echo": {"echo": KEY}}
                if body.get("stream"):
                    data, ctype = sse[self.path].encode(), "text/event-stream"
                else:
                    data, ctype = json.dumps(plain[self.path]).encode(), "application/json"
                code = 200
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}/v1"
    finally:
        srv.shutdown()
        srv.server_close()


def _spec(url: str, **kw: Any) -> BackboneSpec:
    return BackboneSpec(id="fake", kind="openai", label="Fake", model="m", base_url=url, api_key_env="FAKE_KEY",
                        price_per_mtok_prompt=1.0, price_per_mtok_completion=10.0, **kw)


def test_forwards_verbatim_with_the_key_swapped_and_counts_usage(tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_KEY", KEY)
    log: list[dict[str, Any]] = []
    with fake_upstream(log) as url, LLMProxy(_spec(url), run_dir=tmp_path) as proxy:
        client = OpenAI(base_url=proxy.base_url, api_key=proxy.token, max_retries=0)
        r = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hello"}])
        assert r.choices[0].message.content == "hi"
        chunks = list(client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}],
                                                     stream=True, stream_options={"include_usage": True}))
        assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "hi"
        h = {"Authorization": f"Bearer {proxy.token}"}
        r2 = httpx.post(proxy.base_url + "/responses", json={"model": "m", "input": "x", "stream": True}, headers=h)
        assert "response.completed" in r2.text
        xh = {"x-api-key": proxy.token, "anthropic-version": "2023-06-01"}
        r3 = httpx.post(proxy.root_url + "/v1/messages", json={"model": "m", "max_tokens": 5, "messages": []},
                        headers=xh)
        assert r3.json()["content"][0]["text"] == "hi"
        httpx.post(proxy.root_url + "/v1/messages", json={"model": "m", "stream": True}, headers=xh)
        echo = httpx.post(proxy.base_url + "/echo", json={}, headers=h)
        assert KEY not in echo.text and "***" in echo.text  # an upstream echoing the key is redacted
        usage = proxy.usage
    # verbatim path and body; the key replaced the token, where the client put it
    assert [e["path"] for e in log] == ["/v1/chat/completions"] * 2 + ["/v1/responses", "/v1/messages",
                                                                      "/v1/messages", "/v1/echo"]
    assert log[0]["body"]["messages"] == [{"role": "user", "content": "hello"}]
    assert log[0]["headers"]["authorization"] == f"Bearer {KEY}" and "x-api-key" not in log[0]["headers"]
    assert log[3]["headers"]["x-api-key"] == KEY and "authorization" not in log[3]["headers"]
    assert log[3]["headers"]["anthropic-version"] == "2023-06-01"
    # 100+20, 7+3, 50+5, (30+10)+4, 11+9, 0
    assert (usage.calls, usage.prompt_tokens, usage.completion_tokens) == (6, 208, 41)
    assert usage.cost_usd == pytest.approx((208 * 1.0 + 41 * 10.0) / 1e6)
    rows = read_jsonl(tmp_path / LOG_NAME)
    assert len(rows) == 6 and rows[-1]["total_tokens"] == 249 and [r["stream"] for r in rows][:3] == [False, True, True]
    assert KEY not in (tmp_path / LOG_NAME).read_text()


def test_rejects_requests_without_the_token(tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_KEY", KEY)
    log: list[dict[str, Any]] = []
    with fake_upstream(log) as url, LLMProxy(_spec(url), run_dir=tmp_path) as proxy:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Bearer {KEY}"},
                        {"x-api-key": "nope"}):
            r = httpx.post(proxy.base_url + "/chat/completions", json={"model": "m"}, headers=headers)
            assert r.status_code == 401 and "per-run token" in r.json()["error"]["message"]
    assert log == [] and proxy.usage.calls == 0


def test_budget_stops_further_calls_with_429(tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_KEY", KEY)
    log: list[dict[str, Any]] = []
    with fake_upstream(log) as url, LLMProxy(_spec(url), run_dir=tmp_path, budget_tokens=150) as proxy:
        client = OpenAI(base_url=proxy.base_url, api_key=proxy.token, max_retries=3)
        msgs = [{"role": "user", "content": "x"}]
        client.chat.completions.create(model="m", messages=msgs)  # 120 tokens: under the budget
        client.chat.completions.create(model="m", messages=msgs)  # 240: now over
        with pytest.raises(Exception) as e:
            client.chat.completions.create(model="m", messages=msgs)
        assert "429" in str(e.value) or getattr(e.value, "status_code", None) == 429
        assert "budget spent: 240 of 150 tokens" in str(e.value)
    assert len(log) == 2 and proxy.refused == 1  # x-should-retry: false, the SDK did not retry


def test_missing_key_is_one_clear_error(monkeypatch):
    monkeypatch.delenv("FAKE_KEY", raising=False)
    with pytest.raises(BackboneError, match=r"needs the API key in \$FAKE_KEY"):
        LLMProxy(_spec("http://127.0.0.1:9/v1"))


def test_parse_usage_ignores_garbage():
    assert parse_usage(b"not json", False) == (0, 0)
    assert parse_usage(b"data: {bad\n\ndata: [DONE]\n", True) == (0, 0)
