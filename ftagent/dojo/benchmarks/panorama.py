"""PANORAMA (patent examination): PAR4PC prior-art retrieval, PI4PC paragraph identification and NOC4PC
novelty / non-obviousness classification of a patent application's claim.

* Evaluation source: ``LG-AI-Research/PANORAMA`` (CC BY-NC 4.0), ``data_dir`` PAR4PC, PI4PC or NOC4PC,
  split ``test``. The task's ``eval_source.path`` is the folder ``panorama/<TASK>``, read in this order
  (the first that exists is the evaluation source):

  1. ``test.parquet``: the hub's ``<TASK>/test.parquet``, copied verbatim by ``ftagent data fetch``;
  2. ``samples/*.json``: the official sample instances of github.com/LGAI-Research/PANORAMA (one object
     per file, read in file-name order), as the local mirror holds them;
  3. ``samples.jsonl``: the same samples, one object per line.

  Fields (PANORAMA card and the samples' README): ``application_number``, ``claim_number`` (str or int),
  ``context{title, abstract, claims[]}``; PAR4PC ``options{A..H: {patent_id, title, abstract,
  claims[]}}`` and ``gold/silver/negative_answers`` (letters); PI4PC ``prior_art_specification{patent_id,
  title, abstract, claims[], specification}``, ``options{<paragraph number>: text}`` (five) and
  ``gold/silver/negative_answers`` (paragraph numbers, str or int); NOC4PC
  ``prior_art_specifications[{patent_id, title, abstract, claims[], paragraphs[{key, content}]}]`` and
  ``answer{reason, code}``. Nested fields may be structs or JSON strings (both are read; struct keys
  that are null in a row are dropped). Items are shuffled with seed 42 before the held-out split (task
  YAML); item ids are ``<application_number>-<claim_number>#<row>``.
* Raw training sources: the hub's train splits, ``panorama/<TASK>/train.parquet`` (readers
  ``panorama_<task>_train``). The mirror holds none, so there the sources are reported missing. Each
  record keeps every hub field as stored and gains the evaluation prompt fields ``question``, ``claim``
  and ``choices`` and the gold output ``target`` in the answer format, so a data script can fill either
  evaluation prompt without re-implementing the rendering (the raw fields stay available).
* Prompts: ``question`` is the complete prompt body (the full template is ``{question}``); ``claim`` and
  ``choices`` are short renderings for the compact template (mini scale). Text fields are clipped to
  :data:`LIMITS` characters (whitespace collapsed, cut at a word boundary, marked `` [...]``), which keeps
  a full prompt of a real item near 2-4k tokens: the application's title and abstract, the target claim
  (and the claim it depends on), then per task the eight candidates' titles, abstracts and first claims;
  the five candidate paragraphs (the 40k-character specification itself is left out); or each cited
  reference's title, abstract, first claim and cited paragraphs.
* Scoring: :mod:`ftagent.eval.scorers.panorama` (PAR4PC macro-F1 over letters, PI4PC gold-hit rate,
  NOC4PC macro-F1 over codes).
* Mini: claims and prior art made of short synthetic sentences over a small vocabulary of machine
  parts. PAR4PC: cited candidates share two parts with the claim, silver ones one part; PI4PC: the gold
  paragraph (of five numbered 1-9) names both claimed parts with the claim's verb; NOC4PC: 102 when one
  reference names every claimed part, 103 when two references together do, ALLOW when a part is in
  none. Written as
  ``test.parquet`` / ``train.parquet`` (PI4PC options as a JSON string, the other nested fields as
  structs, so both encodings are exercised).
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

from ftagent.dojo.benchmarks.base import (
    Benchmark,
    EvalItem,
    RawSourceReader,
    register_benchmark,
    register_reader,
)
from ftagent.errors import DataError
from ftagent.eval.scorers.panorama import (
    CODES,
    LETTERS,
    as_letters,
    as_paragraphs,
    macro_f1_codes,
    macro_f1_codes_readable,
    macro_f1_letters,
    parse_code,
    pooled_f1_letters,
    score_noc4pc,
    score_noc4pc_paper,
    score_par4pc,
    score_par4pc_paper,
    score_pi4pc,
    score_pi4pc_paper,
)
from ftagent.eval.profiles import ScoringProfile, applies
from ftagent.eval.scoring import ItemScore
from ftagent.utils.io import atomic_write_bytes, read_json, read_jsonl

ROOT = "panorama"
KINDS = ("PAR4PC", "PI4PC", "NOC4PC")
MINI_EVAL_ITEMS = 48
MINI_RAW_ITEMS = 600

#: Character limits of the text fields in prompts (real claims run to 6k characters, specifications to 40k).
LIMITS = {
    "title": 200, "abstract": 800, "claim": 2000, "parent_claim": 800,   # the application
    "option_abstract": 500, "option_claim": 500,                          # PAR4PC candidates
    "paragraph": 1200,                                                    # PI4PC / NOC4PC paragraphs
    "ref_paragraphs": 3000,                                               # NOC4PC, per reference
    "compact_claim": 300, "compact_line": 160,                            # compact style
}

#: NOC4PC reasons of :meth:`Panorama.reference_output` (generic: an item's examiner reason is never shown).
GENERIC_REASONS = {
    "102": "One reference discloses every limitation.",
    "103": "The references combined teach every limitation.",
    "ALLOW": "No reference teaches every limitation.",
}


# ----------------------------------------------------------------------------- normalising rows
def clip(text: Any, limit: int) -> str:
    """``text`` with whitespace collapsed, cut at a word boundary to ``limit`` characters + `` [...]``."""
    s = " ".join(str(text or "").split())
    if len(s) <= limit:
        return s
    cut = s[:limit].rsplit(" ", 1)[0] or s[:limit]
    return cut + " [...]"


def _py(v: Any) -> Any:
    """Plain Python values (numpy arrays and scalars from pandas/pyarrow converted)."""
    if hasattr(v, "tolist") and not isinstance(v, str | bytes):
        v = v.tolist()
    if isinstance(v, dict):
        return {k: _py(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_py(x) for x in v]
    return v


def _nested(row: dict[str, Any], key: str, kind: type) -> Any:
    """A nested field stored as a struct/list or as a JSON string; null struct members dropped."""
    if key not in row or row[key] is None:
        raise ValueError(f"lacks '{key}'")
    v = _py(row[key])
    if isinstance(v, str):
        try:
            v = json.loads(v)
        except json.JSONDecodeError:
            raise ValueError(f"field '{key}' is neither a {kind.__name__} nor JSON") from None
    if not isinstance(v, kind):
        raise ValueError(f"field '{key}' is not a {kind.__name__}")
    return {k: x for k, x in v.items() if x is not None} if isinstance(v, dict) else v


def _claims(v: Any) -> list[str]:
    out = []
    for c in _py(v) or []:
        out.append(str(c.get("claim_text", c.get("text", ""))) if isinstance(c, dict) else str(c))
    return out


def claim_text(claims: list[str], number: int) -> str:
    """The claim numbered ``number``: the one whose text starts ``"<number>."``, else position number-1.

    A claim that runs on into the following claims (seen in the official samples: a 5,857-character
    claim 1 holding claims 1-7) is cut before ``"<number+1>. "`` followed by a capital letter.
    """
    pat = re.compile(rf"\s*{number}\s*[.)]")
    text = next((c for c in claims if pat.match(c)), None)
    if text is None:
        text = claims[number - 1] if 0 < number <= len(claims) else ""
    return re.split(rf"\s{number + 1}\s*\.\s+(?=[A-Z])", text, maxsplit=1)[0]


def _str(d: dict[str, Any], key: str) -> str:
    return str(d.get(key) or "")


def _ref(r: dict[str, Any]) -> dict[str, Any]:
    paras = [(p.get("key"), _str(p, "content")) for p in _py(r.get("paragraphs")) or []
             if isinstance(p, dict)]
    return {**{k: _str(r, k) for k in ("patent_id", "title", "abstract")}, "claims": _claims(r.get("claims")),
            "paragraphs": paras}


def normalise(kind: str, row: dict[str, Any]) -> dict[str, Any]:
    """A source row in canonical form.

    Returns:
        ``application`` (str), ``claim_number`` (int), ``title``, ``abstract``, ``claims`` (list[str]),
        ``claim_text``, ``parent_text`` (the claim it depends on, or ""), and per task: PAR4PC
        ``options`` {letter: {patent_id, title, abstract, claims}}, ``gold``/``silver`` letters; PI4PC
        ``prior_art`` {patent_id, title, abstract}, ``options`` {int: text}, ``gold``/``silver`` ints;
        NOC4PC ``refs`` [{patent_id, title, abstract, claims, paragraphs [(key, text)]}], ``code``,
        ``reason``.

    Raises:
        ValueError: a field is missing or malformed (the caller adds file and row).
    """
    if "application_number" not in row or "claim_number" not in row:
        raise ValueError("lacks 'application_number' or 'claim_number'")
    try:
        number = int(str(_py(row["claim_number"])).strip())
    except ValueError:
        raise ValueError(f"claim_number {row['claim_number']!r} is not an integer") from None
    ctx = _nested(row, "context", dict)
    claims = _claims(ctx.get("claims"))
    text = claim_text(claims, number)
    parent = re.search(r"\bclaims?\s+(\d+)", text[:300], re.IGNORECASE)
    parent_no = int(parent.group(1)) if parent else number
    out: dict[str, Any] = {
        "application": str(_py(row["application_number"])).strip(), "claim_number": number,
        "title": _str(ctx, "title"), "abstract": _str(ctx, "abstract"), "claims": claims, "claim_text": text,
        "parent_text": claim_text(claims, parent_no) if parent_no != number else "",
    }
    gold, silver = _py(row.get("gold_answers")), _py(row.get("silver_answers"))
    if kind == "PAR4PC":
        opts = _nested(row, "options", dict)
        out["options"] = {k: _nested(opts, k, dict) for k in LETTERS if k in opts}
        out["gold"], out["silver"] = as_letters(gold), as_letters(silver)
        if not out["gold"] or set(out["gold"]) - set(out["options"]):
            raise ValueError(f"gold_answers {gold!r} are not option letters")
    elif kind == "PI4PC":
        out["prior_art"] = _ref(_nested(row, "prior_art_specification", dict))
        out["options"] = {int(str(k).strip()): str(v) for k, v in _nested(row, "options", dict).items()}
        out["gold"], out["silver"] = as_paragraphs(gold), as_paragraphs(silver)
        if not out["gold"]:
            raise ValueError(f"gold_answers {gold!r} hold no paragraph number")
    elif kind == "NOC4PC":
        out["refs"] = [_ref(r) for r in _nested(row, "prior_art_specifications", list) if isinstance(r, dict)]
        answer = _nested(row, "answer", dict)
        out["code"], out["reason"] = parse_code(answer.get("code")), _str(answer, "reason")
        if out["code"] is None:
            raise ValueError(f"answer code {answer.get('code')!r} is not one of {', '.join(CODES)}")
    return out


# ----------------------------------------------------------------------------- prompts
def _application(r: dict[str, Any]) -> str:
    lines = [f"Patent application {r['application']}: {clip(r['title'], LIMITS['title'])}",
             f"Abstract: {clip(r['abstract'], LIMITS['abstract'])}", "",
             f"Claim {r['claim_number']} under examination:",
             clip(r["claim_text"], LIMITS["claim"]) or "(claim text not available)"]
    if r["parent_text"]:
        lines += ["The claim it depends on:", clip(r["parent_text"], LIMITS["parent_claim"])]
    return "\n".join(lines)


def _first_claim(claims: list[str], limit: int) -> str:
    return clip(claims[0], limit) if claims else "(none)"


def render_fields(kind: str, r: dict[str, Any]) -> dict[str, str]:
    """Prompt fields of a canonical row: ``question`` (full prompt body), ``claim``, ``choices`` (compact)."""
    n = r["claim_number"]
    claim = clip(r["claim_text"], LIMITS["compact_claim"])
    line = LIMITS["compact_line"]
    if kind == "PAR4PC":
        cands = []
        for k, o in r["options"].items():
            cands += [f"({k}) {o.get('patent_id', '')}: {clip(o.get('title'), LIMITS['title'])}",
                      f"    Abstract: {clip(o.get('abstract'), LIMITS['option_abstract'])}",
                      f"    First claim: {_first_claim(_claims(o.get('claims')), LIMITS['option_claim'])}"]
        question = "\n".join([
            "You are a patent examiner searching for prior art.", "", _application(r), "",
            "Candidate prior-art patents:", *cands, "",
            f"Which of the candidates (A-H) did the examiner cite against claim {n}? "
            "One or more may be cited.",
            'Reply with JSON only: {"answer": "<letters separated by commas>"}, e.g. {"answer": "C"} or '
            '{"answer": "B,F"}.'])
        choices = "\n".join(f"{k}: {clip(o.get('title'), line)}" for k, o in r["options"].items())
    elif kind == "PI4PC":
        paras = [f"[{k}] {clip(v, LIMITS['paragraph'])}" for k, v in sorted(r["options"].items())]
        pa = r["prior_art"]
        question = "\n".join([
            "You are a patent examiner reading a cited prior-art document.", "", _application(r), "",
            f"Cited prior art {pa['patent_id']}: {clip(pa['title'], LIMITS['title'])}",
            f"Abstract: {clip(pa['abstract'], LIMITS['abstract'])}", "",
            "Candidate paragraphs of its specification:", *paras, "",
            f"Which one of these paragraphs did the examiner rely on to reject claim {n}?",
            'Reply with JSON only: {"answer": <paragraph number>}, e.g. {"answer": 12}.'])
        choices = "\n".join(f"[{k}] {clip(v, line)}" for k, v in sorted(r["options"].items()))
    else:
        refs, short = [], []
        for i, ref in enumerate(r["refs"], 1):
            paras, used = [], 0
            for key, text in ref["paragraphs"]:
                t = clip(text, LIMITS["paragraph"])
                if used + len(t) > LIMITS["ref_paragraphs"]:
                    break
                paras.append(f"  [{key}] {t}")
                used += len(t)
            refs += [f"Reference {i}: {ref['patent_id']}: {clip(ref['title'], LIMITS['title'])}",
                     f"  Abstract: {clip(ref['abstract'], LIMITS['option_abstract'])}",
                     f"  First claim: {_first_claim(ref['claims'], LIMITS['option_claim'])}",
                     "  Cited paragraphs:", *(paras or ["  (none)"])]
            short += [f"Ref {i} [{key}] {clip(text, line)}" for key, text in ref["paragraphs"][:2]] or [
                f"Ref {i}: {clip(ref['title'], line)}"]
        question = "\n".join([
            "You are a U.S. patent examiner deciding on novelty and non-obviousness.", "",
            _application(r), "",
            "Cited prior art:", *refs, "",
            f"Is claim {n} allowable over these references (ALLOW), anticipated by a single reference "
            "(35 U.S.C. 102, code 102), or obvious over the references (35 U.S.C. 103, code 103)?",
            'Reply with JSON only, a short reason first: '
            '{"reason": "...", "code": "ALLOW" | "102" | "103"}.'])
        choices = "\n".join(short)
    return {"question": question, "claim": claim, "choices": choices}


def target(kind: str, r: dict[str, Any]) -> str:
    """The gold output of a canonical row in the task's answer format (NOC4PC: the examiner's reason)."""
    if kind == "PAR4PC":
        return json.dumps({"answer": ",".join(r["gold"])})
    if kind == "PI4PC":
        return json.dumps({"answer": r["gold"][0]})
    return json.dumps({"reason": r["reason"], "code": r["code"]}, ensure_ascii=False)


def leak_text(r: dict[str, Any]) -> str:
    """What the leakage guard compares: application number, claim number and the claim's full text.

    The same claim in another task's train split counts too (e.g. a NOC4PC reason naming the references
    a PAR4PC test item asks for); a boilerplate dependent claim of another application does not.
    """
    return f"application {r['application']} claim {r['claim_number']}: {r['claim_text']}"


# ----------------------------------------------------------------------------- files
def _read_parquet(path: Path, who: str) -> list[dict[str, Any]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.read_table(path).to_pylist()
    except (pa.ArrowException, OSError) as e:
        raise DataError(f"{who}: {path} is not a readable parquet file ({str(e).splitlines()[0]})") from None


def _write_parquet(path: Path, rows: list[dict[str, Any]]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    buf = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pylist(rows), buf)
    atomic_write_bytes(path, buf.getvalue().to_pybytes())


def read_rows(folder: Path, who: str) -> list[tuple[str, dict[str, Any]]]:
    """(location, row) pairs of the evaluation source in ``folder`` (order in the module docstring).

    Raises:
        DataError: none of the three layouts is present, or a file is unreadable.
    """
    if (folder / "test.parquet").exists():
        path = folder / "test.parquet"
        return [(f"{path} row {i}", r) for i, r in enumerate(_read_parquet(path, who))]
    files = sorted((folder / "samples").glob("*.json"))
    if files:
        return [(str(f), read_json(f)) for f in files]
    if (folder / "samples.jsonl").exists():
        path = folder / "samples.jsonl"
        return [(f"{path} line {i + 1}", r) for i, r in enumerate(read_jsonl(path))]
    raise DataError(f"{who}: no test.parquet, samples/*.json or samples.jsonl in {folder}")


# ----------------------------------------------------------------------------- the benchmark
@register_benchmark
class Panorama(Benchmark):
    """One PANORAMA task; the task folder's name (``panorama/PAR4PC``...) selects PAR4PC, PI4PC or NOC4PC."""

    name = "panorama"

    @property
    def kind(self) -> str:
        """PAR4PC, PI4PC or NOC4PC."""
        return Path(self.spec.eval_source.path).name.upper()

    def unsupported_reason(self) -> str | None:
        if self.kind not in KINDS:
            return f"eval_source.path must end in one of {', '.join(KINDS)}, not {self.kind!r}"
        return None

    def load_subsets(self, data_dir: Path) -> dict[str, list[EvalItem]]:
        who = f"task {self.spec.id}"
        items = []
        for i, (where, row) in enumerate(read_rows(self.path(data_dir), who)):
            try:
                r = normalise(self.kind, row)
            except (ValueError, TypeError, AttributeError) as e:
                raise DataError(f"{who}: {where}: {e}") from None
            fields: dict[str, Any] = {**render_fields(self.kind, r), "application": r["application"],
                                      "claim_number": r["claim_number"], "claim_text": r["claim_text"]}
            if self.kind == "NOC4PC":
                answer: Any = r["code"]
            else:
                answer = r["gold"]
                fields["silver"] = r["silver"]
                if self.kind == "PI4PC":
                    fields["option_keys"] = sorted(r["options"])
            items.append(EvalItem(id=f"{r['application']}-{r['claim_number']}#{i}",
                                  subset=self.spec.eval_source.subsets[0], fields=fields, answer=answer))
        if not items:
            raise DataError(f"{who}: the evaluation source in {self.path(data_dir)} holds no items")
        return {self.spec.eval_source.subsets[0]: items}

    def reference_output(self, item: EvalItem) -> str:
        if self.kind == "PAR4PC":
            return json.dumps({"answer": ",".join(item.answer)})
        if self.kind == "PI4PC":
            return json.dumps({"answer": item.answer[0]})
        return json.dumps({"reason": GENERIC_REASONS[item.answer], "code": item.answer})

    def leakage_text(self, item: EvalItem) -> str:
        """Application number, claim number and the claim's full text (see :func:`leak_text`)."""
        return leak_text(item.fields)

    def score(self, output: str, item: EvalItem, profile: ScoringProfile = "benchmark") -> ItemScore:
        """Score one output; ``paper``: the fork's extraction (``panorama.answer_extraction``) and PAR4PC
        custom score without silver letters (``par4pc.custom_score_silver``)."""
        if applies("panorama.answer_extraction", profile):
            if self.kind == "PAR4PC":
                return score_par4pc_paper(output, item.answer)
            if self.kind == "PI4PC":
                return score_pi4pc_paper(output, item.answer)
            return score_noc4pc_paper(output, item.answer)
        if self.kind == "PAR4PC":
            silver = [] if applies("par4pc.custom_score_silver", profile) else item.fields.get("silver", [])
            return score_par4pc(output, item.answer, silver)
        if self.kind == "PI4PC":
            return score_pi4pc(output, item.answer, item.fields.get("silver", []),
                               item.fields.get("option_keys"))
        return score_noc4pc(output, item.answer)

    def aggregate(self, scores: list[ItemScore], items: list[EvalItem],
                  profile: ScoringProfile = "benchmark") -> float:
        """PAR4PC / NOC4PC: macro-F1 of the group; PI4PC: gold-hit rate (mean item score).

        ``paper`` profile: PAR4PC pooled F1 without silver letters (rule ``par4pc.pooled_f1_no_silver``),
        NOC4PC macro-F1 over the readable answers and all three labels
        (``noc4pc.drop_unreadable_all_labels``).
        """
        golds = [it.answer for it in items]
        if self.kind == "PAR4PC":
            preds = [s.details.get("pred", []) for s in scores]
            if applies("par4pc.pooled_f1_no_silver", profile):
                return pooled_f1_letters(golds, preds)
            return macro_f1_letters(golds, preds)
        if self.kind == "NOC4PC":
            if applies("noc4pc.drop_unreadable_all_labels", profile):
                return macro_f1_codes_readable(golds, [s.extracted for s in scores])
            return macro_f1_codes(golds, [s.extracted for s in scores])
        return super().aggregate(scores, items, profile)

    def write_mini(self, data_dir: Path, rng: random.Random) -> None:
        rows = [mini_row(self.kind, rng, f"9{i:07d}") for i in range(MINI_EVAL_ITEMS)]
        for r in rows:
            r["claim_number"] = str(r["claim_number"])  # the hub's str/int variation
            if self.kind == "PI4PC":
                r["gold_answers"] = [str(g) for g in r["gold_answers"]]
                r["silver_answers"] = [str(g) for g in r["silver_answers"]]
                r["negative_answers"] = [str(g) for g in r["negative_answers"]]
        _write_parquet(Path(data_dir) / self.spec.eval_source.path / "test.parquet", rows)


# ----------------------------------------------------------------------------- mini data
_PARTS = ["pump", "valve", "sensor", "lens", "motor", "battery", "antenna", "filter", "gear", "spring",
          "cable", "screen", "fan", "heater", "magnet", "laser", "camera", "switch", "rotor", "nozzle",
          "panel", "clamp", "probe", "drum"]
_THINGS = ["device", "system", "unit", "tool"]
_VERBS = ["drives", "holds", "cools", "feeds", "turns"]


def _patent_id(rng: random.Random) -> str:
    return f"US{rng.randint(2000000, 2099999)}"


def mini_row(kind: str, rng: random.Random, application: str) -> dict[str, Any]:
    """One generated source row of ``kind`` in the hub's field layout (short texts, exact answers)."""
    thing = rng.choice(_THINGS)
    parts = rng.sample(_PARTS, 9)
    a, b, c = parts[:3]
    others = parts[3:]
    row: dict[str, Any] = {"application_number": application, "claim_number": 1}
    if kind == "PI4PC":
        verb = rng.choice(_VERBS)
        claim = f"1. A {thing} in which the {a} {verb} the {b}."
        texts = [(f"The {a} {verb} the {b}.", "gold"),
                 (f"The {a} {rng.choice(_VERBS)} the {others[0]}.", "silver")]
        for _ in range(3):
            x, y = rng.sample(others[1:], 2)
            texts.append((f"The {x} {verb} the {y}.", "negative"))
        keys = rng.sample(range(1, 10), 5)  # one-digit numbers: a tiny model copies one token
        row["context"] = {"title": f"{a} {thing}", "abstract": f"A {thing} with a {a} and a {b}.",
                          "claims": [claim]}
        spec = " ".join(f"[{k:04d}] {t}" for k, (t, _) in sorted(zip(keys, texts, strict=True)))
        row["prior_art_specification"] = {
            "title": f"{a} {others[1]} {thing}", "abstract": f"A {thing} with moving parts.",
            "claims": [f"1. A {thing} with a {a}."], "patent_id": _patent_id(rng),
            "specification": spec}
        row["options"] = json.dumps({str(k): t for k, (t, _) in zip(keys, texts, strict=True)})
        for label in ("gold", "silver", "negative"):
            row[f"{label}_answers"] = [k for k, (_, lab) in zip(keys, texts, strict=True) if lab == label]
        return row
    claim = f"1. A {thing} comprising a {a}, a {b} and a {c}."
    row["context"] = {"title": f"{a} {b} {thing}", "abstract": f"A {thing} with a {a}, a {b} and a {c}.",
                      "claims": [claim]}
    if kind == "PAR4PC":
        pairs = rng.sample([(a, b), (a, c), (b, c)], rng.choice([1, 2]))
        cands = [(f"{x} {y} {rng.choice(_THINGS)}", "gold") for x, y in pairs]
        if rng.random() < 0.5:
            cands.append((f"{rng.choice([a, b, c])} {rng.choice(others)} {rng.choice(_THINGS)}", "silver"))
        while len(cands) < 8:
            x, y = rng.sample(others, 2)
            cands.append((f"{x} {y} {rng.choice(_THINGS)}", "negative"))
        rng.shuffle(cands)
        row["options"] = {L: {"patent_id": _patent_id(rng), "title": t, "abstract": f"A {t} for general use.",
                              "claims": [f"1. A {t}."]} for L, (t, _) in zip(LETTERS, cands, strict=True)}
        for label in ("gold", "silver", "negative"):
            row[f"{label}_answers"] = [L for L, (_, lab) in zip(LETTERS, cands, strict=True) if lab == label]
        return row
    code = rng.choice(CODES)
    if code == "102":
        taught = [[a, b, c], others[:2]]
        reason = "Ref {full} names every part."
    elif code == "103":
        split = [a, b, c]
        rng.shuffle(split)
        taught = [split[:2] + [others[0]], split[2:] + [others[1]]]
        reason = "Refs 1 and 2 together name every part."
    else:
        missing = rng.choice([a, b, c])
        kept = [p for p in (a, b, c) if p != missing]
        taught = [[kept[0], others[0]], [kept[1], others[1], others[2]]]
        reason = f"No ref names the {missing}."
    rng.shuffle(taught)
    refs = []
    for parts_i in taught:
        rng.shuffle(parts_i)
        other = rng.choice(_THINGS)
        text = f"A {other} with " + ", ".join(f"a {p}" for p in parts_i[:-1]) + f" and a {parts_i[-1]}."
        refs.append({"patent_id": _patent_id(rng), "title": f"{parts_i[0]} {other}", "abstract": text,
                     "claims": [f"1. A {other} with a {parts_i[0]}."],
                     "paragraphs": [{"key": rng.randint(1, 60), "content": text}]})
    full = next((i for i, t in enumerate(taught, 1) if {a, b, c} <= set(t)), 1)
    row["prior_art_specifications"] = refs
    row["answer"] = {"reason": reason.format(full=full), "code": code}
    return row


# ----------------------------------------------------------------------------- raw sources
def _train_reader(kind: str) -> tuple[str, RawSourceReader]:
    sid = f"panorama_{kind.lower()}_train"
    rel = f"{ROOT}/{kind}/train.parquet"

    def read(data_dir: Path) -> list[dict[str, Any]]:
        path = Path(data_dir) / rel
        if not path.exists():
            raise DataError(f"source {sid}: file not found: {path} (PANORAMA's {kind} train split, "
                            "fetched from the hub; a mirror of the official samples has none)")
        out = []
        for i, row in enumerate(_read_parquet(path, f"source {sid}")):
            try:
                r = normalise(kind, row)
            except (ValueError, TypeError, AttributeError) as e:
                raise DataError(f"source {sid}: {path} row {i}: {e}") from None
            out.append({**{k: _py(v) for k, v in row.items()}, **render_fields(kind, r),
                        "target": target(kind, r)})
        return out

    def text(record: dict[str, Any]) -> str:
        try:
            return leak_text(normalise(kind, record))
        except (ValueError, TypeError, AttributeError):
            return ""

    def write_mini(data_dir: Path, rng: random.Random) -> None:
        rows = [mini_row(kind, rng, f"8{i:07d}") for i in range(MINI_RAW_ITEMS)]
        _write_parquet(Path(data_dir) / rel, rows)

    return sid, RawSourceReader(read=read, write_mini=write_mini, text=text, files=[rel])


for _kind in KINDS:
    register_reader(*_train_reader(_kind))
