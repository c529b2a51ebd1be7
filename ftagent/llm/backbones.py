"""Planning backbones: the registry (``config/backbones.yaml``) and their settings.

A backbone is any endpoint that speaks the OpenAI chat-completions API: OpenAI or Azure, a
``vllm serve`` of an open-source model on a GPU node, ``transformers serve`` of a small local model on
CPU, or the offline ``scripted`` policy served on loopback by :mod:`ftagent.llm.server`. API keys come
only from the environment variable a backbone names; they are never written to any record.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ftagent.errors import BackboneError
from ftagent.paths import config_dir


class BackboneSpec(BaseModel):
    """One planning backbone.

    Attributes:
        id: Backbone id used in configs, paths and tables.
        kind: ``openai`` (any OpenAI-compatible endpoint at ``base_url``), ``scripted`` (the offline
            deterministic policy, served on loopback), ``transformers-serve`` (a local model started
            with ``transformers serve``), ``vllm-serve`` (an open-source model served by vLLM).
        label: Label shown in tables; the scripted backbone is always labelled ``scripted``.
        model: Model name sent to the endpoint.
        base_url: Endpoint URL (``http://host:port/v1``); None for ``scripted`` (chosen at run time).
        api_key_env: Environment variable holding the API key (None: no key needed).
        price_per_mtok_prompt: USD per million prompt tokens (cost accounting).
        price_per_mtok_completion: USD per million completion tokens.
        temperature: Sampling temperature of planning calls.
        max_retries: Retries on 429, 5xx and timeouts (exponential backoff in the openai SDK).
        timeout_s: Seconds before one request times out.
        stage_models: Per-stage model overrides (e.g. ``{feedback: gpt-5-mini}``).
        structured_output: Send ``response_format`` (JSON schema). When False (servers that ignore it, such
            as ``transformers serve``) the schema is appended to the prompt instead; answers are validated
            and repaired either way.
        max_tokens: Completion token limit sent with each call (None: the endpoint's default).
        model_dir: ``transformers-serve`` only: the local model folder (``~`` and ``$VARS`` expanded;
            default ``$FTAGENT_CACHE/models/<model>``, prepared on first use when ``model`` is a
            registered base model).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    kind: Literal["openai", "scripted", "transformers-serve", "vllm-serve"]
    label: str
    model: str
    base_url: str | None = None
    api_key_env: str | None = None
    price_per_mtok_prompt: float = Field(0.0, ge=0)
    price_per_mtok_completion: float = Field(0.0, ge=0)
    temperature: float = Field(1.0, ge=0)
    max_retries: int = Field(6, ge=0)
    timeout_s: float = Field(600.0, gt=0)
    stage_models: dict[str, str] = Field(default_factory=dict)
    structured_output: bool = True
    max_tokens: int | None = Field(None, ge=1)
    model_dir: str | None = None

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        """USD cost of a call."""
        return (prompt_tokens * self.price_per_mtok_prompt + completion_tokens * self.price_per_mtok_completion) / 1e6


#: The backbone of agents that plan nothing (base model, manual SFT).
NONE = BackboneSpec(id="none", kind="scripted", label="none", model="none")


def load_backbones(path: Path | None = None) -> dict[str, BackboneSpec]:
    """The backbone registry.

    Raises:
        BackboneError: unreadable file or an invalid entry (names the entry and field).
    """
    path = path or config_dir() / "backbones.yaml"
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise BackboneError(f"backbone registry not found: {path}") from None
    out = {}
    for bid, body in raw.items():
        if isinstance(body, dict) and {"api_key", "key", "token"} & set(body):
            raise BackboneError(f"{path}: backbone '{bid}': API keys are never read from files; export the "
                                "key and name its environment variable with 'api_key_env'")
        try:
            out[bid] = BackboneSpec.model_validate({"id": bid, **(body or {})})
        except ValidationError as e:
            err = e.errors()[0]
            raise BackboneError(f"{path}: backbone '{bid}': field '{'.'.join(map(str, err['loc']))}': "
                                f"{err['msg']}") from None
    return out


def get_backbone(backbone_id: str, path: Path | None = None) -> BackboneSpec:
    """One backbone by id (``none`` is built in).

    Raises:
        BackboneError: unknown id (lists the known ones).
    """
    if backbone_id == "none":
        return NONE
    reg = load_backbones(path)
    if backbone_id not in reg:
        raise BackboneError(f"unknown backbone '{backbone_id}' (known: none, {', '.join(reg)})")
    return reg[backbone_id]
