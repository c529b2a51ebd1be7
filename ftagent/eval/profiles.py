"""Scoring profiles: the paper's evaluator (``paper``) and each benchmark's own definition (``benchmark``).

Both profiles score the *same* generations (scoring is cheap), so one evaluation records both and a
table can show either. Where the paper's evaluator departs from a benchmark's own definition, the
departure is one named :class:`Departure` in :data:`DEPARTURES`, with the official source file it
comes from; the benchmark code asks :func:`applies` whether a rule is in force for a profile. The
table in ``docs/scoring.md`` is :func:`departures_markdown` (a test keeps the two equal).

The paper's evaluator is the OpenCompass fork ``Jensen246/opencompass`` (datasets and evaluators under
``opencompass/datasets/{panorama,chemcotbench,tablebench}/``, configs under
``opencompass/configs/datasets/``) driven by ``microsoft/RD-Agent`` (``rdagent/scenarios/finetune/
benchmark/``; headline metrics read by ``rdagent/app/finetune/llm/ui/benchmarks/*.py``), FT-Dojo §3
and paper-notes §2.3. Departures marked ``reproduced=False`` are known but not implemented yet: the
``paper`` profile still scores those parts the ``benchmark`` way, and the docs say so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

ScoringProfile = Literal["paper", "benchmark"]
#: The profiles, in the order tables show them.
PROFILES: tuple[ScoringProfile, ...] = get_args(ScoringProfile)

_OC = "Jensen246/opencompass"
_RD = "microsoft/RD-Agent"


@dataclass(frozen=True)
class Departure:
    """One way the paper's evaluator departs from a benchmark's own definition.

    Attributes:
        name: Rule id used in code and docs (``<task or family>.<what>``).
        tasks: Task ids it concerns.
        kind: ``aggregation`` (headline formula), ``item`` (extraction or item metric), ``generation``
            (prompt, length cap) or ``judge``.
        paper: What the paper's evaluator does (the ``paper`` profile).
        benchmark: What the benchmark's own definition does (the ``benchmark`` profile).
        source: Official source file(s) the paper's behaviour comes from (``repo: path``).
        reproduced: Whether the ``paper`` profile implements it.
    """

    name: str
    tasks: tuple[str, ...]
    kind: Literal["aggregation", "item", "generation", "judge"]
    paper: str
    benchmark: str
    source: str
    reproduced: bool = True


_TB = ("tablebench_fact_checking", "tablebench_numerical_reasoning", "tablebench_data_analysis")
_CHEM = ("chemcotbench_mol_und", "chemcotbench_mol_edit", "chemcotbench_mol_opt", "chemcotbench_reaction")

DEPARTURES: tuple[Departure, ...] = (
    # ------------------------------------------------------------------ headline aggregations
    Departure(
        "mol_opt.oracle_subsets_zero", ("chemcotbench_mol_opt",), "aggregation",
        "mean success rate over all 6 subsets; drd, gsk and jnk score 0 (no PyTDC oracle offline)",
        "mean over the subsets that can be scored (logp, qed, solubility); the oracle subsets are excluded",
        f"{_OC}: opencompass/configs/datasets/chemcotbench/chemcotbench_mol_opt_gen.py, "
        f"opencompass/datasets/chemcotbench/chemcotbench_mol_opt.py; {_RD}: "
        "rdagent/app/finetune/llm/ui/benchmarks/chemcotbench.py"),
    Departure(
        "mol_und.ui_metric_keys", ("chemcotbench_mol_und",), "aggregation",
        "headline = mean over the subsets whose evaluator returns the metric key the UI reads: at the "
        "fork's HEAD fg_count/ring_count return 'mae', Murcko_scaffold a Tanimoto key and "
        "ring_system_scaffold 'accuracy' where the UI wants 'accuracy', 'scaffold_hard' and 'score', so "
        "only equivalence accuracy counts",
        "mean over the 5 subtasks of each subtask's score (count accuracy, scaffold match, Yes/No accuracy)",
        f"{_RD}: rdagent/app/finetune/llm/ui/benchmarks/chemcotbench.py; {_OC}: "
        "opencompass/datasets/chemcotbench/chemcotbench_mol_und.py"),
    Departure(
        "tablebench.data_analysis_groups", ("tablebench_data_analysis",), "aggregation",
        "mean over 5 OpenCompass datasets: CorrelationAnalysis, TrendForecasting, StatisticalAnalysis "
        "(10% tolerance), ImpactAnalysis (EM) and 'other' = every DataAnalysis item scored by ROUGE-L",
        "TableBench's own script: each item by its qsubtype's metric, averaged over items",
        f"{_OC}: opencompass/configs/datasets/tablebench/tablebench_data_analysis_gen.py; {_RD}: "
        "rdagent/app/finetune/llm/ui/benchmarks/tablebench.py"),
    # ------------------------------------------------------------------ item rules
    Departure(
        "par4pc.pooled_f1_no_silver", ("panorama_par4pc",), "item",
        "'macro_f1' is a pooled F1 over all items' TP/FP/FN; silver letters are not passed to the "
        "evaluator (reader output_column = gold_answers), so a predicted silver letter is a false positive",
        "macro-F1 over the letters A-H of the group (scikit-learn), letters absent from golds and "
        "predictions left out",
        f"{_OC}: opencompass/datasets/panorama/panorama_par4pc.py (PAR4PCEvaluator), "
        "opencompass/configs/datasets/panorama/panorama_par4pc_gen.py"),
    Departure(
        "par4pc.custom_score_silver", ("panorama_par4pc",), "item",
        "item score (custom score) counts a predicted silver letter as a false positive (silver not passed)",
        "PANORAMA's custom score: a predicted silver letter is not a false positive",
        f"{_OC}: opencompass/configs/datasets/panorama/panorama_par4pc_gen.py (output_column)"),
    Departure(
        "noc4pc.drop_unreadable_all_labels", ("panorama_noc4pc",), "item",
        "items whose code cannot be read are dropped before the F1; macro-F1 averages over all three "
        "labels 102, 103, ALLOW (an absent label scores 0)",
        "an unreadable code is a wrong prediction; labels absent from golds and predictions left out",
        f"{_OC}: opencompass/datasets/panorama/panorama_noc4pc.py (NOC4PCEvaluator)"),
    Departure(
        "reaction.answer_keys", ("chemcotbench_reaction",), "item",
        "rcr reads the JSON key 'condition' (then 'answer'), nepp 'output' (then 'answer')",
        "the keys ChemCoTBench's prompts ask for: rcr 'SMILES', nepp 'pred_smi' (then 'output', 'answer')",
        f"{_OC}: opencompass/datasets/chemcotbench/chemcotbench_reaction.py (_extract_answer_from_response)"),
    Departure(
        "reaction.retro_gold_unrepaired", ("chemcotbench_reaction",), "item",
        "retro (and two fs) golds are compared as the hub stores them: molecule lists joined without '.', "
        "canonicalised as one SMILES (isomericSmiles=False), so most retro items cannot match",
        "golds as '.'-joined molecule sets (the raw reactant lists, else repaired), compared as sets of "
        "canonical molecules",
        f"{_OC}: opencompass/datasets/chemcotbench/chemcotbench_reaction.py (load, _score_smiles)"),
    Departure(
        "tablebench.em_normalisation", _TB, "item",
        "exact match of the text after the first 'Final Answer:' (whole output without one), lower-cased "
        "with punctuation replaced by spaces: '1,250' != '1250', '69.0' != '69'",
        "answer lists compared element by element, numbers as numbers ('1,250' = '1250', '69.0' = '69', "
        "'37.6%' = '37.6'), last 'Final Answer:' line",
        f"{_OC}: opencompass/datasets/tablebench/tablebench.py (TableBenchEvaluator."
        "_exact_match_score_with_final_answer, _normalize_answer)"),
    Departure(
        "tablebench.tolerance_first_number", ("tablebench_data_analysis",), "item",
        "10% tolerance on the first number of the first 'Final Answer:' line only (string equality when "
        "either side has no number)",
        "every element of the answer list within 10% (numbers) or equal (text), list lengths equal",
        f"{_OC}: opencompass/datasets/tablebench/tablebench.py (TableBenchNumericalWithPercenteErrorEvaluator)"),
    Departure(
        "tablebench.rouge_first_line", ("tablebench_data_analysis",), "item",
        "ROUGE-L of the first 'Final Answer:' line, lower-cased, with the 'rouge' package",
        "ROUGE-L (rouge-score) of everything after the last 'Final Answer:' marker",
        f"{_OC}: opencompass/datasets/tablebench/tablebench.py (TableBenchRougeEvaluator)"),
    # ------------------------------------------------------------------ known, not yet reproduced
    Departure(
        "aime.llm_judge", ("aime2025",), "judge",
        "math-verify first, then an LLM judge on the items the rule fails (CascadeEvaluator; judge model "
        "gpt-5.1 by default in RD-Agent's conf.py, ours: DojoSettings.judge_backbone, else the run's "
        "backbone; on when DojoSettings.llm_judge, as at the paper scale)",
        "math-verify only",
        f"{_OC}: opencompass/configs/datasets/aime2025/aime2025_cascade_eval_gen_5e9f4f.py, "
        f"opencompass/evaluator/cascade_evaluator.py; {_RD}: rdagent/scenarios/finetune/benchmark/data/adaptor.py, "
        "rdagent/app/finetune/llm/conf.py"),
    Departure(
        "tablebench.visualization_capture", ("tablebench_visualization",), "item",
        "only the y arguments of positional plt.bar(x, y), plt.scatter(x, y) and plt.plot(x, y, ...) calls "
        "are captured and compared with the y_references series (same number of series, same lengths, "
        "|difference| <= 0.01); pie, barh, ax.* and DataFrame.plot charts cannot pass, nor can references "
        "holding np.nan; the code is the last ```python block or the whole output",
        "the chart's data read from the figure's artists (bars, wedges, lines, points, areas) as the chart "
        "type needs, compared as a multiset (pie as fractions)",
        f"{_OC}: opencompass/datasets/tablebench/tablebench.py (TableBenchVisualizationEvaluator._execute_code, "
        "_compare_data_arrays)"),
    Departure(
        "chemcot.fg_definitions_esol", ("chemcotbench_mol_edit", "chemcotbench_mol_opt"), "item",
        "hydroxyl = any OH oxygen (acids included), carboxyl = the neutral acid only, amine = any N(H) not bonded "
        "to a carbonyl carbon, benzene ring = six aromatic atoms in one ring; solubility by the ESOL refit "
        "(0.2612 - 0.7417 logP - 0.00661 MW + 0.00345 RB - 0.4262 AP)",
        "our group SMARTS (hydroxyl on carbon not in an acid, carboxyl incl. carboxylate, amine not amide-like "
        "or N-heteroatom, any benzene ring) and Delaney's ESOL (0.16 - 0.63 logP - 0.0062 MW + 0.066 RB - 0.74 AP)",
        f"{_OC}: opencompass/datasets/chemcotbench/chemcotbench_mol_edit.py (GROUP_TO_SMARTS), "
        "chemcotbench_mol_opt.py (ESOLCalculator); groups only the fork knows (anhydride, thioether, sulfide, "
        "...) are not added"),
    Departure(
        "mol_und.official_item_metrics", ("chemcotbench_mol_und",), "item",
        "per-subset metrics of the fork: fg_count/ring_count MAE, Murcko_scaffold mean Tanimoto similarity",
        "count accuracy and scaffold exact match",
        f"{_OC}: opencompass/datasets/chemcotbench/chemcotbench_mol_und.py (ChemCoTBenchMolUndEvaluator)",
        reproduced=False),
    Departure(
        "panorama.answer_extraction", ("panorama_par4pc", "panorama_pi4pc", "panorama_noc4pc"), "item",
        "the whole output (or its first code block) parsed as one JSON object, then regular expressions, "
        "then guesses: PAR4PC any standalone letter A-H, case-insensitive (the article 'a' reads as A); "
        "PI4PC the first number; NOC4PC the first of ALLOW/102/103 found anywhere ('allowed' reads ALLOW)",
        "the last JSON object of the output that has the answer key (or an unclosed one cut at the budget); "
        "no free-text guessing",
        f"{_OC}: opencompass/datasets/panorama/panorama_par4pc.py, panorama_pi4pc.py "
        "(_extract_answer_from_response), panorama_noc4pc.py (_extract_code_from_response)"),
    Departure(
        "chemcot.answer_extraction", ("chemcotbench_mol_und", "chemcotbench_reaction"), "item",
        "<think> removed, the first code block (else the output) without newlines parsed as JSON, then "
        "regular expressions: counts any number, Yes/No any 'yes' or 'no' word, mechsel any single capital "
        "letter; compared as text (counts, Yes/No, rcr) or by InChI (fs, retro, nepp); Murcko_scaffold "
        "keeps our scaffold match",
        "the last JSON object with the subtask's key; counts as integers, SMILES as sets of canonical molecules",
        f"{_OC}: opencompass/datasets/chemcotbench/chemcotbench_mol_und.py, chemcotbench_reaction.py "
        "(_extract_answer_from_response)"),
    Departure(
        "chemcot.answer_extraction_edit_opt", ("chemcotbench_mol_edit", "chemcotbench_mol_opt"), "item",
        "the fork's own extraction of the edited or optimised molecule",
        "the last JSON object with the subtask's key",
        f"{_OC}: opencompass/datasets/chemcotbench/chemcotbench_mol_edit.py, chemcotbench_mol_opt.py",
        reproduced=False),
    Departure(
        "generation.caps", (*_CHEM, *_TB, "tablebench_visualization"), "generation",
        "max_out_len of the fork's dataset configs: chemistry 1,024 tokens, TableBench 4,096 (charts 16,384); "
        "the model's 8,192 elsewhere; applied at the paper scale when the run's profile is paper (generation "
        "is shared, so the run's profile decides)",
        "the task YAML's max_new_tokens (paper scale 8,192)",
        f"{_OC}: opencompass/configs/datasets/{{chemcotbench,tablebench}}/*_gen.py (GenInferencer max_out_len), "
        f"opencompass/tasks/openicl_infer.py (the dataset's value wins); {_RD}: "
        "rdagent/scenarios/finetune/benchmark/configs/models.yaml"),
    Departure(
        "generation.prompts", ("financeiq", "panorama_par4pc", "panorama_pi4pc", "panorama_noc4pc", *_TB,
                               "tablebench_visualization"), "generation",
        "the fork's prompt templates (FinanceIQ's Chinese 5-shot template, PANORAMA's prompts, TableBench's "
        "TCoT instruction plus task hints)",
        "the task YAML's prompts (ours, same answer formats)",
        f"{_OC}: opencompass/configs/datasets/{{FinanceIQ,panorama,tablebench}}/*_gen.py; not copied by project "
        "policy (no prompt text from another project), so both profiles generate from our prompts",
        reproduced=False),
)

_BY_NAME = {d.name: d for d in DEPARTURES}


def departure(name: str) -> Departure:
    """The departure called ``name``.

    Raises:
        KeyError: no such rule (a programming error: rule names are fixed in :data:`DEPARTURES`).
    """
    return _BY_NAME[name]


def applies(name: str, profile: ScoringProfile) -> bool:
    """Whether rule ``name`` is in force: the ``paper`` profile and a reproduced rule.

    Raises:
        KeyError: no such rule.
    """
    return profile == "paper" and departure(name).reproduced


def check_profile(profile: str) -> ScoringProfile:
    """``profile`` if it names a profile.

    Raises:
        ValueError: unknown profile (one line, lists the known ones).
    """
    if profile not in PROFILES:
        raise ValueError(f"unknown scoring profile {profile!r} (known: {', '.join(PROFILES)})")
    return profile  # type: ignore[return-value]


def departures_markdown() -> str:
    """The docs table of every departure (``docs/scoring.md``), one row per rule."""
    rows = ["| rule | tasks | kind | paper profile (the paper's evaluator) | benchmark profile | "
            "official source | status |", "|---|---|---|---|---|---|---|"]
    for d in DEPARTURES:
        cell = lambda s: s.replace("|", "\\|")  # noqa: E731
        rows.append(f"| `{d.name}` | {', '.join(d.tasks)} | {d.kind} | {cell(d.paper)} | {cell(d.benchmark)} | "
                    f"{cell(d.source)} | {'reproduced' if d.reproduced else 'not yet reproduced'} |")
    return "\n".join(rows) + "\n"
