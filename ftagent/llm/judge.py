"""The LLM judge of the AIME cascade, on the LLM client (:class:`~ftagent.llm.client.ChatClient`).

:func:`answer_judge` yields a judge (:data:`ftagent.eval.judge.AnswerJudge`) for a backbone: every
verdict is one ``chat`` call at stage ``judge`` with a JSON schema, recorded in a
:class:`~ftagent.llm.cache.ResponseCache` (``<run>/judge_cache`` by default) so a re-evaluation or
``ftagent eval rescore`` replays it without a call. The ``scripted`` backbone is served by
:func:`scripted_judge_policy`, a deterministic offline stand-in (is the last integer of the output the
reference integer?) whose verdicts carry the label ``scripted``, never presented as an LLM's.

The prompt is ours: the question, the reference answer and the response, and a request for a verdict
on whether the response's final answer equals the reference (the paper's evaluator uses OpenCompass's
generic judge template with the judge model ``gpt-5.1``, RD-Agent ``rdagent/app/finetune/llm/conf.py``).
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ftagent.eval.judge import JudgeVerdict
from ftagent.llm.backbones import get_backbone
from ftagent.llm.cache import CacheMode, ResponseCache
from ftagent.llm.client import ChatClient

JUDGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"verdict": {"enum": ["correct", "incorrect"]}, "reason": {"type": "string"}},
    "required": ["verdict"],
}
#: Characters of the response shown to the judge (its end, where the final answer is).
MAX_RESPONSE_CHARS = 6000


def judge_messages(question: str, gold: str, output: str) -> list[dict[str, str]]:
    """The judge's conversation for one item (our wording)."""
    tail = output[-MAX_RESPONSE_CHARS:]
    return [
        {"role": "system", "content": "You grade answers to competition math problems. You compare final "
                                      "answers only; you do not solve the problem again."},
        {"role": "user", "content": f"Problem:\n{question}\n\nReference answer: {gold}\n\nResponse:\n{tail}\n\n"
                                    "Is the final answer of the response mathematically equal to the reference "
                                    "answer? Reply with a JSON object {\"verdict\": \"correct\" or \"incorrect\", "
                                    "\"reason\": \"...\"}."},
    ]


def scripted_judge_policy(messages: list[dict[str, Any]], request: dict[str, Any]) -> str:
    """Offline deterministic judge: ``correct`` when the last integer of the response is the reference."""
    text = messages[-1]["content"] if messages else ""
    ref = re.search(r"Reference answer: (.*)", text)
    body = text.split("\nResponse:\n", 1)[-1].rsplit("\n\nIs the final answer", 1)[0]
    nums = re.findall(r"-?\d+", body)
    ok = bool(ref and nums and nums[-1].lstrip("0") == ref.group(1).strip().lstrip("0"))
    why = f"last integer {nums[-1] if nums else 'none'} vs reference {ref.group(1).strip() if ref else '?'}"
    return json.dumps({"verdict": "correct" if ok else "incorrect", "reason": f"scripted: {why}"})


class LLMJudge:
    """A judge on one :class:`ChatClient` (callable as ``judge(question, gold, output)``)."""

    def __init__(self, client: ChatClient):
        self.client = client
        self.label = client.backbone.label

    def __call__(self, question: str, gold: str, output: str) -> JudgeVerdict:
        res = self.client.chat(judge_messages(question, gold, output), stage="judge", schema=JUDGE_SCHEMA,
                               schema_name="judge_verdict")
        data = res.data or {}
        return JudgeVerdict(correct=data.get("verdict") == "correct", label=self.label,
                            reason=str(data.get("reason", "")))


@contextlib.contextmanager
def answer_judge(backbone_id: str, cache_dir: Path | None, cache_mode: CacheMode = "readwrite") -> Iterator[LLMJudge]:
    """A judge on backbone ``backbone_id`` for the block's lifetime (the scripted one served on loopback).

    Raises:
        BackboneError: unknown backbone id.
        BackboneError: in ``replay`` mode, a verdict that was never recorded (raised by the call).
    """
    backbone = get_backbone(backbone_id)
    cache = ResponseCache(cache_dir, cache_mode) if cache_dir and cache_mode != "off" else None
    if backbone.kind == "scripted" and not (cache is not None and cache_mode == "replay"):
        from ftagent.llm.server import serve_policy

        with serve_policy(scripted_judge_policy, backbone.model) as url:
            yield LLMJudge(ChatClient(backbone, base_url=url, cache=cache))
    else:
        yield LLMJudge(ChatClient(backbone, cache=cache))
