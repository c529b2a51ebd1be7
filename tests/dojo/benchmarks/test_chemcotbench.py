"""ChemCoTBench family: mini data -> loader -> split, gold outputs, hub records, raw source, mirror files."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from ftagent.dojo.benchmarks import get_benchmark, get_reader
from ftagent.dojo.benchmarks.chemcotbench import (
    COT_DIR,
    brief,
    molecule_key,
    normalise_cot_record,
    query_inputs,
    to_item,
)
from ftagent.dojo.harness import aggregate
from ftagent.dojo.heldout import heldout
from ftagent.dojo.taskspec import get_task
from ftagent.errors import DataError
from ftagent.eval.scoring import right, wrong

TASKS = ["chemcotbench_mol_und", "chemcotbench_mol_edit", "chemcotbench_mol_opt", "chemcotbench_reaction"]
ORACLES = {"drd", "gsk", "jnk"}


@pytest.fixture(scope="module")
def chem_mini(tmp_path_factory):
    from ftagent.dojo.repository import generate_mini_data

    d = tmp_path_factory.mktemp("chem_mini")
    generate_mini_data([get_task(t) for t in TASKS], d, seed=0)
    return d


@pytest.fixture(scope="module")
def chem_repo(tmp_path_factory, chem_mini):
    from ftagent.dojo.repository import prepare_repository

    d = tmp_path_factory.mktemp("chem_repo")
    info = prepare_repository([get_task(t) for t in TASKS], chem_mini, d)
    return d, info


# ------------------------------------------------------------------------------ mini: load, split
@pytest.mark.parametrize("task", TASKS)
def test_mini_loads_every_subset_in_the_real_layout(chem_mini, task):
    spec = get_task(task)
    bench = get_benchmark(spec)
    subsets = bench.load_subsets(chem_mini)
    assert list(subsets) == spec.eval_source.subsets
    for sub in spec.eval_source.subsets:
        rows = json.loads((chem_mini / spec.eval_source.path / f"{sub}.json").read_text())
        assert set(rows[0]) == {"id", "query", "gt", "task", "subtask", "meta"}
        assert isinstance(rows[0]["meta"], str)
    scored = sum(len(v) for k, v in subsets.items() if k not in ORACLES)
    assert 40 <= scored <= 60


@pytest.mark.parametrize("task", TASKS)
def test_mini_split_is_seeded_and_leaves_out_unavailable_subsets(chem_mini, task):
    bench = get_benchmark(get_task(task))
    val, test = heldout(bench, chem_mini, "validation"), heldout(bench, chem_mini, "test")
    assert heldout(bench, chem_mini, "validation") == val
    assert not ORACLES & set(val.subsets)
    for sub, items in val.subsets.items():
        assert len(items) == len(test.subsets[sub]) == len(bench.load_subsets(chem_mini)[sub]) // 2
        assert not {i.id for i in items} & {i.id for i in test.subsets[sub]}


def test_mini_is_deterministic(tmp_path, chem_mini):
    spec = get_task("chemcotbench_reaction")
    get_benchmark(spec).write_mini(tmp_path, random.Random(f"0:{spec.id}"))  # generate_mini_data's seeding
    rel = "chemcotbench/bench/rxn/retro.json"
    assert (tmp_path / rel).read_text() == (chem_mini / rel).read_text()


@pytest.mark.parametrize("task", TASKS)
def test_gold_reference_outputs_score_one(chem_mini, task):
    bench = get_benchmark(get_task(task))
    for sub, items in bench.load_subsets(chem_mini).items():
        if sub in ORACLES:
            continue
        for it in items:
            s = bench.score(bench.reference_output(it), it)
            assert s.score == 1.0, (it.id, s.reason)


@pytest.mark.parametrize("task", TASKS)
def test_compact_prompts_are_short(chem_mini, task):
    bench = get_benchmark(get_task(task))
    for items in bench.load_subsets(chem_mini).values():
        for it in items:
            text = bench.render(it, "compact")
            assert text == it.fields["brief"] and len(text.split()) < 60 and len(text) < 260


def test_oracle_subsets_are_excluded_with_a_reason(chem_mini):
    bench = get_benchmark(get_task("chemcotbench_mol_opt"))
    reasons = bench.unavailable_subsets()
    assert set(reasons) == ORACLES and all("not available offline" in r for r in reasons.values())
    val = heldout(bench, chem_mini, "validation")
    scores = [right("x") if i % 2 else wrong("no") for i, _ in enumerate(val.items)]
    split = aggregate(bench, val.items, scores)
    assert set(split.subsets) == {"logp", "qed", "solubility"} and split.excluded == reasons
    assert split.score == pytest.approx(sum(split.subsets.values()) / 3)


def test_per_item_rows_keep_validity(chem_mini):
    from ftagent.dojo.harness import SplitEvaluation

    bench = get_benchmark(get_task("chemcotbench_mol_edit"))
    items = heldout(bench, chem_mini, "validation").items[:2]
    outputs = [bench.reference_output(items[0]), '{"output": "C1CC"}']
    scores = [bench.score(o, it) for o, it in zip(outputs, items, strict=True)]
    ev = SplitEvaluation(aggregate(bench, items, scores), items, outputs, scores)
    assert [r["details"]["valid"] for r in ev.per_item()] == [True, False]


# -------------------------------------------------------------------------- hub-layout records
def _rec(subtask, query, gt="", meta=None, rid="x1"):
    return {"id": rid, "query": query, "gt": gt, "task": "t", "subtask": subtask,
            "meta": json.dumps(meta or {})}


def test_hub_record_mol_edit_reads_query_and_meta():
    q = ("You are a chemical assistent. ...\nInput Molecule: O=Cc1cn2c(nc3ccccc32)s1, "
         "Functional Group to delete: "
         "aldehyde, Functional Group to add: carboxyl")
    it = to_item(_rec("sub", q, meta={"reference": "O=C(O)c1cn2c(nc3ccccc32)s1", "removed_group": "aldehyde",
                                      "added_group": "carboxyl"}), "sub", "f")
    assert it.fields["source"] == "O=Cc1cn2c(nc3ccccc32)s1" and it.answer == "O=C(O)c1cn2c(nc3ccccc32)s1"
    assert it.fields["brief"] == ('Swap aldehyde for carboxyl in O=Cc1cn2c(nc3ccccc32)s1. '
                                  'JSON {"output": SMILES}')
    bench = get_benchmark(get_task("chemcotbench_mol_edit"))
    assert bench.score('{"output": "OC(=O)c1cn2c(nc3ccccc32)s1"}', it).score == 1.0


def test_hub_record_gold_repairs():
    # fs: the hub's "Major Product" lost the '.', meta.rxn_smiles keeps it
    gt = json.dumps({"Major Product": "ClN=C(N)c1ccccc1", "Byproduct(s)": "CC(C)(C)O"})
    rec = _rec("fs", "Reactants: Cl.CC\nReagents: O", gt, {"rxn_smiles": "Cl.CC>O>Cl.N=C(N)c1ccccc1"})
    fs = to_item(rec, "fs", "f")
    assert fs.answer == "Cl.N=C(N)c1ccccc1"
    # retro without a reactant list: the joined gold is split when unambiguous, and noted
    retro = to_item(_rec("retro", "Products: CCOC(=O)C1CCC1", "CCOO=C(O)C1CCC1"), "retro", "f")
    assert retro.answer == "CCO.O=C(O)C1CCC1" and "repaired" in retro.fields["gold_note"]


@pytest.mark.parametrize(("subtask", "rec", "msg"), [
    ("fg_count", {"query": "Count", "gt": "many"}, "not an integer"),
    ("equivalence", {"query": "Same?", "gt": "Maybe"}, "not Yes/No"),
    ("nepp", {"query": "Next?", "gt": ""}, "no gold answer"),
    ("fs", {"gt": "CCO"}, "no 'query'"),
])
def test_hub_record_errors_name_the_file(subtask, rec, msg):
    with pytest.raises(DataError, match=msg) as e:
        to_item(rec, subtask, "task t: bench/x.json record 3")
    assert "bench/x.json record 3" in str(e.value)


def test_missing_data_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="evaluation data not found"):
        get_benchmark(get_task("chemcotbench_mol_und")).load_subsets(tmp_path)


def test_query_inputs_and_brief_from_the_benchmark_wording():
    q = ("You are a chemical assistent. Giving you an Input Molecule and a Fragment name ...\n"
         "Input Molecule: CCC(CO)Oc1ccccc1, Fragment Name: side-chain hydroxyls.")
    assert query_inputs(q) == {"mol": "CCC(CO)Oc1ccccc1", "fragment": "side-chain hydroxyls"}
    assert brief("fg_count", q) == 'Count side-chain hydroxyls in CCC(CO)Oc1ccccc1. JSON {"count": n}'
    assert brief("mechsel", "Which option?") == "Which option?"


def test_molecule_key_ignores_wording():
    a = "Add one group.\nInput Molecule: OCC, Functional Group to add: halo."
    b = "You are a chemical assistent ... Input Molecule: CCO, Functional Group to add: halo."
    assert molecule_key(a) == molecule_key(b) == "CCO"
    assert molecule_key("Condensation using BOP") == "Condensation using BOP"  # no molecule: the text


# ------------------------------------------------------------------------------------ raw source
def test_raw_rows_are_normalised():
    fenced = "```json\n" + json.dumps({"Step 1": "parse", "output": "CCO"}) + "\n```"
    row = normalise_cot_record({"id": "1", "query": "Source Molecule: CC.", "struct_cot": json.dumps(fenced),
                                "raw_cot": "...", "meta": "{}"}, "mol_opt", "logp")
    assert row["answer"] == '{"Final Target Molecule": "CCO"}'
    assert row["cot"] == 'Step 1: parse\n{"Final Target Molecule": "CCO"}'
    rcr = normalise_cot_record({"id": "2", "query": "q", "cot_result": '{"output": "x"}', "gt": "CN(C)C=O",
                                "meta": json.dumps({"rxn_cls": "Acylation"})}, "rxn", "rcr")
    assert rcr["answer"] == '{"SMILES": "CN(C)C=O"}' and rcr["struct_cot"] == '{"output": "x"}'
    edit = normalise_cot_record({"query": "q", "struct_cot": "not json", "meta": {"reference": "CCO"}},
                                "mol_edit", "add")
    assert edit["answer"] == '{"output": "CCO"}' and edit["cot"] == 'not json\n{"output": "CCO"}'
    none = normalise_cot_record({"query": "q"}, "mol_und", "fg_count")
    assert none["answer"] == "" and none["cot"] == ""


def test_raw_source_missing_names_the_files(tmp_path):
    with pytest.raises(DataError, match=r"no files chemcotdataset/chemcotbench-cot/<task>/<subtask>\.json"):
        get_reader("chemcot").read(tmp_path)


def test_mini_raw_source_and_leakage_guard(chem_mini, chem_repo):
    rows = get_reader("chemcot").read(chem_mini)
    assert len(rows) > 500 and all(r["answer"] and r["cot"].endswith(r["answer"]) for r in rows)
    assert {r["task"] for r in rows} == {"mol_und", "mol_edit", "mol_opt", "rxn"}
    assert (chem_mini / COT_DIR / "rxn" / "fs.json").exists()
    _, info = chem_repo
    assert info["chemcot"]["available"] and 0 < info["chemcot"]["dropped_by_leakage_guard"] < len(rows) / 2


def test_scripted_data_script_builds_training_records(chem_repo, tmp_path):
    from ftagent.llm.scripted import RECIPES, _data_script

    repo, _ = chem_repo
    ctx = {"datasets": {"chemcot": {}}, "sample_cap": 300, "eval_prompt_template": "{brief}", "iteration": 2}
    (tmp_path / "process.py").write_text(_data_script(ctx, RECIPES[2]))
    env = {**os.environ, "FTDOJO_RAW_DIR": str(repo)}
    subprocess.run([sys.executable, "process.py"], cwd=tmp_path, env=env, check=True, capture_output=True)
    data = json.loads((tmp_path / "data.json").read_text())
    assert len(data) == 300
    assert all(r["instruction"].endswith("}") or "Answer in JSON" in r["instruction"] for r in data)
    assert all(r["output"].rstrip().endswith("}") for r in data)


# ------------------------------------------------------------------------------ real mirror files
@pytest.mark.mirror_data
def test_mirror_reads_full_item_sets(mirror_dir):
    expected = {"fg_count": 100, "ring_count": 20, "Murcko_scaffold": 40, "ring_system_scaffold": 60,
                "equivalence": 100, "add": 20, "delete": 20, "sub": 60, "drd": 100, "gsk": 100, "jnk": 100,
                "logp": 100, "qed": 100, "solubility": 100, "fs": 100, "retro": 100, "rcr": 3, "nepp": 2,
                "mechsel": 2}
    for task in TASKS:
        bench = get_benchmark(get_task(task))
        subsets = bench.load_subsets(Path(mirror_dir))
        for sub, items in subsets.items():
            assert len(items) == expected[sub], sub
            # the head records' real prompts replace our wording for the same items
            real = sum("Answer in JSON:" not in it.fields["question"] for it in items)
            assert real >= min(2, len(items)), sub
            if sub in ORACLES or sub in ("logp", "qed", "solubility"):
                continue  # no gold molecule exists for optimisation
            for it in items:
                s = bench.score(bench.reference_output(it), it)
                assert s.score == 1.0, (it.id, s.reason)


@pytest.mark.mirror_data
def test_mirror_data_info_reports_items_and_missing(mirror_dir):
    from ftagent.dojo.inspect import data_info

    text = data_info([get_task(t) for t in TASKS], Path(mirror_dir))
    assert "subset retro: 100 items -> 50 validation / 50 test" in text
    assert "subset drd: 100 items -> NOT SCORED" in text
    assert "raw source chemcot: MISSING" in text and "chemcotbench-cot" in text
