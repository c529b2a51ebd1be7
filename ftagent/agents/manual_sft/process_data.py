"""Manual SFT data script: the expert's rule-based recipe from a raw source to ``data.json``.

This file is two things at once:

* **the data script** the Manual SFT baselines run through ``Dojo.run_data_script`` in the sandbox: the
  agent writes this file's text with its ``RECIPE`` line replaced by the resolved recipe of the
  task (a Python literal), so ``final/process_data.py`` of a run is a complete, self-contained record of
  what was done. It uses the standard library only and reads the raw data from ``$FTDOJO_RAW_DIR``;
* **a module** the harness imports (``ftagent.agents.manual_sft.process_data``) for the same rules, so
  the chain-of-thought synthesis of ``manual-sft-cot`` sees exactly the samples the script will keep.

The recipe (``config/manual_sft.yaml``, one family per FT-Dojo domain) runs in this order:

1. **format** each raw row into the task's answer format: the instruction is the task's evaluation
   prompt template (as the Dojo's task card gives it) filled from the row, the output is the gold answer
   written the way the task's description asks for (``\\boxed{}``, an option letter, a JSON object, a
   ``Final Answer:`` line, a python block), optionally after the source's own worked solution. Rows that
   do not fit (missing fields, an answer outside the task's answer space, another subtask) are dropped
   and counted by reason;
2. **clean**: whitespace normalised, empty instructions or outputs dropped;
3. **de-duplicate** on the normalised instruction (first occurrence kept);
4. shuffle with the recipe's seed;
5. (``manual-sft-cot`` only) replace each output by its synthesised chain of thought from
   ``cot_synthesis.jsonl`` in the workspace (written by the harness; rows without an accepted one are
   dropped);
6. **length filter** (drop, never truncate) on instruction + output characters;
7. the **sample cap** (``--debug``: the first 100).

It writes ``data.json`` (Alpaca records) and ``data_stats.json`` (every count above) to the working
directory and prints one summary line.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import sys

RECIPE = None  # replaced by the resolved recipe when the agent writes this script

#: Samples written in debug mode (the Dojo's DEBUG_SAMPLES).
DEBUG_SAMPLES = 100
#: File of synthesised chains of thought, in the workspace (``manual-sft-cot``).
COT_FILE = "cot_synthesis.jsonl"


class Drop(Exception):
    """A raw row that does not fit the recipe; the message is the counted reason."""


# ------------------------------------------------------------------------------------------- helpers
def clean(text) -> str:
    """Unix newlines, no trailing spaces on lines, at most one blank line in a row, stripped."""
    text = str(text if text is not None else "").replace("\r\n", "\n").replace("\r", "\n")
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def norm_key(text: str) -> str:
    """The de-duplication key of an instruction: lower case, runs of whitespace as one space."""
    return " ".join(str(text).lower().split())


def sample_key(instruction: str) -> str:
    """Stable id of a sample (its instruction), used to match synthesised chains of thought."""
    return hashlib.sha256(norm_key(instruction).encode("utf-8")).hexdigest()[:16]


def fill(template: str, values: dict) -> str:
    """The evaluation prompt template filled with ``values`` (a missing field drops the row)."""
    try:
        return template.format(**values)
    except (KeyError, IndexError) as e:
        raise Drop(f"template_field_missing:{e}") from None


def last_boxed(text: str):
    """Content of the last ``\\boxed{...}`` (nested braces allowed), or None."""
    start = text.rfind("\\boxed{")
    if start < 0:
        return None
    i, depth, out = start + len("\\boxed{"), 1, []
    while i < len(text):
        ch = text[i]
        depth += ch == "{"
        depth -= ch == "}"
        if depth == 0:
            return "".join(out).strip()
        out.append(ch)
        i += 1
    return None


def last_json(text: str):
    """The last ``{...}`` of ``text`` that parses as a JSON object, or None."""
    dec = json.JSONDecoder()
    found = None
    for m in re.finditer(r"\{", text):
        try:
            obj, _ = dec.raw_decode(text[m.start():])
        except ValueError:
            continue
        if isinstance(obj, dict):
            found = obj
    return found


def _norm_value(v) -> str:
    if isinstance(v, list):
        v = ",".join(str(x) for x in v)
    s = " ".join(str(v).split())
    if re.fullmatch(r"[A-Za-z](\s*,\s*[A-Za-z])*", s):  # option letters: order and case do not matter
        s = ",".join(sorted(p.strip().upper() for p in s.split(",")))
    return s


def final_answer(fmt: str, text: str, keys=None):
    """The final answer of an output under an answer format, or None when it has none.

    Args:
        fmt: ``boxed`` (last ``\\boxed{}``), ``letter`` (last capital letter, the FinanceIQ rule),
            ``json`` (the last JSON object; only ``keys`` compared when given), ``answer_line`` (the last
            ``Final Answer:`` line) or ``code`` (the last python block, whitespace-normalised).
        text: The output.
        keys: Keys of a ``json`` answer that carry the answer (e.g. NOC4PC's ``code``, not its reason).
    """
    text = str(text or "")
    if fmt == "boxed":
        b = last_boxed(text)
        return b.replace(" ", "") if b else None
    if fmt == "letter":
        caps = re.findall(r"[A-Z]", text)
        return caps[-1] if caps else None
    if fmt == "json":
        obj = last_json(text)
        if obj is None:
            return None
        want = keys or sorted(obj)
        if any(k not in obj for k in want):
            return None
        return json.dumps({k: _norm_value(obj[k]) for k in want}, sort_keys=True)
    if fmt == "answer_line":
        lines = [ln for ln in text.split("\n") if ln.strip().lower().startswith("final answer:")]
        return " ".join(lines[-1].split(":", 1)[1].split()).lower() if lines else None
    if fmt == "code":
        blocks = re.findall(r"```(?:python)?\s*\n(.*?)```", text, flags=re.S)
        return "\n".join(ln.strip() for ln in blocks[-1].strip().split("\n") if ln.strip()) if blocks else None
    raise ValueError(f"unknown answer format '{fmt}'")


# ------------------------------------------------------------------------------------ family formats
def _math(row: dict, r: dict) -> tuple[str, str, str]:
    """DeepScaleR -> AIME: integer answers only, the answer in ``\\boxed{}``, the source's solution first
    when it has one that ends in the same boxed answer."""
    answer = clean(row.get("answer")).replace("$", "").replace(" ", "")
    if not answer:
        raise Drop("empty_answer")
    if r["integer_answers_only"] and not re.fullmatch(r"\d+", answer):
        raise Drop("non_integer_answer")
    if r["integer_answers_only"] and not 0 <= int(answer) <= 999:
        raise Drop("answer_out_of_range")
    gold = f"The final answer is \\boxed{{{answer}}}."
    output = gold
    solution = clean(row.get("solution"))
    if r["use_source_reasoning"] and solution:
        boxed = last_boxed(solution)
        if boxed is not None and boxed.replace(" ", "") == answer:
            output = solution.replace("$\\boxed", "\\boxed").replace("}$", "}")
    return fill(r["template"], {"question": clean(row.get("problem"))}), output, gold


def _letter(row: dict, r: dict) -> tuple[str, str, str]:
    """FinanceIQ training rows -> the option letter."""
    answer = clean(row.get("Answer")).upper()
    if answer not in ("A", "B", "C", "D"):
        raise Drop("answer_not_a_letter")
    values = {k: clean(row.get(k)) for k in ("A", "B", "C", "D")}
    if not all(values.values()):
        raise Drop("empty_option")
    values.update(subject=clean(row.get("subject")), question=clean(row.get("Question")))
    if not values["question"]:
        raise Drop("empty_question")
    return fill(r["template"], values), answer, answer


def _json_target(row: dict, r: dict) -> tuple[str, str, str]:
    """PANORAMA -> the benchmark's JSON answer (the repository's reader adds ``question``, ``claim``,
    ``choices`` and the gold JSON ``target`` to each record)."""
    target = clean(row.get("target"))
    try:
        obj = json.loads(target)
    except ValueError:
        raise Drop("target_not_json") from None
    if not isinstance(obj, dict) or any(k not in obj for k in r.get("answer_keys") or []):
        raise Drop("target_missing_answer")
    values = {k: clean(row.get(k)) for k in ("question", "claim", "choices")}
    return fill(r["template"], values), json.dumps(obj, ensure_ascii=False), target


def _chem(row: dict, r: dict) -> tuple[str, str, str]:
    """ChemCoTDataset -> the subtask's JSON answer; rows of the task's own ChemCoTBench task only."""
    if r.get("chem_task") and row.get("task") != r["chem_task"]:
        raise Drop("other_task")
    answer = clean(row.get("answer"))
    if not answer or last_json(answer) is None:
        raise Drop("empty_answer")
    output = answer
    cot = clean(row.get("cot"))
    if r["use_source_reasoning"] and cot and final_answer("json", cot) == final_answer("json", answer):
        output = cot
    values = {"question": clean(row.get("query")), "brief": clean(row.get("brief"))}
    return fill(r["template"], values), output, answer


#: The two instruction layouts of TableInstruct rows: the compact mini layout and the TableBench one.
_TABLE_LAYOUTS = [
    re.compile(r"^Table: (?P<table>\{.*?\})\n(?:Question|Chart): (?P<question>.*?)\n(?:End with|Write python)",
               re.S),
    re.compile(r"\[TABLE\]\s*\n?(?P<table>\{.*?\})\s*\n\s*(?:Let's get start!\s*\n)?"
               r"Question:\s*(?P<question>.*?)\s*$", re.S),
]


def _table_text(raw: str) -> str:
    """The table as TableBench prompts show it (a Python-style dict of columns and rows)."""
    try:
        t = json.loads(raw)
        return str({"columns": t.get("columns", []), "data": t.get("data", [])})
    except ValueError:
        return raw  # already in the Python-style form


def _table(row: dict, r: dict) -> tuple[str, str, str]:
    """TableInstruct -> the task's prompt re-rendered from the row's table and question; answer-line rows
    for the three QA tasks, python-chart rows for Visualization."""
    instruction, response = str(row.get("instruction") or ""), clean(row.get("response"))
    m = next((p.search(instruction) for p in _TABLE_LAYOUTS if p.search(instruction)), None)
    if m is None:
        raise Drop("instruction_layout_unknown")
    question = clean(m.group("question"))
    pattern = r.get("question_pattern")
    if pattern and not re.search(pattern, question, flags=re.I):
        raise Drop("question_not_of_this_task")
    if r["response_kind"] == "code":
        if final_answer("code", response) is None or "plt.show()" not in response:
            raise Drop("no_chart_code")
        gold = response
    else:
        if "```" in response:
            raise Drop("code_response")
        line = final_answer("answer_line", response)
        if not line:
            raise Drop("no_final_answer_line")
        gold = next(ln.strip() for ln in reversed(response.split("\n"))
                    if ln.strip().lower().startswith("final answer:"))
    output = response if r["use_source_reasoning"] else gold
    return fill(r["template"], {"table": _table_text(m.group("table")), "question": question}), output, gold


FORMATS = {"boxed": _math, "letter": _letter, "json": _json_target, "chem": _chem, "table": _table}
#: The answer format (:func:`final_answer`) of each family format.
ANSWER_FORMAT = {"boxed": "boxed", "letter": "letter", "json": "json", "chem": "json"}


def answer_format(recipe: dict) -> str:
    """The :func:`final_answer` format of a recipe."""
    if recipe["format"] == "table":
        return "code" if recipe["response_kind"] == "code" else "answer_line"
    return ANSWER_FORMAT[recipe["format"]]


# -------------------------------------------------------------------------------------------- recipe
def read_jsonl(path: str) -> list:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def candidates(recipe: dict, raw_dir: str) -> tuple[list, dict]:
    """Steps 1-4: every usable sample of the recipe's sources, formatted, cleaned, de-duplicated, shuffled.

    Returns:
        ``(rows, stats)``: rows are dicts with ``key``, ``instruction``, ``output`` and ``gold`` (the
        answer in the task's format, without reasoning); stats count what was read and dropped.

    Raises:
        SystemExit: a source of the recipe is missing from the raw-data folder.
    """
    fmt = FORMATS[recipe["format"]]
    stats = {"read": 0, "dropped": {}, "duplicates": 0, "sources": {}}
    rows, seen = [], set()
    for sid in recipe["sources"]:
        path = os.path.join(raw_dir, sid, "data.jsonl")
        if not os.path.exists(path):
            sys.exit(f"DataError: raw source '{sid}' not found at {path}")
        records = read_jsonl(path)
        stats["read"] += len(records)
        stats["sources"][sid] = len(records)
        for row in records:
            try:
                instruction, output, gold = fmt(row, recipe)
            except Drop as d:
                reason = str(d)
                stats["dropped"][reason] = stats["dropped"].get(reason, 0) + 1
                continue
            instruction, output = clean(instruction), clean(output)
            if not instruction or not output:
                stats["dropped"]["empty_after_cleaning"] = stats["dropped"].get("empty_after_cleaning", 0) + 1
                continue
            key = sample_key(instruction)
            if key in seen:
                stats["duplicates"] += 1
                continue
            seen.add(key)
            rows.append({"key": key, "instruction": instruction, "output": output, "gold": clean(gold)})
    random.Random(recipe["seed"]).shuffle(rows)
    stats["candidates"] = len(rows)
    return rows, stats


def finish(rows: list, stats: dict, recipe: dict, debug: bool, cot: dict | None = None) -> list:
    """Steps 5-7: synthesised outputs (when ``cot`` is given), the length filter and the cap."""
    if cot is not None:
        with_cot = [dict(r, output=cot[r["key"]]) for r in rows if r["key"] in cot]
        stats["no_accepted_cot"] = len(rows) - len(with_cot)
        rows = with_cot
    limit = recipe["max_chars"]
    kept = [r for r in rows if len(r["instruction"]) + len(r["output"]) <= limit]
    stats["too_long"] = len(rows) - len(kept)
    cap = DEBUG_SAMPLES if debug else recipe["sample_cap"]
    stats["over_cap"] = max(0, len(kept) - cap)
    kept = kept[:cap]
    stats["written"] = len(kept)
    return kept


def load_cot(path: str) -> dict:
    """Accepted synthesised outputs by sample key, from the harness's ``cot_synthesis.jsonl``."""
    return {r["key"]: r["output"] for r in read_jsonl(path) if r.get("accepted")}


def main(argv: list) -> int:
    if RECIPE is None:
        sys.exit("this is the template of the Manual SFT data script: the agent writes it with its RECIPE")
    debug = "--debug" in argv
    rows, stats = candidates(RECIPE, os.environ["FTDOJO_RAW_DIR"])
    cot = None
    if RECIPE.get("cot"):
        if not os.path.exists(COT_FILE):
            sys.exit(f"DataError: {COT_FILE} not found: the harness writes the synthesised chains of thought "
                     "first")
        cot = load_cot(COT_FILE)
    kept = finish(rows, stats, RECIPE, debug, cot)
    stats.update(mode="debug" if debug else "full", recipe=RECIPE["family"], max_chars=RECIPE["max_chars"],
                 sample_cap=RECIPE["sample_cap"])
    data = [{"instruction": r["instruction"], "input": "", "output": r["output"]} for r in kept]
    with open("data.json", "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False)
    with open("data_stats.json", "w", encoding="utf-8") as f:
        json.dump(stats, f, ensure_ascii=False, indent=1)
    dropped = sum(stats["dropped"].values())
    print(f"manual-sft recipe '{RECIPE['family']}': read {stats['read']}, dropped {dropped} "
          f"by rules, {stats['duplicates']} duplicates, {stats['too_long']} too long; wrote {len(data)} samples")
    if not data:
        sys.exit(f"DataError: no samples left after the recipe (stats: {json.dumps(stats)[:800]})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
