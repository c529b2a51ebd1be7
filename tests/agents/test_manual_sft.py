"""The Manual SFT baselines: the recipe book, the data script's rules, the synthesis filter, end-to-end runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml

from ftagent.agents.manual_sft import process_data as pdm
from ftagent.agents.manual_sft.agent import render_script
from ftagent.agents.manual_sft.recipe import load_config, resolve
from ftagent.dojo.benchmarks.base import get_benchmark
from ftagent.dojo.heldout import heldout
from ftagent.errors import ConfigError
from ftagent.llm.scripted import _cot
from ftagent.paths import config_dir
from ftagent.utils.io import read_jsonl
from tests.agents.conftest import SETTINGS, run

SCALES = ("mini", "mirror", "paper")
#: The end-to-end runs here check records, not scores: 60 samples, 2 updates, 2 validation items.
FAST = SETTINGS.model_copy(update={"sample_cap": 60, "max_eval_items": 2,
                                   "train_overrides": {"max_steps": 2, "logging_steps": 1}})


def _recipe(spec, scale="mini", cap=2000, cot=False):
    return resolve(spec.id, scale).script_recipe(spec.prompt_template("compact" if scale != "paper" else "full"),
                                                 cap, cot)


def test_recipe_book_covers_every_task_at_every_scale(all_tasks):
    cfg = load_config()
    for tid in all_tasks:
        for scale in SCALES:
            r = resolve(tid, scale, cfg)
            assert r.training["method"] == "lora" and r.data.max_chars > 0
            # every value used has its reason
            assert set(r.reasons) >= {f"training.{k}" for k in r.training} | {"data.max_chars"}
            if scale != "paper":  # CPU scales: no DeepSpeed, no bf16, a bounded training
                assert "deepspeed" not in r.training and r.training["bf16"] is False
                assert r.training["max_steps"] > 0
    # the per-scale sizes beat a family's paper-scale choices
    assert resolve("panorama_par4pc", "paper", cfg).training["cutoff_len"] == 8192
    assert resolve("panorama_par4pc", "mini", cfg).training["cutoff_len"] == 256


@pytest.mark.parametrize("edit, message", [
    (lambda c: c["defaults"]["training"].update(lora_r={"value": 0, "reason": "a rank of zero, on purpose"}),
     "training config key 'lora_r'"),
    (lambda c: c["defaults"]["training"]["learning_rate"].pop("reason"), "defaults.training.learning_rate.reason"),
    (lambda c: c["families"]["finance"]["tasks"].update(aime2025={"sources": ["x"], "reason": "a duplicate task"}),
     "task 'aime2025' is in families"),
])
def test_bad_recipe_book_is_one_line_naming_the_key(tmp_path, edit, message):
    cfg = yaml.safe_load((config_dir() / "manual_sft.yaml").read_text(encoding="utf-8"))
    edit(cfg)
    p = tmp_path / "manual_sft.yaml"
    p.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        resolve("aime2025", "paper", load_config(p))
    assert message in str(e.value) and "\n" not in str(e.value)


def test_data_script_rules_on_every_task(runnable_tasks, mini_repository):
    """Formatting, cleaning, de-duplication, the cap; every kept output ends in its gold answer."""
    for spec in runnable_tasks:
        rec = _recipe(spec, cap=150)
        rows, stats = pdm.candidates(rec, str(mini_repository))
        kept = pdm.finish(rows, stats, rec, debug=False)
        assert kept, spec.id
        assert stats["read"] == stats["candidates"] + stats["duplicates"] + sum(stats["dropped"].values())
        assert len(kept) == stats["written"] <= 150
        assert len({pdm.norm_key(r["instruction"]) for r in kept}) == len(kept)
        fmt, keys = pdm.answer_format(rec), rec["answer_keys"]
        for r in kept:
            assert len(r["instruction"]) + len(r["output"]) <= rec["max_chars"]
            got = pdm.final_answer(fmt, r["output"], keys)
            assert got is not None and got == pdm.final_answer(fmt, r["gold"], keys), (spec.id, r)
        # the instruction is the task's evaluation prompt: its fixed text is there
        fixed = [p for p in spec.prompt_template("compact").replace("{{", "{").replace("}}", "}").split("{")
                 if "}" in p]
        tail = fixed[-1].split("}", 1)[1].strip() if fixed else ""
        if tail:
            assert all(tail in r["instruction"] for r in kept), spec.id


def test_length_filter_drops_and_never_truncates(all_tasks, mini_repository):
    rec = {**_recipe(all_tasks["aime2025"]), "max_chars": 80}
    rows, stats = pdm.candidates(rec, str(mini_repository))
    kept = pdm.finish(rows, stats, rec, debug=False)
    assert stats["too_long"] > 0 and stats["written"] == len(kept) == stats["candidates"] - stats["too_long"]
    for r in kept:  # whole samples only: each still ends in its boxed answer
        assert len(r["instruction"]) + len(r["output"]) <= 80
        assert pdm.final_answer("boxed", r["output"]) == pdm.final_answer("boxed", r["gold"]) is not None
    assert pdm.finish(rows, dict(stats), rec, debug=True) == kept[:pdm.DEBUG_SAMPLES]


def test_synthesis_filter_agrees_with_reference_answers(runnable_tasks, mini_data):
    """The answer extraction of every task finds the benchmark's own reference answer; the scripted CoT
    ends in it, except for its deliberate faults, which the filter rejects."""
    faults = 0
    for spec in runnable_tasks:
        bench = get_benchmark(spec)
        rec = _recipe(spec)
        fmt, keys = pdm.answer_format(rec), rec["answer_keys"]
        for item in heldout(bench, mini_data, "validation").items[:20]:
            ref = bench.reference_output(item)
            want = pdm.final_answer(fmt, ref, keys)
            assert want is not None, (spec.id, ref)
            prompt = bench.render(item, "compact")
            got = pdm.final_answer(fmt, _cot({"prompt": prompt, "gold": ref})["solution"], keys)
            faults += got != want
    assert faults > 0  # ~1 in 10 by design


def test_manual_sft_run_end_to_end(tmp_path, mini):
    """One experiment through the sandboxed data script, training and validation; the harness evaluates it."""
    rec = run(tmp_path / "manual-sft", mini, agent="manual-sft", backbone="none", settings=FAST)
    assert rec.status == "ok" and rec.iterations == 1 and rec.stop_reason == "recipe_done"
    assert rec.final.experiment_id == "exp000" and rec.final.adapter and rec.llm.calls == 0
    (entry,) = read_jsonl(tmp_path / "manual-sft" / "trace.jsonl")
    assert entry["status"] == "ok" and entry["stage_reached"] == "evaluation" and entry["decision"] == "accept"
    assert list(entry["timings"]) == ["full_data", "full_training", "evaluation"]
    assert entry["plan"]["recipe"] == "math" and "training.learning_rate" in entry["plan"]["reasons"]
    stats = entry["data_stats"]["recipe"]
    assert stats["written"] == entry["data_stats"]["full"]["samples"] == FAST.sample_cap
    assert stats["duplicates"] > 0  # the mini DeepScaleR repeats problems
    final = tmp_path / "manual-sft" / "final"
    assert (final / "train.yaml").exists() and "RECIPE = {" in (final / "process_data.py").read_text()
    # the recorded script alone reproduces the training data
    d = tmp_path / "replay"
    d.mkdir()
    (d / "process_data.py").write_text((final / "process_data.py").read_text())
    out = subprocess.run([sys.executable, "process_data.py"], cwd=d, capture_output=True, text=True,
                         env={**os.environ, "FTDOJO_RAW_DIR": str(mini[2])}, timeout=60)
    assert out.returncode == 0, out.stderr
    ws = tmp_path / "manual-sft" / "experiments" / "exp000"
    assert json.loads((d / "data.json").read_text()) == json.loads((ws / "data.json").read_text())
    # (the harness's evaluation of Manual SFT runs: the reduced workflow test and the toy-baseline test)


COT_SETTINGS = FAST.model_copy(update={"agent_options": {"manual-sft-cot": {"concurrency": 3}}})


def _cot_run(tmp_path, mini):
    """A recorded manual-sft-cot run and the checks of its synthesis; returns (record, data, cache)."""
    cache = tmp_path / "cache"
    rec = run(tmp_path / "cot", mini, agent="manual-sft-cot", settings=COT_SETTINGS, cache_dir=cache)
    assert rec.status == "ok" and rec.llm.backbone_label == "scripted"
    (entry,) = read_jsonl(tmp_path / "cot" / "trace.jsonl")
    syn, stats = entry["data_stats"]["synthesis"], entry["data_stats"]["recipe"]
    assert syn["requested"] == FAST.sample_cap == rec.llm.calls and syn["concurrency"] == 3
    assert syn["dropped"].get("disagrees_with_gold", 0) + syn["dropped"].get("no_final_answer", 0) > 0
    assert syn["accepted"] + sum(syn["dropped"].values()) == syn["requested"]
    assert stats["written"] == syn["accepted"] and "cot_synthesis" in entry["timings"]
    ws = tmp_path / "cot" / "experiments" / "exp000"
    data = json.loads((ws / "data.json").read_text())
    assert all(r["output"].startswith("Scripted worked solution") and "\\boxed{" in r["output"] for r in data)
    calls = read_jsonl(ws / "cot_synthesis.jsonl")
    assert len(calls) == syn["requested"] and all(c["accepted"] == (c.get("why") is None) for c in calls)
    return rec, data, cache


def test_manual_sft_cot_synthesises_and_filters(tmp_path, mini):
    """One scripted call per candidate, in a thread pool; disagreeing answers dropped and counted."""
    _cot_run(tmp_path, mini)


@pytest.mark.slow
def test_manual_sft_cot_replays(tmp_path, mini):
    """A replayed run makes no call and writes the same data."""
    rec, data, cache = _cot_run(tmp_path, mini)
    again = run(tmp_path / "replayed", mini, agent="manual-sft-cot", settings=COT_SETTINGS, cache_dir=cache,
                cache_mode="replay")
    assert again.llm.replayed == again.llm.calls == rec.llm.calls
    assert json.loads((tmp_path / "replayed/experiments/exp000/data.json").read_text()) == data


def test_render_script_sets_the_recipe(all_tasks):
    text = render_script(_recipe(all_tasks["financeiq"]), "manual-sft")
    assert "\nRECIPE = None" not in text and "\nRECIPE = {" in text and "'family': 'finance'" in text
    compile(text, "process_data.py", "exec")


@pytest.mark.mirror_data
def test_recipes_on_the_real_mirror_files(tmp_path, mirror_dir, all_tasks):
    """DeepScaleR and FinanceIQ as released: AIME's integer answer space filters DeepScaleR, every kept
    sample ends in its gold answer."""
    from ftagent.dojo.repository import prepare_repository

    tasks = [all_tasks["aime2025"], all_tasks["financeiq"]]
    prepare_repository(tasks, mirror_dir, tmp_path / "repo")
    for spec in tasks:
        rec = _recipe(spec, "mirror", cap=200)
        rows, stats = pdm.candidates(rec, str(tmp_path / "repo"))
        kept = pdm.finish(rows, stats, rec, debug=False)
        assert len(kept) == 200, (spec.id, stats)
        fmt = pdm.answer_format(rec)
        assert all(pdm.final_answer(fmt, r["output"]) == pdm.final_answer(fmt, r["gold"]) for r in kept)
    assert stats["read"] > 1000  # FinanceIQ's training rows
