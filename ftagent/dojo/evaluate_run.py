"""``ftagent eval``: the harness's held-out evaluation of a finished run, written to ``eval.json``.

Every experiment that produced a model is scored on validation and test, and so is the base model.
The reported result is the candidate with the best *validation* score (standard held-out practice;
the paper's sources do not say which experiment's test score they report, see DESIGN.md); the base
model is a candidate because an agent that improves nothing ends with the base model. The best test
score over all candidates is kept as ``best_of_test``, a labelled diagnostic, never the result.

Every generation is scored under both scoring profiles (:mod:`ftagent.eval.profiles`); ``eval.json``
holds the result of each (``profiles``) and, at top level, that of the run's configured profile
(``DojoSettings.scoring_profile``). :func:`rescore_run` (``ftagent eval rescore``) re-scores the stored
generations of ``eval_items.jsonl`` without the model.

A run that fails an anti-reward-hacking check (``integrity.json``, :mod:`ftagent.dojo.integrity`) is
reported with the base model's scores and its flags.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

from ftagent.dojo.benchmarks.base import Benchmark, EvalItem, get_benchmark
from ftagent.dojo.env import DojoSettings
from ftagent.dojo.harness import SplitEvaluation, evaluate, score_outputs
from ftagent.dojo.heldout import split_groups
from ftagent.dojo.integrity import load_or_check
from ftagent.dojo.taskspec import get_task
from ftagent.errors import DataError
from ftagent.eval.generate import load_backend
from ftagent.eval.judge import AnswerJudge
from ftagent.eval.profiles import PROFILES, ScoringProfile, check_profile
from ftagent.models.registry import get_base_model
from ftagent.records import (
    EvalRecord,
    ExperimentEval,
    ProfileResult,
    ProfileScores,
    RunRecord,
    TraceEntry,
)
from ftagent.train.sft import chat_template_hash
from ftagent.utils.io import atomic_write_json, read_json, read_jsonl, write_jsonl
from ftagent.utils.provenance import provenance


def _candidates(run_dir: Path, run: RunRecord) -> list[tuple[str | None, Path | None, bool]]:
    """(experiment id, model folder, is_adapter) of the base model and every trained experiment."""
    out: list[tuple[str | None, Path | None, bool]] = [(None, None, False)]
    trace = run_dir / "trace.jsonl"
    for row in read_jsonl(trace) if trace.exists() else []:
        e = TraceEntry.model_validate(row)
        model = run_dir / "experiments" / e.experiment_id / "train" / "model"
        if e.status == "ok" and model.exists():
            out.append((e.experiment_id, model, (e.train_config or {}).get("method") in ("lora", "qlora")))
    return out


def _settings(run: RunRecord) -> DojoSettings:
    spec = run.spec
    return DojoSettings.model_validate({
        "scale": spec.scale, "sample_cap": spec.sample_cap, **spec.budget,
        **{k: v for k, v in spec.settings.items() if k in DojoSettings.model_fields}})


def _experiment(exp_id: str | None, model_dir: str | None, val: SplitEvaluation, test: SplitEvaluation,
                profile: ScoringProfile) -> ExperimentEval:
    profiles = {p: ProfileScores(validation=val.by_profile[p], test=test.by_profile[p])
                for p in (val.by_profile or {})}
    return ExperimentEval(experiment_id=exp_id, model_dir=model_dir, validation=profiles[profile].validation,
                          test=profiles[profile].test, profiles=profiles)


def _results(evals: list[ExperimentEval], higher_is_better: bool,
             flagged: bool = False) -> dict[str, ProfileResult]:
    """Per profile: the best-validation experiment (first wins ties: the base model before experiments).

    A run flagged by an integrity check (``flagged``) is reported as the base model (``evals[0]``).
    """
    sign = 1 if higher_is_better else -1
    out = {}
    for p in PROFILES:
        chosen = evals[0] if flagged else max(evals, key=lambda e: sign * e.profiles[p].validation.score)
        out[p] = ProfileResult(selected_experiment=chosen.experiment_id, validation=chosen.profiles[p].validation.score,
                               test=chosen.profiles[p].test.score,
                               best_of_test=max(sign * e.profiles[p].test.score for e in evals) * sign)
    return out


def evaluate_run(run_dir: Path, backend_name: str | None = None, judge: AnswerJudge | None = None) -> EvalRecord:
    """Evaluate a run folder and write ``eval.json`` and ``eval_items.jsonl`` into it.

    Args:
        run_dir: The run folder.
        backend_name: Generation backend (default: the run's settings).
        judge: LLM judge of the ``paper`` profile's AIME cascade (the CLI builds one when the run's
            settings say ``llm_judge``); None: no judge stage.

    Raises:
        DataError: the run has no ``run.json`` (it did not finish) or its data is gone.
    """
    run_dir = Path(run_dir)
    if not (run_dir / "run.json").exists():
        raise DataError(f"no run.json in {run_dir}: the run did not finish")
    run = RunRecord.model_validate(read_json(run_dir / "run.json"))
    spec = run.spec
    settings = _settings(run)
    profile = settings.scoring_profile
    task = get_task(spec.task)
    bench = get_benchmark(task)
    model_spec = get_base_model(spec.base_model)
    base_dir = Path(spec.settings["base_model_dir"])
    decoding = model_spec.decoding.model_copy(update={"max_new_tokens": task.generation_cap(spec.scale, profile)})
    backend_name = backend_name or settings.eval_backend
    rows, evals, tmpl_hash = [], [], None
    for exp_id, model_dir, adapter in _candidates(run_dir, run):
        backend = load_backend(backend_name, model_dir if (model_dir and not adapter) else base_dir,
                               model_dir if adapter else None, batch_size=settings.eval_batch_size,
                               threads=settings.threads)
        h = chat_template_hash(getattr(backend, "tokenizer", None))
        if model_dir is not None and exp_id == run.final.experiment_id:
            tmpl_hash = h
        trained = (run_dir / "experiments" / exp_id / "train" / "train_result.json") if exp_id else None
        if trained and trained.exists():
            want = read_json(trained).get("chat_template_sha256")
            if want and h and want != h:
                raise DataError(f"{exp_id}: chat template at evaluation differs from training ({h[:8]} != {want[:8]})")
        parts = {}
        for part in ("validation", "test"):
            parts[part] = evaluate(bench, Path(spec.data_dir), backend, decoding, part, settings.prompt_style,
                                   settings.max_eval_items, profile=profile, judge=judge)
            rows += [{"experiment_id": exp_id, "part": part, **r} for r in parts[part].per_item()]
        evals.append(_experiment(exp_id, str(model_dir) if model_dir else None, parts["validation"],
                                 parts["test"], profile))
    # anti-reward-hacking checks (ftagent.dojo.integrity): a flagged run scores as the base model
    flags = load_or_check(run_dir, task, Path(spec.data_dir), base_dir).flags
    results = _results(evals, task.metric.higher_is_better, flagged=bool(flags))
    write_jsonl(run_dir / "eval_items.jsonl", rows)
    mine = results[profile]
    record = EvalRecord(
        run_id=run.run_id, task=task.id, metric=task.metric.name, higher_is_better=task.metric.higher_is_better,
        selected_experiment=mine.selected_experiment, validation=mine.validation, test=mine.test,
        best_of_test=mine.best_of_test, experiments=evals,
        decoding=decoding.model_dump(), backend=backend_name, prompt_style=settings.prompt_style,
        max_eval_items=settings.max_eval_items, chat_template_sha256=tmpl_hash, per_item_file="eval_items.jsonl",
        provenance=provenance(), scoring_profile=profile, profiles=results, llm_judge=judge is not None,
        judge_label=getattr(judge, "label", None) if judge is not None else None,
        integrity_flags=flags)
    atomic_write_json(run_dir / "eval.json", record)
    return record


def run_settings(run_dir: Path) -> DojoSettings:
    """The Dojo settings a finished run was started with (``run.json``).

    Raises:
        DataError: no ``run.json``.
    """
    path = Path(run_dir) / "run.json"
    if not path.exists():
        raise DataError(f"no run.json in {run_dir}: the run did not finish")
    return _settings(RunRecord.model_validate(read_json(path)))


def _item_index(bench: Benchmark, data_dir: Path) -> tuple[dict[tuple[str, str], EvalItem], dict[str, EvalItem]]:
    """Every evaluation item of the task by (split group, id) and by id (first group holding it)."""
    skip = bench.unavailable_subsets()
    loaded = {s: v for s, v in bench.load_subsets(data_dir).items() if s not in skip}
    by_key: dict[tuple[str, str], EvalItem] = {}
    by_id: dict[str, EvalItem] = {}
    for group, items in split_groups(bench, loaded).items():
        for it in items:
            by_key[(group, it.id)] = it
            by_id.setdefault(it.id, it)
    return by_key, by_id


def rescore_run(run_dir: Path, profile: str | None = None, judge: AnswerJudge | None = None) -> EvalRecord:
    """Re-score the stored generations of a run under every profile; rewrite ``eval_items.jsonl`` and
    ``eval.json`` (atomically, items first) with ``profile`` as the configured one. No model is loaded.

    Each stored row is matched to its evaluation item by (subset, id), else by id alone (records written
    before a task's split groups changed), so the generations that were evaluated are the ones re-scored.

    Args:
        run_dir: A run folder with ``run.json``, ``eval.json`` and ``eval_items.jsonl``.
        profile: Profile of the top-level scores (default: the record's ``scoring_profile``).
        judge: LLM judge of the AIME cascade (replays its cache when built by the CLI); None: none.

    Raises:
        DataError: a file is missing, a stored item is no longer in the data, or ``profile`` is unknown.
    """
    run_dir = Path(run_dir)
    for name in ("run.json", "eval.json", "eval_items.jsonl"):
        if not (run_dir / name).exists():
            raise DataError(f"no {name} in {run_dir}: run `ftagent eval --run {run_dir}` first")
    run = RunRecord.model_validate(read_json(run_dir / "run.json"))
    old = EvalRecord.model_validate(read_json(run_dir / "eval.json"))
    try:
        chosen: ScoringProfile = check_profile(profile or old.scoring_profile)
    except ValueError as e:
        raise DataError(str(e)) from None
    task = get_task(old.task)
    bench = get_benchmark(task)
    by_key, by_id = _item_index(bench, Path(run.spec.data_dir))
    groups: dict[tuple[str | None, str], list[dict]] = defaultdict(list)
    for row in read_jsonl(run_dir / "eval_items.jsonl"):
        groups[(row.get("experiment_id"), row["part"])].append(row)
    rows, evals = [], []
    for exp in old.experiments:
        parts = {}
        for part in ("validation", "test"):
            stored = groups.get((exp.experiment_id, part), [])
            items = []
            for r in stored:
                it = by_key.get((r.get("subset"), r["id"])) or by_id.get(r["id"])
                if it is None:
                    raise DataError(f"{run_dir}: item {r['id']} ({part}) is not in {run.spec.data_dir} any more")
                items.append(it)
            parts[part] = score_outputs(bench, items, [r.get("output") or "" for r in stored], chosen, judge)
            rows += [{"experiment_id": exp.experiment_id, "part": part, **r} for r in parts[part].per_item()]
        evals.append(_experiment(exp.experiment_id, exp.model_dir, parts["validation"], parts["test"], chosen))
    results = _results(evals, task.metric.higher_is_better, flagged=bool(old.integrity_flags))
    mine = results[chosen]
    record = old.model_copy(update={
        "selected_experiment": mine.selected_experiment, "validation": mine.validation, "test": mine.test,
        "best_of_test": mine.best_of_test, "experiments": evals, "scoring_profile": chosen, "profiles": results,
        "rescored_at": datetime.now(UTC).isoformat(timespec="seconds"), "llm_judge": judge is not None,
        "judge_label": getattr(judge, "label", None) if judge is not None else None})
    write_jsonl(run_dir / "eval_items.jsonl", rows)
    atomic_write_json(run_dir / "eval.json", record)
    return record
