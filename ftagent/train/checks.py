"""Post-training checks: a run that trained badly must fail loudly, not be evaluated as if fine.

* The loss history must be finite, not zero, and not diverging (a final loss far above the first
  one). DeepSpeed ZeRO-2 multi-node runs have been seen to report a loss that drops to exactly 0
  (LLaMA-Factory #8137; anchors-notes §D15).
* The saved model or adapter must hold no zero-size tensor (a ZeRO-3 save without
  ``stage3_gather_16bit_weights_on_model_save`` writes empty tensors: DeepSpeed #3841, §D14), must reload
  with no missing or mis-shaped weight (OpenRLHF #839), and the reloaded model must give the *same loss*
  on a few training examples as the model in memory at the end of training (:func:`probe_loss`), which
  catches any save that silently lost the trained weights.
* The chat template saved with the model must be the one used in training (QwenLM/Qwen3 #112,
  LLaMA-Factory #5904; §D17); ``eval.json`` records its hash and evaluation asserts it is unchanged.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

#: Training examples the reload check computes the loss on.
PROBE_SAMPLES = 4
#: Longest probe example in tokens (keeps the check cheap for 7B models on a CPU).
PROBE_MAX_TOKENS = 256


class TrainCheckError(Exception):
    """A post-training check failed; the message says which and why."""


def check_loss_history(losses: list[float], diverge_factor: float = 3.0) -> None:
    """Raise :class:`TrainCheckError` on NaN/inf, a zero loss, or divergence.

    Args:
        losses: Training losses in logging order.
        diverge_factor: The run diverged when the mean of the last quarter exceeds the first loss
            by this factor.

    Raises:
        TrainCheckError: no loss logged; a non-finite loss; every loss exactly 0; the last two or more
            logged losses exactly 0 after a non-zero start (loss collapse); divergence.
    """
    if not losses:
        raise TrainCheckError("no training loss was logged")
    bad = [x for x in losses if not math.isfinite(x)]
    if bad:
        raise TrainCheckError(f"training loss is not finite ({bad[0]} at logged step {losses.index(bad[0])})")
    if all(x == 0.0 for x in losses):
        raise TrainCheckError("training loss is exactly 0 at every step")
    if len(losses) >= 3 and losses[-1] == losses[-2] == 0.0:
        first_zero = next(i for i in range(len(losses) - 1, -1, -1) if losses[i] != 0.0) + 1
        raise TrainCheckError(f"training loss collapsed to exactly 0 from logged step {first_zero} on "
                              "(a known DeepSpeed ZeRO-2 failure, LLaMA-Factory #8137)")
    tail = losses[-max(1, len(losses) // 4):]
    if len(losses) >= 4 and sum(tail) / len(tail) > diverge_factor * max(losses[0], 1e-8):
        raise TrainCheckError(f"training diverged: loss went from {losses[0]:.4g} to {tail[-1]:.4g}")


def check_saved_tensors(model_dir: Path) -> int:
    """Open every safetensors file under ``model_dir`` and check that no tensor is empty.

    Returns:
        The number of tensors checked.

    Raises:
        TrainCheckError: no weights were saved, or a tensor has zero elements (names it).
    """
    from safetensors import safe_open

    files = sorted(Path(model_dir).rglob("*.safetensors"))
    if not files:
        raise TrainCheckError(f"no weights saved under {model_dir}")
    n = 0
    for f in files:
        with safe_open(str(f), framework="pt") as st:
            for key in st.keys():
                shape = st.get_slice(key).get_shape()
                if any(d == 0 for d in shape):
                    raise TrainCheckError(f"saved tensor {key} in {f.name} is empty (shape {shape})")
                n += 1
    return n


def probe_rows(dataset: Any, n: int = PROBE_SAMPLES, max_tokens: int = PROBE_MAX_TOKENS) -> list[dict[str, list[int]]]:
    """The first ``n`` rows of a TRL-processed dataset (``input_ids``, ``labels``), cut to ``max_tokens``.

    A row longer than ``max_tokens`` keeps the window that ends at its last label token, so long prompts
    (completion at the end) still give label tokens to score. Rows with no label token are skipped.
    """
    out = []
    for i in range(min(n, len(dataset))):
        row = dataset[i]
        ids = list(row["input_ids"])
        labels = list(row.get("labels", ids))
        scored = [j for j, x in enumerate(labels) if x != -100]
        if not scored:
            continue
        end = scored[-1] + 1
        start = max(0, end - max_tokens)
        ids, labels = ids[start:end], labels[start:end]
        if any(x != -100 for x in labels[1:]):
            out.append({"input_ids": ids, "labels": labels})
    return out


def probe_loss(model: Any, rows: Sequence[dict[str, list[int]]]) -> float:
    """Token-weighted mean next-token loss of ``model`` on ``rows`` (one forward per row, no grad).

    Under ZeRO-3 this is a collective call (every rank must run it on the same rows).

    Args:
        model: A causal LM (plain, PEFT or DeepSpeed-partitioned module).
        rows: ``{"input_ids": [...], "labels": [...]}`` with -100 on tokens outside the loss.

    Returns:
        Mean loss in nats per label token (NaN when ``rows`` is empty).
    """
    import torch

    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for row in rows:
            ids = torch.tensor([row["input_ids"]], device=device)
            labels = torch.tensor([row["labels"]], device=device)
            n = int((labels[:, 1:] != -100).sum())
            if n == 0:
                continue
            loss = model(input_ids=ids, labels=labels).loss
            total += float(loss) * n
            count += n
    model.train(was_training)
    return total / count if count else float("nan")


def reload_model(model_dir: Path, base_model_dir: Path | None = None, adapter: bool = False,
                 device: str = "cpu") -> Any:
    """Reload a saved full model, or a base model with a saved PEFT adapter, for checking.

    Raises:
        TrainCheckError: loading reports missing or mis-shaped weights, or fails.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        if not adapter:
            model, info = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype="auto",
                                                               output_loading_info=True)
            missing = [k for k in info.get("missing_keys", []) if "lm_head" not in k]
            bad = missing + list(info.get("mismatched_keys", []))
            if bad:
                raise TrainCheckError(f"saved model in {model_dir} failed to reload cleanly: {sorted(map(str, bad))[:3]}")
            return model.to(device).eval()
        from peft import PeftModel

        base = AutoModelForCausalLM.from_pretrained(str(base_model_dir), dtype="auto")
        tok = AutoTokenizer.from_pretrained(str(model_dir))
        if len(tok) > base.get_input_embeddings().weight.shape[0]:
            base.resize_token_embeddings(len(tok))
        return PeftModel.from_pretrained(base, str(model_dir)).to(device).eval()
    except TrainCheckError:
        raise
    except Exception as e:  # a failed load is the finding, reported as one line
        raise TrainCheckError(f"saved model in {model_dir} failed to reload: {type(e).__name__}: "
                              f"{str(e).splitlines()[0] if str(e) else ''}"[:300]) from None


def check_reload(model_dir: Path, rows: Sequence[dict[str, list[int]]], expected_loss: float,
                 base_model_dir: Path | None = None, adapter: bool = False, device: str = "cpu",
                 rel_tol: float = 0.02, abs_tol: float = 0.02) -> float:
    """Reload the saved model and check it gives the loss the trained model gave on ``rows``.

    The default tolerance (2% relative or 0.02 nats) absorbs bf16 kernel differences between the
    training processes and the reload device; a lost or empty save changes the loss by far more.

    Args:
        model_dir: Saved model or adapter.
        rows: Probe rows (:func:`probe_rows`).
        expected_loss: :func:`probe_loss` of the trained model in memory on the same rows.
        base_model_dir: Base model (adapters only).
        adapter: Whether ``model_dir`` is a PEFT adapter.
        device: Where to run the reloaded model.
        rel_tol: Relative tolerance.
        abs_tol: Absolute tolerance, in nats.

    Returns:
        The reloaded model's loss.

    Raises:
        TrainCheckError: the model does not reload, or its loss differs (both values in the message).
    """
    model = reload_model(Path(model_dir), base_model_dir, adapter, device)
    got = probe_loss(model, rows)
    if not math.isfinite(got) or not math.isclose(got, expected_loss, rel_tol=rel_tol, abs_tol=abs_tol):
        raise TrainCheckError(f"saved model in {model_dir} failed to reload with the trained weights: "
                              f"probe loss {got:.5g} after reload vs {expected_loss:.5g} before saving")
    return got


def template_hash(template: str | None) -> str | None:
    """SHA-256 hex digest of a chat template string (None when there is none)."""
    return hashlib.sha256(template.encode()).hexdigest() if isinstance(template, str) else None


def check_chat_template(model_dir: Path, expected_sha256: str | None) -> str | None:
    """Check the tokenizer saved in ``model_dir`` carries the chat template used in training.

    Returns:
        The saved template's hash.

    Raises:
        TrainCheckError: the saved template differs from (or lacks) the training one.
    """
    from transformers import AutoTokenizer

    got = template_hash(getattr(AutoTokenizer.from_pretrained(str(model_dir)), "chat_template", None))
    if got != expected_sha256:
        raise TrainCheckError(f"chat template saved in {model_dir} differs from training's "
                              f"({(got or 'none')[:8]} != {(expected_sha256 or 'none')[:8]})")
    return got
