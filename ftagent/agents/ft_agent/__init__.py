"""FT-Agent, the paper's method (:class:`FTAgent`).

Modules:

* :mod:`.loop` — the run: baseline, dataset selection, experiments, stopping rules, the trace DAG;
* :mod:`.stages` — one experiment's stages (plan, fail-fast validation, full run, feedback);
* :mod:`.state` — ``agent_state.json``, stage-level resumption, the definition of a step;
* :mod:`.selection` — dataset selection ("when uncertain, include"; or forced);
* :mod:`.context` — what prompts show: parent, siblings, selected datasets;
* :mod:`.analysis` — loss-curve and wrong-answer summaries computed for the feedback stage;
* :mod:`.prompts`, ``prompts/*.md``, :mod:`.schemas` — versioned templates and answer schemas per stage;
* :mod:`.progress` — live panel on a terminal, log lines otherwise.

Options (``DojoSettings.agent_options["ft-agent"]``): ``max_repairs``, ``datasets``, ``max_stages``,
``max_backbone_failures``, ``live_progress``.
"""

from ftagent.agents.ft_agent.loop import FTAgent

__all__ = ["FTAgent"]
