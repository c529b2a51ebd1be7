"""TableBench (table QA): questions over a JSON table, answered on a ``Final Answer:`` line.

* Source: ``Multilingual-Multimodal-NLP/TableBench`` (Apache-2.0 per the official README), 886 items
  in ``TableBench.jsonl`` with ``id, qtype, qsubtype, table{columns,data}, question, answer``.
  Four tasks select a ``qtype`` (FactChecking, NumericalReasoning, DataAnalysis, Visualization);
  their subsets are the qsubtypes. Shuffled with seed 42 before the held-out split.
* Raw training source: TableInstruct (``Multilingual-Multimodal-NLP/TableInstruct``), rows with
  ``instruction`` (the prompt, table included) and ``response``.
* Mini: small tables of players or cities with lookup (MatchBased) and arg-max (Multi-hop) questions.
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

from ftagent.dojo.benchmarks.base import (
    Benchmark,
    EvalItem,
    RawSourceReader,
    register_benchmark,
    register_reader,
    require,
)
from ftagent.errors import DataError
from ftagent.eval.scorers.tablebench import score_exact_match
from ftagent.eval.scoring import ItemScore
from ftagent.utils.io import atomic_write_text, read_jsonl

EVAL_FILE = "tablebench/TableBench.jsonl"
TABLEINSTRUCT_FILE = "tableinstruct/TableInstruct_instructions.jsonl"
MINI_ITEMS_PER_SUBTYPE = 40
MINI_RAW_ITEMS = 1200

#: Compact prompt used inside mini TableInstruct rows (the same wording as the tasks' compact prompt).
MINI_INSTRUCTION = "Table: {table}\nQuestion: {question}\nEnd with 'Final Answer: <answer>'."


def render_table(table: dict) -> str:
    """The table as TableBench prompts show it (a Python-style dict of columns and rows)."""
    return str({"columns": table.get("columns", []), "data": table.get("data", [])})


@register_benchmark
class TableBench(Benchmark):
    """TableBench questions of one qtype, scored by exact match of the final answer."""

    name = "tablebench"

    #: qtypes whose scoring is implemented.
    SUPPORTED_QTYPES = ("FactChecking",)

    def unsupported_reason(self) -> str | None:
        qtype = self.spec.eval_source.filter.get("qtype")
        if qtype not in self.SUPPORTED_QTYPES:
            return f"TableBench {qtype} scoring is not implemented yet"
        return None

    def load_subsets(self, data_dir: Path) -> dict[str, list[EvalItem]]:
        path = self.path(data_dir)
        want = self.spec.eval_source.filter
        out: dict[str, list[EvalItem]] = {s: [] for s in self.spec.eval_source.subsets}
        for i, row in enumerate(read_jsonl(path)):
            if any(row.get(k) != v for k, v in want.items()):
                continue
            missing = {"qsubtype", "table", "question", "answer"} - set(row)
            if missing:
                raise DataError(f"task {self.spec.id}: {path} line {i + 1} lacks {sorted(missing)}")
            sub = row["qsubtype"]
            if sub not in out:
                raise DataError(f"task {self.spec.id}: {path} line {i + 1}: qsubtype {sub!r} is not a "
                                f"declared subset ({', '.join(out)})")
            fields = {"table": render_table(row["table"]), "question": row["question"]}
            if "chart_type" in row:
                fields["chart_type"] = row["chart_type"]
            out[sub].append(EvalItem(id=f"{row.get('id', i)}#{i}", subset=sub, fields=fields,
                                     answer=row["answer"]))
        return {s: v for s, v in out.items() if v}

    def reference_output(self, item: EvalItem) -> str:
        return f"Final Answer: {item.answer}"

    def leakage_text(self, item: EvalItem) -> str:
        """Table and question: the same question over another table is not a leak."""
        return f"{item.fields['table']} {item.fields['question']}"

    def score(self, output: str, item: EvalItem) -> ItemScore:
        return score_exact_match(output, str(item.answer))

    def write_mini(self, data_dir: Path, rng: random.Random) -> None:
        path = Path(data_dir) / EVAL_FILE
        rows = read_jsonl(path) if path.exists() else []
        qtype = self.spec.eval_source.filter.get("qtype", "FactChecking")
        rows = [r for r in rows if r.get("qtype") != qtype]
        for sub in self.spec.eval_source.subsets:
            for _ in range(MINI_ITEMS_PER_SUBTYPE):
                table, question, answer = mini_table_question(rng, multi_hop="Multi-hop" in sub)
                uid = hashlib.md5(f"{table}{question}".encode()).hexdigest()
                rows.append({"id": uid, "qtype": qtype, "qsubtype": sub, "table": table,
                             "question": question, "answer": answer})
        atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


_NAMES = ["ada", "bo", "cy", "dee", "eli", "fay", "gus", "hal", "ivy", "jo", "kai", "lu", "max", "ned",
          "oz", "pia", "quin", "rex", "sol", "tam", "uma", "vic", "wes", "xia", "yan", "zoe"]
_COLS = ["goals", "games", "wins", "points"]


def mini_table_question(rng: random.Random, multi_hop: bool) -> tuple[dict, str, str]:
    """A small table and a question over it: a cell lookup, or (multi-hop) the name with the top value."""
    names = rng.sample(_NAMES, 3)
    cols = rng.sample(_COLS, 2)
    data = [[n, *(str(rng.randint(1, 30)) for _ in cols)] for n in names]
    table = {"columns": ["name", *cols], "data": data}
    c = rng.randrange(len(cols))
    if multi_hop:
        vals = [int(r[c + 1]) for r in data]
        if vals.count(max(vals)) > 1:
            data[vals.index(max(vals))][c + 1] = str(max(vals) + 1)
            vals = [int(r[c + 1]) for r in data]
        return table, f"Who has the most {cols[c]}?", data[vals.index(max(vals))][0]
    r = rng.randrange(len(data))
    return table, f"How many {cols[c]} does {data[r][0]} have?", data[r][c + 1]


# ------------------------------------------------------------------ raw source: TableInstruct
def _read_tableinstruct(data_dir: Path) -> list[dict]:
    path = require(Path(data_dir) / TABLEINSTRUCT_FILE, "source tableinstruct")
    rows = read_jsonl(path)
    if rows and not {"instruction", "response"} <= set(rows[0]):
        raise DataError(f"source tableinstruct: {path} rows need 'instruction' and 'response'")
    return rows


def _write_mini_tableinstruct(data_dir: Path, rng: random.Random) -> None:
    rows = []
    for _ in range(MINI_RAW_ITEMS):
        multi = rng.random() < 0.5
        table, q, a = mini_table_question(rng, multi_hop=multi)
        rows.append({"instruction": MINI_INSTRUCTION.format(table=render_table(table), question=q),
                     "input": "", "response": f"Final Answer: {a}"})
    atomic_write_text(Path(data_dir) / TABLEINSTRUCT_FILE,
                      "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


register_reader("tableinstruct", RawSourceReader(
    read=_read_tableinstruct, write_mini=_write_mini_tableinstruct,
    text=lambda r: r.get("instruction", ""), files=[TABLEINSTRUCT_FILE]))
