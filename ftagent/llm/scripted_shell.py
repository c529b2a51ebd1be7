"""The ``scripted`` policy of shell agents: a deterministic, offline player of a short, honest Dojo session.

It is **not an LLM**; runs driven by it are labelled ``scripted``. It lets external agents (the
mini-swe-agent coding agent, the OpenHands adapter, the frontier CLI adapters) run offline at the mini
scale through their real client code, the LLM proxy and the loopback server, exactly as they would
with a real model: the agent framework asks "what next?", the policy answers with one shell command.

The session (each command starts with a ``# ftdojo scripted step <k>: ...`` comment line, which is how
the policy finds where it is in any rendering of the conversation):

1. ``ftdojo card`` — the task card (JSON);
2. ``ftdojo datasets`` — the raw-data repository summary (JSON);
3. write ``process_data.py`` — the scripted backbone's direct-answer data script
   (:func:`ftagent.llm.scripted._data_script`, recipe ``direct-lora``) over the sources the scripted
   dataset-selection rule picks (:func:`ftagent.llm.scripted._select`), fed from the card and the
   repository summary parsed out of the previous outputs;
4. ``ftdojo data --debug``; 5. ``ftdojo data``;
6. write ``train.yaml`` — the scripted backbone's LoRA config for the device (:func:`ftagent.llm.scripted._config`);
7. ``ftdojo train``; 8. ``ftdojo validate``; 9. ``ftdojo submit``;
10. done (:data:`DONE`).

When a tool reports a failure (its output holds :data:`FAILURE_MARK`, which the ``ftdojo`` client
prints on every failed call) the policy stops with :data:`DONE` instead of going on blindly; the run
then ends with whatever the tools recorded (the base model when nothing was trained).

Interfaces:

* :func:`next_command` — ``history`` (plain text: the previous commands and their outputs, in order)
  → the next command, or :data:`DONE`;
* :func:`history_of_messages` — OpenAI chat messages (tool calls, tool results, text) → that text;
* :func:`shell_chat_policy` — a :data:`~ftagent.llm.server.Policy` for :func:`~ftagent.llm.server.serve_policy`:
  answers a ``bash`` tool call when the request offers tools, else the command in a fenced
  ``mswea_bash_command`` block (mini-swe-agent's text format); :data:`DONE` becomes
  :data:`SUBMIT_COMMAND` (mini-swe-agent's end-of-task command).
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from ftagent.llm.scripted import RECIPES, _config, _data_script, _select

#: Returned by :func:`next_command` when the session is over.
DONE = "DONE"
#: Printed by the ``ftdojo`` client on every failed tool call.
FAILURE_MARK = "ftdojo: FAILED"
#: mini-swe-agent's end-of-task command (its first output line ends the run).
SUBMIT_COMMAND = "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"
_TAG = "# ftdojo scripted step {k}: {what}"
_TAG_RE = re.compile(r"# ftdojo scripted step (\d+):")
STEPS = ["card", "datasets", "data script", "debug data run", "full data run", "training config",
         "training", "validation", "submit"]


def _json_after(history: str, step: int, accept: Any = None) -> dict[str, Any]:
    """The first JSON object (that ``accept`` accepts) in the output following the command of ``step``."""
    m = re.search(rf"# ftdojo scripted step {step}:[^\n]*\n", history)
    if not m:
        return {}
    dec = json.JSONDecoder()
    pos = history.find("{", m.end())
    while pos != -1:
        try:
            obj, _ = dec.raw_decode(history, pos)
            if isinstance(obj, dict) and (accept is None or accept(obj)):
                return obj
        except ValueError:
            pass
        pos = history.find("{", pos + 1)
    return {}


def _is_card(obj: dict[str, Any]) -> bool:
    return "task_id" in obj and "eval_prompt_template" in obj


def _is_repository(obj: dict[str, Any]) -> bool:
    return bool(obj) and all(isinstance(v, dict) for v in obj.values())


def _heredoc(path: str, text: str) -> str:
    return f"cat > {path} <<'FTDOJO_EOF'\n{text.rstrip()}\nFTDOJO_EOF"


def next_command(history: str) -> str:
    """The next shell command of the scripted session, or :data:`DONE`.

    Args:
        history: The conversation so far as plain text (previous commands, with their tag comments, and
            their outputs in order; any surrounding text is ignored).

    Returns:
        A shell command whose first line is its step tag, or :data:`DONE`.
    """
    done = [int(k) for k in _TAG_RE.findall(history)]
    last = max(done, default=0)
    if last and FAILURE_MARK in history[history.rfind(f"# ftdojo scripted step {last}:"):]:
        return DONE
    step = last + 1
    if step > len(STEPS):
        return DONE
    tag = _TAG.format(k=step, what=STEPS[step - 1])
    if step == 1:
        return f"{tag}\nftdojo card"
    if step == 2:
        return f"{tag}\nftdojo datasets"
    card = _json_after(history, 1, _is_card)
    if step == 3:
        datasets = _json_after(history, 2, _is_repository)
        ctx = {"task_id": card.get("task_id"), "domain": card.get("domain"), "datasets": datasets}
        chosen = _select(ctx)["datasets"]
        ctx = {"iteration": 0, "datasets": {sid: datasets[sid] for sid in chosen if sid in datasets},
               "sample_cap": card.get("sample_cap", 2000),
               "eval_prompt_template": card.get("eval_prompt_template", "{question}")}
        return f"{tag}\n{_heredoc('process_data.py', _data_script(ctx, RECIPES[0]))}"
    if step == 4:
        return f"{tag}\nftdojo data --debug"
    if step == 5:
        return f"{tag}\nftdojo data"
    if step == 6:
        ctx = {"cpu_only": (card.get("device") or {}).get("cpu_only", True),
               "base_model_params_b": (card.get("base_model") or {}).get("params_b")}
        cfg = {**_config(ctx, RECIPES[0]), "_scripted": "written by the SCRIPTED shell policy"}
        return f"{tag}\n{_heredoc('train.yaml', json.dumps(cfg, indent=1))}"
    return f"{tag}\n" + {7: "ftdojo train", 8: "ftdojo validate", 9: "ftdojo submit"}[step]


def history_of_messages(messages: list[dict[str, Any]]) -> str:
    """OpenAI chat messages rendered as the plain text :func:`next_command` reads.

    Message text, the ``command`` argument of every tool call and tool results are concatenated in order.
    """
    parts = []
    for m in messages:
        content = m.get("content")
        if isinstance(content, list):  # content parts
            content = "\n".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
        if content:
            parts.append(str(content))
        for call in m.get("tool_calls") or []:
            try:
                parts.append(str(json.loads(call["function"]["arguments"]).get("command", "")))
            except (KeyError, TypeError, ValueError):
                continue
    return "\n".join(parts)


#: Tool names that mean "run a shell command" in the agent frameworks we drive (first match wins).
SHELL_TOOLS = ("bash", "terminal", "execute_bash", "shell", "run_shell_command", "exec_command")


def _tool_names(request: dict[str, Any]) -> list[str]:
    names = []
    for t in request.get("tools") or []:
        fn = t.get("function") if isinstance(t.get("function"), dict) else t
        if isinstance(fn, dict) and fn.get("name"):
            names.append(str(fn["name"]))
    return names


def shell_chat_policy(messages: list[dict[str, Any]], request: dict[str, Any]) -> str | dict[str, Any]:
    """Answer one chat-completions request of a shell agent (see the module docstring).

    With tools offered, the command goes to the first tool named like a shell (:data:`SHELL_TOOLS`, else
    the first tool); at the end a ``finish`` tool, when offered, is called instead of :data:`SUBMIT_COMMAND`.
    """
    cmd = next_command(history_of_messages(messages))
    note = "SCRIPTED shell policy (not an LLM): next step of the fixed Dojo session."
    names = _tool_names(request)
    if not names:
        return f"{note}\n\n```mswea_bash_command\n{SUBMIT_COMMAND if cmd == DONE else cmd}\n```"
    if cmd == DONE and "finish" in names:
        name, args = "finish", {"message": "Done: the experiment was submitted (scripted session)."}
    else:
        name = next((n for n in SHELL_TOOLS if n in names), names[0])
        args = {"command": SUBMIT_COMMAND if cmd == DONE else cmd}
    return {"content": note, "tool_calls": [{"id": f"call_{uuid.uuid4().hex[:12]}", "type": "function",
                                             "function": {"name": name, "arguments": json.dumps(args)}}]}
