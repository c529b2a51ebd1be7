"""Dataset selection: which raw sources of the shared repository FT-Agent works with.

FT-Agent §3 (the paper's scenario initialisation): after the repository is summarised into
``dataset_info.json``, one backbone call picks the sources relevant to the target benchmark, with the
rule "when uncertain, include"; an operator can force the choice instead (RD-Agent's ``--dataset``,
here the agent option ``datasets``). The selection is recorded in the agent state and in the first
experiment's backbone calls, and every later prompt shows only the selected sources.
"""

from __future__ import annotations

from typing import Any

from ftagent.agents.ft_agent.context import dataset_view
from ftagent.agents.ft_agent.prompts import prompt_id, render, system_prompt
from ftagent.agents.ft_agent.schemas import SCHEMAS
from ftagent.agents.ft_agent.state import Selection
from ftagent.errors import AgentError, BackboneError
from ftagent.llm.client import ChatClient


def available(info: dict[str, Any]) -> list[str]:
    """Ids of the repository's sources that have data, in file order."""
    return [sid for sid, d in info.items() if d.get("available")]


def forced_selection(info: dict[str, Any], datasets: list[str]) -> Selection:
    """The operator's choice, checked against the repository.

    Raises:
        AgentError: a named source is not an available source of the repository (lists them).
    """
    have = available(info)
    missing = [d for d in datasets if d not in have]
    if missing or not datasets:
        raise AgentError(f"option 'datasets': {', '.join(missing) or 'empty list'} not available in the "
                         f"raw-data repository (available: {', '.join(have)})")
    return Selection(datasets=list(dict.fromkeys(datasets)), reason="forced by the 'datasets' option",
                     mode="forced")


def select_datasets(llm: ChatClient, card: dict[str, Any], info: dict[str, Any]) -> Selection:
    """Ask the backbone which sources to use.

    An answer naming no available source, or a failed call, falls back to every available source
    ("when uncertain, include") and says so in the record.

    Raises:
        AgentError: the repository has no available source at all.
    """
    have = available(info)
    if not have:
        raise AgentError("the raw-data repository has no available source (see dataset_info.json)")
    view = dataset_view(info, have)
    ctx = {"stage": "dataset_selection", "task_id": card["task_id"], "domain": card["domain"],
           "datasets": view}
    msgs = [{"role": "system", "content": system_prompt()},
            {"role": "user", "content": render("select_datasets", card=card, datasets=view, ctx=ctx)}]
    try:
        res = llm.chat(msgs, stage="dataset_selection", schema=SCHEMAS["dataset_selection"],
                       schema_name="dataset_selection")
    except BackboneError as e:
        return Selection(datasets=have, mode="fallback",
                         reason=f"the backbone failed ({e}); every available source is kept")
    call = res.call.model_copy(update={"prompt": prompt_id("select_datasets")})
    named = [str(d) for d in res.data["datasets"]]
    chosen = [d for d in dict.fromkeys(named) if d in have]
    dropped = [d for d in named if d not in have]
    if not chosen:
        return Selection(datasets=have, mode="fallback", dropped=dropped, call=call,
                         reason=f"the backbone chose no available source; every one is kept "
                                f"({res.data.get('reason', '')})")
    return Selection(datasets=chosen, reason=res.data.get("reason", ""), mode="llm", dropped=dropped,
                     call=call)
