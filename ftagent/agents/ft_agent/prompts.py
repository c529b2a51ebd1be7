"""FT-Agent's prompts: versioned Jinja templates in ``prompts/``, one per stage.

Every rendered prompt ends with a fenced JSON block of the structured context it was rendered from,
so a reader (or the offline scripted policy) can rely on exact values rather than prose.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

PROMPTS_DIR = Path(__file__).parent / "prompts"
#: Bumped whenever a template changes meaning; recorded with every call's stage.
PROMPTS_VERSION = "v1"


@functools.cache
def _env():
    import jinja2

    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(PROMPTS_DIR)), undefined=jinja2.StrictUndefined,
                              keep_trailing_newline=True, autoescape=False)


def render(name: str, **values: Any) -> str:
    """Render ``prompts/<name>.md`` with ``values``.

    Raises:
        jinja2.UndefinedError: a template variable is missing (a bug, not user input).
    """
    return _env().get_template(f"{name}.md").render(**values)


def system_prompt() -> str:
    """FT-Agent's system message."""
    return (PROMPTS_DIR / "system.md").read_text(encoding="utf-8").strip()
