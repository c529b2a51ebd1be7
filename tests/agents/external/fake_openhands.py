#!/usr/bin/env python3
"""A fake of the OpenHands CLI's headless mode, for the adapter's tests (standard library only).

It accepts the flags the adapter passes (``--headless --json --override-with-envs -f TASK.md``), needs
``LLM_MODEL``, ``LLM_BASE_URL`` and ``LLM_API_KEY`` like the real CLI with ``--override-with-envs``,
records the environment it was given (``$OPENHANDS_PERSISTENCE_DIR/env_seen.json``, for the key-parity
test), then loops: ask the LLM (OpenAI chat completions with a ``terminal`` and a ``finish`` tool), run the
command with bash in its working directory, feed the output back; it prints one JSON event per line.
"""

import argparse
import json
import os
import subprocess
import sys
import urllib.request


def emit(event):
    print(json.dumps(event), flush=True)


def main():
    p = argparse.ArgumentParser(prog="openhands")
    p.add_argument("--headless", action="store_true")
    p.add_argument("--json", action="store_true")
    p.add_argument("--override-with-envs", action="store_true")
    p.add_argument("-f", "--file")
    p.add_argument("-t", "--task")
    a = p.parse_args()
    if not (a.headless and a.override_with_envs and (a.file or a.task)):
        sys.exit("fake openhands: expected --headless --override-with-envs and --task or --file")
    missing = [v for v in ("LLM_MODEL", "LLM_API_KEY") if not os.environ.get(v)]
    if missing:
        sys.exit(f"Missing required environment variable(s): {', '.join(missing)}")
    persist = os.environ.get("OPENHANDS_PERSISTENCE_DIR") or os.path.expanduser("~/.openhands")
    os.makedirs(persist, exist_ok=True)
    with open(os.path.join(persist, "env_seen.json"), "w") as f:
        json.dump(dict(os.environ), f)
    task = open(a.file).read() if a.file else a.task
    tools = [{"type": "function", "function": {"name": "terminal", "description": "Run a bash command",
                                               "parameters": {"type": "object", "properties": {
                                                   "command": {"type": "string"}}, "required": ["command"]}}},
             {"type": "function", "function": {"name": "finish", "description": "End the task",
                                               "parameters": {"type": "object", "properties": {
                                                   "message": {"type": "string"}}}}}]
    messages = [{"role": "system", "content": "You are a fake OpenHands agent."}, {"role": "user", "content": task}]
    model = os.environ["LLM_MODEL"].split("/", 1)[-1]
    base = os.environ.get("LLM_BASE_URL", "https://api.openai.com/v1").rstrip("/")
    for _ in range(40):
        body = json.dumps({"model": model, "messages": messages, "tools": tools}).encode()
        req = urllib.request.Request(base + "/chat/completions", data=body, headers={
            "Authorization": "Bearer " + os.environ["LLM_API_KEY"], "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=600) as r:
            msg = json.load(r)["choices"][0]["message"]
        messages.append(msg)
        calls = msg.get("tool_calls") or []
        if not calls:
            emit({"type": "message", "role": "assistant", "content": msg.get("content")})
            return 0
        call = calls[0]
        args = json.loads(call["function"]["arguments"])
        if call["function"]["name"] == "finish":
            emit({"type": "action", "action": "finish", "message": args.get("message", "")})
            return 0
        emit({"type": "action", "action": "run", "command": args["command"]})
        r = subprocess.run(["bash", "-c", args["command"]], capture_output=True, text=True)
        out = r.stdout + r.stderr
        emit({"type": "observation", "content": out[-2000:], "exit_code": r.returncode})
        messages.append({"role": "tool", "tool_call_id": call["id"], "content": out})
    return 1


if __name__ == "__main__":
    sys.exit(main())
