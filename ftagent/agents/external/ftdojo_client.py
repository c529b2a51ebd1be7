#!/usr/bin/env python3
"""``ftdojo``: the Dojo's tools as shell commands, for agents that work in a shell (standard library only).

Installed by the harness into the agent's workspace (``.ftdojo/bin/ftdojo``) and put on its PATH; it
runs inside the sandbox, where the ``ftagent`` package is not visible, so it imports nothing but the
standard library. Each command is one HTTP call to the run's tool service (outside the sandbox, where
the validation data lives), authenticated with the run's token:

    ftdojo card                     the task card (JSON): task, answer format, evaluation prompt template,
                                    sample cap, budget, base model, device facts
    ftdojo datasets                 the raw-data repository summary (dataset_info.json)
    ftdojo data [--debug]           run ./process_data.py in the sandbox (debug: ~100 samples) and check data.json
    ftdojo train [--micro] [FILE]   train with FILE (default train.yaml) on data.json; --micro: a few steps only
    ftdojo validate                 validation score of the last trained model + up to 10 wrong answers
    ftdojo submit [EXPERIMENT]      mark the last validated (or the named) experiment as the final one
    ftdojo budget                   time, iterations and LLM spend left
    ftdojo status                   the experiments so far

Environment: ``FTDOJO_TOOLS_URL`` (or ``FTDOJO_LLM_BASE_URL``, whose ``/v1`` is replaced by ``/ftdojo``)
and ``FTDOJO_TOKEN``. Output is JSON on stdout; a failed call also prints ``ftdojo: FAILED ...`` on stdout
and exits with status 1 (2 for bad usage, 3 when the tool service cannot be reached).
"""

import json
import os
import sys
import urllib.error
import urllib.request

USAGE = next(p for p in __doc__.split("\n\n") if p.lstrip().startswith("ftdojo card"))
COMMANDS = ("card", "datasets", "data", "train", "validate", "submit", "budget", "status")


def _url() -> str:
    url = os.environ.get("FTDOJO_TOOLS_URL")
    if not url:
        base = os.environ.get("FTDOJO_LLM_BASE_URL", "").rstrip("/")
        if not base:
            sys.exit("ftdojo: FAILED: FTDOJO_TOOLS_URL is not set (run this inside the Dojo workspace)")
        url = (base[:-3] if base.endswith("/v1") else base) + "/ftdojo"
    return url.rstrip("/")


def call(command: str, args: dict) -> tuple[int, dict]:
    """POST ``args`` to the tool service's ``/<command>``; (HTTP status, JSON answer)."""
    req = urllib.request.Request(f"{_url()}/{command}", data=json.dumps(args).encode(), method="POST",
                                 headers={"Content-Type": "application/json",
                                          "Authorization": "Bearer " + os.environ.get("FTDOJO_TOKEN", "")})
    try:
        with urllib.request.urlopen(req, timeout=float(os.environ.get("FTDOJO_TOOLS_TIMEOUT_S", 86400))) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        try:
            return e.code, json.loads(e.read() or b"{}")
        except ValueError:
            return e.code, {"error": f"HTTP {e.code}"}
    except (urllib.error.URLError, OSError) as e:
        print(f"ftdojo: FAILED: tool service unreachable ({e})")
        sys.exit(3)


def parse(argv: list) -> tuple[str, dict]:
    """(command, arguments) from the command line; exits 2 on bad usage."""
    if not argv or argv[0] in ("-h", "--help", "help") or argv[0] not in COMMANDS:
        print(USAGE)
        sys.exit(0 if argv and argv[0] in ("-h", "--help", "help") else 2)
    cmd, rest = argv[0], argv[1:]
    flags = {a for a in rest if a.startswith("--")}
    pos = [a for a in rest if not a.startswith("--")]
    allowed = {"data": {"--debug"}, "train": {"--micro"}}.get(cmd, set())
    if flags - allowed or (pos and cmd not in ("train", "submit")) or len(pos) > 1:
        print(f"ftdojo: FAILED: bad arguments for '{cmd}': {' '.join(rest)}\n{USAGE}")
        sys.exit(2)
    args = {"debug": "--debug" in flags} if cmd == "data" else {}
    if cmd == "train":
        args = {"micro": "--micro" in flags, "config": pos[0] if pos else "train.yaml"}
    if cmd == "submit" and pos:
        args = {"experiment_id": pos[0]}
    return cmd, args


def main(argv: list) -> int:
    """Run one command; the exit status says whether the tool succeeded."""
    cmd, args = parse(argv)
    status, out = call(cmd, args)
    print(json.dumps(out, indent=1, ensure_ascii=False))
    if status != 200 or out.get("ok") is False:
        print(f"ftdojo: FAILED ({cmd}): {out.get('error') or out.get('failure_class') or f'HTTP {status}'}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
