"""``claude-code``: Claude Code (npm ``@anthropic-ai/claude-code``, tested 2.1.332; a native binary from an
optional platform dependency), which speaks Anthropic Messages.

Pointed at the proxy by environment: ``ANTHROPIC_BASE_URL`` (the proxy root; Claude Code appends
``/v1/messages``), ``ANTHROPIC_AUTH_TOKEN`` (the per-run token, sent as a bearer token), ``ANTHROPIC_MODEL``
and ``ANTHROPIC_DEFAULT_{OPUS,SONNET,HAIKU}_MODEL`` (every model tier it may pick is the run's model),
``CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1`` and ``DISABLE_AUTOUPDATER=1`` (nothing beyond the proxy);
``IS_SANDBOX=1`` lets ``--dangerously-skip-permissions`` run as root inside a container. Run as
``claude -p <prompt> --output-format stream-json --verbose``. Its ``total_cost_usd`` assumes Anthropic's
prices and is ignored: the proxy counts.
"""

from __future__ import annotations

from typing import ClassVar

from ftagent.agents.base import register_agent
from ftagent.agents.cli.base import CLIAgent
from ftagent.agents.external.session import SessionContext


@register_agent
class ClaudeCode(CLIAgent):
    """Claude Code through the run's proxy (see the module docstring)."""

    name: ClassVar[str] = "claude-code"
    package: ClassVar[str] = "@anthropic-ai/claude-code@2.1.332"
    binary: ClassVar[str] = "claude"
    needs_node: ClassVar[bool] = False  # the platform package is a native executable
    wire_api: ClassVar[str] = "messages"

    def cli_env(self, ctx: SessionContext) -> dict[str, str]:
        env = {"ANTHROPIC_BASE_URL": ctx.proxy.root_url, "ANTHROPIC_AUTH_TOKEN": ctx.proxy.token,
               "ANTHROPIC_MODEL": ctx.model, "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
               "DISABLE_AUTOUPDATER": "1", "DISABLE_TELEMETRY": "1", "IS_SANDBOX": "1"}
        env.update({f"ANTHROPIC_DEFAULT_{tier}_MODEL": ctx.model for tier in ("OPUS", "SONNET", "HAIKU")})
        return env

    def cli_args(self, ctx: SessionContext, exe: str, prompt: str) -> list[str]:
        return [exe, "-p", prompt, "--output-format", "stream-json", "--verbose", "--model", ctx.model,
                "--dangerously-skip-permissions"]
