"""PANORAMA family: mini generation, the three data-directory layouts, splits, gold scoring, raw sources."""

from __future__ import annotations

import json
import random
import shutil

import pytest

from ftagent.dojo.benchmarks import EvalItem, get_benchmark, get_reader
from ftagent.dojo.benchmarks.panorama import (
    MINI_EVAL_ITEMS,
    MINI_RAW_ITEMS,
    _write_parquet,
    claim_text,
    mini_row,
    normalise,
    read_rows,
)
from ftagent.dojo.harness import aggregate
from ftagent.dojo.heldout import heldout
from ftagent.dojo.repository import generate_mini_data, prepare_repository
from ftagent.dojo.sources import get_source
from ftagent.dojo.taskspec import get_task
from ftagent.errors import DataError
from ftagent.llm.scripted import SOURCE_MAPS

TASKS = ["panorama_par4pc", "panorama_pi4pc", "panorama_noc4pc"]
KIND = {"panorama_par4pc": "PAR4PC", "panorama_pi4pc": "PI4PC", "panorama_noc4pc": "NOC4PC"}


@pytest.fixture(scope="module")
def mini(tmp_path_factory):
    d = tmp_path_factory.mktemp("panorama_mini")
    assert generate_mini_data([get_task(t) for t in TASKS], d, seed=0) == TASKS
    return d


def _perfect(bench, items):
    scores = [bench.score(bench.reference_output(it), it) for it in items]
    return scores, aggregate(bench, items, scores)


@pytest.mark.parametrize("task", TASKS)
def test_mini_load_split_and_gold_scores(mini, task):
    bench = get_benchmark(get_task(task))
    items = bench.load_subsets(mini)["default"]
    assert len(items) == MINI_EVAL_ITEMS and len({it.id for it in items}) == len(items)
    val, test = heldout(bench, mini, "validation"), heldout(bench, mini, "test")
    assert len(val.items) == len(test.items) == MINI_EVAL_ITEMS // 2
    assert not {it.id for it in val.items} & {it.id for it in test.items}
    for part in (val, test):
        scores, agg = _perfect(bench, part.items)
        assert all(s.score == 1.0 and s.correct for s in scores)
        assert agg.score == 100.0 and agg.n_items == MINI_EVAL_ITEMS // 2


@pytest.mark.parametrize("task", TASKS)
def test_mini_compact_prompts_are_short(mini, task):
    bench = get_benchmark(get_task(task))
    for it in bench.load_subsets(mini)["default"]:
        compact = bench.render(it, "compact")
        assert len(compact.split()) < 80 and "Reply" in compact
        assert bench.render(it, "full").startswith("You are")


def test_mini_answers_normalised_from_hub_types(mini):
    """The mini test files store claim_number and PI4PC labels as strings; items hold ints."""
    bench = get_benchmark(get_task("panorama_pi4pc"))
    rows = read_rows(mini / "panorama/PI4PC", "t")
    assert isinstance(rows[0][1]["claim_number"], str) and isinstance(rows[0][1]["gold_answers"][0], str)
    assert isinstance(rows[0][1]["options"], str)  # a JSON string in the mini file
    it = bench.load_subsets(mini)["default"][0]
    assert it.fields["claim_number"] == 1 and all(isinstance(g, int) for g in it.answer)
    assert set(it.answer) <= set(it.fields["option_keys"])


def test_scores_partial_par4pc_macro_f1(mini):
    bench = get_benchmark(get_task("panorama_par4pc"))
    items = heldout(bench, mini, "validation").items
    scores = [bench.score('{"answer": "A,B,C,D,E,F,G,H"}', it) for it in items]
    agg = aggregate(bench, items, scores)
    assert 0 < agg.score < 100 and not any(s.correct for s in scores)


@pytest.mark.parametrize("task", TASKS)
def test_samples_layouts_read_like_the_hub_file(tmp_path, task):
    """samples/*.json (one object per file) and samples.jsonl give the same items as test.parquet."""
    kind, rng = KIND[task], random.Random(1)
    rows = [mini_row(kind, rng, f"7{i:07d}") for i in range(6)]
    bench = get_benchmark(get_task(task))
    hub, files, lines = tmp_path / "hub", tmp_path / "files", tmp_path / "lines"
    _write_parquet(hub / f"panorama/{kind}/test.parquet", rows)
    (files / f"panorama/{kind}/samples").mkdir(parents=True)
    for i, r in enumerate(rows):
        (files / f"panorama/{kind}/samples/s{i:02d}.json").write_text(json.dumps(r))
    (lines / f"panorama/{kind}").mkdir(parents=True)
    (lines / f"panorama/{kind}/samples.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    got = [bench.load_subsets(d)["default"] for d in (hub, files, lines)]
    assert [it.answer for it in got[0]] == [it.answer for it in got[1]] == [it.answer for it in got[2]]
    assert [bench.render(it) for it in got[0]] == [bench.render(it) for it in got[1]]


def test_nested_fields_as_json_strings():
    row = mini_row("NOC4PC", random.Random(2), "12345678")
    row.update(claim_number="1", context=json.dumps(row["context"]),
               answer=json.dumps({"code": 103, "reason": ""}),
               prior_art_specifications=json.dumps(row["prior_art_specifications"]))
    r = normalise("NOC4PC", row)
    assert (r["claim_number"], r["code"], len(r["refs"])) == (1, "103", 2)


def test_claim_text_cuts_a_claim_that_runs_on():
    claims = ["1. A radio comprising a filter. 2. The radio of claim 1, wherein the filter is fixed.",
              "2. The radio"]
    assert claim_text(claims, 1) == "1. A radio comprising a filter."
    assert claim_text(["A first claim.", "A second claim."], 2) == "A second claim."
    assert claim_text([], 3) == ""


def test_missing_and_malformed_eval_data(tmp_path):
    bench = get_benchmark(get_task("panorama_par4pc"))
    with pytest.raises(DataError, match="panorama_par4pc.*not found"):
        bench.load_subsets(tmp_path)
    (tmp_path / "panorama/PAR4PC").mkdir(parents=True)
    with pytest.raises(DataError, match="no test.parquet, samples/\\*.json or samples.jsonl"):
        bench.load_subsets(tmp_path)
    row = mini_row("PAR4PC", random.Random(3), "1")
    row["gold_answers"] = ["Z"]
    (tmp_path / "panorama/PAR4PC/samples.jsonl").write_text(json.dumps(row) + "\n")
    with pytest.raises(DataError, match="samples.jsonl line 1: gold_answers"):
        bench.load_subsets(tmp_path)


@pytest.mark.parametrize("task", TASKS)
def test_raw_source_mini_records_and_scripted_map(mini, task):
    """Train records keep the hub fields, gain prompt fields + target; the scripted map fills both
    prompt styles exactly as the evaluation renders the same row."""
    sid = get_task(task).raw_sources[0]
    reader = get_reader(get_source(sid).reader)
    records = reader.read(mini)
    assert len(records) == MINI_RAW_ITEMS
    assert {"context", "question", "claim", "choices", "target"} <= set(records[0])
    bench = get_benchmark(get_task(task))
    m = SOURCE_MAPS[sid]
    for style in ("full", "compact"):
        fill = {k: records[0][v] for k, v in m["fields"].items()}
        prompt = get_task(task).prompt_template(style).format(**fill)
        assert prompt.startswith("You are" if style == "full" else "Claim: 1. A ")
    # a train record's target scores perfectly against its own gold
    r = records[0]
    gold = r["answer"]["code"] if task == "panorama_noc4pc" else r["gold_answers"]
    item = EvalItem(id="x", subset="default", fields={}, answer=gold)
    assert bench.score(m["answer"].format(**r), item).correct


def test_train_prompts_match_eval_prompts(tmp_path, mini):
    """The same row read as a train record and as an eval item renders the same prompt."""
    kind = "PAR4PC"
    shutil.copy(mini / f"panorama/{kind}/test.parquet", tmp_path / "x.parquet")
    (tmp_path / f"panorama/{kind}").mkdir(parents=True)
    shutil.copy(tmp_path / "x.parquet", tmp_path / f"panorama/{kind}/test.parquet")
    shutil.copy(tmp_path / "x.parquet", tmp_path / f"panorama/{kind}/train.parquet")
    spec = get_task("panorama_par4pc")
    bench = get_benchmark(spec)
    items = bench.load_subsets(tmp_path)["default"]
    records = get_reader("panorama_par4pc_train").read(tmp_path)
    for style in ("full", "compact"):
        fill = {k: records[0][v] for k, v in SOURCE_MAPS["panorama_par4pc_train"]["fields"].items()}
        assert spec.prompt_template(style).format(**fill) == bench.render(items[0], style)
    # the leakage guard drops every train record that is an eval item
    info = prepare_repository([spec], tmp_path, tmp_path / "repo")
    assert info["panorama_par4pc_train"]["count"] == 0
    assert info["panorama_par4pc_train"]["dropped_by_leakage_guard"] == MINI_EVAL_ITEMS


def test_missing_train_split_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match="panorama_noc4pc_train: file not found: .*NOC4PC/train.parquet"):
        get_reader("panorama_noc4pc_train").read(tmp_path)


@pytest.mark.mirror_data
@pytest.mark.parametrize("task", TASKS)
def test_mirror_samples(mirror_dir, task):
    """The real official samples: 10 items -> 5 validation / 5 test; gold outputs score perfectly;
    the train split is reported missing."""
    bench = get_benchmark(get_task(task))
    items = bench.load_subsets(mirror_dir)["default"]
    assert len(items) == 10 and len({it.id for it in items}) == 10
    val, test = heldout(bench, mirror_dir, "validation"), heldout(bench, mirror_dir, "test")
    assert len(val.items) == len(test.items) == 5
    for part in (val, test):
        scores, agg = _perfect(bench, part.items)
        assert all(s.correct for s in scores) and agg.score == 100.0
    for it in items:
        prompt = bench.render(it)
        assert f"claim {it.fields['claim_number']}" in prompt and len(prompt) < 16000
    with pytest.raises(DataError, match="train.parquet"):
        get_reader(get_source(get_task(task).raw_sources[0]).reader).read(mirror_dir)
