"""The scripted backbone's rules on all 13 tasks, and the loop's own analysis and progress helpers."""

from __future__ import annotations

import logging
import string

import pytest

from ftagent.agents.ft_agent.analysis import clip, loss_summary, wrong_patterns
from ftagent.agents.ft_agent.context import dataset_view
from ftagent.agents.ft_agent.progress import Progress
from ftagent.dojo.env import Dojo, DojoSettings
from ftagent.llm.scripted import RECIPES, SOURCE_MAPS, _data_script, _decide, _select
from ftagent.models.registry import get_base_model


@pytest.fixture(scope="module")
def dojos(runnable_tasks, mini_data, mini_repository, tmp_path_factory):
    """A Dojo per runnable task (sample cap 50) on the mini repository."""
    d = tmp_path_factory.mktemp("dojos")
    settings = DojoSettings(scale="mini", prompt_style="compact", sample_cap=50, data_full_timeout_s=60)
    model = get_base_model("tiny-qwen2")
    return {t.id: Dojo(t, mini_data, mini_repository, model, d / "model", d / t.id, settings)
            for t in runnable_tasks}


def _ctx(dojo: Dojo, iteration: int, **kw) -> dict:
    card = dojo.task_card()
    info = dojo.dataset_info()
    view = dataset_view(info, [s for s, v in info.items() if v.get("available")])
    sel = _select({"task_id": card["task_id"], "domain": card["domain"], "datasets": view})
    return {"iteration": iteration, "task_id": card["task_id"], "domain": card["domain"], "sample_cap": 50,
            "eval_prompt_template": card["eval_prompt_template"],
            "datasets": dataset_view(info, sel["datasets"]),
            **kw}


def test_thirteen_tasks(runnable_tasks):
    assert len(runnable_tasks) == 13


def test_selection_picks_each_tasks_sources(dojos):
    """From the whole repository (7 sources) the rule picks exactly the sources each task declares."""
    for tid, dojo in dojos.items():
        assert len(dojo.dataset_info()) == 7
        assert sorted(_ctx(dojo, 0)["datasets"]) == sorted(dojo.task.raw_sources), tid


@pytest.mark.parametrize("recipe", [0, 1])
def test_data_scripts_run_on_every_task(dojos, recipe):
    """The scripted data script of each recipe runs on each task's sources and fills the evaluation prompt."""
    for tid, dojo in dojos.items():
        ctx = _ctx(dojo, recipe, error={"failure_class": "DATA"})  # iteration 1 after its repair
        ws = dojo.new_experiment(f"r{recipe}")
        res = dojo.run_data_script(ws, _data_script(ctx, RECIPES[recipe]), debug=False)
        assert res.ok, (tid, res.error, res.log_tail)
        assert 0 < res.stats["samples"] <= 50, tid
        maps = [m for s, m in SOURCE_MAPS.items()
                if s in ctx["datasets"]]
        literal = [t for t, *_ in string.Formatter().parse(ctx["eval_prompt_template"]) if len(t.strip()) > 3]
        for ex in res.stats["examples"]:
            assert ex["completion"].strip(), tid
            if all("fields" in m for m in maps):
                assert all(t.strip()[:40] in ex["prompt"] for t in literal), (tid, ex["prompt"][:200])


def test_deliberate_data_fault_is_a_data_failure_on_every_task(dojos):
    for tid, dojo in dojos.items():
        script = _data_script(_ctx(dojo, 1), RECIPES[1])
        assert "SCRIPTED FAULT" in script
        res = dojo.run_data_script(dojo.new_experiment("fault"), script, debug=True)
        assert not res.ok and res.failure_class == "DATA", (tid, res.error)


def test_decisions():
    falling = {"trend": "decreasing", "points": 5, "first": 5.0, "last": 2.0}
    flat = {"trend": "flat", "points": 5, "first": 5.0, "last": 5.0}
    up = {"higher_is_better": True}

    def decide(score, parent_score=None, base=10.0, ls=falling, metric=up):
        parent = None if parent_score is None else {"score": parent_score}
        return _decide({"exp": {"score": score, "loss_summary": ls}, "parent": parent, "base_score": base,
                        "metric": metric})["decision"]

    assert decide(12.0) == "accept" and decide(8.0) == "reject"
    # a first tie with the base model: accepted only if the training loss fell
    assert decide(10.0) == "accept" and decide(10.0, ls=flat) == "reject"
    assert decide(20.0, parent_score=20.0) == "reject" and decide(21.0, parent_score=20.0) == "accept"
    assert decide(5.0, parent_score=6.0, metric={"higher_is_better": False}) == "accept"


def test_loss_summary():
    assert loss_summary([])["trend"] == "unknown"
    assert loss_summary([3.0])["trend"] == "unknown"
    s = loss_summary([6.0, 5.0, 4.0, 3.0, 2.0, 1.9, 1.89])
    assert (s["first"], s["min"], s["last"], s["trend"]) == (6.0, 1.89, 1.89, "decreasing")
    assert s["diverged"] is False
    assert s["plateau"] is True
    assert loss_summary([2.0, 2.5, 3.5, 4.0, 5.0, 6.0])["diverged"] is True
    assert loss_summary([2.0, float("nan")])["diverged"] is True
    assert loss_summary([2.0, 2.01, 2.0, 2.0])["trend"] == "flat"


def test_wrong_patterns_and_clip():
    wrong = [{"subset": "a", "output": "", "reason": "empty output"},
             {"subset": "b", "output": "x", "reason": None}]
    p = wrong_patterns(wrong)
    assert p == {"count": 2, "by_subset": {"a": 1, "b": 1}, "by_reason": {"empty output": 1, "wrong": 1},
                 "empty_outputs": 1, "mean_output_chars": 0.5}
    text = "h" * 5000 + "t" * 5000
    c = clip(text, 3000)
    assert c.startswith("h" * 2000) and c.endswith("t" * 1000) and "[7000 characters omitted]" in c
    assert clip("short", 10) == "short"
    assert clip(42) == "42" and clip(None) == ""  # gold answers can be numbers


def test_progress_plain_and_live(caplog, capsys):
    with caplog.at_level(logging.INFO, logger="ftagent.agent"):
        p = Progress("aime2025", 3, live=False)
        p.update(stage="plan", status="started", iteration=0, experiment="exp000", budget_left_s=3600)
        p.update(stage="plan", status="done", iteration=0, experiment="exp000", budget_left_s=3600, stages=3)
        p.close()
    assert [r.getMessage() for r in caplog.records] == [
        "aime2025: exp000 plan done | best validation - | budget left 1:00:00 | stages done 3"]
    live = Progress("aime2025", 3, live=True)
    live.update(stage="full_training", status="started", iteration=1, experiment="exp001", best=12.5,
                best_id="exp000", budget_left_s=61, stages=12)
    live.close()
    err = capsys.readouterr().err
    assert "full_training" in err and "12.5 exp000" in err and "0:01:01" in err and "2/3" in err
