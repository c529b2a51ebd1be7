"""Scoring profiles: the rule table, and golden cases per task under ``paper`` and ``benchmark``.

Expected values are worked out by hand from the official evaluators' documented behaviour; each case
cites the source (file of the Jensen246/opencompass fork, RD-Agent or the benchmark's own repository)
whose docstring, comment or formula it follows. The fork ships no evaluator test files (its
``benchmark_test/`` folder held only configs and was removed in d2c7bb24), so documented examples are
the reference.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ftagent.dojo.benchmarks import get_benchmark
from ftagent.dojo.benchmarks.base import EvalItem
from ftagent.dojo.harness import aggregate, score_outputs
from ftagent.dojo.taskspec import get_task
from ftagent.eval.profiles import DEPARTURES, PROFILES, applies, check_profile, departures_markdown

ROOT = Path(__file__).resolve().parents[2]


def bench(task):
    return get_benchmark(get_task(task))


def item(subset, answer, **fields):
    return EvalItem(id=f"{subset}-{json.dumps(answer)}-{len(fields)}", subset=subset, fields=fields, answer=answer)


def both(task, output, it):
    b = bench(task)
    return {p: b.score(output, it, p).score for p in PROFILES}


# ------------------------------------------------------------------------------ the rule table
def test_docs_table_is_the_rule_table():
    text = (ROOT / "docs" / "scoring.md").read_text(encoding="utf-8")
    assert departures_markdown() in text, "docs/scoring.md is out of date: paste departures_markdown()"


def test_rules_are_named_once_and_sourced(all_tasks):
    names = [d.name for d in DEPARTURES]
    assert len(names) == len(set(names))
    for d in DEPARTURES:
        assert d.source and ("opencompass" in d.source or "RD-Agent" in d.source)
        assert set(d.tasks) <= set(all_tasks), d.name
    assert applies("par4pc.pooled_f1_no_silver", "paper") and not applies("par4pc.pooled_f1_no_silver", "benchmark")
    assert not applies("generation.prompts", "paper")  # not yet reproduced: never silently on
    with pytest.raises(ValueError, match="unknown scoring profile 'papers'"):
        check_profile("papers")


# ------------------------------------------------------------------------------ PANORAMA
def test_par4pc_pooled_f1_and_silver():
    """PAR4PCEvaluator.score (opencompass/datasets/panorama/panorama_par4pc.py): "Custom Score:
    (TP*2 - FP - FN) / (gold*2)", FP = predictions not in gold or silver, and "macro_f1" = 2PR/(P+R) of
    the summed TP/FP/FN; silver is empty because panorama_par4pc_gen.py sets output_column='gold_answers'."""
    b = bench("panorama_par4pc")
    items = [item("default", ["A", "B"], silver=["C"]), item("default", ["D"], silver=[])]
    outs = ['{"answer": "A,C"}', '{"answer": "D"}']
    ev = score_outputs(b, items, outs)
    # item 1: benchmark TP1 FP0 FN1 -> (2-0-1)/4 = 0.25; paper: C is a false positive -> (2-1-1)/4 = 0
    assert ev.scores_by_profile["benchmark"][0].score == pytest.approx(0.25)
    assert ev.scores_by_profile["paper"][0].score == 0.0
    # paper: TP 2, FP 1, FN 1 -> P = R = 2/3 -> F1 66.67; benchmark: macro over letters A,B,C,D = (1+0+0+1)/4
    assert ev.by_profile["paper"].score == pytest.approx(66.6667, abs=1e-3)
    assert ev.by_profile["benchmark"].score == pytest.approx(50.0)


def test_noc4pc_unreadable_dropped_and_three_labels():
    """NOC4PCEvaluator.score (panorama_noc4pc.py): "Filter out None predictions for metric calculation",
    then f1_score(labels=['102', '103', 'ALLOW'], average='macro')."""
    b = bench("panorama_noc4pc")
    items = [item("default", "102"), item("default", "103")]
    ev = score_outputs(b, items, ['{"reason": "x", "code": "102"}', "I cannot tell."])
    # paper: only item 1 is left: F1(102)=1, 103 and ALLOW score 0 -> 1/3; benchmark: (1 + 0)/2 over 102, 103
    assert ev.by_profile["paper"].score == pytest.approx(33.3333, abs=1e-3)
    assert ev.by_profile["benchmark"].score == pytest.approx(50.0)


def test_pi4pc_gold_hit_is_the_same():
    """PI4PCEvaluator (panorama_pi4pc.py): gold hit = the predicted paragraph is in the gold set."""
    it = item("default", [17], silver=[18], option_keys=[17, 18, 19])
    assert both("panorama_pi4pc", '{"answer": 17}', it) == {"paper": 1.0, "benchmark": 1.0}
    assert both("panorama_pi4pc", '{"answer": 18}', it) == {"paper": 0.0, "benchmark": 0.0}


# ------------------------------------------------------------------------------ TableBench
@pytest.mark.parametrize(("output", "gold", "paper", "benchmark"), [
    ("Final Answer: 1,250", "1250", 0.0, 1.0),   # _normalize_answer: punctuation -> space ("1 250")
    ("Final Answer: 69.0", "69", 0.0, 1.0),      # "69 0" != "69"
    ("Final Answer: Yes", "yes", 1.0, 1.0),      # lower-cased in both
    ("Final Answer: 12\nFinal Answer: 13", "13", 0.0, 1.0),  # the first marker (paper) vs the last
])
def test_tablebench_exact_match(output, gold, paper, benchmark):
    """TableBenchEvaluator._exact_match_score_with_final_answer and _normalize_answer
    (opencompass/datasets/tablebench/tablebench.py: "Remove punctuation and extra whitespace")."""
    for task in ("tablebench_numerical_reasoning", "tablebench_fact_checking"):
        it = item(task.split("_", 1)[1], gold)
        assert both(task, output, it) == {"paper": paper, "benchmark": benchmark}


def test_tablebench_tolerance_reads_the_first_number():
    """TableBenchNumericalWithPercenteErrorEvaluator._parse_number: "Try to extract the first number (for
    multi-value answers like "979000, 3")"; TableBench's own EM_with_error_10 compares the whole list."""
    it = item("CorrelationAnalysis", "0.80", qsubtype="CorrelationAnalysis")
    assert both("tablebench_data_analysis", "Final Answer: 0.85, strong positive", it) == {
        "paper": 1.0, "benchmark": 0.0}
    assert both("tablebench_data_analysis", "Final Answer: 0.95", it) == {"paper": 0.0, "benchmark": 0.0}


def test_tablebench_data_analysis_headline():
    """tablebench_data_analysis_gen.py: five datasets, 'other' = qtype DataAnalysis without a qsubtype
    filter, scored by TableBenchRougeEvaluator; RD-Agent's TableBenchProcessor averages their 'accuracy'.
    TableBench's eval_tablebench_script.py (eval_by_type) weights the three metric groups by items."""
    b = bench("tablebench_data_analysis")
    a = item("ImpactAnalysis", "Positive impact", qsubtype="ImpactAnalysis")
    a_other = EvalItem(id=a.id, subset="other", fields=a.fields, answer=a.answer)  # the same item again
    c = EvalItem(id="c", subset="other", fields={"qsubtype": "CausalAnalysis"}, answer="sales rise with price")
    items, outs = [a, a_other, c], ["Final Answer: Positive impact"] * 2 + ["Final Answer: nothing"]
    ev = score_outputs(b, items, outs)
    # paper: ImpactAnalysis EM 1; other = mean(ROUGE-L 1, ROUGE-L 0) = 0.5 -> headline (1 + 0.5) / 2
    assert ev.by_profile["paper"].subsets == {"ImpactAnalysis": 100.0, "other": 50.0}
    assert ev.by_profile["paper"].score == pytest.approx(75.0)
    # benchmark: each item once: EM 1 (Impact), ROUGE-L 0 (Causal) -> 50
    assert ev.by_profile["benchmark"].score == pytest.approx(50.0)


# ------------------------------------------------------------------------------ ChemCoTBench
def test_mol_opt_headline_counts_the_oracle_subsets_as_zero():
    """chemcotbench_mol_opt_gen.py runs drd, gsk, jnk, logp, qed, solubility; without PyTDC the oracle
    subsets score 0 and RD-Agent's ChemCotBenchProcessor averages all six 'success_rate' values."""
    b = bench("chemcotbench_mol_opt")
    subsets = {"logp": 1.0, "qed": 0.5, "solubility": 0.0}
    assert b.headline(subsets, [], [], "paper") == pytest.approx(1.5 / 6)
    assert b.headline(subsets, [], [], "benchmark") == pytest.approx(0.5)


def test_mol_und_headline_reads_the_keys_the_ui_knows():
    """ChemCotBenchProcessor.CORE_METRICS wants accuracy/accuracy/scaffold_hard/score/accuracy; the fork's
    ChemCoTBenchMolUndEvaluator returns 'mae' (counts), a Tanimoto key (Murcko) and 'accuracy'
    (ring_system_scaffold, equivalence): only equivalence is read."""
    b = bench("chemcotbench_mol_und")
    subsets = {"fg_count": 1.0, "ring_count": 1.0, "Murcko_scaffold": 1.0, "ring_system_scaffold": 1.0,
               "equivalence": 0.2}
    assert b.headline(subsets, [], [], "paper") == pytest.approx(0.2)
    assert b.headline(subsets, [], [], "benchmark") == pytest.approx(0.84)


def test_reaction_answer_keys_and_hub_golds():
    """chemcotbench_reaction.py _extract_answer_from_response: rcr data.get('condition', answer), nepp
    data.get('output', answer); _score_smiles compares one SMILES per side by InChI (the hub's retro
    gold joins the reactants without '.')."""
    rcr = item("rcr", "THF")
    assert both("chemcotbench_reaction", '{"condition": "THF"}', rcr) == {"paper": 1.0, "benchmark": 0.0}
    nepp = item("nepp", "CCO")
    assert both("chemcotbench_reaction", '{"pred_smi": "CCO"}', nepp) == {"paper": 0.0, "benchmark": 1.0}
    assert both("chemcotbench_reaction", '{"output": "OCC"}', nepp) == {"paper": 1.0, "benchmark": 1.0}
    retro = item("retro", "CCO.CC(=O)O", hub_gold="CCOCC(=O)O")
    assert both("chemcotbench_reaction", '{"Reactants": "CC(=O)O.CCO"}', retro) == {"paper": 0.0, "benchmark": 1.0}


# ------------------------------------------------------------------------------ tasks without a reproduced rule
@pytest.mark.parametrize("task", ["aime2025", "financeiq"])
def test_profiles_agree_where_no_rule_applies(task, mini_data):
    b = bench(task)
    from ftagent.dojo.heldout import heldout

    items = heldout(b, mini_data, "validation").limit(3).items
    outs = [b.reference_output(it) for it in items[:-1]] + ["no answer"]
    ev = score_outputs(b, items, outs)
    assert [s.score for s in ev.scores_by_profile["paper"]] == [s.score for s in ev.scores_by_profile["benchmark"]]
    assert ev.by_profile["paper"] == ev.by_profile["benchmark"] == aggregate(b, items, ev.scores)


# ------------------------------------------------------------------ TableBench Visualization
def test_visualization_paper_captures_only_pyplot_bar_plot_scatter(mini_data):
    """TableBenchVisualizationEvaluator._execute_code patches plt.bar, plt.plot and plt.scatter and keeps
    args[1] of each call; _compare_data_arrays wants as many series as y_references, values within 1e-2."""
    b = bench("tablebench_visualization")
    from ftagent.dojo.heldout import heldout

    it = heldout(b, mini_data, "validation").items[0]
    ys = json.dumps([float(v) for v in __import__("ftagent.eval.scorers.chart", fromlist=["x"]).parse_reference(
        str(it.answer))])
    pyplot_bar = f"```python\nimport matplotlib.pyplot as plt\ny = {ys}\nplt.bar(range(len(y)), y)\nplt.show()\n```"
    axes_bar = (f"```python\nimport matplotlib.pyplot as plt\ny = {ys}\nfig, ax = plt.subplots()\n"
                "ax.bar(range(len(y)), y)\nplt.show()\n```")
    keyword_bar = (f"```python\nimport matplotlib.pyplot as plt\ny = {ys}\n"
                   "plt.bar(x=range(len(y)), height=y)\nplt.show()\n```")
    assert both("tablebench_visualization", pyplot_bar, it) == {"paper": 1.0, "benchmark": 1.0}
    assert both("tablebench_visualization", axes_bar, it) == {"paper": 0.0, "benchmark": 1.0}
    assert both("tablebench_visualization", keyword_bar, it) == {"paper": 0.0, "benchmark": 1.0}


# ------------------------------------------------------------------ the fork's answer extraction
@pytest.mark.parametrize(("task", "output", "gold", "paper", "benchmark"), [
    # panorama_par4pc.py, last resort: re.findall(r'\b([A-H])\b', response, re.IGNORECASE); "a" reads as A
    ("panorama_par4pc", "I think a combination of B and C", ["A", "B", "C"], 1.0, 0.0),
    # panorama_pi4pc.py, last resort: "Return the first number found"
    ("panorama_pi4pc", "Paragraph 17 discloses it; see also 18.", [17], 1.0, 0.0),
    # panorama_noc4pc.py, last resort: the first of ALLOW/102/103 that occurs in response.upper()
    ("panorama_noc4pc", "The claim should be allowed.", "ALLOW", 1.0, 0.0),
    ("panorama_noc4pc", "Not allowed: anticipated under 102.", "102", 0.0, 0.0),
])
def test_panorama_extraction(task, output, gold, paper, benchmark):
    it = item("default", gold, silver=[], option_keys=[17, 18, 19]) if task != "panorama_noc4pc" else item(
        "default", gold)
    assert both(task, output, it) == {"paper": paper, "benchmark": benchmark}


@pytest.mark.parametrize(("subset", "output", "gold", "paper", "benchmark"), [
    # chemcotbench_mol_und.py fallbacks: "Last resort: find any number" / a 'yes' or 'no' word
    ("fg_count", "There are 3 hydroxyl groups.", 3, 1.0, 0.0),
    ("equivalence", "Yes, both SMILES denote the same molecule.", "Yes", 1.0, 0.0),
    ("equivalence", '{"output": "No"}', "No", 1.0, 1.0),
    ("ring_count", '```json\n{"count": 2}\n```', 2, 1.0, 1.0),
])
def test_mol_und_extraction(subset, output, gold, paper, benchmark):
    assert both("chemcotbench_mol_und", output, item(subset, gold)) == {"paper": paper, "benchmark": benchmark}


def test_mechsel_first_capital_letter():
    """chemcotbench_reaction.py _score_classification: the first letter A-Z of the upper-cased choice."""
    it = item("mechsel", "B")
    assert both("chemcotbench_reaction", '{"choice": "b) the second route"}', it)["paper"] == 1.0
    # no JSON: the fallback r'\b([A-Z])\b' finds the standalone B; ours reads only a JSON "choice"
    assert both("chemcotbench_reaction", "Route B is favoured.", it) == {"paper": 1.0, "benchmark": 0.0}


def test_functional_groups_and_esol_of_the_paper():
    """chemcotbench_mol_edit.py GROUP_TO_SMARTS counts any OH as a hydroxyl (acetic acid has one);
    chemcotbench_mol_opt.py ESOLCalculator uses the refit coefficients (hexane -> benzene is a solubility
    gain there, a loss under Delaney's original ESOL)."""
    add_oh = item("add", "", source="CC", added_group="hydroxyl", removed_group=None)
    assert both("chemcotbench_mol_edit", '{"output": "CC(=O)O"}', add_oh) == {"paper": 1.0, "benchmark": 0.0}
    assert both("chemcotbench_mol_edit", '{"output": "CCO"}', add_oh) == {"paper": 1.0, "benchmark": 1.0}
    sol = item("solubility", "", source="CCCCCC")
    assert both("chemcotbench_mol_opt", '{"Final Target Molecule": "c1ccccc1"}', sol) == {
        "paper": 1.0, "benchmark": 0.0}
    assert both("chemcotbench_mol_opt", '{"Final Target Molecule": "CCCCCCO"}', sol) == {
        "paper": 1.0, "benchmark": 1.0}
