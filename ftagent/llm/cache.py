"""Record/replay of backbone calls: a content-addressed cache keyed by (model, messages, decoding).

Modes:

* ``record`` — call the endpoint and store every response;
* ``replay`` — answer from the cache only; a miss is an error (a replayed run makes zero calls);
* ``readwrite`` — answer from the cache when possible, else call and store (the default);
* ``off`` — always call, store nothing.

Each entry is one JSON file ``<sha256>.json`` under the cache folder, written atomically, so runs
in parallel can share a cache.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

from ftagent.utils.io import atomic_write_json

CacheMode = Literal["record", "replay", "readwrite", "off"]


def cache_key(model: str, messages: list[dict[str, Any]], params: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of (model, messages, decoding params)."""
    blob = json.dumps({"model": model, "messages": messages, "params": params}, sort_keys=True,
                      ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


class ResponseCache:
    """A folder of recorded responses.

    Args:
        root: Cache folder (created on first write).
        mode: One of :data:`CacheMode`.
    """

    def __init__(self, root: Path, mode: CacheMode = "readwrite"):
        self.root = Path(root)
        self.mode = mode

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored entry, or None (always None in ``record`` and ``off`` modes)."""
        if self.mode in ("record", "off"):
            return None
        p = self._path(key)
        if not p.exists():
            return None
        return json.loads(p.read_text(encoding="utf-8"))

    def put(self, key: str, entry: dict[str, Any]) -> None:
        """Store an entry (no-op in ``replay`` and ``off`` modes)."""
        if self.mode in ("replay", "off"):
            return
        atomic_write_json(self._path(key), entry)
