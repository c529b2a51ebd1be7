"""``qwen-code``: Qwen Code (npm ``@qwen-code/qwen-code``, tested 0.24.4), which speaks chat completions.

Pointed at the proxy with ``--auth-type openai`` and ``OPENAI_BASE_URL`` / ``OPENAI_API_KEY`` (the
per-run token) / ``OPENAI_MODEL``; run as ``qwen --yolo -o stream-json --bare <prompt>`` (``--bare``: no
extensions, hooks or MCP servers discovered from the machine) with ``--max-wall-time`` = the budget
left. Its ``run_shell_command`` accepts a ``timeout`` of at most 600000 ms, which the loopback endpoint
sends. npm declares Node >= 22; 0.24.4 ran on Node 20 here.
"""

from __future__ import annotations

from typing import ClassVar

from ftagent.agents.base import register_agent
from ftagent.agents.cli.base import CLIAgent
from ftagent.agents.external.session import SessionContext


@register_agent
class QwenCode(CLIAgent):
    """Qwen Code through the run's proxy (see the module docstring)."""

    name: ClassVar[str] = "qwen-code"
    package: ClassVar[str] = "@qwen-code/qwen-code@0.24.4"
    binary: ClassVar[str] = "qwen"
    wire_api: ClassVar[str] = "chat"

    def cli_env(self, ctx: SessionContext) -> dict[str, str]:
        return {"OPENAI_BASE_URL": ctx.proxy.base_url, "OPENAI_API_KEY": ctx.proxy.token, "OPENAI_MODEL": ctx.model,
                "QWEN_CODE_SUPPRESS_YOLO_WARNING": "1"}

    def cli_args(self, ctx: SessionContext, exe: str, prompt: str) -> list[str]:
        return [exe, "--auth-type", "openai", "-m", ctx.model, "--yolo", "-o", "stream-json", "--bare",
                "--max-wall-time", f"{max(int(ctx.timeout_s), 1)}s", prompt]
