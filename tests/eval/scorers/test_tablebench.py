"""Golden cases of the TableBench scorers: exact match, ±10% tolerance, ROUGE-L and charts (Pass@1).

Expected values are computed by hand in the comments. Chart scripts run through the plain subprocess
sandbox (timeout and memory cap, no isolation), as the scorer would through any sandbox backend.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import pytest

from ftagent.dojo.sandbox import SubprocessSandbox
from ftagent.eval.scorers.chart import compare_values, extract_code, parse_reference, score_chart, table_csv
from ftagent.eval.scorers.tablebench import (
    extract_final_answer,
    normalise_answer,
    score_data_analysis,
    score_exact_match,
    score_rouge_l,
    score_within_tolerance,
)


# ------------------------------------------------------------------------------------ exact match
@pytest.mark.parametrize(("output", "gold", "score"), [
    ("Step 1 ... Step 2 ...\nFinal Answer: 37.64%", "37.64%", 1.0),
    ("Final Answer: 37.64", "37.64%", 1.0),                  # the percent sign is not part of the value
    ("Final Answer: 1,510", "1510", 1.0),                    # thousands separator
    ("Final Answer: $1,234", "1234", 1.0),                   # currency sign
    ("Final Answer: -12.45", "-12.45%.", 1.0),               # gold with a trailing period (real item)
    ("Final Answer: 69.0", "69", 1.0),
    ("**Final Answer:** Stoke City", "Stoke City", 1.0),     # markdown emphasis
    ("Final Answer: 2009, 2010", "2009,2010", 1.0),          # ",2010" is not a thousands separator
    ("Final Answer: 2010, 2009", "2009,2010", 0.0),          # order matters
    ("Final Answer: nashville , tennessee, jackson , tennessee, 19",
     "nashville , tennessee, jackson , tennessee, 19", 1.0),
    ("Final Answer: 10.6 km", "10.6", 0.0),                  # units are not stripped
    ("Final Answer: three", "3", 0.0),
])
def test_exact_match(output, gold, score):
    assert score_exact_match(output, gold).score == score


def test_final_answer_twice_takes_the_last():
    out = "Final Answer: 12\nWait, I misread the table.\nFinal Answer: 13"
    assert score_exact_match(out, "13").score == 1.0
    assert score_exact_match(out, "12").score == 0.0
    assert extract_final_answer(out) == "13"


@pytest.mark.parametrize(("output", "reason"), [
    ("", "empty output"),
    ("  \n ", "empty output"),
    ("The answer is 5.", "no 'Final Answer:' line"),
    ("Final Answer:", "empty final answer"),
    ("Final Answer: , ,", None),
])
def test_exact_match_malformed(output, reason):
    s = score_exact_match(output, "5")
    assert s.score == 0.0
    if reason:
        assert s.reason == reason


def test_normalise_answer():
    assert normalise_answer("Tony Stewart, 2,880,210") == ["tony stewart", "2880210.0"]
    assert normalise_answer("'8Ab'") == ["8ab"]


# ------------------------------------------------------------------------------ ±10% tolerance
@pytest.mark.parametrize(("pred", "gold", "score"), [
    ("Strong positive correlation, 0.90", "Strong positive correlation, 0.94", 1.0),  # |0.04| <= 0.094
    ("Strong positive correlation, 0.84", "Strong positive correlation, 0.94", 0.0),  # |0.10| >  0.094
    ("Weak positive correlation, 0.94", "Strong positive correlation, 0.94", 0.0),    # label must match
    ("1300000", "1298789", 1.0),                                                       # 1211 <= 129878.9
    ("20.7%", "18.90%", 1.0),                                                          # 1.8 <= 1.89
    ("20.8%", "18.90%", 0.0),                                                          # 1.9 >  1.89
    ("11", "10", 1.0),                                                                 # boundary inclusive
    ("11.01", "10", 0.0),
    ("0", "0", 1.0),
    ("0.01", "0", 0.0),                                                                # a gold 0 needs 0
    ("Partly Free, 5, 3", "partly free, 5, 3", 1.0),
    ("0.94", "Strong positive correlation, 0.94", 0.0),                               # element count
    ("Strong positive correlation, high", "Strong positive correlation, 0.94", 0.0),  # not a number
])
def test_within_tolerance(pred, gold, score):
    assert score_within_tolerance(f"Reasoning.\nFinal Answer: {pred}", gold).score == score


def test_tolerance_reasons():
    assert "not within 10%" in score_within_tolerance("Final Answer: 20.8", "18.9").reason
    assert "1 answer(s)" in score_within_tolerance("Final Answer: 0.94", "No correlation, 0.1").reason
    assert score_within_tolerance("no marker", "1").reason == "no 'Final Answer:' line"


# ------------------------------------------------------------------------------------ ROUGE-L
def test_rouge_perfect_and_multiline():
    gold = "No anomalies are detected in the table."
    assert score_rouge_l(f"Final Answer: {gold}", gold).correct is True
    assert score_rouge_l("Final Answer: No anomalies are\ndetected in the table.", gold).score == 1.0


def test_rouge_partial_hand_computed():
    # gold tokens: the anomaly is zoe with 2000 goals (7); prediction: zoe has 2000 goals (4);
    # LCS = zoe 2000 goals (3) -> F = 2 * 3 / (7 + 4) = 6/11.
    s = score_rouge_l("Final Answer: zoe has 2000 goals", "The anomaly is zoe with 2000 goals.")
    assert s.score == pytest.approx(6 / 11)
    assert s.correct is None and "0.545" in s.reason


def test_rouge_no_overlap_and_malformed():
    assert score_rouge_l("Final Answer: xyz", "The table lists players.").correct is False
    assert score_rouge_l("The table lists players.", "The table lists players.").score == 0.0  # no marker
    assert score_rouge_l("", "x").reason == "empty output"


def test_data_analysis_dispatch():
    assert score_data_analysis("Final Answer: 0.9", "0.95", "CorrelationAnalysis").score == 1.0
    assert score_data_analysis("Final Answer: 0.9", "0.95", "ImpactAnalysis").score == 0.0   # exact there
    assert score_data_analysis("Final Answer: Positive impact", "Positive impact", "ImpactAnalysis").correct
    # A gold quirk kept as it is: the real data spells one ImpactAnalysis gold "Negtive impact".
    assert not score_data_analysis("Final Answer: Negative impact", "Negtive impact",
                                   "ImpactAnalysis").correct
    assert 0 < score_data_analysis("Final Answer: a b c", "a b d", "CausalAnalysis").score < 1
    with pytest.raises(KeyError):
        score_data_analysis("Final Answer: 1", "1", "NoSuchSubtype")


# ------------------------------------------------------------------------- chart data, no sandbox
def test_parse_reference():
    assert parse_reference("y_references = [[1, 2.5], [3]]") == [1.0, 2.5, 3.0]
    assert parse_reference("y_references = [5995, 3256]") == [5995.0, 3256.0]          # flat list
    assert parse_reference("y_references = [['$9,589', '$11,402']]") == [9589.0, 11402.0]
    vals = parse_reference("y_references = [[34, np.nan], [330, 200]]")
    assert math.isnan(vals[1]) and vals[2:] == [330.0, 200.0]
    for bad in ("y_references = [[a, b]]", "y_references = [['x']]", "print(1)"):
        with pytest.raises(ValueError):
            parse_reference(bad)


def test_extract_code():
    assert extract_code("Plan.\n```python\nA\n```\nthen\n```python\nB\n```") == "B\n"
    assert extract_code("```python\nimport x\nplt.show()") == "import x\nplt.show()"   # unterminated fence
    assert extract_code("import matplotlib.pyplot as plt\nplt.show()").startswith("import")
    assert extract_code("Final Answer: 42") is None


def test_compare_values():
    assert compare_values([1, 2, 3], [3, 1, 2.004]) is None                 # multiset, 2-decimal agreement
    assert "where the reference has 2" in compare_values([1, 2, 3], [1, 2.01, 3])
    assert "drew 2 values" in compare_values([1, 2, 3], [1, 2])
    assert compare_values([math.nan, 1], [1, math.nan]) is None
    assert "NaN" in compare_values([math.nan, 1], [1, 2])


def test_table_csv_quotes_cells():
    text = table_csv({"columns": ["a", "b"], "data": [["76\n(24)", "1,000"], [None, "x"]]})
    assert text.splitlines()[0] == "a,b" and '"76\n(24)","1,000"' in text


@dataclass
class _Result:
    returncode: int
    timed_out: bool
    stderr_tail: str = ""


class _FakeSandbox:
    """Returns a canned result without running anything (paths the real runs would take minutes for)."""

    def __init__(self, result: _Result, write: dict | None = None):
        self.result, self.write = result, write

    def run(self, argv, workspace: Path, raw_dir: Path, *, timeout_s, memory_mb, extra_env=None):
        assert argv == ["python", "chart_probe.py"] and memory_mb > 0 and timeout_s > 0
        assert (workspace / "table.csv").exists() and (workspace / "answer.py").exists()
        if self.write is not None:
            token = (workspace / "probe_token.txt").read_text()
            (workspace / f"result-{token}.json").write_text(json.dumps(self.write))
        return self.result


TABLE = {"columns": ["name", "goals", "games"],
         "data": [["ada", "3", "10"], ["bo", "5", "12"], ["cy", "1", "9"]]}
REF = "y_references = [[3, 5, 1]]"
BAR = ("```python\nimport pandas as pd\nimport matplotlib.pyplot as plt\ndf = pd.read_csv('table.csv')\n"
       "plt.bar(df['name'], df['{col}'])\n{extra}plt.show()\n{after}```")


def _score(code: str, sandbox=None, chart_type: str = "bar", ref: str = REF, timeout_s: float = 60):
    return score_chart(code, table=TABLE, reference=ref, chart_type=chart_type,
                       sandbox=sandbox or SubprocessSandbox(warn=False), timeout_s=timeout_s)


def test_chart_paths_without_running():
    assert _score("").reason == "empty output"
    assert _score("Final Answer: 3, 5, 1").reason == "no python code in the output"
    unknown = _score("```python\nplt.show()\n```", chart_type="sunburst")
    assert unknown.reason == "unknown chart type 'sunburst'"
    assert "reference chart data unreadable" in _score("```python\nx\n```", ref="y_references = [[a]]").reason
    timed = _score("```python\nwhile True: pass\n```", _FakeSandbox(_Result(-9, True)), timeout_s=5)
    assert timed.reason == "script timed out after 5 s"
    crashed = _score("```python\nx\n```", _FakeSandbox(_Result(-9, False, "Traceback\nMemoryError")))
    assert crashed.reason == "script produced no chart (exit status -9: MemoryError)"
    drawn = {"error": None, "chart": {"bar_heights": [1, 3, 5]}}
    ok = _score("```python\nx\n```", _FakeSandbox(_Result(0, False), drawn))
    assert ok.score == 1.0 and ok.extracted == [1, 3, 5]


# ---------------------------------------------------------------------- chart scripts, executed
def test_chart_correct_script_reading_table_csv_measured_at_show():
    # The figure is closed after plt.show(): the probe measured it when it was shown.
    s = _score(BAR.format(col="goals", extra="", after="plt.close('all')\n"))
    assert (s.score, s.correct, s.extracted) == (1.0, True, [3.0, 5.0, 1.0])


def test_chart_script_that_raises_scores_zero():
    s = _score(BAR.format(col="assists", extra="", after=""))
    assert s.score == 0.0 and s.reason.startswith("script raised KeyError")


def test_chart_wrong_chart_type_scores_zero():
    pie = "```python\nimport matplotlib.pyplot as plt\nplt.pie([3, 5, 1])\nplt.show()\n```"
    assert _score(pie).reason == "the script drew no bar chart data"


def test_chart_draws_nothing_and_cannot_forge_its_result():
    forge = ("```python\nimport json\nfor name in ['result.json', 'result-0.json']:\n"
             "    open(name, 'w').write(json.dumps({'error': None, 'chart': {'bar_heights': [3, 5, 1]}}))\n"
             "print(json.dumps({'bar_heights': [3, 5, 1]}))\n```")
    assert _score(forge).reason == "the script drew no bar chart data"


def test_chart_radar_closed_polygon():
    radar = ("```python\nimport matplotlib.pyplot as plt\nt = [0, 2, 4]\nax = plt.subplot(polar=True)\n"
             "ax.plot(t + t[:1], [3, 5, 1, 3])\nplt.show()\n```")
    assert _score(radar, chart_type="radar").score == 1.0


def test_chart_memory_cap():
    hog = "```python\nbig = bytearray(64 * 2**30)\n```"
    assert _score(hog).reason.startswith("script raised MemoryError")
