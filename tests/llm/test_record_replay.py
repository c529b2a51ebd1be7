"""Record/replay: a recorded sequence replays identically with zero endpoint calls; a miss is an error."""

from __future__ import annotations

import itertools

import pytest

from ftagent.agents.runner import backbone_client
from ftagent.errors import BackboneError
from ftagent.llm.backbones import get_backbone
from ftagent.llm.cache import ResponseCache
from ftagent.llm.client import ChatClient
from tests.llm.conftest import spec

SCHEMA = {"type": "object", "required": ["n"], "properties": {"n": {"type": "integer"}}}


def _conversation(client: ChatClient) -> list[tuple[str, object]]:
    out = []
    for i in range(3):
        r = client.chat([{"role": "user", "content": f"question {i}"}], stage=f"plan/{i}")
        out.append((r.text, r.data))
    r = client.chat([{"role": "user", "content": "give n"}], stage="code", schema=SCHEMA)  # one repair
    out.append((r.text, r.data))
    return out


def test_replay_is_identical_with_zero_calls(fake_endpoint, tmp_path):
    counter = itertools.count()
    bad = ["not json"]

    def policy(messages, body):  # different every call: identical replay must come from the cache
        if "give n" in str(messages):
            return bad.pop() if bad else f'{{"n": {next(counter)}}}'
        return f"answer #{next(counter)}"

    rec_ep = fake_endpoint(default=policy)
    recorder = ChatClient(spec(), base_url=rec_ep.url, cache=ResponseCache(tmp_path / "c", "record"))
    recorded = _conversation(recorder)
    assert len(rec_ep.log) == 5 and recorder.endpoint_calls == 5

    rep_ep = fake_endpoint(default=policy)
    replayer = ChatClient(spec(), base_url=rep_ep.url, cache=ResponseCache(tmp_path / "c", "replay"))
    assert _conversation(replayer) == recorded
    assert len(rep_ep.log) == 0 and replayer.endpoint_calls == 0
    assert replayer.usage.calls == replayer.usage.replayed == 5
    assert replayer.usage.prompt_tokens == recorder.usage.prompt_tokens
    assert replayer.by_stage == {k: {**v, "replayed": v["completions"]} for k, v in recorder.by_stage.items()}

    # no endpoint at all
    offline = ChatClient(spec(base_url=None), cache=ResponseCache(tmp_path / "c", "replay"))
    assert _conversation(offline) == recorded


def test_replay_miss_is_a_clear_error(fake_endpoint, tmp_path):
    ep = fake_endpoint()
    client = ChatClient(spec(), base_url=ep.url, cache=ResponseCache(tmp_path / "empty", "replay"))
    expected = (r"replay mode: no recorded answer for stage 'plan/reason' of backbone 'fake' "
                r"\(model fake-model, key [0-9a-f]{12}\)")
    with pytest.raises(BackboneError, match=expected):
        client.chat([{"role": "user", "content": "never recorded"}], stage="plan/reason")
    assert ep.log == []


def test_readwrite_calls_once_then_replays(fake_endpoint, tmp_path):
    ep = fake_endpoint(default="stable")
    for _ in range(2):
        c = ChatClient(spec(), base_url=ep.url, cache=ResponseCache(tmp_path / "rw"))
        assert c.chat([{"role": "user", "content": "hi"}], stage="s").text == "stable"
    assert len(ep.log) == 1


def test_backbone_client_replay_starts_nothing(fake_endpoint, tmp_path):
    """In replay mode backbone_client starts no server (scripted) and contacts no endpoint."""
    ep = fake_endpoint(default="recorded")
    bb = spec(base_url=ep.url)
    msgs = [{"role": "user", "content": "hello"}]
    with backbone_client(bb, tmp_path / "c", "record") as llm:
        assert llm.chat(msgs, stage="probe").text == "recorded"
    with backbone_client(bb, tmp_path / "c", "replay") as llm:
        assert llm.base_url is None and llm.chat(msgs, stage="probe").text == "recorded"
        assert llm.endpoint_calls == 0
    assert len(ep.log) == 1
    with backbone_client(get_backbone("scripted"), tmp_path / "c", "replay") as llm:
        assert llm.base_url is None
        with pytest.raises(BackboneError, match="replay mode: no recorded answer"):
            llm.chat([{"role": "user", "content": "unseen"}], stage="plan")
