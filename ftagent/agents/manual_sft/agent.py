"""The Manual SFT baselines: ``manual-sft`` (original data) and ``manual-sft-cot`` (LLM-synthesised chains of thought).

Both run one experiment with a fixed expert recipe (:mod:`.recipe`, ``config/manual_sft.yaml``):

1. ``full_data`` — the recipe's data script (:mod:`.process_data`, written with the task's resolved recipe
   and the evaluation prompt template of the task card) runs through ``Dojo.run_data_script`` in the
   sandbox; ``manual-sft-cot`` first synthesises one chain of thought per candidate sample in the harness
   process (:mod:`.synthesis`) and the script reads them from the workspace;
2. ``full_training`` — ``Dojo.train`` with the recipe's fixed LoRA hyperparameters;
3. ``evaluation`` — ``Dojo.validate``.

The experiment is recorded as one :class:`~ftagent.records.TraceEntry` (``data_stats`` holds the data
script's counts: rows read, dropped by each rule, duplicates, too long, over the cap, and for
``manual-sft-cot`` the synthesis counts); the run's final choice is that experiment when it trained and
validated, else the base model. The harness's ``ftagent eval`` scores it like every other agent.
"""

from __future__ import annotations

import json
import logging
import pprint
import time
from pathlib import Path
from typing import Any, ClassVar

from ftagent.agents.base import AgentOutcome, BaseAgent, ExperimentLog, TraceWriter, register_agent
from ftagent.agents.manual_sft import process_data as pdm
from ftagent.agents.manual_sft.recipe import CONFIG_FILE, ResolvedRecipe, resolve
from ftagent.agents.manual_sft.synthesis import synthesise
from ftagent.dojo.env import Dojo
from ftagent.errors import AgentError, BackboneError, ConfigError
from ftagent.llm.client import ChatClient

log = logging.getLogger("ftagent.manual_sft")

#: The line of :mod:`.process_data` that the agent replaces with the resolved recipe.
RECIPE_LINE = "RECIPE = None  # replaced by the resolved recipe when the agent writes this script"


def render_script(recipe: dict[str, Any], agent: str) -> str:
    """The data script of a run: :mod:`.process_data` with ``RECIPE`` set to ``recipe`` (a Python literal)."""
    text = Path(pdm.__file__).read_text(encoding="utf-8")
    if RECIPE_LINE not in text:
        raise AgentError(f"{pdm.__file__}: the RECIPE line to replace is missing")
    literal = pprint.pformat(recipe, width=110, sort_dicts=False)
    block = (f"# Written by the {agent} agent: the recipe of family '{recipe['family']}' for task "
             f"'{recipe['task']}' ({CONFIG_FILE}), resolved at this run's scale.\nRECIPE = {literal}")
    return text.replace(RECIPE_LINE, block, 1)


@register_agent
class ManualSFT(BaseAgent):
    """``manual-sft``: the expert recipe on the original data (module docstring).

    Args:
        recipe_file: Another recipe book than ``$FTAGENT_CONFIG_DIR/manual_sft.yaml`` (tests, ablations).
    """

    name: ClassVar[str] = "manual-sft"
    needs_backbone: ClassVar[bool] = False
    #: Whether the outputs are synthesised chains of thought.
    cot: ClassVar[bool] = False

    def __init__(self, recipe_file: str | None = None):
        self.recipe_file = recipe_file

    def _recipe(self, dojo: Dojo) -> ResolvedRecipe:
        from ftagent.agents.manual_sft.recipe import load_config

        try:
            cfg = load_config(Path(self.recipe_file) if self.recipe_file else None)
            return resolve(dojo.task.id, dojo.settings.scale, cfg)
        except ConfigError as e:
            raise AgentError(str(e)) from None

    def run(self, dojo: Dojo, llm: ChatClient | None, trace: TraceWriter) -> AgentOutcome:
        """Run the recipe's one experiment (or, resumed after it was recorded, return it).

        Raises:
            AgentError: no recipe for the task, or an invalid recipe book.
            BackboneError: ``manual-sft-cot`` without a backbone.
        """
        if self.cot and llm is None:
            raise BackboneError(f"{self.name} needs a backbone for its chain-of-thought synthesis")
        if trace.entries:  # a resumed run whose experiment is already recorded
            return self.outcome(dojo, trace, stop_reason="recipe_done")
        recipe = self._recipe(dojo)
        card = dojo.task_card()
        script_recipe = recipe.script_recipe(card["eval_prompt_template"], dojo.settings.sample_cap, cot=self.cot)
        fam = recipe.family_spec
        exp = self.experiment(
            dojo, trace, hypothesis=f"{fam.data_processing}\n{fam.training_plan}",
            plan={"recipe": recipe.family, "recipe_file": self.recipe_file or CONFIG_FILE,
                  "data": recipe.data.model_dump(), "training": recipe.training, "reasons": recipe.reasons,
                  "rule": recipe.rule.model_dump(exclude_none=True),
                  **({"synthesis": recipe.synthesis.model_dump()} if self.cot else {})},
            datasets=list(recipe.rule.sources))
        stop = self._experiment(dojo, llm, exp, recipe, script_recipe)
        self.record(trace, exp)
        return self.outcome(dojo, trace, stop_reason=stop)

    # ------------------------------------------------------------------ the experiment
    def _experiment(self, dojo: Dojo, llm: ChatClient | None, exp: ExperimentLog, recipe: ResolvedRecipe,
                    script_recipe: dict[str, Any]) -> str:
        """The three stages; returns the stop reason (``recipe_done`` or ``budget``)."""
        exp.stage_reached = "full_data"
        if self.cot:
            assert llm is not None
            if not self._synthesis(dojo, llm, exp, recipe, script_recipe):
                return "recipe_done"
        with exp.stage("full_data"):
            res = dojo.run_data_script(exp.workspace, render_script(script_recipe, self.name), debug=False)
        stats_file = exp.workspace / "data_stats.json"
        if stats_file.exists():
            exp.data_stats["recipe"] = json.loads(stats_file.read_text(encoding="utf-8"))
        if not exp.step("full_data", res):
            return "recipe_done"
        exp.data_stats["full"] = res.stats
        if dojo.budget_left_s() <= 0:
            exp.fail("TIMEOUT", "the run's budget ended before training")
            return "budget"
        with exp.stage("full_training"):
            tr = dojo.train(exp.workspace, recipe.training, micro=False)
        exp.train, exp.dropped_config_keys = tr.stats, tr.dropped_keys
        exp.train_config = tr.config.model_dump(exclude_none=True) if tr.config else dict(recipe.training)
        if not exp.step("full_training", tr):
            return "recipe_done"
        if dojo.budget_left_s() <= 0:
            exp.fail("TIMEOUT", "the run's budget ended before validation")
            return "budget"
        with exp.stage("evaluation"):
            exp.validation = dojo.validate(tr)
        exp.feedback = (f"fixed recipe '{recipe.family}': one experiment, validation {exp.validation.score:.2f}; "
                        "the harness compares it with the base model")
        return "recipe_done"

    def _synthesis(self, dojo: Dojo, llm: ChatClient, exp: ExperimentLog, recipe: ResolvedRecipe,
                   script_recipe: dict[str, Any]) -> bool:
        """Synthesise the chains of thought into the workspace; False (experiment failed) when none is usable."""
        return True


@register_agent
class ManualSFTCoT(ManualSFT):
    """``manual-sft-cot``: the same recipe with chains of thought synthesised by the backbone (module docstring).

    Args:
        recipe_file: Another recipe book (see :class:`ManualSFT`).
        concurrency: Synthesis calls in flight at once (None: the recipe book's ``synthesis.concurrency``).
    """

    name: ClassVar[str] = "manual-sft-cot"
    needs_backbone: ClassVar[bool] = True
    cot: ClassVar[bool] = True

    def __init__(self, recipe_file: str | None = None, concurrency: int | None = None):
        super().__init__(recipe_file)
        if concurrency is not None and concurrency < 1:
            raise AgentError("manual-sft-cot options: concurrency >= 1")
        self.concurrency = concurrency

    def _synthesis(self, dojo: Dojo, llm: ChatClient, exp: ExperimentLog, recipe: ResolvedRecipe,
                   script_recipe: dict[str, Any]) -> bool:
        t0 = time.time()
        with exp.stage("cot_synthesis"):
            try:
                rows, _ = pdm.candidates(script_recipe, str(dojo.repository))
            except SystemExit as e:  # the script's own message (a missing source)
                exp.fail("DATA", str(e))
                return False
            n = min(recipe.synthesis.max_samples or dojo.settings.sample_cap, dojo.settings.sample_cap)
            rows = [r for r in rows if len(r["instruction"]) < script_recipe["max_chars"]][:n]
            if not rows:
                exp.fail("DATA", "DataError: no candidate samples to synthesise chains of thought for")
                return False
            conc = self.concurrency or recipe.synthesis.concurrency
            log.info("%s: synthesising %d chains of thought (%d in flight)", dojo.task.id, len(rows), conc)
            stats = synthesise(llm, dojo.task.id, script_recipe, rows, exp.workspace / pdm.COT_FILE, conc,
                               progress=lambda d, t: log.info("%s: synthesis %d/%d", dojo.task.id, d, t))
        exp.timings["cot_synthesis"]["llm_s"] = round(time.time() - t0, 3)
        exp.data_stats["synthesis"] = stats
        if stats["accepted"] == 0:
            err = stats["first_error"] or ""
            cls = "TIMEOUT" if "timed out" in err else "ENV" if err else "DATA"
            exp.fail(cls, f"no synthesised chain of thought agreed with the gold ({stats['dropped']}); "
                          f"first error: {stats['first_error']}")
            return False
        return True
