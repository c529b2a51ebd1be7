"""The Dojo tool service of external agents: the Dojo API behind the ``ftdojo`` shell commands.

External agents (a coding agent, a frontier CLI agent) work in a shell inside the sandbox; the Dojo
holds the validation data and must stay outside. :class:`ToolService` runs in the harness process and
is mounted on the run's :class:`~ftagent.llm.proxy.LLMProxy` under ``/ftdojo`` (one loopback port, one
per-run token for both), and the stdlib-only client :mod:`ftagent.agents.external.ftdojo_client` turns
each ``ftdojo <command>`` into one call. Routes (``POST /ftdojo/<command>``, JSON in and out):

* ``card`` → :meth:`Dojo.task_card`; ``datasets`` → :meth:`Dojo.dataset_info`;
* ``data {debug}`` → :meth:`Dojo.run_data_script` on the workspace's ``process_data.py``;
* ``train {micro, config}`` → :meth:`Dojo.train` on the workspace's ``data.json`` with ``config``
  (default ``train.yaml``), in a fresh experiment folder ``experiments/expNNN/``;
* ``validate`` → :meth:`Dojo.validate` of the last trained model (the base model before any training);
* ``submit {experiment_id?}`` → marks that (default: the last validated) experiment as the final one;
* ``budget``, ``status`` → what is left and the experiments so far.

Accounting, so the efficiency columns compare like for like with FT-Agent: an **experiment** (an
iteration, one ``trace.jsonl`` line, :class:`~ftagent.records.TraceEntry`) opens with the first data or
training call after the previous one closed and closes when its full training is validated (status
``ok``), when its full training fails (``failed``, with the class CONFIG | OOM | DATA | ENV | TIMEOUT),
when the next experiment starts after an unvalidated training (``ok``, stage ``full_training``), or at
the end of the session (``failed`` if it only failed, with the class of its last failure; an
experiment that did nothing but successful data runs is not an iteration). Failed data and micro-batch
calls that a later call got past count as ``repairs`` and are kept in ``attempts``. Each experiment
carries the LLM usage (from the proxy) since the previous one closed. Full trainings are refused after
``max_iterations`` experiments and once the wall-clock budget is spent. Every call is also appended to
``tools.jsonl`` in the run folder.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ftagent.agents.base import AgentOutcome, TraceWriter
from ftagent.dojo.env import DATA_FILE, DATA_SCRIPT, TRAIN_CONFIG, Dojo, StepResult
from ftagent.llm.proxy import LLMProxy
from ftagent.records import FinalChoice, LLMUsage, TraceEntry, Validation
from ftagent.utils.provenance import utcnow

#: Tool-call log in the run folder.
TOOLS_LOG = "tools.jsonl"
#: Stage names of the tool calls (the FT-Agent stages they correspond to).
_STAGE = {("data", True): "data_debug", ("data", False): "full_data", ("train", True): "micro_batch",
          ("train", False): "full_training", ("validate", False): "evaluation"}


@dataclass
class _Experiment:
    experiment_id: str
    iteration: int
    started_at: str
    attempts: list[dict[str, Any]] = field(default_factory=list)
    timings: dict[str, dict[str, float]] = field(default_factory=dict)
    data_stats: dict[str, Any] = field(default_factory=dict)
    trained: StepResult | None = None
    failed: tuple[str, StepResult] | None = None  # (stage, result) of the last failure
    stage: str = "plan"
    folder: Path | None = None


class ToolService:
    """The Dojo tools of one external-agent run (see the module docstring).

    Args:
        dojo: The run's Dojo.
        workspace: The agent's workspace (where it writes ``process_data.py`` and ``train.yaml``).
        trace: The run's trace writer.
        proxy: The run's LLM proxy (per-experiment LLM usage and the ``budget`` answer), if any.

    Attributes:
        submitted: Experiment id the agent submitted, if any.
        calls: Tool calls served, by command.
    """

    def __init__(self, dojo: Dojo, workspace: Path, trace: TraceWriter, proxy: LLMProxy | None = None):
        self.dojo, self.workspace, self.trace, self.proxy = dojo, Path(workspace).resolve(), trace, proxy
        self.submitted: str | None = None
        self.calls: dict[str, int] = {}
        self._open: _Experiment | None = None
        self._models: dict[str, StepResult] = {}  # experiment id -> its successful full training
        self._last_validated: str | None = None
        self._base_validation: Validation | None = None
        self._usage_mark = LLMUsage()
        self._lock = threading.Lock()
        for e in trace.entries:  # a resumed run keeps its finished experiments
            model = dojo.run_dir / "experiments" / e.experiment_id / "train" / "model"
            if e.status == "ok" and model.exists():
                self._models[e.experiment_id] = StepResult(
                    True, model_dir=str(model), adapter=(e.train_config or {}).get("method") in ("lora", "qlora"))

    # ------------------------------------------------------------------ HTTP entry
    def route(self, method: str, subpath: str, body: bytes) -> tuple[int, Any]:
        """The :data:`~ftagent.llm.proxy.Route` mounted under ``/ftdojo``."""
        command = subpath.strip("/").split("?")[0]
        handler = getattr(self, f"_cmd_{command}", None)
        if method != "POST" or handler is None:
            return 404, {"ok": False, "error": f"unknown ftdojo command '{command}'"}
        try:
            args = json.loads(body or b"{}")
            if not isinstance(args, dict):
                raise ValueError("arguments must be a JSON object")
        except ValueError as e:
            return 400, {"ok": False, "error": f"bad arguments: {e}"}
        t0 = time.time()
        with self._lock:
            self.calls[command] = self.calls.get(command, 0) + 1
            out = handler(**{k: v for k, v in args.items() if k in ("debug", "micro", "config", "experiment_id")})
        self._log({"time": round(t0, 3), "command": command, "args": args, "ok": out.get("ok", True),
                   "failure_class": out.get("failure_class"), "error": (out.get("error") or "")[:300] or None,
                   "experiment_id": out.get("experiment_id"), "wall_s": round(time.time() - t0, 3)})
        return 200, out

    def _log(self, row: dict[str, Any]) -> None:
        with open(self.dojo.run_dir / TOOLS_LOG, "a", encoding="utf-8") as f:
            f.write(json.dumps(row, default=str) + "\n")

    # ------------------------------------------------------------------ experiments
    def _experiment(self) -> _Experiment:
        if self._open is not None and self._open.trained is not None:
            self._close()  # trained but not validated: the next action starts a new experiment
        if self._open is None:
            n = len(self.trace.entries)
            self._open = _Experiment(experiment_id=f"exp{n:03d}", iteration=n, started_at=utcnow())
        return self._open

    def _llm_delta(self) -> LLMUsage | None:
        if self.proxy is None:
            return None
        now, mark = self.proxy.usage.model_copy(), self._usage_mark
        self._usage_mark = now
        return LLMUsage(backbone_label=now.backbone_label, model=now.model, calls=now.calls - mark.calls,
                        prompt_tokens=now.prompt_tokens - mark.prompt_tokens,
                        completion_tokens=now.completion_tokens - mark.completion_tokens,
                        cost_usd=round(now.cost_usd - mark.cost_usd, 6))

    def _folder(self, exp: _Experiment) -> Path:
        if exp.folder is None:
            exp.folder = self.dojo.new_experiment(exp.experiment_id)
            if (self.workspace / DATA_SCRIPT).is_file():
                shutil.copy2(self.workspace / DATA_SCRIPT, exp.folder / DATA_SCRIPT)
        return exp.folder

    def _close(self, validation: Validation | None = None) -> TraceEntry | None:
        exp, self._open = self._open, None
        if exp is None:
            return None
        ok = exp.trained is not None and exp.trained.ok
        if not ok and exp.failed is None:
            return None  # only successful data runs: not an iteration
        folder = self._folder(exp)
        res = exp.trained if ok else exp.failed[1]
        cfg = res.config.model_dump(mode="json") if res is not None and res.config is not None else None
        fail = None if ok else exp.failed
        entry = TraceEntry(
            iteration=exp.iteration, experiment_id=exp.experiment_id, stage_reached=exp.stage,
            status="ok" if ok else "failed", failure_class=fail[1].failure_class if fail else None,
            error=f"{fail[1].error}\n{fail[1].log_tail}".strip()[-2000:] if fail else None,
            hypothesis="", data_script=(str((folder / DATA_SCRIPT).relative_to(self.dojo.run_dir))
                                        if (folder / DATA_SCRIPT).exists() else None),
            train_config=cfg, dropped_config_keys=res.dropped_keys if res is not None else [],
            repairs=sum(1 for a in exp.attempts if not a["ok"]) - (0 if ok else 1),
            data_stats=exp.data_stats, train=exp.trained.stats if ok else (res.stats if res else {}),
            validation=validation, started_at=exp.started_at, finished_at=utcnow(), attempts=exp.attempts,
            timings=exp.timings, llm_usage=self._llm_delta())
        entry.repairs = max(entry.repairs, 0)
        self.trace.append(entry)
        if ok:
            self._models[exp.experiment_id] = exp.trained
        return entry

    def _time(self, exp: _Experiment | None, stage: str, t0: float, clock0: dict[str, float]) -> None:
        if exp is None:
            return
        c = self.dojo.clock
        t = exp.timings.setdefault(stage, {"wall_s": 0.0, "data_s": 0.0, "train_s": 0.0, "eval_s": 0.0})
        t["wall_s"] = round(t["wall_s"] + time.time() - t0, 3)
        for k, ck in (("data_s", "data_script"), ("train_s", "train"), ("eval_s", "eval")):
            t[k] = round(t[k] + c[ck] - clock0[ck], 3)

    def _attempt(self, exp: _Experiment, stage: str, res: StepResult) -> None:
        exp.attempts.append({"stage": stage, "round": sum(a["stage"] == stage for a in exp.attempts),
                             "ok": res.ok, "failure_class": res.failure_class, "error": res.error[:300]})
        exp.stage = stage
        if not res.ok:
            exp.failed = (stage, res)

    def _refusal(self, full_training: bool) -> str | None:
        if self.dojo.budget_left_s() <= 0:
            return "the run's wall-clock budget is spent"
        if full_training and len(self.trace.entries) >= self.dojo.settings.max_iterations:
            return f"the run's {self.dojo.settings.max_iterations} iterations are used up"
        return None

    def _inside(self, name: str) -> Path | None:
        p = (self.workspace / name).resolve()
        return p if p.is_relative_to(self.workspace) and p.is_file() else None

    @staticmethod
    def _step(res: StepResult) -> dict[str, Any]:
        out: dict[str, Any] = {"ok": res.ok}
        if not res.ok:
            out.update({"failure_class": res.failure_class, "error": res.error, "log_tail": res.log_tail[-1500:]})
        if res.stats:
            out["stats"] = res.stats
        if res.dropped_keys:
            out["dropped_config_keys"] = res.dropped_keys
        return out

    # ------------------------------------------------------------------ commands
    def _cmd_card(self) -> dict[str, Any]:
        return self.dojo.task_card()

    def _cmd_datasets(self) -> dict[str, Any]:
        return self.dojo.dataset_info()

    def _cmd_data(self, debug: bool = False) -> dict[str, Any]:
        why = self._refusal(False)
        if why:
            return {"ok": False, "error": f"refused: {why}"}
        script = self._inside(DATA_SCRIPT)
        if script is None:
            return {"ok": False, "failure_class": "DATA", "error": f"no {DATA_SCRIPT} in the workspace"}
        exp = self._experiment()
        stage = _STAGE[("data", bool(debug))]
        t0, clock0 = time.time(), dict(self.dojo.clock)
        res = self.dojo.run_data_script(self.workspace, script.read_text(encoding="utf-8"), bool(debug))
        self._time(exp, stage, t0, clock0)
        self._attempt(exp, stage, res)
        if res.ok and not debug:
            exp.data_stats = res.stats
        return {"experiment_id": exp.experiment_id, **self._step(res)}

    def _cmd_train(self, micro: bool = False, config: str = TRAIN_CONFIG) -> dict[str, Any]:
        why = self._refusal(not micro)
        if why:
            return {"ok": False, "error": f"refused: {why}"}
        cfg_path = self._inside(str(config))
        if cfg_path is None:
            return {"ok": False, "failure_class": "CONFIG", "error": f"no training config '{config}' in the workspace"}
        if self._inside(DATA_FILE) is None:
            return {"ok": False, "failure_class": "DATA",
                    "error": f"no {DATA_FILE} in the workspace: run 'ftdojo data' first"}
        exp = self._experiment()
        folder = self._folder(exp)
        shutil.copy2(self.workspace / DATA_FILE, folder / DATA_FILE)
        if (self.workspace / DATA_SCRIPT).is_file():
            shutil.copy2(self.workspace / DATA_SCRIPT, folder / DATA_SCRIPT)
        stage = _STAGE[("train", bool(micro))]
        t0, clock0 = time.time(), dict(self.dojo.clock)
        res = self.dojo.train(folder, cfg_path.read_text(encoding="utf-8"), bool(micro))
        self._time(exp, stage, t0, clock0)
        self._attempt(exp, stage, res)
        if not micro:
            if res.ok:
                exp.trained = res
            else:
                self._close()
        return {"experiment_id": exp.experiment_id, **self._step(res)}

    def _cmd_validate(self) -> dict[str, Any]:
        exp = self._open if self._open is not None and self._open.trained is not None else None
        if exp is None:
            if self._base_validation is None:
                self._base_validation = self.dojo.validate(None)
            return {"ok": True, "model": "base model (nothing trained since the last validation)",
                    **self._base_validation.model_dump(mode="json")}
        t0, clock0 = time.time(), dict(self.dojo.clock)
        val = self.dojo.validate(exp.trained)
        self._time(exp, "evaluation", t0, clock0)
        exp.stage = "evaluation"
        entry = self._close(val)
        self._last_validated = entry.experiment_id if entry else None
        return {"ok": True, "experiment_id": exp.experiment_id, **val.model_dump(mode="json")}

    def _cmd_submit(self, experiment_id: str | None = None) -> dict[str, Any]:
        exp_id = experiment_id or self._last_validated
        if exp_id is None and self._models:
            exp_id = list(self._models)[-1]
        if exp_id is None or exp_id not in self._models:
            known = ", ".join(self._models) or "none"
            return {"ok": False, "error": f"nothing to submit: '{exp_id}' is not a trained experiment (trained: {known})"}
        self.submitted = exp_id
        return {"ok": True, "submitted": exp_id}

    def _cmd_budget(self) -> dict[str, Any]:
        s = self.dojo.settings
        out: dict[str, Any] = {"wall_clock_left_s": round(self.dojo.budget_left_s(), 1),
                               "iterations_used": len(self.trace.entries), "max_iterations": s.max_iterations}
        if self.proxy is not None:
            out["llm"] = {**self.proxy.usage.model_dump(include={"calls", "prompt_tokens", "completion_tokens",
                                                                   "cost_usd"}),
                          "budget_usd": self.proxy.budget_usd, "budget_tokens": self.proxy.budget_tokens}
        return out

    def _cmd_status(self) -> dict[str, Any]:
        rows = [{"experiment_id": e.experiment_id, "status": e.status, "stage_reached": e.stage_reached,
                 "failure_class": e.failure_class,
                 "validation_score": e.validation.score if e.validation else None} for e in self.trace.entries]
        return {"experiments": rows, "open": self._open.experiment_id if self._open else None,
                "submitted": self.submitted}

    # ------------------------------------------------------------------ end of session
    def finish(self) -> AgentOutcome:
        """Close the open experiment and choose the final one: the submitted experiment, else the one with
        the best validation score, else the base model."""
        with self._lock:
            self._close()
        entries = self.trace.entries
        sign = 1 if self.dojo.task.metric.higher_is_better else -1
        chosen = self.submitted
        if chosen is None:
            scored = [e for e in entries if e.validation is not None and e.experiment_id in self._models]
            if scored:
                chosen = max(scored, key=lambda e: sign * e.validation.score).experiment_id
        final = FinalChoice()
        if chosen is not None:
            res = self._models[chosen]
            entry = next((e for e in entries if e.experiment_id == chosen), None)
            final = FinalChoice(experiment_id=chosen, model_dir=res.model_dir, adapter=res.adapter,
                                validation_score=entry.validation.score if entry and entry.validation else None)
        return AgentOutcome(final=final, experiments=[e.experiment_id for e in entries], iterations=len(entries))
