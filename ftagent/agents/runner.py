"""Run one agent on one task: the ``ftagent run`` command behind every run rule of the workflow.

:func:`run_agent` builds the :class:`~ftagent.dojo.env.Dojo`, starts the planning backbone (the scripted
policy on loopback when the backbone is ``scripted``), runs the agent, copies the chosen experiment's
files to ``final/``, runs the anti-reward-hacking checks (:mod:`ftagent.dojo.integrity`, written to
``integrity.json``; their start audit wraps the Dojo's sandbox before the agent runs) and writes
``run.json`` last, atomically. Running it again on the folder of an
unfinished run resumes it (the agent continues from its trace; FT-Agent from its last completed stage).
The agent is built from its entry in ``settings.agent_options`` before anything runs. A run whose agent
failed still gets a ``run.json`` (status ``agent_failed``) so tables can show it; a run broken by the
harness or the machine writes ``run.failed.json`` instead and raises, so the workflow retries it and no
record looks complete.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

from ftagent.agents.base import AgentOutcome, TraceWriter, get_agent
from ftagent.dojo.env import Dojo, DojoSettings
from ftagent.dojo.integrity import RunAudit
from ftagent.dojo.taskspec import get_task
from ftagent.errors import AgentError, BackboneError, FtagentError
from ftagent.llm.backbones import BackboneSpec, get_backbone
from ftagent.llm.cache import CacheMode, ResponseCache
from ftagent.llm.client import ChatClient
from ftagent.llm.server import Policy
from ftagent.models.registry import get_base_model
from ftagent.records import LLMUsage, RunRecord, RunSpec
from ftagent.utils.io import atomic_write_json
from ftagent.utils.provenance import provenance, utcnow
from ftagent.utils.seeding import seed_everything

log = logging.getLogger("ftagent.run")


@contextlib.contextmanager
def backbone_client(backbone: BackboneSpec, cache_dir: Path | None, cache_mode: CacheMode,
                    run_dir: Path | None = None, policy: Policy | None = None,
                    budget_usd: float | None = None, budget_tokens: int | None = None) -> Iterator[ChatClient]:
    """A :class:`ChatClient` for ``backbone``, with its local server and the run's LLM proxy running for the
    block's lifetime.

    ``scripted`` is served on loopback by :mod:`ftagent.llm.server` (``policy``, default the FT-Agent
    policy :func:`ftagent.llm.scripted.scripted_policy`); ``transformers-serve`` starts ``transformers
    serve`` on the backbone's model folder (:mod:`ftagent.llm.serve_local`). Every live backbone is reached
    through one :class:`~ftagent.llm.proxy.LLMProxy` (the client gets its URL and per-run token, the proxy
    holds the provider key, logs each call to ``run_dir`` and enforces the budget); the client's
    ``proxy`` attribute is that proxy. In ``replay`` mode nothing is started: every answer must come from
    the cache.

    Raises:
        BackboneError: the local server cannot start (missing extra, model folder or package), or the
            backbone's API key variable is unset.
    """
    from ftagent.llm.proxy import LLMProxy

    for name in ("httpx", "httpx2"):  # one INFO line per request would drown the run's log
        if logging.getLogger(name).level == logging.NOTSET:
            logging.getLogger(name).setLevel(logging.WARNING)
    cache = ResponseCache(cache_dir, cache_mode) if cache_dir and cache_mode != "off" else None
    if cache is not None and cache_mode == "replay":
        yield ChatClient(backbone, cache=cache)
        return
    with contextlib.ExitStack() as stack:
        served = None
        if backbone.kind == "scripted":
            from ftagent.llm.scripted import scripted_policy
            from ftagent.llm.server import serve_policy

            url = stack.enter_context(serve_policy(policy or scripted_policy, backbone.model))
        elif backbone.kind == "transformers-serve":
            from ftagent.llm.serve_local import transformers_serve

            model_dir = _served_model_dir(backbone)
            url = stack.enter_context(transformers_serve(model_dir, port=_port(backbone.base_url)))
            served = str(model_dir)
        else:
            url = backbone.base_url
        proxy = stack.enter_context(LLMProxy(backbone, upstream=url, run_dir=run_dir, budget_usd=budget_usd,
                                             budget_tokens=budget_tokens))
        yield ChatClient(backbone, base_url=proxy.base_url, cache=cache, served_model=served,
                         api_key=proxy.token, proxy=proxy)


def _port(url: str | None) -> int:
    from urllib.parse import urlsplit

    return (urlsplit(url).port or 0) if url else 0


def _served_model_dir(backbone: BackboneSpec) -> Path:
    """The local folder a ``transformers-serve`` backbone serves, prepared from its package if needed."""
    import os

    from ftagent.paths import cache_dir

    if backbone.model_dir:
        return Path(os.path.expandvars(os.path.expanduser(backbone.model_dir)))
    d = cache_dir() / "models" / backbone.model
    if not (d / "config.json").exists():
        from ftagent.models.prepare import prepare_model

        try:
            prepare_model(backbone.model, d)
        except FtagentError as e:
            raise BackboneError(f"backbone '{backbone.id}': cannot prepare model folder {d}: {e}") from None
    return d


def run_agent(*, task: str, agent: str, backbone: str, base_model: str, base_model_dir: Path, data_dir: Path,
              repository: Path, out_dir: Path, seed: int, settings: DojoSettings, run_id: str | None = None,
              cache_dir: Path | None = None, cache_mode: CacheMode = "readwrite") -> RunRecord:
    """Run ``agent`` on ``task`` and write the run's records to ``out_dir``.

    Raises:
        FtagentError: bad input (unknown task, agent, backbone, model; missing data), before anything runs.
        Exception: a harness or machine failure (``run.failed.json`` is written first).
    """
    spec_task = get_task(task)
    agent_cls = get_agent(agent)
    bb = get_backbone(backbone)
    if agent_cls.needs_backbone and bb.id == "none":
        raise AgentError(f"agent '{agent}' needs a planning backbone (got 'none')")
    try:
        agent_obj = agent_cls(**settings.agent_options.get(agent, {}))
    except TypeError as e:
        raise AgentError(f"agent '{agent}': bad agent_options ({e})") from None
    model_spec = get_base_model(base_model)
    for p, what in ((data_dir, "data directory"), (repository, "raw-data repository"),
                    (base_model_dir, "base model")):
        if not Path(p).exists():
            raise FtagentError(f"{what} not found: {p}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in ("run.json", "run.failed.json"):
        (out_dir / stale).unlink(missing_ok=True)
    run_id = run_id or str(out_dir)
    spec = RunSpec(task=task, agent=agent, backbone=bb.id if agent_cls.needs_backbone else "none",
                   base_model=base_model, sample_cap=settings.sample_cap, seed=seed, scale=settings.scale,
                   data_dir=str(data_dir), repository=str(repository),
                   budget={"wall_clock_h": settings.wall_clock_h, "max_iterations": settings.max_iterations},
                   settings={**settings.model_dump(exclude={"scale", "sample_cap", "wall_clock_h",
                                                            "max_iterations"}),
                             "base_model_dir": str(base_model_dir)})
    started, t0 = utcnow(), time.time()
    seed_everything(seed)
    dojo = Dojo(spec_task, data_dir, repository, model_spec, base_model_dir, out_dir, settings)
    trace = TraceWriter(out_dir / "trace.jsonl")
    audit = RunAudit.start(spec_task, data_dir, base_model_dir, dojo)  # anti-reward-hacking checks (after the agent)
    usage = LLMUsage()
    status, error = "ok", None
    try:
        if agent_cls.needs_backbone:
            with backbone_client(bb, cache_dir, cache_mode, run_dir=out_dir,
                                 policy=getattr(agent_cls, "scripted_policy", None),
                                 budget_usd=settings.llm_budget_usd,
                                 budget_tokens=settings.llm_budget_tokens) as llm:
                try:
                    outcome = agent_obj.run(dojo, llm, trace)
                finally:
                    usage = llm.usage
                    if llm.proxy is not None and audit.sandbox is not None:
                        audit.sandbox.note_endpoint(llm.proxy.base_url)  # the network check lists it
                    if llm.proxy is not None and llm.endpoint_calls == 0 and llm.proxy.usage.calls:
                        usage = llm.proxy.usage  # the agent called the proxy with its own client
        else:
            outcome = agent_obj.run(dojo, None, trace)
    except (AgentError, BackboneError) as e:
        outcome, status, error = AgentOutcome(experiments=[t.experiment_id for t in trace.entries],
                                              iterations=len(trace.entries)), "agent_failed", str(e)
    except Exception as e:
        atomic_write_json(out_dir / "run.failed.json", {
            "run_id": run_id, "spec": spec.model_dump(), "status": "infra_failed",
            "error": f"{type(e).__name__}: {e}", "started_at": started, "failed_at": utcnow()})
        raise
    if outcome.error:
        status, error = "agent_failed", outcome.error
    _write_final(out_dir, outcome)
    integrity = audit.finish(out_dir)
    if integrity.flags:
        log.warning("run %s flagged by the integrity checks (%s): it scores as the base model", run_id,
                    "; ".join(f"{c.name}: {c.detail}" for c in integrity.checks if c.status == "fail"))
    wall = outcome.prior_wall_s + time.time() - t0
    record = RunRecord(run_id=run_id, spec=spec, status=status, error=error, final=outcome.final,
                       experiments=outcome.experiments, iterations=outcome.iterations, started_at=started,
                       finished_at=utcnow(), wall_s=round(wall, 2), gpu_hours=_gpu_hours(wall),
                       llm=usage, provenance=provenance(), stop_reason=outcome.stop_reason,
                       sessions=outcome.sessions, integrity_flags=integrity.flags)
    atomic_write_json(out_dir / "run.json", record)
    return record


def _gpu_hours(wall_s: float) -> float:
    try:
        import torch

        n = torch.cuda.device_count() if torch.cuda.is_available() else 0
    except ImportError:
        n = 0
    return round(n * wall_s / 3600, 4)


def _write_final(out_dir: Path, outcome: AgentOutcome) -> None:
    """Copy the chosen experiment's data script, training config and data statistics to ``final/``."""
    final = out_dir / "final"
    shutil.rmtree(final, ignore_errors=True)
    final.mkdir()
    exp = outcome.final.experiment_id
    if exp is None:
        (final / "README.md").write_text("The agent chose the base model: no fine-tuning.\n",
                                         encoding="utf-8")
        return
    ws = out_dir / "experiments" / exp
    for name in ("process_data.py", "train.yaml", "train/train_result.json", "train/trainer_log.jsonl"):
        if (ws / name).exists():
            shutil.copy2(ws / name, final / Path(name).name)
