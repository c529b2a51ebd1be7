"""Three LLM wire formats from one chat policy: chat completions, the OpenAI Responses API, Anthropic Messages.

Frontier CLI agents each speak one API: Codex CLI the Responses API (``POST /v1/responses``), Claude Code
Anthropic Messages (``POST /v1/messages``), Qwen Code and OpenCode chat completions. The loopback
endpoint of :mod:`ftagent.llm.server` serves all three from the same
:data:`~ftagent.llm.server.Policy` (a function of OpenAI chat messages), so the *real* CLI binaries can
be driven offline through a scripted session. This module is the translation:

* **requests → chat messages** (:func:`chat_view`): Responses ``input`` items (``message``,
  ``function_call``, ``function_call_output``, ``local_shell_call``) and Anthropic ``messages`` content
  blocks (``text``, ``tool_use``, ``tool_result``) become OpenAI chat messages with ``tool_calls`` and
  ``tool`` results; every shell-tool call is normalised to ``{"command": "<shell text>"}``;
* **the shell tool** (:func:`find_shell_tool`): the policy is offered one tool, the request's shell-like
  one, found by name and shape — Codex ``exec_command`` (``cmd``) or ``shell`` (``command`` as an argv
  array) or the built-in ``local_shell``, Claude Code ``Bash``, Qwen Code ``run_shell_command``, OpenCode
  ``bash``; files are written through the shell with a heredoc, so one tool suffices;
* **answers → each format** (:func:`chat_completion`, :func:`responses_body`, :func:`messages_body`,
  and the SSE streams :func:`chat_stream`, :func:`responses_stream`, :func:`messages_stream`): a text
  answer becomes a message / ``output_text`` / ``text`` block, a tool call becomes a
  ``tool_calls`` entry / ``function_call`` (or ``local_shell_call``) item / ``tool_use`` block with the
  arguments re-encoded for that tool's schema (an argv array ``["bash", "-lc", cmd]`` where the
  schema wants one). The end of the scripted session (mini-swe-agent's submit command) becomes a plain
  text answer without a tool call, which ends a CLI's turn.

Event names and fields follow the public API references (OpenAI "Streaming events" of the Responses
API; Anthropic "Streaming Messages"). Token counts are whitespace word counts, as in the chat route.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

#: Shell-like tool names, most specific first (Codex, Claude Code, Qwen Code, OpenCode, generic).
SHELL_TOOL_NAMES = ("exec_command", "shell", "Bash", "run_shell_command", "bash", "shell_command",
                    "execute_command", "terminal")
#: Commands of a chat policy that mean "the session is over" (answered as text, no tool call).
END_COMMANDS = ("echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT",)
#: Optional arguments that say how long to wait for a command (Codex ``yield_time_ms``, generic ``timeout``
#: fields); set to :data:`WAIT_MS` so a long step (a training) returns its output, not a session to poll.
WAIT_ARGS = ("yield_time_ms", "timeout_ms", "timeout")
#: Milliseconds to wait for a shell command (10 min: Qwen Code rejects a longer `timeout`).
WAIT_MS = 600_000
#: The text answer that ends a session.
END_TEXT = "Done: the scripted session is over (SCRIPTED policy, not an LLM)."


@dataclass
class ShellTool:
    """The shell-like tool of a request.

    Attributes:
        name: Its name (``""`` for Codex's built-in ``local_shell``).
        kind: ``function`` (a JSON-schema tool) or ``local_shell`` (the Responses API built-in).
        arg: The argument holding the command (``command``, ``cmd``).
        argv: Whether that argument is an argv array (Codex ``shell``) rather than a string.
        required: Other required string arguments (filled with a short description).
        schema: The tool's parameter schema.
    """

    name: str
    kind: str = "function"
    arg: str = "command"
    argv: bool = False
    required: list[str] = field(default_factory=list)
    schema: dict[str, Any] = field(default_factory=dict)

    def encode(self, command: str) -> dict[str, Any]:
        """Arguments of a call of this tool running ``command``."""
        args: dict[str, Any] = {self.arg: ["bash", "-lc", command] if self.argv else command}
        props = self.schema.get("properties") or {}
        for k in WAIT_ARGS:  # wait for the command to finish (training runs for minutes), never poll
            if k in props:
                args[k] = WAIT_MS
        if "login" in props:  # no login shell: /etc/profile would reset the PATH the agent was given
            args["login"] = False
        for k in self.required:
            if k in args:
                continue
            t = (props.get(k) or {}).get("type")
            args[k] = {"integer": 600000, "number": 600000, "boolean": False, "array": []}.get(
                t, "scripted step (not an LLM)")
        return args

    def chat_tool(self) -> dict[str, Any]:
        """The tool as offered to the chat policy (one ``command`` string argument)."""
        return {"type": "function", "function": {
            "name": self.name or "local_shell", "description": "Run a shell command.",
            "parameters": {"type": "object", "properties": {"command": {"type": "string"}},
                           "required": ["command"]}}}


def _schema_of(tool: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(name, parameter schema) of a tool in any of the three formats."""
    if isinstance(tool.get("function"), dict):  # chat completions
        f = tool["function"]
        return str(f.get("name", "")), f.get("parameters") or {}
    return str(tool.get("name", "")), tool.get("parameters") or tool.get("input_schema") or {}


def find_shell_tool(tools: list[dict[str, Any]] | None) -> ShellTool | None:
    """The shell-like tool among a request's ``tools`` (None when there is none).

    Found by name (:data:`SHELL_TOOL_NAMES`, in that order of preference), else by shape (a required
    ``command`` or ``cmd`` argument); the Responses API built-in ``{"type": "local_shell"}`` counts last.
    """
    by_name: dict[str, dict[str, Any]] = {}
    local = False
    for t in tools or []:
        if t.get("type") == "local_shell":
            local = True
            continue
        name, schema = _schema_of(t)
        if name:
            by_name[name] = schema
    pick = next((n for n in SHELL_TOOL_NAMES if n in by_name), None)
    if pick is None:
        pick = next((n for n, s in by_name.items()
                     if {"command", "cmd"} & set(s.get("required") or [])), None)
    if pick is None:
        return ShellTool(name="", kind="local_shell", argv=True) if local else None
    schema = by_name[pick]
    props = schema.get("properties") or {}
    arg = "cmd" if "cmd" in props and "command" not in props else "command"
    argv = (props.get(arg) or {}).get("type") == "array"
    required = [k for k in schema.get("required") or [] if k != arg]
    return ShellTool(name=pick, arg=arg, argv=argv, required=required, schema=schema)


def command_of(args: Any) -> str:
    """The shell text of a shell-tool call's arguments (a JSON string or a dict; argv arrays joined)."""
    if isinstance(args, str):
        try:
            args = json.loads(args)
        except ValueError:
            return args
    if not isinstance(args, dict):
        return ""
    cmd = args.get("command", args.get("cmd", ""))
    if isinstance(cmd, list):
        if len(cmd) >= 3 and cmd[0] in ("bash", "sh", "zsh", "/bin/bash", "/bin/sh") and cmd[1] in ("-lc", "-c"):
            return str(cmd[2])
        return " ".join(map(str, cmd))
    return str(cmd)


def _text_of(content: Any) -> str:
    """Plain text of a content field: a string, or a list of parts/blocks of any format."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        out = []
        for p in content:
            if isinstance(p, str):
                out.append(p)
            elif isinstance(p, dict):
                if "text" in p:
                    out.append(str(p["text"]))
                elif p.get("type") == "tool_result":
                    out.append(_text_of(p.get("content")))
                elif "content" in p:
                    out.append(_text_of(p["content"]))
        return "\n".join(out)
    if isinstance(content, dict):
        return _text_of(content.get("content") if "content" in content else content.get("text"))
    return str(content)


def _call(call_id: str, name: str, command: str) -> dict[str, Any]:
    return {"id": call_id, "type": "function",
            "function": {"name": name or "local_shell", "arguments": json.dumps({"command": command})}}


def chat_view(fmt: str, body: dict[str, Any]) -> tuple[list[dict[str, Any]], ShellTool | None]:
    """The request as OpenAI chat messages (tool calls normalised to ``{"command": ...}``) and its shell tool.

    Args:
        fmt: ``chat``, ``responses`` or ``messages``.
        body: The request's JSON body.
    """
    tool = find_shell_tool(body.get("tools"))
    msgs: list[dict[str, Any]] = []
    if fmt == "chat":
        for m in body.get("messages") or []:
            m = dict(m)
            if m.get("tool_calls"):
                m["tool_calls"] = [_call(c.get("id", ""), c.get("function", {}).get("name", ""),
                                         command_of(c.get("function", {}).get("arguments")))
                                   for c in m["tool_calls"]]
            m["content"] = _text_of(m.get("content")) if m.get("content") is not None else None
            msgs.append(m)
        return msgs, tool
    if fmt == "responses":
        if body.get("instructions"):
            msgs.append({"role": "system", "content": str(body["instructions"])})
        items = body.get("input")
        if isinstance(items, str):
            items = [{"type": "message", "role": "user", "content": items}]
        for it in items or []:
            kind = it.get("type", "message")
            if kind == "message":
                role = {"developer": "system"}.get(it.get("role", "user"), it.get("role", "user"))
                msgs.append({"role": role, "content": _text_of(it.get("content"))})
            elif kind in ("function_call", "custom_tool_call"):
                msgs.append({"role": "assistant", "content": None, "tool_calls": [
                    _call(it.get("call_id", ""), it.get("name", ""), command_of(it.get("arguments", it.get("input"))))]})
            elif kind == "local_shell_call":
                cmd = command_of({"command": (it.get("action") or {}).get("command", [])})
                msgs.append({"role": "assistant", "content": None, "tool_calls": [
                    _call(it.get("call_id", ""), "", cmd)]})
            elif kind in ("function_call_output", "custom_tool_call_output", "local_shell_call_output"):
                msgs.append({"role": "tool", "tool_call_id": it.get("call_id", ""),
                             "content": _text_of(it.get("output"))})
        return msgs, tool
    if fmt == "messages":
        system = body.get("system")
        if system:
            msgs.append({"role": "system", "content": _text_of(system)})
        for m in body.get("messages") or []:
            content = m.get("content")
            if isinstance(content, str):
                msgs.append({"role": m.get("role", "user"), "content": content})
                continue
            texts, calls, results = [], [], []
            for b in content or []:
                t = b.get("type")
                if t == "text":
                    texts.append(str(b.get("text", "")))
                elif t == "tool_use":
                    calls.append(_call(b.get("id", ""), b.get("name", ""), command_of(b.get("input") or {})))
                elif t == "tool_result":
                    results.append({"role": "tool", "tool_call_id": b.get("tool_use_id", ""),
                                    "content": _text_of(b.get("content"))})
            msgs.extend(results)
            if texts or calls:
                msg: dict[str, Any] = {"role": m.get("role", "user"), "content": "\n".join(texts) or None}
                if calls:
                    msg["tool_calls"] = calls
                msgs.append(msg)
        return msgs, tool
    raise ValueError(f"unknown wire format '{fmt}'")


@dataclass
class Answer:
    """A policy answer in neutral form: text and shell commands to call.

    Attributes:
        text: Assistant text (may be empty).
        commands: Shell commands, one tool call each.
    """

    text: str = ""
    commands: list[str] = field(default_factory=list)
    #: Calls of other tools as (name, arguments), e.g. Codex's ``write_stdin`` poll of a running command.
    raw_calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    @property
    def words(self) -> int:
        """Completion size in words (the served token count)."""
        return len(self.text.split()) + sum(len(c.split()) for c in self.commands) + len(self.raw_calls)

    def calls(self, tool: ShellTool | None) -> list[tuple[str, dict[str, Any]]]:
        """Every tool call as (name, arguments): shell commands encoded for ``tool``, then raw calls."""
        shell = [(tool.name, tool.encode(c)) for c in self.commands] if tool is not None else []
        return shell + list(self.raw_calls)


def answer_of(policy_answer: Any, tool: ShellTool | None) -> Answer:
    """Normalise a policy answer (text, or ``{"content", "tool_calls"}``).

    Calls of the shell tool become commands (an end command ends the session: text, no call); calls of
    other offered tools (e.g. a ``finish`` tool) pass through as they are.
    """
    if not isinstance(policy_answer, dict):
        return Answer(text=str(policy_answer or ""))
    cmds, raw = [], []
    for c in policy_answer.get("tool_calls") or []:
        fn = c.get("function", {})
        name = str(fn.get("name", ""))
        if tool is not None and name not in (tool.name, "local_shell"):
            try:
                raw.append((name, json.loads(fn.get("arguments") or "{}")))
            except ValueError:
                raw.append((name, {}))
            continue
        cmds.append(command_of(fn.get("arguments")))
    text = str(policy_answer.get("content") or "")
    if any(c.strip() in END_COMMANDS for c in cmds) or (tool is None and cmds):
        return Answer(text=END_TEXT, raw_calls=raw)
    return Answer(text=text, commands=cmds, raw_calls=raw)


def prompt_words(messages: list[dict[str, Any]]) -> int:
    """Prompt size in words (the served token count)."""
    return sum(len(str(m.get("content") or "").split()) for m in messages)


def _id(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:24]}"


# ------------------------------------------------------------------------------------ chat completions
def chat_completion(ans: Answer, tool: ShellTool | None, model: str, n_prompt: int) -> dict[str, Any]:
    """A ``chat.completion`` body."""
    msg: dict[str, Any] = {"role": "assistant", "content": ans.text or None}
    if ans.calls(tool):
        msg["tool_calls"] = [{"id": _id("call_"), "type": "function", "function": {
            "name": name, "arguments": json.dumps(args)}} for name, args in ans.calls(tool)]
    return {"id": _id("chatcmpl-"), "object": "chat.completion", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "finish_reason": "tool_calls" if msg.get("tool_calls") else "stop",
                         "message": msg}],
            "usage": {"prompt_tokens": n_prompt, "completion_tokens": ans.words,
                      "total_tokens": n_prompt + ans.words}}


def chat_stream(ans: Answer, tool: ShellTool | None, model: str, n_prompt: int) -> Iterator[str]:
    """``chat.completion.chunk`` SSE events: role, text, tool calls, the finish chunk with usage, ``[DONE]``."""
    base = {"id": _id("chatcmpl-"), "object": "chat.completion.chunk", "created": int(time.time()), "model": model}

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        return "data: " + json.dumps({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                                      **extra}) + "\n\n"

    yield chunk({"role": "assistant", "content": ""})
    if ans.text:
        yield chunk({"content": ans.text})
    calls = ans.calls(tool)
    for i, (name, args) in enumerate(calls):
        yield chunk({"tool_calls": [{"index": i, "id": _id("call_"), "type": "function",
                                     "function": {"name": name, "arguments": ""}}]})
        yield chunk({"tool_calls": [{"index": i, "function": {"arguments": json.dumps(args)}}]})
    usage = {"prompt_tokens": n_prompt, "completion_tokens": ans.words, "total_tokens": n_prompt + ans.words}
    yield chunk({}, "tool_calls" if calls else "stop", usage=usage)
    yield "data: [DONE]\n\n"


# ---------------------------------------------------------------------------------------- Responses API
def _responses_items(ans: Answer, tool: ShellTool | None) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    if ans.text:
        items.append({"type": "message", "id": _id("msg_"), "status": "completed", "role": "assistant",
                      "content": [{"type": "output_text", "text": ans.text, "annotations": []}]})
    for name, args in ans.calls(tool):
        if tool is not None and tool.kind == "local_shell" and not name:
            items.append({"type": "local_shell_call", "id": _id("lsh_"), "call_id": _id("call_"),
                          "status": "completed", "action": {"type": "exec", "command": args["command"], "env": {}}})
        else:
            items.append({"type": "function_call", "id": _id("fc_"), "call_id": _id("call_"), "name": name,
                          "arguments": json.dumps(args), "status": "completed"})
    return items


def _response(model: str, status: str, output: list[dict[str, Any]], usage: dict[str, Any] | None,
              rid: str, created: int) -> dict[str, Any]:
    return {"id": rid, "object": "response", "created_at": created, "status": status, "model": model,
            "output": output, "parallel_tool_calls": False, "tool_choice": "auto", "tools": [],
            "usage": usage, "error": None, "incomplete_details": None}


def _responses_usage(n_prompt: int, n_out: int) -> dict[str, Any]:
    return {"input_tokens": n_prompt, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": n_out,
            "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": n_prompt + n_out}


def responses_body(ans: Answer, tool: ShellTool | None, model: str, n_prompt: int) -> dict[str, Any]:
    """A Responses API ``response`` object (status ``completed``)."""
    return _response(model, "completed", _responses_items(ans, tool), _responses_usage(n_prompt, ans.words),
                     _id("resp_"), int(time.time()))


def _sse(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps({'type': event, **data})}\n\n"


def responses_stream(ans: Answer, tool: ShellTool | None, model: str, n_prompt: int) -> Iterator[str]:
    """Responses API SSE events: ``response.created``, per output item ``response.output_item.added``,
    text deltas (``response.content_part.added``, ``response.output_text.delta``/``.done``,
    ``response.content_part.done``) or argument deltas (``response.function_call_arguments.delta``/``.done``),
    ``response.output_item.done``; then ``response.completed`` with the output and usage."""
    rid, created, seq = _id("resp_"), int(time.time()), 0
    items = _responses_items(ans, tool)

    def ev(event: str, **data: Any) -> str:
        nonlocal seq
        seq += 1
        return _sse(event, {"sequence_number": seq, **data})

    yield ev("response.created", response=_response(model, "in_progress", [], None, rid, created))
    yield ev("response.in_progress", response=_response(model, "in_progress", [], None, rid, created))
    for i, item in enumerate(items):
        if item["type"] == "message":
            text = item["content"][0]["text"]
            yield ev("response.output_item.added", output_index=i,
                     item={**item, "status": "in_progress", "content": []})
            part = {"type": "output_text", "text": "", "annotations": []}
            yield ev("response.content_part.added", item_id=item["id"], output_index=i, content_index=0, part=part)
            yield ev("response.output_text.delta", item_id=item["id"], output_index=i, content_index=0, delta=text)
            yield ev("response.output_text.done", item_id=item["id"], output_index=i, content_index=0, text=text)
            yield ev("response.content_part.done", item_id=item["id"], output_index=i, content_index=0,
                     part={**part, "text": text})
        elif item["type"] == "function_call":
            yield ev("response.output_item.added", output_index=i,
                     item={**item, "status": "in_progress", "arguments": ""})
            yield ev("response.function_call_arguments.delta", item_id=item["id"], output_index=i,
                     delta=item["arguments"])
            yield ev("response.function_call_arguments.done", item_id=item["id"], output_index=i,
                     arguments=item["arguments"])
        else:
            yield ev("response.output_item.added", output_index=i, item={**item, "status": "in_progress"})
        yield ev("response.output_item.done", output_index=i, item=item)
    yield ev("response.completed", response=_response(model, "completed", items,
                                                      _responses_usage(n_prompt, ans.words), rid, created))


# ------------------------------------------------------------------------------------ Anthropic Messages
def _blocks(ans: Answer, tool: ShellTool | None) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [{"type": "text", "text": ans.text}] if ans.text else []
    for name, args in ans.calls(tool):
        blocks.append({"type": "tool_use", "id": _id("toolu_"), "name": name, "input": args})
    return blocks


def messages_body(ans: Answer, tool: ShellTool | None, model: str, n_prompt: int) -> dict[str, Any]:
    """An Anthropic ``message`` object (``stop_reason`` ``tool_use`` or ``end_turn``)."""
    blocks = _blocks(ans, tool)
    return {"id": _id("msg_"), "type": "message", "role": "assistant", "model": model, "content": blocks,
            "stop_reason": "tool_use" if any(b["type"] == "tool_use" for b in blocks) else "end_turn",
            "stop_sequence": None, "usage": {"input_tokens": n_prompt, "output_tokens": ans.words}}


def messages_stream(ans: Answer, tool: ShellTool | None, model: str, n_prompt: int) -> Iterator[str]:
    """Anthropic SSE events: ``message_start``, per block ``content_block_start`` / ``content_block_delta``
    (``text_delta`` or ``input_json_delta``) / ``content_block_stop``, ``message_delta`` (stop reason and
    output tokens), ``message_stop``."""
    body = messages_body(ans, tool, model, n_prompt)
    start = {**body, "content": [], "stop_reason": None, "usage": {"input_tokens": n_prompt, "output_tokens": 0}}
    yield _sse("message_start", {"message": start})
    for i, b in enumerate(body["content"]):
        if b["type"] == "text":
            yield _sse("content_block_start", {"index": i, "content_block": {"type": "text", "text": ""}})
            yield _sse("content_block_delta", {"index": i, "delta": {"type": "text_delta", "text": b["text"]}})
        else:
            yield _sse("content_block_start", {"index": i, "content_block": {**b, "input": {}}})
            yield _sse("content_block_delta", {"index": i, "delta": {"type": "input_json_delta",
                                                                     "partial_json": json.dumps(b["input"])}})
        yield _sse("content_block_stop", {"index": i})
    yield _sse("message_delta", {"delta": {"stop_reason": body["stop_reason"], "stop_sequence": None},
                                 "usage": {"output_tokens": ans.words}})
    yield _sse("message_stop", {})


_RUNNING = re.compile(r"Process running with session ID (\d+)")
#: Longest wait of one poll of a running Codex command (its ``write_stdin`` caps empty polls at 300 s).
POLL_MS = 300_000


def pending_session(messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None
                    ) -> tuple[str, dict[str, Any]] | None:
    """A ``write_stdin`` poll when the last tool result says a command is still running (Codex's unified
    exec returns after at most 30 s with a session id), else None."""
    if not messages or messages[-1].get("role") != "tool":
        return None
    m = _RUNNING.search(str(messages[-1].get("content") or ""))
    names = {_schema_of(t)[0] for t in tools or []}
    if not m or "write_stdin" not in names:
        return None
    return "write_stdin", {"session_id": int(m.group(1)), "chars": "", "yield_time_ms": POLL_MS}


#: Route suffix -> wire format.
ROUTES = {"/chat/completions": "chat", "/responses": "responses", "/messages": "messages"}
BODIES = {"chat": chat_completion, "responses": responses_body, "messages": messages_body}
STREAMS = {"chat": chat_stream, "responses": responses_stream, "messages": messages_stream}


def serve(fmt: str, body: dict[str, Any], policy: Any, model: str) -> tuple[dict[str, Any] | None, Iterator[str] | None]:
    """Answer one request of format ``fmt`` with ``policy``: (JSON body, None) or (None, SSE events).

    Requests without a shell tool (a CLI's side calls: titles, summaries) are still answered by the
    policy, as text only.
    """
    messages, tool = chat_view(fmt, body)
    poll = pending_session(messages, body.get("tools"))
    if poll is not None:  # a command still running: wait for it (transport detail, not a policy step)
        ans = Answer(raw_calls=[poll])
    else:
        # chat requests keep their own tools (the policy's native format; e.g. a `finish` tool); the other
        # formats offer the policy their shell tool only, in chat form
        tools = body.get("tools") if fmt == "chat" else ([tool.chat_tool()] if tool is not None else None)
        chat_body = {"model": body.get("model", model), "messages": messages, **({"tools": tools} if tools else {})}
        ans = answer_of(policy(messages, chat_body), tool)
    n_prompt = prompt_words(messages)
    name = str(body.get("model") or model)
    if body.get("stream"):
        return None, STREAMS[fmt](ans, tool, name, n_prompt)
    return BODIES[fmt](ans, tool, name, n_prompt), None
