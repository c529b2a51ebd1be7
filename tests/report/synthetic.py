"""Synthetic run records (run.json, eval.json, trace.jsonl) that satisfy ftagent.records, for report tests."""

from __future__ import annotations

import json
from pathlib import Path

from ftagent.records import (
    EvalRecord,
    ExperimentEval,
    LLMUsage,
    RunRecord,
    RunSpec,
    SplitScore,
    TraceEntry,
    Validation,
)


def _split(score: float) -> SplitScore:
    return SplitScore(score=score, subsets={"all": score}, n_items=10)


def write_run(
    root: Path,
    task: str,
    agent: str,
    backbone: str = "none",
    model: str = "tiny-qwen2",
    cap: int = 2000,
    seed: int = 0,
    test: float = 10.0,
    validation: float = 12.0,
    base: float = 5.0,
    trace: list[tuple[str, float | None, str | None]] | None = None,
    scale: str = "mini",
    cost: float = 0.0,
    tokens: int = 0,
    status: str = "ok",
) -> Path:
    """One run folder under ``root`` in the workflow's layout; returns the folder.

    Args:
        root: The scale's results folder (runs go under ``root/runs``).
        task: Task id.
        agent: Agent id.
        backbone: Backbone id (``none`` for agents without one).
        model: Base model id.
        cap: Sample cap.
        seed: Seed.
        test: Reported test score.
        validation: Reported validation score.
        base: The base model's validation and test score.
        trace: One (status, validation score, decision) per iteration; ``("failed", None, None)`` fails.
        scale: Scale recorded in the spec.
        cost: Backbone cost in USD.
        tokens: Backbone tokens.
        status: The run's status.
    """
    d = root / "runs" / task / agent / backbone / model / f"n{cap}" / f"s{seed}"
    d.mkdir(parents=True, exist_ok=True)
    spec = RunSpec(
        task=task,
        agent=agent,
        backbone=backbone,
        base_model=model,
        sample_cap=cap,
        seed=seed,
        scale=scale,
        data_dir="data",
        repository="repo",
    )
    label = "scripted" if backbone == "scripted" else backbone
    run = RunRecord(
        run_id=str(d),
        spec=spec,
        status=status,
        started_at="2026-01-01T00:00:00Z",
        finished_at="2026-01-01T00:01:00Z",
        wall_s=60.0,
        provenance={},
        iterations=len(trace or []),
        llm=LLMUsage(backbone_label=label, prompt_tokens=tokens, completion_tokens=0, cost_usd=cost),
    )
    (d / "run.json").write_text(run.model_dump_json())
    lines = []
    for i, (st, score, decision) in enumerate(trace or []):
        e = TraceEntry(
            iteration=i,
            experiment_id=f"exp{i:03d}",
            stage_reached="evaluation" if st == "ok" else "micro_batch",
            status=st,
            failure_class=None if st == "ok" else "CONFIG",
            decision=decision,
            validation=Validation(score=score, subsets={"all": score}, n_items=10)
            if score is not None
            else None,
            started_at="2026-01-01T00:00:00Z",
            finished_at="2026-01-01T00:00:30Z",
        )
        lines.append(e.model_dump_json())
    if lines:
        (d / "trace.jsonl").write_text("\n".join(lines) + "\n")
    ev = EvalRecord(
        run_id=str(d),
        task=task,
        metric="accuracy",
        selected_experiment=None,
        validation=validation,
        test=test,
        best_of_test=test,
        decoding={"temperature": 0.0},
        backend="transformers",
        prompt_style="compact",
        provenance={},
        experiments=[
            ExperimentEval(experiment_id=None, model_dir=None, validation=_split(base), test=_split(base))
        ],
    )
    (d / "eval.json").write_text(ev.model_dump_json())
    return d


def spec(
    name: str, builder: str, experiments: dict[str, list[Path]], not_run: dict[str, str] | None = None, **kw
) -> str:
    """An ArtifactSpec JSON over the given run folders (experiment name -> folders)."""
    return json.dumps(
        {
            "name": name,
            "builder": builder,
            "stem": name.split("_", 1)[1],
            "scale": kw.pop("scale", "mini"),
            "agent_titles": {
                "base-model": "Base Model",
                "ft-agent": "FT-Agent",
                "manual-sft": "Manual SFT (original)",
            },
            "experiments": {
                e: {
                    "title": e.replace("_", " ").title(),
                    "runs": [str(r) for r in runs],
                    "not_run": (not_run or {}) if i == 0 else {},
                }
                for i, (e, runs) in enumerate(experiments.items())
            },
            **kw,
        }
    )
