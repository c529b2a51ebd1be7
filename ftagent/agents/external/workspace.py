"""The workspace an external agent starts in: instructions, the task card, the repository summary, ``ftdojo``.

:func:`prepare_workspace` writes into ``<run>/workspace/``:

* ``TASK.md`` — the task and the rules (the same facts FT-Agent's prompts carry: task card with the
  answer format and evaluation prompt template, sample cap, budget, device, the data and training
  contracts, the tools), and ``AGENTS.md`` — the same text under the name coding agents read by convention;
* ``task_card.json`` and ``dataset_info.json`` — what ``ftdojo card`` and ``ftdojo datasets`` print;
* ``.ftdojo/bin/ftdojo`` — the stdlib-only tool client (:mod:`ftagent.agents.external.ftdojo_client`).

:func:`agent_env` gives the environment variables an agent process (or a sandboxed command) gets: the
tool service and LLM proxy URLs and the per-run token, under the names the common clients read
(``OPENAI_BASE_URL``/``OPENAI_API_KEY``, ``ANTHROPIC_BASE_URL``/``ANTHROPIC_API_KEY``); never a provider key.
"""

from __future__ import annotations

import json
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ftagent.dojo.env import DATA_FILE, DATA_SCRIPT, TRAIN_CONFIG, Dojo
from ftagent.llm.proxy import LLMProxy
from ftagent.utils.io import atomic_write_json, atomic_write_text

#: Folder of the workspace holding the client (on the agent's PATH).
BIN_DIR = ".ftdojo/bin"

TASK_TEXT = """# Fine-tune a model for this task

You are working in the FT-Dojo environment. Your goal: make the base model score as high as possible on
the task's held-out test set by fine-tuning it (SFT or LoRA) on data you build from the raw-data
repository, within the budget. You are scored on the final model you submit (or, if you submit nothing,
the best validated one; with none, the untuned base model).

## The task
{summary}

The full task card (answer format, evaluation prompt template, base model, device, budget) is in
`task_card.json` (also `ftdojo card`). The raw-data repository summary is in `dataset_info.json` (also
`ftdojo datasets`); the raw data itself is read-only under `$FTDOJO_RAW_DIR/<source>/`.

## How to work
1. Write `{script}`: it reads raw data from `$FTDOJO_RAW_DIR`, writes `{data}` in the current folder as a
   JSON list of Alpaca records (`instruction`, `input`, `output`) or chat records (`messages`), formatted
   exactly as the model will be prompted at evaluation (the card's `eval_prompt_template`) and answering
   in the card's answer format. With `--debug` it should write about {debug} samples. At most
   {cap} samples in the full run.
2. `ftdojo data --debug` runs it quickly in the sandbox and checks the output; `ftdojo data` runs it in full.
3. Write `{train}`: a training config (YAML; fields listed under `train_config_fields` in the card, e.g.
   `method: lora`, `learning_rate`, `max_steps`, `per_device_train_batch_size`, `cutoff_len`).
   `ftdojo train --micro` checks it in a few steps; `ftdojo train` trains on `{data}`.
4. `ftdojo validate` scores the last trained model on the validation split and shows up to 10 wrong answers.
5. Iterate on the data and the config; `ftdojo submit [EXPERIMENT]` marks the experiment you want scored
   (default: the last validated one). `ftdojo budget` shows what is left, `ftdojo status` the experiments.

Rules: every full training is one iteration (at most {iters}); the run's wall clock is {hours:g} h.
Test data and the grader are not reachable. Only the standard library and the installed data
libraries are available to your scripts; there is no internet. Your LLM endpoint (if your tools need
one) is `$FTDOJO_LLM_BASE_URL` with the token in `$FTDOJO_TOKEN`.
"""


@dataclass
class Workspace:
    """A prepared workspace.

    Attributes:
        path: The folder (the agent's working directory).
        bin_dir: Folder holding ``ftdojo`` (put it first on the agent's PATH).
        task_text: The instructions (``TASK.md``).
    """

    path: Path
    bin_dir: Path
    task_text: str


def client_source() -> str:
    """The ``ftdojo`` client's source (a stdlib-only script)."""
    return (Path(__file__).parent / "ftdojo_client.py").read_text(encoding="utf-8")


def prepare_workspace(dojo: Dojo, folder: Path | None = None) -> Workspace:
    """Write the workspace of an external agent (see the module docstring).

    Args:
        dojo: The run's Dojo.
        folder: Where (default ``<run>/workspace``); existing files of the agent are kept.

    Returns:
        The workspace.
    """
    ws = Path(folder or dojo.run_dir / "workspace")
    ws.mkdir(parents=True, exist_ok=True)
    card = dojo.task_card()
    atomic_write_json(ws / "task_card.json", card)
    atomic_write_json(ws / "dataset_info.json", dojo.dataset_info())
    summary = "\n".join([f"- **{card['title']}** (`{card['task_id']}`, domain {card['domain']})",
                         f"- {card['description']}",
                         f"- metric: {card['metric']['name']} "
                         f"({'higher' if card['metric']['higher_is_better'] else 'lower'} is better)",
                         f"- answer format example: {json.dumps(card['answer_format_example'])}",
                         f"- base model: {card['base_model']['id']}; device: "
                         f"{'CPU only' if card['device']['cpu_only'] else card['device']['gpus']}"])
    text = TASK_TEXT.format(summary=summary, script=DATA_SCRIPT, data=DATA_FILE, train=TRAIN_CONFIG,
                            debug=card["data_contract"]["debug_samples"], cap=card["sample_cap"],
                            iters=card["budget"]["max_iterations"], hours=card["budget"]["wall_clock_h"])
    atomic_write_text(ws / "TASK.md", text)
    atomic_write_text(ws / "AGENTS.md", text)
    bin_dir = ws / BIN_DIR
    bin_dir.mkdir(parents=True, exist_ok=True)
    exe = bin_dir / "ftdojo"
    atomic_write_text(exe, client_source())
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return Workspace(path=ws, bin_dir=bin_dir, task_text=text)


def agent_env(proxy: LLMProxy, model: str | None = None) -> dict[str, Any]:
    """Environment variables of an agent process or sandboxed command: URLs and the per-run token only."""
    env = {"FTDOJO_TOOLS_URL": f"{proxy.root_url}/ftdojo", "FTDOJO_TOKEN": proxy.token,
           "FTDOJO_LLM_BASE_URL": proxy.base_url,
           "OPENAI_BASE_URL": proxy.base_url, "OPENAI_API_KEY": proxy.token,
           "ANTHROPIC_BASE_URL": proxy.root_url, "ANTHROPIC_API_KEY": proxy.token}
    if model:
        env["FTDOJO_LLM_MODEL"] = model
    return env
