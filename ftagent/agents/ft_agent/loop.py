"""FT-Agent: plan -> code -> fail-fast validation -> full run -> multi-level feedback, until the budget ends.

One iteration (FT-Agent §4; DESIGN.md "FT-Agent"):

1. **Plan** — one chat session, three structured turns: ``plan_reason`` -> ``plan_hypothesis`` (a
   [Data Processing] and a [Training] part) -> ``plan_task`` (a specification for the coder and whether
   to reuse the parent's data script). The parent is the current best accepted experiment; the
   prompt shows it (hypothesis, config, score) and its sibling experiments.
2. **Code** — a data script (``data_script``) and a training config (``train_config``).
3. **Fail-fast validation** — the script runs in debug mode (~100 samples) in the sandbox, its output
   is checked and judged (``data_judge``); then a micro-batch training run with the filtered config.
   A failure goes back to the backbone with its class and log tail, for up to ``max_repairs`` rounds.
4. **Full run** — full data processing, training, validation.
5. **Feedback** — on success the backbone compares with the current best and decides accept/reject
   (``feedback``), seeing the loss curve and up to 10 wrong validation answers; on failure it
   diagnoses the class, root cause and fix (``failure_diagnosis``).
6. **Record** — one :class:`~ftagent.records.TraceEntry` per iteration; the accepted experiment with
   the best validation score is the next parent and the final choice.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ftagent.agents.base import AgentOutcome, TraceWriter, register_agent
from ftagent.agents.ft_agent.prompts import render, system_prompt
from ftagent.agents.ft_agent.schemas import SCHEMAS
from ftagent.dojo.env import DATA_SCRIPT, Dojo, StepResult
from ftagent.errors import BackboneError
from ftagent.llm.client import ChatClient
from ftagent.records import FinalChoice, LLMCall, TraceEntry, Validation
from ftagent.utils.provenance import utcnow


@dataclass
class _Iteration:
    """Mutable state of one iteration while it runs."""

    index: int
    experiment_id: str
    calls: list[LLMCall] = field(default_factory=list)
    stage: str = "plan"
    plan: dict[str, Any] = field(default_factory=dict)
    hypothesis: str = ""
    script: str | None = None
    config: dict[str, Any] | None = None
    repairs: int = 0
    data_stats: dict[str, Any] = field(default_factory=dict)
    train: dict[str, Any] = field(default_factory=dict)
    dropped: list[str] = field(default_factory=list)
    failure: StepResult | None = None
    validation: Validation | None = None
    trained: StepResult | None = None
    started_at: str = field(default_factory=utcnow)


@register_agent
class FTAgent:
    """The paper's FT-Agent.

    Args:
        max_repairs: Fail-fast repair rounds per stage (paper: up to 10 coder rounds).
    """

    name: ClassVar[str] = "ft-agent"
    needs_backbone: ClassVar[bool] = True

    def __init__(self, max_repairs: int = 2):
        self.max_repairs = max_repairs

    # ------------------------------------------------------------------ the loop
    def run(self, dojo: Dojo, llm: ChatClient | None, trace: TraceWriter) -> AgentOutcome:
        if llm is None:
            raise BackboneError("ft-agent needs a planning backbone")
        card = dojo.task_card()
        datasets = dojo.dataset_info()
        base = dojo.validate(None)
        self.base_score = base.score
        entries = list(trace.entries)  # a resumed run continues after its recorded experiments
        for it in range(len(entries), dojo.settings.max_iterations):
            if dojo.budget_left_s() <= 0:
                break
            entry = self._iteration(it, dojo, llm, card, datasets, entries)
            trace.append(entry)
            entries.append(entry)
        best = self._best(entries)
        final = FinalChoice()
        if best is not None:
            model_dir = dojo.run_dir / "experiments" / best.experiment_id / "train" / "model"
            final = FinalChoice(experiment_id=best.experiment_id, model_dir=str(model_dir),
                                adapter=(best.train_config or {}).get("method") in ("lora", "qlora"),
                                validation_score=best.validation.score if best.validation else None)
        return AgentOutcome(final=final, experiments=[e.experiment_id for e in entries], iterations=len(entries))

    @staticmethod
    def _best(entries: list[TraceEntry]) -> TraceEntry | None:
        accepted = [e for e in entries if e.decision == "accept" and e.validation is not None]
        return max(accepted, key=lambda e: e.validation.score) if accepted else None

    # ------------------------------------------------------------------ one iteration
    def _context(self, it: int, dojo: Dojo, card: dict[str, Any], datasets: dict[str, Any],
                 entries: list[TraceEntry]) -> dict[str, Any]:
        best = self._best(entries)
        parent = None if best is None else {
            "experiment_id": best.experiment_id, "score": best.validation.score if best.validation else None,
            "hypothesis": best.hypothesis, "train_config": best.train_config, "data_script": best.data_script}
        parent_id = best.experiment_id if best else None
        siblings = [{"experiment_id": e.experiment_id, "status": e.status, "decision": e.decision,
                     "score": e.validation.score if e.validation else None, "hypothesis": e.hypothesis,
                     "feedback": e.feedback[:400], "failure_class": e.failure_class}
                    for e in entries if e.parent_id == parent_id]
        return {
            "iteration": it, "task_id": card["task_id"], "domain": card["domain"],
            "base_score": self.base_score, "best_score": parent["score"] if parent else None,
            "parent": parent, "siblings": siblings, "sample_cap": card["sample_cap"],
            "eval_prompt_template": card["eval_prompt_template"],
            "answer_format_example": card["answer_format_example"],
            "cpu_only": card["device"]["cpu_only"], "base_model_params_b": card["base_model"]["params_b"],
            "datasets": {k: {"fields": v.get("fields"), "count": v.get("count"), "path": v.get("path")}
                         for k, v in datasets.items() if v.get("available")},
        }

    def _ask(self, st: _Iteration, llm: ChatClient, messages: list[dict[str, Any]], schema: str) -> dict[str, Any]:
        res = llm.chat(messages, stage=schema, schema=SCHEMAS[schema], schema_name=schema)
        st.calls.append(res.call)
        messages.append({"role": "assistant", "content": res.text})
        return res.data

    def _iteration(self, it: int, dojo: Dojo, llm: ChatClient, card: dict[str, Any], datasets: dict[str, Any],
                   entries: list[TraceEntry]) -> TraceEntry:
        st = _Iteration(index=it, experiment_id=f"exp{it:03d}")
        ws = dojo.new_experiment(st.experiment_id)
        ctx = self._context(it, dojo, card, datasets, entries)
        try:
            self._plan(st, llm, card, datasets, ctx)
            self._code_and_validate(st, dojo, llm, card, ctx, ws)
            if st.failure is None:
                self._full_run(st, dojo, ws)
            feedback, decision = self._feedback(st, llm, ctx)
        except BackboneError as e:  # the backbone failed for good: record the experiment as failed
            st.failure = StepResult(False, "ENV", str(e))
            feedback, decision = f"backbone failure: {e}", None
        return TraceEntry(
            iteration=it, experiment_id=st.experiment_id,
            parent_id=ctx["parent"]["experiment_id"] if ctx["parent"] else None,
            stage_reached=st.stage, status="failed" if st.failure else "ok",
            failure_class=st.failure.failure_class if st.failure else None,
            error=(f"{st.failure.error}\n{st.failure.log_tail}".strip()[-2000:] if st.failure else None),
            hypothesis=st.hypothesis, plan=st.plan,
            data_script=f"experiments/{st.experiment_id}/{DATA_SCRIPT}" if st.script else None,
            train_config=st.config, dropped_config_keys=st.dropped, repairs=st.repairs, data_stats=st.data_stats,
            train=st.train, validation=st.validation, decision=decision, feedback=feedback, llm_calls=st.calls,
            started_at=st.started_at, finished_at=utcnow())

    def _plan(self, st: _Iteration, llm: ChatClient, card: dict, datasets: dict, ctx: dict) -> None:
        msgs = [{"role": "system", "content": system_prompt()},
                {"role": "user", "content": render("plan_reason", card=card, datasets=datasets, ctx=ctx)}]
        reason = self._ask(st, llm, msgs, "plan_reason")
        msgs.append({"role": "user", "content": render("plan_hypothesis")})
        hyp = self._ask(st, llm, msgs, "plan_hypothesis")
        msgs.append({"role": "user", "content": render("plan_task")})
        task = self._ask(st, llm, msgs, "plan_task")
        st.plan = {"reason": reason["reason"], **hyp, **task}
        st.hypothesis = f"{hyp['data_processing']}\n{hyp['training']}"

    def _code(self, st: _Iteration, llm: ChatClient, name: str, card: dict, ctx: dict,
              error: StepResult | None, **extra: Any) -> dict[str, Any]:
        err = None if error is None else {"failure_class": error.failure_class, "error": error.error,
                                          "log_tail": error.log_tail[-1500:]}
        cctx = {**ctx, "stage": name, "repair_round": st.repairs, "error": err, **extra}
        msgs = [{"role": "system", "content": system_prompt()},
                {"role": "user", "content": render(name, card=card, plan=st.plan, ctx=cctx, error=err, **extra)}]
        return self._ask(st, llm, msgs, {"code_data": "data_script", "code_config": "train_config",
                                         "judge_data": "data_judge"}[name])

    def _code_and_validate(self, st: _Iteration, dojo: Dojo, llm: ChatClient, card: dict, ctx: dict, ws) -> None:
        # data: reuse the parent's script when the plan says so, else write one; debug-run and judge it
        st.stage = "data_debug"
        parent = ctx["parent"]
        if st.plan.get("reuse_parent_data") and parent and parent.get("data_script"):
            st.script = (dojo.run_dir / parent["data_script"]).read_text(encoding="utf-8")
        error: StepResult | None = None
        for round_ in range(self.max_repairs + 1):
            if st.script is None or error is not None:
                st.script = self._code(st, llm, "code_data", card, ctx, error)["script"]
            res = dojo.run_data_script(ws, st.script, debug=True)
            if res.ok:
                verdict = self._code(st, llm, "judge_data", card, ctx, None, stats=res.stats)
                if verdict["pass"]:
                    st.data_stats = {"debug": res.stats}
                    break
                res = StepResult(False, "DATA", f"data judge: {verdict.get('reason', '')}", res.log_tail, res.stats)
            error = res
            if round_ < self.max_repairs:
                st.repairs += 1
        else:
            st.failure = error
            return
        # config: micro-batch training run, repaired on failure
        st.stage = "micro_batch"
        error = None
        for round_ in range(self.max_repairs + 1):
            st.config = self._code(st, llm, "code_config", card, ctx, error)["config"]
            res = dojo.train(ws, st.config, micro=True)
            st.dropped = res.dropped_keys
            if res.ok:
                st.config = res.config.model_dump(exclude_none=True) if res.config else st.config
                return
            error = res
            if round_ < self.max_repairs:
                st.repairs += 1
        st.failure = error

    def _full_run(self, st: _Iteration, dojo: Dojo, ws) -> None:
        st.stage = "full_training"
        res = dojo.run_data_script(ws, st.script or "", debug=False)
        if not res.ok:
            st.failure = res
            return
        st.data_stats["full"] = res.stats
        shutil.rmtree(ws / "micro", ignore_errors=True)
        trained = dojo.train(ws, st.config or {}, micro=False)
        st.train = trained.stats
        if not trained.ok:
            st.failure = trained
            return
        st.trained = trained
        st.stage = "evaluation"
        st.validation = dojo.validate(trained)

    def _feedback(self, st: _Iteration, llm: ChatClient, ctx: dict) -> tuple[str, str | None]:
        if st.failure is not None:
            exp = {"experiment_id": st.experiment_id, "stage": st.stage, "failure_class": st.failure.failure_class,
                   "error": st.failure.error, "log_tail": st.failure.log_tail[-1500:]}
            msgs = [{"role": "system", "content": system_prompt()},
                    {"role": "user", "content": render("diagnose", exp=exp, ctx={**ctx, "stage": "diagnose", "exp": exp})}]
            d = self._ask(st, llm, msgs, "failure_diagnosis")
            return f"[{d['failure_class']}] {d['root_cause']} Fix: {d['fix']}", None
        assert st.validation is not None
        st.stage = "feedback"
        exp = {"experiment_id": st.experiment_id, "hypothesis": st.hypothesis, "score": st.validation.score,
               "subsets": st.validation.subsets, "losses": st.train.get("losses", []),
               "wrong_samples": st.validation.wrong_samples}
        msgs = [{"role": "system", "content": system_prompt()},
                {"role": "user", "content": render("feedback", exp=exp, ctx={**ctx, "stage": "feedback", "exp": exp})}]
        d = self._ask(st, llm, msgs, "feedback")
        return f"{d['reason']} {d.get('observations', '')}".strip(), d["decision"]
