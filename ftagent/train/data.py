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

import json
from pathlib import Path
from typing import Any, Literal

from ftagent.errors import DataError


def read_records(path: Path) -> list[dict[str, Any]]:
    """Read a JSON list or a JSON-lines file of training records.

    Raises:
        DataError: missing file, invalid JSON, or not a list of objects (names the file).
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"training data not found: {path}")
    text = path.read_text(encoding="utf-8").strip()
    if not text:
        raise DataError(f"training data is empty: {path}")
    try:
        rows = json.loads(text) if text.startswith("[") else [json.loads(x) for x in text.splitlines() if x.strip()]
    except json.JSONDecodeError as e:
        raise DataError(f"training data {path} is not valid JSON or JSON lines ({e.msg})") from None
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


def load_training_data(path: Path, max_samples: int | None = None,
                       fmt: DataFormat = "auto") -> list[dict[str, Any]]:
    """Read and normalise a training file, keeping at most ``max_samples`` records (the first ones).

    Raises:
        DataError: see :func:`read_records` and :func:`to_prompt_completion`.
    """
    rows = read_records(path)
    if max_samples is not None:
        rows = rows[:max_samples]
    return [to_prompt_completion(r, i, fmt) for i, r in enumerate(rows)]
