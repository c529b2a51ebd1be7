"""Chain-of-thought synthesis for ``manual-sft-cot``: one backbone call per sample, answers checked against the gold.

For each candidate sample of the recipe (the task prompt and its gold answer in the task's format), the
backbone is asked for a worked solution that derives that answer and ends with it in the expected
format (rationalisation with the answer given, as in STaR, Zelikman et al. 2022, §3.2). A solution whose
final answer (:func:`~ftagent.agents.manual_sft.process_data.final_answer`, the task's extraction rule)
disagrees with the gold, that has none, or whose call failed is dropped and counted.

Calls go through the run's :class:`~ftagent.llm.client.ChatClient`, so they are counted in the run's
tokens and cost, and cached and replayable through its :class:`~ftagent.llm.cache.ResponseCache` (a
replayed run makes no call). They run in a thread pool of ``concurrency`` workers (bounded concurrency).

Where it runs: in the harness process, not in the sandbox. The synthesis is the expert's pipeline, not
agent-written code, and it needs the backbone client (its key, its cache, its accounting), which the
sandbox does not give a data script. Its output, ``cot_synthesis.jsonl`` in the experiment's workspace,
is what the sandboxed data script reads; the file keeps every call (prompt, answer, tokens, whether it
was accepted and why not), so the trace line holds only the counts (``data_stats.synthesis``).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ftagent.agents.manual_sft import process_data as pdm
from ftagent.errors import BackboneError
from ftagent.llm.client import ChatClient
from ftagent.utils.io import write_jsonl

log = logging.getLogger("ftagent.manual_sft")

#: Schema name of the synthesis call (the scripted backbone answers it with ``cot_synthesis``).
SCHEMA_NAME = "cot_synthesis"
#: The structured answer: the worked solution ending with the final answer.
SCHEMA = {"type": "object", "additionalProperties": False, "required": ["solution"],
          "properties": {"solution": {"type": "string", "minLength": 1}}}
#: Version of the prompt below (recorded with every call).
PROMPT_VERSION = "cot_synthesis@v1"

SYSTEM = ("You write worked solutions for supervised fine-tuning data. You are given a task prompt and its "
          "correct final answer. Write a concise step-by-step solution that derives this answer from the "
          "information in the prompt, then end with the final answer written exactly as given, in the "
          "format the prompt asks for. Do not mention that the answer was given to you.")


def messages(task_id: str, answer_format: str, instruction: str, gold: str) -> list[dict[str, str]]:
    """The synthesis conversation of one sample (its last block is the context the scripted policy reads)."""
    ctx = {"task_id": task_id, "answer_format": answer_format, "prompt": instruction, "gold": gold}
    user = (f"Task prompt:\n<<<\n{instruction}\n>>>\n\nCorrect final answer (end your solution with exactly "
            f"this):\n<<<\n{gold}\n>>>\n\nReply with a JSON object {{\"solution\": \"...\"}}.\n\n"
            f"```json\n{json.dumps(ctx, ensure_ascii=False)}\n```")
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def _one(llm: ChatClient, task_id: str, fmt: str, keys: list[str] | None, row: dict[str, Any]) -> dict[str, Any]:
    want = pdm.final_answer(fmt, row["gold"], keys)
    out = {"key": row["key"], "prompt": row["instruction"], "gold": row["gold"], "accepted": False}
    try:
        res = llm.chat(messages(task_id, fmt, row["instruction"], row["gold"]), stage=SCHEMA_NAME, schema=SCHEMA,
                       schema_name=SCHEMA_NAME)
    except BackboneError as e:
        return {**out, "why": "call_failed", "error": str(e)[:300]}
    solution = pdm.clean(res.data["solution"])
    got = pdm.final_answer(fmt, solution, keys)
    out.update(response=solution, final_answer=got, prompt_tokens=res.call.prompt_tokens,
               completion_tokens=res.call.completion_tokens, replayed=res.call.replayed,
               latency_s=res.call.latency_s)
    if got is None:
        return {**out, "why": "no_final_answer"}
    if got != want:
        return {**out, "why": "disagrees_with_gold"}
    return {**out, "accepted": True, "output": solution}


def synthesise(llm: ChatClient, task_id: str, recipe: dict[str, Any], rows: list[dict[str, Any]], out_file: Path,
               concurrency: int, progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Synthesise a chain of thought for each row and write ``out_file`` (one JSON line per row, in order).

    Args:
        llm: The run's backbone client (thread-safe accounting).
        task_id: Task id (in the prompt's context block).
        recipe: The data script's recipe (:meth:`~ftagent.agents.manual_sft.recipe.ResolvedRecipe.script_recipe`).
        rows: Candidate samples (:func:`~ftagent.agents.manual_sft.process_data.candidates`).
        out_file: ``cot_synthesis.jsonl`` of the workspace.
        concurrency: Calls in flight at once.
        progress: Called with (done, total) about every 10% of the rows.

    Returns:
        Counts: ``requested``, ``accepted``, ``dropped`` by reason (``disagrees_with_gold``,
        ``no_final_answer``, ``call_failed``), ``replayed``, tokens, ``concurrency``, ``wall_s``, ``file``
        and ``first_error`` (of a failed call, if any).
    """
    fmt, keys = pdm.answer_format(recipe), recipe.get("answer_keys")
    t0, done, results = time.time(), 0, []
    step = max(1, len(rows) // 10)
    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="cot-synthesis") as pool:
        for r in pool.map(lambda row: _one(llm, task_id, fmt, keys, row), rows):  # map keeps the input order
            results.append(r)
            done += 1
            if progress and (done % step == 0 or done == len(rows)):
                progress(done, len(rows))
    write_jsonl(out_file, results)
    dropped: dict[str, int] = {}
    for r in results:
        if not r["accepted"]:
            dropped[r["why"]] = dropped.get(r["why"], 0) + 1
    errors = [r["error"] for r in results if r.get("error")]
    return {"requested": len(rows), "accepted": sum(r["accepted"] for r in results), "dropped": dropped,
            "replayed": sum(bool(r.get("replayed")) for r in results),
            "prompt_tokens": sum(r.get("prompt_tokens", 0) for r in results),
            "completion_tokens": sum(r.get("completion_tokens", 0) for r in results),
            "concurrency": concurrency, "wall_s": round(time.time() - t0, 3), "file": out_file.name,
            "prompt": PROMPT_VERSION, "first_error": errors[0] if errors else None}
