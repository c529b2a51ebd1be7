"""The registry of raw training sources (``tasks/sources.yaml``), validated by :class:`SourceSpec`."""

from __future__ import annotations

import functools
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from ftagent.dojo.taskspec import Domain, HubSource, _first_error, default_tasks_dir
from ftagent.errors import DataError, TaskError


class SourceSpec(BaseModel):
    """One raw training source.

    Attributes:
        id: Source id (the key in ``sources.yaml``).
        title: Display name.
        domain: FT-Dojo domain.
        hub: Where ``ftagent data fetch`` finds it.
        path: Its location inside a data directory.
        reader: Name of the Python reader (registered by a benchmark module).
        license: Licence stated by the source.
        quality: Chain-of-thought quality as the dataset card rates it (shown to agents).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    title: str
    domain: Domain
    hub: HubSource
    path: str
    reader: str
    license: str
    quality: str = ""


@functools.cache
def _load(tasks_dir: str) -> dict[str, SourceSpec]:
    path = Path(tasks_dir) / "sources.yaml"
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TaskError(f"raw-source registry not found: {path}") from None
    except yaml.YAMLError as e:
        raise TaskError(f"{path}: not valid YAML ({str(e).splitlines()[0]})") from None
    out = {}
    for sid, body in (raw or {}).items():
        try:
            out[sid] = SourceSpec.model_validate({"id": sid, **(body or {})})
        except ValidationError as e:
            raise TaskError(f"{path}: source '{sid}': {_first_error(e)}") from None
    return out


def load_sources(tasks_dir: str | Path | None = None) -> dict[str, SourceSpec]:
    """All raw sources by id."""
    return dict(_load(str(tasks_dir or default_tasks_dir())))


def get_source(source_id: str, tasks_dir: str | Path | None = None) -> SourceSpec:
    """One raw source by id.

    Raises:
        DataError: unknown id.
    """
    sources = load_sources(tasks_dir)
    if source_id not in sources:
        raise DataError(f"unknown raw source '{source_id}' (known: {', '.join(sources)})")
    return sources[source_id]
