"""FinanceIQ (finance): Chinese financial certification exams, four-option single choice, 10 subjects.

* Source: ``Duxiaoman-DI/FinanceIQ`` (CC BY-NC-SA 4.0), one CSV per subject under ``data/dev`` (5 rows)
  and ``data/test``, header ``,Question,A,B,C,D,Answer`` (first column: an unnamed row index).
  Data-directory layout: ``financeiq/data/{dev,test}/<subject>.csv``.
* Split (RD-Agent ``split.py``, DESIGN.md "Protocol details"): for a subject CSV of N test rows the
  *training copy* keeps the first N - m rows and the *benchmark copy* the last
  m = min(ceil(N / 2), 100) rows; the dev rows serve only as the 5 in-context examples. The held-out
  rule then halves the benchmark copy into validation and test (no shuffle).
* Scoring: last capital letter of the output vs the gold letter; the task metric is the accuracy
  averaged over subjects.
* Mini: arithmetic single-choice questions in the same CSV layout for four subjects.
"""

from __future__ import annotations

import csv
import io
import math
import random
from pathlib import Path

from ftagent.dojo.benchmarks.base import (
    Benchmark,
    EvalItem,
    RawSourceReader,
    register_benchmark,
    register_reader,
)
from ftagent.errors import DataError
from ftagent.eval.scorers.choice import score_choice
from ftagent.eval.profiles import ScoringProfile
from ftagent.eval.scoring import ItemScore
from ftagent.utils.io import atomic_write_text

ROOT = "financeiq/data"
HEADER = ["", "Question", "A", "B", "C", "D", "Answer"]
MINI_SUBJECTS = ["保险从业资格CICE", "基金从业资格", "税务师", "经济师"]
MINI_ROWS_PER_SUBJECT = 60


def benchmark_rows(n: int) -> int:
    """m = min(ceil(n / 2), 100): rows of a subject kept for the benchmark copy."""
    return min(math.ceil(n / 2), 100)


def read_subject_csv(path: Path) -> list[dict[str, str]]:
    """Rows of one subject CSV as dicts with Question, A-D, Answer.

    Raises:
        DataError: missing file, wrong header or an answer that is not A-D (names file and row).
    """
    if not path.exists():
        raise DataError(f"financeiq: file not found: {path}")
    text = path.read_text(encoding="utf-8-sig")
    reader = csv.DictReader(io.StringIO(text))
    missing = {"Question", "A", "B", "C", "D", "Answer"} - set(reader.fieldnames or [])
    if missing:
        raise DataError(f"financeiq: {path} lacks columns {sorted(missing)}")
    rows = []
    for i, row in enumerate(reader):
        if row["Answer"] is None or row["Answer"].strip() not in "ABCD" or not row["Answer"].strip():
            raise DataError(f"financeiq: {path} row {i}: answer {row['Answer']!r} is not one of A-D")
        rows.append({k: (row[k] or "") for k in ("Question", "A", "B", "C", "D", "Answer")})
    return rows


def subjects(data_dir: Path) -> list[str]:
    """Subject names (CSV stems under ``data/test``), sorted."""
    d = Path(data_dir) / ROOT / "test"
    if not d.is_dir():
        raise DataError(f"financeiq: directory not found: {d}")
    return sorted(p.stem for p in d.glob("*.csv"))


def _item(subject: str, idx: int, row: dict[str, str]) -> EvalItem:
    fields = {"subject": subject, "question": row["Question"], **{k: row[k] for k in "ABCD"}}
    return EvalItem(id=f"{subject}/{idx}", subset=subject, fields=fields, answer=row["Answer"].strip())


@register_benchmark
class FinanceIQ(Benchmark):
    """FinanceIQ single-choice questions."""

    name = "financeiq"

    def _subject_names(self, data_dir: Path) -> list[str]:
        declared = [s for s in self.spec.eval_source.subsets if s != "default"]
        return declared or subjects(data_dir)

    def load_subsets(self, data_dir: Path) -> dict[str, list[EvalItem]]:
        out = {}
        present = set(subjects(data_dir))
        for subject in self._subject_names(data_dir):
            if subject not in present:
                continue  # mini data has fewer subjects; `ftagent data info` reports what is missing
            rows = read_subject_csv(Path(data_dir) / ROOT / "test" / f"{subject}.csv")
            m = benchmark_rows(len(rows))
            start = len(rows) - m
            out[subject] = [_item(subject, start + i, r) for i, r in enumerate(rows[start:])]
        if not out:
            raise DataError(f"task {self.spec.id}: no subject CSV found under {Path(data_dir) / ROOT / 'test'}")
        return out

    def few_shot_items(self, data_dir: Path, subset: str) -> list[EvalItem]:
        path = Path(data_dir) / ROOT / "dev" / f"{subset}.csv"
        if not path.exists():
            return []
        return [_item(subset, i, r) for i, r in enumerate(read_subject_csv(path))][: self.spec.prompt.few_shot]

    def reference_output(self, item: EvalItem) -> str:
        return str(item.answer)

    def leakage_text(self, item: EvalItem) -> str:
        """Question and options."""
        return " ".join(str(item.fields[k]) for k in ("question", "A", "B", "C", "D"))

    def leakage_choices(self, item: EvalItem) -> tuple[str, list[str]]:
        """The question and its four options (a training row with them reordered or reworded leaks it)."""
        return str(item.fields["question"]), [str(item.fields[k]) for k in "ABCD"]

    def score(self, output: str, item: EvalItem, profile: ScoringProfile = "benchmark") -> ItemScore:
        return score_choice(output, item.answer)

    def write_mini(self, data_dir: Path, rng: random.Random) -> None:
        for subject in MINI_SUBJECTS:
            for part, n in (("dev", 5), ("test", MINI_ROWS_PER_SUBJECT)):
                buf = io.StringIO()
                w = csv.writer(buf, lineterminator="\n")
                w.writerow(HEADER)
                for i in range(n):
                    w.writerow([i, *mini_question(rng)])
                atomic_write_text(Path(data_dir) / ROOT / part / f"{subject}.csv", buf.getvalue())


def mini_question(rng: random.Random) -> list[str]:
    """One generated single-choice row: question, four options, gold letter."""
    a, b = rng.randint(1, 30), rng.randint(1, 30)
    if rng.random() < 0.5:
        q, ans = f"A fund holds {a} units and buys {b} more. How many units does it hold?", a + b
    else:
        a, b = max(a, b), min(a, b)
        q, ans = f"An account has {a} yuan and pays {b} yuan in fees. How much is left?", a - b
    options = {ans}
    while len(options) < 4:
        options.add(max(0, ans + rng.randint(-9, 9)))
    opts = sorted(options)
    rng.shuffle(opts)
    return [q, *map(str, opts), "ABCD"[opts.index(ans)]]


# ------------------------------------------------------------ raw source: FinanceIQ training rows
def _read_train_rows(data_dir: Path) -> list[dict]:
    """The training copy: the first N - m rows of each subject (benchmark rows and dev rows excluded)."""
    rows = []
    for subject in subjects(data_dir):
        all_rows = read_subject_csv(Path(data_dir) / ROOT / "test" / f"{subject}.csv")
        keep = len(all_rows) - benchmark_rows(len(all_rows))
        rows += [{"subject": subject, **r} for r in all_rows[:keep]]
    return rows


register_reader("financeiq_train", RawSourceReader(
    read=_read_train_rows, write_mini=lambda d, rng: None,  # written with the benchmark's mini CSVs
    text=lambda r: " ".join(str(r.get(k, "")) for k in ("Question", "A", "B", "C", "D")), files=[f"{ROOT}/test"],
    choices=lambda r: (str(r.get("Question", "")), [str(r.get(k, "")) for k in "ABCD"])))
