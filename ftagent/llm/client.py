"""The one client every agent uses to talk to a planning backbone (the openai SDK).

:class:`ChatClient` sends chat completions to any OpenAI-compatible endpoint, asks for structured
output where a stage needs it (``response_format`` with a JSON schema), validates the answer against
the schema and feeds validation errors back for a bounded number of repair attempts. Retries with
exponential backoff on 429, 5xx and timeouts are the openai SDK's (``max_retries``). Every call is
recorded (rendered prompt, response, tokens, latency) for the run's trace and counted for the run's
token and cost totals, per stage; with a :class:`~ftagent.llm.cache.ResponseCache` a re-run replays
recorded answers and makes no call at all.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass, field
from typing import Any

import jsonschema

from ftagent.errors import BackboneError
from ftagent.llm.backbones import BackboneSpec
from ftagent.llm.cache import ResponseCache, cache_key
from ftagent.records import LLMCall, LLMUsage

#: Repair attempts after an answer that does not match the requested schema.
SCHEMA_REPAIRS = 2


@dataclass
class ChatResult:
    """One completed call.

    Attributes:
        text: Raw response text.
        data: Parsed JSON when a schema was requested, else None.
        call: The record of the call(s) for the trace (repairs are folded into one record).
    """

    text: str
    data: Any
    call: LLMCall


def extract_json(text: str) -> Any:
    """Parse JSON from a model answer: the whole text, a fenced ```json block, or the outermost {...}.

    Raises:
        ValueError: nothing parses.
    """
    text = text.strip()
    candidates = [text]
    candidates += re.findall(r"```(?:json)?\s*(.*?)```", text, flags=re.S)
    if "{" in text and "}" in text:
        candidates.append(text[text.index("{"): text.rindex("}") + 1])
    for c in candidates:
        try:
            return json.loads(c)
        except json.JSONDecodeError:
            continue
    raise ValueError("no JSON object found in the answer")


@dataclass
class ChatClient:
    """Chat completions against one backbone, with schema repair, caching and accounting.

    Args:
        backbone: The backbone settings.
        base_url: Endpoint URL overriding ``backbone.base_url`` (the loopback URL of a served policy).
        cache: Optional record/replay cache.
        served_model: Model name sent on the wire when it differs from ``backbone.model`` (``transformers
            serve`` wants its model folder); cache keys and records keep ``backbone.model`` so a cache
            is portable between machines.
        api_key: Key sent instead of ``$<backbone.api_key_env>`` (the per-run token of an
            :class:`~ftagent.llm.proxy.LLMProxy`, which holds the provider key).
        proxy: The run's :class:`~ftagent.llm.proxy.LLMProxy` this client talks through, if any (external
            agents mount their tools on it and point their own clients at it).

    Attributes:
        usage: Run totals (calls include schema repairs and replayed answers).
        by_stage: Per stage: ``calls`` (chat() calls), ``completions`` (including repairs), ``replayed``,
            ``prompt_tokens``, ``completion_tokens``, ``cost_usd``.
        endpoint_calls: Completions that reached the endpoint (0 for a fully replayed run). HTTP retries
            made by the openai SDK inside one completion are not counted separately.

    The API key is read from ``$<backbone.api_key_env>`` when the first request is made and lives only
    in the openai client's ``Authorization`` header: it is in no record, cache entry or error message.
    """

    backbone: BackboneSpec
    base_url: str | None = None
    cache: ResponseCache | None = None
    served_model: str | None = None
    api_key: str | None = field(default=None, repr=False)
    proxy: Any = field(default=None, repr=False)
    usage: LLMUsage = field(init=False)
    by_stage: dict[str, dict[str, float]] = field(init=False, default_factory=dict)
    endpoint_calls: int = field(init=False, default=0)
    _client: Any = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.usage = LLMUsage(backbone_label=self.backbone.label, model=self.backbone.model)

    def _openai(self):
        if self._client is None:
            from openai import OpenAI

            url = self.base_url or self.backbone.base_url
            if not url:
                raise BackboneError(f"backbone '{self.backbone.id}' has no base_url")
            key = os.environ.get(self.backbone.api_key_env, "") if self.backbone.api_key_env else "none"
            if self.api_key:
                key = self.api_key
            elif self.backbone.api_key_env and not key:
                raise BackboneError(f"backbone '{self.backbone.id}' needs the API key in ${self.backbone.api_key_env}")
            self._client = OpenAI(base_url=url, api_key=key or "none", max_retries=self.backbone.max_retries,
                                  timeout=self.backbone.timeout_s)
        return self._client

    def _redact(self, text: str) -> str:
        key = os.environ.get(self.backbone.api_key_env, "") if self.backbone.api_key_env else ""
        return text.replace(key, "***") if key else text

    def _complete(self, model: str, messages: list[dict[str, Any]], params: dict[str, Any],
                  stage: str) -> tuple[str, int, int, bool]:
        key = cache_key(model, messages, params)
        if self.cache is not None:
            hit = self.cache.get(key)
            if hit is not None:
                return hit["response"], hit.get("prompt_tokens", 0), hit.get("completion_tokens", 0), True
            if self.cache.mode == "replay":
                raise BackboneError(f"replay mode: no recorded answer for stage '{stage}' of backbone "
                                    f"'{self.backbone.id}' (model {model}, key {key[:12]}) in "
                                    f"{self.cache.root}; record it first with cache mode 'record' or 'readwrite'")
        from openai import APIError, APIStatusError, APITimeoutError

        bb = self.backbone
        try:
            resp = self._openai().chat.completions.create(model=self.served_model or model, messages=messages,
                                                          **params)
        except APITimeoutError:
            raise BackboneError(f"backbone '{bb.id}' timed out: no answer within {bb.timeout_s:g} s "
                                f"(tried {bb.max_retries + 1} times)") from None
        except APIStatusError as e:
            first = (str(e).splitlines() or [""])[0][:200]
            msg = (f"backbone '{bb.id}' call failed with HTTP {e.status_code} ({type(e).__name__}, up to "
                   f"{bb.max_retries} retries): {first}")
            raise BackboneError(self._redact(msg)) from None
        except APIError as e:
            first = (str(e).splitlines() or [""])[0][:200]
            msg = f"backbone '{bb.id}' call failed: {type(e).__name__}: {first}"
            raise BackboneError(self._redact(msg)) from None
        self.endpoint_calls += 1
        text = resp.choices[0].message.content or ""
        pt = getattr(resp.usage, "prompt_tokens", 0) or 0
        ct = getattr(resp.usage, "completion_tokens", 0) or 0
        if self.cache is not None:
            self.cache.put(key, {"model": model, "response": text, "prompt_tokens": pt, "completion_tokens": ct})
        return text, pt, ct, False

    def chat(self, messages: list[dict[str, Any]], *, stage: str, schema: dict[str, Any] | None = None,
             schema_name: str = "answer") -> ChatResult:
        """Send a conversation and return the answer.

        Args:
            messages: OpenAI-format messages.
            stage: Loop stage name (for accounting and the trace; also selects a per-stage model).
            schema: JSON schema the answer must satisfy (structured output), or None for free text.
            schema_name: Name of the schema sent with ``response_format``.

        Raises:
            BackboneError: the endpoint failed after its retries, or the answer still violates the schema
                after :data:`SCHEMA_REPAIRS` repair attempts.
        """
        model = self.backbone.stage_models.get(stage.split("/")[0], self.backbone.model)
        params: dict[str, Any] = {"temperature": self.backbone.temperature}
        if self.backbone.max_tokens:
            params["max_tokens"] = self.backbone.max_tokens
        convo = list(messages)
        if schema is not None and self.backbone.structured_output:
            params["response_format"] = {"type": "json_schema",
                                         "json_schema": {"name": schema_name, "schema": schema}}
        elif schema is not None:
            ask = f"Answer with only a JSON object that matches this JSON schema:\n{json.dumps(schema)}"
            convo[-1] = {**convo[-1], "content": f"{convo[-1]['content']}\n\n{ask}"}
        t0 = time.time()
        pt_total = ct_total = 0
        replayed_all = True
        n_replayed = 0
        error = ""
        for attempt in range(SCHEMA_REPAIRS + 1):  # noqa: B007 (read after the loop)
            text, pt, ct, replayed = self._complete(model, convo, params, stage)
            pt_total, ct_total = pt_total + pt, ct_total + ct
            replayed_all &= replayed
            n_replayed += int(replayed)
            self.usage.calls += 1
            self.usage.replayed += int(replayed)
            if schema is None:
                data = None
                break
            try:
                data = extract_json(text)
                jsonschema.validate(data, schema)
                break
            except (ValueError, jsonschema.ValidationError) as e:
                error = e.message if isinstance(e, jsonschema.ValidationError) else str(e)
                convo = [*convo, {"role": "assistant", "content": text},
                         {"role": "user", "content": f"Your answer is not valid: {error}. Answer again with "
                                                     f"only a JSON object matching the schema '{schema_name}'."}]
        else:
            raise BackboneError(f"backbone '{self.backbone.id}' gave no valid '{schema_name}' answer after "
                                f"{SCHEMA_REPAIRS} repairs: {error}")
        cost = self.backbone.cost(pt_total, ct_total)
        self.usage.prompt_tokens += pt_total
        self.usage.completion_tokens += ct_total
        self.usage.cost_usd = round(self.usage.cost_usd + cost, 6)
        st = self.by_stage.setdefault(stage, {"calls": 0, "completions": 0, "replayed": 0, "prompt_tokens": 0,
                                              "completion_tokens": 0, "cost_usd": 0.0})
        st["calls"] += 1
        st["completions"] += attempt + 1
        st["replayed"] += n_replayed
        st["prompt_tokens"] += pt_total
        st["completion_tokens"] += ct_total
        st["cost_usd"] = round(st["cost_usd"] + cost, 6)
        call = LLMCall(stage=stage, messages=messages, response=text, prompt_tokens=pt_total,
                       completion_tokens=ct_total, replayed=replayed_all, latency_s=round(time.time() - t0, 3))
        return ChatResult(text=text, data=data, call=call)
