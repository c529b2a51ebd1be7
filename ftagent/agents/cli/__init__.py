"""Frontier CLI agents as baselines (PostTrainBench's comparison): one short adapter module per CLI.

* :mod:`.codex` — ``codex-cli``: OpenAI Codex CLI (npm ``@openai/codex``), Responses API;
* :mod:`.claude` — ``claude-code``: Claude Code (npm ``@anthropic-ai/claude-code``), Anthropic Messages;
* :mod:`.qwen` — ``qwen-code``: Qwen Code (npm ``@qwen-code/qwen-code``), chat completions;
* :mod:`.opencode` — ``opencode``: OpenCode (npm ``opencode-ai``), chat completions.

All run on :class:`~ftagent.agents.cli.base.CLIAgent`: the real binary, non-interactive, in the Dojo's
sandbox, with the task card, ``ftdojo`` tools, budget and LLM proxy of every other agent. At the mini
scale the scripted backbone drives them through the loopback endpoint (:mod:`ftagent.llm.wire`), which
speaks each CLI's wire format. Gemini CLI speaks only the Gemini API and has no adapter (it would need a
Gemini-to-chat translating proxy).
"""

from ftagent.agents.cli import claude, codex, opencode, qwen  # noqa: F401  (registration)
from ftagent.agents.cli.base import CLIAgent, cli_prefix

__all__ = ["CLIAgent", "cli_prefix"]
