"""The AIME cascade's LLM-judge stage: math-verify first, the judge only on what it fails; cached, replayable."""

from __future__ import annotations

from ftagent.dojo.benchmarks import get_benchmark
from ftagent.dojo.benchmarks.base import EvalItem
from ftagent.dojo.harness import score_outputs
from ftagent.dojo.taskspec import get_task
from ftagent.llm.judge import answer_judge, judge_messages, scripted_judge_policy

ITEMS = [EvalItem(id=str(i), subset="default", fields={"question": f"Problem {i}"}, answer="70") for i in range(3)]
#: math-verify accepts the first; the second boxes 35 and then says 70 (the rule reads the box, the judge
#: the final number); the third is wrong either way.
OUTPUTS = ["So the answer is \\boxed{70}.", "\\boxed{35} ... no wait, doubling it gives 70", "It is 12."]


def test_scripted_policy_is_deterministic():
    msgs = judge_messages("Q", "70", "blah 70")
    assert '"correct"' in scripted_judge_policy(msgs, {}) and scripted_judge_policy(msgs, {}) == \
        scripted_judge_policy(msgs, {})
    assert '"incorrect"' in scripted_judge_policy(judge_messages("Q", "70", "blah 71"), {})


def test_judge_runs_only_in_the_paper_profile_on_failed_items_and_replays(tmp_path):
    bench = get_benchmark(get_task("aime2025"))
    cache = tmp_path / "judge_cache"
    with answer_judge("scripted", cache, "readwrite") as judge:
        ev = score_outputs(bench, ITEMS, OUTPUTS, "paper", judge)
        calls = judge.client.usage.calls
    assert calls == 2  # items 2 and 3: the rule accepted item 1
    assert [s.score for s in ev.scores_by_profile["benchmark"]] == [1.0, 0.0, 0.0]
    paper = ev.scores_by_profile["paper"]
    assert [s.score for s in paper] == [1.0, 1.0, 0.0]
    assert paper[1].details["judge"]["label"] == "scripted" and "LLM judge (scripted)" in paper[1].reason
    assert "judge" not in paper[0].details
    with answer_judge("scripted", cache, "replay") as judge:  # no server, no call: every verdict recorded
        again = score_outputs(bench, ITEMS, OUTPUTS, "paper", judge)
        assert judge.client.endpoint_calls == 0 and judge.client.usage.replayed == 2
    assert [s.score for s in again.scores_by_profile["paper"]] == [1.0, 1.0, 0.0]


def test_no_judge_by_default():
    bench = get_benchmark(get_task("aime2025"))
    ev = score_outputs(bench, ITEMS, OUTPUTS, "paper")
    assert [s.score for s in ev.scores_by_profile["paper"]] == [1.0, 0.0, 0.0]
