"""``codex-cli``: OpenAI Codex CLI (npm ``@openai/codex``, tested 0.171.0), which speaks only the Responses API.

Configured with ``-c`` overrides (no config file): a custom provider ``ftdojo`` with ``base_url`` = the
run's proxy, ``env_key`` = ``FTDOJO_TOKEN`` (the per-run token) and ``wire_api = "responses"``; run as
``codex exec --json --skip-git-repo-check``. Its own command sandbox is bypassed
(``--dangerously-bypass-approvals-and-sandbox``) because the Dojo's sandbox contains the whole process;
web search, goals and sub-agents are switched off (no network beyond the proxy, one agent), and its
commands inherit the whole environment (by default Codex drops variables named ``*TOKEN*``, which the
``ftdojo`` client needs; no provider key is in it). Codex's
``exec_command`` returns after at most 30 s with a session id; the loopback endpoint polls it
(``write_stdin``) until the command ends, the way a model would. Its config and session files live in
``$HOME/.codex`` (``.ftdojo/home`` of the workspace).
"""

from __future__ import annotations

from typing import ClassVar

from ftagent.agents.base import register_agent
from ftagent.agents.cli.base import CLIAgent
from ftagent.agents.external.session import SessionContext


@register_agent
class CodexCLI(CLIAgent):
    """Codex CLI through the run's proxy (see the module docstring)."""

    name: ClassVar[str] = "codex-cli"
    package: ClassVar[str] = "@openai/codex@0.171.0"
    binary: ClassVar[str] = "codex"
    wire_api: ClassVar[str] = "responses"

    def cli_args(self, ctx: SessionContext, exe: str, prompt: str) -> list[str]:
        provider = (f'{{name="ftdojo", base_url="{ctx.proxy.base_url}", env_key="FTDOJO_TOKEN", '
                    'wire_api="responses"}')
        return [exe, "exec", "--json", "--skip-git-repo-check", "--dangerously-bypass-approvals-and-sandbox",
                "-m", ctx.model, "-c", "model_provider=ftdojo", "-c", f"model_providers.ftdojo={provider}",
                "-c", 'web_search="disabled"', "-c", "check_for_update_on_startup=false",
                "-c", 'shell_environment_policy.inherit="all"',
                "-c", "shell_environment_policy.ignore_default_excludes=true",
                "--disable", "goals", "--disable", "multi_agent", prompt]
