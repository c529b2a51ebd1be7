"""ftagent: FT-Dojo (the environment) and FT-Agent (the agent) for autonomous LLM fine-tuning.

Layers, top to bottom (nothing imports upward): :mod:`ftagent.report` (records -> tables, figures),
:mod:`ftagent.agents` (FT-Agent and baselines), :mod:`ftagent.llm` (planning backbones),
:mod:`ftagent.dojo` (tasks, data, splits, sandbox, harness), :mod:`ftagent.models` (base models),
:mod:`ftagent.train` (SFT engine), :mod:`ftagent.eval` (generation and scorers), :mod:`ftagent.utils`.
Reference: Li et al., "FT-Dojo: Towards Autonomous LLM Fine-Tuning with Language Agents", arXiv 2603.01712.
"""

__version__ = "0.1.0"
