"""Training data as agents write it, normalised to TRL's conversational prompt-completion format.

Accepted records (a JSON list, or JSON lines):

* Alpaca: ``{"instruction": str, "input": str (optional), "output": str, "system": str (optional)}``;
  the user turn is ``instruction`` followed by a blank line and ``input`` when ``input`` is non-empty.
* Chat: ``{"messages": [{"role": ..., "content": ...}, ...]}`` ending with an assistant turn; that
  last turn is the completion, everything before it the prompt.

Both become ``{"prompt": [messages...], "completion": [{"role": "assistant", ...}]}`` so that the loss
covers the response only and the model's chat template is applied exactly as at evaluation.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path
from typing import Any, Literal

from ftagent.errors import DataError

#: Largest training file read (bytes), unless the caller passes ``max_bytes``; the Dojo passes its
#: ``SandboxLimits.output_mb``.
MAX_BYTES = 256 * 2**20
#: Deepest nesting of lists and objects accepted in a training file (a chat record needs 3).
MAX_DEPTH = 32

_KINDS = {stat.S_IFDIR: "directory", stat.S_IFIFO: "FIFO", stat.S_IFCHR: "character device",
          stat.S_IFBLK: "block device", stat.S_IFSOCK: "socket", stat.S_IFLNK: "symbolic link"}


def read_regular_file(path: Path, max_bytes: int = MAX_BYTES, root: Path | None = None) -> bytes:
    """The bytes of an agent-written file, read defensively (the harness reads what agent code left).

    The file is opened with ``O_NOFOLLOW | O_NONBLOCK`` (a symlink is refused, a FIFO cannot block) and
    checked with ``fstat`` before anything is read: regular files only, at most ``max_bytes``.

    Args:
        path: The file.
        max_bytes: Size cap (bytes), checked before reading and while reading (a file that grows).
        root: When given, the file's folder must resolve inside ``root`` (no link out of a workspace).

    Raises:
        DataError: missing, a link, not a regular file (directory, FIFO, device, socket), outside
            ``root`` or larger than ``max_bytes`` (one line, names the file).
    """
    path = Path(path)
    if root is not None:
        folder = path.parent.resolve()
        if not folder.is_relative_to(Path(root).resolve()):
            raise DataError(f"training data {path} is outside the workspace {root}")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise DataError(f"training data not found: {path}") from None
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise DataError(f"training data {path} is a symbolic link (only regular files are read)") \
                from None
        raise DataError(f"training data {path} cannot be opened ({e.strerror})") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = _KINDS.get(stat.S_IFMT(st.st_mode), "special file")
            raise DataError(f"training data {path} is a {kind}, not a regular file")
        if st.st_size > max_bytes:
            raise DataError(f"training data {path} is {st.st_size / 2**20:.1f} MiB, over the "
                            f"{max_bytes / 2**20:.0f} MiB cap")
        chunks, n = [], 0
        while chunk := os.read(fd, min(1 << 20, max_bytes + 1 - n)):
            chunks.append(chunk)
            n += len(chunk)
            if n > max_bytes:
                raise DataError(f"training data {path} grew past the {max_bytes / 2**20:.0f} MiB cap "
                                "while it was read")
        return b"".join(chunks)
    finally:
        os.close(fd)


def _depth(value: Any) -> int:
    """Nesting depth of a parsed JSON value (iterative: no recursion on hostile input)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, dict | list):
            deepest = max(deepest, d)
            stack.extend((x, d + 1) for x in (v.values() if isinstance(v, dict) else v))
    return deepest


def _loads(text: str, path: Path, max_depth: int) -> Any:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise DataError(f"training data {path} is not valid JSON or JSON lines ({e.msg})") from None
    except RecursionError:
        raise DataError(f"training data {path} nests deeper than {max_depth} levels") from None
    except ValueError as e:  # e.g. an integer of more digits than Python converts
        why = str(e).splitlines()[0][:120] if str(e) else type(e).__name__
        raise DataError(f"training data {path} holds an unreadable value ({why})") from None
    if _depth(value) > max_depth:
        raise DataError(f"training data {path} nests deeper than {max_depth} levels")
    return value


def read_records(path: Path, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH,
                 root: Path | None = None) -> list[dict[str, Any]]:
    """Read a JSON list or a JSON-lines file of training records (defensively, see
    :func:`read_regular_file`).

    Args:
        path: The file.
        max_bytes: Size cap (bytes).
        max_depth: Deepest nesting of lists/objects accepted.
        root: Folder the file must be in (None: anywhere).

    Raises:
        DataError: not a readable regular file, too large, not UTF-8, invalid JSON, nested too deep, or
            not a list of objects (one line, names the file).
    """
    path = Path(path)
    raw = read_regular_file(path, max_bytes, root)
    try:
        text = raw.decode("utf-8").strip()
    except UnicodeDecodeError as e:
        raise DataError(f"training data {path} is not valid UTF-8 (byte {e.start})") from None
    del raw
    if not text:
        raise DataError(f"training data is empty: {path}")
    if text.startswith("["):
        rows = _loads(text, path, max_depth)
    else:
        rows = [_loads(x, path, max_depth) for x in text.splitlines() if x.strip()]
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise DataError(f"training data {path} must be a list of JSON objects")
    return rows


#: Record formats accepted by ``TrainConfig.data_format``.
DataFormat = Literal["auto", "alpaca", "chat"]


def to_prompt_completion(rec: dict[str, Any], index: int = 0,
                         fmt: DataFormat = "auto") -> dict[str, list[dict[str, str]]]:
    """Normalise one Alpaca or chat record.

    Args:
        rec: One record.
        index: Its position in the file (for error messages).
        fmt: ``alpaca`` or ``chat`` to require that format, ``auto`` to accept either.

    Raises:
        DataError: the record is not in the required format, or a required field is empty (names the
            index).
    """
    if fmt == "alpaca" and "messages" in rec:
        raise DataError(f"record {index}: data_format is 'alpaca' but the record has 'messages'")
    if fmt == "chat" and "messages" not in rec:
        raise DataError(f"record {index}: data_format is 'chat' but the record has no 'messages' "
                        f"(got {sorted(rec)[:6]})")
    if "messages" in rec:
        msgs = rec["messages"]
        if (not isinstance(msgs, list) or len(msgs) < 2 or not all(isinstance(m, dict) for m in msgs)
                or msgs[-1].get("role") != "assistant"):
            raise DataError(f"record {index}: 'messages' must be a list of turns ending with an assistant turn")
        msgs = [{"role": str(m.get("role")), "content": str(m.get("content", ""))} for m in msgs]
        if not msgs[-1]["content"].strip():
            raise DataError(f"record {index}: the final assistant turn is empty")
        return {"prompt": msgs[:-1], "completion": msgs[-1:]}
    if "instruction" in rec and "output" in rec:
        user = str(rec["instruction"])
        if rec.get("input"):
            user = f"{user}\n\n{rec['input']}"
        if not user.strip() or not str(rec["output"]).strip():
            raise DataError(f"record {index}: empty 'instruction' or 'output'")
        prompt = [{"role": "system", "content": str(rec["system"])}] if rec.get("system") else []
        prompt.append({"role": "user", "content": user})
        return {"prompt": prompt, "completion": [{"role": "assistant", "content": str(rec["output"])}]}
    raise DataError(f"record {index}: expected Alpaca fields (instruction, output) or 'messages', "
                    f"got {sorted(rec)[:6]}")


def load_training_data(path: Path, max_samples: int | None = None, fmt: DataFormat = "auto", *,
                       max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH,
                       root: Path | None = None) -> list[dict[str, Any]]:
    """Read and normalise a training file, keeping at most ``max_samples`` records (the first ones).

    ``max_bytes``, ``max_depth`` and ``root`` bound what is read (see :func:`read_records`).

    Raises:
        DataError: see :func:`read_records` and :func:`to_prompt_completion`.
    """
    rows = read_records(path, max_bytes, max_depth, root)
    if max_samples is not None:
        rows = rows[:max_samples]
    return [to_prompt_completion(r, i, fmt) for i, r in enumerate(rows)]
