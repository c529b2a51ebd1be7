"""The loopback endpoint's three wire formats (chat completions, Responses, Anthropic Messages), streaming and
not, with tool calls, from one chat policy; and the translation that lets the scripted shell policy drive
each CLI's own shell tool."""

from __future__ import annotations

import json

import httpx
import pytest
from openai import OpenAI

from ftagent.llm import wire
from ftagent.llm.proxy import parse_usage
from ftagent.llm.scripted_shell import next_command, shell_chat_policy
from ftagent.llm.server import serve_policy

STEP1 = next_command("")  # "# ftdojo scripted step 1: card\nftdojo card"
CARD_OUT = '{"task_id": "aime2025", "eval_prompt_template": "{question}"}'

CODEX_TOOLS = [{"type": "function", "name": "exec_command", "parameters": {
    "type": "object", "properties": {"cmd": {"type": "string"}, "yield_time_ms": {"type": "number"}},
    "required": ["cmd"]}}, {"type": "function", "name": "write_stdin", "parameters": {
        "type": "object", "properties": {"session_id": {"type": "number"}, "chars": {"type": "string"}},
        "required": ["session_id"]}}]
CLAUDE_TOOLS = [{"name": "Read", "input_schema": {"type": "object", "properties": {"file_path": {"type": "string"}}}},
                {"name": "Bash", "input_schema": {"type": "object", "properties": {
                    "command": {"type": "string"}, "description": {"type": "string"},
                    "timeout": {"type": "number"}}, "required": ["command"]}}]
QWEN_TOOLS = [{"type": "function", "function": {"name": "run_shell_command", "parameters": {
    "type": "object", "properties": {"command": {"type": "string"}, "description": {"type": "string"}},
    "required": ["command", "description"]}}}]


def _echo_policy(messages, request):
    """Calls the offered tool with ``echo <n>`` (n = messages so far) until a tool result says STOP."""
    if any(m.get("role") == "tool" and "STOP" in str(m.get("content")) for m in messages):
        return "finished"
    if not request.get("tools"):
        return "no tools"
    name = request["tools"][0]["function"]["name"]
    return {"content": "calling", "tool_calls": [{"id": "x", "type": "function", "function": {
        "name": name, "arguments": json.dumps({"command": f"echo {len(messages)}"})}}]}


def _sse_events(text: str) -> list[dict]:
    return [json.loads(line[5:]) for line in text.splitlines()
            if line.startswith("data:") and line[5:].strip() != "[DONE]"]


@pytest.fixture(scope="module")
def url():
    with serve_policy(_echo_policy, "scripted") as u:
        yield u


def test_chat_completions_plain_and_streamed_tool_calls(url):
    client = OpenAI(base_url=url, api_key="t")
    msgs = [{"role": "user", "content": "go"}]
    plain = client.chat.completions.create(model="scripted", messages=msgs, tools=QWEN_TOOLS)
    call = plain.choices[0].message.tool_calls[0]  # plain chat: the policy's own answer, as before
    assert plain.choices[0].finish_reason == "tool_calls" and call.function.name == "run_shell_command"
    assert json.loads(call.function.arguments)["command"] == "echo 1"
    stream = client.chat.completions.create(model="scripted", messages=msgs, tools=QWEN_TOOLS, stream=True)
    chunks = list(stream)
    args = "".join(tc.function.arguments or "" for c in chunks for d in [c.choices[0].delta] if c.choices
                   for tc in d.tool_calls or [])  # streamed (Qwen Code, OpenCode): re-encoded for the tool
    assert json.loads(args) == {"command": "echo 1", "description": "scripted step (not an LLM)"}
    assert chunks[-1].choices[0].finish_reason == "tool_calls" and chunks[-1].usage.completion_tokens > 0


def test_responses_api_plain_and_streamed_function_calls(url):
    client = OpenAI(base_url=url, api_key="t")
    inp = [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "go"}]}]
    r = client.responses.create(model="scripted", input=inp, tools=CODEX_TOOLS)
    fc = [o for o in r.output if o.type == "function_call"][0]
    assert r.status == "completed" and fc.name == "exec_command" and r.usage.input_tokens >= 1
    assert json.loads(fc.arguments) == {"cmd": "echo 1", "yield_time_ms": wire.WAIT_MS}
    events = list(client.responses.create(model="scripted", input=inp, tools=CODEX_TOOLS, stream=True))
    kinds = [e.type for e in events]
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    assert {"response.output_item.added", "response.output_text.delta", "response.function_call_arguments.delta",
            "response.output_item.done"} <= set(kinds)
    assert events[-1].response.usage.output_tokens > 0
    # the tool result comes back as a function_call_output item; the policy sees it as a tool message
    inp2 = inp + [{"type": "function_call", "call_id": fc.call_id, "name": "exec_command", "arguments": fc.arguments},
                  {"type": "function_call_output", "call_id": fc.call_id, "output": "STOP"}]
    done = client.responses.create(model="scripted", input=inp2, tools=CODEX_TOOLS)
    assert done.output_text == "finished" and not [o for o in done.output if o.type == "function_call"]


def test_anthropic_messages_plain_and_streamed_tool_use(url):
    root = url.removesuffix("/v1")
    body = {"model": "scripted", "max_tokens": 100, "tools": CLAUDE_TOOLS,
            "messages": [{"role": "user", "content": [{"type": "text", "text": "go"}]}]}
    r = httpx.post(f"{root}/v1/messages", json=body).json()
    use = [b for b in r["content"] if b["type"] == "tool_use"][0]
    assert r["stop_reason"] == "tool_use" and use["name"] == "Bash" and use["input"]["command"] == "echo 1"
    s = httpx.post(f"{root}/v1/messages", json={**body, "stream": True})
    assert s.headers["content-type"].startswith("text/event-stream")
    ev = _sse_events(s.text)
    assert [e["type"] for e in ev][0] == "message_start" and ev[-1]["type"] == "message_stop"
    partial = "".join(e["delta"].get("partial_json", "") for e in ev if e["type"] == "content_block_delta")
    assert json.loads(partial)["command"] == "echo 1"
    assert next(e for e in ev if e["type"] == "message_delta")["delta"]["stop_reason"] == "tool_use"
    assert parse_usage(s.content, True)[1] > 0  # the run's proxy can count it
    # tool_result blocks come back; the policy sees a tool message
    body["messages"] += [{"role": "assistant", "content": [use]},
                         {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use["id"],
                                                       "content": [{"type": "text", "text": "STOP"}]}]}]
    end = httpx.post(f"{root}/v1/messages", json=body).json()
    assert end["stop_reason"] == "end_turn" and end["content"] == [{"type": "text", "text": "finished"}]
    assert httpx.post(f"{root}/v1/messages/count_tokens", json=body).json()["input_tokens"] > 0


def test_shell_tool_is_found_by_name_and_shape():
    assert wire.find_shell_tool(CODEX_TOOLS).arg == "cmd"
    assert wire.find_shell_tool(CLAUDE_TOOLS).name == "Bash"
    assert wire.find_shell_tool(QWEN_TOOLS).required == ["description"]
    codex_shell = wire.find_shell_tool([{"type": "function", "name": "shell", "parameters": {
        "type": "object", "properties": {"command": {"type": "array"}}, "required": ["command"]}}])
    assert codex_shell.encode("ls") == {"command": ["bash", "-lc", "ls"]}
    assert wire.find_shell_tool([{"type": "local_shell"}]).kind == "local_shell"
    assert wire.find_shell_tool([{"type": "function", "function": {"name": "run", "parameters": {
        "required": ["cmd"], "properties": {"cmd": {"type": "string"}}}}}]).name == "run"
    assert wire.find_shell_tool([{"name": "Read", "input_schema": {}}]) is None


@pytest.mark.parametrize("fmt", ["chat", "responses", "messages"])
def test_scripted_shell_policy_advances_in_every_format(fmt):
    """Step 1 ran (its output is the card): every format's history makes the policy answer step 2."""
    if fmt == "responses":
        body = {"tools": [{"type": "function", "name": "shell", "parameters": {
                    "properties": {"command": {"type": "array"}}, "required": ["command"]}}],
                "input": [{"type": "message", "role": "user", "content": "go"},
                          {"type": "function_call", "call_id": "c1", "name": "shell",
                           "arguments": json.dumps({"command": ["bash", "-lc", STEP1]})},
                          {"type": "function_call_output", "call_id": "c1", "output": CARD_OUT}]}
    elif fmt == "messages":
        body = {"tools": CLAUDE_TOOLS, "messages": [
            {"role": "user", "content": "go"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "Bash",
                                               "input": {"command": STEP1}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": CARD_OUT}]}]}
    else:
        body = {"tools": QWEN_TOOLS, "messages": [
            {"role": "user", "content": "go"},
            {"role": "assistant", "content": None, "tool_calls": [{"id": "t1", "type": "function", "function": {
                "name": "run_shell_command", "arguments": json.dumps({"command": STEP1, "description": "d"})}}]},
            {"role": "tool", "tool_call_id": "t1", "content": CARD_OUT}]}
    data, _ = wire.serve(fmt, body if fmt != "chat" else {**body, "stream": False}, shell_chat_policy, "scripted")
    text = json.dumps(data)
    assert "# ftdojo scripted step 2: datasets" in text and "ftdojo datasets" in text


def test_codex_running_command_is_polled_not_skipped():
    body = {"tools": CODEX_TOOLS, "input": [
        {"type": "function_call", "call_id": "c1", "name": "exec_command", "arguments": json.dumps({"cmd": STEP1})},
        {"type": "function_call_output", "call_id": "c1", "output": "Process running with session ID 42\n"}]}
    data, _ = wire.serve("responses", body, shell_chat_policy, "scripted")
    fc = [o for o in data["output"] if o["type"] == "function_call"][0]
    assert fc["name"] == "write_stdin" and json.loads(fc["arguments"])["session_id"] == 42


def test_other_offered_tools_pass_through():
    finish = {"type": "function", "function": {"name": "finish", "parameters": {"properties": {}}}}
    ans = wire.answer_of({"content": "", "tool_calls": [{"function": {"name": "finish", "arguments": "{}"}}]},
                         wire.find_shell_tool([*QWEN_TOOLS, finish]))
    assert ans.calls(None) == [("finish", {})] and not ans.commands


def test_end_of_session_is_a_text_answer():
    ans = wire.answer_of({"content": "x", "tool_calls": [{"function": {"name": "Bash", "arguments": json.dumps(
        {"command": wire.END_COMMANDS[0]})}}]}, wire.find_shell_tool(CLAUDE_TOOLS))
    body = wire.messages_body(ans, wire.find_shell_tool(CLAUDE_TOOLS), "m", 1)
    assert body["stop_reason"] == "end_turn" and body["content"][0]["text"] == wire.END_TEXT
