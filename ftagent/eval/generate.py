"""Batched generation behind one interface: transformers on CPU (here), vLLM on GPU nodes.

:class:`TransformersBackend` applies the model's chat template, sorts prompts by length, generates in
batches with left padding and returns outputs in input order. Greedy decoding (temperature 0) gives
exactly what per-sample greedy ``generate`` gives; a test pins this. Decoding settings are pinned per
base model (:class:`Decoding`) and recorded in ``eval.json``; there is no silent default to sampling.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

log = logging.getLogger(__name__)

Messages = list[dict[str, str]]


class Decoding(BaseModel):
    """Decoding settings of an evaluation.

    Attributes:
        temperature: 0 means greedy decoding (the FT-Dojo setting for its base models).
        top_p: Nucleus sampling mass (used only when temperature > 0).
        top_k: Top-k sampling (0 = off; used only when temperature > 0).
        max_new_tokens: Generation budget per item, in tokens.
        seed: Sampling seed (used only when temperature > 0).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    temperature: float = Field(ge=0.0)
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    top_k: int = Field(0, ge=0)
    max_new_tokens: int = Field(256, ge=1)
    seed: int = 0

    @property
    def greedy(self) -> bool:
        """Whether decoding is greedy."""
        return self.temperature == 0.0


class GenerationBackend(Protocol):
    """What the evaluation harness needs from a generation engine."""

    name: str

    def generate(self, conversations: Sequence[Messages], decoding: Decoding) -> list[str]:
        """One completion per conversation, in input order."""
        ...


class TransformersBackend:
    """Batched ``generate`` with transformers (CPU or a single GPU).

    Args:
        model_dir: Base model folder, or a full fine-tuned model folder.
        adapter_dir: Optional PEFT adapter applied on top of ``model_dir``.
        batch_size: Prompts per ``generate`` call.
        threads: torch CPU threads.
    """

    name = "transformers"

    def __init__(self, model_dir: str | Path, adapter_dir: str | Path | None = None, batch_size: int = 32,
                 threads: int | None = None):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if threads:
            torch.set_num_threads(threads)
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        tok_dir = adapter_dir if adapter_dir and (Path(adapter_dir) / "tokenizer_config.json").exists() else model_dir
        self.tokenizer = AutoTokenizer.from_pretrained(str(tok_dir), padding_side="left")
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        dtype = torch.bfloat16 if self.device == "cuda" else torch.float32
        model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=dtype)
        if len(self.tokenizer) > model.get_input_embeddings().weight.shape[0]:
            model.resize_token_embeddings(len(self.tokenizer))
        if adapter_dir:
            from peft import PeftModel

            model = PeftModel.from_pretrained(model, str(adapter_dir))
        self.model = model.to(self.device).eval()
        self.batch_size = batch_size

    def prompts(self, conversations: Sequence[Messages]) -> list[str]:
        """The conversations rendered with the chat template and the assistant generation prompt."""
        return [self.tokenizer.apply_chat_template(list(c), tokenize=False, add_generation_prompt=True)
                for c in conversations]

    def generate(self, conversations: Sequence[Messages], decoding: Decoding) -> list[str]:
        import torch

        texts = self.prompts(conversations)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out: list[str | None] = [None] * len(texts)
        kwargs: dict[str, Any] = {"max_new_tokens": decoding.max_new_tokens,
                                  "pad_token_id": self.tokenizer.pad_token_id,
                                  "eos_token_id": self.tokenizer.eos_token_id}
        if decoding.greedy:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        else:
            torch.manual_seed(decoding.seed)
            kwargs.update(do_sample=True, temperature=decoding.temperature, top_p=decoding.top_p,
                          top_k=decoding.top_k or None)
        batches = [order[i:i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        for b in _progress(batches, "generating"):
            enc = self.tokenizer([texts[i] for i in b], return_tensors="pt", padding=True,
                                 add_special_tokens=False).to(self.device)
            with torch.no_grad():
                gen = self.model.generate(**enc, **kwargs)
            dec = self.tokenizer.batch_decode(gen[:, enc["input_ids"].shape[1]:], skip_special_tokens=True)
            for i, text in zip(b, dec, strict=True):
                out[i] = text
        return [o or "" for o in out]


def _progress(seq: list, desc: str, every_s: float = 30.0):
    """A progress bar on a terminal; otherwise (a log file) a log line at most every ``every_s`` seconds
    and one at the end, so a long evaluation in a batch job shows that it advances."""
    if len(seq) < 2:
        yield from seq
        return
    if sys.stderr.isatty():
        from rich.progress import track

        yield from track(seq, description=desc, transient=True)
        return
    t0 = last = time.monotonic()
    for i, x in enumerate(seq, 1):
        yield x
        now = time.monotonic()
        if now - last >= every_s or i == len(seq):
            last = now
            log.info("%s: batch %d/%d (%.0f s)", desc, i, len(seq), now - t0)


def load_backend(name: str, model_dir: str | Path, adapter_dir: str | Path | None = None,
                 **kwargs: Any) -> GenerationBackend:
    """Create a generation backend by name (``transformers``; ``vllm`` on GPU nodes)."""
    if name == "transformers":
        return TransformersBackend(model_dir, adapter_dir, **kwargs)
    if name == "vllm":
        from ftagent.eval.vllm_backend import VLLMBackend  # GPU-only environment

        return VLLMBackend(model_dir, adapter_dir, **kwargs)
    from ftagent.errors import ConfigError

    raise ConfigError(f"unknown generation backend '{name}' (known: transformers, vllm)")
