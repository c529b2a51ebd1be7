"""Base class of a benchmark family: loading, prompting, scoring and mini data for one or more tasks.

One short module per family (nanochat's ``tasks/`` pattern): :mod:`.aime`, :mod:`.financeiq`,
:mod:`.tablebench`, ... Each reads the *data directory layout* (the same for a local mirror, a
fetched hub copy and generated mini data), so the loaders have one code path at every scale.
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

from ftagent.dojo.fetch import FetchUnit, units_from_hub
from ftagent.dojo.sources import SourceSpec
from ftagent.dojo.taskspec import TaskSpec
from ftagent.errors import DataError, TaskError
from ftagent.eval.profiles import ScoringProfile
from ftagent.eval.scoring import ItemScore

PromptStyle = Literal["full", "compact"]


@dataclass(frozen=True)
class EvalItem:
    """One evaluation item.

    Attributes:
        id: Stable id within the task (the source's id, else the row index in the source file).
        subset: Subset (subtask, subject, qsubtype) the item belongs to.
        fields: Values the prompt template and the scorer use (``question``, options, table, ...).
        answer: The gold answer, JSON-serialisable.
        row: Position of the item's row in the source file (set where a task's split groups merge
            several subsets back into source order, :func:`ftagent.dojo.heldout.split_groups`).
    """

    id: str
    subset: str
    fields: dict[str, Any]
    answer: Any
    row: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {"id": self.id, "subset": self.subset, "fields": self.fields, "answer": self.answer}


class Benchmark(ABC):
    """A benchmark family. Subclasses set :attr:`name` and implement the abstract methods.

    Args:
        spec: The task this instance serves (a family such as TableBench serves several tasks).
    """

    #: Family name referenced by ``benchmark:`` in task YAMLs.
    name: ClassVar[str]

    def __init__(self, spec: TaskSpec):
        self.spec = spec

    def unsupported_reason(self) -> str | None:
        """Why this family cannot run the task yet (None when it can); shown by ``ftagent tasks list``."""
        return None

    def unavailable_subsets(self) -> dict[str, str]:
        """Declared subsets that cannot be scored here, by name, with the reason (default: none).

        Example: a property oracle that needs a download. Their items still load and are reported by
        ``ftagent data info``, but the held-out split leaves them out, so they count in no metric (never
        as zero); the reasons are recorded as ``excluded`` in every score.
        """
        return {}

    # ----------------------------------------------------------------- loading
    @abstractmethod
    def load_subsets(self, data_dir: Path) -> dict[str, list[EvalItem]]:
        """The benchmark copy of each subset, in source order (before any shuffle or split).

        Raises:
            DataError: a file is missing or malformed (the message names the file and the task).
        """

    def fetch_units(self) -> list[FetchUnit]:
        """How ``ftagent data fetch`` brings this task's evaluation source from the hub.

        Default: from the ``eval_source.hub`` entry of the task YAML
        (:func:`ftagent.dojo.fetch.units_from_hub`: listed files keep their hub-relative paths under the
        first folder of ``eval_source.path``; configs only are written as JSON lines to
        ``eval_source.path``). Override where the hub layout differs.
        """
        return units_from_hub(f"task {self.spec.id}", self.spec.eval_source.hub, self.spec.eval_source.path)

    def few_shot_items(self, data_dir: Path, subset: str) -> list[EvalItem]:
        """In-context examples for a subset (never validation or test items); none by default."""
        return []

    def path(self, data_dir: Path, rel: str | None = None) -> Path:
        """Resolve a path of this task's evaluation source inside a data directory.

        Raises:
            DataError: the path does not exist (names the path and the task).
        """
        p = Path(data_dir) / (rel or self.spec.eval_source.path)
        if not p.exists():
            raise DataError(f"task {self.spec.id}: evaluation data not found: {p}")
        return p

    # --------------------------------------------------------------- prompting
    def render(self, item: EvalItem, style: PromptStyle = "full") -> str:
        """The user message for an item (the template filled with the item's fields)."""
        return self.spec.prompt_template(style).format(**item.fields)

    def reference_output(self, item: EvalItem) -> str:
        """A correct model output for the item in the expected answer format (used by tests and
        to show the format in descriptions)."""
        raise NotImplementedError

    def messages(self, item: EvalItem, style: PromptStyle = "full",
                 shots: list[EvalItem] | None = None) -> list[dict[str, str]]:
        """Chat messages for an item: optional system, few-shot turns, then the item."""
        msgs: list[dict[str, str]] = []
        if self.spec.prompt.system:
            msgs.append({"role": "system", "content": self.spec.prompt.system})
        for shot in shots or []:
            msgs.append({"role": "user", "content": self.render(shot, style)})
            msgs.append({"role": "assistant", "content": self.reference_output(shot)})
        msgs.append({"role": "user", "content": self.render(item, style)})
        return msgs

    def leakage_text(self, item: EvalItem) -> str:
        """The text of an item that the raw-data leakage guard looks for (default: the question)."""
        return str(item.fields.get("question", ""))

    def leakage_choices(self, item: EvalItem) -> tuple[str, list[str]] | None:
        """``(stem, options)`` of a multiple-choice item, so that the leakage guard also catches the
        question with its options reordered or reworded; default: options written inline in
        :meth:`leakage_text` (``A. ... B. ... C. ...``), else None."""
        from ftagent.dojo.repository import split_choices

        return split_choices(self.leakage_text(item))

    # ----------------------------------------------------------------- scoring
    @abstractmethod
    def score(self, output: str, item: EvalItem, profile: ScoringProfile = "benchmark") -> ItemScore:
        """Score one model output under a scoring profile (:mod:`ftagent.eval.profiles`); never raises
        on malformed output (score 0 with a reason)."""

    def aggregate(self, scores: list[ItemScore], items: list[EvalItem],
                  profile: ScoringProfile = "benchmark") -> float:
        """The task metric over a group of items, in [0, 1]. Default: mean item score."""
        return sum(s.score for s in scores) / len(scores) if scores else 0.0

    @property
    def profiles_differ(self) -> bool:
        """Whether any reproduced departure of :mod:`ftagent.eval.profiles` concerns this task (else both
        profiles score alike and the paper profile reuses the benchmark profile's item scores)."""
        from ftagent.eval.profiles import DEPARTURES

        return any(d.reproduced and self.spec.id in d.tasks for d in DEPARTURES)

    def headline(self, subsets: dict[str, float], items: list[EvalItem], scores: list[ItemScore],
                 profile: ScoringProfile = "benchmark") -> float:
        """The task's headline score in [0, 1] from the per-group scores ``subsets`` (in [0, 1]).

        Default (the task YAML's ``metric.aggregate``): ``pooled`` = :meth:`aggregate` over all items,
        ``mean_over_subsets`` = mean of ``subsets``. Families override it where a profile's headline
        formula differs (named rules of :mod:`ftagent.eval.profiles`).
        """
        if self.spec.metric.aggregate == "pooled":
            return self.aggregate(scores, items, profile) if items else 0.0
        return sum(subsets.values()) / len(subsets) if subsets else 0.0

    # --------------------------------------------------------------- mini data
    @abstractmethod
    def write_mini(self, data_dir: Path, rng: random.Random) -> None:
        """Write a small generated copy of the evaluation source into ``data_dir`` in the real layout,
        with exact answers (the mini scale)."""


# ---------------------------------------------------------------------------- registries
_BENCHMARKS: dict[str, type[Benchmark]] = {}


def register_benchmark(cls: type[Benchmark]) -> type[Benchmark]:
    """Class decorator adding a family to the registry under ``cls.name``."""
    _BENCHMARKS[cls.name] = cls
    return cls


def benchmark_names() -> list[str]:
    """Names of the implemented benchmark families."""
    from ftagent.dojo import benchmarks  # noqa: F401  (imports every family module)

    return sorted(_BENCHMARKS)


def get_benchmark(spec: TaskSpec) -> Benchmark:
    """The benchmark instance for a task.

    Raises:
        TaskError: the task's family is not implemented.
    """
    from ftagent.dojo import benchmarks  # noqa: F401

    if spec.benchmark not in _BENCHMARKS:
        raise TaskError(f"task {spec.id}: benchmark family '{spec.benchmark}' is not implemented "
                        f"(implemented: {', '.join(sorted(_BENCHMARKS))})")
    return _BENCHMARKS[spec.benchmark](spec)


@dataclass
class RawSourceReader:
    """How to read a raw training source from a data directory and how to generate its mini copy.

    Attributes:
        read: ``read(data_dir) -> list[record]``; records are the source's own rows (dicts).
        write_mini: ``write_mini(data_dir, rng)``; writes the generated copy in the real layout.
        text: ``text(record) -> str``; the text compared against evaluation items by the leakage guard.
        files: Paths (relative to the data directory) the reader needs; reported when missing.
        fetch_units: ``fetch_units(source) -> [FetchUnit]``: how ``ftagent data fetch`` brings the source
            from the hub; None = the default from its ``hub`` entry in ``tasks/sources.yaml``
            (:func:`ftagent.dojo.fetch.units_from_hub`).
        choices: ``choices(record) -> (stem, options) | None`` for sources of multiple-choice questions
            (the leakage guard compares them option by option, in any order); None = options are parsed
            from :attr:`text` where written inline.
    """

    read: Callable[[Path], list[dict[str, Any]]]
    write_mini: Callable[[Path, random.Random], None]
    text: Callable[[dict[str, Any]], str]
    files: list[str] = field(default_factory=list)
    fetch_units: Callable[[SourceSpec], list[FetchUnit]] | None = None
    choices: Callable[[dict[str, Any]], tuple[str, list[str]] | None] | None = None


_READERS: dict[str, RawSourceReader] = {}


def register_reader(name: str, reader: RawSourceReader) -> None:
    """Register the reader of a raw training source (``reader:`` in ``tasks/sources.yaml``)."""
    _READERS[name] = reader


def get_reader(name: str) -> RawSourceReader:
    """The reader of a raw source.

    Raises:
        DataError: no reader of that name is implemented.
    """
    from ftagent.dojo import benchmarks  # noqa: F401

    if name not in _READERS:
        raise DataError(f"raw source reader '{name}' is not implemented (have: {', '.join(sorted(_READERS))})")
    return _READERS[name]


def require(path: Path, task: str) -> Path:
    """``path`` if it exists, else a :class:`DataError` naming the file and the task."""
    if not path.exists():
        raise DataError(f"{task}: file not found: {path}")
    return path
