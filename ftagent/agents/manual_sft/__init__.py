"""The Manual SFT baselines (``manual-sft``, ``manual-sft-cot``): a fixed, documented expert recipe per task family.

* :mod:`.recipe` — ``config/manual_sft.yaml`` (data rules and LoRA hyperparameters, each with its reason);
* :mod:`.process_data` — the data script (rule-based formatting, cleaning, de-duplication, length filter,
  sample cap), run in the sandbox;
* :mod:`.synthesis` — chain-of-thought synthesis through the backbone (``manual-sft-cot``);
* :mod:`.agent` — the two agents.
"""

from ftagent.agents.manual_sft.agent import ManualSFT, ManualSFTCoT

__all__ = ["ManualSFT", "ManualSFTCoT"]
