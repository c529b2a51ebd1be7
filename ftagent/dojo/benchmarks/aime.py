"""AIME 2025 (math): 30 problems with integer answers 0-999, scored with math-verify.

* Evaluation source: ``opencompass/AIME2025`` (configs AIME2025-I, AIME2025-II; fields ``question``,
  ``answer``). Data-directory layout: ``aime2025/test.jsonl`` with ``problem`` (or ``question``) and
  ``answer`` per line, in contest order (I #1-15, II #1-15); no shuffle, so 15 validation / 15 test.
* Raw training source: DeepScaleR-Preview (``agentica-org/DeepScaleR-Preview-Dataset``, MIT), a JSON
  list of ``{problem, solution, answer, difficulty}``; about 82% of the solutions are empty.
* Mini: arithmetic problems with exact integer answers in the same layouts.
"""

from __future__ import annotations

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
from ftagent.eval.scorers.math import score_math
from ftagent.eval.profiles import ScoringProfile
from ftagent.eval.scoring import ItemScore
from ftagent.utils.io import atomic_write_text, read_jsonl

MINI_EVAL_ITEMS = 60
MINI_RAW_ITEMS = 1200


def mini_problem(rng: random.Random) -> tuple[str, int, str]:
    """One generated problem: (statement, integer answer, worked solution).

    The kinds range from digit manipulation a tiny model learns in a few hundred steps (remainder by
    10, multiplying by 10 or 100) to small-number arithmetic it learns slowly, so that scores move
    with the quality of the data recipe instead of sitting at 0 or 1.
    """
    kind = rng.randrange(5)
    if kind == 0:
        a = rng.randint(10, 999)
        return (f"Find the remainder when {a} is divided by 10.", a % 10,
                f"The remainder of {a} divided by 10 is its last digit, {a % 10}.")
    if kind == 1:
        a = rng.randint(2, 99)
        return f"What is {a} times 10?", a * 10, f"Appending a zero to {a} gives {a * 10}."
    if kind == 2:
        a = rng.randint(1, 9)
        return f"What is {a} times 100?", a * 100, f"Appending two zeros to {a} gives {a * 100}."
    if kind == 3:
        a, b = rng.randint(1, 9), rng.randint(1, 9)
        return f"Compute {a} + {b}.", a + b, f"{a} + {b} = {a + b}."
    a, b = rng.randint(10, 49), rng.randint(1, 9)
    return f"Compute {a} + {b}.", a + b, f"{a} + {b} = {a + b}."


@register_benchmark
class AIME(Benchmark):
    """AIME-style problems with a single integer answer in ``\\boxed{}``."""

    name = "aime"

    def load_subsets(self, data_dir: Path) -> dict[str, list[EvalItem]]:
        path = self.path(data_dir)
        items = []
        for i, row in enumerate(read_jsonl(path)):
            question = row.get("problem", row.get("question"))
            if question is None or "answer" not in row:
                raise DataError(f"task {self.spec.id}: {path} line {i + 1} lacks 'problem'/'question' or 'answer'")
            items.append(EvalItem(id=str(row.get("id", i)), subset="default",
                                  fields={"question": question}, answer=str(row["answer"]).strip()))
        return {"default": items}

    def reference_output(self, item: EvalItem) -> str:
        return f"The final answer is \\boxed{{{item.answer}}}."

    def score(self, output: str, item: EvalItem, profile: ScoringProfile = "benchmark") -> ItemScore:
        return score_math(output, item.answer)

    def write_mini(self, data_dir: Path, rng: random.Random) -> None:
        seen: set[str] = set()
        lines = []
        while len(lines) < MINI_EVAL_ITEMS:
            q, a, _ = mini_problem(rng)
            if q not in seen:
                seen.add(q)
                lines.append(json.dumps({"answer": str(a), "problem": q}))
        atomic_write_text(Path(data_dir) / self.spec.eval_source.path, "\n".join(lines) + "\n")


# ------------------------------------------------------------------- raw source: DeepScaleR
DEEPSCALER_FILE = "deepscaler/deepscaler.json"
DEEPSCALER_MIRROR_FILE = "deepscaler/deepscaler_head803.json"


def _read_deepscaler(data_dir: Path) -> list[dict]:
    d = Path(data_dir)
    path = d / DEEPSCALER_FILE if (d / DEEPSCALER_FILE).exists() else d / DEEPSCALER_MIRROR_FILE
    require(path, "source deepscaler")
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise DataError(f"source deepscaler: {path} is not valid JSON ({e.msg})") from None
    if not isinstance(rows, list) or (rows and not {"problem", "answer"} <= set(rows[0])):
        raise DataError(f"source deepscaler: {path} must be a JSON list of {{problem, solution, answer}}")
    return rows


def _write_mini_deepscaler(data_dir: Path, rng: random.Random) -> None:
    rows = []
    for _ in range(MINI_RAW_ITEMS):
        q, a, sol = mini_problem(rng)
        solution = "" if rng.random() < 0.8 else f"{sol} The answer is $\\boxed{{{a}}}$."
        rows.append({"problem": q, "solution": solution, "answer": str(a), "difficulty": 1.0})
    atomic_write_text(Path(data_dir) / DEEPSCALER_FILE, json.dumps(rows, indent=1) + "\n")


register_reader("deepscaler", RawSourceReader(
    read=_read_deepscaler, write_mini=_write_mini_deepscaler, text=lambda r: r.get("problem", ""),
    files=[DEEPSCALER_FILE]))
