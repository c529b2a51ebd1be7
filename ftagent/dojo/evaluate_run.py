"""``ftagent eval``: the harness's held-out evaluation of a finished run, written to ``eval.json``.

Every experiment that produced a model is scored on validation and test, and so is the base model.
The reported result is the candidate with the best *validation* score (standard held-out practice;
the paper's sources do not say which experiment's test score they report, see DESIGN.md); the base
model is a candidate because an agent that improves nothing ends with the base model. The best test
score over all candidates is kept as ``best_of_test``, a labelled diagnostic, never the result.
A run that fails an anti-reward-hacking check (``integrity.json``, :mod:`ftagent.dojo.integrity`) is
reported with the base model's scores and its flags.
"""

from __future__ import annotations

from pathlib import Path

from ftagent.dojo.benchmarks.base import get_benchmark
from ftagent.dojo.env import DojoSettings
from ftagent.dojo.harness import evaluate
from ftagent.dojo.integrity import load_or_check
from ftagent.dojo.taskspec import get_task
from ftagent.errors import DataError
from ftagent.eval.generate import load_backend
from ftagent.models.registry import get_base_model
from ftagent.records import EvalRecord, ExperimentEval, RunRecord, TraceEntry
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


def evaluate_run(run_dir: Path, backend_name: str | None = None) -> EvalRecord:
    """Evaluate a run folder and write ``eval.json`` and ``eval_items.jsonl`` into it.

    Raises:
        DataError: the run has no ``run.json`` (it did not finish) or its data is gone.
    """
    run_dir = Path(run_dir)
    if not (run_dir / "run.json").exists():
        raise DataError(f"no run.json in {run_dir}: the run did not finish")
    run = RunRecord.model_validate(read_json(run_dir / "run.json"))
    spec = run.spec
    settings = DojoSettings.model_validate({
        "scale": spec.scale, "sample_cap": spec.sample_cap, **spec.budget,
        **{k: v for k, v in spec.settings.items() if k in DojoSettings.model_fields}})
    task = get_task(spec.task)
    bench = get_benchmark(task)
    model_spec = get_base_model(spec.base_model)
    base_dir = Path(spec.settings["base_model_dir"])
    decoding = model_spec.decoding.model_copy(update={"max_new_tokens": task.max_new_tokens.get(spec.scale, 256)})
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
            ev = evaluate(bench, Path(spec.data_dir), backend, decoding, part, settings.prompt_style,
                          settings.max_eval_items)
            parts[part] = ev.score
            rows += [{"experiment_id": exp_id, "part": part, **r} for r in ev.per_item()]
        evals.append(ExperimentEval(experiment_id=exp_id, model_dir=str(model_dir) if model_dir else None,
                                    validation=parts["validation"], test=parts["test"]))
    sign = 1 if task.metric.higher_is_better else -1
    chosen = max(evals, key=lambda e: sign * e.validation.score)  # first wins ties: base model before experiments
    # anti-reward-hacking checks (ftagent.dojo.integrity): a flagged run scores as the base model
    flags = load_or_check(run_dir, task, Path(spec.data_dir), base_dir).flags
    if flags:
        chosen = evals[0]
    write_jsonl(run_dir / "eval_items.jsonl", rows)
    record = EvalRecord(
        run_id=run.run_id, task=task.id, metric=task.metric.name, higher_is_better=task.metric.higher_is_better,
        selected_experiment=chosen.experiment_id, validation=chosen.validation.score, test=chosen.test.score,
        best_of_test=max(sign * e.test.score for e in evals) * sign, experiments=evals,
        decoding=decoding.model_dump(), backend=backend_name, prompt_style=settings.prompt_style,
        max_eval_items=settings.max_eval_items, chat_template_sha256=tmpl_hash, per_item_file="eval_items.jsonl",
        provenance=provenance(), integrity_flags=flags)
    atomic_write_json(run_dir / "eval.json", record)
    return record
