"""What FT-Agent's prompts show: the parent experiment, its siblings and the selected datasets.

FT-Agent §4 "structured iteration planning": the next experiment builds on the current best accepted
one (its *parent*) and sees the parent's hypothesis, training config, data script and validation
summary, and the *sibling* experiments (same parent) with their outcomes, feedback and failure
diagnoses — not the whole log. Everything here is derived from the trace alone, so a resumed run
renders byte-identical prompts (and hits the record/replay cache).

Long texts (a data script) are kept under keys ending in ``_text``; the JSON context block at the end
of every prompt leaves them out (they are in the prose above it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ftagent.agents.ft_agent.analysis import clip, validation_summary
from ftagent.records import TraceEntry

#: Characters of a data script shown in a prompt (head and tail kept, see :func:`clip`).
SCRIPT_CHARS = 4000
#: Characters of an earlier experiment's feedback shown in a prompt.
FEEDBACK_CHARS = 600


def best_entry(entries: list[TraceEntry], higher_is_better: bool = True) -> TraceEntry | None:
    """The accepted experiment with the best validation score (the next parent); the earliest on ties."""
    accepted = [e for e in entries if e.decision == "accept" and e.validation is not None]
    if not accepted:
        return None
    sign = 1 if higher_is_better else -1
    return max(accepted, key=lambda e: (sign * e.validation.score, -e.iteration))


def _script_text(run_dir: Path, entry: TraceEntry) -> str | None:
    if not entry.data_script:
        return None
    p = Path(run_dir) / entry.data_script
    return clip(p.read_text(encoding="utf-8"), SCRIPT_CHARS) if p.exists() else None


def dataset_view(info: dict[str, Any], ids: list[str]) -> dict[str, Any]:
    """The selected sources as prompts show them (statistics, fields, first sample).

    Token lengths keep only p50/p99: the tokenizer's local path would make prompts (and so the replay
    cache keys) depend on where the repository was prepared.
    """
    out = {}
    for sid in ids:
        d = info[sid]
        tl = d.get("token_length") or {}
        out[sid] = {"title": d.get("title"), "domain": d.get("domain"), "count": d.get("count"),
                    "fields": d.get("fields"), "path": d.get("path"), "quality": d.get("quality"),
                    "license": d.get("license"), "token_length": {"p50": tl.get("p50"), "p99": tl.get("p99")},
                    "first_sample_text": clip(_json(d.get("first_sample")), 800)}
    return out


def _json(obj: Any) -> str:
    import json

    return json.dumps(obj, ensure_ascii=False, default=str)


def plan_context(iteration: int, card: dict[str, Any], datasets: dict[str, Any], entries: list[TraceEntry],
                 base_score: float | None, run_dir: Path) -> dict[str, Any]:
    """The structured context of one experiment's prompts.

    Args:
        iteration: Index of the experiment being planned.
        card: The task card.
        datasets: The selected sources (:func:`dataset_view`).
        entries: Finished experiments, in order.
        base_score: The base model's validation score.
        run_dir: The run folder (the parent's data script is read from it).
    """
    best = best_entry(entries, card["metric"]["higher_is_better"])
    parent = None
    if best is not None:
        parent = {"experiment_id": best.experiment_id,
                  "score": best.validation.score if best.validation else None,
                  "hypothesis": best.hypothesis, "train_config": best.train_config,
                  "data_script": best.data_script,
                  "data_samples": (best.data_stats.get("full") or {}).get("samples"),
                  "validation": validation_summary(best.validation), "loss_summary": best.loss_summary,
                  "feedback": clip(best.feedback, FEEDBACK_CHARS),
                  "data_script_text": _script_text(run_dir, best)}
    parent_id = best.experiment_id if best else None
    siblings = [{"experiment_id": e.experiment_id, "status": e.status, "decision": e.decision,
                 "stage_reached": e.stage_reached, "score": e.validation.score if e.validation else None,
                 "hypothesis": e.hypothesis, "failure_class": e.failure_class, "diagnosis": e.diagnosis,
                 "feedback": clip(e.feedback, FEEDBACK_CHARS)}
                for e in entries if e.parent_id == parent_id]
    return {
        "iteration": iteration, "task_id": card["task_id"], "domain": card["domain"],
        "metric": card["metric"], "base_score": base_score,
        "best_score": parent["score"] if parent else None, "parent": parent, "siblings": siblings,
        "sample_cap": card["sample_cap"], "eval_prompt_template": card["eval_prompt_template"],
        "answer_format_example": card["answer_format_example"], "cpu_only": card["device"]["cpu_only"],
        "base_model_params_b": card["base_model"]["params_b"], "datasets": datasets,
    }


def without_texts(obj: Any) -> Any:
    """``obj`` without the keys ending in ``_text`` (for the JSON context block of a prompt)."""
    if isinstance(obj, dict):
        return {k: without_texts(v) for k, v in obj.items() if not str(k).endswith("_text")}
    if isinstance(obj, list):
        return [without_texts(v) for v in obj]
    return obj
