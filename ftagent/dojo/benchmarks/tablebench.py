"""TableBench (table QA): four tasks, one per ``qtype``, over tables given in JSON form.

* Source: ``Multilingual-Multimodal-NLP/TableBench`` (Apache-2.0 per the official README), 886 items
  in ``TableBench.jsonl`` with ``id, qtype, qsubtype, table{columns,data}, question, answer`` and, on
  the 50 Visualization items, ``chart_type``. The tasks select a qtype (FactChecking 96,
  NumericalReasoning 397, DataAnalysis 343, Visualization 50); their subsets are the qsubtypes.
  Split as the paper's evaluator does: ``datasets.Dataset.shuffle(seed=42)`` per OpenCompass dataset
  (``eval_source.split_groups``: one per qtype, five for DataAnalysis); items carry their file row.
  The official loader reads the hub's ``TableBench_TCoT.jsonl``, taken to hold the rows of
  ``TableBench.jsonl`` in the same order (the mirror has only the latter).
* Scoring (:mod:`ftagent.eval.scorers.tablebench`, :mod:`ftagent.eval.scorers.chart`):
  FactChecking and NumericalReasoning — exact match of the ``Final Answer:``; DataAnalysis — per
  qsubtype, ±10% on numbers (Correlation, TrendForecasting, Statistical), exact match (Impact) or
  ROUGE-L (Anomaly, Causal, Descriptive), averaged over subtypes; Visualization — the model's
  matplotlib script runs in the scoring sandbox and the chart's data must equal the answer's
  ``y_references`` (Pass@1). The real Visualization answers hold the reference *values*, not code.
* Raw training source: TableInstruct (``Multilingual-Multimodal-NLP/TableInstruct``), rows with
  ``instruction`` (the prompt, table included) and ``response``.
* Mini: tiny tables with exact answers for every qtype (:mod:`.tablebench_mini`).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import random
from pathlib import Path

from ftagent.dojo.benchmarks import tablebench_mini as mini
from ftagent.dojo.benchmarks.base import (
    Benchmark,
    EvalItem,
    RawSourceReader,
    register_benchmark,
    register_reader,
    require,
)
from ftagent.dojo.sandbox import Sandbox, get_sandbox
from ftagent.errors import ConfigError, DataError
from ftagent.eval.scorers.chart import CHART_SOURCES, parse_reference, score_chart, score_chart_paper
from ftagent.eval.profiles import ScoringProfile, applies
from ftagent.eval.scorers.tablebench import (
    DATA_ANALYSIS_GROUP_RULES,
    DATA_ANALYSIS_RULES,
    score_data_analysis,
    score_data_analysis_paper,
    score_exact_match,
    score_exact_match_paper,
)
from ftagent.eval.scoring import ItemScore, wrong
from ftagent.utils.io import atomic_write_text, read_jsonl

EVAL_FILE = "tablebench/TableBench.jsonl"
TABLEINSTRUCT_FILE = "tableinstruct/TableInstruct_instructions.jsonl"
#: Mini evaluation items per qsubtype, by qtype.
MINI_ITEMS = {"FactChecking": 40, "NumericalReasoning": 20, "DataAnalysis": 20, "Visualization": 24}
#: Mini TableInstruct rows: fact-checking rows first (unchanged), then rows of each other qtype.
MINI_RAW_ITEMS = 1200
MINI_RAW_PER_QTYPE = 200

#: Compact prompt of the answer-line tasks, also the instruction of mini TableInstruct rows.
MINI_INSTRUCTION = "Table: {table}\nQuestion: {question}\nEnd with 'Final Answer: <answer>'."
#: Compact prompt of the Visualization task, also the instruction of mini TableInstruct chart rows.
MINI_VIS_INSTRUCTION = ("Table: {table}\nChart: {question}\n"
                        "Write python: pandas reads 'table.csv', matplotlib draws it, end with plt.show().")


def render_table(table: dict) -> str:
    """The table as TableBench prompts show it (a Python-style dict of columns and rows)."""
    return str({"columns": table.get("columns", []), "data": table.get("data", [])})


@functools.cache
def scoring_sandbox() -> Sandbox:
    """Where Visualization scripts run when scored: ``$FTAGENT_SCORING_SANDBOX`` if set, else
    ``bubblewrap`` where that backend is available, else ``subprocess`` (warns: no isolation).

    Raises:
        ConfigError: ``$FTAGENT_SCORING_SANDBOX`` names an unknown or unavailable backend.
    """
    name = os.environ.get("FTAGENT_SCORING_SANDBOX")
    if name:
        return get_sandbox(name)
    try:
        return get_sandbox("bubblewrap")
    except ConfigError:
        return get_sandbox("subprocess")


def literal_chart_script(chart_type: str, answer: str) -> str:
    """A script drawing the reference values themselves as a ``chart_type`` chart (a correct output
    used by tests and as the reference output; the real items carry values, not code)."""
    values = json.dumps(parse_reference(answer))
    draw = {
        "bar": "plt.bar(x, y)", "hbar": "plt.barh(x, y)", "line": "plt.plot(x, y)", "pie": "plt.pie(y)",
        "scatter": "plt.scatter(x, y)", "area": "plt.fill_between(x, y)",
        "waterfall": "plt.bar(x, y, bottom=[sum(y[:i]) for i in x])",
        "radar": ("t = [6.283185307 * i / len(y) for i in x]\nax = plt.subplot(polar=True)\n"
                  "ax.plot(t + t[:1], y + y[:1])"),
    }[chart_type]
    return (f"```python\nimport json\nimport matplotlib.pyplot as plt\ny = json.loads({values!r})\n"
            f"x = list(range(len(y)))\n{draw}\nplt.show()\n```")


@register_benchmark
class TableBench(Benchmark):
    """TableBench questions of one qtype (``eval_source.filter.qtype``)."""

    name = "tablebench"

    #: qtypes whose scoring is implemented.
    SUPPORTED_QTYPES = ("FactChecking", "NumericalReasoning", "DataAnalysis", "Visualization")

    @property
    def qtype(self) -> str:
        """The task's qtype."""
        return self.spec.eval_source.filter.get("qtype", "")

    def unsupported_reason(self) -> str | None:
        if self.qtype not in self.SUPPORTED_QTYPES:
            return f"TableBench {self.qtype} scoring is not implemented yet"
        if self.qtype == "DataAnalysis":
            unruled = [s for s in self.spec.eval_source.subsets if s not in DATA_ANALYSIS_RULES]
            if unruled:
                return f"no DataAnalysis scoring rule for subsets {', '.join(unruled)}"
        return None

    def load_subsets(self, data_dir: Path) -> dict[str, list[EvalItem]]:
        path = self.path(data_dir)
        want = self.spec.eval_source.filter
        vis = self.qtype == "Visualization"
        need = {"qsubtype", "table", "question", "answer"} | ({"chart_type"} if vis else set())
        out: dict[str, list[EvalItem]] = {s: [] for s in self.spec.eval_source.subsets}
        for i, row in enumerate(read_jsonl(path)):
            if any(row.get(k) != v for k, v in want.items()):
                continue
            missing = need - set(row)
            if missing:
                raise DataError(f"task {self.spec.id}: {path} line {i + 1} lacks {sorted(missing)}")
            sub = row["qsubtype"]
            if sub not in out:
                raise DataError(f"task {self.spec.id}: {path} line {i + 1}: qsubtype {sub!r} is not a "
                                f"declared subset ({', '.join(out)})")
            fields = {"table": render_table(row["table"]), "question": row["question"]}
            if "chart_type" in row:
                fields["chart_type"] = row["chart_type"]
            if vis:
                if row["chart_type"] not in CHART_SOURCES:
                    raise DataError(f"task {self.spec.id}: {path} line {i + 1}: unknown chart_type "
                                    f"{row['chart_type']!r} (known: {', '.join(CHART_SOURCES)})")
                fields["table_data"] = {"columns": row["table"].get("columns", []),
                                        "data": row["table"].get("data", [])}
            out[sub].append(EvalItem(id=f"{row.get('id', i)}#{i}", subset=sub, fields=fields,
                                     answer=row["answer"], row=i))
        return {s: v for s, v in out.items() if v}

    def reference_output(self, item: EvalItem) -> str:
        if self.qtype == "Visualization":
            return literal_chart_script(item.fields["chart_type"], str(item.answer))
        return f"Final Answer: {item.answer}"

    def leakage_text(self, item: EvalItem) -> str:
        """Table and question: the same question over another table is not a leak."""
        return f"{item.fields['table']} {item.fields['question']}"

    def score(self, output: str, item: EvalItem, profile: ScoringProfile = "benchmark") -> ItemScore:
        """Score one output. ``paper``: the fork's evaluators (rules ``tablebench.em_normalisation``,
        ``tablebench.tolerance_first_number``, ``tablebench.rouge_first_line``; DataAnalysis by the
        evaluator of the item's group); ``benchmark``: TableBench's own metric of the item's qsubtype."""
        if self.qtype == "DataAnalysis":
            if applies("tablebench.data_analysis_groups", profile) and item.subset in DATA_ANALYSIS_GROUP_RULES:
                return score_data_analysis_paper(output, str(item.answer), item.subset)
            return score_data_analysis(output, str(item.answer), item.fields.get("qsubtype", item.subset))
        if self.qtype == "Visualization":
            if not output or not output.strip():
                return wrong("empty output")
            if applies("tablebench.visualization_capture", profile):
                return score_chart_paper(output, table=item.fields["table_data"], reference=str(item.answer),
                                         sandbox=scoring_sandbox())
            return score_chart(output, table=item.fields["table_data"], reference=str(item.answer),
                               chart_type=item.fields["chart_type"], sandbox=scoring_sandbox())
        if applies("tablebench.em_normalisation", profile):
            return score_exact_match_paper(output, str(item.answer))
        return score_exact_match(output, str(item.answer))

    def headline(self, subsets: dict[str, float], items: list[EvalItem], scores: list[ItemScore],
                 profile: ScoringProfile = "benchmark") -> float:
        """DataAnalysis: ``paper`` = mean over the five groups (``tablebench.data_analysis_groups``);
        ``benchmark`` = TableBench's own Mix_Metric, the mean over items (each item once, though the
        ``other`` group repeats items of the four single-qsubtype groups) of its qsubtype's metric
        (TableBench/TableBench ``eval_tablebench_script.py``, ``eval_by_type``)."""
        if self.qtype != "DataAnalysis" or applies("tablebench.data_analysis_groups", profile):
            return super().headline(subsets, items, scores, profile)
        once = {it.id: sc.score for it, sc in zip(items, scores, strict=True)}
        return sum(once.values()) / len(once) if once else 0.0

    def write_mini(self, data_dir: Path, rng: random.Random) -> None:
        path = Path(data_dir) / EVAL_FILE
        rows = read_jsonl(path) if path.exists() else []
        qtype = self.qtype or "FactChecking"
        rows = [r for r in rows if r.get("qtype") != qtype]
        for sub in self.spec.eval_source.subsets:
            for _ in range(MINI_ITEMS.get(qtype, 20)):
                extra = {}
                if qtype == "FactChecking":
                    table, question, answer = mini.mini_table_question(rng, multi_hop="Multi-hop" in sub)
                elif qtype == "NumericalReasoning":
                    table, question, answer = mini.numerical_reasoning(rng, sub)
                elif qtype == "DataAnalysis":
                    table, question, answer = mini.data_analysis(rng, sub)
                else:
                    table, question, answer, _ = mini.visualization(rng)
                    extra = {"chart_type": "bar"}
                uid = hashlib.md5(f"{table}{question}".encode()).hexdigest()
                rows.append({"id": uid, "qtype": qtype, "qsubtype": sub, "table": table,
                             "question": question, "answer": answer, **extra})
        atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


#: Re-exported for callers of the fact-checking generator.
mini_table_question = mini.mini_table_question


# ------------------------------------------------------------------ raw source: TableInstruct
def _read_tableinstruct(data_dir: Path) -> list[dict]:
    path = require(Path(data_dir) / TABLEINSTRUCT_FILE, "source tableinstruct")
    rows = read_jsonl(path)
    if rows and not {"instruction", "response"} <= set(rows[0]):
        raise DataError(f"source tableinstruct: {path} rows need 'instruction' and 'response'")
    return rows


def _mini_raw_row(template: str, table: dict, question: str, response: str) -> dict:
    return {"instruction": template.format(table=render_table(table), question=question), "input": "",
            "response": response}


def _write_mini_tableinstruct(data_dir: Path, rng: random.Random) -> None:
    """Mini TableInstruct: fact-checking rows, then numerical-reasoning, data-analysis and chart rows
    (like the real source, which mixes all qtypes; an agent has to pick what fits its task)."""
    rows = []
    for _ in range(MINI_RAW_ITEMS):
        multi = rng.random() < 0.5
        table, q, a = mini.mini_table_question(rng, multi_hop=multi)
        rows.append(_mini_raw_row(MINI_INSTRUCTION, table, q, f"Final Answer: {a}"))
    nr = ["Aggregation", "ArithmeticCalculation", "Comparison", "Counting", "Domain-Specific",
          "Multi-hop NumericalReasoing", "Ranking", "Time-basedCalculation"]
    for _ in range(MINI_RAW_PER_QTYPE):
        table, q, a = mini.numerical_reasoning(rng, rng.choice(nr))
        rows.append(_mini_raw_row(MINI_INSTRUCTION, table, q, f"Final Answer: {a}"))
    for _ in range(MINI_RAW_PER_QTYPE):
        table, q, a = mini.data_analysis(rng, rng.choice(sorted(DATA_ANALYSIS_RULES)))
        rows.append(_mini_raw_row(MINI_INSTRUCTION, table, q, f"Final Answer: {a}"))
    for _ in range(MINI_RAW_PER_QTYPE):
        table, q, _, code = mini.visualization(rng)
        rows.append(_mini_raw_row(MINI_VIS_INSTRUCTION, table, q, code))
    atomic_write_text(Path(data_dir) / TABLEINSTRUCT_FILE,
                      "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


register_reader("tableinstruct", RawSourceReader(
    read=_read_tableinstruct, write_mini=_write_mini_tableinstruct,
    text=lambda r: r.get("instruction", ""), files=[TABLEINSTRUCT_FILE]))
