"""``ftagent data fetch``: bring evaluation data and raw sources from the Hugging Face hub, once.

Fetching is its own step (DESIGN.md §2: a login node has internet, compute nodes often don't); it writes
the *data-directory layout* every loader reads, the same as a local mirror, so everything after it runs
offline. For the implemented families::

    aime2025/test.jsonl                             opencompass/AIME2025, configs AIME2025-I, -II
    financeiq/data/{dev,test}/<subject>.csv         Duxiaoman-DI/FinanceIQ (files)
    tablebench/TableBench.jsonl                     Multilingual-Multimodal-NLP/TableBench (file)
    deepscaler/deepscaler.json                      agentica-org/DeepScaleR-Preview-Dataset (file)
    tableinstruct/TableInstruct_instructions.jsonl  Multilingual-Multimodal-NLP/TableInstruct (file)

**Who declares what.** A fetch is a list of :class:`FetchUnit` s. A benchmark family declares the
units of its evaluation source (:meth:`Benchmark.fetch_units`) and a raw-source reader those of its
source (``RawSourceReader.fetch_units``); both default to :func:`units_from_hub`, which reads the
``hub`` entry of the task YAML or of ``tasks/sources.yaml``:

* ``files`` given — each file (or glob) is downloaded and placed, hub-relative path kept, under the first
  folder of the declared ``path`` (``financeiq/data`` + ``data/test/x.csv`` -> ``financeiq/data/test/x.csv``);
* only ``configs`` — the ``split`` of each config is loaded with ``datasets``, the rows concatenated in
  config order and written as JSON lines to ``path`` (which must end in ``.jsonl``), unless the family
  supplies its own ``convert``.

A family whose hub layout differs (PANORAMA, ChemCoTBench) overrides the hook and nothing here changes.

**Guarantees.** Files are written atomically (temporary file + rename); a unit whose outputs exist is
skipped unless ``force`` (idempotent); each completed unit leaves a manifest in ``.ftagent-fetch/``
(repository, revision, files). Any hub failure — offline (``HF_HUB_OFFLINE=1``), unknown repository,
no matching file — is one :class:`~ftagent.errors.FetchError` line naming the task or source.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from ftagent.dojo.taskspec import HubSource, TaskSpec
from ftagent.errors import DataError, FetchError, FtagentError, TaskError
from ftagent.utils.io import atomic_copy, atomic_write_json, atomic_write_text, dumps, read_json

MANIFEST_DIR = ".ftagent-fetch"
_GLOB = re.compile(r"[*?\[]")


@dataclass(frozen=True)
class FetchUnit:
    """One download from the hub into a data directory.

    Attributes:
        what: Who needs it, for messages (``task aime2025``, ``source deepscaler``).
        repo: Hub dataset repository id.
        dest: File mode: the folder (relative to the data directory) that receives the files, hub-relative
            paths kept. Dataset mode: the file written.
        files: Hub file paths or glob patterns (file mode).
        configs: Dataset configs (dataset mode; empty with no ``files`` = the default config).
        split: Split loaded in dataset mode.
        convert: Dataset mode: ``convert({config: Dataset}) -> file text``; default :func:`datasets_to_jsonl`.
    """

    what: str
    repo: str
    dest: str
    files: tuple[str, ...] = ()
    configs: tuple[str, ...] = ()
    split: str = "test"
    convert: Callable[[Mapping[str, Any]], str] | None = field(default=None, compare=False)

    @property
    def key(self) -> tuple:
        """Identity for de-duplication (four TableBench tasks share one file)."""
        return (self.repo, self.dest, self.files, self.configs, self.split)

    @property
    def manifest_name(self) -> str:
        """File name of this unit's manifest."""
        slug = re.sub(r"[^A-Za-z0-9]+", "-", f"{self.repo}-{self.dest}").strip("-")[:80]
        return f"{slug}-{hashlib.sha1(repr(self.key).encode()).hexdigest()[:8]}.json"


def units_from_hub(what: str, hub: HubSource, path: str) -> list[FetchUnit]:
    """The default units of a declared source (see the module docstring).

    Args:
        what: Who needs it (``task <id>`` or ``source <id>``).
        hub: The ``hub`` entry of the task YAML or ``sources.yaml``.
        path: The declared ``path`` inside the data directory.
    """
    if hub.files:
        root = PurePosixPath(path).parts[0]
        return [FetchUnit(what, hub.repo, root, files=tuple(hub.files), split=hub.split)]
    return [FetchUnit(what, hub.repo, path, configs=tuple(hub.configs), split=hub.split)]


def datasets_to_jsonl(parts: Mapping[str, Any]) -> str:
    """Rows of each dataset, in the mapping's order, as JSON lines (the fields kept as they are)."""
    return "".join(dumps(dict(row), indent=None) + "\n" for ds in parts.values() for row in ds)


class Hub(Protocol):
    """Access to the hub (the real one is :class:`HfHub`; tests pass a local fake)."""

    def snapshot(self, repo: str, patterns: list[str]) -> Path:
        """A local folder holding the repository files that match ``patterns``."""
        ...

    def load_split(self, repo: str, config: str | None, split: str) -> Any:
        """One split of one config as a ``datasets.Dataset``."""
        ...


class HfHub:
    """The Hugging Face hub via ``huggingface_hub`` and ``datasets`` (uses and fills the local hub cache;
    short network timeouts so that a machine without internet fails instead of hanging)."""

    def __init__(self) -> None:
        os.environ.setdefault("HF_HUB_ETAG_TIMEOUT", "15")
        os.environ.setdefault("HF_HUB_DOWNLOAD_TIMEOUT", "60")

    def snapshot(self, repo: str, patterns: list[str]) -> Path:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(repo_id=repo, repo_type="dataset", allow_patterns=patterns))

    def load_split(self, repo: str, config: str | None, split: str) -> Any:
        import datasets

        return datasets.load_dataset(repo, config, split=split)


@dataclass(frozen=True)
class FetchReport:
    """What happened to one unit: ``fetched`` or ``exists`` (skipped), and the files (relative paths)."""

    unit: FetchUnit
    status: str
    files: list[str]

    def line(self) -> str:
        """One line for the command's output."""
        u = self.unit
        return f"{u.what}: {u.repo} -> {u.dest} ({self.status}, {len(self.files)} files)"


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def _hub_error(unit: FetchUnit, e: BaseException) -> str:
    msg = f"{unit.what}: cannot fetch {unit.repo} from the Hugging Face hub"
    if _offline():
        return (f"{msg}: HF_HUB_OFFLINE is set and the files are not in the local hub cache (run "
                f"`ftagent data fetch` on a machine with internet, or point --data-dir at a mirror)")
    first = str(e).strip().splitlines()[0][:200] if str(e).strip() else ""
    return f"{msg} ({type(e).__name__}{': ' + first if first else ''})"


def _existing(unit: FetchUnit, data_dir: Path) -> list[str] | None:
    """The unit's files when it is complete in ``data_dir`` (explicit outputs or a manifest), else None."""
    if not unit.files:
        return [unit.dest] if (data_dir / unit.dest).is_file() else None
    explicit = [f"{unit.dest}/{f}" for f in unit.files if not _GLOB.search(f)]
    if len(explicit) == len(unit.files) and all((data_dir / f).is_file() for f in explicit):
        return explicit
    manifest = data_dir / MANIFEST_DIR / unit.manifest_name
    if manifest.is_file():
        try:
            files = read_json(manifest).get("files", [])
        except DataError:
            return None
        if files and all((data_dir / f).is_file() for f in files):
            return files
    return None


def _from_hub(unit: FetchUnit, call: Callable[[], Any]) -> Any:
    """``call()``, with any hub or network failure turned into one :class:`FetchError` line."""
    try:
        return call()
    except FtagentError:
        raise
    except Exception as e:  # huggingface_hub / datasets / network errors of every kind
        raise FetchError(_hub_error(unit, e)) from None


def _fetch_files(unit: FetchUnit, data_dir: Path, hub: Hub) -> tuple[list[str], str | None]:
    snap = _from_hub(unit, lambda: hub.snapshot(unit.repo, list(unit.files)))
    written = []
    for pattern in unit.files:
        matches = sorted(p for p in snap.glob(pattern) if p.is_file())
        if not matches:
            raise FetchError(f"{unit.what}: {unit.repo} has no file matching '{pattern}'")
        for src in matches:
            rel = f"{unit.dest}/{src.relative_to(snap).as_posix()}"
            atomic_copy(src, data_dir / rel)
            written.append(rel)
    revision = snap.name if re.fullmatch(r"[0-9a-f]{40}", snap.name) else None
    return written, revision


def _fetch_dataset(unit: FetchUnit, data_dir: Path, hub: Hub) -> list[str]:
    if unit.convert is None and not unit.dest.endswith(".jsonl"):
        raise FetchError(f"{unit.what}: no converter for {unit.repo} configs into '{unit.dest}' "
                         f"(the family must override its fetch_units hook)")
    configs: tuple[str | None, ...] = unit.configs or (None,)
    parts = {c or "default": _from_hub(unit, lambda c=c: hub.load_split(unit.repo, c, unit.split))
             for c in configs}
    try:
        text = (unit.convert or datasets_to_jsonl)(parts)
    except Exception as e:
        raise FetchError(f"{unit.what}: cannot convert the rows of {unit.repo} into {unit.dest} "
                         f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})") from None
    atomic_write_text(data_dir / unit.dest, text)
    return [unit.dest]


def fetch_unit(unit: FetchUnit, data_dir: Path, hub: Hub, force: bool = False) -> FetchReport:
    """Fetch one unit into ``data_dir`` unless it is already complete (or ``force``).

    Raises:
        FetchError: the hub is unreachable or offline, the repository or a file is missing (one line).
    """
    data_dir = Path(data_dir)
    if not force:
        have = _existing(unit, data_dir)
        if have is not None:
            return FetchReport(unit, "exists", have)
    revision = None
    if unit.files:
        files, revision = _fetch_files(unit, data_dir, hub)
    else:
        files = _fetch_dataset(unit, data_dir, hub)
    atomic_write_json(data_dir / MANIFEST_DIR / unit.manifest_name, {
        "what": unit.what, "repo": unit.repo, "revision": revision, "files": files,
        "configs": list(unit.configs), "split": unit.split,
        "fetched_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
    return FetchReport(unit, "fetched", files)


def plan_fetch(tasks: list[TaskSpec], sources: list[str] | None = None,
               strict: bool = False) -> tuple[list[FetchUnit], list[str]]:
    """The units that fetch ``tasks`` (evaluation data and raw sources) and the extra ``sources``.

    Args:
        tasks: Tasks whose evaluation source and raw sources to fetch.
        sources: Further raw-source ids.
        strict: Raise for a task or source whose family or reader is not implemented (explicit
            requests); otherwise skip it with a note.

    Returns:
        ``(units, notes)``: de-duplicated units in order, and one note per skipped item.

    Raises:
        TaskError, DataError: with ``strict``, an item that cannot be fetched yet.
    """
    from ftagent.dojo.benchmarks.base import get_benchmark, get_reader
    from ftagent.dojo.sources import get_source

    units: dict[tuple, FetchUnit] = {}
    notes: list[str] = []
    for spec in tasks:
        try:
            found = get_benchmark(spec).fetch_units()
        except TaskError as e:
            if strict:
                raise
            notes.append(f"skipped: {e}")
            continue
        units.update((u.key, u) for u in found if u.key not in units)
    wanted = list(dict.fromkeys([s for t in tasks for s in t.raw_sources] + list(sources or [])))
    for sid in wanted:
        src = get_source(sid)
        try:
            reader = get_reader(src.reader)
        except DataError as e:
            if strict and sid in (sources or []):
                raise
            notes.append(f"skipped: source {sid}: {e}")
            continue
        found = (reader.fetch_units(src) if reader.fetch_units
                 else units_from_hub(f"source {sid}", src.hub, src.path))
        units.update((u.key, u) for u in found if u.key not in units)
    return list(units.values()), notes


def fetch(tasks: list[TaskSpec], data_dir: Path, sources: list[str] | None = None, force: bool = False,
          hub: Hub | None = None, strict: bool = False,
          log: Callable[[str], None] | None = None) -> list[FetchReport]:
    """Fetch the evaluation data and raw sources of ``tasks`` (and ``sources``) into ``data_dir``.

    Stops at the first failure (offline, every unit would fail the same way).

    Raises:
        FetchError: a unit cannot be fetched (one line naming the task or source and the repository).
    """
    units, notes = plan_fetch(tasks, sources, strict)
    for n in notes:
        (log or (lambda s: None))(n)
    hub = hub or HfHub()
    reports = []
    for unit in units:
        rep = fetch_unit(unit, Path(data_dir), hub, force)
        reports.append(rep)
        (log or (lambda s: None))(rep.line())
    return reports
