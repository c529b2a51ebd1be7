"""Task specs: all 13 FT-Dojo tasks declared; malformed YAML gives a one-line error naming the field."""

from __future__ import annotations

import pytest

from ftagent.dojo.taskspec import METRICS, get_task, load_task_file, load_tasks
from ftagent.errors import TaskError

PAPER_TASKS = {
    "aime2025": "math",
    "panorama_par4pc": "patent", "panorama_pi4pc": "patent", "panorama_noc4pc": "patent",
    "chemcotbench_mol_und": "chemistry", "chemcotbench_mol_edit": "chemistry",
    "chemcotbench_mol_opt": "chemistry", "chemcotbench_reaction": "chemistry",
    "financeiq": "finance",
    "tablebench_data_analysis": "table_qa", "tablebench_fact_checking": "table_qa",
    "tablebench_numerical_reasoning": "table_qa", "tablebench_visualization": "table_qa",
}


def test_all_thirteen_tasks_declared():
    tasks = load_tasks()
    assert {t: s.domain for t, s in tasks.items()} == PAPER_TASKS
    for spec in tasks.values():
        assert spec.metric.name in METRICS
        assert spec.raw_sources and spec.description.strip()


def test_unknown_task_lists_known_ids():
    with pytest.raises(TaskError, match="unknown task 'nope'.*aime2025"):
        get_task("nope")


GOOD = """id: t1
title: T
domain: math
benchmark: aime
description: d
metric: {name: accuracy}
eval_source: {hub: {repo: a/b}, path: x.jsonl}
prompt: {template: "{question}"}
raw_sources: [deepscaler]
"""


@pytest.mark.parametrize(("text", "message"), [
    (GOOD.replace("domain: math\n", ""), "missing field 'domain'"),
    (GOOD.replace("metric: {name: accuracy}", "metric: {name: vibes}"), "unknown metric 'vibes'"),
    (GOOD + "colour: blue\n", "unknown field 'colour'"),
    (GOOD.replace("domain: math", "domain: poetry"), "field 'domain'"),
    ("id: [unclosed\n", "not valid YAML"),
    ("- a list\n", "expected a mapping"),
])
def test_malformed_task_yaml_names_the_problem(tmp_path, text, message):
    path = tmp_path / "t1.yaml"
    path.write_text(text)
    with pytest.raises(TaskError, match=message) as err:
        load_task_file(path)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


def test_id_must_match_file_name(tmp_path):
    path = tmp_path / "other.yaml"
    path.write_text(GOOD)
    with pytest.raises(TaskError, match="file is named 'other.yaml'"):
        load_task_file(path)


def test_paper_generation_caps_apply_only_at_the_paper_scale_under_the_paper_profile(all_tasks):
    """The fork's max_out_len (rule generation.caps): chemistry 1,024, TableBench 4,096, charts 16,384."""
    mol_und, vis, aime = (all_tasks[t] for t in ("chemcotbench_mol_und", "tablebench_visualization", "aime2025"))
    assert mol_und.generation_cap("paper", "paper") == 1024
    assert mol_und.generation_cap("paper", "benchmark") == mol_und.max_new_tokens["paper"] == 8192
    assert mol_und.generation_cap("mini", "paper") == mol_und.max_new_tokens["mini"]
    assert vis.generation_cap("paper", "paper") == 16384
    assert aime.generation_cap("paper", "paper") == 8192  # no dataset cap: the model's max_out_len
