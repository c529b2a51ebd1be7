"""Crash-safe file writes and plain readers.

A record that looks complete must be complete: every writer here writes to a temporary file in the
target's directory, flushes and fsyncs it, then renames it over the target (``os.replace`` is atomic
on POSIX within one filesystem). A crash leaves either the old file or the new one, never half of it.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ftagent.errors import DataError


def atomic_write_text(path: str | os.PathLike[str], text: str, mode: int | None = None) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically, creating parent folders.

    Args:
        path: Target file.
        text: Full content.
        mode: Permission bits of the file (e.g. ``0o644`` for tables others read); None keeps the
            temporary file's owner-only ``0o600``.

    Returns:
        The target path.
    """
    return atomic_write_bytes(path, text.encode("utf-8"), mode=mode)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, mode: int | None = None) -> Path:
    """Write ``data`` to ``path`` atomically, creating parent folders (binary files such as parquet).

    ``mode`` as in :func:`atomic_write_text`.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        if mode is not None:
            os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _default(obj: Any) -> Any:
    if hasattr(obj, "model_dump"):
        return obj.model_dump(mode="json")
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, set | frozenset):
        return sorted(obj)
    if hasattr(obj, "item"):  # numpy / torch scalars
        return obj.item()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def dumps(obj: Any, indent: int | None = 2) -> str:
    """Serialise ``obj`` to JSON (UTF-8 kept readable, pydantic models and paths allowed)."""
    return json.dumps(obj, indent=indent, ensure_ascii=False, default=_default)


def atomic_write_json(path: str | os.PathLike[str], obj: Any) -> Path:
    """Write ``obj`` as indented JSON to ``path`` atomically."""
    return atomic_write_text(path, dumps(obj) + "\n")


def write_jsonl(path: str | os.PathLike[str], rows: Iterable[Any]) -> Path:
    """Write ``rows`` as JSON lines to ``path`` atomically (the whole file is replaced)."""
    return atomic_write_text(path, "".join(dumps(r, indent=None) + "\n" for r in rows))


def atomic_copy(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> Path:
    """Copy the bytes of ``src`` to ``dst`` atomically (temporary file in the target folder, fsync,
    rename), creating parent folders; symlinks are followed (hub caches link into a blob store).

    Returns:
        The target path.
    """
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dst.name}.", suffix=".tmp", dir=dst.parent)
    try:
        with os.fdopen(fd, "wb") as out, open(src, "rb") as inp:
            shutil.copyfileobj(inp, out, 1 << 20)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, dst)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return dst


def read_json(path: str | os.PathLike[str]) -> Any:
    """Read a JSON file.

    Raises:
        DataError: the file is missing or is not valid JSON (the message names the file).
    """
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"file not found: {path}") from None
    except json.JSONDecodeError as e:
        raise DataError(f"{path} is not valid JSON (line {e.lineno}: {e.msg})") from None


def read_jsonl(path: str | os.PathLike[str]) -> list[Any]:
    """Read a JSON-lines file; blank lines are skipped.

    Raises:
        DataError: the file is missing or a line is not valid JSON (names file and line).
    """
    path = Path(path)
    rows = []
    try:
        with path.open(encoding="utf-8") as f:
            for i, line in enumerate(f, 1):
                if line.strip():
                    try:
                        rows.append(json.loads(line))
                    except json.JSONDecodeError as e:
                        raise DataError(f"{path} line {i} is not valid JSON ({e.msg})") from None
    except FileNotFoundError:
        raise DataError(f"file not found: {path}") from None
    return rows
