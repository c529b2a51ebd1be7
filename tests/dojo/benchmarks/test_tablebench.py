"""TableBench tasks: the four qtypes load, prompt, score and generate mini data; the real golds score 1."""

from __future__ import annotations

import json
import random

import pytest

from ftagent.dojo.benchmarks import get_benchmark
from ftagent.dojo.benchmarks import tablebench_mini as mini
from ftagent.dojo.benchmarks.tablebench import EVAL_FILE, MINI_INSTRUCTION, MINI_VIS_INSTRUCTION
from ftagent.dojo.repository import generate_mini_data
from ftagent.errors import DataError

TASKS = ["tablebench_fact_checking", "tablebench_numerical_reasoning", "tablebench_data_analysis",
         "tablebench_visualization"]


def test_all_four_tasks_are_runnable(all_tasks):
    for tid in TASKS:
        assert get_benchmark(all_tasks[tid]).unsupported_reason() is None, tid


def test_compact_prompts_are_the_mini_instructions(all_tasks):
    for tid in TASKS[:3]:
        assert all_tasks[tid].prompt.compact == MINI_INSTRUCTION
    assert all_tasks["tablebench_visualization"].prompt.compact == MINI_VIS_INSTRUCTION


def test_full_prompts_render(all_tasks, tmp_path):
    for tid in TASKS:
        bench = get_benchmark(all_tasks[tid])
        bench.write_mini(tmp_path, random.Random(0))
        item = next(iter(bench.load_subsets(tmp_path).values()))[0]
        text = bench.render(item, "full")
        assert item.fields["question"] in text and "[TABLE]" in text
        assert ("plt.show()" if tid.endswith("visualization") else "Final Answer:") in text


@pytest.mark.parametrize("tid", TASKS[:3])
def test_mini_items_score_one_with_the_reference(all_tasks, tmp_path, tid):
    spec = all_tasks[tid]
    bench = get_benchmark(spec)
    bench.write_mini(tmp_path, random.Random(1))
    subsets = bench.load_subsets(tmp_path)
    assert set(subsets) == set(spec.eval_source.subsets)
    for items in subsets.values():
        for it in items:
            assert bench.score(bench.reference_output(it), it).score == 1.0, (it.subset, it.answer)


def test_mini_answers_are_computed_from_the_table():
    rng = random.Random(3)
    for _ in range(50):
        table, q, a = mini.numerical_reasoning(rng, "Aggregation")
        c = table["columns"].index(q.split("total ")[1].split(" of")[0])
        assert int(a) == sum(int(r[c]) for r in table["data"])
        table, q, a = mini.data_analysis(rng, "TrendForecasting")
        v = [int(r[1]) for r in table["data"]]
        assert int(a) == v[-1] + (v[1] - v[0])
        label, r = mini.data_analysis(rng, "CorrelationAnalysis")[2].rsplit(", ", 1)
        assert label == mini._corr_label(float(r))


def test_mini_generation_keeps_other_qtypes(all_tasks, tmp_path):
    generate_mini_data([all_tasks[t] for t in TASKS], tmp_path)
    rows = [json.loads(x) for x in (tmp_path / EVAL_FILE).read_text().splitlines()]
    counts = {q: sum(r["qtype"] == q for r in rows) for q in
              ("FactChecking", "NumericalReasoning", "DataAnalysis", "Visualization")}
    assert counts == {"FactChecking": 80, "NumericalReasoning": 160, "DataAnalysis": 140, "Visualization": 24}
    raw = (tmp_path / "tableinstruct" / "TableInstruct_instructions.jsonl").read_text().splitlines()
    assert len(raw) == 1800 and "plt.show()" in json.loads(raw[-1])["response"]


def test_mini_visualization_scripts_pass(all_tasks, tmp_path):
    bench = get_benchmark(all_tasks["tablebench_visualization"])
    bench.write_mini(tmp_path, random.Random(2))
    item = bench.load_subsets(tmp_path)["ChartGeneration"][0]
    col = item.fields["question"].split("of the ")[1].split(" of each")[0]
    assert bench.score(mini.VIS_CODE.format(col=col), item).score == 1.0        # the mini training script
    assert bench.score(bench.reference_output(item), item).score == 1.0         # the literal reference script
    assert bench.score("Final Answer: 3", item).reason == "no python code in the output"


def test_loader_errors_name_file_and_task(all_tasks, tmp_path):
    bench = get_benchmark(all_tasks["tablebench_visualization"])
    path = tmp_path / EVAL_FILE
    path.parent.mkdir(parents=True)
    row = {"qtype": "Visualization", "qsubtype": "ChartGeneration", "table": {"columns": [], "data": []},
           "question": "q", "answer": "y_references = [[1]]"}
    path.write_text(json.dumps(row) + "\n")
    with pytest.raises(DataError, match=r"tablebench_visualization: .*\.jsonl line 1 lacks \['chart_type'\]"):
        bench.load_subsets(tmp_path)
    path.write_text(json.dumps({**row, "chart_type": "sunburst"}) + "\n")
    with pytest.raises(DataError, match="unknown chart_type 'sunburst'"):
        bench.load_subsets(tmp_path)


# --------------------------------------------------------------------------------- real data
QTYPE_COUNTS = {"tablebench_fact_checking": 96, "tablebench_numerical_reasoning": 397,
                "tablebench_data_analysis": 343, "tablebench_visualization": 50}


@pytest.mark.mirror_data
@pytest.mark.parametrize("tid", TASKS[:3])
def test_real_golds_score_one(all_tasks, mirror_dir, tid):
    bench = get_benchmark(all_tasks[tid])
    subsets = bench.load_subsets(mirror_dir)
    assert sum(map(len, subsets.values())) == QTYPE_COUNTS[tid]
    assert set(subsets) == set(all_tasks[tid].eval_source.subsets)
    for items in subsets.values():
        for it in items:
            assert bench.score(bench.reference_output(it), it).score == 1.0, (it.id, it.answer)


def _real_vis(all_tasks, mirror_dir):
    bench = get_benchmark(all_tasks["tablebench_visualization"])
    items = bench.load_subsets(mirror_dir)["ChartGeneration"]
    assert len(items) == QTYPE_COUNTS["tablebench_visualization"]
    return bench, items


@pytest.mark.mirror_data
def test_real_visualization_reference_values_pass_for_every_chart_type(all_tasks, mirror_dir):
    bench, items = _real_vis(all_tasks, mirror_dir)
    first = {}
    for it in items:
        first.setdefault(it.fields["chart_type"], it)
    assert set(first) == {"bar", "line", "pie", "radar", "scatter", "waterfall", "hbar", "area"}
    for kind, it in first.items():
        s = bench.score(bench.reference_output(it), it)
        assert s.score == 1.0, (kind, s.reason)


#: Scripts written for three real items, the way a model should: read table.csv, compute, draw.
REAL_SCRIPTS = {
    "record high recorded in celsius": """
months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']
row = df[df['Month'] == 'Record high °F (°C)'].iloc[0]
plt.bar(months, [float(str(row[m]).split('(')[1].rstrip(')')) for m in months])
""",
    "proportions of all species in Costa Rica": """
kinds = ['Amphibians', 'Birds', 'Mammals', 'Reptile', 'Vascular plants']
row = df[df['Country'] == 'Costa Rica'].iloc[0]
plt.pie([float(row[k]) for k in kinds], labels=kinds, autopct='%1.1f%%')
""",
    "number of spectators and the dates": """
plt.plot(df['Date'], df['Spectators'].str.replace(',', '').astype(int), marker='o')
plt.xticks(rotation=45)
""",
}


@pytest.mark.mirror_data
def test_real_visualization_scripts_reading_the_table_pass(all_tasks, mirror_dir):
    bench, items = _real_vis(all_tasks, mirror_dir)
    for key, body in REAL_SCRIPTS.items():
        it = next(i for i in items if key in i.fields["question"])
        head = "import pandas as pd\nimport matplotlib.pyplot as plt\ndf = pd.read_csv('table.csv')\n"
        code = f"```python\n{head}{body}plt.show()\n```"
        s = bench.score(code, it)
        assert s.score == 1.0, (key, s.reason)
