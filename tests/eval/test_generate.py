"""The batched CPU backend returns exactly what per-sample greedy ``generate`` returns."""

from __future__ import annotations

import pytest

from ftagent.errors import ConfigError
from ftagent.eval.generate import Decoding, TransformersBackend, load_backend

CONVERSATIONS = [
    [{"role": "user", "content": "What is 2 plus 3?"}],
    [{"role": "system", "content": "Answer with a number."},
     {"role": "user", "content": "A table lists revenue 120, 340 and 95. What is the largest value in the table?"}],
    [{"role": "user", "content": "Q"}],
    [{"role": "user", "content": "Compute 17 + 25 and explain the carry in one sentence."}],
    [{"role": "user", "content": "What is 2 plus 3?"}],
]


def _per_sample(backend: TransformersBackend, decoding: Decoding) -> list[str]:
    import torch

    out = []
    for text in backend.prompts(CONVERSATIONS):
        enc = backend.tokenizer(text, return_tensors="pt", add_special_tokens=False)
        with torch.no_grad():
            gen = backend.model.generate(**enc, max_new_tokens=decoding.max_new_tokens, do_sample=False,
                                         pad_token_id=backend.tokenizer.pad_token_id,
                                         eos_token_id=backend.tokenizer.eos_token_id)
        out.append(backend.tokenizer.decode(gen[0, enc["input_ids"].shape[1]:], skip_special_tokens=True))
    return out


@pytest.mark.parametrize("batch_size", [2, 32])
def test_batched_greedy_equals_per_sample_greedy(tiny_model, batch_size):
    backend = TransformersBackend(tiny_model, batch_size=batch_size, threads=2)
    decoding = Decoding(temperature=0.0, max_new_tokens=12)
    batched = backend.generate(CONVERSATIONS, decoding)
    assert batched == _per_sample(backend, decoding)
    assert batched[0] == batched[4]  # same prompt, same answer, wherever it sits in the batch
    assert len(batched) == len(CONVERSATIONS)


def test_sampling_is_seeded(tiny_model):
    backend = TransformersBackend(tiny_model, batch_size=8, threads=2)
    decoding = Decoding(temperature=1.0, top_p=0.9, max_new_tokens=8, seed=3)
    assert backend.generate(CONVERSATIONS, decoding) == backend.generate(CONVERSATIONS, decoding)


def test_unknown_backend():
    with pytest.raises(ConfigError, match="unknown generation backend 'tgi'"):
        load_backend("tgi", ".")


def test_progress_logs_batches_when_not_on_a_terminal(caplog):
    """In a log file (no TTY) a long generation still reports how far it got."""
    import logging

    from ftagent.eval.generate import _progress

    with caplog.at_level(logging.INFO, logger="ftagent.eval.generate"):
        assert list(_progress([1, 2, 3], "generating", every_s=0.0)) == [1, 2, 3]
    lines = [r.getMessage() for r in caplog.records]
    assert lines[-1].startswith("generating: batch 3/3")
