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


def _split(score: float, subsets: dict[str, float] | None = None, n: int = 10) -> SplitScore:
    return SplitScore(score=score, subsets=subsets or {"all": score}, n_items=n)


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
    subsets: dict[str, float] | None = None,
    items: list[float] | None = None,
    base_items: list[float] | None = None,
    gpu_hours: float = 0.0,
    failure_classes: list[str] | None = None,
    repository: Path | None = None,
    write_eval: bool = True,
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
        subsets: Test score per subset of the reported experiment.
        items: Per-item test scores (0/1) of the reported experiment, written to eval_items.jsonl
            (ids ``i0``, ``i1``, ...; subset ``all``).
        base_items: Per-item test scores of the base model (same ids).
        gpu_hours: GPU-hours of the run.
        failure_classes: Failure class of each failed iteration, in order (default CONFIG).
        repository: Raw-data repository folder named in the spec (its dataset_info.json).
        write_eval: Write eval.json (False: a run the harness has not evaluated yet).
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
        repository=str(repository) if repository else "repo",
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
        gpu_hours=gpu_hours,
        llm=LLMUsage(backbone_label=label, prompt_tokens=tokens, completion_tokens=0, cost_usd=cost),
    )
    (d / "run.json").write_text(run.model_dump_json())
    lines = []
    fcs = iter(failure_classes or [])
    for i, (st, score, decision) in enumerate(trace or []):
        e = TraceEntry(
            iteration=i,
            experiment_id=f"exp{i:03d}",
            stage_reached="evaluation" if st == "ok" else "micro_batch",
            status=st,
            failure_class=None if st == "ok" else next(fcs, "CONFIG"),
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
    if not write_eval:
        return d
    selected = "exp001" if items is not None or subsets is not None else None
    experiments = [ExperimentEval(experiment_id=None, model_dir=None, validation=_split(base), test=_split(base))]
    if selected:
        experiments.append(
            ExperimentEval(experiment_id=selected, model_dir="m", validation=_split(validation),
                           test=_split(test, subsets, len(items or []) or 10))
        )
    if items is not None:
        rows = [{"experiment_id": selected, "part": "test", "id": f"i{k}", "subset": "all", "score": v}
                for k, v in enumerate(items)]
        rows += [{"experiment_id": None, "part": "test", "id": f"i{k}", "subset": "all", "score": v}
                 for k, v in enumerate(base_items or [])]
        (d / "eval_items.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    ev = EvalRecord(
        run_id=str(d),
        task=task,
        metric="accuracy",
        selected_experiment=selected,
        validation=validation,
        test=test,
        best_of_test=test,
        decoding={"temperature": 0.0},
        backend="transformers",
        prompt_style="compact",
        provenance={},
        per_item_file="eval_items.jsonl" if items is not None else None,
        experiments=experiments,
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
