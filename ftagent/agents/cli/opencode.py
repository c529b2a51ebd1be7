"""``opencode``: OpenCode (npm ``opencode-ai``, tested 1.18.33; a native binary), which speaks chat completions.

A custom provider in the workspace's ``opencode.json`` (read from the working directory): npm
``@ai-sdk/openai-compatible`` with ``baseURL`` = the run's proxy and ``apiKey`` = ``{env:FTDOJO_TOKEN}``
(OpenCode's variable substitution: the token is not written to the file), one model = the run's model;
``OPENCODE_DISABLE_MODELS_FETCH=1`` and ``OPENCODE_DISABLE_AUTOUPDATE=1`` keep it off the network, and
``share: disabled``. Run as ``opencode run --format json -m ftdojo/<model> <prompt>``. OpenCode also asks
the model for a session title (a request with no tools), which the endpoint answers as text.
"""

from __future__ import annotations

from typing import ClassVar

from ftagent.agents.base import register_agent
from ftagent.agents.cli.base import CLIAgent
from ftagent.agents.external.session import SessionContext
from ftagent.utils.io import atomic_write_json


@register_agent
class OpenCode(CLIAgent):
    """OpenCode through the run's proxy (see the module docstring)."""

    name: ClassVar[str] = "opencode"
    package: ClassVar[str] = "opencode-ai@1.18.33"
    binary: ClassVar[str] = "opencode"
    needs_node: ClassVar[bool] = False
    wire_api: ClassVar[str] = "chat"

    def cli_env(self, ctx: SessionContext) -> dict[str, str]:
        return {"OPENCODE_DISABLE_MODELS_FETCH": "1", "OPENCODE_DISABLE_AUTOUPDATE": "1"}

    def prepare(self, ctx: SessionContext) -> None:
        atomic_write_json(ctx.workspace.path / "opencode.json", {
            "$schema": "https://opencode.ai/config.json", "autoupdate": False, "share": "disabled",
            "model": f"ftdojo/{ctx.model}",
            "provider": {"ftdojo": {"npm": "@ai-sdk/openai-compatible", "name": "ftdojo (LLM proxy)",
                                    "options": {"baseURL": ctx.proxy.base_url, "apiKey": "{env:FTDOJO_TOKEN}"},
                                    "models": {ctx.model: {"name": ctx.model}}}}})

    def cli_args(self, ctx: SessionContext, exe: str, prompt: str) -> list[str]:
        return [exe, "run", "--format", "json", "-m", f"ftdojo/{ctx.model}", prompt]
