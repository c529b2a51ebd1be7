"""The shared raw-data repository offered read-only to every agent (FT-Dojo §3).

:func:`prepare_repository` reads each raw source of the requested tasks from a data directory,
drops items that leak evaluation items (the leakage guard), writes one ``<source>/data.jsonl`` per
source and summarises all of them in ``dataset_info.json`` (sample counts, fields, token length
p50/p99 with the base model's tokenizer, first sample, licence, quality). Agents only ever see this
folder: test halves, validation items and the graders are not in it.

:func:`generate_mini_data` writes the mini scale's data directory: every implemented task's
evaluation source and raw sources, generated in the real layouts with exact answers.
"""

from __future__ import annotations

import math
import random
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

from ftagent.dojo.benchmarks.base import get_benchmark, get_reader
from ftagent.dojo.sources import SourceSpec, get_source
from ftagent.dojo.taskspec import TaskSpec
from ftagent.errors import DataError
from ftagent.utils.io import atomic_write_json, read_json, write_jsonl

INFO_FILE = "dataset_info.json"
#: Records tokenized for the token-length statistics (a sample keeps preparation fast on big sources).
TOKEN_STAT_SAMPLE = 2000


def normalise_text(text: str) -> str:
    """Text as the leakage guard compares it: NFKC, lower case, markup and punctuation dropped, words
    separated by single spaces."""
    text = unicodedata.normalize("NFKC", str(text)).lower()
    text = re.sub(r"[\s$\\{}]+", " ", text)
    return " ".join(re.sub(r"[^\w ]+", " ", text).split())


#: Word n-gram length of the overlap test (the decontamination n-gram of GPT-3, Brown et al. 2020, App. C).
NGRAM = 13


def _grams(words: list[str], n: int = NGRAM) -> set[int]:
    return {hash(" ".join(words[i:i + n])) for i in range(len(words) - n + 1)}


#: Share of an evaluation item's 13-grams a raw record must contain to count as a leak; boilerplate
#: shared by many problems ("... are relatively prime positive integers. Find m + n.") stays below it.
OVERLAP = 0.5


#: Multiple-choice leaks: a raw question with the same stem leaks an item when at least half of the
#: item's options have a counterpart this similar (difflib ratio of the compacted texts: reworded options);
#: a raw question with the same set of options (any order) leaks it when the stems are this similar.
OPTION_SIMILARITY = 0.7
STEM_SIMILARITY = 0.6
_CHOICE = re.compile(r"(?:^|(?<=[\s(（]))[(（]?([A-H])\s*[.．、:：)）]\s*")

Choices = tuple[str, list[str]]


def split_choices(text: str) -> Choices | None:
    """``(stem, options)`` of a multiple-choice question written inline (``... A. x B. y C. z``), or None.

    Options must run A, B, C, ... in order (at least three); the stem is the text before ``A``.
    """
    marks = [m for m in _CHOICE.finditer(str(text or ""))]
    seq, want = [], "A"
    for m in marks:
        if m.group(1) == want:
            seq.append(m)
            want = chr(ord(want) + 1)
    if len(seq) < 3:
        return None
    bounds = [m.start() for m in seq[1:]] + [len(text)]
    options = [text[m.end():b].strip() for m, b in zip(seq, bounds, strict=True)]
    return text[:seq[0].start()].strip(), options


def _compact(text: str) -> str:
    """Normalised text without spaces (Chinese questions have no word boundaries)."""
    return normalise_text(text).replace(" ", "")


@dataclass
class LeakageIndex:
    """Normalised evaluation texts: whole texts, the word 13-grams of items of 13+ words, and the stems
    and options of multiple-choice items.

    A raw record leaks an evaluation item when its normalised text equals the item's, when it contains
    at least :data:`OVERLAP` of the item's word 13-grams, or, for a multiple-choice item, when it asks
    the same question with the options reordered or reworded (:meth:`add_choices`).
    """

    exact: set[str] = field(default_factory=set)
    grams: dict[int, list[int]] = field(default_factory=dict)
    sizes: list[int] = field(default_factory=list)
    choices: list[Choices] = field(default_factory=list)
    by_stem: dict[str, list[int]] = field(default_factory=dict)
    by_options: dict[frozenset[str], list[int]] = field(default_factory=dict)

    def add_choices(self, stem: str, options: Sequence[str]) -> None:
        """Index one multiple-choice item by its compacted stem and by its set of compacted options."""
        st, opts = _compact(stem), [o for o in (_compact(x) for x in options) if o]
        if not st or len(opts) < 2:
            return
        i = len(self.choices)
        self.choices.append((st, opts))
        self.by_stem.setdefault(st, []).append(i)
        self.by_options.setdefault(frozenset(opts), []).append(i)

    def _choice_leak(self, choices: Choices) -> bool:
        st, opts = _compact(choices[0]), [o for o in (_compact(x) for x in choices[1]) if o]
        if not opts:
            return False
        for i in self.by_stem.get(st, ()):
            _, gold = self.choices[i]
            similar = sum(any(SequenceMatcher(None, g, o).ratio() >= OPTION_SIMILARITY for o in opts) for g in gold)
            if similar >= math.ceil(len(gold) / 2):
                return True
        for i in self.by_options.get(frozenset(opts), ()):
            if SequenceMatcher(None, self.choices[i][0], st).ratio() >= STEM_SIMILARITY:
                return True
        return False

    def add(self, text: str) -> None:
        """Index one evaluation item's text."""
        norm = normalise_text(text)
        if not norm:
            return
        self.exact.add(norm)
        words = norm.split()
        if len(words) >= NGRAM:
            grams = _grams(words)
            item = len(self.sizes)
            self.sizes.append(len(grams))
            for g in grams:
                self.grams.setdefault(g, []).append(item)

    def leaks(self, raw_text: str, choices: Choices | None = None) -> bool:
        """Whether a raw record's text overlaps an indexed evaluation item.

        Args:
            raw_text: The record's text (:attr:`RawSourceReader.text`).
            choices: The record's ``(stem, options)`` when it is a multiple-choice question
                (:attr:`RawSourceReader.choices`); else parsed from ``raw_text`` where it has inline
                options (:func:`split_choices`).
        """
        norm = normalise_text(raw_text)
        if norm in self.exact:
            return True
        if self.choices:
            mc = choices or split_choices(raw_text)
            if mc and self._choice_leak(mc):
                return True
        hits: dict[int, int] = {}
        for g in _grams(norm.split()):
            for item in self.grams.get(g, ()):
                hits[item] = hits.get(item, 0) + 1
        return any(n >= OVERLAP * self.sizes[i] for i, n in hits.items())


def leakage_index(tasks: Iterable[TaskSpec], data_dir: Path) -> LeakageIndex:
    """Index every evaluation item (both halves, all subsets) of the given tasks."""
    index = LeakageIndex()
    for spec in tasks:
        bench = get_benchmark(spec)
        if bench.unsupported_reason():
            continue
        for items in bench.load_subsets(data_dir).values():
            for it in items:
                index.add(bench.leakage_text(it))
                mc = bench.leakage_choices(it)
                if mc:
                    index.add_choices(*mc)
    return index


def _token_stats(records: list[dict[str, Any]], tokenizer: Any) -> dict[str, Any]:
    if tokenizer is None or not records:
        return {"p50": None, "p99": None, "tokenizer": None}
    import numpy as np

    sample = records[:TOKEN_STAT_SAMPLE]
    texts = ["\n".join(str(v) for v in r.values() if isinstance(v, str | int | float)) for r in sample]
    lengths = [len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]]
    return {"p50": int(np.percentile(lengths, 50)), "p99": int(np.percentile(lengths, 99)),
            "tokenizer": getattr(tokenizer, "name_or_path", None), "sampled": len(sample)}


def guarded_records(tasks: list[TaskSpec], data_dir: Path, tasks_dir: Path | None = None
                    ) -> dict[str, tuple[list[dict[str, Any]], int] | DataError]:
    """Each raw source of ``tasks`` read from ``data_dir`` with leaking records removed.

    Returns:
        Per source id: ``(kept_records, dropped_count)``, or the :class:`DataError` that made it unavailable.
    """
    index = leakage_index(tasks, data_dir)
    out: dict[str, tuple[list[dict[str, Any]], int] | DataError] = {}
    for sid in sorted({s for t in tasks for s in t.raw_sources}):
        reader = get_reader(get_source(sid, tasks_dir).reader)
        try:
            records = reader.read(data_dir)
        except DataError as e:
            out[sid] = e
            continue
        kept = [r for r in records if not index.leaks(reader.text(r), reader.choices(r) if reader.choices else None)]
        out[sid] = (kept, len(records) - len(kept))
    return out


def corpus_texts(tasks: list[TaskSpec], data_dir: Path) -> list[str]:
    """Pretraining texts of the tiny model (the mini scale): every leakage-guarded raw record of the
    tasks' sources, its scalar fields joined by newlines.

    Raises:
        DataError: no raw source of the tasks is available.
    """
    texts = []
    for got in guarded_records(tasks, data_dir).values():
        if isinstance(got, DataError):
            continue
        for rec in got[0]:
            texts.append("\n".join(str(v) for v in rec.values() if isinstance(v, str | int | float) and str(v)))
    if not texts:
        raise DataError(f"no raw-source records under {data_dir} to build the tiny model from")
    return texts


def prompt_texts(tasks: list[TaskSpec]) -> list[str]:
    """The tasks' prompt templates (added to the tiny tokenizer's corpus so prompt words get tokens)."""
    return [t for spec in tasks for t in (spec.prompt.template, spec.prompt.compact) if t]


def prepare_repository(tasks: list[TaskSpec], data_dir: Path, out_dir: Path, tokenizer: Any = None,
                       tasks_dir: Path | None = None) -> dict[str, Any]:
    """Build the raw-data repository for ``tasks`` from ``data_dir`` into ``out_dir``.

    Args:
        tasks: Tasks whose raw sources to include; their evaluation items feed the leakage guard.
        data_dir: Data directory (mirror, fetched hub copy or mini).
        out_dir: Repository folder to write (``<source>/data.jsonl`` + ``dataset_info.json``).
        tokenizer: Base model tokenizer for token-length statistics (None skips them).
        tasks_dir: Tasks directory holding ``sources.yaml``.

    Returns:
        The ``dataset_info.json`` content. Sources whose files are missing are listed with
        ``"available": false`` and the missing path, never silently skipped.
    """
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    if not data_dir.is_dir():
        raise DataError(f"data directory not found: {data_dir}")
    info: dict[str, Any] = {}
    for sid, got in guarded_records(tasks, data_dir, tasks_dir).items():
        src: SourceSpec = get_source(sid, tasks_dir)
        entry: dict[str, Any] = {"title": src.title, "domain": src.domain, "license": src.license,
                                 "quality": src.quality, "hub": src.hub.repo,
                                 "used_by": sorted(t.id for t in tasks if sid in t.raw_sources)}
        if isinstance(got, DataError):
            info[sid] = {**entry, "available": False, "reason": str(got)}
            continue
        kept, dropped = got
        write_jsonl(out_dir / sid / "data.jsonl", kept)
        info[sid] = {
            **entry, "available": True, "path": f"{sid}/data.jsonl", "count": len(kept),
            "dropped_by_leakage_guard": dropped,
            "fields": sorted({k for r in kept[:100] for k in r}),
            "token_length": _token_stats(kept, tokenizer),
            "first_sample": kept[0] if kept else None,
        }
    atomic_write_json(out_dir / INFO_FILE, info)
    return info


def load_dataset_info(repo_dir: Path) -> dict[str, Any]:
    """Read a repository's ``dataset_info.json``."""
    return read_json(Path(repo_dir) / INFO_FILE)


def generate_mini_data(tasks: list[TaskSpec], out_dir: Path, seed: int = 0) -> list[str]:
    """Write the mini data directory for ``tasks`` (evaluation sources and raw sources).

    Each task and source gets its own ``random.Random`` derived from ``seed`` and its id, so adding a
    task does not change the data of the others.

    Returns:
        Ids of the tasks written (tasks whose family is not implemented are skipped and not listed).
    """
    out_dir = Path(out_dir)
    written, sources = [], set()
    for spec in tasks:
        bench = get_benchmark(spec)
        if bench.unsupported_reason():
            continue
        bench.write_mini(out_dir, random.Random(f"{seed}:{spec.id}"))
        written.append(spec.id)
        sources.update(spec.raw_sources)
    for sid in sorted(sources):
        get_reader(get_source(sid).reader).write_mini(out_dir, random.Random(f"{seed}:{sid}"))
    return written
