"""LLM access parity: FT-Agent's calls go through the run's LLM proxy too, which keeps the same account."""

from __future__ import annotations

from ftagent.llm.proxy import LOG_NAME
from ftagent.utils.io import read_jsonl


def test_ft_agent_calls_go_through_the_proxy(ft_run):
    run_dir, rec, _ = ft_run
    rows = read_jsonl(run_dir / LOG_NAME)
    assert rec.llm.replayed == 0 and len(rows) == rec.llm.calls > 0
    assert sum(r["prompt_tokens"] for r in rows) == rec.llm.prompt_tokens
    assert sum(r["completion_tokens"] for r in rows) == rec.llm.completion_tokens
    assert all(r["path"] == "/v1/chat/completions" and r["status"] == 200 for r in rows)
