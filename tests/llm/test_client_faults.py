"""ChatClient against a misbehaving endpoint: retries, timeouts, schema repair, accounting, API keys."""

from __future__ import annotations

import json
import time

import pytest

from ftagent.errors import BackboneError
from ftagent.llm.backbones import load_backbones
from ftagent.llm.cache import ResponseCache
from ftagent.llm.client import SCHEMA_REPAIRS, ChatClient
from ftagent.llm.server import ServerFault
from ftagent.utils.io import dumps
from tests.llm.conftest import BROKEN, TOO_MANY, spec

USER = [{"role": "user", "content": "plan the next experiment"}]
SCHEMA = {"type": "object", "required": ["hypothesis"], "properties": {"hypothesis": {"type": "string"}}}


def test_429_is_retried_with_backoff(fake_endpoint):
    ep = fake_endpoint([TOO_MANY, TOO_MANY], default="fine")
    client = ChatClient(spec(max_retries=3), base_url=ep.url)
    t0 = time.time()
    res = client.chat(USER, stage="plan/reason")
    assert res.text == "fine"
    assert len(ep.log) == 3 and ep.retry_counts == ["0", "1", "2"]
    assert time.time() - t0 >= 0.04  # two waits of retry-after-ms=20
    assert client.endpoint_calls == 1 and client.usage.calls == 1


def test_500_is_retried_then_fails(fake_endpoint):
    ep = fake_endpoint([BROKEN] * 10)
    client = ChatClient(spec(max_retries=2), base_url=ep.url)
    with pytest.raises(BackboneError, match=r"HTTP 500 .*up to 2 retries"):
        client.chat(USER, stage="plan/reason")
    assert len(ep.log) == 3 and ep.retry_counts == ["0", "1", "2"]
    assert client.endpoint_calls == 0 and client.usage.calls == 0


def test_default_backoff_without_retry_after(fake_endpoint):
    """With no retry-after header the SDK waits its own exponential backoff (0.5 s * 2^n, jittered)."""
    ep = fake_endpoint([ServerFault(503, "overloaded")], default="back")
    client = ChatClient(spec(max_retries=1), base_url=ep.url)
    t0 = time.time()
    assert client.chat(USER, stage="s").text == "back"
    assert len(ep.log) == 2 and time.time() - t0 >= 0.3


def test_client_errors_are_not_retried(fake_endpoint):
    ep = fake_endpoint([ServerFault(400, "bad request")] * 5)
    client = ChatClient(spec(max_retries=3), base_url=ep.url)
    with pytest.raises(BackboneError, match="HTTP 400"):
        client.chat(USER, stage="s")
    assert len(ep.log) == 1


def test_slow_endpoint_times_out(fake_endpoint):
    def slow(messages, body):
        time.sleep(3)
        return "too late"

    ep = fake_endpoint(default=slow)
    client = ChatClient(spec(timeout_s=0.4, max_retries=1), base_url=ep.url)
    t0 = time.time()
    with pytest.raises(BackboneError, match=r"timed out: no answer within 0.4 s \(tried 2 times\)"):
        client.chat(USER, stage="s")
    assert time.time() - t0 < 3
    assert len(ep.log) == 2


def test_malformed_json_is_repaired(fake_endpoint):
    fenced = '```json\n{"hypothesis": "more data"}\n```'
    ep = fake_endpoint(["I think we should {oops", '{"wrong": 1}'], default=fenced)
    client = ChatClient(spec(), base_url=ep.url)
    res = client.chat(USER, stage="plan/hypothesis", schema=SCHEMA, schema_name="hypothesis")
    assert res.data == {"hypothesis": "more data"}
    assert len(ep.log) == 3
    repair = ep.log[1]["body"]["messages"]
    assert repair[-2] == {"role": "assistant", "content": "I think we should {oops"}
    assert "not valid" in repair[-1]["content"] and "'hypothesis'" in repair[-1]["content"]
    assert "'hypothesis' is a required property" in ep.log[2]["body"]["messages"][-1]["content"]
    assert ep.log[0]["body"]["response_format"]["json_schema"]["schema"] == SCHEMA
    assert client.by_stage["plan/hypothesis"]["calls"] == 1
    assert client.by_stage["plan/hypothesis"]["completions"] == 3 and client.usage.calls == 3


def test_malformed_json_fails_after_bounded_repairs(fake_endpoint):
    ep = fake_endpoint(default="no json here")
    client = ChatClient(spec(), base_url=ep.url)
    with pytest.raises(BackboneError, match=f"no valid 'answer' answer after {SCHEMA_REPAIRS} repairs"):
        client.chat(USER, stage="plan", schema=SCHEMA)
    assert len(ep.log) == SCHEMA_REPAIRS + 1


def test_schema_in_prompt_without_structured_output(fake_endpoint):
    ep = fake_endpoint(default='{"hypothesis": "h"}')
    client = ChatClient(spec(structured_output=False, max_tokens=64), base_url=ep.url)
    assert client.chat(USER, stage="plan", schema=SCHEMA).data == {"hypothesis": "h"}
    body = ep.log[0]["body"]
    assert "response_format" not in body and body["max_tokens"] == 64
    assert json.dumps(SCHEMA) in body["messages"][-1]["content"]


def test_tokens_and_cost_per_stage(fake_endpoint):
    ep = fake_endpoint(default=lambda messages, body: "one two three")  # 3 completion "tokens"
    bb = spec(price_per_mtok_prompt=2.0, price_per_mtok_completion=10.0,
              stage_models={"feedback": "judge-model"})
    client = ChatClient(bb, base_url=ep.url)
    client.chat(USER, stage="plan/reason")  # prompt: 4 words
    client.chat(USER, stage="plan/reason")
    client.chat([{"role": "user", "content": "compare these"}], stage="feedback")  # 2 words
    plan, fb = client.by_stage["plan/reason"], client.by_stage["feedback"]
    assert (plan["calls"], plan["prompt_tokens"], plan["completion_tokens"]) == (2, 8, 6)
    assert (fb["calls"], fb["prompt_tokens"], fb["completion_tokens"]) == (1, 2, 3)
    assert plan["cost_usd"] == pytest.approx((8 * 2 + 6 * 10) / 1e6)
    assert fb["cost_usd"] == pytest.approx((2 * 2 + 3 * 10) / 1e6)
    u = client.usage
    assert (u.calls, u.prompt_tokens, u.completion_tokens) == (3, 10, 9)
    assert u.cost_usd == pytest.approx(plan["cost_usd"] + fb["cost_usd"])
    assert [r["body"]["model"] for r in ep.log] == ["fake-model", "fake-model", "judge-model"]


KEY = "sk-planted-KEY-4c1d9e0f8a7b6c5d"


def test_api_key_only_from_env_and_never_recorded(fake_endpoint, monkeypatch, tmp_path):
    monkeypatch.setenv("FTDOJO_TEST_API_KEY", KEY)
    unauthorized = ServerFault(401, f"Incorrect API key provided: {KEY}")
    ep = fake_endpoint(["plain answer", '{"hypothesis": "x"}', unauthorized])
    cache = ResponseCache(tmp_path / "cache", "record")
    client = ChatClient(spec(api_key_env="FTDOJO_TEST_API_KEY", max_retries=0), base_url=ep.url, cache=cache)
    calls = [client.chat(USER, stage="plan").call, client.chat(USER, stage="code", schema=SCHEMA).call]
    with pytest.raises(BackboneError) as err:
        client.chat([{"role": "user", "content": "again"}], stage="feedback")
    # the key was really used
    assert all(r["headers"].get("authorization") == f"Bearer {KEY}" for r in ep.log)
    written = [p.read_text() for p in (tmp_path / "cache").rglob("*.json")]
    assert len(written) == 2
    for text in [*written, *(c.model_dump_json() for c in calls), dumps(client.usage), dumps(client.by_stage),
                 str(err.value)]:
        assert KEY not in text
    assert "***" in str(err.value)


def test_missing_key_fails_before_any_request(fake_endpoint, monkeypatch):
    monkeypatch.delenv("FTDOJO_TEST_API_KEY", raising=False)
    ep = fake_endpoint()
    client = ChatClient(spec(api_key_env="FTDOJO_TEST_API_KEY"), base_url=ep.url)
    with pytest.raises(BackboneError, match=r"needs the API key in \$FTDOJO_TEST_API_KEY"):
        client.chat(USER, stage="plan")
    assert ep.log == []


def test_key_in_registry_file_is_refused(tmp_path):
    f = tmp_path / "backbones.yaml"
    f.write_text("gpt:\n  kind: openai\n  label: GPT\n  model: gpt\n  api_key: sk-oops\n")
    with pytest.raises(BackboneError, match="API keys are never read from files"):
        load_backbones(f)
