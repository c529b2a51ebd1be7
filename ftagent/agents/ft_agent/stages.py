"""The stages of one FT-Agent experiment (FT-Agent §4), each a method of :class:`ExperimentStages`.

* ``plan`` — one conversation, three structured turns: ``plan_reason`` → ``plan_hypothesis`` ([Data
  Processing] and [Training] parts) → ``plan_task`` (the coder's specification, and whether to reuse
  the parent's data script).
* ``data_debug`` — fail-fast data validation: the data script (written, or the parent's) runs in debug
  mode (~100 samples) in the sandbox, its output is checked by the Dojo and judged by the backbone
  (``data_judge``); a failure goes back to the coder with its class and log tail, for up to
  ``max_repairs`` repair rounds.
* ``micro_batch`` — fail-fast config validation: the backbone writes the training config
  (``train_config``), the Dojo filters unknown keys and runs a micro-batch training; repaired likewise.
* ``full_data`` — the data script in full mode (the sample cap is enforced here).
* ``full_training`` — training with the validated config.
* ``evaluation`` — the validation score and up to 10 wrong validation answers.
* ``feedback`` — on success the backbone compares with the current best and decides accept/reject,
  given a computed loss-curve summary and the wrong answers (``feedback``); on failure it diagnoses the
  class, root cause and fix (``failure_diagnosis``), which the next plan sees as a sibling's outcome.

Each method fills the :class:`~ftagent.agents.ft_agent.state.ExperimentState`; a stage either completes
(results in the state) or is run again from its start after a crash.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from ftagent.agents.ft_agent.analysis import clip, loss_summary, wrong_patterns
from ftagent.agents.ft_agent.context import SCRIPT_CHARS
from ftagent.agents.ft_agent.prompts import prompt_id, render, system_prompt
from ftagent.agents.ft_agent.schemas import SCHEMAS
from ftagent.agents.ft_agent.state import ExperimentState, Failure
from ftagent.dojo.env import DATA_SCRIPT, Dojo, StepResult
from ftagent.llm.client import ChatClient

#: Characters of a failing step's log tail shown to the backbone.
LOG_CHARS = 1500


def ask(llm: ChatClient, exp: ExperimentState, messages: list[dict[str, Any]], schema: str,
        template: str) -> dict[str, Any]:
    """One structured backbone call; the call is recorded in ``exp`` and appended to ``messages``.

    Raises:
        BackboneError: the endpoint failed or the answer never matched the schema.
    """
    res = llm.chat(messages, stage=schema, schema=SCHEMAS[schema], schema_name=schema)
    exp.llm_calls.append(res.call.model_copy(update={"prompt": prompt_id(template)}))
    messages.append({"role": "assistant", "content": res.text})
    return res.data


def _error(res: StepResult) -> dict[str, Any]:
    return {"failure_class": res.failure_class, "error": res.error, "log_tail": res.log_tail[-LOG_CHARS:]}


class ExperimentStages:
    """Runs the stages of one experiment.

    Args:
        dojo: The environment.
        llm: The planning backbone.
        card: The task card.
        ctx: The experiment's planning context (:func:`~ftagent.agents.ft_agent.context.plan_context`).
        exp: The experiment's state (filled in place).
        max_repairs: Repair rounds per fail-fast stage (paper: up to 10 coder rounds).
    """

    def __init__(self, dojo: Dojo, llm: ChatClient, card: dict[str, Any], ctx: dict[str, Any],
                 exp: ExperimentState, max_repairs: int):
        self.dojo, self.llm, self.card, self.ctx, self.exp = dojo, llm, card, ctx, exp
        self.max_repairs = max_repairs
        self.ws: Path = dojo.new_experiment(exp.experiment_id)

    def _conversation(self, template: str, **values: Any) -> list[dict[str, Any]]:
        return [{"role": "system", "content": system_prompt()},
                {"role": "user", "content": render(template, card=self.card, **values)}]

    def _fail(self, stage: str, res: StepResult) -> None:
        self.exp.failure = Failure(stage=stage, failure_class=res.failure_class or "ENV", error=res.error,
                                   log_tail=res.log_tail[-2000:])

    def _failed_round(self, stage: str, round_: int, res: StepResult) -> dict[str, Any]:
        """After a failed fail-fast round: count a repair while rounds are left, else record the stage's
        failure. Returns the error to feed back to the next round."""
        if round_ < self.max_repairs:
            self.exp.repairs += 1
        else:
            self._fail(stage, res)
        return _error(res)

    def _attempt(self, stage: str, round_: int, res: StepResult) -> None:
        self.exp.attempts.append({"stage": stage, "round": round_, "ok": res.ok,
                                  "failure_class": res.failure_class, "error": res.error[:300]})

    # ------------------------------------------------------------------ plan
    def plan(self) -> None:
        """Three structured turns: reason, hypothesis, task specification."""
        msgs = self._conversation("plan_reason", ctx=self.ctx)
        reason = ask(self.llm, self.exp, msgs, "plan_reason", "plan_reason")
        msgs.append({"role": "user", "content": render("plan_hypothesis")})
        hyp = ask(self.llm, self.exp, msgs, "plan_hypothesis", "plan_hypothesis")
        msgs.append({"role": "user", "content": render("plan_task")})
        task = ask(self.llm, self.exp, msgs, "plan_task", "plan_task")
        self.exp.plan = {"reason": reason["reason"], **hyp, **task}
        self.exp.hypothesis = f"{hyp['data_processing']}\n{hyp['training']}"

    # ------------------------------------------------------------------ fail-fast validation
    def _code(self, template: str, schema: str, error: dict[str, Any] | None, round_: int,
              **extra: Any) -> dict[str, Any]:
        attempts = [a for a in self.exp.attempts if not a["ok"]]
        cctx = {**self.ctx, "stage": template, "repair_round": round_, "error": error, "attempts": attempts,
                **extra}
        msgs = self._conversation(template, plan=self.exp.plan, ctx=cctx, error=error, **extra)
        return ask(self.llm, self.exp, msgs, schema, template)

    def data_debug(self) -> None:
        """Debug-run the data script (the parent's, or a new one), check and judge it; repair on failure."""
        parent = self.ctx["parent"]
        if self.exp.plan.get("reuse_parent_data") and parent and parent.get("data_script"):
            p = self.dojo.run_dir / parent["data_script"]
            self.exp.script = p.read_text(encoding="utf-8") if p.exists() else None
        error: dict[str, Any] | None = None
        for round_ in range(self.max_repairs + 1):
            if self.exp.script is None or error is not None:
                previous = clip(self.exp.script, SCRIPT_CHARS) if error is not None else None
                self.exp.script = self._code("code_data", "data_script", error, round_,
                                             previous_script_text=previous)["script"]
            res = self.dojo.run_data_script(self.ws, self.exp.script, debug=True)
            if res.ok:
                verdict = self._code("judge_data", "data_judge", None, round_, stats=res.stats)
                if verdict["pass"]:
                    self._attempt("data_debug", round_, res)
                    self.exp.data_stats = {"debug": res.stats}
                    return
                why = f"data judge: {verdict.get('reason', '')}"[:500]
                res = StepResult(False, "DATA", why, res.log_tail, res.stats)
            self._attempt("data_debug", round_, res)
            error = self._failed_round("data_debug", round_, res)

    def micro_batch(self) -> None:
        """Write the training config and run a micro-batch training with it; repair on failure."""
        error: dict[str, Any] | None = None
        stats = self.exp.data_stats.get("debug", {})
        for round_ in range(self.max_repairs + 1):
            previous = self.exp.config if error is not None else None
            self.exp.config = self._code("code_config", "train_config", error, round_,
                                         stats={k: v for k, v in stats.items() if k != "examples"},
                                         previous_config=previous)["config"]
            res = self.dojo.train(self.ws, self.exp.config, micro=True)
            self.exp.dropped = res.dropped_keys
            self._attempt("micro_batch", round_, res)
            if res.ok:
                self.exp.config = res.config.model_dump(exclude_none=True) if res.config else self.exp.config
                return
            error = self._failed_round("micro_batch", round_, res)

    # ------------------------------------------------------------------ full run
    def full_data(self) -> None:
        """The data script in full mode."""
        res = self.dojo.run_data_script(self.ws, self.exp.script or "", debug=False)
        if not res.ok:
            self._fail("full_data", res)
            return
        self.exp.data_stats["full"] = res.stats

    def full_training(self) -> None:
        """Training with the validated config."""
        shutil.rmtree(self.ws / "micro", ignore_errors=True)
        res = self.dojo.train(self.ws, self.exp.config or {}, micro=False)
        self.exp.train = res.stats
        self.exp.loss_summary = loss_summary(res.stats.get("losses", []))
        if not res.ok:
            self._fail("full_training", res)
            return
        self.exp.model_dir, self.exp.adapter = res.model_dir, res.adapter

    def evaluation(self) -> None:
        """The validation score and wrong answers of the trained model."""
        self.exp.validation = self.dojo.validate(StepResult(True, model_dir=self.exp.model_dir,
                                                            adapter=self.exp.adapter))

    # ------------------------------------------------------------------ feedback
    def feedback(self) -> None:
        """Accept/reject with loss and error analysis, or the failure diagnosis."""
        exp = self.exp
        if exp.failure is not None:
            self.diagnose()
            return
        assert exp.validation is not None
        view = {"experiment_id": exp.experiment_id, "hypothesis": exp.hypothesis, "train_config": exp.config,
                "samples": (exp.data_stats.get("full") or {}).get("samples"), "score": exp.validation.score,
                "subsets": exp.validation.subsets, "losses": exp.train.get("losses", []),
                "loss_summary": exp.loss_summary, "wrong_samples": exp.validation.wrong_samples,
                "wrong_patterns": wrong_patterns(exp.validation.wrong_samples)}
        ctx = {**self.ctx, "stage": "feedback",
               "exp": {k: v for k, v in view.items() if k != "wrong_samples"}}
        d = ask(self.llm, exp, self._conversation("feedback", exp=view, ctx=ctx), "feedback", "feedback")
        exp.decision = d["decision"]
        parts = [d.get("reason", ""), *(f"{label}: {d[k]}" for k, label in
                                        (("loss_analysis", "Loss"), ("error_analysis", "Errors"),
                                         ("next_steps", "Next")) if d.get(k))]
        exp.feedback = " ".join(p.strip() for p in parts if p and p.strip())

    def harness_diagnosis(self, note: str) -> None:
        """A diagnosis without the backbone: the harness's failure class and error."""
        f = self.exp.failure
        assert f is not None
        self.exp.diagnosis = {"failure_class": f.failure_class, "root_cause": f.error, "fix": "",
                              "by": "agent", "note": note}
        self.exp.feedback = f"[{f.failure_class}] {f.error} ({note})"

    def diagnose(self) -> None:
        """The failure diagnosis (by the backbone, unless the backbone is what failed)."""
        exp, f = self.exp, self.exp.failure
        assert f is not None
        if f.backbone:  # the endpoint is what failed: asking it again would only fail again
            exp.diagnosis = {"failure_class": f.failure_class, "root_cause": f.error,
                             "fix": "nothing in the experiment: retry once the planning backbone answers",
                             "by": "agent", "backbone_failure": True}
            exp.feedback = f"[{f.failure_class}] planning backbone failure: {f.error}"
            return
        view = {"experiment_id": exp.experiment_id, "hypothesis": exp.hypothesis, "stage": f.stage,
                "failure_class": f.failure_class, "error": f.error, "log_tail": f.log_tail[-LOG_CHARS:],
                "attempts": exp.attempts}
        ctx = {**self.ctx, "stage": "diagnose", "exp": view}
        d = ask(self.llm, exp, self._conversation("diagnose", exp=view, ctx=ctx), "failure_diagnosis",
                "diagnose")
        exp.diagnosis = {**d, "by": "llm"}
        exp.feedback = f"[{d['failure_class']}] {d['root_cause']} Fix: {d['fix']}"


def data_script_path(exp: ExperimentState) -> str:
    """Path of an experiment's data script, relative to the run folder."""
    return f"experiments/{exp.experiment_id}/{DATA_SCRIPT}"
