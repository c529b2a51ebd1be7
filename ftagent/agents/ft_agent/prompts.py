"""FT-Agent's prompts: versioned Jinja templates in ``prompts/``, one per stage.

Every rendered prompt ends with a fenced JSON block of the structured context it was rendered from
(long texts left out, see :func:`~ftagent.agents.ft_agent.context.without_texts`), so a reader (or the
offline scripted policy) can rely on exact values rather than prose. Each backbone call records the
template and :data:`PROMPTS_VERSION` it was rendered from (``LLMCall.prompt``).

Templates (FT-Agent §4): ``select_datasets`` (dataset selection), ``plan_reason`` → ``plan_hypothesis`` →
``plan_task`` (planning, one conversation), ``code_data``, ``judge_data``, ``code_config`` (coding and
fail-fast validation), ``feedback`` (accept/reject with loss and error analysis), ``diagnose``
(failure diagnosis), and ``system``.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from ftagent.agents.ft_agent.analysis import clip
from ftagent.agents.ft_agent.context import without_texts

PROMPTS_DIR = Path(__file__).parent / "prompts"
#: Bumped whenever a template changes meaning; recorded with every call (``LLMCall.prompt``).
PROMPTS_VERSION = "v2"


def _context_block(ctx: Any) -> str:
    return json.dumps(without_texts(ctx), ensure_ascii=False, sort_keys=True, default=str)


def _compact(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, default=str)


@functools.cache
def _env():
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(PROMPTS_DIR)),
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters["context_block"] = _context_block
    env.filters["compact"] = _compact
    env.filters["clip"] = clip
    return env


def render(name: str, **values: Any) -> str:
    """Render ``prompts/<name>.md`` with ``values``.

    Raises:
        jinja2.UndefinedError: a template variable is missing (a bug, not user input).
    """
    return _env().get_template(f"{name}.md").render(**values)


def prompt_id(name: str) -> str:
    """``<template>@<version>``, as recorded with a call."""
    return f"{name}@{PROMPTS_VERSION}"


def system_prompt() -> str:
    """FT-Agent's system message."""
    return (PROMPTS_DIR / "system.md").read_text(encoding="utf-8").strip()
